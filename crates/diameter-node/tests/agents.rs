//! Relay, proxy and redirect agents between separate nodes over loopback:
//! client → agent → server, loops (3005), 3002, 3003, redirects followed.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use corelab_diameter::codes::{app, avp};
use corelab_diameter::{AvpBuf, Message, RoutingView};
use corelab_diameter_node::avps::{ERROR_REPORTING_HOST, REDIRECT_HOST, REDIRECT_HOST_USAGE};
use corelab_diameter_node::routing::Tables;
use corelab_diameter_node::{
    AgentMode, Decision, Node, NodeError, PeerTarget, Policy, Prepared, RedirectHostUsage,
    RoutingTable,
};

const HOME: &str = "home.realm";

async fn start(cfg: corelab_diameter_node::NodeConfig) -> (Node, SocketAddr, Arc<Recorder>) {
    let rec = Recorder::new(&cfg.local.origin_host, &cfg.local.origin_realm);
    let node = Node::new(cfg, rec.clone());
    let addr = node.listen(any_port()).await.expect("listen");
    (node, addr, rec)
}

async fn agent(host: &str, mode: AgentMode, routes: RoutingTable) -> (Node, SocketAddr) {
    let mut cfg = config(host, "agent.realm");
    cfg.mode = mode;
    cfg.routes = routes;
    let (n, a, _) = start(cfg).await;
    (n, a)
}

fn client() -> Node {
    Node::new(
        config("client.example", "client.realm"),
        Recorder::new("client.example", "client.realm"),
    )
}

/// An AVP no dictionary knows, M bit clear: agents must pass it untouched.
fn odd_avp() -> AvpBuf {
    AvpBuf::octets(99_999, &[0xde, 0xad, 0xbe, 0xef, 0x01]).vendor(10415)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn through_agent(mode: AgentMode) {
    init_tracing();
    let (_srv, srv_addr, srv_rec) = start(config("server.example", HOME)).await;
    let routes = RoutingTable::new().route(HOME, Some(app::GX), PeerTarget::addr(srv_addr));
    let (_agent, agent_addr) = agent("agent.example", mode, routes).await;
    let c = client();
    let to_agent = c.connect(agent_addr).await.unwrap();
    if mode == AgentMode::Relay {
        assert_eq!(
            to_agent.applications(),
            &[app::GX],
            "relay advertises 0xffffffff, we keep ours"
        );
    }
    let req = ccr("client.example;1;1", HOME).avp(odd_avp());
    let sent_hbh_e2e = 0x0abc_0001u32;
    let ans = to_agent
        .request(req.clone().ids(0, sent_hbh_e2e))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("server.example")
    );
    assert_eq!(
        header(&ans).end_to_end,
        sent_hbh_e2e,
        "End-to-End id kept end to end"
    );

    let seen = srv_rec.seen();
    assert_eq!(seen.len(), 1);
    let fwd = &seen[0];
    // RFC 6733 §6.1.9: Route-Record names the peer the agent received it from.
    assert_eq!(
        identity_of(fwd, avp::ROUTE_RECORD).as_deref(),
        Some("client.example")
    );
    assert_eq!(header(fwd).end_to_end, sent_hbh_e2e);
    let mut odd = Vec::new();
    odd_avp().encode(&mut odd).unwrap();
    assert!(
        contains(fwd, &odd),
        "unknown non-M AVP forwarded byte for byte"
    );
    // Everything before the appended Route-Record is the client's request
    // except the Length and Hop-by-Hop fields.
    let original = req.ids(0, sent_hbh_e2e).encode().unwrap();
    assert_eq!(fwd[20..original.len()], original[20..]);
}

#[tokio::test]
async fn relay_forwards_with_route_record_and_returns_the_answer() {
    through_agent(AgentMode::Relay).await;
}

#[tokio::test]
async fn proxy_forwards_with_route_record_and_returns_the_answer() {
    through_agent(AgentMode::Proxy).await;
}

#[tokio::test]
async fn two_relays_routing_to_each_other_detect_the_loop_3005() {
    init_tracing();
    // Relay 2's route needs relay 1's address and vice versa: bind relay 1
    // first with a route to a placeholder filled by relay 2's address.
    let l2 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let r2_addr = l2.local_addr().unwrap();
    drop(l2);
    let (_r1, r1_addr) = agent(
        "relay1.example",
        AgentMode::Relay,
        RoutingTable::new().route(HOME, None, PeerTarget::addr(r2_addr)),
    )
    .await;
    let mut cfg2 = config("relay2.example", "agent.realm");
    cfg2.mode = AgentMode::Relay;
    cfg2.routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(r1_addr));
    let r2 = Node::new(cfg2, Recorder::new("relay2.example", "agent.realm"));
    r2.listen(r2_addr)
        .await
        .expect("relay 2 listens on its port");

    let c = client();
    let p = c.connect(r1_addr).await.unwrap();
    let ans = p.request(ccr("client.example;1;2", HOME)).await.unwrap();
    assert_eq!(result_code(&ans), Some(3005), "DIAMETER_LOOP_DETECTED");
    assert!(header(&ans).is_error());
    assert_eq!(
        identity_of(&ans, ERROR_REPORTING_HOST).as_deref(),
        Some("relay1.example")
    );
}

#[tokio::test]
async fn known_realm_without_reachable_peer_gives_3002_and_unknown_realm_3003() {
    init_tracing();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let (_a, agent_addr) = agent(
        "relay.example",
        AgentMode::Relay,
        RoutingTable::new().route(HOME, None, PeerTarget::addr(dead_addr)),
    )
    .await;
    let c = client();
    let p = c.connect(agent_addr).await.unwrap();

    let ans = p.request(ccr("client.example;1;3", HOME)).await.unwrap();
    assert_eq!(result_code(&ans), Some(3002), "DIAMETER_UNABLE_TO_DELIVER");
    assert!(header(&ans).is_error());
    assert_eq!(
        identity_of(&ans, ERROR_REPORTING_HOST).as_deref(),
        Some("relay.example")
    );
    assert_eq!(
        Message::decode(&ans).unwrap().session_id(),
        Some("client.example;1;3")
    );

    let ans = p
        .request(ccr("client.example;1;4", "nowhere.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(3003), "DIAMETER_REALM_NOT_SERVED");
    assert!(header(&ans).is_error());
    assert_eq!(
        identity_of(&ans, ERROR_REPORTING_HOST).as_deref(),
        Some("relay.example")
    );

    // The client's own routing: no route for a realm → 3003 without sending.
    match c.request(ccr("client.example;1;5", "nowhere.realm")).await {
        Err(NodeError::Answer(3003)) => {}
        other => panic!("expected Answer(3003), got {other:?}"),
    }
}

#[tokio::test]
async fn client_follows_3006_to_the_redirect_host_and_caches_it() {
    init_tracing();
    // The server's own realm differs from the Destination-Realm so that only
    // the redirect (not "a connected peer of that realm") leads to it.
    let (_srv, srv_addr, srv_rec) = start(config("server.example", "server.realm")).await;
    let (redirect, redirect_addr) = agent(
        "redirect.example",
        AgentMode::Redirect,
        RoutingTable::new().route(HOME, Some(app::GX), PeerTarget::addr(srv_addr)),
    )
    .await;

    // What the redirect agent answers, seen directly.
    let probe = client();
    let to_redirect = probe.connect(redirect_addr).await.unwrap();
    let ans = to_redirect.request(ccr("probe;1;1", HOME)).await.unwrap();
    assert_eq!(
        result_code(&ans),
        Some(3006),
        "DIAMETER_REDIRECT_INDICATION"
    );
    assert!(header(&ans).is_error());
    let m = Message::decode(&ans).unwrap();
    let uri = m
        .find(REDIRECT_HOST, 0)
        .unwrap()
        .as_utf8()
        .unwrap()
        .to_string();
    assert_eq!(
        uri,
        format!("aaa://127.0.0.1:{};transport=tcp", srv_addr.port())
    );
    let usage = m.find(REDIRECT_HOST_USAGE, 0).unwrap().as_i32().unwrap();
    assert_eq!(usage, RedirectHostUsage::RealmAndApplication as i32);
    probe.shutdown().await;

    // A client whose default route is the redirect agent.
    let mut cfg = config("client.example", "client.realm");
    cfg.routes = RoutingTable::new().default_route(PeerTarget::addr(redirect_addr));
    let c = Node::new(cfg, Recorder::new("client.example", "client.realm"));
    let ans = c.request(ccr("client.example;2;1", HOME)).await.unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("server.example")
    );
    assert_eq!(srv_rec.seen().len(), 1);
    let hosts: Vec<String> = c
        .peers()
        .iter()
        .map(|p| p.origin_host().to_string())
        .collect();
    assert!(
        hosts.contains(&"server.example".to_string()),
        "connected to the Redirect-Host"
    );

    // Cached per REALM_AND_APPLICATION: with the redirect agent gone, the
    // next request for the realm still reaches the server.
    redirect.shutdown().await;
    eventually("client drops the redirect agent", || {
        c.peers()
            .iter()
            .all(|p| p.origin_host() != "redirect.example")
    })
    .await;
    let ans = c.request(ccr("client.example;2;2", HOME)).await.unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    assert_eq!(srv_rec.seen().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_returns_each_of_many_concurrent_answers_to_its_own_request() {
    init_tracing();
    let (_srv, srv_addr, srv_rec) = start(config("server.example", HOME)).await;
    let routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(srv_addr));
    let (_relay, relay_addr) = agent("relay.example", AgentMode::Relay, routes).await;
    let c = client();
    let p = c.connect(relay_addr).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let sid = format!("client.example;5;{i}");
            let ans = p.request(ccr(&sid, HOME)).await.unwrap();
            assert_eq!(
                Message::decode(&ans).unwrap().session_id(),
                Some(sid.as_str())
            );
            assert_eq!(result_code(&ans), Some(2001));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(srv_rec.seen().len(), 200);
}

#[tokio::test]
async fn dont_cache_redirect_is_followed_for_that_request_only() {
    init_tracing();
    let (_srv, srv_addr, srv_rec) = start(config("server.example", "server.realm")).await;
    let mut cfg = config("redirect.example", "agent.realm");
    cfg.mode = AgentMode::Redirect;
    cfg.routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(srv_addr));
    cfg.redirect.usage = RedirectHostUsage::DontCache;
    let (redirect, redirect_addr, _) = start(cfg).await;

    let mut cfg = config("client.example", "client.realm");
    cfg.routes = RoutingTable::new().default_route(PeerTarget::addr(redirect_addr));
    let c = Node::new(cfg, Recorder::new("client.example", "client.realm"));
    let ans = c.request(ccr("client.example;6;1", HOME)).await.unwrap();
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("server.example")
    );
    // Nothing cached: with the redirect agent gone the realm is unreachable.
    redirect.shutdown().await;
    eventually("client drops the redirect agent", || {
        c.peers()
            .iter()
            .all(|p| p.origin_host() != "redirect.example")
    })
    .await;
    match c.request(ccr("client.example;6;2", HOME)).await {
        Err(NodeError::Answer(3002)) => {}
        other => panic!("expected Answer(3002), got {other:?}"),
    }
    assert_eq!(srv_rec.seen().len(), 1);
}

/// RFC 6733 §3: a request with the P bit clear "MUST be locally processed";
/// an agent does not relay, proxy or redirect it.
#[tokio::test]
async fn non_proxiable_request_is_not_relayed_proxied_or_redirected_but_answered_3002() {
    init_tracing();
    for mode in [AgentMode::Relay, AgentMode::Proxy, AgentMode::Redirect] {
        let (_srv, srv_addr, srv_rec) = start(config("server.example", HOME)).await;
        let routes = RoutingTable::new().route(HOME, Some(app::GX), PeerTarget::addr(srv_addr));
        let (_agent, agent_addr) = agent("agent.example", mode, routes).await;
        let c = client();
        let to_agent = c.connect(agent_addr).await.unwrap();
        let mut req = ccr("client.example;1;7", HOME);
        req.flags &= !corelab_diameter::header::FLAG_PROXIABLE;
        let ans = to_agent.request(req).await.unwrap();
        assert_eq!(result_code(&ans), Some(3002), "{mode:?}");
        assert!(header(&ans).is_error());
        assert!(
            !header(&ans).is_proxiable(),
            "P bit copied from the request"
        );
        assert_eq!(
            identity_of(&ans, ERROR_REPORTING_HOST).as_deref(),
            Some("agent.example")
        );
        assert!(srv_rec.seen().is_empty(), "{mode:?} did not forward it");
    }
}

/// A DRA-like policy: the session bound to pcrf2 goes there whatever the
/// routes say; answers passing back are seen (the proxy-mode hook).
struct BindingPolicy {
    bound_session: &'static str,
    pcrf: PeerTarget,
    answers_seen: std::sync::Mutex<Vec<(Option<String>, Option<u32>)>>,
}

#[async_trait::async_trait]
impl Policy for BindingPolicy {
    fn route(&self, view: &RoutingView<'_>, tables: &Tables<'_>) -> Option<Decision> {
        if view.session_id_str() != Some(self.bound_session) {
            return None;
        }
        let host = self.pcrf.host.as_deref()?;
        Some(match tables.peers.iter().find(|p| p.origin_host == host) {
            Some(p) => Decision::Forward(p.id),
            None => Decision::Connect(self.pcrf.clone()),
        })
    }

    async fn answer_passing_back(&self, request: &[u8], answer: Vec<u8>) -> Vec<u8> {
        let sid = Message::decode(request)
            .ok()
            .and_then(|m| m.session_id().map(str::to_string));
        self.answers_seen
            .lock()
            .unwrap()
            .push((sid, result_code(&answer)));
        answer
    }
}

#[tokio::test]
async fn proxy_policy_steers_a_bound_session_and_sees_the_answer_passing_back() {
    init_tracing();
    let (_p1, p1_addr, p1_rec) = start(config("pcrf1.home.example", HOME)).await;
    let (_p2, p2_addr, p2_rec) = start(config("pcrf2.home.example", HOME)).await;
    let mut cfg = config("dra.example", "agent.realm");
    cfg.mode = AgentMode::Proxy;
    cfg.routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(p1_addr));
    let policy = Arc::new(BindingPolicy {
        bound_session: "client.example;1;bound",
        pcrf: PeerTarget::host("pcrf2.home.example", p2_addr),
        answers_seen: std::sync::Mutex::new(Vec::new()),
    });
    let dra = Node::with_policy(
        cfg,
        Recorder::new("dra.example", "agent.realm"),
        policy.clone(),
    );
    let dra_addr = dra.listen(any_port()).await.unwrap();
    let c = client();
    let p = c.connect(dra_addr).await.unwrap();

    let ans = p
        .request(ccr("client.example;1;bound", HOME))
        .await
        .unwrap();
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("pcrf2.home.example")
    );
    let ans = p
        .request(ccr("client.example;1;other", HOME))
        .await
        .unwrap();
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("pcrf1.home.example")
    );
    assert_eq!(p2_rec.seen().len(), 1);
    assert_eq!(p1_rec.seen().len(), 1);
    assert_eq!(
        *policy.answers_seen.lock().unwrap(),
        vec![
            (Some("client.example;1;bound".to_string()), Some(2001)),
            (Some("client.example;1;other".to_string()), Some(2001)),
        ]
    );
}

/// A DRA-like policy whose bindings live behind an async lookup (a store):
/// `prepare` reads the binding, `route` (pure) turns it into a decision.
struct StoredBindings {
    store: tokio::sync::Mutex<std::collections::HashMap<String, PeerTarget>>,
    lookups: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl Policy for StoredBindings {
    fn prepares(&self) -> bool {
        true
    }

    async fn prepare(&self, view: &RoutingView<'_>, _request: &[u8]) -> Option<Prepared> {
        let sid = view.session_id_str()?.to_string();
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::task::yield_now().await;
        let target = self.store.lock().await.get(&sid).cloned()?;
        Some(Arc::new(target))
    }

    fn route(&self, _: &RoutingView<'_>, tables: &Tables<'_>) -> Option<Decision> {
        let target = tables.prepared?.downcast_ref::<PeerTarget>()?;
        let host = target.host.as_deref()?;
        Some(match tables.peers.iter().find(|p| p.origin_host == host) {
            Some(p) => Decision::Forward(p.id),
            None => Decision::Connect(target.clone()),
        })
    }
}

#[tokio::test]
async fn a_policy_prepares_a_binding_by_async_lookup_then_routes_on_it() {
    init_tracing();
    let (_p1, p1_addr, p1_rec) = start(config("pcrf1.home.example", HOME)).await;
    let (_p2, p2_addr, p2_rec) = start(config("pcrf2.home.example", HOME)).await;
    let mut cfg = config("dra.example", "agent.realm");
    cfg.mode = AgentMode::Proxy;
    cfg.routes = RoutingTable::new().route(HOME, None, PeerTarget::addr(p1_addr));
    let policy = Arc::new(StoredBindings {
        store: tokio::sync::Mutex::new(
            [(
                "client.example;2;bound".to_string(),
                PeerTarget::host("pcrf2.home.example", p2_addr),
            )]
            .into(),
        ),
        lookups: std::sync::atomic::AtomicUsize::new(0),
    });
    let dra = Node::with_policy(
        cfg,
        Recorder::new("dra.example", "agent.realm"),
        policy.clone(),
    );
    let dra_addr = dra.listen(any_port()).await.unwrap();
    let c = client();
    let p = c.connect(dra_addr).await.unwrap();

    for (sid, host) in [
        ("client.example;2;bound", "pcrf2.home.example"),
        ("client.example;2;other", "pcrf1.home.example"),
        ("client.example;2;bound", "pcrf2.home.example"),
    ] {
        let ans = p.request(ccr(sid, HOME)).await.unwrap();
        assert_eq!(
            identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
            Some(host),
            "{sid}"
        );
    }
    assert_eq!(p2_rec.seen().len(), 2);
    assert_eq!(p1_rec.seen().len(), 1);
    assert_eq!(policy.lookups.load(std::sync::atomic::Ordering::SeqCst), 3);
}
