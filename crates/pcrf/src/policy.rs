//! The PCRF's minimal but real policy (pure: builds AVPs, no IO).
//!
//! - IP-CAN session establishment (Gx CCA-I, TS 29.212 §4.5.1): the default PCC rule
//!   (Charging-Rule-Install with one Charging-Rule-Definition: name, Rating-Group, Precedence),
//!   the APN-AMBR (QoS-Information with APN-Aggregate-Max-Bitrate-UL/-DL, §4.5.5.7) and the
//!   default bearer's QoS (Default-EPS-Bearer-QoS: QCI and ARP, §4.5.5.8).
//! - Gateway control session establishment (Gxx CCA-I, §4a.5.1): the same APN-AMBR and default
//!   bearer QoS (the BBERF gets QoS rules, not charging rules; no QoS rule is installed here).
//! - An AF session (Rx AAR, TS 29.214 §4.4.1): a dynamic PCC rule per session for its media
//!   component, installed on the PCEF with a Gx RAR (§4.5.2) and removed with a RAR when the AF
//!   session ends.

use corelab_diameter::AvpBuf;
use corelab_diameter::codes::VENDOR_3GPP;

use crate::config::PolicySection;

const CHARGING_RULE_INSTALL: u32 = 1001;
const CHARGING_RULE_REMOVE: u32 = 1002;
const CHARGING_RULE_DEFINITION: u32 = 1003;
const CHARGING_RULE_NAME: u32 = 1005;
const PRECEDENCE: u32 = 1010;
const QOS_INFORMATION: u32 = 1016;
const QOS_CLASS_IDENTIFIER: u32 = 1028;
const ALLOCATION_RETENTION_PRIORITY: u32 = 1034;
const APN_AMBR_DL: u32 = 1040;
const APN_AMBR_UL: u32 = 1041;
const PRIORITY_LEVEL: u32 = 1046;
const PRE_EMPTION_CAPABILITY: u32 = 1047;
const PRE_EMPTION_VULNERABILITY: u32 = 1048;
const DEFAULT_EPS_BEARER_QOS: u32 = 1049;
/// Rating-Group (RFC 4006 §8.29, IETF).
const RATING_GROUP: u32 = 432;
/// Precedence of the default rule (lower wins; the media rules come first).
const DEFAULT_PRECEDENCE: u32 = 1000;
const MEDIA_PRECEDENCE: u32 = 100;

fn g3(code: u32, avps: Vec<AvpBuf>) -> AvpBuf {
    AvpBuf::grouped(code, avps).vendor(VENDOR_3GPP).mandatory()
}

fn u3(code: u32, v: u32) -> AvpBuf {
    AvpBuf::u32(code, v).vendor(VENDOR_3GPP).mandatory()
}

fn arp(p: &PolicySection) -> AvpBuf {
    AvpBuf::grouped(
        ALLOCATION_RETENTION_PRIORITY,
        vec![
            AvpBuf::u32(PRIORITY_LEVEL, p.arp_priority).vendor(VENDOR_3GPP),
            // PRE-EMPTION_CAPABILITY_DISABLED, PRE-EMPTION_VULNERABILITY_ENABLED.
            AvpBuf::enumerated(PRE_EMPTION_CAPABILITY, 1).vendor(VENDOR_3GPP),
            AvpBuf::enumerated(PRE_EMPTION_VULNERABILITY, 0).vendor(VENDOR_3GPP),
        ],
    )
    .vendor(VENDOR_3GPP)
}

/// QoS-Information with the APN-AMBR (TS 29.212 §5.3.16).
pub fn apn_ambr(p: &PolicySection) -> AvpBuf {
    g3(
        QOS_INFORMATION,
        vec![
            AvpBuf::u32(APN_AMBR_UL, p.apn_ambr_ul).vendor(VENDOR_3GPP),
            AvpBuf::u32(APN_AMBR_DL, p.apn_ambr_dl).vendor(VENDOR_3GPP),
        ],
    )
}

/// Default-EPS-Bearer-QoS: QCI and ARP of the default bearer (TS 29.212 §5.3.48).
pub fn default_bearer_qos(p: &PolicySection) -> AvpBuf {
    AvpBuf::grouped(
        DEFAULT_EPS_BEARER_QOS,
        vec![
            AvpBuf::enumerated(QOS_CLASS_IDENTIFIER, p.default_qci as i32)
                .vendor(VENDOR_3GPP)
                .mandatory(),
            arp(p),
        ],
    )
    .vendor(VENDOR_3GPP)
}

/// Charging-Rule-Install of the default PCC rule (TS 29.212 §5.3.2, §5.3.4).
pub fn default_rule(p: &PolicySection) -> AvpBuf {
    g3(
        CHARGING_RULE_INSTALL,
        vec![g3(
            CHARGING_RULE_DEFINITION,
            vec![
                AvpBuf::octets(CHARGING_RULE_NAME, p.default_rule.as_bytes())
                    .vendor(VENDOR_3GPP)
                    .mandatory(),
                AvpBuf::u32(RATING_GROUP, p.rating_group).mandatory(),
                u3(PRECEDENCE, DEFAULT_PRECEDENCE),
            ],
        )],
    )
}

/// What a Gx or Gxx CCA-I carries.
pub fn establishment(p: &PolicySection, gx: bool) -> Vec<AvpBuf> {
    let mut v = Vec::with_capacity(3);
    if gx {
        v.push(default_rule(p));
    }
    v.push(apn_ambr(p));
    v.push(default_bearer_qos(p));
    v
}

/// The name of the PCC rule of an AF session's media component (one per Rx session).
pub fn media_rule_name(rx_session_id: &str) -> String {
    format!("af:{rx_session_id}")
}

/// Charging-Rule-Install of the media component's dynamic rule (QCI `media_qci`).
pub fn media_rule_install(p: &PolicySection, rx_session_id: &str) -> AvpBuf {
    g3(
        CHARGING_RULE_INSTALL,
        vec![g3(
            CHARGING_RULE_DEFINITION,
            vec![
                AvpBuf::octets(
                    CHARGING_RULE_NAME,
                    media_rule_name(rx_session_id).as_bytes(),
                )
                .vendor(VENDOR_3GPP)
                .mandatory(),
                u3(PRECEDENCE, MEDIA_PRECEDENCE),
                g3(
                    QOS_INFORMATION,
                    vec![
                        AvpBuf::enumerated(QOS_CLASS_IDENTIFIER, p.media_qci as i32)
                            .vendor(VENDOR_3GPP)
                            .mandatory(),
                        arp(p),
                    ],
                ),
            ],
        )],
    )
}

/// Charging-Rule-Remove of the media component's rule.
pub fn media_rule_remove(rx_session_id: &str) -> AvpBuf {
    g3(
        CHARGING_RULE_REMOVE,
        vec![
            AvpBuf::octets(
                CHARGING_RULE_NAME,
                media_rule_name(rx_session_id).as_bytes(),
            )
            .vendor(VENDOR_3GPP)
            .mandatory(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PcrfConfig;
    use corelab_diameter::codes::{app, avp, cmd};
    use corelab_diameter::{Dictionary, Message, MessageBuilder, ResultCode, Role, validate};

    #[test]
    fn a_gx_cca_i_with_the_default_rule_and_qos_validates_against_ts_29_212() {
        let p = PcrfConfig::defaults().policy;
        let req = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
            .proxiable()
            .encode()
            .unwrap();
        let header = *Message::decode(&req).unwrap().header();
        let mut b = MessageBuilder::answer_to(&header)
            .avp(AvpBuf::utf8(avp::SESSION_ID, "pcef;1").mandatory())
            .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, "pcrf.lab").mandatory())
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "lab").mandatory())
            .avp(AvpBuf::u32(avp::RESULT_CODE, ResultCode::DIAMETER_SUCCESS.0).mandatory())
            .avp(AvpBuf::enumerated(416, 1).mandatory())
            .avp(AvpBuf::u32(415, 0).mandatory());
        for a in establishment(&p, true) {
            b.push(a);
        }
        b.push(media_rule_install(&p, "af;1"));
        let bytes = b.encode().unwrap();
        let msg = Message::decode(&bytes).unwrap();
        validate(&msg, Dictionary::standard(), Role::Endpoint).unwrap();
        let install = msg.find(CHARGING_RULE_INSTALL, VENDOR_3GPP).unwrap();
        let def = install
            .as_grouped()
            .unwrap()
            .get(CHARGING_RULE_DEFINITION, VENDOR_3GPP)
            .unwrap();
        let name = def
            .as_grouped()
            .unwrap()
            .get(CHARGING_RULE_NAME, VENDOR_3GPP)
            .unwrap();
        assert_eq!(name.data(), b"default");
        let qos = msg.find(DEFAULT_EPS_BEARER_QOS, VENDOR_3GPP).unwrap();
        let qci = qos
            .as_grouped()
            .unwrap()
            .get(QOS_CLASS_IDENTIFIER, VENDOR_3GPP)
            .unwrap();
        assert_eq!(qci.as_u32().unwrap(), 9);
    }

    #[test]
    fn gxx_gets_qos_without_charging_rules() {
        let p = PcrfConfig::defaults().policy;
        assert_eq!(establishment(&p, false).len(), 2);
        assert_eq!(establishment(&p, true).len(), 3);
    }
}
