//! Choosing the next hop for a request (order in [`crate::routing`]).

use std::sync::Arc;

use corelab_diameter::{Message, ResultCode, RoutingView};

use crate::handle::PeerHandle;
use crate::node::Inner;
use crate::routing::PeerTarget;

/// What routing looks at in a request.
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteKey {
    pub(crate) destination_host: Option<String>,
    pub(crate) destination_realm: Option<String>,
    pub(crate) application_id: u32,
    pub(crate) session_id: Option<String>,
    pub(crate) user_name: Option<String>,
}

impl RouteKey {
    pub(crate) fn of(bytes: &[u8]) -> Option<RouteKey> {
        let msg = Message::decode(bytes).ok()?;
        let view = RoutingView::new(&msg);
        Some(RouteKey {
            destination_host: view.destination_host_str().map(str::to_string),
            destination_realm: view.destination_realm_str().map(str::to_string),
            application_id: view.header.application_id,
            session_id: view.session_id_str().map(str::to_string),
            user_name: msg
                .find(crate::avps::USER_NAME, 0)
                .and_then(|a| a.as_utf8().ok())
                .map(str::to_string),
        })
    }
}

/// The open peer to send a request with `key` to, connecting when a route
/// names a peer not connected yet. `exclude` skips one connection (the one a
/// request came from, or the one failing over). Errors are Result-Codes:
/// 3002 (a route exists, no peer reachable), 3003 (no route).
pub(crate) async fn next_hop(
    inner: &Arc<Inner>,
    key: &RouteKey,
    exclude: Option<u64>,
) -> Result<PeerHandle, u32> {
    let ok = |p: &PeerHandle| Some(p.id()) != exclude;
    if let Some(host) = &key.destination_host {
        if let Some(p) = inner.peer_by_host(host).filter(ok) {
            return Ok(p);
        }
    }
    let cached = crate::node::lock(&inner.redirects).lookup(crate::clock::now(), key);
    if let Some(t) = cached {
        if let Some(p) = resolve(inner, &[&t], exclude).await {
            return Ok(p);
        }
    }
    let realm = key.destination_realm.as_deref().unwrap_or("");
    let routes = inner.cfg.routes.lookup(realm, key.application_id);
    if !routes.is_empty() {
        return resolve(inner, &routes, exclude)
            .await
            .ok_or(ResultCode::DIAMETER_UNABLE_TO_DELIVER.0);
    }
    let mut by_realm: Vec<PeerHandle> = inner
        .open_peers()
        .into_iter()
        .filter(|p| {
            ok(p)
                && !realm.is_empty()
                && p.origin_realm().eq_ignore_ascii_case(realm)
                && p.supports(key.application_id)
        })
        .collect();
    by_realm.sort_by_key(PeerHandle::is_suspect);
    if let Some(p) = by_realm.into_iter().next() {
        return Ok(p);
    }
    let default: Vec<&PeerTarget> = inner.cfg.routes.default.iter().collect();
    if !default.is_empty() {
        return resolve(inner, &default, exclude)
            .await
            .ok_or(ResultCode::DIAMETER_UNABLE_TO_DELIVER.0);
    }
    Err(ResultCode::DIAMETER_REALM_NOT_SERVED.0)
}

/// The first usable peer among `targets`: an open, non-suspect connection
/// first, then a suspect one, then a new connection to a target with none.
async fn resolve(
    inner: &Arc<Inner>,
    targets: &[&PeerTarget],
    exclude: Option<u64>,
) -> Option<PeerHandle> {
    let open: Vec<(usize, PeerHandle)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| inner.open_peer_for(t).map(|p| (i, p)))
        .collect();
    let usable = |p: &PeerHandle| Some(p.id()) != exclude;
    if let Some((_, p)) = open.iter().find(|(_, p)| usable(p) && !p.is_suspect()) {
        return Some(p.clone());
    }
    if let Some((_, p)) = open.iter().find(|(_, p)| usable(p)) {
        return Some(p.clone());
    }
    for (i, t) in targets.iter().enumerate() {
        if open.iter().any(|(j, _)| *j == i) {
            continue;
        }
        match inner.peer_for(t).await {
            Ok(p) if usable(&p) => return Some(p),
            Ok(_) => {}
            Err(e) => tracing::debug!(addr = %t.addr, error = %e, "route target unreachable"),
        }
    }
    None
}
