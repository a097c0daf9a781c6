use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::{AvpBuf, MessageBuilder};

use super::*;

fn ccr(application: u32, request_type: u32, extra: Vec<AvpBuf>) -> Vec<u8> {
    let mut b = MessageBuilder::request(cmd::CREDIT_CONTROL, application)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, "pcef.visited;1;s1").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pcef.visited").mandatory())
        .avp(AvpBuf::u32(CC_REQUEST_TYPE, request_type).mandatory());
    for a in extra {
        b.push(a);
    }
    b.encode().unwrap()
}

fn ue() -> Vec<AvpBuf> {
    vec![
        AvpBuf::grouped(
            SUBSCRIPTION_ID,
            vec![
                AvpBuf::enumerated(450, 1).mandatory(),
                AvpBuf::utf8(SUBSCRIPTION_ID_DATA, "001010000000001").mandatory(),
            ],
        )
        .mandatory(),
        AvpBuf::octets(FRAMED_IP_ADDRESS, &[10, 45, 0, 17]).mandatory(),
        AvpBuf::utf8(CALLED_STATION_ID, "internet").mandatory(),
    ]
}

#[test]
fn a_gx_ccr_initial_gives_the_ue_keys_of_ts_29_213() {
    let r = PccRequest::read(&ccr(app::GX, 1, ue())).unwrap();
    assert_eq!(r.interface, Interface::Gx);
    assert_eq!(r.kind, Kind::Establish);
    assert_eq!(r.session_id, "pcef.visited;1;s1");
    assert_eq!(r.origin_host, "pcef.visited");
    assert_eq!(r.keys.nai, "001010000000001");
    assert_eq!(r.keys.ipv4, "10.45.0.17");
    assert_eq!(r.keys.apn, "internet");
    assert_eq!(r.keys.identity(), "001010000000001");
}

#[test]
fn terminations_of_each_interface_are_recognised() {
    assert_eq!(
        PccRequest::read(&ccr(app::GXX, 3, vec![])).unwrap().kind,
        Kind::Terminate
    );
    assert_eq!(
        PccRequest::read(&ccr(app::GX, 2, vec![])).unwrap().kind,
        Kind::Modify
    );
    let str_ = MessageBuilder::request(cmd::SESSION_TERMINATION, app::RX)
        .avp(AvpBuf::utf8(avp::SESSION_ID, "af;1").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "af").mandatory())
        .encode()
        .unwrap();
    let r = PccRequest::read(&str_).unwrap();
    assert_eq!((r.interface, r.kind), (Interface::Rx, Kind::Terminate));
}

#[test]
fn an_s9_subsession_termination_names_the_client_sessions_it_ends() {
    let extra = vec![
        AvpBuf::grouped(
            SUBSESSION_ENFORCEMENT_INFO,
            vec![
                AvpBuf::u32(2202, 1).vendor(VENDOR_3GPP).mandatory(),
                AvpBuf::enumerated(SUBSESSION_OPERATION, 0)
                    .vendor(VENDOR_3GPP)
                    .mandatory(),
            ],
        )
        .vendor(VENDOR_3GPP)
        .mandatory(),
        AvpBuf::utf8(CLIENT_SESSION_ID, "bberf;1;s1").vendor(VENDOR_CORELAB),
    ];
    let r = PccRequest::read(&ccr(app::S9, 2, extra)).unwrap();
    assert_eq!(r.kind, Kind::TerminateSubsession);
    assert_eq!(r.client_session_ids, vec!["bberf;1;s1".to_string()]);
    assert_eq!(r.ended_sessions(), vec!["bberf;1;s1".to_string()]);
    let t = PccRequest::read(&ccr(
        app::S9,
        3,
        vec![AvpBuf::utf8(CLIENT_SESSION_ID, "bberf;1;s1").vendor(VENDOR_CORELAB)],
    ))
    .unwrap();
    assert_eq!(
        t.ended_sessions(),
        vec!["pcef.visited;1;s1".to_string(), "bberf;1;s1".to_string()]
    );
}

#[test]
fn other_applications_and_missing_avps_are_refused() {
    assert_eq!(
        PccRequest::read(&ccr(4, 1, vec![])),
        Err(NotPcc::Application)
    );
    let no_origin = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .avp(AvpBuf::utf8(avp::SESSION_ID, "x").mandatory())
        .encode()
        .unwrap();
    assert_eq!(PccRequest::read(&no_origin), Err(NotPcc::Missing));
    assert_eq!(PccRequest::read(b"garbage"), Err(NotPcc::Missing));
}

#[test]
fn the_binding_key_is_the_nai_and_apn_else_the_ip_else_the_session() {
    let mut k = UeKeys {
        nai: "001010000000001".into(),
        ipv4: "10.45.0.1".into(),
        ipv6_prefix: String::new(),
        apn: "internet".into(),
    };
    assert_eq!(k.binding_key("s1"), "nai:001010000000001;apn:internet");
    k.nai.clear();
    assert_eq!(k.binding_key("s1"), "ipv4:10.45.0.1;apn:internet");
    k.ipv4.clear();
    k.ipv6_prefix = "0040200100db8".into();
    assert_eq!(k.binding_key("s1"), "ipv6:0040200100db8;apn:internet");
    k.ipv6_prefix.clear();
    assert_eq!(k.binding_key("pcef.lab;1;1"), "session:pcef.lab;1;1");
}
