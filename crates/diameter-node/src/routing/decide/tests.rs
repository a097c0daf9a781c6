//! `decide` without sockets: requests built in the standard's words, tables
//! written out by hand.

use super::*;
use corelab_diameter::codes::{app, avp, cmd};
use corelab_diameter::{AvpBuf, MessageBuilder};

const HOME: &str = "home.example";

fn a(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A Gx CCR to `realm` (and `host`), proxiable unless `p` is false.
fn ccr(realm: &str, host: Option<&str>, p: bool) -> Vec<u8> {
    let mut b = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .avp(AvpBuf::utf8(avp::SESSION_ID, "pcef.visited.example;1;1").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pcef.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, realm).mandatory());
    if let Some(h) = host {
        b.push(AvpBuf::identity(avp::DESTINATION_HOST, h).mandatory());
    }
    if p {
        b = b.proxiable();
    }
    b.encode().unwrap()
}

fn peer(id: u64, host: &'static str, realm: &'static str, port: u16) -> PeerEntry<'static> {
    PeerEntry {
        id: PeerId(id),
        origin_host: host,
        origin_realm: realm,
        applications: &[app::GX],
        suspect: false,
        initiator: true,
        remote: a(port),
    }
}

fn tables<'a>(mode: AgentMode, routes: &'a RoutingTable, peers: &'a [PeerEntry<'a>]) -> Tables<'a> {
    Tables {
        origin_host: "dra.visited.example",
        origin_realm: "visited.example",
        mode,
        routes,
        peers,
        cached_redirect: None,
        unreachable: &[],
        tls: false,
        prepared: None,
    }
}

fn d(bytes: &[u8], source: Source, t: &Tables<'_>) -> Decision {
    decide(&RoutingView::decode(bytes).unwrap(), source, t, &NoPolicy)
}

const FROM_CLIENT: Source = Source::Peer(PeerId(99));

#[test]
fn endpoint_takes_every_request_from_a_peer_locally() {
    let routes = RoutingTable::new();
    let t = tables(AgentMode::Endpoint, &routes, &[]);
    assert_eq!(d(&ccr(HOME, None, true), FROM_CLIENT, &t), Decision::Local);
}

#[test]
fn agent_takes_requests_for_its_own_host_or_its_unrouted_realm_locally() {
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(a(1)));
    let t = tables(AgentMode::Proxy, &routes, &[]);
    let to_us = ccr(HOME, Some("dra.visited.example"), true);
    assert_eq!(d(&to_us, FROM_CLIENT, &t), Decision::Local);
    let our_realm = ccr("visited.example", None, false);
    assert_eq!(d(&our_realm, FROM_CLIENT, &t), Decision::Local);
}

#[test]
fn non_proxiable_request_for_another_realm_is_rejected_3002_by_every_agent() {
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(a(1)));
    for mode in [AgentMode::Relay, AgentMode::Proxy, AgentMode::Redirect] {
        let t = tables(mode, &routes, &[]);
        assert_eq!(
            d(&ccr(HOME, None, false), FROM_CLIENT, &t),
            Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER),
            "{mode:?}"
        );
    }
}

#[test]
fn route_record_naming_us_is_a_loop_3005() {
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(a(1)));
    let t = tables(AgentMode::Relay, &routes, &[]);
    let req = corelab_diameter::relay::forward_request(
        &corelab_diameter::Message::decode(&ccr(HOME, None, true)).unwrap(),
        1,
        "dra.visited.example",
    )
    .unwrap();
    assert_eq!(
        d(&req, FROM_CLIENT, &t),
        Decision::Reject(ResultCode::DIAMETER_LOOP_DETECTED)
    );
}

#[test]
fn destination_host_of_an_open_peer_wins_and_a_non_suspect_connection_first() {
    let routes = RoutingTable::new();
    let mut suspect = peer(1, "pcrf.home.example", HOME, 1);
    suspect.suspect = true;
    let peers = [suspect, peer(2, "pcrf.home.example", HOME, 2)];
    let t = tables(AgentMode::Relay, &routes, &peers);
    let req = ccr(HOME, Some("pcrf.home.example"), true);
    assert_eq!(d(&req, FROM_CLIENT, &t), Decision::Forward(PeerId(2)));
    // Failing over from connection 2: the suspect one is all there is.
    assert_eq!(
        d(&req, Source::Failover(PeerId(2)), &t),
        Decision::Forward(PeerId(1))
    );
}

#[test]
fn realm_route_uses_an_open_peer_else_connects_else_3002() {
    let routes = RoutingTable::new()
        .route(
            HOME,
            Some(app::GX),
            PeerTarget::host("pcrf1.home.example", a(1)),
        )
        .route(HOME, Some(app::GX), PeerTarget::addr(a(2)));
    let req = ccr(HOME, None, true);
    let open = [peer(7, "pcrf1.home.example", HOME, 1)];
    assert_eq!(
        d(
            &req,
            Source::Local,
            &tables(AgentMode::Endpoint, &routes, &open)
        ),
        Decision::Forward(PeerId(7))
    );
    let t = tables(AgentMode::Relay, &routes, &[]);
    assert_eq!(
        d(&req, FROM_CLIENT, &t),
        Decision::Connect(PeerTarget::host("pcrf1.home.example", a(1)))
    );
    let first_failed = [a(1)];
    let t2 = Tables {
        unreachable: &first_failed,
        ..t.clone()
    };
    assert_eq!(
        d(&req, FROM_CLIENT, &t2),
        Decision::Connect(PeerTarget::addr(a(2)))
    );
    let both_failed = [a(1), a(2)];
    let t3 = Tables {
        unreachable: &both_failed,
        ..t
    };
    assert_eq!(
        d(&req, FROM_CLIENT, &t3),
        Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER)
    );
}

#[test]
fn connected_peer_of_the_realm_then_default_route_then_3003() {
    let none = RoutingTable::new();
    let peers = [peer(3, "pcrf.home.example", HOME, 3)];
    let req = ccr(HOME, None, true);
    assert_eq!(
        d(
            &req,
            Source::Local,
            &tables(AgentMode::Endpoint, &none, &peers)
        ),
        Decision::Forward(PeerId(3))
    );
    // The request came from that peer: not sent back.
    assert_eq!(
        d(
            &req,
            Source::Peer(PeerId(3)),
            &tables(AgentMode::Relay, &none, &peers)
        ),
        Decision::Reject(ResultCode::DIAMETER_REALM_NOT_SERVED)
    );
    let default = RoutingTable::new().default_route(PeerTarget::addr(a(9)));
    assert_eq!(
        d(
            &req,
            Source::Local,
            &tables(AgentMode::Endpoint, &default, &[])
        ),
        Decision::Connect(PeerTarget::addr(a(9)))
    );
}

#[test]
fn cached_redirect_comes_before_the_realm_routes() {
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(a(1)));
    let cached = PeerTarget::host("hpcrf.home.example", a(5));
    let t = Tables {
        cached_redirect: Some(&cached),
        ..tables(AgentMode::Endpoint, &routes, &[])
    };
    assert_eq!(
        d(&ccr(HOME, None, true), Source::Local, &t),
        Decision::Connect(cached.clone())
    );
}

#[test]
fn redirect_agent_answers_the_route_uris_or_3003() {
    let routes = RoutingTable::new()
        .route(HOME, None, PeerTarget::host("hpcrf.home.example", a(3868)))
        .default_route(PeerTarget::addr(a(4000)));
    let t = tables(AgentMode::Redirect, &routes, &[]);
    assert_eq!(
        d(&ccr(HOME, None, true), FROM_CLIENT, &t),
        Decision::Redirect(vec!["aaa://hpcrf.home.example:3868;transport=tcp".into()])
    );
    assert_eq!(
        d(&ccr("other.example", None, true), FROM_CLIENT, &t),
        Decision::Redirect(vec!["aaa://127.0.0.1:4000;transport=tcp".into()])
    );
    let none = RoutingTable::new();
    assert_eq!(
        d(
            &ccr(HOME, None, true),
            FROM_CLIENT,
            &tables(AgentMode::Redirect, &none, &[])
        ),
        Decision::Reject(ResultCode::DIAMETER_REALM_NOT_SERVED)
    );
}

/// A binding lookup: sessions of one UE go to the PCRF bound to it.
struct Binding(PeerId);

impl Policy for Binding {
    fn route(&self, view: &RoutingView<'_>, _: &Tables<'_>) -> Option<Decision> {
        (view.session_id_str() == Some("pcef.visited.example;1;1"))
            .then_some(Decision::Forward(self.0))
    }
}

#[test]
fn policy_decides_after_the_protocol_checks_and_before_the_tables() {
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(a(1)));
    let t = tables(AgentMode::Proxy, &routes, &[]);
    let policy = Binding(PeerId(42));
    let view_of = |b: &[u8]| decide(&RoutingView::decode(b).unwrap(), FROM_CLIENT, &t, &policy);
    assert_eq!(
        view_of(&ccr(HOME, None, true)),
        Decision::Forward(PeerId(42))
    );
    // The P bit is checked first.
    assert_eq!(
        view_of(&ccr(HOME, None, false)),
        Decision::Reject(ResultCode::DIAMETER_UNABLE_TO_DELIVER)
    );
    // Requests this node sends are routed by the tables only.
    assert_eq!(
        decide(
            &RoutingView::decode(&ccr(HOME, None, true)).unwrap(),
            Source::Local,
            &t,
            &policy
        ),
        Decision::Connect(PeerTarget::addr(a(1)))
    );
}
