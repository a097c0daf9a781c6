//! Messages built in the standards' words, shared by the tests and benches.
#![allow(dead_code)]

use corelab_diameter::codes::{VENDOR_3GPP, app, avp, cmd};
use corelab_diameter::{Address, AvpBuf, MessageBuilder};
use std::net::Ipv4Addr;

/// A Gx CCR-I from a PCEF (TS 29.212 §4.5.1, CCF §5.6.2).
pub fn gx_ccr_initial() -> MessageBuilder {
    MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
        .proxiable()
        .ids(0x0000_0101, 0x5eed_0001)
        .avp(AvpBuf::utf8(avp::SESSION_ID, "pgw.visited.example;1700000000;1").mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pgw.visited.example").mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, "visited.example").mandatory())
        .avp(AvpBuf::enumerated(416, 1).mandatory()) // CC-Request-Type INITIAL_REQUEST
        .avp(AvpBuf::u32(415, 0).mandatory()) // CC-Request-Number
        .avp(
            AvpBuf::grouped(
                443, // Subscription-Id
                vec![
                    AvpBuf::enumerated(450, 1).mandatory(), // END_USER_IMSI
                    AvpBuf::utf8(444, "001010123456789").mandatory(),
                ],
            )
            .mandatory(),
        )
        .avp(AvpBuf::octets(8, &[10, 45, 0, 7]).mandatory()) // Framed-IP-Address
        .avp(AvpBuf::enumerated(1027, 5).vendor(VENDOR_3GPP).mandatory()) // IP-CAN-Type 3GPP-EPS
        .avp(AvpBuf::enumerated(1032, 1004).vendor(VENDOR_3GPP)) // RAT-Type EUTRAN
        .avp(AvpBuf::utf8(30, "internet").mandatory()) // Called-Station-Id (APN)
        .avp(
            AvpBuf::grouped(
                1016, // QoS-Information
                vec![
                    AvpBuf::u32(1041, 50_000_000).vendor(VENDOR_3GPP),
                    AvpBuf::u32(1040, 100_000_000).vendor(VENDOR_3GPP),
                ],
            )
            .vendor(VENDOR_3GPP)
            .mandatory(),
        )
        .avp(
            AvpBuf::grouped(
                1049, // Default-EPS-Bearer-QoS
                vec![
                    AvpBuf::enumerated(1028, 9).vendor(VENDOR_3GPP).mandatory(),
                    AvpBuf::grouped(
                        1034,
                        vec![
                            AvpBuf::u32(1046, 8).vendor(VENDOR_3GPP),
                            AvpBuf::enumerated(1047, 1).vendor(VENDOR_3GPP),
                            AvpBuf::enumerated(1048, 0).vendor(VENDOR_3GPP),
                        ],
                    )
                    .vendor(VENDOR_3GPP),
                ],
            )
            .vendor(VENDOR_3GPP),
        )
        .avp(AvpBuf::address(1050, &Address::V4(Ipv4Addr::new(192, 0, 2, 10))).vendor(VENDOR_3GPP))
        .avp(AvpBuf::identity(avp::ROUTE_RECORD, "vdra.visited.example").mandatory())
}

/// The Gx CCA-I a PCRF returns: success plus one installed rule.
pub fn gx_cca_initial() -> MessageBuilder {
    MessageBuilder {
        flags: 0x40,
        ..MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
    }
    .ids(0x0000_0101, 0x5eed_0001)
    .avp(AvpBuf::utf8(avp::SESSION_ID, "pgw.visited.example;1700000000;1").mandatory())
    .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
    .avp(AvpBuf::identity(avp::ORIGIN_HOST, "vpcrf.visited.example").mandatory())
    .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.example").mandatory())
    .avp(AvpBuf::u32(avp::RESULT_CODE, 2001).mandatory())
    .avp(AvpBuf::enumerated(416, 1).mandatory())
    .avp(AvpBuf::u32(415, 0).mandatory())
    .avp(AvpBuf::enumerated(1006, 13).vendor(VENDOR_3GPP).mandatory())
    .avp(
        AvpBuf::grouped(
            1001,
            vec![
                AvpBuf::grouped(
                    1003,
                    vec![
                        AvpBuf::octets(1005, b"default-internet")
                            .vendor(VENDOR_3GPP)
                            .mandatory(),
                        AvpBuf::u32(1010, 255).vendor(VENDOR_3GPP).mandatory(),
                        AvpBuf::grouped(
                            1058,
                            vec![
                                AvpBuf::utf8(507, "permit out ip from any to any")
                                    .vendor(VENDOR_3GPP)
                                    .mandatory(),
                            ],
                        )
                        .vendor(VENDOR_3GPP),
                    ],
                )
                .vendor(VENDOR_3GPP)
                .mandatory(),
            ],
        )
        .vendor(VENDOR_3GPP)
        .mandatory(),
    )
}
