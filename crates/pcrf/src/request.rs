//! What the PCRF reads from a request (pure, no IO): the interface, the CC-Request-Type, the UE's
//! keys (Subscription-Id-Data, Framed-IP-Address, Called-Station-Id), and on S9 the
//! subsessions (TS 29.215 §5.3: Subsession-Enforcement-Info with Subsession-Id and
//! Subsession-Operation) and the Corelab-Client-Session-Id values (docs/dra.md).

use std::net::Ipv4Addr;

use corelab_diameter::codes::{VENDOR_3GPP, VENDOR_IETF, app, avp};
use corelab_diameter::{Avps, Message};

pub const FRAMED_IP_ADDRESS: u32 = 8;
pub const CALLED_STATION_ID: u32 = 30;
pub const CC_REQUEST_TYPE: u32 = 416;
pub const CC_REQUEST_NUMBER: u32 = 415;
pub const SUBSCRIPTION_ID: u32 = 443;
pub const SUBSCRIPTION_ID_DATA: u32 = 444;
pub const SUBSCRIPTION_ID_TYPE: u32 = 450;
pub const SUBSESSION_ENFORCEMENT_INFO: u32 = 2201;
pub const SUBSESSION_DECISION_INFO: u32 = 2200;
pub const SUBSESSION_ID: u32 = 2202;
pub const SUBSESSION_OPERATION: u32 = 2203;
/// The lab vendor (IANA PEN 32473, RFC 5612) and its Corelab-Client-Session-Id (code 1).
pub const VENDOR_CORELAB: u32 = 32473;
pub const CLIENT_SESSION_ID: u32 = 1;

/// CC-Request-Type (RFC 4006 §8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CcRequestType {
    Initial = 1,
    Update = 2,
    Termination = 3,
    Event = 4,
}

impl CcRequestType {
    pub fn from_u32(v: u32) -> Option<CcRequestType> {
        match v {
            1 => Some(CcRequestType::Initial),
            2 => Some(CcRequestType::Update),
            3 => Some(CcRequestType::Termination),
            4 => Some(CcRequestType::Event),
            _ => None,
        }
    }
}

/// Subsession-Operation (TS 29.215 §5.3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubsessionOperation {
    Termination = 0,
    Establishment = 1,
    Modification = 2,
}

/// One Subsession-Enforcement-Info of an S9 CCR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subsession {
    pub id: u32,
    pub operation: SubsessionOperation,
}

/// The interface of a request, by its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    Gx,
    Gxx,
    Rx,
    S9,
}

impl Interface {
    pub fn of(application_id: u32) -> Option<Interface> {
        match application_id {
            app::GX => Some(Interface::Gx),
            app::GXX => Some(Interface::Gxx),
            app::RX => Some(Interface::Rx),
            app::S9 => Some(Interface::S9),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Interface::Gx => "gx",
            Interface::Gxx => "gxx",
            Interface::Rx => "rx",
            Interface::S9 => "s9",
        }
    }

    pub fn application_id(self) -> u32 {
        match self {
            Interface::Gx => app::GX,
            Interface::Gxx => app::GXX,
            Interface::Rx => app::RX,
            Interface::S9 => app::S9,
        }
    }
}

/// The UE's keys: empty strings where absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UeKeys {
    pub nai: String,
    pub ipv4: String,
    pub apn: String,
}

/// The parts of a validated request the PCRF acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrfRequest {
    pub interface: Interface,
    pub session_id: String,
    pub origin_host: String,
    pub origin_realm: String,
    pub cc_request_type: Option<CcRequestType>,
    pub cc_request_number: u32,
    pub keys: UeKeys,
    pub subsessions: Vec<Subsession>,
    pub client_session_ids: Vec<String>,
}

impl PcrfRequest {
    /// Reads a validated request; `None` when it is not of a PCC application or has no
    /// Session-Id/Origin-Host (the node's validation answers those first).
    pub fn read(msg: &Message<'_>) -> Option<PcrfRequest> {
        let interface = Interface::of(msg.header().application_id)?;
        let avps = msg.avps();
        let text = |code: u32| {
            avps.get(code, VENDOR_IETF)
                .and_then(|a| a.as_utf8().ok())
                .unwrap_or("")
                .to_string()
        };
        let session_id = msg.session_id()?.to_string();
        let origin_host = avps
            .get(avp::ORIGIN_HOST, VENDOR_IETF)
            .and_then(|a| a.as_identity().ok())?
            .to_string();
        let origin_realm = avps
            .get(avp::ORIGIN_REALM, VENDOR_IETF)
            .and_then(|a| a.as_identity().ok())
            .unwrap_or("")
            .to_string();
        let u32_of = |code: u32| avps.get(code, VENDOR_IETF).and_then(|a| a.as_u32().ok());
        Some(PcrfRequest {
            interface,
            session_id,
            origin_host,
            origin_realm,
            cc_request_type: u32_of(CC_REQUEST_TYPE).and_then(CcRequestType::from_u32),
            cc_request_number: u32_of(CC_REQUEST_NUMBER).unwrap_or(0),
            keys: UeKeys {
                nai: nai_of(avps),
                ipv4: avps
                    .get(FRAMED_IP_ADDRESS, VENDOR_IETF)
                    .and_then(|a| <[u8; 4]>::try_from(a.data()).ok())
                    .map(|b| Ipv4Addr::from(b).to_string())
                    .unwrap_or_default(),
                apn: text(CALLED_STATION_ID),
            },
            subsessions: subsessions_of(avps),
            client_session_ids: avps
                .get_all(CLIENT_SESSION_ID, VENDOR_CORELAB)
                .filter_map(|a| a.as_utf8().ok())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

fn nai_of(avps: Avps<'_>) -> String {
    avps.get(SUBSCRIPTION_ID, VENDOR_IETF)
        .and_then(|s| s.as_grouped().ok())
        .and_then(|g| g.get(SUBSCRIPTION_ID_DATA, VENDOR_IETF))
        .and_then(|d| d.as_utf8().ok())
        .unwrap_or("")
        .to_string()
}

fn subsessions_of(avps: Avps<'_>) -> Vec<Subsession> {
    avps.get_all(SUBSESSION_ENFORCEMENT_INFO, VENDOR_3GPP)
        .filter_map(|a| a.as_grouped().ok())
        .filter_map(|g| {
            let id = g.get(SUBSESSION_ID, VENDOR_3GPP)?.as_u32().ok()?;
            let operation = match g
                .get(SUBSESSION_OPERATION, VENDOR_3GPP)
                .and_then(|o| o.as_u32().ok())
            {
                Some(0) => SubsessionOperation::Termination,
                Some(1) => SubsessionOperation::Establishment,
                // TS 29.215 §5.3.2: absent means modification of an existing subsession.
                _ => SubsessionOperation::Modification,
            };
            Some(Subsession { id, operation })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corelab_diameter::codes::cmd;
    use corelab_diameter::{AvpBuf, MessageBuilder};

    #[test]
    fn reads_keys_subsessions_and_client_session_ids_of_an_s9_ccr() {
        let bytes = MessageBuilder::request(cmd::CREDIT_CONTROL, app::S9)
            .avp(AvpBuf::utf8(avp::SESSION_ID, "vpcrf;1;s2"))
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, "vpcrf.lab"))
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "visited.lab"))
            .avp(AvpBuf::u32(CC_REQUEST_TYPE, 2))
            .avp(AvpBuf::grouped(
                SUBSCRIPTION_ID,
                vec![AvpBuf::utf8(SUBSCRIPTION_ID_DATA, "001010000000001")],
            ))
            .avp(AvpBuf::octets(FRAMED_IP_ADDRESS, &[10, 45, 0, 17]))
            .avp(
                AvpBuf::grouped(
                    SUBSESSION_ENFORCEMENT_INFO,
                    vec![
                        AvpBuf::u32(SUBSESSION_ID, 2).vendor(VENDOR_3GPP),
                        AvpBuf::enumerated(SUBSESSION_OPERATION, 0).vendor(VENDOR_3GPP),
                    ],
                )
                .vendor(VENDOR_3GPP),
            )
            .avp(AvpBuf::utf8(CLIENT_SESSION_ID, "bberf;1").vendor(VENDOR_CORELAB))
            .encode()
            .unwrap();
        let msg = Message::decode(&bytes).unwrap();
        let r = PcrfRequest::read(&msg).unwrap();
        assert_eq!(r.interface, Interface::S9);
        assert_eq!(r.cc_request_type, Some(CcRequestType::Update));
        assert_eq!(r.keys.nai, "001010000000001");
        assert_eq!(r.keys.ipv4, "10.45.0.17");
        assert_eq!(
            r.subsessions,
            vec![Subsession {
                id: 2,
                operation: SubsessionOperation::Termination
            }]
        );
        assert_eq!(r.client_session_ids, vec!["bberf;1".to_string()]);
    }
}
