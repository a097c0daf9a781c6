//! The peer state machine driven by a fake clock (Instants we choose).

use super::*;
use crate::builder::{AvpBuf, MessageBuilder};
use crate::codes::VENDOR_3GPP;

const TW: Duration = Duration::from_secs(30);

fn cfg(host: &str) -> PeerConfig {
    PeerConfig {
        origin_host: host.to_string(),
        origin_realm: "visited.example".to_string(),
        host_ip_addresses: vec![Address::V4([192, 0, 2, 1].into())],
        vendor_id: 0,
        product_name: "corelab".to_string(),
        origin_state_id: 1,
        supported_vendor_ids: vec![VENDOR_3GPP],
        auth_application_ids: vec![app::GX],
        known_peers: None,
        tw: TW,
    }
}

fn drain(p: &mut Peer) -> Vec<Output> {
    std::iter::from_fn(|| p.poll()).collect()
}

fn sent(out: &[Output]) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn events(out: &[Output]) -> Vec<PeerEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The other side's CER or CEA, built with the same code.
fn their_capabilities(request: Option<&Header>, host: &str, apps: &[u32], result: u32) -> Vec<u8> {
    let mut c = cfg(host);
    c.auth_application_ids = apps.to_vec();
    let b = match request {
        None => messages::cer(&c, 77, 88),
        Some(h) => messages::cea(&c, h, ResultCode(result)),
    };
    b.encode().unwrap()
}

fn open_initiator(t0: Instant) -> Peer {
    let mut p = Peer::new(cfg("pgw.visited.example"), 100);
    p.handle(t0, Input::Start);
    assert_eq!(drain(&mut p), vec![Output::Connect]);
    p.handle(t0, Input::Connected);
    let out = drain(&mut p);
    let cer_bytes = sent(&out).remove(0);
    let cer = Message::decode(&cer_bytes).unwrap();
    assert_eq!(cer.header().command_code, cmd::CAPABILITIES_EXCHANGE);
    assert!(!cer.header().is_proxiable());
    crate::validate(&cer, crate::Dictionary::standard(), crate::Role::Endpoint).unwrap();
    let cea = their_capabilities(
        Some(cer.header()),
        "vdra.visited.example",
        &[app::GX, app::RX],
        2001,
    );
    p.handle(t0, Input::Received(&cea));
    let ev = events(&drain(&mut p));
    assert_eq!(
        ev,
        vec![PeerEvent::Up {
            origin_host: "vdra.visited.example".into(),
            origin_realm: "visited.example".into(),
            applications: vec![app::GX]
        }]
    );
    assert_eq!(p.state(), State::Open);
    p
}

#[test]
fn initiator_sends_cer_and_opens_on_cea_success_with_common_application() {
    open_initiator(Instant::now());
}

#[test]
fn cer_from_unknown_peer_gets_cea_3010_with_e_bit_and_disconnect() {
    let t0 = Instant::now();
    let mut c = cfg("vdra.visited.example");
    c.known_peers = Some(vec!["pgw.visited.example".into()]);
    let mut p = Peer::new(c, 1);
    p.handle(t0, Input::Accepted);
    drain(&mut p);
    p.handle(
        t0,
        Input::Received(&their_capabilities(None, "rogue.example", &[app::GX], 0)),
    );
    let out = drain(&mut p);
    let cea_bytes = sent(&out).remove(0);
    let cea = Message::decode(&cea_bytes).unwrap();
    assert_eq!(cea.result_code(), Some(ResultCode::DIAMETER_UNKNOWN_PEER));
    assert!(cea.header().is_error());
    assert_eq!((cea.header().hop_by_hop, cea.header().end_to_end), (77, 88));
    assert!(out.contains(&Output::Disconnect));
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn cer_without_common_application_gets_cea_5010() {
    let t0 = Instant::now();
    let mut p = Peer::new(cfg("vdra.visited.example"), 1);
    p.handle(t0, Input::Accepted);
    p.handle(
        t0,
        Input::Received(&their_capabilities(None, "af.example", &[app::RX], 0)),
    );
    let out = drain(&mut p);
    let cea_bytes = sent(&out).remove(0);
    let cea = Message::decode(&cea_bytes).unwrap();
    assert_eq!(
        cea.result_code(),
        Some(ResultCode::DIAMETER_NO_COMMON_APPLICATION)
    );
    assert!(!cea.header().is_error());
    assert!(out.contains(&Output::Disconnect));
}

#[test]
fn responder_accepts_relay_peer_and_answers_cea_2001() {
    let t0 = Instant::now();
    let mut p = Peer::new(cfg("vpcrf.visited.example"), 1);
    p.handle(t0, Input::Accepted);
    p.handle(
        t0,
        Input::Received(&their_capabilities(
            None,
            "vdra.visited.example",
            &[app::RELAY],
            0,
        )),
    );
    let out = drain(&mut p);
    let cea_bytes = sent(&out).remove(0);
    let cea = Message::decode(&cea_bytes).unwrap();
    assert_eq!(cea.result_code(), Some(ResultCode::DIAMETER_SUCCESS));
    assert_eq!(p.state(), State::Open);
}

#[test]
fn watchdog_sends_dwr_after_tw_then_suspect_then_down_then_reopens() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.handle(t0 + TW, Input::Timeout);
    let out = drain(&mut p);
    let dwr_bytes = sent(&out).remove(0);
    let dwr = Message::decode(&dwr_bytes).unwrap();
    assert_eq!(dwr.header().command_code, cmd::DEVICE_WATCHDOG);
    assert!(out.contains(&Output::ArmTimer(t0 + 2 * TW)));

    p.handle(t0 + 2 * TW, Input::Timeout);
    assert_eq!(events(&drain(&mut p)), vec![PeerEvent::Suspect]);
    assert_eq!(p.state(), State::Suspect);

    p.handle(t0 + 3 * TW, Input::Timeout);
    let out = drain(&mut p);
    assert!(out.contains(&Output::Disconnect));
    assert!(matches!(events(&out)[0], PeerEvent::Down(_)));
    assert!(out.contains(&Output::ArmTimer(t0 + 4 * TW)));

    // REOPEN: reconnect, CER/CEA, then three DWAs before the peer is up again.
    p.handle(t0 + 4 * TW, Input::Timeout);
    assert_eq!(drain(&mut p), vec![Output::Connect]);
    p.handle(t0 + 4 * TW, Input::Connected);
    let cer = sent(&drain(&mut p)).remove(0);
    let cer = Message::decode(&cer).unwrap();
    let cea = their_capabilities(Some(cer.header()), "vdra.visited.example", &[app::GX], 2001);
    p.handle(t0 + 4 * TW, Input::Received(&cea));
    let out = drain(&mut p);
    assert_eq!(p.state(), State::Reopen);
    assert!(events(&out).is_empty());
    let mut dwr = Message::decode(&sent(&out)[0]).unwrap().header().to_owned();
    for i in 0..3 {
        let dwa = messages::base_answer(&cfg("vdra.visited.example"), &dwr)
            .encode()
            .unwrap();
        p.handle(t0 + 4 * TW, Input::Received(&dwa));
        let out = drain(&mut p);
        if i < 2 {
            assert!(events(&out).is_empty());
            p.handle(t0 + 5 * TW, Input::Timeout);
            dwr = *Message::decode(&sent(&drain(&mut p))[0]).unwrap().header();
        } else {
            assert!(matches!(events(&out)[0], PeerEvent::Up { .. }));
        }
    }
    assert_eq!(p.state(), State::Open);
}

#[test]
fn dwa_in_suspect_returns_to_open() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.handle(t0 + TW, Input::Timeout);
    let dwr = *Message::decode(&sent(&drain(&mut p))[0]).unwrap().header();
    p.handle(t0 + 2 * TW, Input::Timeout);
    drain(&mut p);
    let dwa = messages::base_answer(&cfg("vdra.visited.example"), &dwr)
        .encode()
        .unwrap();
    p.handle(t0 + 2 * TW, Input::Received(&dwa));
    assert!(matches!(events(&drain(&mut p))[0], PeerEvent::Up { .. }));
    assert_eq!(p.state(), State::Open);
}

#[test]
fn dwr_is_answered_with_dwa_2001_and_same_identifiers() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let dwr = messages::dwr(&cfg("vdra.visited.example"), 0xaa, 0xbb)
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dwr));
    let dwa = sent(&drain(&mut p)).remove(0);
    let dwa = Message::decode(&dwa).unwrap();
    assert!(!dwa.is_request());
    assert_eq!(
        (
            dwa.header().command_code,
            dwa.header().hop_by_hop,
            dwa.header().end_to_end
        ),
        (280, 0xaa, 0xbb)
    );
    assert_eq!(dwa.result_code(), Some(ResultCode::DIAMETER_SUCCESS));
}

#[test]
fn silent_responder_connection_is_closed_after_the_cer_timeout() {
    let t0 = Instant::now();
    let cer_timeout = Duration::from_secs(5);
    let mut p = Peer::new(cfg("vdra.visited.example"), 1);
    p.set_cer_timeout(cer_timeout);
    p.handle(t0, Input::Accepted);
    assert_eq!(drain(&mut p), vec![Output::ArmTimer(t0 + cer_timeout)]);
    p.handle(t0 + cer_timeout, Input::Timeout);
    assert!(drain(&mut p).contains(&Output::Disconnect));
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn stop_sends_dpr_and_dpa_closes() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.handle(t0, Input::Stop(2));
    let dpr = sent(&drain(&mut p)).remove(0);
    let dpr = Message::decode(&dpr).unwrap();
    assert_eq!(
        dpr.find(avp::DISCONNECT_CAUSE, 0)
            .unwrap()
            .as_i32()
            .unwrap(),
        2
    );
    assert_eq!(p.state(), State::Closing);
    let dpa = messages::base_answer(&cfg("vdra.visited.example"), dpr.header())
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dpa));
    assert!(drain(&mut p).contains(&Output::Disconnect));
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn peer_dpr_is_answered_then_closing_waits_for_the_peer_to_disconnect_without_reconnect() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let dpr = messages::dpr(&cfg("vdra.visited.example"), 5, 6, 0)
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dpr));
    let out = drain(&mut p);
    let dpa_bytes = sent(&out).remove(0);
    let dpa = Message::decode(&dpa_bytes).unwrap();
    assert_eq!(dpa.header().command_code, cmd::DISCONNECT_PEER);
    assert_eq!(dpa.header().hop_by_hop, 5);
    // RFC 6733 §5.6: Closing; the DPR sender closes the transport.
    assert!(!out.contains(&Output::Disconnect));
    assert_eq!(events(&out), vec![PeerEvent::Disconnecting]);
    assert_eq!(p.state(), State::Closing);
    assert!(!p.can_send_requests());
    let dwr = messages::dwr(&cfg("vdra.visited.example"), 9, 9)
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dwr));
    assert_eq!(sent(&drain(&mut p)).len(), 1, "DWA while closing");
    p.handle(t0, Input::Disconnected);
    let out = drain(&mut p);
    assert!(out.contains(&Output::Disconnect));
    assert!(matches!(events(&out).last(), Some(PeerEvent::Down(_))));
    assert_eq!(p.state(), State::Closed);
    assert!(!p.reconnect_pending());
}

#[test]
fn peer_that_keeps_the_connection_after_our_dpa_is_closed_after_tw() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let dpr = messages::dpr(&cfg("vdra.visited.example"), 5, 6, 0)
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dpr));
    drain(&mut p);
    p.handle(t0 + TW, Input::Timeout);
    assert!(drain(&mut p).contains(&Output::Disconnect));
    assert_eq!(p.state(), State::Closed);
    assert!(!p.reconnect_pending());
}

#[test]
fn answers_are_matched_by_hop_by_hop_and_unanswered_requests_time_out() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let ccr = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "s;1").mandatory());
    let h1 = p.send_request(t0, ccr.clone()).unwrap();
    let h2 = p.send_request(t0, ccr).unwrap();
    assert_ne!(h1, h2);
    let out = drain(&mut p);
    let req1_bytes = sent(&out).remove(0);
    let req1 = Message::decode(&req1_bytes).unwrap();
    assert_eq!(req1.header().hop_by_hop, h1);
    assert_eq!(p.pending_requests(), 2);

    let answer = MessageBuilder::answer_to(req1.header())
        .avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&answer));
    assert_eq!(
        events(&drain(&mut p)),
        vec![PeerEvent::Answer(answer.clone())]
    );
    // The same answer again matches nothing and is discarded.
    p.handle(t0, Input::Received(&answer));
    assert!(events(&drain(&mut p)).is_empty());

    p.handle(t0 + TW, Input::Timeout);
    assert!(events(&drain(&mut p)).contains(&PeerEvent::AnswerTimeout(h2)));
    assert_eq!(p.pending_requests(), 0);
}

#[test]
fn malformed_request_gets_error_answer_and_event() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let mut bad = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "s;1").mandatory())
        .encode()
        .unwrap();
    bad[27] = 200; // Session-Id length past the end
    p.handle(t0, Input::Received(&bad));
    let out = drain(&mut p);
    let ans_bytes = sent(&out).remove(0);
    let ans = Message::decode(&ans_bytes).unwrap();
    assert_eq!(
        ans.result_code(),
        Some(ResultCode::DIAMETER_INVALID_AVP_LENGTH)
    );
    assert!(matches!(events(&out)[0], PeerEvent::ProtocolError(_)));
}

#[test]
fn election_is_won_by_the_higher_origin_host() {
    assert!(election_won("peer-b.example", "peer-a.example"));
    assert!(!election_won("peer-a.example", "peer-b.example"));
}

fn ccr(session: &str) -> MessageBuilder {
    MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, session).mandatory())
}

fn failover_requests(out: &[Output]) -> Vec<Vec<u8>> {
    events(out)
        .into_iter()
        .find_map(|e| match e {
            PeerEvent::Failover(r) => Some(r),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn pending_requests_fail_over_with_t_flag_when_the_watchdog_goes_suspect() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.set_request_timeout(10 * TW);
    let h1 = p.send_request(t0, ccr("s;1")).unwrap();
    let h2 = p.send_request(t0, ccr("s;2").ids(0, 0x77)).unwrap();
    let sent_bytes = sent(&drain(&mut p));
    p.handle(t0 + TW, Input::Timeout); // DWR
    drain(&mut p);
    p.handle(t0 + 2 * TW, Input::Timeout); // no DWA: SUSPECT
    let out = drain(&mut p);
    assert!(events(&out).contains(&PeerEvent::Suspect));
    let moved = failover_requests(&out);
    assert_eq!(moved.len(), 2);
    assert_eq!(p.pending_requests(), 0);
    for (m, orig) in moved.iter().zip(&sent_bytes) {
        let h = Message::decode(m).unwrap().header().to_owned();
        assert!(h.is_retransmit(), "T flag set (RFC 6733 §5.5.4)");
        assert_eq!(m[5..], orig[5..], "same bytes but the flags");
    }
    let hbhs: Vec<u32> = moved
        .iter()
        .map(|m| Header::parse(m).unwrap().hop_by_hop)
        .collect();
    assert_eq!(hbhs, vec![h1, h2]);
    assert_eq!(Header::parse(&moved[1]).unwrap().end_to_end, 0x77);
    // A late answer on the suspect connection matches nothing now.
    let late = MessageBuilder::answer_to(&Header::parse(&sent_bytes[0]).unwrap())
        .avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
        .encode()
        .unwrap();
    p.handle(t0 + 2 * TW, Input::Received(&late));
    assert!(
        !events(&drain(&mut p))
            .iter()
            .any(|e| matches!(e, PeerEvent::Answer(_)))
    );
}

#[test]
fn pending_requests_fail_over_when_the_connection_goes_down() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.send_request(t0, ccr("s;1")).unwrap();
    let h2 = p.send_request(t0, ccr("s;2")).unwrap();
    drain(&mut p);
    let first = p.send_request(t0, ccr("s;3")).unwrap();
    let answered = MessageBuilder::answer_to(&Header {
        version: 1,
        length: 20,
        flags: 0x80,
        command_code: cmd::CREDIT_CONTROL,
        application_id: app::GX,
        hop_by_hop: first,
        end_to_end: 0,
    })
    .encode()
    .unwrap();
    p.handle(t0, Input::Received(&answered));
    drain(&mut p);
    p.handle(t0, Input::Disconnected);
    let out = drain(&mut p);
    let moved = failover_requests(&out);
    assert_eq!(moved.len(), 2, "the answered one is not failed over");
    assert_eq!(Header::parse(&moved[1]).unwrap().hop_by_hop, h2);
    assert!(matches!(events(&out).last(), Some(PeerEvent::Down(_))));
}

#[test]
fn send_request_bytes_writes_identifiers_and_keeps_end_to_end() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    let mut req = ccr("s;1").encode().unwrap();
    req[16..20].copy_from_slice(&9u32.to_be_bytes());
    let hbh = p.send_request_bytes(t0, req).unwrap();
    let out = sent(&drain(&mut p));
    let h = Header::parse(&out[0]).unwrap();
    assert_eq!((h.hop_by_hop, h.end_to_end), (hbh, 9));
    assert_eq!(p.send_request_bytes(t0, vec![1, 2, 3]), None);
    let mut closed = Peer::new(cfg("x"), 1);
    assert_eq!(
        closed.send_request_bytes(t0, ccr("s;2").encode().unwrap()),
        None
    );
}

#[test]
fn initiator_plans_reconnect_after_down_and_stop_cancels_it() {
    let t0 = Instant::now();
    let mut p = open_initiator(t0);
    p.handle(t0, Input::Disconnected);
    drain(&mut p);
    assert!(p.reconnect_pending());
    p.handle(t0, Input::Stop(0));
    assert!(!p.reconnect_pending());
    p.handle(t0 + TW, Input::Timeout);
    assert!(!drain(&mut p).contains(&Output::Connect));

    // A peer's DPR means no reconnect either.
    let mut p = open_initiator(t0);
    let dpr = messages::dpr(&cfg("vdra.visited.example"), 5, 6, 0)
        .encode()
        .unwrap();
    p.handle(t0, Input::Received(&dpr));
    drain(&mut p);
    assert!(!p.reconnect_pending());
}
