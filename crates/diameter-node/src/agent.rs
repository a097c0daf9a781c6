//! What the node does with a request from a peer (RFC 6733 §6.1): answer it
//! locally (the [`crate::RequestHandler`]), forward it as a relay or proxy
//! (§6.1.9, Route-Record, loop detection §6.1.3), or redirect it (§6.1.8).
//! Also the failover of pending requests to an alternate peer (§5.5.4).

use std::sync::Arc;

use corelab_diameter::duplicates::Seen;
use corelab_diameter::relay::forward_request;
use corelab_diameter::{AvpBuf, DiameterError, Message, ResultCode, RoutingView};
use tracing::{debug, info, warn};

use crate::avps;
use crate::config::AgentMode;
use crate::conn::session_id;
use crate::error::NodeError;
use crate::handle::{PeerHandle, Waiter};
use crate::node::Inner;
use crate::route::{RouteKey, next_hop};

/// Dispatches one request received from `from`.
pub(crate) fn on_request(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>) {
    if inner.cfg.mode == AgentMode::Endpoint {
        return local(inner, from, bytes);
    }
    let (local_request, looped, proxiable) = {
        let Ok(msg) = Message::decode(&bytes) else {
            // The state machine framed it; a decode failure here is an AVP
            // framing error it already answered.
            return;
        };
        let view = RoutingView::new(&msg);
        (
            is_local(inner, &view),
            view.has_looped_through(&inner.cfg.local.origin_host),
            view.header.is_proxiable(),
        )
    };
    if local_request {
        return local(inner, from, bytes);
    }
    if !proxiable {
        // RFC 6733 §3: with the P bit clear the request "MUST be locally
        // processed": not relayed, proxied or redirected. It is not for us,
        // so it cannot be delivered.
        info!(
            session_id = session_id(&bytes).unwrap_or(""),
            "request not proxiable and not for this node: 3002 DIAMETER_UNABLE_TO_DELIVER"
        );
        from.send_raw(error(
            inner,
            &bytes,
            ResultCode::DIAMETER_UNABLE_TO_DELIVER,
            "request not proxiable (P bit clear) and not addressed to this node",
        ));
        return;
    }
    match inner.cfg.mode {
        AgentMode::Redirect => redirect(inner, from, bytes),
        _ if looped => {
            info!(
                session_id = session_id(&bytes).unwrap_or(""),
                "Route-Record names us: 3005 DIAMETER_LOOP_DETECTED"
            );
            from.send_raw(error(
                inner,
                &bytes,
                ResultCode::DIAMETER_LOOP_DETECTED,
                "loop detected",
            ));
        }
        _ => forward(inner, from, bytes),
    }
}

/// RFC 6733 §6.1.4: for us when Destination-Host is ours, or when it is
/// absent and the realm is ours (or absent) with no route taking it elsewhere.
fn is_local(inner: &Inner, view: &RoutingView<'_>) -> bool {
    let local = &inner.cfg.local;
    match view.destination_host_str() {
        Some(h) => h.eq_ignore_ascii_case(&local.origin_host),
        None => match view.destination_realm_str() {
            None => true,
            Some(r) => {
                r.eq_ignore_ascii_case(&local.origin_realm)
                    && inner
                        .cfg
                        .routes
                        .lookup(r, view.header.application_id)
                        .is_empty()
            }
        },
    }
}

/// Hands the request to the application handler, in its own task, unless it
/// is a duplicate (same Origin-Host and End-to-End id, RFC 6733 §3): then the
/// first answer is sent again and the application is not involved.
fn local(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>) {
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
    let in_flight = inner.in_flight();
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
            from.send_raw(answer);
        }
        drop(in_flight);
    });
}

/// An answer-message from this node with `code` (E bit for 3xxx) and
/// Error-Reporting-Host naming us (RFC 6733 §7.3).
pub(crate) fn error(inner: &Inner, request: &[u8], code: ResultCode, reason: &str) -> Vec<u8> {
    let local = &inner.cfg.local;
    let err = DiameterError::new(code, reason);
    match corelab_diameter::error_answer(request, &err, &local.origin_host, &local.origin_realm) {
        Some(Ok(a)) => avps::append(
            a,
            &[AvpBuf::identity(
                avps::ERROR_REPORTING_HOST,
                &local.origin_host,
            )],
        ),
        _ => Vec::new(),
    }
}

/// Relay/proxy: a new Hop-by-Hop id and a Route-Record naming the peer the
/// request came from (§6.1.9), sent to the next hop; its answer goes back
/// with the original Hop-by-Hop id (§6.2.2). Unknown AVPs pass untouched.
fn forward(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>) {
    let Some(key) = RouteKey::of(&bytes) else {
        return;
    };
    let fwd = match Message::decode(&bytes) {
        Ok(msg) => forward_request(&msg, 0, from.origin_host()),
        Err(_) => return,
    };
    let inner = inner.clone();
    let from = from.clone();
    let in_flight = inner.in_flight();
    tokio::spawn(async move {
        let _in_flight = in_flight;
        let fwd = match fwd {
            Ok(f) => f,
            Err(e) => {
                let code = ResultCode::DIAMETER_UNABLE_TO_COMPLY;
                from.send_raw(error(&inner, &bytes, code, &e.to_string()));
                return;
            }
        };
        let peer = match next_hop(&inner, &key, Some(from.id())).await {
            Ok(p) => p,
            Err(code) => {
                info!(
                    session_id = key.session_id.as_deref().unwrap_or(""),
                    realm = key.destination_realm.as_deref().unwrap_or(""),
                    result_code = code,
                    "cannot route request"
                );
                from.send_raw(error(
                    &inner,
                    &bytes,
                    ResultCode(code),
                    "no route to the destination",
                ));
                return;
            }
        };
        debug!(next_hop = peer.origin_host(), "forwarding request");
        match peer.request_bytes(fwd).await {
            Ok(mut answer) => {
                if let Some(h) = answer.get_mut(12..16) {
                    h.copy_from_slice(&bytes[12..16]);
                }
                from.send_raw(answer);
            }
            Err(e) => {
                warn!(next_hop = peer.origin_host(), error = %e, "forwarded request failed");
                let code = ResultCode::DIAMETER_UNABLE_TO_DELIVER;
                from.send_raw(error(&inner, &bytes, code, &format!("next hop: {e}")));
            }
        }
    });
}

/// Redirect agent: 3006 with the Redirect-Host URIs of the route for the
/// request's realm/application (or the default route), Redirect-Host-Usage
/// and Redirect-Max-Cache-Time (§6.1.7-6.1.8, §6.12-6.14); 3003 without one.
fn redirect(inner: &Arc<Inner>, from: &PeerHandle, bytes: Vec<u8>) {
    let Some(key) = RouteKey::of(&bytes) else {
        return;
    };
    let realm = key.destination_realm.as_deref().unwrap_or("");
    let mut targets = inner.cfg.routes.lookup(realm, key.application_id);
    if targets.is_empty() {
        targets = inner.cfg.routes.default.iter().collect();
    }
    if targets.is_empty() {
        let code = ResultCode::DIAMETER_REALM_NOT_SERVED;
        from.send_raw(error(inner, &bytes, code, "realm not served"));
        return;
    }
    let tls = inner.cfg.tls.is_some();
    let policy = &inner.cfg.redirect;
    let mut extra: Vec<AvpBuf> = targets
        .iter()
        .map(|t| AvpBuf::utf8(avps::REDIRECT_HOST, &t.uri(tls)).mandatory())
        .collect();
    extra.push(AvpBuf::enumerated(avps::REDIRECT_HOST_USAGE, policy.usage as i32).mandatory());
    extra.push(
        AvpBuf::u32(
            avps::REDIRECT_MAX_CACHE_TIME,
            policy.max_cache_time.as_secs().min(u32::MAX as u64) as u32,
        )
        .mandatory(),
    );
    let answer = error(inner, &bytes, ResultCode::DIAMETER_REDIRECT_INDICATION, "");
    info!(
        session_id = key.session_id.as_deref().unwrap_or(""),
        to = %targets[0].uri(tls),
        "redirecting: 3006"
    );
    from.send_raw(avps::append(answer, &extra));
}

/// Re-sends a request (T flag already set) that was pending on a peer gone
/// SUSPECT or DOWN to an alternate peer for its realm/application (§5.5.4).
pub(crate) fn failover(inner: &Arc<Inner>, failed: Option<u64>, request: Vec<u8>, waiter: Waiter) {
    let inner = inner.clone();
    tokio::spawn(async move {
        let Some(key) = RouteKey::of(&request) else {
            let _ = waiter.send(Err(NodeError::PeerDown(
                "failover: undecodable request".into(),
            )));
            return;
        };
        match next_hop(&inner, &key, failed).await {
            Ok(alt) => {
                info!(alternate = alt.origin_host(), "failover to alternate peer");
                if let Err(e) = alt.request_with(request, waiter) {
                    warn!(error = %e, "failover send failed");
                }
            }
            Err(code) => {
                let _ = waiter.send(Err(NodeError::PeerDown(format!(
                    "failover: no alternate peer (Result-Code {code})"
                ))));
            }
        }
    });
}
