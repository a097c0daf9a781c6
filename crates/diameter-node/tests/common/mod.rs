//! Shared helpers for the loopback tests: peer configs, a recording handler,
//! and a raw TCP peer that speaks Diameter by hand (to see the wire).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corelab_diameter::codes::{app, avp, cmd};
use corelab_diameter::{Address, AvpBuf, Header, Message, MessageBuilder, frame_length};
use corelab_diameter_node::{NodeConfig, PeerConfig, PeerHandle, RequestHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound for every wait in these tests (never a pass/fail timing check).
pub const WAIT: Duration = Duration::from_secs(10);

pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn peer_config(host: &str, realm: &str, apps: &[u32]) -> PeerConfig {
    PeerConfig {
        origin_host: host.to_string(),
        origin_realm: realm.to_string(),
        host_ip_addresses: vec![Address::V4([127, 0, 0, 1].into())],
        vendor_id: 0,
        product_name: "corelab-test".to_string(),
        origin_state_id: 1,
        supported_vendor_ids: vec![10415],
        auth_application_ids: apps.to_vec(),
        known_peers: None,
        tw: Duration::from_secs(30),
    }
}

pub fn config(host: &str, realm: &str) -> NodeConfig {
    NodeConfig::new(peer_config(host, realm, &[app::GX]))
}

/// A Gx CCR to `realm` with `session`.
pub fn ccr(session: &str, realm: &str) -> MessageBuilder {
    MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, session).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "client.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "client.realm").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, realm).mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
        .avp(AvpBuf::enumerated(416, 1).mandatory())
        .avp(AvpBuf::u32(415, 0).mandatory())
}

pub fn result_code(answer: &[u8]) -> Option<u32> {
    Message::decode(answer).ok()?.result_code().map(|r| r.0)
}

pub fn header(bytes: &[u8]) -> Header {
    Header::parse(bytes).expect("header")
}

pub fn identity_of(bytes: &[u8], code: u32) -> Option<String> {
    let m = Message::decode(bytes).ok()?;
    m.find(code, 0)?.as_identity().ok().map(str::to_string)
}

/// Answers every request with 2001 from `host`, copying Session-Id; keeps
/// the requests it saw. With `reverse`, also sends a RAR back to the peer
/// once the answer is queued (`answer_queued`) and keeps that RAA.
pub struct Recorder {
    pub host: String,
    pub realm: String,
    pub seen: Mutex<Vec<Vec<u8>>>,
    pub reverse_answers: Arc<Mutex<Vec<Vec<u8>>>>,
    pub reverse: bool,
    pub silent: bool,
    /// RARs to send once their CCA is queued, by the CCR's Hop-by-Hop id.
    pub rars: Mutex<std::collections::HashMap<u32, MessageBuilder>>,
}

impl Recorder {
    pub fn new(host: &str, realm: &str) -> Arc<Recorder> {
        Arc::new(Recorder {
            host: host.into(),
            realm: realm.into(),
            seen: Mutex::new(Vec::new()),
            reverse_answers: Arc::new(Mutex::new(Vec::new())),
            reverse: false,
            silent: false,
            rars: Mutex::new(std::collections::HashMap::new()),
        })
    }

    pub fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }
}

pub fn answer_2001(request: &[u8], host: &str, realm: &str) -> Vec<u8> {
    let m = Message::decode(request).expect("request decodes");
    let mut b = MessageBuilder::answer_to(m.header());
    if let Some(sid) = m.find(avp::SESSION_ID, 0) {
        b.push(AvpBuf::from_avp(&sid));
    }
    b.avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, realm).mandatory())
        .encode()
        .expect("answer encodes")
}

#[async_trait::async_trait]
impl RequestHandler for Recorder {
    async fn handle(&self, request: Vec<u8>, from: PeerHandle) -> Option<Vec<u8>> {
        self.seen.lock().unwrap().push(request.clone());
        if self.silent {
            return None;
        }
        let answer = answer_2001(&request, &self.host, &self.realm);
        if self.reverse && header(&request).command_code == cmd::CREDIT_CONTROL {
            let sid = Message::decode(&request)
                .ok()
                .and_then(|m| m.session_id().map(str::to_string))
                .unwrap_or_default();
            let rar = MessageBuilder::request(cmd::RE_AUTH, app::GX)
                .proxiable()
                .avp(AvpBuf::utf8(avp::SESSION_ID, &sid).mandatory())
                .avp(AvpBuf::identity(avp::ORIGIN_HOST, &self.host).mandatory())
                .avp(AvpBuf::identity(avp::ORIGIN_REALM, &self.realm).mandatory())
                .avp(AvpBuf::identity(avp::DESTINATION_REALM, from.origin_realm()).mandatory())
                .avp(AvpBuf::identity(avp::DESTINATION_HOST, from.origin_host()).mandatory())
                .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
                .avp(AvpBuf::enumerated(285, 0).mandatory());
            let hbh = header(&request).hop_by_hop;
            self.rars.lock().unwrap().insert(hbh, rar);
        }
        Some(answer)
    }

    fn answer_queued(&self, answer: &Header, from: &PeerHandle) {
        let Some(rar) = self.rars.lock().unwrap().remove(&answer.hop_by_hop) else {
            return;
        };
        // Follows the CCA on the same connection.
        let answers = self.reverse_answers.clone();
        let from = from.clone();
        tokio::spawn(async move {
            if let Ok(raa) = from.request(rar).await {
                answers.lock().unwrap().push(raa);
            }
        });
    }
}

/// A Diameter peer over a raw TCP socket, for tests that look at the wire.
pub struct RawPeer {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawPeer {
    pub async fn connect(addr: SocketAddr) -> RawPeer {
        RawPeer::from(TcpStream::connect(addr).await.expect("connect"))
    }

    pub fn from(stream: TcpStream) -> RawPeer {
        RawPeer {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next whole message, or `None` on EOF (bounded by [`WAIT`]).
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.recv_within(WAIT).await
    }

    /// The next whole message, or `None` on EOF, within `limit` of tokio's time.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(limit, self.recv_inner())
            .await
            .expect("message or EOF within the bound")
    }

    async fn recv_inner(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Ok(Some(n)) = frame_length(&self.buf) {
                if self.buf.len() >= n {
                    return Some(self.buf.drain(..n).collect());
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a CER as `host` advertising `apps` and returns the CEA.
    pub async fn cer(&mut self, host: &str, apps: &[u32]) -> Vec<u8> {
        self.send(&cer_request(host, apps)).await;
        self.recv().await.expect("CEA")
    }

    /// Answers a request (CER, DWR, DPR, application) with 2001 as `host`.
    pub async fn answer(&mut self, request: &[u8], host: &str, apps: &[u32]) {
        self.send(&answer_bytes(request, host, apps)).await;
    }
}

/// A CER from `host` advertising `apps`.
pub fn cer_request(host: &str, apps: &[u32]) -> Vec<u8> {
    let mut b = MessageBuilder::request(cmd::CAPABILITIES_EXCHANGE, app::BASE)
        .ids(1, 1)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "raw.realm").mandatory())
        .avp(AvpBuf::address(avp::HOST_IP_ADDRESS, &Address::V4([127, 0, 0, 1].into())).mandatory())
        .avp(AvpBuf::u32(avp::VENDOR_ID, 0).mandatory())
        .avp(AvpBuf::utf8(avp::PRODUCT_NAME, "raw"));
    for a in apps {
        b.push(AvpBuf::u32(avp::AUTH_APPLICATION_ID, *a).mandatory());
    }
    b.encode().unwrap()
}

/// A 2001 answer as `host` to a request (CER, DWR, DPR, application).
pub fn answer_bytes(request: &[u8], host: &str, apps: &[u32]) -> Vec<u8> {
    let h = header(request);
    let mut b = MessageBuilder::answer_to(&h)
        .avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "raw.realm").mandatory());
    if h.command_code == cmd::CAPABILITIES_EXCHANGE {
        b.push(
            AvpBuf::address(avp::HOST_IP_ADDRESS, &Address::V4([127, 0, 0, 1].into())).mandatory(),
        );
        b.push(AvpBuf::u32(avp::VENDOR_ID, 0).mandatory());
        b.push(AvpBuf::utf8(avp::PRODUCT_NAME, "raw"));
        for a in apps {
            b.push(AvpBuf::u32(avp::AUTH_APPLICATION_ID, *a).mandatory());
        }
    }
    b.encode().unwrap()
}

/// Waits until `f` holds, polling (bounded by [`WAIT`]).
pub async fn eventually(what: &str, f: impl FnMut() -> bool) {
    eventually_within(WAIT, what, f).await
}

/// Waits until `f` holds, polling, for at most `limit` of tokio's time (on paused time, a bound
/// in protocol time such as a few Tw, not wall-clock time).
pub async fn eventually_within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
