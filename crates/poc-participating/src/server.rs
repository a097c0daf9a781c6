//! The shell: each request from the shared serve loop is looked up (the users it names, the
//! group domain), decided ([`crate::participating::decide`]) and either answered or forwarded
//! with `corelab_sip::proxy` — "authenticate, then forward to the controlling server".

use std::sync::Arc;

use corelab_sip::proxy::relay::{Proxy, Relayed};
use corelab_sip::proxy::{self, Refusal};
use corelab_sip::rsipstack::sip::headers::make_header;
use corelab_sip::rsipstack::transaction::Transaction;
use corelab_sip::serve::FollowUp;
use corelab_sip::{Request, build, headers};

use crate::config::PfConfig;
use crate::metrics::{REFUSED, RELAYED};
use crate::participating::{self, Decision, Facts, aor_of, domain_of};
use crate::store::UserStore;

pub struct Pf {
    pub cfg: PfConfig,
    pub users: UserStore,
    pub proxy: Proxy,
}

impl Pf {
    /// Handle one request: answer it now, or return the relay as the follow-up (so that a CANCEL
    /// or a later request of the dialog is not held behind a pending INVITE).
    pub async fn handle(self: Arc<Self>, mut stx: Transaction) -> Option<FollowUp> {
        let received = stx.original.clone();
        match self.prepare(&received).await {
            Ok(forwarded) => {
                let Some(permit) = self.proxy.reserve() else {
                    refuse(
                        &mut stx,
                        "overload",
                        Refusal::new(503, "Service Unavailable (overloaded)"),
                    )
                    .await;
                    return None;
                };
                let proxy = self.proxy.clone();
                let method = received.method.to_string();
                Some(Box::pin(async move {
                    let outcome = proxy.relay(stx, forwarded, permit).await;
                    let status = match outcome {
                        Relayed::Final(code) => code.to_string(),
                        Relayed::NoFinal => "none".into(),
                    };
                    metrics::counter!(RELAYED, "method" => method, "status" => status).increment(1);
                }))
            }
            Err((cause, refusal)) => {
                refuse(&mut stx, cause, refusal).await;
                None
            }
        }
    }

    /// The copy of `received` to forward, or why not.
    async fn prepare(
        &self,
        received: &Request,
    ) -> Result<proxy::Forwarded, (&'static str, Refusal)> {
        // RFC 3261 §16.3 step 3 before anything else.
        proxy::check_max_forwards(received).map_err(|r| ("max_forwards", r))?;
        let mut req = received.clone();
        let popped = proxy::pop_own_routes(&mut req, |hp| self.proxy.is_ours(hp));
        let in_dialog = headers::to_uri_and_tag(&req)
            .map(|(_, tag)| tag.is_some())
            .map_err(|e| ("bad_request", Refusal::new(400, e.0)))?;
        let (from, _) =
            headers::from_uri_and_tag(&req).map_err(|e| ("bad_request", Refusal::new(400, e.0)))?;
        let source_ip = headers::source_ip(&req)
            .ok_or_else(|| ("bad_request", Refusal::new(400, "Bad Via header")))?;
        let trusted_source = self.cfg.participating.trusted_sources.contains(&source_ip);
        let asserted =
            headers::value(&req, "P-Asserted-Identity").and_then(|v| headers::uri_of(&v));
        let request_uri = aor_of(&req.uri.to_string());
        let claimed = match (trusted_source, &asserted) {
            (true, Some(a)) => Some(aor_of(a)),
            (true, None) => None,
            (false, _) => Some(aor_of(&from)),
        };
        let store_err = |e: sqlx::Error| {
            tracing::error!(error = %e, "store error looking up users");
            ("store", Refusal::new(500, "Server Internal Error (store)"))
        };
        let controlling = domain_of(&request_uri).and_then(|d| {
            self.cfg
                .participating
                .controlling
                .iter()
                .find(|c| c.domain.eq_ignore_ascii_case(&d))
                .map(|c| c.uri.clone())
        });
        let (originator, recipient) = if in_dialog {
            (None, None)
        } else {
            let originator = match &claimed {
                Some(uri) => self.users.get(uri).await.map_err(store_err)?,
                None => None,
            };
            // One of our users towards a group domain goes to its controlling function whoever
            // the Request-URI names (`decide` step 3): no second store read for a join.
            let recipient = match (&originator, &controlling) {
                (Some(_), Some(_)) => None,
                _ => self.users.get(&request_uri).await.map_err(store_err)?,
            };
            (originator, recipient)
        };
        let facts = Facts {
            in_dialog,
            routed_through_us: popped > 0,
            trusted_source,
            source_ip,
            asserted,
            from,
            request_uri,
            originator,
            recipient,
            controlling,
        };
        let hop = self.proxy.hop(&req);
        let forwarded = match participating::decide(&facts) {
            Decision::Refuse(cause, refusal) => return Err((cause.label(), refusal)),
            Decision::FollowRoute => proxy::forward(&req, None, true, &hop),
            Decision::ToControlling { cf, identity } => {
                assert_identity(&mut req, &identity);
                let entry = match cf.contains(";lr") {
                    true => format!("<{cf}>"),
                    false => format!("<{cf};lr>"),
                };
                proxy::push_route(&mut req, &entry);
                proxy::forward(&req, None, true, &hop)
            }
            Decision::ToUser { contact, identity } => {
                assert_identity(&mut req, &identity);
                proxy::forward(&req, Some(&contact), true, &hop)
            }
        };
        forwarded.map_err(|r| ("bad_request", r))
    }
}

/// RFC 3325 §5: the identity we vouch for, in the only P-Asserted-Identity the request carries.
fn assert_identity(req: &mut Request, identity: &str) {
    req.headers
        .retain(|h| !h.name().eq_ignore_ascii_case("P-Asserted-Identity"));
    req.headers
        .push(make_header("P-Asserted-Identity", format!("<{identity}>")));
}

async fn refuse(stx: &mut Transaction, cause: &'static str, refusal: Refusal) {
    metrics::counter!(REFUSED, "cause" => cause).increment(1);
    let (call_id, from) = (
        headers::call_id(&stx.original).unwrap_or_default(),
        headers::value(&stx.original, "From").unwrap_or_default(),
    );
    tracing::info!(method = %stx.original.method, %call_id, %from, code = refusal.code,
        reason = %refusal.reason, cause, "request refused");
    let resp = build::response(
        &stx.original,
        refusal.code,
        Some(&refusal.reason),
        Some(&corelab_sip::random_token(10)),
        &[],
        None,
    );
    if let Err(e) = stx.respond(resp).await {
        tracing::debug!(error = %e, "refusal not sent");
    }
}
