//! Request/answer pairs per second over loopback: a server node and a client
//! node in one process on ONE thread (current-thread runtime), so the number
//! is both sides' cost on one core. Bounded: `N` requests (default 200000),
//! `C` outstanding (default 100).
//!
//! `cargo run --release -p corelab-diameter-node --example loopback_load -- 200000 100`

use std::sync::Arc;
use std::time::{Duration, Instant};

use corelab_diameter::codes::{app, avp, cmd};
use corelab_diameter::{Address, AvpBuf, Message, MessageBuilder};
use corelab_diameter_node::{Node, NodeConfig, PeerConfig, PeerHandle, RequestHandler};

struct Answerer;

#[async_trait::async_trait]
impl RequestHandler for Answerer {
    async fn handle(&self, request: Vec<u8>, _from: PeerHandle) -> Option<Vec<u8>> {
        let m = Message::decode(&request).ok()?;
        let mut b = MessageBuilder::answer_to(m.header());
        if let Some(sid) = m.find(avp::SESSION_ID, 0) {
            b.push(AvpBuf::from_avp(&sid));
        }
        b.avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, "server.example").mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "server.realm").mandatory())
            .encode()
            .ok()
    }
}

fn cfg(host: &str) -> NodeConfig {
    NodeConfig::new(PeerConfig {
        origin_host: host.into(),
        origin_realm: "lab.realm".into(),
        host_ip_addresses: vec![Address::V4([127, 0, 0, 1].into())],
        vendor_id: 0,
        product_name: "loopback_load".into(),
        origin_state_id: 1,
        supported_vendor_ids: vec![],
        auth_application_ids: vec![app::GX],
        known_peers: None,
        tw: Duration::from_secs(30),
    })
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(200_000);
    let c = args.get(1).copied().unwrap_or(100).max(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let server = Node::new(cfg("server.example"), Arc::new(Answerer));
        let addr = server.listen("127.0.0.1:0".parse().unwrap()).await.expect("listen");
        let client = Node::new(cfg("client.example"), Arc::new(Answerer));
        let peer = client.connect(addr).await.expect("connect");
        let start = Instant::now();
        let mut workers = Vec::new();
        for w in 0..c {
            let peer = peer.clone();
            let count = n / c + usize::from(w < n % c);
            workers.push(tokio::spawn(async move {
                let mut ok = 0usize;
                for i in 0..count {
                    let sid = format!("client.example;{w};{i}");
                    let req = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
                        .proxiable()
                        .avp(AvpBuf::utf8(avp::SESSION_ID, &sid).mandatory())
                        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "client.example").mandatory())
                        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "lab.realm").mandatory())
                        .avp(AvpBuf::identity(avp::DESTINATION_REALM, "lab.realm").mandatory())
                        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
                        .avp(AvpBuf::enumerated(416, 1).mandatory())
                        .avp(AvpBuf::u32(415, i as u32).mandatory());
                    if peer.request(req).await.is_ok() {
                        ok += 1;
                    }
                }
                ok
            }));
        }
        let mut ok = 0;
        for w in workers {
            ok += w.await.unwrap_or(0);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{ok}/{n} answered, {c} outstanding, {secs:.2} s, {:.0} pairs/s (client and server on one thread)",
            ok as f64 / secs
        );
        client.shutdown().await;
    });
}
