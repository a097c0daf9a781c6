//! Cross-decoding with an independent implementation, the `diameter` crate
//! (diameter-rs 0.7.1): it decodes the Gx CCA we encode, we decode the Gx CCR
//! it encodes, and each side re-encodes the other's message byte for byte.
//!
//! diameter-rs refuses AVPs missing from its dictionary and its default
//! dictionary (RFC 4006 credit control plus some Ro/Rf AVPs) has no Gx AVPs, so
//! the Gx AVPs used here are loaded through its dictionary-XML mechanism
//! (`Dictionary::new(&[DEFAULT_DICT_XML, GX_XML])`), written by hand from
//! TS 29.212 §5.3 and RFC 7155, not generated from our `dict/` files.

mod common;

use std::io::Cursor;
use std::net::Ipv4Addr;
use std::sync::Arc;

use corelab_diameter::codes::{VENDOR_3GPP, app, avp};
use corelab_diameter::{Dictionary, Message, MessageBuilder, ResultCode, Role, RoutingView};
use diameter::avp::address::Value as AddrValue;
use diameter::avp::{
    Address, Avp, AvpValue, Enumerated, Grouped, Identity, OctetString, UTF8String, Unsigned32,
};
use diameter::dictionary::{self, Dictionary as RsDictionary};
use diameter::{ApplicationId, CommandCode, DiameterMessage, flags};

/// Gx AVPs (TS 29.212 §5.3, vendor 10415) and the RFC 7155 ones Gx uses,
/// in diameter-rs's dictionary XML.
const GX_XML: &str = r#"
<diameter>
  <application id="16777238" type="auth" name="Gx">
    <avp name="Framed-IP-Address" code="8" must="M" may="P" must-not="V" may-encrypt="Y"><data type="OctetString"/></avp>
    <avp name="Called-Station-Id" code="30" must="M" may="P" must-not="V" may-encrypt="Y"><data type="UTF8String"/></avp>
    <avp name="Flow-Description" code="507" must="M,V" vendor-id="10415"><data type="OctetString"/></avp>
    <avp name="Charging-Rule-Install" code="1001" must="M,V" vendor-id="10415"><data type="Grouped"/></avp>
    <avp name="Charging-Rule-Definition" code="1003" must="M,V" vendor-id="10415"><data type="Grouped"/></avp>
    <avp name="Charging-Rule-Name" code="1005" must="M,V" vendor-id="10415"><data type="OctetString"/></avp>
    <avp name="Event-Trigger" code="1006" must="M,V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="Precedence" code="1010" must="M,V" vendor-id="10415"><data type="Unsigned32"/></avp>
    <avp name="QoS-Information" code="1016" must="M,V" vendor-id="10415"><data type="Grouped"/></avp>
    <avp name="IP-CAN-Type" code="1027" must="M,V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="QoS-Class-Identifier" code="1028" must="M,V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="RAT-Type" code="1032" must="V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="Allocation-Retention-Priority" code="1034" must="V" vendor-id="10415"><data type="Grouped"/></avp>
    <avp name="APN-Aggregate-Max-Bitrate-DL" code="1040" must="V" vendor-id="10415"><data type="Unsigned32"/></avp>
    <avp name="APN-Aggregate-Max-Bitrate-UL" code="1041" must="V" vendor-id="10415"><data type="Unsigned32"/></avp>
    <avp name="Priority-Level" code="1046" must="V" vendor-id="10415"><data type="Unsigned32"/></avp>
    <avp name="Pre-emption-Capability" code="1047" must="V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="Pre-emption-Vulnerability" code="1048" must="V" vendor-id="10415"><data type="Enumerated"/></avp>
    <avp name="Default-EPS-Bearer-QoS" code="1049" must="V" vendor-id="10415"><data type="Grouped"/></avp>
    <avp name="AN-GW-Address" code="1050" must="V" vendor-id="10415"><data type="Address"/></avp>
    <avp name="Flow-Information" code="1058" must="V" vendor-id="10415"><data type="Grouped"/></avp>
  </application>
</diameter>
"#;

fn rs_dict() -> Arc<RsDictionary> {
    Arc::new(RsDictionary::new(&[&dictionary::DEFAULT_DICT_XML, GX_XML]))
}

/// (code, vendor) of each AVP of a diameter-rs level, depth first.
fn rs_shape(avps: &[Avp], out: &mut Vec<(u32, u32)>) {
    for a in avps {
        out.push((a.get_code(), a.get_vendor_id().unwrap_or(0)));
        if let Some(g) = a.get_grouped() {
            rs_shape(g.avps(), out);
        }
    }
}

/// The same for one of our levels.
fn our_shape(avps: corelab_diameter::Avps<'_>, out: &mut Vec<(u32, u32)>) {
    let dict = Dictionary::standard();
    for a in avps {
        out.push((a.code(), a.vendor_id()));
        let grouped = dict
            .avp(a.code(), a.vendor_id())
            .is_some_and(|d| d.ty == corelab_diameter::AvpType::Grouped);
        if grouped {
            our_shape(a.as_grouped().unwrap(), out);
        }
    }
}

fn rs_find(avps: &[Avp], code: u32) -> &Avp {
    avps.iter()
        .find(|a| a.get_code() == code)
        .unwrap_or_else(|| panic!("AVP {code} missing"))
}

#[test]
fn diameter_rs_decodes_our_gx_cca() {
    let ours = common::gx_cca_initial().encode().unwrap();
    let m = DiameterMessage::decode_from(&mut Cursor::new(&ours), rs_dict()).unwrap();

    // Header.
    assert_eq!(m.get_command_code(), CommandCode::CreditControl);
    assert_eq!(m.get_application_id(), ApplicationId::Gx);
    assert_eq!(m.get_flags(), flags::PROXYABLE, "answer: R clear, P set");
    assert_eq!(m.get_hop_by_hop_id(), 0x0000_0101);
    assert_eq!(m.get_end_to_end_id(), 0x5eed_0001);
    assert_eq!(m.get_length() as usize, ours.len());

    // Values.
    let avps = m.get_avps();
    let sid = rs_find(avps, avp::SESSION_ID).get_utf8string().unwrap();
    assert_eq!(sid.value(), "pgw.visited.example;1700000000;1");
    let rc = rs_find(avps, avp::RESULT_CODE).get_unsigned32().unwrap();
    assert_eq!(rc, ResultCode::DIAMETER_SUCCESS.0);
    let oh = rs_find(avps, avp::ORIGIN_HOST).get_identity().unwrap();
    assert_eq!(oh.value(), "vpcrf.visited.example");
    assert_eq!(rs_find(avps, 416).get_enumerated().unwrap().value(), 1);
    assert_eq!(rs_find(avps, 415).get_unsigned32(), Some(0));
    let et = rs_find(avps, 1006);
    assert_eq!(et.get_vendor_id(), Some(VENDOR_3GPP));
    assert_eq!(et.get_enumerated().unwrap().value(), 13);
    let install = rs_find(avps, 1001).get_grouped().unwrap();
    let def = rs_find(install.avps(), 1003).get_grouped().unwrap();
    let name = rs_find(def.avps(), 1005).get_octetstring().unwrap();
    assert_eq!(name.value(), b"default-internet");
    assert_eq!(rs_find(def.avps(), 1010).get_unsigned32(), Some(255));

    // Same AVPs, same order, same vendors, at every level.
    let (mut theirs, mut mine) = (Vec::new(), Vec::new());
    rs_shape(avps, &mut theirs);
    our_shape(Message::decode(&ours).unwrap().avps(), &mut mine);
    assert_eq!(avps.len(), 9);
    assert_eq!(theirs, mine);

    // And it writes back exactly our bytes.
    let mut again = Vec::new();
    m.encode_to(&mut again).unwrap();
    assert_eq!(again, ours);
}

/// A Gx CCR-I built with diameter-rs's own builder.
fn rs_gx_ccr() -> Vec<u8> {
    let dict = rs_dict();
    let mut ccr = DiameterMessage::new(
        CommandCode::CreditControl,
        ApplicationId::Gx,
        flags::REQUEST | flags::PROXYABLE,
        0x0bad_cafe,
        0x5eed_0042,
        Arc::clone(&dict),
    );
    const M: u8 = diameter::avp::flags::M;
    let v = Some(VENDOR_3GPP);
    ccr.add_avp(263, None, M, UTF8String::new("pcef.rs.example;42;7").into());
    ccr.add_avp(258, None, M, Unsigned32::new(app::GX).into());
    ccr.add_avp(264, None, M, Identity::new("pcef.rs.example").into());
    ccr.add_avp(296, None, M, Identity::new("rs.example").into());
    ccr.add_avp(283, None, M, Identity::new("home.example").into());
    ccr.add_avp(293, None, M, Identity::new("pcrf.home.example").into());
    ccr.add_avp(416, None, M, Enumerated::new(1).into());
    ccr.add_avp(415, None, M, Unsigned32::new(0).into());
    let mut sub = Grouped::new(vec![], Arc::clone(&dict));
    sub.add_avp(450, None, M, Enumerated::new(1).into());
    sub.add_avp(444, None, M, UTF8String::new("001010000000042").into());
    ccr.add_avp(443, None, M, AvpValue::Grouped(sub));
    ccr.add_avp(1027, v, M, Enumerated::new(5).into());
    ccr.add_avp(1032, v, 0, Enumerated::new(1004).into());
    ccr.add_avp(8, None, M, OctetString::new(vec![10, 45, 0, 42]).into());
    ccr.add_avp(30, None, M, UTF8String::new("ims").into());
    let mut qos = Grouped::new(vec![], Arc::clone(&dict));
    qos.add_avp(1041, v, 0, Unsigned32::new(1_000_000).into());
    qos.add_avp(1040, v, 0, Unsigned32::new(2_000_000).into());
    ccr.add_avp(1016, v, M, AvpValue::Grouped(qos));
    let gw = Address::new(AddrValue::IPv4(Ipv4Addr::new(192, 0, 2, 42)));
    ccr.add_avp(1050, v, 0, AvpValue::Address(gw));
    ccr.add_avp(282, None, M, Identity::new("vdra.rs.example").into());
    let mut out = Vec::new();
    ccr.encode_to(&mut out).unwrap();
    out
}

#[test]
fn we_decode_a_gx_ccr_encoded_by_diameter_rs() {
    let bytes = rs_gx_ccr();
    let m = Message::decode(&bytes).unwrap();
    let h = m.header();
    assert_eq!((h.version, h.length as usize), (1, bytes.len()));
    assert!(h.is_request() && h.is_proxiable() && !h.is_error());
    assert_eq!((h.command_code, h.application_id), (272, app::GX));
    assert_eq!((h.hop_by_hop, h.end_to_end), (0x0bad_cafe, 0x5eed_0042));
    assert_eq!(m.session_id(), Some("pcef.rs.example;42;7"));
    assert_eq!(m.result_code(), None, "a request has no Result-Code");
    assert_eq!(m.avps().count(), 16);
    assert_eq!(m.find(416, 0).unwrap().as_i32().unwrap(), 1);
    assert_eq!(m.find(415, 0).unwrap().as_u32().unwrap(), 0);
    assert_eq!(m.find(1032, VENDOR_3GPP).unwrap().as_i32().unwrap(), 1004);
    let sub = m.find(443, 0).unwrap().as_grouped().unwrap();
    assert_eq!(
        sub.get(444, 0).unwrap().as_utf8().unwrap(),
        "001010000000042"
    );
    let qos = m.find(1016, VENDOR_3GPP).unwrap().as_grouped().unwrap();
    assert_eq!(
        qos.get(1040, VENDOR_3GPP).unwrap().as_u32().unwrap(),
        2_000_000
    );
    assert_eq!(
        m.find(1050, VENDOR_3GPP).unwrap().as_address().unwrap(),
        corelab_diameter::Address::V4(Ipv4Addr::new(192, 0, 2, 42))
    );
    corelab_diameter::validate(&m, Dictionary::standard(), Role::Endpoint).unwrap();

    let view = RoutingView::new(&m);
    assert_eq!(view.destination_realm_str(), Some("home.example"));
    assert_eq!(view.destination_host_str(), Some("pcrf.home.example"));
    assert!(view.has_looped_through("vdra.rs.example"));

    // Same AVP shape as diameter-rs sees it, and our re-encode is byte-identical.
    let rs = DiameterMessage::decode_from(&mut Cursor::new(&bytes), rs_dict()).unwrap();
    let (mut theirs, mut mine) = (Vec::new(), Vec::new());
    rs_shape(rs.get_avps(), &mut theirs);
    our_shape(m.avps(), &mut mine);
    assert_eq!(theirs, mine);
    assert_eq!(MessageBuilder::from_message(&m).encode().unwrap(), bytes);
}
