//! Acting on a routing [`Decision`] (RFC 6733 §6.1): answer locally (the
//! [`crate::RequestHandler`]), forward as a relay or proxy (§6.1.9,
//! Route-Record), answer 3006 as a redirect agent (§6.1.8), or answer with the
//! Result-Code the decision names. The decision itself is
//! [`crate::routing::decide`], free of IO; this module does the IO it asks
//! for (connecting, sending, answering). Also the failover of pending
//! requests to an alternate peer (§5.5.4).

use std::net::SocketAddr;
use std::sync::Arc;

use corelab_diameter::duplicates::Seen;
use corelab_diameter::header::Header;
use corelab_diameter::relay::forward_request;
use corelab_diameter::{AvpBuf, Message, ResultCode, RoutingView};
use tracing::{debug, info, warn};

use crate::avps;
use crate::config::AgentMode;
use crate::conn::session_id;
use crate::error::NodeError;
use crate::error_answer::error_answer;
use crate::events::Event;
use crate::handle::{PeerHandle, Waiter};
use crate::node::{InFlight, Inner};
use crate::redirect::RouteKey;
use crate::routing::{Decision, PeerEntry, PeerId, Prepared, Source, Tables, decide};

/// The decision for `request` with the node's tables as they are now, and
/// the open peers it was taken on. `None` when the request does not decode.
fn decide_now(
    inner: &Inner,
    request: &[u8],
    source: Source,
    unreachable: &[SocketAddr],
    prepared: Option<&Prepared>,
) -> Option<(Decision, Vec<PeerHandle>)> {
    let view = RoutingView::decode(request).ok()?;
    let peers = inner.open_peers();
    let entries: Vec<PeerEntry<'_>> = peers.iter().map(PeerHandle::entry).collect();
    let cached = {
        let mut cache = crate::node::lock(&inner.redirects);
        if cache.is_empty() {
            None
        } else {
            RouteKey::of(request).and_then(|k| cache.lookup(crate::clock::now(), &k))
        }
    };
    let tables = Tables {
        origin_host: &inner.cfg.local.origin_host,
        origin_realm: &inner.cfg.local.origin_realm,
        mode: inner.cfg.mode,
        routes: &inner.cfg.routes,
        peers: &entries,
        cached_redirect: cached.as_ref(),
        unreachable,
        tls: inner.cfg.tls.is_some(),
        prepared: prepared.map(|p| &**p as &(dyn std::any::Any + Send + Sync)),
    };
    let decision = decide(&view, source, &tables, inner.policy.as_ref());
    drop(entries);
    Some((decision, peers))
}

/// The open peer to send `request` to: acts on [`Decision::Forward`] and
/// [`Decision::Connect`] (trying the next target when a connection fails),
/// starting from `first` when the caller already decided. Errors are
/// Result-Codes: 3002 (a route exists, no peer reachable), 3003 (no route).
pub(crate) async fn next_peer(
    inner: &Arc<Inner>,
    request: &[u8],
    source: Source,
    first: Option<(Decision, Vec<PeerHandle>)>,
    prepared: Option<&Prepared>,
) -> Result<PeerHandle, ResultCode> {
    let mut unreachable = Vec::new();
    let mut next = first;
    loop {
        let (decision, peers) = match next.take() {
            Some(d) => d,
            None => decide_now(inner, request, source, &unreachable, prepared)
                .ok_or(ResultCode::DIAMETER_UNABLE_TO_COMPLY)?,
        };
        match decision {
            Decision::Forward(id) => {
                return peers
                    .into_iter()
                    .find(|p| p.peer_id() == id)
                    .ok_or(ResultCode::DIAMETER_UNABLE_TO_DELIVER);
            }
            Decision::Connect(target) => match inner.peer_for(&target).await {
                Ok(p) => return Ok(p),
                Err(e) => {
                    debug!(addr = %target.addr, error = %e, "route target unreachable");
                    unreachable.push(target.addr);
                }
            },
            Decision::Reject(code) => return Err(code),
            // Only for a request received from a peer, and taken before.
            Decision::Local | Decision::Redirect(_) => {
                return Err(ResultCode::DIAMETER_UNABLE_TO_DELIVER);
            }
        }
    }
}

/// One connection's dispatch task: takes its events in order until the
/// connection task ends.
pub(crate) async fn run(inner: Arc<Inner>, mut events: tokio::sync::mpsc::Receiver<Event>) {
    while let Some(e) = events.recv().await {
        match e {
            Event::Request {
                from,
                bytes,
                in_flight,
            } => on_request(&inner, &from, bytes, in_flight),
            Event::Failover {
                failed,
                request,
                waiter,
            } => failover(&inner, failed, request, waiter),
        }
    }
}

/// Dispatches one request received from `from`: at once, or, when an
/// agent's [`crate::Policy`] prepares (does IO before deciding), in a task of
/// its own. `in_flight` is released once its answer is queued.
fn on_request(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>, in_flight: InFlight) {
    if inner.cfg.mode != AgentMode::Endpoint && inner.policy.prepares() {
        let inner = inner.clone();
        let from = from.clone();
        tokio::spawn(async move {
            let prepared = match RoutingView::decode(&bytes) {
                Ok(view) => inner.policy.prepare(&view, &bytes).await,
                Err(_) => None,
            };
            decide_and_act(&inner, &from, bytes, in_flight, prepared);
        });
    } else {
        decide_and_act(inner, from, bytes, in_flight, None);
    }
}

/// Decides for a request from `from` and acts on the decision.
fn decide_and_act(
    inner: &Arc<Inner>,
    from: &PeerHandle,
    bytes: Vec<u8>,
    in_flight: InFlight,
    prepared: Option<Prepared>,
) {
    let source = Source::Peer(from.peer_id());
    let Some((decision, peers)) = decide_now(inner, &bytes, source, &[], prepared.as_ref()) else {
        // The state machine framed it; a decode failure here is an AVP
        // framing error it already answered.
        return;
    };
    match decision {
        Decision::Local => local(inner, from, bytes, in_flight),
        Decision::Reject(code) => {
            let reason = match code {
                ResultCode::DIAMETER_LOOP_DETECTED => "loop detected",
                ResultCode::DIAMETER_REALM_NOT_SERVED => "realm not served",
                ResultCode::DIAMETER_UNKNOWN_SESSION_ID => "unknown Session-Id",
                ResultCode::DIAMETER_UNABLE_TO_COMPLY => "unable to comply",
                ResultCode::DIAMETER_TOO_BUSY => "too busy",
                ResultCode::DIAMETER_APPLICATION_UNSUPPORTED => "application not supported",
                _ if !Message::decode(&bytes).is_ok_and(|m| m.header().is_proxiable()) => {
                    "request not proxiable (P bit clear) and not addressed to this node"
                }
                _ => "no route to the destination",
            };
            info!(
                session_id = session_id(&bytes).unwrap_or(""),
                result_code = code.0,
                reason,
                "request answered by this agent"
            );
            from.send_raw(error_answer(inner, &bytes, code, reason));
        }
        Decision::Redirect(uris) => redirect(inner, from, bytes, &uris),
        d @ (Decision::Forward(_) | Decision::Connect(_)) => {
            forward(inner, from, bytes, (d, peers), in_flight, prepared);
        }
    }
}

/// Hands the request to the application handler, in its own task, unless it
/// is a duplicate (same Origin-Host and End-to-End id, RFC 6733 §3): then the
/// first answer is sent again and the application is not involved.
fn local(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>, in_flight: InFlight) {
    let seen = match inner.duplicates.lock() {
        Ok(mut d) => d.check(crate::clock::now(), &bytes),
        Err(_) => Seen::New(None),
    };
    let key = match seen {
        Seen::New(key) => key,
        Seen::InProgress => {
            info!(
                session_id = session_id(&bytes).unwrap_or(""),
                "duplicate request while the first copy is being answered: dropped"
            );
            return;
        }
        Seen::Answered(answer) => {
            info!(
                session_id = session_id(&bytes).unwrap_or(""),
                "duplicate request: the first answer sent again"
            );
            from.send_raw(answer);
            return;
        }
    };
    let handler = inner.handler.clone();
    let from = from.clone();
    let inner = inner.clone();
    tokio::spawn(async move {
        let answer = handler.handle(bytes, from.clone()).await;
        if let (Some(key), Ok(mut d)) = (key, inner.duplicates.lock()) {
            match &answer {
                Some(a) => d.answered(key, a),
                None => d.forget(key),
            }
        }
        if let Some(answer) = answer {
            let header = Header::parse(&answer).ok();
            if from.send_raw(answer)
                && let Some(h) = header
            {
                handler.answer_queued(&h, &from);
            }
        }
        drop(in_flight);
    });
}

/// Relay/proxy: a new Hop-by-Hop id and a Route-Record naming the peer the
/// request came from (§6.1.9), sent to the next hop; its answer passes the
/// [`crate::routing::Policy`] hook and goes back with the original Hop-by-Hop
/// id (§6.2.2). Unknown AVPs pass untouched.
fn forward(
    inner: &Arc<Inner>,
    from: &PeerHandle,
    bytes: Vec<u8>,
    decision: (Decision, Vec<PeerHandle>),
    in_flight: InFlight,
    prepared: Option<Prepared>,
) {
    let fwd = match Message::decode(&bytes) {
        Ok(msg) => forward_request(&msg, 0, from.origin_host()),
        Err(_) => return,
    };
    let inner = inner.clone();
    let from = from.clone();
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let fwd = match fwd {
            Ok(f) => f,
            Err(e) => {
                let code = ResultCode::DIAMETER_UNABLE_TO_COMPLY;
                from.send_raw(error_answer(&inner, &bytes, code, &e.to_string()));
                return;
            }
        };
        let source = Source::Peer(from.peer_id());
        let next = next_peer(&inner, &bytes, source, Some(decision), prepared.as_ref());
        let peer = match next.await {
            Ok(p) => p,
            Err(code) => {
                info!(
                    session_id = session_id(&bytes).unwrap_or(""),
                    result_code = code.0,
                    "cannot route request"
                );
                from.send_raw(error_answer(
                    &inner,
                    &bytes,
                    code,
                    "no route to the destination",
                ));
                return;
            }
        };
        debug!(next_hop = peer.origin_host(), "forwarding request");
        match peer.request_bytes(fwd).await {
            Ok(answer) => {
                let mut answer = inner.policy.answer_passing_back(&bytes, answer).await;
                if let Some(h) = answer.get_mut(12..16) {
                    h.copy_from_slice(&bytes[12..16]);
                }
                from.send_raw(answer);
            }
            Err(e) => {
                warn!(next_hop = peer.origin_host(), error = %e, "forwarded request failed");
                let code = ResultCode::DIAMETER_UNABLE_TO_DELIVER;
                from.send_raw(error_answer(
                    &inner,
                    &bytes,
                    code,
                    &format!("next hop: {e}"),
                ));
            }
        }
    });
}

/// Redirect agent: 3006 with the decision's Redirect-Host URIs,
/// Redirect-Host-Usage and Redirect-Max-Cache-Time (§6.1.7-6.1.8,
/// §6.12-6.14).
fn redirect(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>, uris: &[String]) {
    let policy = &inner.cfg.redirect;
    let mut extra: Vec<AvpBuf> = uris
        .iter()
        .map(|u| AvpBuf::utf8(avps::REDIRECT_HOST, u).mandatory())
        .collect();
    extra.push(AvpBuf::enumerated(avps::REDIRECT_HOST_USAGE, policy.usage as i32).mandatory());
    extra.push(
        AvpBuf::u32(
            avps::REDIRECT_MAX_CACHE_TIME,
            policy.max_cache_time.as_secs().min(u32::MAX as u64) as u32,
        )
        .mandatory(),
    );
    let answer = error_answer(inner, &bytes, ResultCode::DIAMETER_REDIRECT_INDICATION, "");
    info!(
        session_id = session_id(&bytes).unwrap_or(""),
        to = uris.first().map(String::as_str).unwrap_or(""),
        "redirecting: 3006"
    );
    from.send_raw(avps::append(answer, &extra));
}

/// Re-sends a request (T flag already set) that was pending on a peer gone
/// SUSPECT or DOWN to an alternate peer for its realm/application (§5.5.4).
fn failover(inner: &Arc<Inner>, failed: Option<PeerId>, request: Vec<u8>, waiter: Waiter) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let source = match failed {
            Some(id) => Source::Failover(id),
            None => Source::Local,
        };
        match next_peer(&inner, &request, source, None, None).await {
            Ok(alt) => {
                info!(alternate = alt.origin_host(), "failover to alternate peer");
                if let Err(e) = alt.request_with(request, waiter) {
                    warn!(error = %e, "failover send failed");
                }
            }
            Err(code) => {
                let _ = waiter.send(Err(NodeError::PeerDown(format!(
                    "failover: no alternate peer (Result-Code {})",
                    code.0
                ))));
            }
        }
    });
}
