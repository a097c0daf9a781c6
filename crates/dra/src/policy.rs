//! The DRA's steering of the diameter-node agent ([`corelab_diameter_node::Policy`]): in
//! `prepare` (async, before the routing decision) the binding is looked up, created and
//! committed, or the terminated sessions deleted, as [`crate::binding_cleanup::plan`] says; in
//! `route` (pure) the outcome becomes a 3006 naming the bound PCRF (redirect mode), a forward to
//! it (proxy, proxy_variant) or an error answer; in `answer_passing_back` a proxy vDRA deletes
//! once the PCRF has answered the termination.

use std::sync::Arc;

use corelab_diameter::{Message, ResultCode, RoutingView};
use corelab_diameter_node::routing::{Tables, to_target};
use corelab_diameter_node::{Decision, PeerTarget, Policy, Prepared};
use corelab_runtime::now_ms;
use tracing::{info, warn};

use crate::Dra;
use crate::binding_cleanup::{Plan, answer_ends_session, plan};
use crate::config::Mode;
use crate::metrics as m;
use crate::request::{Interface, NotPcc, PccRequest};
use crate::store::{Bound, lost_a_race};

/// How many times an establishment runs when its transaction loses a race (deadlock) with a
/// concurrent creation of the same UE's binding; the last loss answers 3004.
const ESTABLISH_ATTEMPTS: u32 = 3;

/// What `prepare` decided, read back by `route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Redirect or forward to this PCRF (its Diameter identity).
    Pcrf(String),
    /// Answer with this Result-Code.
    Reject(ResultCode),
    /// Not ours to steer (a request from the bound PCRF towards the client): the tables route
    /// it (Destination-Host).
    Pass,
}

pub struct DraPolicy(pub Dra);

#[async_trait::async_trait]
impl Policy for DraPolicy {
    fn prepares(&self) -> bool {
        true
    }

    async fn prepare(&self, view: &RoutingView<'_>, request: &[u8]) -> Option<Prepared> {
        // Addressed to the DRA itself: the node hands it to `crate::local` (RFC 6733 §6.1.4).
        let ours = &self.0.cfg.diameter.origin_host;
        if view
            .destination_host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(ours))
        {
            return None;
        }
        // For another realm than our PCRFs' (RFC 6733 §6.1.6): the node's tables route it
        // (a `[[route]]`, else 3003 DIAMETER_REALM_NOT_SERVED); nothing is bound.
        if view
            .destination_realm_str()
            .is_some_and(|r| !r.eq_ignore_ascii_case(self.0.cfg.pcrf_realm()))
        {
            return None;
        }
        let outcome = self.0.outcome(request).await;
        match &outcome {
            Outcome::Reject(code) => {
                metrics::counter!(m::REJECTED, "result_code" => code.0.to_string()).increment(1)
            }
            Outcome::Pcrf(_) if self.0.cfg.dra.mode == Mode::Redirect => {
                metrics::counter!(m::REDIRECTS).increment(1)
            }
            Outcome::Pcrf(_) => metrics::counter!(m::PROXIED).increment(1),
            Outcome::Pass => {}
        }
        Some(Arc::new(outcome))
    }

    fn route(&self, _view: &RoutingView<'_>, tables: &Tables<'_>) -> Option<Decision> {
        match tables.prepared?.downcast_ref::<Outcome>()? {
            Outcome::Pass => None,
            Outcome::Reject(code) => Some(Decision::Reject(*code)),
            Outcome::Pcrf(host) => {
                let Some(pcrf) = self.0.pcrf(host) else {
                    // Bound to a PCRF no longer configured.
                    return Some(Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER));
                };
                Some(match self.0.cfg.dra.mode {
                    Mode::Redirect => {
                        Decision::Redirect(vec![PeerTarget::addr(pcrf.address).uri(tables.tls)])
                    }
                    Mode::Proxy | Mode::ProxyVariant => {
                        to_target(&PeerTarget::host(&pcrf.host, pcrf.address), tables)
                    }
                })
            }
        }
    }

    async fn answer_passing_back(&self, request: &[u8], answer: Vec<u8>) -> Vec<u8> {
        let dra = &self.0;
        let Ok(req) = PccRequest::read(request) else {
            return answer;
        };
        let p = plan(
            dra.cfg.dra.role,
            dra.cfg.dra.mode,
            dra.cfg.dra.binding_cleanup,
            req.kind,
            req.interface == Interface::Rx,
        );
        if p != Plan::DeleteWhenAnswered {
            return answer;
        }
        let result = Message::decode(&answer)
            .ok()
            .and_then(|a| a.result_code())
            .map(|c| c.0);
        if !answer_ends_session(result) {
            info!(session_id = %req.session_id, result_code = ?result, "termination answered with a protocol error: binding kept");
            return answer;
        }
        if let Err(e) = dra.delete(&req, "answer passing back").await {
            warn!(session_id = %req.session_id, error = %e,
                  "binding store failed: sessions not deleted (the audit removes them)");
        }
        answer
    }
}

impl Dra {
    /// `prepare`'s work for one request.
    async fn outcome(&self, request: &[u8]) -> Outcome {
        let req = match PccRequest::read(request) {
            Ok(r) => r,
            Err(NotPcc::Application) => {
                return Outcome::Reject(ResultCode::DIAMETER_APPLICATION_UNSUPPORTED);
            }
            Err(NotPcc::Missing) => return Outcome::Reject(ResultCode::DIAMETER_MISSING_AVP),
        };
        let cfg = &self.cfg.dra;
        let p = plan(
            cfg.role,
            cfg.mode,
            cfg.binding_cleanup,
            req.kind,
            req.interface == Interface::Rx,
        );
        let result = match p {
            Plan::Establish { create } => self.establish(&req, create).await,
            Plan::Follow => self.follow(&req).await,
            Plan::DeleteBeforeRouting => self
                .delete(&req, "request")
                .await
                .map(|p| p.map_or_else(|| unknown_session(&req), Outcome::Pcrf)),
            Plan::DeleteWhenAnswered | Plan::RouteOnly => {
                let mut ids = vec![req.session_id.clone()];
                ids.extend(req.client_session_ids.iter().cloned());
                self.store
                    .pcrf_of(&ids)
                    .await
                    .map(|p| p.map_or_else(|| unknown_session(&req), Outcome::Pcrf))
            }
        };
        result.unwrap_or_else(|e| {
            warn!(session_id = %req.session_id, error = %e, "binding store failed: 3004");
            Outcome::Reject(ResultCode::DIAMETER_TOO_BUSY)
        })
    }

    async fn establish(&self, req: &PccRequest, create: bool) -> Result<Outcome, sqlx::Error> {
        let identity = match req.keys.identity() {
            "" => req.session_id.as_str(),
            id => id,
        };
        let chosen = self.pcrf_for(identity).to_string();
        let mut attempt = 1;
        let bound = loop {
            match self
                .store
                .establish(req, create, chosen.clone(), now_ms())
                .await
            {
                Err(e) if lost_a_race(&e) && attempt < ESTABLISH_ATTEMPTS => {
                    info!(session_id = %req.session_id, attempt, error = %e,
                          "binding creation lost a race with a concurrent one: again");
                    attempt += 1;
                }
                other => break other?,
            }
        };
        match bound {
            Bound::Pcrf {
                pcrf_host,
                created,
                replaced,
            } => {
                if let Some(stale) = replaced {
                    m::deleted("stale", 1);
                    info!(session_id = %req.session_id, stale_binding = %stale, ipv4 = %req.keys.ipv4,
                          nai = %req.keys.nai, "binding of another NAI with this UE IP was stale: replaced");
                }
                if created {
                    metrics::counter!(m::BINDINGS_CREATED).increment(1);
                    info!(session_id = %req.session_id, interface = req.interface.name(),
                          nai = %req.keys.nai, ipv4 = %req.keys.ipv4, apn = %req.keys.apn,
                          pcrf = %pcrf_host, "binding created");
                    // Tests stop here, kill the DRA and find the binding: it is committed
                    // before the request is redirected or forwarded.
                    corelab_runtime::failpoint::hit("dra.binding_committed").await;
                }
                Ok(Outcome::Pcrf(pcrf_host))
            }
            Bound::NoBinding => {
                info!(session_id = %req.session_id, ipv4 = %req.keys.ipv4, nai = %req.keys.nai,
                      "no binding for this AF session: 5012");
                Ok(Outcome::Reject(ResultCode::DIAMETER_UNABLE_TO_COMPLY))
            }
        }
    }

    async fn follow(&self, req: &PccRequest) -> Result<Outcome, sqlx::Error> {
        Ok(match self.store.follow(req, now_ms()).await? {
            Some(pcrf) if pcrf.eq_ignore_ascii_case(&req.origin_host) => Outcome::Pass,
            Some(pcrf) => Outcome::Pcrf(pcrf),
            None => unknown_session(req),
        })
    }

    /// Deletes the sessions `req` ends and cascades (committed); the PCRF they were bound to,
    /// `None` when none of them was known.
    pub(crate) async fn delete(
        &self,
        req: &PccRequest,
        when: &'static str,
    ) -> Result<Option<String>, sqlx::Error> {
        let d = self.store.delete_sessions(req.ended_sessions()).await?;
        m::deleted("termination", d.sessions);
        m::deleted("cascade", d.bindings);
        if d.sessions > 0 {
            info!(session_id = %req.session_id, clients = ?req.client_session_ids,
                  sessions = d.sessions, bindings = d.bindings, on = when,
                  "terminated sessions deleted");
        }
        Ok(d.pcrf_host)
    }
}

fn unknown_session(req: &PccRequest) -> Outcome {
    info!(session_id = %req.session_id, "no binding records this Session-Id: 5002");
    Outcome::Reject(ResultCode::DIAMETER_UNKNOWN_SESSION_ID)
}
