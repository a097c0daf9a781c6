//! Arbitrary bytes through everything a node does with a received message:
//! framing, decode, routing view, validation (both roles), rendering, error
//! answers, relay helpers, and a re-encode round trip. Must never panic.

use crate::{
    Avp, AvpType, Avps, Dictionary, Message, MessageBuilder, Role, RoutingView, error_answer,
    frame_length, relay, render, validate,
};

/// Every typed getter on every AVP, descending into what the dictionary calls
/// Grouped (bounded depth, like the library).
fn touch(avps: Avps<'_>, dict: &Dictionary, depth: usize) -> usize {
    let mut n = 0;
    for a in avps {
        n += 1;
        let _ = (
            a.as_u32(),
            a.as_u64(),
            a.as_i32(),
            a.as_i64(),
            a.as_f32(),
            a.as_f64(),
        );
        let _ = (a.as_utf8(), a.as_identity(), a.as_address(), a.as_time());
        assert!(a.unpadded().len() <= a.raw().len());
        let grouped = dict
            .avp(a.code(), a.vendor_id())
            .is_some_and(|d| d.ty == AvpType::Grouped);
        if grouped && depth < 40 {
            if let Ok(inner) = a.as_grouped() {
                n += touch(inner, dict, depth + 1);
            }
        }
    }
    n
}

/// An error answer must itself decode, answer the request and carry the code.
fn check_error_answer(req: &[u8], err: &crate::DiameterError) {
    let Some(ans) = error_answer(req, err, "fuzz.example", "example") else {
        return;
    };
    let Ok(ans) = ans else { return };
    let m = Message::decode(&ans).expect("our error answer decodes");
    assert!(!m.is_request());
    assert_eq!(m.result_code(), Some(err.code));
    assert_eq!(
        m.header().hop_by_hop,
        u32::from_be_bytes([req[12], req[13], req[14], req[15]])
    );
    let _ = validate(&m, Dictionary::standard(), Role::Agent);
}

fn same_avps(a: Avps<'_>, b: Avps<'_>) -> bool {
    let key = |x: Avp<'_>| (x.code(), x.flags(), x.vendor_id(), x.data().to_vec());
    a.map(key).eq(b.map(key))
}

/// The `decode` fuzz target's body: panics on a broken invariant.
pub fn decode(data: &[u8]) {
    let dict = Dictionary::standard();
    if let Ok(Some(n)) = frame_length(data) {
        assert!(n >= 20);
    }
    // The agent's one-walk fast path must agree with the full decode.
    let fast = RoutingView::decode(data);
    let msg = match Message::decode(data) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(fast.err(), Some(e.clone()), "RoutingView::decode error");
            check_error_answer(data, &e);
            return;
        }
    };
    let view = RoutingView::new(&msg);
    let fast = fast.expect("RoutingView::decode accepts what Message::decode accepts");
    assert_eq!(
        (
            fast.session_id,
            fast.destination_realm,
            fast.destination_host
        ),
        (
            view.session_id,
            view.destination_realm,
            view.destination_host
        )
    );
    assert!(
        fast.route_records()
            .eq(msg.avps().get_all(282, 0).map(|a| a.data()))
    );
    let _ = (
        view.session_id_str(),
        view.destination_realm_str(),
        view.destination_host_str(),
    );
    let _ = view.route_records().count();
    let _ = view.has_looped_through("dra.fuzz.example");
    touch(msg.avps(), dict, 0);
    for role in [Role::Endpoint, Role::Agent] {
        if let Err(e) = validate(&msg, dict, role) {
            if msg.is_request() {
                check_error_answer(data, &e);
            }
        }
    }
    let json = render(&msg, dict);
    assert!(json.starts_with('{'));

    // Round trip: copying every AVP opaque and encoding gives a message that
    // decodes to the same AVPs, and encoding that again is a fixed point.
    let b = MessageBuilder::from_message(&msg);
    let bytes = b.encode().expect("re-encode of a decoded message");
    let again = Message::decode(&bytes).expect("re-encoded message decodes");
    assert_eq!(again.header().command_code, msg.header().command_code);
    assert!(same_avps(msg.avps(), again.avps()));
    assert_eq!(
        MessageBuilder::from_message(&again).encode().unwrap(),
        bytes
    );
    if bytes.len() == data.len() {
        // Only the padding bytes may differ (zeroed on encode).
        assert_eq!(bytes[..20], data[..20]);
    }

    // Relay helpers.
    if msg.is_request() {
        if let Ok(fwd) = relay::forward_request(&msg, 0x1234_5678, "dra.fuzz.example") {
            let f = Message::decode(&fwd).expect("forwarded request decodes");
            assert_eq!(f.header().hop_by_hop, 0x1234_5678);
            assert!(RoutingView::new(&f).has_looped_through("dra.fuzz.example"));
        }
    } else {
        let back = relay::forward_answer(&msg, 7);
        assert_eq!(
            Message::decode(&back)
                .expect("relayed answer")
                .header()
                .hop_by_hop,
            7
        );
    }
}
