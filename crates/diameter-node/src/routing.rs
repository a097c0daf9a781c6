//! The routing table (RFC 6733 §2.7 Realm-Based Routing Table, §6.1.6).
//!
//! Order used by [`crate::Node::request`] and by relay/proxy agents:
//! 1. Destination-Host naming a connected, open peer;
//! 2. a cached redirect (RFC 6733 §6.13 Redirect-Host-Usage);
//! 3. the configured routes for (Destination-Realm, Application-Id), then for
//!    the realm with any application;
//! 4. a connected peer whose Origin-Realm is the Destination-Realm and that
//!    shares the application;
//! 5. the default route.
//!
//! A realm found in 3 or 5 whose peers are all unreachable gives 3002
//! DIAMETER_UNABLE_TO_DELIVER; a realm found nowhere gives 3003
//! DIAMETER_REALM_NOT_SERVED.

use std::net::SocketAddr;

mod decide;

pub use decide::{
    Decision, NoPolicy, PeerEntry, PeerId, Policy, Prepared, Source, Tables, decide, to_target,
};

/// A next hop: the address to connect to, and the Origin-Host expected there
/// (used to find it among connected peers and in Redirect-Host URIs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerTarget {
    /// Where the peer listens.
    pub addr: SocketAddr,
    /// Its Origin-Host, when known.
    pub host: Option<String>,
}

impl PeerTarget {
    /// A target known by address only.
    pub fn addr(addr: SocketAddr) -> PeerTarget {
        PeerTarget { addr, host: None }
    }

    /// A target with its expected Origin-Host.
    pub fn host(host: &str, addr: SocketAddr) -> PeerTarget {
        PeerTarget {
            addr,
            host: Some(host.to_string()),
        }
    }

    /// The DiameterURI of RFC 6733 §4.3.1 for Redirect-Host:
    /// `aaa://host:port;transport=tcp` (`aaas://` with TLS).
    pub fn uri(&self, tls: bool) -> String {
        let scheme = if tls { "aaas" } else { "aaa" };
        let host = match &self.host {
            Some(h) => h.clone(),
            None => self.addr.ip().to_string(),
        };
        format!("{scheme}://{host}:{};transport=tcp", self.addr.port())
    }
}

/// One realm route: realm, optional application, peers in preference order.
#[derive(Clone, Debug)]
pub struct RealmRoute {
    /// Destination-Realm (compared without case).
    pub realm: String,
    /// Application-Id; `None` matches every application.
    pub application_id: Option<u32>,
    /// Next hops, the first open one is used.
    pub peers: Vec<PeerTarget>,
}

/// Realm routes and a default route.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    /// Routes in the order added.
    pub realms: Vec<RealmRoute>,
    /// Peers for a realm no route names.
    pub default: Vec<PeerTarget>,
}

impl RoutingTable {
    /// An empty table.
    pub fn new() -> RoutingTable {
        RoutingTable::default()
    }

    /// Adds `peer` as a next hop for `realm` (and `application_id`, or any).
    pub fn route(mut self, realm: &str, application_id: Option<u32>, peer: PeerTarget) -> Self {
        self.add_route(realm, application_id, peer);
        self
    }

    /// Adds `peer` to the default route.
    pub fn default_route(mut self, peer: PeerTarget) -> Self {
        self.default.push(peer);
        self
    }

    /// [`RoutingTable::route`] in place.
    pub fn add_route(&mut self, realm: &str, application_id: Option<u32>, peer: PeerTarget) {
        if let Some(r) = self
            .realms
            .iter_mut()
            .find(|r| r.realm.eq_ignore_ascii_case(realm) && r.application_id == application_id)
        {
            r.peers.push(peer);
        } else {
            self.realms.push(RealmRoute {
                realm: realm.to_string(),
                application_id,
                peers: vec![peer],
            });
        }
    }

    /// The next hops configured for (realm, application): the routes naming
    /// the application first, then those for any application.
    pub fn lookup(&self, realm: &str, application_id: u32) -> Vec<&PeerTarget> {
        let exact = self.realms.iter().filter(|r| {
            r.realm.eq_ignore_ascii_case(realm) && r.application_id == Some(application_id)
        });
        let any = self
            .realms
            .iter()
            .filter(|r| r.realm.eq_ignore_ascii_case(realm) && r.application_id.is_none());
        exact.chain(any).flat_map(|r| r.peers.iter()).collect()
    }

    /// Whether any route names `realm`.
    pub fn knows_realm(&self, realm: &str) -> bool {
        self.realms
            .iter()
            .any(|r| r.realm.eq_ignore_ascii_case(realm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn application_route_comes_before_any_application_route() {
        let t = RoutingTable::new()
            .route("home.example", None, PeerTarget::addr(a(1)))
            .route("HOME.example", Some(16_777_238), PeerTarget::addr(a(2)));
        let hops: Vec<u16> = t
            .lookup("home.example", 16_777_238)
            .iter()
            .map(|p| p.addr.port())
            .collect();
        assert_eq!(hops, vec![2, 1]);
        let hops: Vec<u16> = t
            .lookup("home.example", 16_777_236)
            .iter()
            .map(|p| p.addr.port())
            .collect();
        assert_eq!(hops, vec![1]);
        assert!(t.lookup("other.example", 16_777_238).is_empty());
        assert!(t.knows_realm("Home.Example"));
    }

    #[test]
    fn redirect_uri_names_host_port_and_transport() {
        assert_eq!(
            PeerTarget::host("hpcrf.home.example", a(3868)).uri(false),
            "aaa://hpcrf.home.example:3868;transport=tcp"
        );
        assert_eq!(
            PeerTarget::addr(a(5658)).uri(true),
            "aaas://127.0.0.1:5658;transport=tcp"
        );
    }
}
