//! The codec on messages built in the standards' words.

mod common;

use corelab_diameter::codes::{VENDOR_3GPP, app, avp};
use corelab_diameter::{
    Address, AvpBuf, Dictionary, Message, MessageBuilder, ResultCode, RoutingView, frame_length,
    relay, render,
};

#[test]
fn gx_ccr_initial_decodes_and_routes_without_decoding_the_rest() {
    let bytes = common::gx_ccr_initial().encode().unwrap();
    assert_eq!(frame_length(&bytes).unwrap(), Some(bytes.len()));
    let view = RoutingView::decode(&bytes).unwrap();
    assert_eq!(view.header.command_code, 272);
    assert_eq!(view.header.application_id, app::GX);
    assert!(view.header.is_request() && view.header.is_proxiable());
    assert_eq!(
        view.session_id_str(),
        Some("pgw.visited.example;1700000000;1")
    );
    assert_eq!(view.destination_realm_str(), Some("visited.example"));
    assert_eq!(view.destination_host, None);
    assert_eq!(
        view.route_records().collect::<Vec<_>>(),
        vec![&b"vdra.visited.example"[..]]
    );
    assert!(view.has_looped_through("VDRA.visited.example"));
    assert!(!view.has_looped_through("hdra.home.example"));
}

#[test]
fn typed_values_read_back_through_nested_groups() {
    let bytes = common::gx_ccr_initial().encode().unwrap();
    let msg = Message::decode(&bytes).unwrap();
    let arp = msg
        .find(1049, VENDOR_3GPP)
        .unwrap()
        .as_grouped()
        .unwrap()
        .get(1034, VENDOR_3GPP)
        .unwrap();
    let level = arp.as_grouped().unwrap().get(1046, VENDOR_3GPP).unwrap();
    assert_eq!(level.as_u32().unwrap(), 8);
    assert_eq!(
        msg.find(1050, VENDOR_3GPP).unwrap().as_address().unwrap(),
        Address::V4([192, 0, 2, 10].into())
    );
    assert_eq!(msg.find(416, 0).unwrap().as_i32().unwrap(), 1);
}

#[test]
fn decoded_message_reencodes_byte_identical() {
    let bytes = common::gx_cca_initial().encode().unwrap();
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(MessageBuilder::from_message(&msg).encode().unwrap(), bytes);
}

#[test]
fn unknown_vendor_avp_is_kept_as_raw_bytes_and_reencoded_untouched() {
    // Vendor 99999 code 7, M clear, reserved-for-security P bit set, 5 data bytes.
    let unknown = [
        0, 0, 0, 7, 0xa0, 0, 0, 17, 0, 1, 0x86, 0x9f, 1, 2, 3, 4, 5, 0, 0, 0,
    ];
    let mut b = common::gx_ccr_initial();
    b.push(AvpBuf::from_avp(
        &corelab_diameter::Avp::parse(&unknown).unwrap(),
    ));
    let bytes = b.encode().unwrap();
    assert_eq!(&bytes[bytes.len() - 20..], &unknown);
    let msg = Message::decode(&bytes).unwrap();
    let a = msg.find(7, 99_999).unwrap();
    assert!(a.is_protected() && !a.is_mandatory());
    assert_eq!(a.raw(), &unknown);
}

#[test]
fn relay_appends_route_record_and_swaps_hop_by_hop() {
    let bytes = common::gx_ccr_initial().encode().unwrap();
    let msg = Message::decode(&bytes).unwrap();
    let fwd = relay::forward_request(&msg, 0xabcd_0001, "pgw.visited.example").unwrap();
    let out = Message::decode(&fwd).unwrap();
    assert_eq!(out.header().hop_by_hop, 0xabcd_0001);
    assert_eq!(out.header().end_to_end, msg.header().end_to_end);
    assert_eq!(&fwd[20..bytes.len()], &bytes[20..]);
    let rr: Vec<_> = RoutingView::new(&out).route_records().collect();
    assert_eq!(
        rr,
        vec![&b"vdra.visited.example"[..], b"pgw.visited.example"]
    );

    let answer = common::gx_cca_initial()
        .ids(0xabcd_0001, 0x5eed_0001)
        .encode()
        .unwrap();
    let back = relay::forward_answer(&Message::decode(&answer).unwrap(), 0x101);
    assert_eq!(Message::decode(&back).unwrap().header().hop_by_hop, 0x101);
}

#[test]
fn truncated_or_overlong_frames_are_5015() {
    let bytes = common::gx_ccr_initial().encode().unwrap();
    let e = Message::decode(&bytes[..bytes.len() - 4]).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH);
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    assert_eq!(Message::decode(&longer).unwrap_err().code.0, 5015);
}

#[test]
fn avp_length_past_the_message_is_5014_with_the_avp_header_as_failed_avp() {
    let mut bytes = common::gx_ccr_initial().encode().unwrap();
    // First AVP (Session-Id) at offset 20: claim 0xffff bytes.
    bytes[25..28].copy_from_slice(&[0, 0xff, 0xff]);
    let e = Message::decode(&bytes).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_INVALID_AVP_LENGTH);
    assert_eq!(e.failed_avp.unwrap(), bytes[20..28].to_vec());
}

#[test]
fn render_names_avps_and_enumerations() {
    let bytes = common::gx_ccr_initial().encode().unwrap();
    let text = render(&Message::decode(&bytes).unwrap(), Dictionary::standard());
    assert!(
        text.contains("\"command\": \"Credit-Control-Request\""),
        "{text}"
    );
    assert!(text.contains("\"application\": \"Gx\""));
    assert!(text.contains("{\"CC-Request-Type\": \"INITIAL_REQUEST (1)\"}"));
    assert!(text.contains("{\"IP-CAN-Type\": \"3GPP-EPS (5)\"}"));
    assert!(text.contains("{\"Priority-Level\": 8}"));
    assert!(text.contains("{\"AN-GW-Address\": \"192.0.2.10\"}"));
    assert!(text.contains("{\"Subscription-Id-Data\": \"001010123456789\"}"));
    let unknown = MessageBuilder::request(272, app::GX)
        .avp(AvpBuf::octets(7, b"\x01\"").vendor(99))
        .avp(AvpBuf::utf8(avp::SESSION_ID, "a\"b"))
        .encode()
        .unwrap();
    let text = render(&Message::decode(&unknown).unwrap(), Dictionary::standard());
    assert!(text.contains("{\"AVP 7/99\": \"0x0122\"}"), "{text}");
    assert!(text.contains("{\"Session-Id\": \"a\\\"b\"}"));
}

#[test]
fn routing_view_in_one_walk_agrees_with_message_decode() {
    // Route-Records interleaved with other AVPs, and a Destination-Host.
    let b = common::gx_ccr_initial()
        .avp(AvpBuf::identity(293, "hpcrf.home.example").mandatory())
        .avp(AvpBuf::identity(282, "vdra2.visited.example").mandatory())
        .avp(AvpBuf::identity(264, "second-origin.example").mandatory());
    let bytes = b.encode().unwrap();
    let view = RoutingView::decode(&bytes).unwrap();
    let rr: Vec<_> = view.route_records().collect();
    assert_eq!(
        rr,
        vec![&b"vdra.visited.example"[..], &b"vdra2.visited.example"[..]]
    );
    assert_eq!(view.destination_host_str(), Some("hpcrf.home.example"));
    assert_eq!(
        view.origin_host,
        Some(&b"pgw.visited.example"[..]),
        "first one"
    );
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(
        RoutingView::new(&m).route_records().count(),
        view.route_records().count()
    );

    // Every malformation gives the same error as Message::decode.
    let mut broken = vec![bytes[..19].to_vec(), bytes[..bytes.len() - 4].to_vec()];
    let mut bad_avp = bytes.clone();
    bad_avp[20 + 5..20 + 8].copy_from_slice(&[0, 0xff, 0]);
    broken.push(bad_avp);
    let mut short_avp = bytes.clone();
    short_avp[20 + 7] = 4;
    broken.push(short_avp);
    for buf in &broken {
        let e = RoutingView::decode(buf).unwrap_err();
        assert_eq!(e, Message::decode(buf).unwrap_err());
    }
}
