use super::*;

fn parse(text: &str) -> Request {
    let text = text.replace('\n', "\r\n");
    Request::try_from(text.as_bytes()).unwrap()
}

fn invite(extra: &str) -> Request {
    parse(&format!(
        "INVITE sip:chat@groups.a.lab SIP/2.0\n\
         Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKalice1\n\
         {extra}\
         From: <sip:alice@a.lab>;tag=a1\n\
         To: <sip:chat@groups.a.lab>\n\
         Call-ID: c1@10.0.0.1\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@10.0.0.1:5070>\n\
         Content-Length: 0\n\n"
    ))
}

fn hop() -> Hop {
    Hop {
        sent_by: "10.0.0.2:5060".into(),
        inbound: Transport::Udp,
    }
}

#[test]
fn max_forwards_zero_is_483_and_absent_is_70() {
    let req = invite("Max-Forwards: 0\n");
    assert_eq!(check_max_forwards(&req).unwrap_err().code, 483);
    let req = invite("Max-Forwards: x\n");
    assert_eq!(check_max_forwards(&req).unwrap_err().code, 400);
    assert_eq!(check_max_forwards(&invite("")).unwrap(), 70);
    assert_eq!(
        forward(&invite("Max-Forwards: 0\n"), None, true, &hop())
            .unwrap_err()
            .code,
        483
    );
}

#[test]
fn forwarded_invite_has_our_via_record_route_and_one_less_hop() {
    let req = invite("Max-Forwards: 10\n");
    let out = forward(&req, Some("sip:chat@10.0.0.3:5080"), true, &hop()).unwrap();
    let r = &out.request;
    assert_eq!(r.uri.to_string(), "sip:chat@10.0.0.3:5080");
    assert_eq!(out.next_hop, "sip:chat@10.0.0.3:5080");
    let vias = headers::all_values(r, "Via");
    assert_eq!(vias.len(), 2);
    assert!(vias[0].starts_with("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK"));
    assert_eq!(vias[1], "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKalice1");
    assert_eq!(headers::value(r, "Max-Forwards").unwrap(), "9");
    assert_eq!(
        headers::all_values(r, "Record-Route"),
        vec!["<sip:10.0.0.2:5060;lr>"]
    );
    // It still parses as what it is.
    let text = r.to_string();
    assert!(Request::try_from(text.as_bytes()).is_ok(), "{text}");
}

#[test]
fn transport_change_double_record_routes() {
    let h = Hop {
        inbound: Transport::Tcp,
        ..hop()
    };
    let out = forward(&invite(""), Some("sip:chat@10.0.0.3"), true, &h).unwrap();
    assert_eq!(
        headers::all_values(&out.request, "Record-Route"),
        vec![
            "<sip:10.0.0.2:5060;lr>".to_string(),
            "<sip:10.0.0.2:5060;transport=tcp;lr>".to_string()
        ]
    );
}

#[test]
fn in_dialog_request_gets_no_record_route() {
    let bye = parse(
        "BYE sip:cf@10.0.0.3:5080 SIP/2.0\n\
         Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKbye\n\
         Route: <sip:10.0.0.2:5060;lr>\n\
         From: <sip:alice@a.lab>;tag=a1\n\
         To: <sip:chat@groups.a.lab>;tag=c9\n\
         Call-ID: c1@10.0.0.1\n\
         CSeq: 2 BYE\n\
         Content-Length: 0\n\n",
    );
    let mut bye2 = bye.clone();
    assert_eq!(pop_own_routes(&mut bye2, |hp| hp == "10.0.0.2:5060"), 1);
    assert!(routes(&bye2).is_empty());
    let out = forward(&bye2, None, true, &hop()).unwrap();
    assert!(headers::all_values(&out.request, "Record-Route").is_empty());
    assert_eq!(out.next_hop, "sip:cf@10.0.0.3:5080");
}

#[test]
fn own_routes_popped_loose_route_followed() {
    let mut req = invite(
        "Route: <sip:10.0.0.2;lr>, <sip:10.0.0.2:5060;transport=tcp;lr>\n\
         Route: <sip:10.0.0.9:5090;lr>\n",
    );
    assert_eq!(pop_own_routes(&mut req, |hp| hp == "10.0.0.2:5060"), 2);
    assert_eq!(routes(&req), vec!["<sip:10.0.0.9:5090;lr>"]);
    let out = forward(&req, None, false, &hop()).unwrap();
    assert_eq!(out.next_hop, "sip:10.0.0.9:5090;lr");
    assert_eq!(out.request.uri.to_string(), "sip:chat@groups.a.lab");
    // Nothing of ours on top: nothing popped.
    assert_eq!(pop_own_routes(&mut req, |hp| hp == "10.0.0.2:5060"), 0);
}

#[test]
fn strict_route_rewritten() {
    let req = invite("Route: <sip:10.0.0.9:5090>\n");
    let out = forward(&req, None, false, &hop()).unwrap();
    assert_eq!(out.request.uri.to_string(), "sip:10.0.0.9:5090");
    assert_eq!(routes(&out.request), vec!["<sip:chat@groups.a.lab>"]);
    assert_eq!(out.next_hop, "sip:chat@groups.a.lab");
}

#[test]
fn branch_is_stable_shared_with_cancel_and_distinct_for_the_2xx_ack() {
    let req = invite("");
    let b1 = branch(&req, "sip:x@h");
    assert_eq!(b1, branch(&req.clone(), "sip:x@h"));
    assert!(b1.starts_with("z9hG4bK"));
    assert_ne!(b1, branch(&req, "sip:y@h"));
    let mut cancel = req.clone();
    cancel.method = Method::Cancel;
    assert_eq!(branch(&cancel, "sip:x@h"), b1);
    let ack = parse(
        "ACK sip:chat@groups.a.lab SIP/2.0\n\
         Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKalice2\n\
         From: <sip:alice@a.lab>;tag=a1\n\
         To: <sip:chat@groups.a.lab>;tag=c9\n\
         Call-ID: c1@10.0.0.1\n\
         CSeq: 1 ACK\n\
         Content-Length: 0\n\n",
    );
    assert_ne!(branch(&ack, "sip:x@h"), b1);
}

#[test]
fn cancel_matches_the_forwarded_invite() {
    let out = forward(&invite(""), Some("sip:chat@10.0.0.3"), true, &hop()).unwrap();
    let cancel = cancel_of(&out.request);
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, out.request.uri);
    assert_eq!(
        headers::all_values(&cancel, "Via"),
        vec![headers::all_values(&out.request, "Via")[0].clone()]
    );
    assert_eq!(headers::value(&cancel, "CSeq").unwrap(), "1 CANCEL");
    assert_eq!(
        headers::value(&cancel, "Call-ID"),
        headers::value(&out.request, "Call-ID")
    );
    let text = cancel.to_string();
    assert!(Request::try_from(text.as_bytes()).is_ok(), "{text}");
}

fn response(code: u16, vias: &[&str]) -> Response {
    let mut text = format!("SIP/2.0 {code} X\n");
    for v in vias {
        text.push_str(&format!("Via: {v}\n"));
    }
    text.push_str(
        "From: <sip:alice@a.lab>;tag=a1\nTo: <sip:chat@groups.a.lab>;tag=c9\n\
         Call-ID: c1@10.0.0.1\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
    );
    let text = text.replace('\n', "\r\n");
    Response::try_from(text.as_bytes()).unwrap()
}

#[test]
fn response_upstream_loses_our_via_and_100_stays_here() {
    let ours = "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKp";
    let theirs = "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKalice1";
    let up = upstream(&response(200, &[ours, theirs])).unwrap();
    assert_eq!(headers::all_values(&up, "Via"), vec![theirs]);
    // Vias in one header line too.
    let joined = response(180, &[&format!("{ours}, {theirs}")]);
    assert_eq!(
        headers::all_values(&upstream(&joined).unwrap(), "Via"),
        vec![theirs]
    );
    assert!(upstream(&response(100, &[ours, theirs])).is_none());
    assert!(upstream(&response(200, &[ours])).is_none());
}

#[test]
fn best_response_prefers_6xx_then_lowest_class_and_503_becomes_500() {
    let mut best = BestResponse::default();
    best.offer(response(486, &["SIP/2.0/UDP h;branch=z9hG4bK1"]));
    best.offer(response(302, &["SIP/2.0/UDP h;branch=z9hG4bK1"]));
    assert_eq!(best.clone().take().unwrap().status_code.code(), 302);
    best.offer(response(603, &["SIP/2.0/UDP h;branch=z9hG4bK1"]));
    best.offer(response(404, &["SIP/2.0/UDP h;branch=z9hG4bK1"]));
    assert_eq!(best.take().unwrap().status_code.code(), 603);
    let mut best = BestResponse::default();
    best.offer(response(503, &["SIP/2.0/UDP h;branch=z9hG4bK1"]));
    assert_eq!(best.take().unwrap().status_code.code(), 500);
    assert!(BestResponse::default().take().is_none());
}

#[test]
fn host_port_defaults() {
    assert_eq!(host_port("<sip:10.0.0.2;lr>").unwrap(), "10.0.0.2:5060");
    assert_eq!(host_port("sips:a@H.lab").unwrap(), "h.lab:5061");
    assert_eq!(host_port("<sip:[::1]:7;lr>").unwrap(), "[::1]:7");
    assert_eq!(host_port("<sip:[::1];lr>").unwrap(), "[::1]:5060");
}
