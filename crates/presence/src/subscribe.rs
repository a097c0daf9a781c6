//! SUBSCRIBE (RFC 6665 §4.2.1): new subscriptions, refreshes, fetches and un-subscribes, each
//! committed to the store before its 2xx, then the NOTIFY.

use corelab_runtime::now_ms;
use corelab_sip::headers::{self, BadRequest};
use corelab_sip::node::request_transport;
use corelab_sip::random_token;
use corelab_sip::rsipstack::sip::{Request, Transport};

use crate::Presence;
use crate::config::SubscriptionSection;
use crate::metrics as m;
use crate::packages::{ALLOW_EVENTS, Package};
use crate::reply::{HandlerError, Reply};
use crate::store::{DialogKey, InDialog, Subscription};

/// The expiry we grant (RFC 6665 §4.2.1.1, RFC 3903 §4.1): the request's, or the default,
/// capped at the maximum; below the minimum (but not 0) the answer is 423 with Min-Expires.
pub(crate) fn granted_expires(
    cfg: &SubscriptionSection,
    requested: Option<u32>,
) -> Result<u32, Box<Reply>> {
    match requested {
        Some(e) if e > 0 && e < cfg.min_expires => Err(Box::new(
            Reply::error(423, "Interval Too Brief")
                .header("Min-Expires", cfg.min_expires.to_string()),
        )),
        _ => Ok(requested
            .unwrap_or(cfg.default_expires)
            .min(cfg.max_expires)),
    }
}

/// The answer to an in-dialog SUBSCRIBE that changed nothing.
fn not_in_dialog(found: InDialog) -> Reply {
    match found {
        InDialog::CSeqOutOfOrder => Reply::error(500, "Server Internal Error (CSeq out of order)"),
        _ => Reply::error(481, "Subscription Does Not Exist"),
    }
}

impl Presence {
    pub async fn handle_subscribe(&self, req: &Request) -> Reply {
        self.subscribe(req).await.unwrap_or_else(Reply::from)
    }

    async fn subscribe(&self, req: &Request) -> Result<Reply, HandlerError> {
        let cfg = &self.cfg.subscription;
        // Event package (RFC 6665 §8.2.1; 489 with Allow-Events for one we do not serve, §8.3.2).
        let event =
            headers::event(req)?.ok_or_else(|| BadRequest("Missing Event header".into()))?;
        let Some(package) = Package::from_name(&event.package) else {
            return Ok(Reply::error(489, "Bad Event").header("Allow-Events", ALLOW_EVENTS));
        };
        let event_id = event.id.clone().unwrap_or_default();
        let expires = match granted_expires(cfg, headers::expires(req)?) {
            Ok(e) => e,
            Err(reply) => return Ok(*reply),
        };
        let (from_uri, from_tag) = headers::from_uri_and_tag(req)?;
        let (to_uri, to_tag) = headers::to_uri_and_tag(req)?;
        let call_id = headers::call_id(req)?;
        let (cseq, _) = headers::cseq(req)?;

        match to_tag {
            Some(local_tag) => {
                self.resubscribe(
                    req, package, &event_id, &call_id, &from_tag, &local_tag, cseq, expires,
                )
                .await
            }
            None => {
                self.new_subscription(
                    req, package, &event_id, &from_uri, &from_tag, &to_uri, &call_id, cseq, expires,
                )
                .await
            }
        }
    }

    /// An in-dialog SUBSCRIBE: refresh, or un-subscribe with `Expires: 0` (RFC 6665 §4.2.1.2).
    #[allow(clippy::too_many_arguments)]
    async fn resubscribe(
        &self,
        req: &Request,
        package: Package,
        event_id: &str,
        call_id: &str,
        remote_tag: &str,
        local_tag: &str,
        cseq: u32,
        expires: u32,
    ) -> Result<Reply, HandlerError> {
        let dialog = DialogKey {
            call_id: call_id.into(),
            remote_tag: remote_tag.into(),
            local_tag: local_tag.into(),
            package: package.name().into(),
            event_id: event_id.into(),
        };
        let this = self.clone();
        if expires == 0 {
            let sub = match self
                .store
                .end_subscription(&dialog, i64::from(cseq))
                .await?
            {
                InDialog::Done(sub) => *sub,
                other => return Ok(not_in_dialog(other)),
            };
            tracing::info!(%call_id, event = package.name(), "un-subscribed");
            let resource = sub.resource.clone();
            return Ok(Reply::new(200)
                .header("Expires", "0")
                .to_tag(local_tag)
                .then(async move {
                    this.notify_terminated(sub, "timeout").await;
                    if package == Package::Presence {
                        this.notify_watchers(&resource, "presence.winfo").await;
                    }
                }));
        }
        let expires_at = now_ms() + i64::from(expires) * 1000;
        let sub = match self
            .store
            .refresh_subscription(&dialog, i64::from(cseq), expires_at)
            .await?
        {
            InDialog::Done(sub) => sub,
            other => return Ok(not_in_dialog(other)),
        };
        tracing::debug!(%call_id, expires, "subscription refreshed");
        Ok(Reply::new(200)
            .header("Expires", expires.to_string())
            // The same remote target as the dialog-creating 200: the transport the watcher uses.
            .header(
                "Contact",
                format!("<{}>", self.sip.contact("presence", request_transport(req))),
            )
            .to_tag(local_tag)
            .then(async move {
                this.notify(&sub.id).await;
            }))
    }

    /// A dialog-creating SUBSCRIBE: authorise, store, 200, then the first NOTIFY.
    #[allow(clippy::too_many_arguments)]
    async fn new_subscription(
        &self,
        req: &Request,
        package: Package,
        event_id: &str,
        from_uri: &str,
        from_tag: &str,
        to_uri: &str,
        call_id: &str,
        cseq: u32,
        expires: u32,
    ) -> Result<Reply, HandlerError> {
        let now = now_ms();
        let watcher = self.watcher_identity(req, from_uri);
        let resource = headers::aor(to_uri);
        // Only a registered user may subscribe.
        if !self.store.is_registered(&watcher, now).await? {
            return Ok(Reply::error(
                403,
                format!("Forbidden ({watcher} is not registered)"),
            ));
        }
        let allowed = match package {
            Package::Presence => self.cfg.authorization.allows(&watcher, &resource),
            // Registration state and watcher lists are the user's own business.
            Package::Reg | Package::PresenceWinfo => watcher == resource,
        };
        if !allowed {
            tracing::info!(%watcher, %resource, event = package.name(), "subscription not authorised");
            return Ok(Reply::error(
                403,
                format!("Forbidden ({watcher} may not watch {resource})"),
            ));
        }
        let contact =
            headers::contact_uri(req).ok_or_else(|| BadRequest("Missing Contact header".into()))?;
        let transport = match request_transport(req) {
            Transport::Tcp => "tcp",
            _ => "udp",
        };
        let local_tag = random_token(12);
        let sub = Subscription {
            id: format!("{}", uuid::Uuid::new_v4()),
            package: package.name().into(),
            event_id: event_id.into(),
            resource: resource.clone(),
            watcher: watcher.clone(),
            local_uri: to_uri.into(),
            remote_uri: from_uri.into(),
            call_id: call_id.into(),
            remote_tag: from_tag.into(),
            local_tag: local_tag.clone(),
            remote_target: contact,
            route_set: headers::all_values(req, "Record-Route").join(", "),
            transport: transport.into(),
            local_cseq: 0,
            remote_cseq: i64::from(cseq),
            expires_at: now + i64::from(expires) * 1000,
            created_at: now,
            version: 0,
        };
        let this = self.clone();
        let contact_header = format!("<{}>", self.sip.contact("presence", request_transport(req)));
        if expires == 0 {
            // A fetch (RFC 6665 §4.4.3): one NOTIFY with the state, nothing kept.
            tracing::info!(%call_id, %watcher, %resource, event = package.name(), "fetch");
            return Ok(Reply::new(200)
                .header("Expires", "0")
                .header("Contact", contact_header)
                .to_tag(&local_tag)
                .then(async move { this.notify_terminated(sub, "timeout").await }));
        }
        // The first NOTIFY's CSeq and version are stored with the subscription (no UPDATE before
        // it), and its dialog lock is taken before the row exists, so a NOTIFY that a PUBLISH
        // starts meanwhile waits and takes CSeq 2.
        let sub = Subscription {
            local_cseq: 1,
            version: 1,
            ..sub
        };
        let first_notify = self.dialog_lock(&sub.id).lock_owned().await;
        let cfg = &self.cfg.subscription;
        let caps = (cfg.max_per_watcher, cfg.max_per_resource);
        match self.store.insert_subscription(&sub, caps).await {
            Ok(true) => {}
            Ok(false) => {
                self.forget_dialog(&sub.id);
                m::refused("subscription_limit");
                tracing::warn!(%watcher, %resource, max_per_watcher = caps.0, max_per_resource = caps.1, "subscription refused: limit reached");
                return Ok(Reply::error(403, "Forbidden (subscription limit reached)"));
            }
            Err(e) => {
                self.forget_dialog(&sub.id);
                return Err(e.into());
            }
        }
        tracing::info!(%call_id, %watcher, %resource, event = package.name(), expires, "subscribed");
        Ok(Reply::new(200)
            .header("Expires", expires.to_string())
            .header("Contact", contact_header)
            .to_tag(&local_tag)
            .then(async move {
                this.notify_first(sub, first_notify).await;
                if package == Package::Presence {
                    this.notify_watchers(&resource, "presence.winfo").await;
                }
            }))
    }

    /// Who is sending (subscribing, publishing): the core's P-Asserted-Identity when the request
    /// came from a trusted core, else the From URI.
    pub(crate) fn watcher_identity(&self, req: &Request, from_uri: &str) -> String {
        let from_core = headers::source_ip(req)
            .is_some_and(|ip| self.cfg.registrar.trusted_cores.contains(&ip));
        let asserted = from_core
            .then(|| headers::value(req, "P-Asserted-Identity"))
            .flatten()
            .and_then(|v| headers::uri_of(&v));
        headers::aor(asserted.as_deref().unwrap_or(from_uri))
    }
}
