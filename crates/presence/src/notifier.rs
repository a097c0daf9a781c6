//! Sending NOTIFYs (RFC 6665 §4.2.2) in a stored subscription dialog, and handing a failed one to
//! the recovery procedure (`corelab_recovery`): a failure of the client's (Timer F, a non-2xx
//! answer) to [`on_notify_failed`], a fault of ours (the store, an unparsable destination, a
//! request we cannot build or send) to [`on_local_failure`], which keeps the subscription and
//! tries again.

use corelab_runtime::now_ms;
use corelab_sip::build;
use corelab_sip::node::{SendOutcome, destination_of, transport_token};
use corelab_sip::rsipstack::sip::Transport;
use tokio::sync::OwnedMutexGuard;
use tracing::Instrument;

use crate::Presence;
use crate::metrics as m;
use crate::store::{NextNotify, Subscription};
use corelab_recovery::{
    LocalFailure, LocalOutcome, NotifyFailure, Outcome, on_local_failure, on_notify_failed,
};

/// RFC 3261 §18.1.1: above this many bytes, a request that would go over UDP goes over TCP.
const UDP_SIZE_LIMIT: usize = 1300;

/// The Subscription-State of a NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    Active,
    /// `terminated` with its reason (RFC 6665 §8.2.3): `timeout`, `deactivated`, `noresource`,
    /// `rejected`, `giveup`.
    Terminated(&'static str),
}

impl Presence {
    /// NOTIFY the current state to a live subscription. A failure (Timer F or a non-2xx answer)
    /// starts the recovery procedure. Returns the outcome.
    ///
    /// Boxed because it is recursive through the recovery (a sign-out NOTIFYs other watchers),
    /// and a recursive `async fn` cannot be proven `Send` for `tokio::spawn`.
    pub fn notify<'a>(
        &'a self,
        id: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<SendOutcome>> + Send + 'a>> {
        self.notify_try(id, 0)
    }

    /// A NOTIFY after `failures` local failures of this one in a row.
    fn notify_try<'a>(
        &'a self,
        id: &'a str,
        failures: u32,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<SendOutcome>> + Send + 'a>> {
        Box::pin(async move {
            let lock = self.dialog_lock(id);
            let held = lock.lock().await;
            let sub = match self.store.next_notify(id, now_ms()).await {
                Ok(NextNotify::Take(sub)) => *sub,
                Ok(NextNotify::Gone) => return None, // ended meanwhile
                // Another replica holds this dialog's NOTIFY and was asked to send the latest
                // state (crate::replicas).
                Ok(NextNotify::HeldElsewhere) => {
                    tracing::debug!(
                        subscription = id,
                        "NOTIFY held by another replica: asked it"
                    );
                    return None;
                }
                Err(e) => {
                    drop(held);
                    let error = format!("store: {e}");
                    self.local_failure(id, "", failures + 1, &error).await;
                    return Some(SendOutcome::Error(error));
                }
            };
            let outcome = self.notify_active(&sub, failures).await;
            drop(held);
            Some(outcome)
        })
    }

    /// The first NOTIFY of a new subscription (RFC 6665 §4.2.1.1), whose CSeq the INSERT
    /// stored; `held` is its dialog lock, taken before the INSERT.
    pub async fn notify_first(&self, sub: Subscription, held: OwnedMutexGuard<()>) {
        self.notify_active(&sub, 0).await;
        drop(held);
    }

    /// Send `sub`'s NOTIFY (its CSeq already taken; `failures` local failures before it) and
    /// hand a failure to the recovery procedure.
    async fn notify_active(&self, sub: &Subscription, failures: u32) -> SendOutcome {
        let span = tracing::info_span!("notify", call_id = %sub.call_id, event = %sub.package, resource = %sub.resource);
        async {
            let outcome = self.send_notify(sub, SubState::Active).await;
            // Step 4: only the client's failures start the procedure.
            let failure = match &outcome {
                SendOutcome::Final(r) if r.status_code.code() < 300 => return outcome,
                SendOutcome::Final(r) => NotifyFailure::Rejected(r.status_code.code()),
                SendOutcome::Timeout => NotifyFailure::Timeout,
                SendOutcome::Error(e) => {
                    let e = e.clone();
                    self.local_failure(&sub.id, &sub.watcher, failures + 1, &e)
                        .await;
                    return outcome;
                }
            };
            tracing::warn!(outcome = %outcome.label(), watcher = %sub.watcher, "NOTIFY failed");
            metrics::counter!(m::NOTIFY_FAILED, "reason" => failure.label()).increment(1);
            match on_notify_failed(self, &self.policy, &sub.into(), failure).await {
                Ok(Outcome::GaveUp { action, .. }) => {
                    metrics::counter!(m::THRESHOLD_REACHED, "action" => action.label())
                        .increment(1);
                }
                Ok(_) => {}
                // The transaction rolled back: the subscription is kept, nothing counted; the
                // next change of state NOTIFYs it again.
                Err(e) => tracing::error!(error = %e, "recovery failed on the store"),
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// A NOTIFY of subscription `id` not sent for a fault of ours: counted, and tried again
    /// after a backoff in a task of its own (the dialog lock is free meanwhile), or given up
    /// with a server-fault alarm. The subscription is kept either way.
    async fn local_failure(&self, id: &str, watcher: &str, failures: u32, error: &str) {
        metrics::counter!(m::NOTIFY_LOCAL_FAILED, "cause" => local_cause(error)).increment(1);
        let failure = LocalFailure {
            subscription_id: id,
            user: watcher,
            failures,
            error,
        };
        match on_local_failure(self, &self.policy, &failure).await {
            Ok(LocalOutcome::RetryIn(wait)) => {
                let (this, id) = (self.clone(), id.to_string());
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    this.notify_try(&id, failures).await;
                });
            }
            Ok(LocalOutcome::GaveUp { .. }) => {}
            Err(e) => {
                tracing::error!(error = %e, subscription = id, "server-fault alarm not stored")
            }
        }
    }

    /// NOTIFY every subscription to `resource` in `package`, each in its own task.
    pub async fn notify_watchers(&self, resource: &str, package: &str) {
        match self.store.subscriptions_to(resource, package).await {
            Ok(subs) => {
                for sub in subs {
                    let this = self.clone();
                    tokio::spawn(async move {
                        this.notify(&sub.id).await;
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, resource, package, "store: cannot list watchers"),
        }
    }

    /// The last NOTIFY of a subscription already removed from the store (unsubscribe, expiry,
    /// sign-out): `terminated;reason=…`. Its failure is only logged: there is nothing to restore.
    pub async fn notify_terminated(&self, sub: Subscription, reason: &'static str) {
        let lock = self.dialog_lock(&sub.id);
        let held = lock.lock().await;
        let sub = Subscription {
            local_cseq: sub.local_cseq + 1,
            version: sub.version + 1,
            ..sub
        };
        let outcome = self.send_notify(&sub, SubState::Terminated(reason)).await;
        if !outcome.is_success() {
            tracing::info!(call_id = %sub.call_id, outcome = %outcome.label(), "terminating NOTIFY not answered 2xx");
        }
        drop(held);
        self.forget_dialog(&sub.id);
    }

    /// Build and send one NOTIFY in `sub`'s dialog.
    async fn send_notify(&self, sub: &Subscription, state: SubState) -> SendOutcome {
        let (content_type, body) = match self.document(sub).await {
            Ok(doc) => doc,
            Err(e) => return SendOutcome::Error(format!("store: {e}")),
        };
        let subscription_state = match state {
            SubState::Active => {
                let left = ((sub.expires_at - now_ms()) / 1000).max(0);
                format!("active;expires={left}")
            }
            SubState::Terminated(reason) => format!("terminated;reason={reason}"),
        };
        let routes: Vec<&str> = sub
            .route_set
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        // RFC 3261 §12.2.1.1: loose routing — to the first route, Request-URI = remote target.
        let next_hop = match routes.first() {
            Some(route) => corelab_sip::headers::uri_of(route).unwrap_or_default(),
            None => sub.remote_target.clone(),
        };
        let Some(mut destination) = destination_of(&next_hop) else {
            return SendOutcome::Error(format!("destination: none in {next_hop:?}"));
        };
        if !next_hop.contains("transport=") && sub.transport == "tcp" {
            destination.r#type = Some(Transport::Tcp);
        }
        let transport = destination.r#type.unwrap_or(Transport::Udp);
        let event = match sub.event_id.as_str() {
            "" => sub.package.clone(),
            id => format!("{};id={id}", sub.package),
        };
        let build = |transport: Transport| {
            build::request("NOTIFY", &sub.remote_target)
                .header_opt("Route", (!routes.is_empty()).then(|| routes.join(", ")))
                .header("From", format!("<{}>;tag={}", sub.local_uri, sub.local_tag))
                .header("To", format!("<{}>;tag={}", sub.remote_uri, sub.remote_tag))
                .header("Call-ID", sub.call_id.clone())
                .header("CSeq", format!("{} NOTIFY", sub.local_cseq))
                .header(
                    "Contact",
                    format!("<{}>", self.sip.contact("presence", transport)),
                )
                .header("Event", event.clone())
                .header("Subscription-State", subscription_state.clone())
                .body(content_type, body.clone())
                .build(&self.sip.via(transport))
                .map_err(|e| SendOutcome::Error(format!("build: NOTIFY not buildable: {e}")))
        };
        let request = match build(transport) {
            Ok(req) => req,
            Err(outcome) => return outcome,
        };
        // RFC 3261 §18.1.1: a request larger than 1300 bytes that would go over UDP goes over a
        // congestion-controlled transport; if that cannot connect, over UDP after all.
        let mut outcome = None;
        if transport == Transport::Udp
            && self.sip.tcp
            && !next_hop.contains("transport=")
            && request.to_string().len() > UDP_SIZE_LIMIT
        {
            let mut over_tcp = destination.clone();
            over_tcp.r#type = Some(Transport::Tcp);
            match build(Transport::Tcp) {
                Ok(req) => match self.sip.send(req, over_tcp).await {
                    sent if sent.is_transport_error() || matches!(sent, SendOutcome::Error(_)) => {
                        tracing::info!(outcome = ?sent, call_id = %sub.call_id, "large NOTIFY: TCP failed, UDP after all");
                    }
                    sent => outcome = Some(sent),
                },
                Err(e) => outcome = Some(e),
            }
        }
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => self.sip.send(request, destination).await,
        };
        metrics::counter!(m::NOTIFY_SENT, "package" => sub.package.clone(), "outcome" => outcome.label()).increment(1);
        tracing::debug!(call_id = %sub.call_id, transport = transport_token(transport), outcome = %outcome.label(), "NOTIFY");
        outcome
    }
}

/// The metric label of a local failure, from the prefix [`Presence::send_notify`] gives it.
fn local_cause(error: &str) -> &'static str {
    ["store", "destination", "build"]
        .into_iter()
        .find(|cause| error.starts_with(cause))
        .unwrap_or("transport")
}
