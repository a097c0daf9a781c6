//! A sequence of inputs derived from the fuzz data fed to the sans-IO peer
//! state machine (`Peer::handle`), outputs drained with `poll` after each.
//! Must never panic; invariants: requests pending never exceed requests sent
//! and not yet answered/timed out/failed over, every message the peer sends
//! decodes, and the output queue drains.

use std::time::{Duration, Instant};

use crate::codes::{VENDOR_3GPP, app, avp, cmd};
use crate::peer::{Input, Output, Peer, PeerConfig, PeerEvent};
use crate::{Address, AvpBuf, Message, MessageBuilder};

fn config(known: bool) -> PeerConfig {
    PeerConfig {
        origin_host: "pcrf.home.example".into(),
        origin_realm: "home.example".into(),
        host_ip_addresses: vec![Address::V4([127, 0, 0, 1].into())],
        vendor_id: VENDOR_3GPP,
        product_name: "corelab-fuzz".into(),
        origin_state_id: 1,
        supported_vendor_ids: vec![VENDOR_3GPP],
        auth_application_ids: vec![app::GX],
        known_peers: known.then(|| vec!["pgw.visited.example".to_string()]),
        tw: Duration::from_secs(6),
    }
}

/// Reads the fuzz data as a stream of small decisions.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u32(&mut self) -> u32 {
        let mut v = 0u32;
        for _ in 0..4 {
            v = (v << 8) | u32::from(self.u8().unwrap_or(0));
        }
        v
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

/// A lightly structured message from the "peer": a base message or an
/// application request/answer, with fuzz-chosen identifiers and values.
fn structured(b: &mut Bytes<'_>, hbhs: &[u32]) -> Vec<u8> {
    let kind = b.u8().unwrap_or(0);
    let hbh = match (b.u8().unwrap_or(0), hbhs.len()) {
        (i, n) if n > 0 && i < 200 => hbhs[usize::from(i) % n],
        _ => b.u32(),
    };
    let result = [2001, 3010, 5010, 3002, 2002][usize::from(kind >> 4) % 5];
    let apps = [app::GX, app::RELAY, app::RX, 0][usize::from(kind >> 6)];
    let (code, request) = match kind % 8 {
        0 => (cmd::CAPABILITIES_EXCHANGE, true),
        1 => (cmd::CAPABILITIES_EXCHANGE, false),
        2 => (cmd::DEVICE_WATCHDOG, true),
        3 => (cmd::DEVICE_WATCHDOG, false),
        4 => (cmd::DISCONNECT_PEER, true),
        5 => (cmd::DISCONNECT_PEER, false),
        6 => (cmd::CREDIT_CONTROL, true),
        _ => (cmd::CREDIT_CONTROL, false),
    };
    let application = if code == cmd::CREDIT_CONTROL {
        app::GX
    } else {
        app::BASE
    };
    let mut m = MessageBuilder::request(code, application).ids(hbh, b.u32());
    if !request {
        m.flags = 0;
        m.push(AvpBuf::u32(avp::RESULT_CODE, result).mandatory());
    }
    if code == cmd::CREDIT_CONTROL {
        m.flags |= 0x40;
        m.push(AvpBuf::utf8(avp::SESSION_ID, "pgw.visited.example;1;1").mandatory());
    }
    let host = if kind & 0x08 == 0 {
        "pgw.visited.example"
    } else {
        "other.example"
    };
    m.push(AvpBuf::identity(avp::ORIGIN_HOST, host).mandatory());
    m.push(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory());
    if code == cmd::CAPABILITIES_EXCHANGE {
        m.push(AvpBuf::address(
            avp::HOST_IP_ADDRESS,
            &Address::V4([127, 0, 0, 2].into()),
        ));
        m.push(AvpBuf::u32(avp::VENDOR_ID, VENDOR_3GPP).mandatory());
        m.push(AvpBuf::utf8(avp::PRODUCT_NAME, "peer"));
        if apps != 0 {
            m.push(AvpBuf::u32(avp::AUTH_APPLICATION_ID, apps).mandatory());
        }
    }
    if code == cmd::DISCONNECT_PEER && request {
        m.push(AvpBuf::enumerated(avp::DISCONNECT_CAUSE, 0).mandatory());
    }
    let mut bytes = m.encode().unwrap_or_default();
    // Sometimes break one byte of it.
    if let Some(pos) = b.u8() {
        if pos > 220 && !bytes.is_empty() {
            let i = usize::from(b.u8().unwrap_or(0)) % bytes.len();
            bytes[i] ^= b.u8().unwrap_or(1) | 1;
        }
    }
    bytes
}

/// The `peer_fsm` fuzz target's body: panics on a broken invariant.
pub fn peer_fsm(data: &[u8]) {
    let mut b = Bytes(data);
    let first = b.u8().unwrap_or(0);
    let mut peer = Peer::new(config(first & 1 == 1), b.u32());
    let start = Instant::now();
    let mut now = start;
    // Outstanding request ids (sent, not yet answered, timed out or failed over).
    let mut outstanding: Vec<u32> = Vec::new();
    let mut steps = 0;
    while let Some(op) = b.u8() {
        steps += 1;
        if steps > 256 {
            break;
        }
        match op % 11 {
            0 => peer.handle(now, Input::Start),
            1 => peer.handle(now, Input::Connected),
            2 => peer.handle(now, Input::ConnectFailed),
            3 => peer.handle(now, Input::Accepted),
            4 => peer.handle(now, Input::Disconnected),
            5 => peer.handle(now, Input::Stop(i32::from(b.u8().unwrap_or(0) % 3))),
            6 => {
                now += Duration::from_millis(u64::from(b.u8().unwrap_or(0)) * 100);
                peer.handle(now, Input::Timeout);
            }
            7 => {
                let n = usize::from(b.u8().unwrap_or(0));
                let raw = b.take(n).to_vec();
                peer.handle(now, Input::Received(&raw));
            }
            8 | 9 => {
                let msg = structured(&mut b, &outstanding);
                peer.handle(now, Input::Received(&msg));
            }
            _ => {
                let req = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
                    .proxiable()
                    .avp(AvpBuf::utf8(avp::SESSION_ID, "pcrf;1;1").mandatory());
                if let Some(h) = peer.send_request(now, req) {
                    assert!(
                        !outstanding.contains(&h),
                        "Hop-by-Hop id {h} reused while pending"
                    );
                    outstanding.push(h);
                }
            }
        }
        let mut drained = 0;
        while let Some(out) = peer.poll() {
            drained += 1;
            assert!(drained < 10_000, "output queue does not drain");
            match out {
                Output::Send(bytes) => {
                    Message::decode(&bytes).expect("the peer sends well-formed messages");
                }
                Output::Event(PeerEvent::Answer(bytes)) => {
                    let h = Message::decode(&bytes)
                        .expect("answer decodes")
                        .header()
                        .hop_by_hop;
                    let i = outstanding.iter().position(|&x| x == h);
                    outstanding.swap_remove(i.expect("an Answer event matches a sent request"));
                }
                Output::Event(PeerEvent::AnswerTimeout(h)) => {
                    let i = outstanding.iter().position(|&x| x == h);
                    outstanding.swap_remove(i.expect("a timeout names a sent request"));
                }
                Output::Event(PeerEvent::Failover(reqs)) => {
                    for r in reqs {
                        let h = u32::from_be_bytes([r[12], r[13], r[14], r[15]]);
                        if let Some(i) = outstanding.iter().position(|&x| x == h) {
                            outstanding.swap_remove(i);
                        }
                    }
                }
                Output::Event(PeerEvent::Down(_)) => {}
                _ => {}
            }
        }
        assert!(
            peer.pending_requests() <= outstanding.len(),
            "{} pending but only {} sent and outstanding",
            peer.pending_requests(),
            outstanding.len()
        );
        if peer.pending_requests() == 0 {
            // Requests dropped without an event (e.g. cleared on DOWN) are no
            // longer outstanding.
            outstanding.clear();
        }
    }
}
