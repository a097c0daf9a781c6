//! A node's peer connections over real loopback sockets: CER/CEA, requests
//! both ways, DWR/DWA, DPR/DPA, refused capabilities, malformed input.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use corelab_diameter::codes::{app, avp, cmd};
use corelab_diameter::{AvpBuf, Message, MessageBuilder};
use corelab_diameter_node::{Node, NodeError};
use tokio::io::AsyncWriteExt;

async fn server(
    cfg: corelab_diameter_node::NodeConfig,
) -> (Node, std::net::SocketAddr, Arc<Recorder>) {
    let rec = Recorder::new(&cfg.local.origin_host, &cfg.local.origin_realm);
    let node = Node::new(cfg, rec.clone());
    let addr = node.listen(any_port()).await.expect("listen");
    (node, addr, rec)
}

#[tokio::test]
async fn connect_completes_cer_cea_and_both_sides_list_the_peer() {
    init_tracing();
    let (srv, addr, _) = server(config("server.example", "server.realm")).await;
    let client = Node::new(
        config("client.example", "client.realm"),
        Recorder::new("client.example", "client.realm"),
    );
    let peer = client.connect(addr).await.expect("open");
    assert_eq!(peer.origin_host(), "server.example");
    assert_eq!(peer.origin_realm(), "server.realm");
    let cea = peer.cea().expect("CEA kept");
    assert_eq!(header(cea).command_code, cmd::CAPABILITIES_EXCHANGE);
    assert!(!header(cea).is_request());
    assert_eq!(result_code(cea), Some(2001));
    assert_eq!(peer.applications(), &[app::GX]);
    eventually("server lists the client", || {
        srv.peers()
            .iter()
            .any(|p| p.origin_host() == "client.example")
    })
    .await;
    let cer = srv.peers()[0].cea().unwrap().to_vec();
    assert!(header(&cer).is_request());
    assert_eq!(
        identity_of(&cer, avp::ORIGIN_HOST).as_deref(),
        Some("client.example")
    );
}

#[tokio::test]
async fn requests_are_answered_in_both_directions_on_one_connection() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.local.tw = Duration::from_secs(30);
    let rec = Arc::new(Recorder {
        reverse: true,
        ..Arc::into_inner(Recorder::new("server.example", "server.realm")).unwrap()
    });
    let srv = Node::new(cfg, rec.clone());
    let addr = srv.listen(any_port()).await.unwrap();
    let client_rec = Recorder::new("client.example", "client.realm");
    let client = Node::new(config("client.example", "client.realm"), client_rec.clone());
    let peer = client.connect(addr).await.unwrap();

    // Client → server, 50 outstanding at once, each matched by Hop-by-Hop id.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let p = peer.clone();
        tasks.push(tokio::spawn(async move {
            let sid = format!("client.example;1;{i}");
            let ans = p.request(ccr(&sid, "server.realm")).await.unwrap();
            let m = Message::decode(&ans).unwrap();
            assert_eq!(m.session_id(), Some(sid.as_str()));
            assert_eq!(m.result_code().map(|r| r.0), Some(2001));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(rec.seen().len(), 50);
    // End-to-End ids were assigned (non-zero) and the requests kept theirs.
    assert!(rec.seen().iter().all(|r| header(r).end_to_end != 0));

    // Server → client over the same connection (RAR sent by the server's
    // handler after each CCR), answered by the client's handler.
    eventually("50 RAAs", || {
        rec.reverse_answers.lock().unwrap().len() == 50
    })
    .await;
    assert_eq!(client_rec.seen().len(), 50);
    assert!(
        client_rec
            .seen()
            .iter()
            .all(|r| header(r).command_code == cmd::RE_AUTH)
    );

    // And a request the server's application starts by itself, routed by
    // Destination-Host to the connected client.
    let rar = MessageBuilder::request(cmd::RE_AUTH, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "server.example;9;9").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "server.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "server.realm").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, "client.realm").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_HOST, "client.example").mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory());
    let raa = srv.request(rar).await.unwrap();
    assert_eq!(result_code(&raa), Some(2001));
    assert_eq!(
        identity_of(&raa, avp::ORIGIN_HOST).as_deref(),
        Some("client.example")
    );
}

/// On paused tokio time: Tw is the service value (RFC 3539 §3.4.1: at least 6 s, with jitter)
/// and the test takes no wall-clock time for it.
#[tokio::test(start_paused = true)]
async fn node_sends_dwr_every_tw_and_stays_open_while_dwa_come() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.local.tw = Duration::from_secs(6);
    let (srv, addr, _) = server(cfg).await;
    let mut raw = RawPeer::connect(addr).await;
    let cea = raw.cer("raw.example", &[app::GX]).await;
    assert_eq!(result_code(&cea), Some(2001));
    for _ in 0..3 {
        let dwr = raw.recv().await.expect("DWR");
        let h = header(&dwr);
        assert_eq!(
            (h.command_code, h.is_request()),
            (cmd::DEVICE_WATCHDOG, true)
        );
        assert_eq!(
            identity_of(&dwr, avp::ORIGIN_HOST).as_deref(),
            Some("server.example")
        );
        raw.answer(&dwr, "raw.example", &[]).await;
    }
    assert_eq!(srv.peers().len(), 1);
    // Our DWR is answered with DWA 2001 and the same identifiers.
    let dwr = MessageBuilder::request(cmd::DEVICE_WATCHDOG, app::BASE)
        .ids(0x1234, 0x5678)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "raw.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "raw.realm").mandatory())
        .encode()
        .unwrap();
    raw.send(&dwr).await;
    let dwa = loop {
        let m = raw.recv().await.expect("DWA");
        if !header(&m).is_request() {
            break m;
        }
        raw.answer(&m, "raw.example", &[]).await;
    };
    assert_eq!(
        (header(&dwa).hop_by_hop, header(&dwa).end_to_end),
        (0x1234, 0x5678)
    );
    assert_eq!(result_code(&dwa), Some(2001));
}

/// On paused tokio time, with the service Tw (RFC 3539 §3.4.1: at least 6 s).
#[tokio::test(start_paused = true)]
async fn unanswered_dwr_makes_the_peer_suspect_then_down_and_closed() {
    init_tracing();
    let tw = Duration::from_secs(6);
    let mut cfg = config("server.example", "server.realm");
    cfg.local.tw = tw;
    let (srv, addr, _) = server(cfg).await;
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw.example", &[app::GX]).await;
    // Read DWRs without answering until the node closes the connection: SUSPECT one Tw after
    // the DWR, DOWN one Tw later (each Tw ±2 s jitter).
    let mut dwrs = 0;
    while let Some(m) = raw
        .recv_within(2 * (tw + Duration::from_secs(2)) + WAIT)
        .await
    {
        assert_eq!(header(&m).command_code, cmd::DEVICE_WATCHDOG);
        dwrs += 1;
    }
    assert!(dwrs >= 1);
    eventually("peer removed", || srv.peers().is_empty()).await;
}

#[tokio::test]
async fn shutdown_sends_dpr_and_the_peer_answers_dpa() {
    init_tracing();
    let (srv, addr, _) = server(config("server.example", "server.realm")).await;
    let client = Node::new(
        config("client.example", "client.realm"),
        Recorder::new("c", "r"),
    );
    client.connect(addr).await.unwrap();
    eventually("server lists the client", || srv.peers().len() == 1).await;
    client.shutdown().await;
    assert!(client.peers().is_empty());
    eventually("server drops the client", || srv.peers().is_empty()).await;

    // And the node as DPR sender, seen on the wire.
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw2.example", &[app::GX]).await;
    eventually("server lists raw2", || srv.peers().len() == 1).await;
    let stopping = tokio::spawn({
        let srv = srv.clone();
        async move { srv.shutdown().await }
    });
    let dpr = raw.recv().await.expect("DPR");
    assert_eq!(
        (header(&dpr).command_code, header(&dpr).is_request()),
        (cmd::DISCONNECT_PEER, true)
    );
    let cause = Message::decode(&dpr)
        .unwrap()
        .find(avp::DISCONNECT_CAUSE, 0)
        .unwrap()
        .as_i32()
        .unwrap();
    assert_eq!(cause, 0, "REBOOTING");
    raw.answer(&dpr, "raw2.example", &[]).await;
    stopping.await.unwrap();
    assert!(raw.recv().await.is_none());
}

/// RFC 6733 §5.4, §5.6: the receiver of DPR answers DPA and waits in Closing
/// for the sender to close the transport; closing first can reset the
/// connection under the DPA (python-diameter lost it about one run in twenty).
#[tokio::test]
async fn peer_dpr_is_answered_with_dpa_and_the_node_waits_for_the_peer_to_close() {
    init_tracing();
    let (srv, addr, _) = server(config("server.example", "server.realm")).await;
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw.example", &[app::GX]).await;
    eventually("server lists raw", || srv.peers().len() == 1).await;
    let dpr = MessageBuilder::request(cmd::DISCONNECT_PEER, app::BASE)
        .ids(7, 8)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "raw.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "raw.realm").mandatory())
        .avp(AvpBuf::enumerated(avp::DISCONNECT_CAUSE, 0).mandatory())
        .encode()
        .unwrap();
    raw.send(&dpr).await;
    let dpa = raw.recv().await.expect("DPA");
    assert_eq!(header(&dpa).command_code, cmd::DISCONNECT_PEER);
    assert!(!header(&dpa).is_request());
    assert_eq!(header(&dpa).hop_by_hop, 7);
    assert_eq!(result_code(&dpa), Some(2001));
    // The peer leaves the routing table at once...
    eventually("server stops routing to raw", || srv.peers().is_empty()).await;
    // ...but the connection stays open until the peer closes it: a DWR sent
    // after the DPA is still answered.
    let dwr = MessageBuilder::request(cmd::DEVICE_WATCHDOG, app::BASE)
        .ids(9, 10)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "raw.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "raw.realm").mandatory())
        .encode()
        .unwrap();
    raw.send(&dwr).await;
    let dwa = raw
        .recv()
        .await
        .expect("DWA: the node kept the connection open");
    assert_eq!(header(&dwa).command_code, cmd::DEVICE_WATCHDOG);
    assert_eq!(header(&dwa).hop_by_hop, 9);
    // The DPR sender closes; so does the node.
    raw.stream.shutdown().await.unwrap();
    assert!(raw.recv().await.is_none(), "the node closes after the peer");
}

#[tokio::test]
async fn unknown_peer_is_refused_with_3010() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.local.known_peers = Some(vec!["friend.example".into()]);
    let (srv, addr, _) = server(cfg).await;
    let client = Node::new(
        config("stranger.example", "client.realm"),
        Recorder::new("c", "r"),
    );
    match client.connect(addr).await {
        Err(NodeError::Capabilities(3010)) => {}
        other => panic!("expected 3010, got {other:?}"),
    }
    // On the wire: CEA 3010 with the E bit, then the connection closes.
    let mut raw = RawPeer::connect(addr).await;
    let cea = raw.cer("stranger2.example", &[app::GX]).await;
    assert_eq!(result_code(&cea), Some(3010));
    assert!(header(&cea).is_error());
    assert!(raw.recv().await.is_none());
    assert!(srv.peers().is_empty());
}

#[tokio::test]
async fn no_common_application_is_refused_with_5010() {
    init_tracing();
    let (_srv, addr, _) = server(config("server.example", "server.realm")).await;
    let mut cfg = config("client.example", "client.realm");
    cfg.local.auth_application_ids = vec![app::RX];
    let client = Node::new(cfg, Recorder::new("c", "r"));
    match client.connect(addr).await {
        Err(NodeError::Capabilities(5010)) => {}
        other => panic!("expected 5010, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_request_gets_its_error_answer_and_the_node_stays_up() {
    init_tracing();
    let (srv, addr, rec) = server(config("server.example", "server.realm")).await;
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw.example", &[app::GX]).await;
    let mut bad = ccr("raw.example;1;1", "server.realm")
        .ids(41, 42)
        .encode()
        .unwrap();
    bad[27] = 200; // Session-Id AVP Length past the end of the message
    raw.send(&bad).await;
    let ans = raw.recv().await.expect("error answer");
    assert_eq!(result_code(&ans), Some(5014), "DIAMETER_INVALID_AVP_LENGTH");
    assert_eq!((header(&ans).hop_by_hop, header(&ans).end_to_end), (41, 42));
    assert!(rec.seen().is_empty());

    // The same connection still works, and so does a new one.
    let good = ccr("raw.example;1;2", "server.realm")
        .ids(43, 44)
        .encode()
        .unwrap();
    raw.send(&good).await;
    let ans = raw.recv().await.expect("answer");
    assert_eq!(result_code(&ans), Some(2001));
    let client = Node::new(
        config("client.example", "client.realm"),
        Recorder::new("c", "r"),
    );
    let p = client.connect(addr).await.unwrap();
    assert_eq!(
        result_code(&p.request(ccr("c;1;1", "server.realm")).await.unwrap()),
        Some(2001)
    );

    // A stream that cannot be framed (version 2) closes that connection only.
    let mut junk = RawPeer::connect(addr).await;
    junk.cer("junk.example", &[app::GX]).await;
    let mut v2 = ccr("junk;1;1", "server.realm").encode().unwrap();
    v2[0] = 2;
    junk.send(&v2).await;
    let ans = junk.recv().await.expect("5011 answer");
    assert_eq!(result_code(&ans), Some(5011));
    assert!(junk.recv().await.is_none());
    assert_eq!(
        result_code(&p.request(ccr("c;1;2", "server.realm")).await.unwrap()),
        Some(2001)
    );
    drop(srv);
}

/// Answers after a pause, so a shutdown can catch it mid-request.
struct Slow(Arc<Recorder>);

#[async_trait::async_trait]
impl corelab_diameter_node::RequestHandler for Slow {
    async fn handle(
        &self,
        request: Vec<u8>,
        from: corelab_diameter_node::PeerHandle,
    ) -> Option<Vec<u8>> {
        self.0.seen.lock().unwrap().push(request.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = from;
        Some(answer_2001(&request, "server.example", "server.realm"))
    }
}

#[tokio::test]
async fn shutdown_sends_answers_being_prepared_before_the_dpr() {
    init_tracing();
    let rec = Recorder::new("server.example", "server.realm");
    let srv = Node::new(
        config("server.example", "server.realm"),
        Arc::new(Slow(rec.clone())),
    );
    let addr = srv.listen(any_port()).await.unwrap();
    let client = Node::new(
        config("client.example", "client.realm"),
        Recorder::new("c", "r"),
    );
    let p = client.connect(addr).await.unwrap();
    let pending =
        tokio::spawn(async move { p.request(ccr("client.example;3;1", "server.realm")).await });
    eventually("the server's handler has the request", || {
        rec.seen().len() == 1
    })
    .await;
    srv.shutdown().await;
    let ans = pending.await.unwrap().expect("answered before the DPR");
    assert_eq!(result_code(&ans), Some(2001));
    eventually("client saw the DPR", || client.peers().is_empty()).await;
}

/// Answers 2001 and, once the answer is queued, sends a RAR for the same
/// session back over the connection (what a PCRF does after a CCA).
struct RarAfterAnswer;

#[async_trait::async_trait]
impl corelab_diameter_node::RequestHandler for RarAfterAnswer {
    async fn handle(
        &self,
        request: Vec<u8>,
        _from: corelab_diameter_node::PeerHandle,
    ) -> Option<Vec<u8>> {
        Some(answer_2001(&request, "server.example", "server.realm"))
    }

    fn answer_queued(
        &self,
        answer: &corelab_diameter::Header,
        from: &corelab_diameter_node::PeerHandle,
    ) {
        let rar = MessageBuilder::request(cmd::RE_AUTH, app::GX)
            .proxiable()
            .avp(AvpBuf::utf8(avp::SESSION_ID, &format!("rar;{}", answer.hop_by_hop)).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, "server.example").mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "server.realm").mandatory())
            .avp(AvpBuf::identity(avp::DESTINATION_REALM, from.origin_realm()).mandatory())
            .avp(AvpBuf::identity(avp::DESTINATION_HOST, from.origin_host()).mandatory())
            .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
            .avp(AvpBuf::enumerated(285, 0).mandatory());
        let from = from.clone();
        tokio::spawn(async move {
            let _ = from.request(rar).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_once_the_answer_is_queued_follows_it_on_the_wire() {
    init_tracing();
    let srv = Node::new(
        config("server.example", "server.realm"),
        Arc::new(RarAfterAnswer),
    );
    let addr = srv.listen(any_port()).await.unwrap();
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw.example", &[app::GX]).await;
    for i in 0..20u32 {
        let ccr = ccr(&format!("raw.example;2;{i}"), "server.realm")
            .ids(100 + i, 200 + i)
            .encode()
            .unwrap();
        raw.send(&ccr).await;
        let first = raw.recv().await.expect("CCA");
        let h = header(&first);
        assert!(!h.is_request(), "request {i}: the CCA comes first");
        assert_eq!(
            (h.command_code, h.hop_by_hop),
            (cmd::CREDIT_CONTROL, 100 + i)
        );
        let second = raw.recv().await.expect("RAR");
        let h = header(&second);
        assert!(
            h.is_request() && h.command_code == cmd::RE_AUTH,
            "request {i}: then the RAR"
        );
        let sid = format!("rar;{}", 100 + i);
        assert_eq!(
            Message::decode(&second).unwrap().session_id(),
            Some(sid.as_str())
        );
        raw.answer(&second, "raw.example", &[app::GX]).await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_request_gets_the_first_answer_again_without_the_handler() {
    init_tracing();
    let (srv, addr, rec) = server(config("server.example", "server.realm")).await;
    let mut raw = RawPeer::connect(addr).await;
    raw.cer("raw.example", &[app::GX]).await;
    let first = ccr("raw.example;1;7", "server.realm")
        .ids(51, 700)
        .encode()
        .unwrap();
    raw.send(&first).await;
    let ans1 = raw.recv().await.expect("answer");
    assert_eq!(result_code(&ans1), Some(2001));

    // The same request again (RFC 6733 §5.5.4: T flag, a new Hop-by-Hop id,
    // same Origin-Host and End-to-End id).
    let mut again = first.clone();
    again[4] |= corelab_diameter::header::FLAG_RETRANSMIT;
    again[12..16].copy_from_slice(&52u32.to_be_bytes());
    raw.send(&again).await;
    let ans2 = raw.recv().await.expect("the first answer again");
    assert_eq!(header(&ans2).hop_by_hop, 52);
    assert_eq!(header(&ans2).end_to_end, 700);
    assert_eq!(ans2[16..], ans1[16..], "the same answer, modulo Hop-by-Hop");
    assert_eq!(rec.seen().len(), 1, "the application saw the request once");

    // Another End-to-End id is a new request.
    let other = ccr("raw.example;1;8", "server.realm")
        .ids(53, 701)
        .encode()
        .unwrap();
    raw.send(&other).await;
    assert_eq!(result_code(&raw.recv().await.expect("answer")), Some(2001));
    assert_eq!(rec.seen().len(), 2);
    drop(srv);
}
