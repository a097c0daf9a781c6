//! Bounds a hostile or broken peer cannot push past (issue 10 §0): the
//! Message Length checked before the body is buffered, the connection cap,
//! the CER timeout, the bounded write queue of a peer that stops reading, and
//! the caps on requests in flight (3004 beyond them).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use corelab_diameter::codes::{app, cmd};
use corelab_diameter::{AvpBuf, Message, MessageBuilder};
use corelab_diameter_node::{Node, NodeConfig, PeerHandle, RequestHandler};
use tokio::io::AsyncWriteExt;

async fn server(cfg: NodeConfig) -> (Node, SocketAddr) {
    let rec = Recorder::new(&cfg.local.origin_host, &cfg.local.origin_realm);
    let node = Node::new(cfg, rec);
    let addr = node.listen(any_port()).await.expect("listen");
    (node, addr)
}

/// A request header (CER) whose Message Length says `len`, without a body.
fn header_claiming(len: u32, hop_by_hop: u32) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..4].copy_from_slice(&len.to_be_bytes());
    h[0] = 1;
    h[4..8].copy_from_slice(&cmd::CAPABILITIES_EXCHANGE.to_be_bytes());
    h[4] = 0x80;
    h[12..16].copy_from_slice(&hop_by_hop.to_be_bytes());
    h[16..20].copy_from_slice(&hop_by_hop.to_be_bytes());
    h
}

#[tokio::test]
async fn message_longer_than_the_limit_gets_5015_then_the_connection_closes() {
    init_tracing();
    let (_node, addr) = server(config("server.example", "server.realm")).await;
    let mut raw = RawPeer::connect(addr).await;
    // Before any CER, a header claiming the largest Message Length there is
    // (16 MiB − 4): the node must not wait for (or reserve) the body.
    raw.send(&header_claiming(0x00ff_fffc, 7)).await;
    let answer = raw.recv().await.expect("an answer before the close");
    assert_eq!(result_code(&answer), Some(5015));
    assert_eq!(header(&answer).hop_by_hop, 7);
    assert!(!header(&answer).is_request());
    assert_eq!(
        raw.recv().await,
        None,
        "then the node closes the connection"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_a_freed_slot_serves_again() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.limits.max_connections = 2;
    let (_node, addr) = server(cfg).await;
    let mut a = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&a.cer("a.example", &[app::GX]).await),
        Some(2001)
    );
    let mut b = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&b.cer("b.example", &[app::GX]).await),
        Some(2001)
    );
    let mut c = RawPeer::connect(addr).await;
    assert_eq!(
        c.recv().await,
        None,
        "the third connection is closed at once"
    );

    drop(a);
    // The slot is free once the node has seen the close.
    let start = tokio::time::Instant::now();
    loop {
        assert!(start.elapsed() < WAIT, "no slot freed");
        let mut d = RawPeer::connect(addr).await;
        let _ = d
            .stream
            .write_all(&cer_request("d.example", &[app::GX]))
            .await;
        if let Some(cea) = d.recv().await {
            assert_eq!(result_code(&cea), Some(2001));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_connects_and_says_nothing_is_closed_after_the_cer_timeout() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.local.tw = Duration::from_secs(30);
    cfg.limits.cer_timeout = Duration::from_secs(5);
    let (_node, addr) = server(cfg).await;
    let mut raw = RawPeer::connect(addr).await;
    // Bounded in tokio's (paused) time: well before Tw.
    assert_eq!(raw.recv_within(Duration::from_secs(20)).await, None);
}

/// Answers every request with about 60 kB.
struct BigAnswers;

#[async_trait::async_trait]
impl RequestHandler for BigAnswers {
    async fn handle(&self, request: Vec<u8>, _from: PeerHandle) -> Option<Vec<u8>> {
        let small = answer_2001(&request, "server.example", "server.realm");
        let m = Message::decode(&small).ok()?;
        let mut b = MessageBuilder::answer_to(m.header());
        for a in m.avps() {
            b.push(AvpBuf::from_avp(&a));
        }
        // An unknown AVP without the M bit, as vendors add.
        b.push(AvpBuf::octets(99_999, &[0x55; 60_000]));
        b.encode().ok()
    }
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_disconnected_when_its_write_queue_fills() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.limits.write_queue = 16;
    let node = Node::new(cfg, Arc::new(BigAnswers));
    let addr = node.listen(any_port()).await.unwrap();
    let mut raw = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&raw.cer("raw.example", &[app::GX]).await),
        Some(2001)
    );
    eventually("the node lists the peer", || node.peers().len() == 1).await;
    // 1,000 CCRs whose answers (60 MB) the peer never reads.
    for i in 0..1000u32 {
        let ccr = ccr(&format!("raw.example;1;{i}"), "server.realm")
            .ids(i + 10, i + 10)
            .encode()
            .unwrap();
        if raw.stream.write_all(&ccr).await.is_err() {
            break;
        }
    }
    eventually("the node drops the peer that does not read", || {
        node.peers().is_empty()
    })
    .await;
}

/// Answers 2001 only once released: each request waits for a permit.
struct Held {
    gate: Arc<tokio::sync::Semaphore>,
    started: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait::async_trait]
impl RequestHandler for Held {
    async fn handle(&self, request: Vec<u8>, _from: PeerHandle) -> Option<Vec<u8>> {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.gate.acquire().await.ok()?.forget();
        Some(answer_2001(&request, "server.example", "server.realm"))
    }
}

/// A node whose handler holds every request until released.
async fn held(cfg: NodeConfig) -> (Node, SocketAddr, Arc<Held>) {
    let held = Arc::new(Held {
        gate: Arc::new(tokio::sync::Semaphore::new(0)),
        started: Arc::default(),
    });
    let node = Node::new(cfg, held.clone());
    let addr = node.listen(any_port()).await.expect("listen");
    (node, addr, held)
}

async fn send_ccrs(raw: &mut RawPeer, origin: &str, ids: std::ops::Range<u32>) {
    for i in ids {
        let ccr = ccr(&format!("{origin};1;{i}"), "server.realm")
            .ids(i, i)
            .encode()
            .unwrap();
        raw.send(&ccr).await;
    }
}

/// 3004 from the node itself (RFC 6733 §7.1.3): E bit, Error-Reporting-Host.
fn assert_too_busy(answer: &[u8], hop_by_hop: u32) {
    assert_eq!(result_code(answer), Some(3004));
    let h = header(answer);
    assert_eq!(h.hop_by_hop, hop_by_hop);
    assert!(!h.is_request() && h.is_error());
    assert_eq!(identity_of(answer, 294).as_deref(), Some("server.example"));
    assert_eq!(identity_of(answer, 264).as_deref(), Some("server.example"));
    assert_eq!(identity_of(answer, 296).as_deref(), Some("server.realm"));
}

/// The answers to `hop_by_hops` (any order), all 2001.
async fn assert_answered(raw: &mut RawPeer, mut hop_by_hops: Vec<u32>) {
    let mut got = Vec::new();
    for _ in 0..hop_by_hops.len() {
        let a = raw.recv().await.expect("an answer");
        assert_eq!(result_code(&a), Some(2001));
        got.push(header(&a).hop_by_hop);
    }
    got.sort_unstable();
    hop_by_hops.sort_unstable();
    assert_eq!(got, hop_by_hops);
}

#[tokio::test]
async fn a_request_beyond_the_per_connection_cap_gets_3004_and_the_others_their_answers() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.limits.max_requests_in_flight_per_connection = 3;
    let (node, addr, held) = held(cfg).await;
    let mut raw = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&raw.cer("raw.example", &[app::GX]).await),
        Some(2001)
    );
    send_ccrs(&mut raw, "raw.example", 1..5).await;
    let first = raw.recv().await.expect("the fourth answered at once");
    assert_too_busy(&first, 4);
    assert_eq!(node.too_busy_answers(), 1);

    held.gate.add_permits(3);
    assert_answered(&mut raw, vec![1, 2, 3]).await;
    // The slots are free again.
    held.gate.add_permits(1);
    send_ccrs(&mut raw, "raw.example", 5..6).await;
    assert_answered(&mut raw, vec![5]).await;
}

#[tokio::test]
async fn a_request_beyond_the_node_wide_cap_gets_3004_on_any_connection() {
    init_tracing();
    let mut cfg = config("server.example", "server.realm");
    cfg.limits.max_requests_in_flight = 2;
    let (node, addr, held) = held(cfg).await;
    let mut a = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&a.cer("a.example", &[app::GX]).await),
        Some(2001)
    );
    let mut b = RawPeer::connect(addr).await;
    assert_eq!(
        result_code(&b.cer("b.example", &[app::GX]).await),
        Some(2001)
    );
    send_ccrs(&mut a, "a.example", 1..3).await;
    eventually("a's two requests are in the handler", || {
        held.started.load(std::sync::atomic::Ordering::SeqCst) == 2
    })
    .await;
    send_ccrs(&mut b, "b.example", 10..11).await;
    let refused = b.recv().await.expect("b's request answered at once");
    assert_too_busy(&refused, 10);
    assert_eq!(node.too_busy_answers(), 1);

    held.gate.add_permits(2);
    assert_answered(&mut a, vec![1, 2]).await;
}
