//! Routing as a pure decision (RFC 6733 §6.1): what to do with a request,
//! from its routing view and what the node knows, without IO. The shell
//! (`crate::dispatch`) acts on the [`Decision`]: it answers locally, sends to
//! an open peer, connects first, answers 3006, or answers with a Result-Code.
//!
//! Order, for a request received from a peer by an agent (relay, proxy,
//! redirect):
//! 1. for us (§6.1.4) → [`Decision::Local`] (an endpoint takes every request);
//! 2. P bit clear (§3: "MUST be locally processed") → 3002;
//! 3. Route-Record naming us, relay or proxy (§6.1.3) → 3005;
//! 4. the [`Policy`] (a DRA's binding lookup), if it decides, reading what its
//!    asynchronous [`Policy::prepare`] step looked up ([`Tables::prepared`]);
//! 5. redirect agent: the route's (or default route's) peers as Redirect-Host
//!    URIs, 3003 without one (§6.1.8);
//! 6. relay or proxy, and every request this node sends or fails over: the next
//!    hop, in the order of [`crate::routing`] (Destination-Host, cached
//!    redirect, realm routes, connected peers of the realm, default route).

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;

use corelab_diameter::{ResultCode, RoutingView};

use crate::config::AgentMode;
use crate::routing::{PeerTarget, RoutingTable};

/// One connection in the node's table of open peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

/// What the decision knows about an open peer connection.
#[derive(Clone, Debug)]
pub struct PeerEntry<'a> {
    /// The connection.
    pub id: PeerId,
    /// Origin-Host from its CER/CEA.
    pub origin_host: &'a str,
    /// Origin-Realm from its CER/CEA.
    pub origin_realm: &'a str,
    /// Applications in common (0xffffffff: relay).
    pub applications: &'a [u32],
    /// The watchdog suspects it (RFC 3539 SUSPECT).
    pub suspect: bool,
    /// We opened the connection.
    pub initiator: bool,
    /// Its socket address.
    pub remote: SocketAddr,
}

impl PeerEntry<'_> {
    fn supports(&self, application_id: u32) -> bool {
        self.applications
            .iter()
            .any(|&a| a == application_id || a == corelab_diameter::codes::app::RELAY)
    }
}

/// Everything the decision reads besides the request: no IO behind it.
#[derive(Clone, Debug)]
pub struct Tables<'a> {
    /// Our Origin-Host.
    pub origin_host: &'a str,
    /// Our Origin-Realm.
    pub origin_realm: &'a str,
    /// Endpoint, relay, proxy or redirect.
    pub mode: AgentMode,
    /// Configured routes.
    pub routes: &'a RoutingTable,
    /// Open peer connections.
    pub peers: &'a [PeerEntry<'a>],
    /// A redirect cached for this request (RFC 6733 §6.13), if any.
    pub cached_redirect: Option<&'a PeerTarget>,
    /// Targets a connection to has just failed for this request.
    pub unreachable: &'a [SocketAddr],
    /// Connections use TLS (`aaas://` in Redirect-Host).
    pub tls: bool,
    /// What [`Policy::prepare`] looked up for this request (the policy's own
    /// type: downcast it with `downcast_ref`).
    pub prepared: Option<&'a (dyn Any + Send + Sync)>,
}

/// Where the request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Received from this peer: the agent rules apply, and it is not sent
    /// back there.
    Peer(PeerId),
    /// Sent by this node (`Node::request`).
    Local,
    /// Pending on this peer when it went SUSPECT or DOWN (RFC 6733 §5.5.4).
    Failover(PeerId),
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Give it to this node's application handler.
    Local,
    /// Send it to this open peer.
    Forward(PeerId),
    /// Connect to this peer, then send it there.
    Connect(PeerTarget),
    /// Answer 3006 DIAMETER_REDIRECT_INDICATION with these Redirect-Host URIs.
    Redirect(Vec<String>),
    /// Answer with this Result-Code (3002, 3003, 3005, ...).
    Reject(ResultCode),
}

/// What [`Policy::prepare`] found (a binding, say), read back by
/// [`Policy::route`] through [`Tables::prepared`].
pub type Prepared = Arc<dyn Any + Send + Sync>;

/// Where a network function steers an agent: a DRA's binding lookup (TS
/// 29.213 §7) and its proxy-mode hook on answers passing back.
///
/// The IO and the decision are two steps: [`Policy::prepare`] (async, may
/// read a store) runs first, then the pure [`decide`] calls [`Policy::route`]
/// with the prepared value in [`Tables::prepared`].
#[async_trait::async_trait]
pub trait Policy: Send + Sync + 'static {
    /// Whether [`Policy::prepare`] is to be called. False (the default): no
    /// task of its own per request, no lookup.
    fn prepares(&self) -> bool {
        false
    }

    /// The IO step before the decision, for every request an agent receives
    /// from a peer (return `None` at once for those it does not steer): e.g.
    /// the binding of the request's keys (UE NAI, IP, APN) read from the
    /// store. `request` is the whole message (for the AVPs the view does not
    /// pick: Subscription-Id, Framed-IP-Address, CC-Request-Type ...).
    /// Requests of one connection are prepared concurrently, each in a task
    /// of its own.
    async fn prepare(&self, view: &RoutingView<'_>, request: &[u8]) -> Option<Prepared> {
        let _ = (view, request);
        None
    }

    /// Consulted for a request an agent received that is not for it, after
    /// the local, P-bit and loop checks and before the tables. `None` leaves
    /// it to the tables. Synchronous and free of IO: it reads what
    /// [`Policy::prepare`] left in `tables.prepared`, or what the policy holds
    /// in memory.
    fn route(&self, view: &RoutingView<'_>, tables: &Tables<'_>) -> Option<Decision> {
        let _ = (view, tables);
        None
    }

    /// An answer passing back through this relay or proxy to the peer the
    /// request came from (RFC 6733 §6.2.2); may rewrite it. It may do IO (a
    /// DRA deletes the binding of a session whose termination is answered).
    async fn answer_passing_back(&self, request: &[u8], answer: Vec<u8>) -> Vec<u8> {
        let _ = request;
        answer
    }
}

/// No policy: the tables decide.
pub struct NoPolicy;

impl Policy for NoPolicy {}

/// What to do with the request whose routing view is `view`.
pub fn decide(
    view: &RoutingView<'_>,
    source: Source,
    tables: &Tables<'_>,
    policy: &dyn Policy,
) -> Decision {
    let exclude = match source {
        Source::Local => None,
        Source::Peer(id) | Source::Failover(id) => Some(id),
    };
    if let Source::Peer(_) = source {
        if tables.mode == AgentMode::Endpoint || is_local(view, tables) {
            return Decision::Local;
        }
        if !view.header.is_proxiable() {
            return Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER);
        }
        if tables.mode != AgentMode::Redirect && view.has_looped_through(tables.origin_host) {
            return Decision::Reject(ResultCode::DIAMETER_LOOP_DETECTED);
        }
        if let Some(d) = policy.route(view, tables) {
            return d;
        }
        if tables.mode == AgentMode::Redirect {
            return redirect(view, tables);
        }
    }
    next_hop(view, exclude, tables)
}

/// RFC 6733 §6.1.4: for us when Destination-Host is ours, or when it is
/// absent and the realm is ours (or absent) with no route taking it elsewhere.
fn is_local(view: &RoutingView<'_>, t: &Tables<'_>) -> bool {
    match view.destination_host_str() {
        Some(h) => h.eq_ignore_ascii_case(t.origin_host),
        None => match view.destination_realm_str() {
            None => true,
            Some(r) => {
                r.eq_ignore_ascii_case(t.origin_realm)
                    && t.routes.lookup(r, view.header.application_id).is_empty()
            }
        },
    }
}

/// A redirect agent's answer: the route's peers, else the default route's.
fn redirect(view: &RoutingView<'_>, t: &Tables<'_>) -> Decision {
    let realm = view.destination_realm_str().unwrap_or("");
    let mut targets = t.routes.lookup(realm, view.header.application_id);
    if targets.is_empty() {
        targets = t.routes.default.iter().collect();
    }
    if targets.is_empty() {
        return Decision::Reject(ResultCode::DIAMETER_REALM_NOT_SERVED);
    }
    Decision::Redirect(targets.iter().map(|p| p.uri(t.tls)).collect())
}

fn next_hop(view: &RoutingView<'_>, exclude: Option<PeerId>, t: &Tables<'_>) -> Decision {
    let usable = |p: &&PeerEntry<'_>| Some(p.id) != exclude;
    if let Some(host) = view.destination_host_str() {
        let mut by_host = t
            .peers
            .iter()
            .filter(|p| p.origin_host.eq_ignore_ascii_case(host))
            .filter(usable);
        if let Some(p) = by_host
            .clone()
            .find(|p| !p.suspect)
            .or_else(|| by_host.next())
        {
            return Decision::Forward(p.id);
        }
    }
    if let Some(target) = t.cached_redirect {
        if let Some(d) = resolve(&[target], exclude, t) {
            return d;
        }
    }
    let realm = view.destination_realm_str().unwrap_or("");
    let app = view.header.application_id;
    let routes = t.routes.lookup(realm, app);
    if !routes.is_empty() {
        return resolve(&routes, exclude, t)
            .unwrap_or(Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER));
    }
    let mut by_realm: Vec<&PeerEntry<'_>> = t
        .peers
        .iter()
        .filter(usable)
        .filter(|p| !realm.is_empty() && p.origin_realm.eq_ignore_ascii_case(realm))
        .filter(|p| p.supports(app))
        .collect();
    by_realm.sort_by_key(|p| p.suspect);
    if let Some(p) = by_realm.first() {
        return Decision::Forward(p.id);
    }
    let default: Vec<&PeerTarget> = t.routes.default.iter().collect();
    if !default.is_empty() {
        return resolve(&default, exclude, t)
            .unwrap_or(Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER));
    }
    Decision::Reject(ResultCode::DIAMETER_REALM_NOT_SERVED)
}

/// The decision for one known next hop (a DRA's bound PCRF, from a
/// [`Policy`]): its open peer (non-SUSPECT first), else a connection to it,
/// else 3002 DIAMETER_UNABLE_TO_DELIVER once a connection to it has failed.
pub fn to_target(target: &PeerTarget, tables: &Tables<'_>) -> Decision {
    resolve(&[target], None, tables)
        .unwrap_or(Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER))
}

/// The open peer of a route target: by Origin-Host, else a connection we
/// opened to its address.
fn open_peer<'t>(target: &PeerTarget, t: &'t Tables<'_>) -> Vec<&'t PeerEntry<'t>> {
    if let Some(h) = &target.host {
        let by_host: Vec<_> = t
            .peers
            .iter()
            .filter(|p| p.origin_host.eq_ignore_ascii_case(h))
            .collect();
        if !by_host.is_empty() {
            return by_host;
        }
    }
    t.peers
        .iter()
        .filter(|p| p.initiator && p.remote == target.addr)
        .collect()
}

/// The first usable peer among `targets`: an open, non-suspect connection
/// first, then a suspect one, then a connection to a target with none open
/// that has not just failed.
fn resolve(targets: &[&PeerTarget], exclude: Option<PeerId>, t: &Tables<'_>) -> Option<Decision> {
    let open: Vec<Vec<&PeerEntry<'_>>> = targets.iter().map(|x| open_peer(x, t)).collect();
    let usable = |p: &&&PeerEntry<'_>| Some(p.id) != exclude;
    for want_suspect in [false, true] {
        for peers in &open {
            if let Some(p) = peers
                .iter()
                .filter(usable)
                .find(|p| p.suspect == want_suspect)
            {
                return Some(Decision::Forward(p.id));
            }
        }
    }
    targets
        .iter()
        .zip(&open)
        .find(|(x, peers)| peers.is_empty() && !t.unreachable.contains(&x.addr))
        .map(|(x, _)| Decision::Connect((*x).clone()))
}

#[cfg(test)]
mod tests;
