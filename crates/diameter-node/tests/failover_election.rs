//! Failover of pending requests when the watchdog suspects a peer (RFC 6733
//! §5.5.4, RFC 3539), and the election when two nodes connect to each other
//! at once (RFC 6733 §5.6.4). Separate nodes over loopback.

mod common;

use std::time::Duration;

use common::*;
use corelab_diameter::codes::{app, avp};
use corelab_diameter::header::FLAG_RETRANSMIT;
use corelab_diameter_node::{Node, PeerTarget, RoutingTable};
use tokio::net::TcpListener;

const HOME: &str = "home.realm";

/// A peer that completes CER/CEA and then never answers anything (not even
/// DWR): alive at the TCP level, dead at the Diameter level.
async fn mute_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<usize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let mut raw = RawPeer::from(s);
        let cer = raw.recv().await.expect("CER");
        raw.answer(&cer, "mute.example", &[app::GX]).await;
        let mut swallowed = 0;
        while raw.recv().await.is_some() {
            swallowed += 1;
        }
        swallowed
    });
    (addr, task)
}

/// On paused tokio time: Tw is the service value (RFC 3539: at least 6 s) and the failover after
/// 2·Tw costs no wall-clock time.
#[tokio::test(start_paused = true)]
async fn request_pending_on_a_suspect_peer_is_answered_by_the_alternate_with_t_flag() {
    init_tracing();
    let (mute_addr, mute) = mute_server().await;
    let rec2 = Recorder::new("server2.example", HOME);
    let s2 = Node::new(config("server2.example", HOME), rec2.clone());
    let s2_addr = s2.listen(any_port()).await.unwrap();

    // The request itself may wait much longer than the failover takes.
    let mut cfg = config("client.example", "client.realm");
    cfg.local.tw = Duration::from_secs(6);
    cfg.request_timeout = Some(Duration::from_secs(60));
    cfg.routes = RoutingTable::new()
        .route(
            HOME,
            Some(app::GX),
            PeerTarget::host("mute.example", mute_addr),
        )
        .route(
            HOME,
            Some(app::GX),
            PeerTarget::host("server2.example", s2_addr),
        );
    let c = Node::new(cfg, Recorder::new("client.example", "client.realm"));

    let ans = c.request(ccr("client.example;7;1", HOME)).await.unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("server2.example")
    );
    let seen = rec2.seen();
    assert_eq!(seen.len(), 1);
    assert_ne!(
        seen[0][4] & FLAG_RETRANSMIT,
        0,
        "T flag on the failed-over request"
    );
    c.shutdown().await;
    // The mute peer got the original request (and DWRs) and answered none.
    assert!(mute.await.unwrap() >= 2);
}

#[tokio::test]
async fn simultaneous_connections_are_resolved_by_election_to_one() {
    init_tracing();
    let ra = Recorder::new("peer-a.example", "a.realm");
    let rb = Recorder::new("peer-b.example", "b.realm");
    let a = Node::new(config("peer-a.example", "a.realm"), ra.clone());
    let b = Node::new(config("peer-b.example", "b.realm"), rb.clone());
    let a_addr = a.listen(any_port()).await.unwrap();
    let b_addr = b.listen(any_port()).await.unwrap();

    let (ha, hb) = tokio::join!(a.connect(b_addr), b.connect(a_addr));
    let (ha, hb) = (ha.expect("a → b opens"), hb.expect("b → a opens"));

    eventually("one connection left on each side", || {
        a.peers().len() == 1 && b.peers().len() == 1
    })
    .await;
    // "peer-b.example" is the higher Origin-Host: b wins and keeps the
    // connection a initiated; a keeps the same one (its own).
    assert!(
        a.peers()[0].is_initiator(),
        "a keeps the connection it opened"
    );
    assert!(
        !b.peers()[0].is_initiator(),
        "b keeps the connection a opened"
    );
    assert_eq!(a.peers()[0].remote_addr(), b_addr);

    // Both handles returned by connect still work (the closed one hands its
    // requests to the kept connection to the same Origin-Host).
    let ans = ha
        .request(ccr("peer-a.example;1;1", "b.realm"))
        .await
        .unwrap();
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("peer-b.example")
    );
    let ans = hb
        .request(ccr("peer-b.example;1;1", "a.realm"))
        .await
        .unwrap();
    assert_eq!(
        identity_of(&ans, avp::ORIGIN_HOST).as_deref(),
        Some("peer-a.example")
    );
    assert_eq!((ra.seen().len(), rb.seen().len()), (1, 1));
}

/// A server that answers everything with 2001 on each connection it accepts,
/// and drops the first connection (no DPR) after its capabilities exchange.
async fn flaky_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<u32>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut commands = Vec::new();
        // First connection: CER/CEA, then the transport goes away.
        let (s, _) = l.accept().await.unwrap();
        let mut raw = RawPeer::from(s);
        let cer = raw.recv().await.expect("CER");
        raw.answer(&cer, "flaky.example", &[app::GX]).await;
        drop(raw);
        // Second connection: the client's reconnection; answer everything
        // until it sends DPR.
        let (s, _) = l.accept().await.unwrap();
        let mut raw = RawPeer::from(s);
        while let Some(m) = raw.recv().await {
            let h = header(&m);
            commands.push(h.command_code);
            if h.is_request() {
                raw.answer(&m, "flaky.example", &[app::GX]).await;
            }
        }
        commands
    });
    (addr, task)
}

/// On paused tokio time, with the service Tw (RFC 3539 §3.4.1: at least 6 s).
#[tokio::test(start_paused = true)]
async fn initiator_reconnects_after_the_transport_drops_and_needs_three_dwa_before_use() {
    init_tracing();
    let (addr, server) = flaky_server().await;
    let tw = Duration::from_secs(6);
    let mut cfg = config("client.example", "client.realm");
    cfg.local.tw = tw;
    let c = Node::new(cfg, Recorder::new("client.example", "client.realm"));
    let first = c.connect(addr).await.unwrap();
    eventually("peer down", || !first.is_open()).await;
    // Reconnect after Tw, then three DWR/DWA rounds (Tw each, ±2 s jitter) before OKAY.
    let reopen = 4 * (tw + Duration::from_secs(2)) + WAIT;
    eventually_within(reopen, "peer re-opened", || c.peers().len() == 1).await;
    // The same handle works again.
    assert!(first.is_open());
    let ans = first
        .request(ccr("client.example;8;1", "raw.realm"))
        .await
        .unwrap();
    assert_eq!(result_code(&ans), Some(2001));
    c.shutdown().await;
    let commands = server.await.unwrap();
    // CER, then at least three DWRs (RFC 3539 REOPEN) before the CCR, then DPR.
    assert_eq!(commands.first(), Some(&257));
    let ccr_at = commands.iter().position(|&c| c == 272).expect("CCR");
    assert!(
        commands[1..ccr_at].iter().filter(|&&c| c == 280).count() >= 3,
        "{commands:?}"
    );
    assert_eq!(commands.last(), Some(&282));
}
