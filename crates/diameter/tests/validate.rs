//! RFC 6733 §7 error mapping: each malformed input gives its Result-Code and
//! the Failed-AVP contents, and the error answer carries them.

mod common;

use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::{
    AvpBuf, Dictionary, Message, MessageBuilder, ResultCode, Role, error_answer, validate,
};

fn check(b: &MessageBuilder, role: Role) -> Result<(), corelab_diameter::DiameterError> {
    let bytes = b.encode().unwrap();
    validate(
        &Message::decode(&bytes).unwrap(),
        Dictionary::standard(),
        role,
    )
}

fn cer() -> MessageBuilder {
    MessageBuilder::request(cmd::CAPABILITIES_EXCHANGE, app::BASE)
        .ids(1, 1)
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pgw.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
        .avp(
            AvpBuf::address(
                avp::HOST_IP_ADDRESS,
                &corelab_diameter::Address::V4([192, 0, 2, 1].into()),
            )
            .mandatory(),
        )
        .avp(AvpBuf::u32(avp::VENDOR_ID, 10415).mandatory())
        .avp(AvpBuf::utf8(avp::PRODUCT_NAME, "corelab"))
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
}

#[test]
fn well_formed_gx_ccr_cca_and_cer_validate() {
    check(&common::gx_ccr_initial(), Role::Endpoint).unwrap();
    check(&common::gx_cca_initial(), Role::Endpoint).unwrap();
    check(&cer(), Role::Endpoint).unwrap();
}

#[test]
fn proxiable_cer_is_3008() {
    let e = check(&cer().proxiable(), Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_INVALID_HDR_BITS);
}

#[test]
fn gx_ccr_without_p_bit_is_3008() {
    let e = check(&common::gx_ccr_initial().flag(0x40, false), Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 3008);
}

#[test]
fn reserved_header_bit_is_5013_for_endpoints_and_passes_agents() {
    let b = common::gx_ccr_initial().flag(0x01, true);
    assert_eq!(check(&b, Role::Endpoint).unwrap_err().code.0, 5013);
    check(&b, Role::Agent).unwrap();
}

#[test]
fn missing_cc_request_number_is_5005_with_zeroed_example_avp() {
    let mut b = common::gx_ccr_initial();
    b.avps.retain(|a| a.code != 415);
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_MISSING_AVP);
    // CC-Request-Number: code 415, M, length 12, value 0 (RFC 6733 §7.5)
    assert_eq!(
        e.failed_avp.unwrap(),
        vec![0, 0, 1, 0x9f, 0x40, 0, 0, 12, 0, 0, 0, 0]
    );
}

#[test]
fn missing_subsession_id_inside_subsession_enforcement_info_is_5005_with_vendor() {
    let b = MessageBuilder::request(cmd::CREDIT_CONTROL, app::S9)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "vpcrf;1;2").mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::S9).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "vpcrf.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, "home.example").mandatory())
        .avp(AvpBuf::enumerated(416, 2).mandatory())
        .avp(AvpBuf::u32(415, 1).mandatory())
        .avp(
            AvpBuf::grouped(
                2201,
                vec![AvpBuf::enumerated(2203, 0).vendor(VENDOR_3GPP).mandatory()],
            )
            .vendor(VENDOR_3GPP)
            .mandatory(),
        );
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5005);
    // Subsession-Id 2202, V+M, length 16, vendor 10415, value 0
    assert_eq!(
        e.failed_avp.unwrap(),
        vec![0, 0, 8, 0x9a, 0xc0, 0, 0, 16, 0, 0, 0x28, 0xaf, 0, 0, 0, 0]
    );
}

#[test]
fn unknown_avp_with_m_bit_is_5001_at_an_endpoint_and_forwarded_by_an_agent() {
    let odd = AvpBuf::u32(4242, 7).vendor(VENDOR_3GPP).mandatory();
    let b = common::gx_ccr_initial().avp(odd.clone());
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_AVP_UNSUPPORTED);
    assert_eq!(e.failed_avp.unwrap(), odd.to_bytes().unwrap());
    check(&b, Role::Agent).unwrap();
}

#[test]
fn unknown_avp_without_m_bit_is_ignored_by_an_endpoint() {
    let b = common::gx_ccr_initial().avp(AvpBuf::utf8(4242, "S1").vendor(VENDOR_3GPP));
    check(&b, Role::Endpoint).unwrap();
}

#[test]
fn m_bit_against_the_flag_rules_is_3009() {
    // Session-Id: M MUST be set
    let mut b = common::gx_ccr_initial();
    b.avps[0].flags = 0;
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_INVALID_AVP_BITS);
    assert_eq!(&e.failed_avp.unwrap()[..4], &263u32.to_be_bytes());
    // Product-Name: M MUST NOT be set
    let mut b = cer();
    b.avps[4].flags = 0x40;
    assert_eq!(check(&b, Role::Endpoint).unwrap_err().code.0, 3009);
    // reserved AVP flag bit
    let mut b = common::gx_ccr_initial();
    b.avps[1].flags |= 0x01;
    assert_eq!(check(&b, Role::Endpoint).unwrap_err().code.0, 3009);
}

#[test]
fn wrong_sized_unsigned32_is_5014_and_bad_utf8_is_5004() {
    let mut b = common::gx_ccr_initial();
    b.avps[6] = AvpBuf::octets(415, &[0, 0, 1]).mandatory();
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_INVALID_AVP_LENGTH);
    assert_eq!(
        e.failed_avp.unwrap(),
        vec![0, 0, 1, 0x9f, 0x40, 0, 0, 11, 0, 0, 1]
    );

    let mut b = common::gx_ccr_initial();
    b.avps[0] = AvpBuf::octets(avp::SESSION_ID, &[0xc3, 0x28]).mandatory();
    assert_eq!(
        check(&b, Role::Endpoint).unwrap_err().code,
        ResultCode::DIAMETER_INVALID_AVP_VALUE
    );
}

#[test]
fn bad_length_inside_a_grouped_avp_is_5014() {
    let mut b = common::gx_ccr_initial();
    // Subscription-Id whose data holds a truncated AVP header.
    b.avps[7] = AvpBuf::octets(443, &[0, 0, 1, 0xc2, 0x40, 0, 0, 40]).mandatory();
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5014);
    assert_eq!(e.failed_avp.unwrap(), vec![0, 0, 1, 0xc2, 0x40, 0, 0, 40]);
}

#[test]
fn unknown_command_is_3001_and_unknown_application_3007() {
    let b = MessageBuilder::request(999, app::GX).proxiable();
    assert_eq!(check(&b, Role::Endpoint).unwrap_err().code.0, 3001);
    let b = MessageBuilder::request(272, 12345).proxiable();
    assert_eq!(check(&b, Role::Endpoint).unwrap_err().code.0, 3007);
    check(&b, Role::Agent).unwrap();
}

#[test]
fn error_answer_for_protocol_error_sets_e_bit_and_carries_failed_avp() {
    let mut b = common::gx_ccr_initial().flag(0x10, true);
    b.push(
        AvpBuf::grouped(
            avp::PROXY_INFO,
            vec![
                AvpBuf::identity(280, "vdra.visited.example").mandatory(),
                AvpBuf::octets(33, b"state").mandatory(),
            ],
        )
        .mandatory(),
    );
    let req = b.encode().unwrap();
    let err = corelab_diameter::DiameterError::with_avp(
        ResultCode::DIAMETER_INVALID_AVP_BITS,
        &[0, 0, 1, 0x9f, 0x41, 0, 0, 12, 0, 0, 0, 0],
        "reserved bit",
    );
    let ans = error_answer(&req, &err, "vpcrf.visited.example", "visited.example")
        .unwrap()
        .unwrap();
    let m = Message::decode(&ans).unwrap();
    let h = m.header();
    assert!(!h.is_request() && h.is_error() && h.is_proxiable() && !h.is_retransmit());
    assert_eq!((h.hop_by_hop, h.end_to_end), (0x101, 0x5eed_0001));
    assert_eq!(m.result_code(), Some(ResultCode(3009)));
    assert_eq!(m.session_id(), Some("pgw.visited.example;1700000000;1"));
    let order: Vec<u32> = m.avps().map(|a| a.code()).collect();
    assert_eq!(order, vec![263, 264, 296, 268, 281, 279, 284]);
    let failed = m.find(avp::FAILED_AVP, 0).unwrap().as_grouped().unwrap();
    assert_eq!(failed.get(415, 0).unwrap().flags(), 0x41);
    validate(&m, Dictionary::standard(), Role::Agent).unwrap();
}

#[test]
fn error_answer_for_5005_has_no_e_bit_and_none_for_answers() {
    let req = common::gx_ccr_initial().encode().unwrap();
    let err = corelab_diameter::DiameterError::new(ResultCode::DIAMETER_MISSING_AVP, "");
    let ans = error_answer(&req, &err, "h", "r").unwrap().unwrap();
    assert!(!Message::decode(&ans).unwrap().header().is_error());
    let cca = common::gx_cca_initial().encode().unwrap();
    assert!(error_answer(&cca, &err, "h", "r").is_none());
    assert!(error_answer(&req[..10], &err, "h", "r").is_none());
}

#[test]
fn error_answer_works_on_bytes_that_failed_to_decode() {
    let mut req = common::gx_ccr_initial().encode().unwrap();
    let n = req.len();
    req[n - 28 + 5..n - 28 + 8].copy_from_slice(&[0, 0xff, 0]); // break the last AVP (Route-Record)
    let err = Message::decode(&req).unwrap_err();
    assert_eq!(err.code.0, 5014);
    let ans = error_answer(&req, &err, "vpcrf", "visited.example")
        .unwrap()
        .unwrap();
    let m = Message::decode(&ans).unwrap();
    assert_eq!(m.result_code(), Some(ResultCode(5014)));
    assert!(m.session_id().is_some());
}

/// An AVP as Failed-AVP holds it: header and data, no padding (RFC 6733 §7.5).
fn wire(a: &AvpBuf) -> Vec<u8> {
    let mut b = a.to_bytes().unwrap();
    b.truncate(a.unpadded_len());
    b
}

/// Failed-AVP's inner AVP of an error answer built for `b` and `e`.
fn failed_avp_of_answer(b: &MessageBuilder, e: &corelab_diameter::DiameterError) -> Vec<u8> {
    let req = b.encode().unwrap();
    let ans = error_answer(&req, e, "vpcrf.visited.example", "visited.example")
        .unwrap()
        .unwrap();
    let m = Message::decode(&ans).unwrap();
    assert!(!m.header().is_error(), "5xxx is not a protocol error");
    assert_eq!(m.result_code(), Some(e.code));
    let failed = m.find(avp::FAILED_AVP, 0).unwrap().as_grouped().unwrap();
    let inner: Vec<_> = failed.collect();
    assert_eq!(inner.len(), 1);
    inner[0].unpadded().to_vec()
}

#[test]
fn two_session_ids_are_5009_with_the_second_as_failed_avp() {
    let second = AvpBuf::utf8(avp::SESSION_ID, "pgw.visited.example;1700000000;2").mandatory();
    let b = common::gx_ccr_initial().avp(second.clone());
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_AVP_OCCURS_TOO_MANY_TIMES);
    assert_eq!(e.failed_avp.as_deref(), Some(&wire(&second)[..]));
    assert_eq!(failed_avp_of_answer(&b, &e), wire(&second));
    // An agent routing on Session-Id must not guess either.
    assert_eq!(check(&b, Role::Agent).unwrap_err().code.0, 5009);
}

#[test]
fn two_origin_hosts_are_5009_in_ccr_and_cer() {
    let second = AvpBuf::identity(avp::ORIGIN_HOST, "evil.example").mandatory();
    let e = check(
        &common::gx_ccr_initial().avp(second.clone()),
        Role::Endpoint,
    )
    .unwrap_err();
    assert_eq!(e.code.0, 5009);
    assert_eq!(e.failed_avp.unwrap(), wire(&second));
    let e = check(&cer().avp(second.clone()), Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5009);
    assert_eq!(e.failed_avp.unwrap(), wire(&second));
}

#[test]
fn a_third_an_gw_address_is_5009_and_two_pass() {
    let gw = |o: u8| {
        AvpBuf::address(1050, &corelab_diameter::Address::V4([192, 0, 2, o].into()))
            .vendor(VENDOR_3GPP)
    };
    // gx_ccr_initial already carries one AN-GW-Address (0*2 in TS 29.212 §5.6.2).
    check(&common::gx_ccr_initial().avp(gw(11)), Role::Endpoint).unwrap();
    let e = check(
        &common::gx_ccr_initial().avp(gw(11)).avp(gw(12)),
        Role::Endpoint,
    )
    .unwrap_err();
    assert_eq!(e.code.0, 5009);
    assert_eq!(e.failed_avp.unwrap(), wire(&gw(12)));
}

#[test]
fn two_types_inside_subscription_id_are_5009() {
    let mut b = common::gx_ccr_initial();
    let extra = AvpBuf::enumerated(450, 0).mandatory();
    b.avps[7] = AvpBuf::grouped(
        443,
        vec![
            AvpBuf::enumerated(450, 1).mandatory(),
            AvpBuf::utf8(444, "001010123456789").mandatory(),
            extra.clone(),
        ],
    )
    .mandatory();
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5009);
    assert_eq!(e.failed_avp.unwrap(), wire(&extra));
}

#[test]
fn destination_host_in_an_answer_is_5008() {
    // RFC 6733 §6.5: Destination-Host MUST NOT be present in answer messages.
    let dh = AvpBuf::identity(avp::DESTINATION_HOST, "pgw.visited.example").mandatory();
    let e = check(&common::gx_cca_initial().avp(dh.clone()), Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_AVP_NOT_ALLOWED);
    assert_eq!(e.failed_avp.unwrap(), wire(&dh));
    // The same in an E-bit answer, checked against the answer-message CCF.
    let dr = AvpBuf::identity(avp::DESTINATION_REALM, "visited.example").mandatory();
    let err = MessageBuilder {
        flags: 0x60,
        ..MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
    }
    .avp(AvpBuf::identity(avp::ORIGIN_HOST, "vpcrf.visited.example").mandatory())
    .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
    .avp(AvpBuf::u32(avp::RESULT_CODE, 3002).mandatory());
    check(&err, Role::Endpoint).unwrap();
    let e = check(&err.avp(dr.clone()), Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5008);
    assert_eq!(e.failed_avp.unwrap(), wire(&dr));
}

#[test]
fn a_known_avp_outside_a_closed_grammar_is_5008_and_the_answer_carries_it() {
    // Vendor-Specific-Application-Id ::= { Vendor-Id } [ Auth-Application-Id ]
    // [ Acct-Application-Id ] (RFC 6733 §6.11): no *[ AVP ].
    let stray = AvpBuf::u32(avp::ORIGIN_STATE_ID, 7).mandatory();
    let vsai = AvpBuf::grouped(
        avp::VENDOR_SPECIFIC_APPLICATION_ID,
        vec![
            AvpBuf::u32(avp::VENDOR_ID, VENDOR_3GPP).mandatory(),
            AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory(),
            stray.clone(),
        ],
    )
    .mandatory();
    let b = cer().avp(vsai);
    let e = check(&b, Role::Endpoint).unwrap_err();
    assert_eq!(e.code, ResultCode::DIAMETER_AVP_NOT_ALLOWED);
    assert_eq!(e.failed_avp.clone().unwrap(), wire(&stray));
    assert_eq!(failed_avp_of_answer(&b, &e), wire(&stray));
}

#[test]
fn an_avp_with_maximum_zero_is_5008_in_a_site_grammar() {
    let mut d = Dictionary::standard().clone();
    d.load_str(
        "site.dict",
        "command 272 16777238 R CCR Credit-Control-Request P <Session-Id> {Origin-Host} *0[User-Name] *[AVP]\n",
    )
    .unwrap_err(); // defined twice: a site cannot silently replace a standard command
    d.load_str(
        "site.dict",
        "application 99 Lab\ncommand 1 99 R LBR Lab-Request P <Session-Id> {Origin-Host} *0[User-Name] *[AVP]\n",
    )
    .unwrap();
    let user = AvpBuf::utf8(1, "alice").mandatory();
    let b = MessageBuilder::request(1, 99)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "a;1").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "a.example").mandatory())
        .avp(user.clone());
    let bytes = b.encode().unwrap();
    let m = Message::decode(&bytes).unwrap();
    let e = validate(&m, &d, Role::Endpoint).unwrap_err();
    assert_eq!(e.code.0, 5008);
    assert_eq!(e.failed_avp.unwrap(), wire(&user));
}

#[test]
fn unknown_avp_without_m_bit_is_kept_byte_for_byte_by_an_agent() {
    let odd = AvpBuf::utf8(4242, "S1").vendor(VENDOR_3GPP);
    let b = common::gx_ccr_initial().avp(odd.clone());
    let bytes = b.encode().unwrap();
    let m = Message::decode(&bytes).unwrap();
    validate(&m, Dictionary::standard(), Role::Agent).unwrap();
    let fwd = corelab_diameter::relay::forward_request(&m, 9, "vdra.visited.example").unwrap();
    let out = Message::decode(&fwd).unwrap();
    let kept = out.find(4242, VENDOR_3GPP).unwrap();
    assert_eq!(kept.raw(), &odd.to_bytes().unwrap()[..]);
    // Also inside a closed grammar (Subscription-Id): ignored, not 5008.
    let mut b = common::gx_ccr_initial();
    b.avps[7] = AvpBuf::grouped(
        443,
        vec![
            AvpBuf::enumerated(450, 1).mandatory(),
            AvpBuf::utf8(444, "001010123456789").mandatory(),
            odd,
        ],
    )
    .mandatory();
    check(&b, Role::Endpoint).unwrap();
    check(&b, Role::Agent).unwrap();
}
