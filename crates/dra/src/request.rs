//! What the DRA reads from a PCC request (pure, no IO): the interface, the kind of request
//! (establishment, modification, termination, S9 subsession termination), the UE keys of
//! TS 29.213 §7 (UE NAI, UE IPv4 address / IPv6 prefix, APN), and the client Session-Ids a vPCRF
//! names in Corelab-Client-Session-Id (seed 003's "Session-Id 1 (and 3)").

use std::net::Ipv4Addr;

use corelab_diameter::codes::{VENDOR_3GPP, VENDOR_IETF, app, cmd};
use corelab_diameter::{Avp, Avps, Message};

/// Framed-IP-Address (RFC 7155).
const FRAMED_IP_ADDRESS: u32 = 8;
/// Called-Station-Id (RFC 7155): the APN.
const CALLED_STATION_ID: u32 = 30;
/// Framed-IPv6-Prefix (RFC 7155).
const FRAMED_IPV6_PREFIX: u32 = 97;
/// CC-Request-Type (RFC 4006 §8.3).
const CC_REQUEST_TYPE: u32 = 416;
/// Subscription-Id (RFC 4006 §8.46) and its Subscription-Id-Data (§8.48).
const SUBSCRIPTION_ID: u32 = 443;
const SUBSCRIPTION_ID_DATA: u32 = 444;
/// Subsession-Enforcement-Info and Subsession-Operation (TS 29.215 §5.3.2, §5.3.5).
const SUBSESSION_ENFORCEMENT_INFO: u32 = 2201;
const SUBSESSION_OPERATION: u32 = 2203;
/// Subsession-Operation TERMINATION (TS 29.215 §5.3.5).
const SUBSESSION_TERMINATION: u32 = 0;

/// The lab vendor (IANA PEN 32473, reserved for documentation by RFC 5612): `dict/corelab.dict`.
pub const VENDOR_CORELAB: u32 = 32473;
/// Corelab-Client-Session-Id (vendor 32473, code 1, UTF8String, M bit clear).
pub const CLIENT_SESSION_ID: u32 = 1;

/// The PCC interface of a request, by its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// Gx, TS 29.212 (PCEF).
    Gx,
    /// Gxx (Gxa/Gxc), TS 29.212 §4a (BBERF).
    Gxx,
    /// Rx, TS 29.214 (AF).
    Rx,
    /// S9, TS 29.215 (vPCRF towards home).
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
}

/// What the request does to its Diameter session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// CCR-Initial (Gx, Gxx, S9), or an AAR (Rx; initial when its Session-Id is new).
    Establish,
    /// CCR-Update, CCR-Event, any other request of the session.
    Modify,
    /// The session ends: CCR-Termination (Gx IP-CAN session termination, Gxx gateway control
    /// session termination, S9 session termination), STR (Rx AF session termination).
    Terminate,
    /// An S9 CCR-Update carrying Subsession-Enforcement-Info with Subsession-Operation
    /// TERMINATION: a client session under the S9 session ends, the S9 session lives on.
    TerminateSubsession,
}

/// The UE keys of a binding (TS 29.213 §7): empty strings where absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UeKeys {
    /// Subscription-Id-Data of the first Subscription-Id (the UE's NAI, IMSI or MSISDN).
    pub nai: String,
    /// Framed-IP-Address, dotted.
    pub ipv4: String,
    /// Framed-IPv6-Prefix, the AVP data in hex.
    pub ipv6_prefix: String,
    /// Called-Station-Id.
    pub apn: String,
}

impl UeKeys {
    pub fn is_empty(&self) -> bool {
        self.nai.is_empty() && self.ipv4.is_empty() && self.ipv6_prefix.is_empty()
    }

    /// The identity the PCRF is chosen by: NAI, else IPv4, else IPv6 prefix.
    pub fn identity(&self) -> &str {
        [&self.nai, &self.ipv4, &self.ipv6_prefix]
            .into_iter()
            .find(|k| !k.is_empty())
            .map_or("", |k| k.as_str())
    }
    /// The key a new binding is created under, unique in the store (`dra_bindings.ue_key`), so
    /// that two first establishments of one IP-CAN session arriving at once (at two DRAs of a
    /// mated pair) make one binding: the NAI and APN (an IP-CAN session is one UE's to one APN,
    /// the same pair the lookup by NAI joins), else the IPv4 address and APN, else the IPv6
    /// prefix and APN, else the request's own Session-Id (no key to share).
    pub fn binding_key(&self, session_id: &str) -> String {
        let apn = &self.apn;
        if !self.nai.is_empty() {
            format!("nai:{};apn:{apn}", self.nai)
        } else if !self.ipv4.is_empty() {
            format!("ipv4:{};apn:{apn}", self.ipv4)
        } else if !self.ipv6_prefix.is_empty() {
            format!("ipv6:{};apn:{apn}", self.ipv6_prefix)
        } else {
            format!("session:{session_id}")
        }
    }
}

/// A PCC request as the DRA sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PccRequest {
    pub interface: Interface,
    pub application_id: u32,
    pub session_id: String,
    pub origin_host: String,
    pub kind: Kind,
    pub keys: UeKeys,
    /// Corelab-Client-Session-Id values (S9 towards the hDRA): client Session-Ids 1 and 3.
    pub client_session_ids: Vec<String>,
}

/// Why a request is not a PCC request the DRA steers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotPcc {
    /// Not Gx, Gxx, Rx or S9: 3007 DIAMETER_APPLICATION_UNSUPPORTED.
    Application,
    /// No Session-Id or Origin-Host (RFC 6733 §8.8, §6.3): 5005 DIAMETER_MISSING_AVP.
    Missing,
}

impl PccRequest {
    /// Reads a request's PCC view. Answers are not PCC requests.
    pub fn read(bytes: &[u8]) -> Result<PccRequest, NotPcc> {
        let msg = Message::decode(bytes).map_err(|_| NotPcc::Missing)?;
        let h = msg.header();
        let interface = Interface::of(h.application_id).ok_or(NotPcc::Application)?;
        let session_id = msg.session_id().ok_or(NotPcc::Missing)?.to_string();
        let origin_host = msg
            .find(corelab_diameter::codes::avp::ORIGIN_HOST, VENDOR_IETF)
            .and_then(|a| a.as_identity().ok())
            .ok_or(NotPcc::Missing)?
            .to_string();
        let avps = msg.avps();
        let kind = kind(h.command_code, interface, avps);
        let mut keys = keys_of(avps);
        // S9: the UE's keys may sit inside Subsession-Enforcement-Info (TS 29.215 §5.3.2).
        if keys.is_empty() {
            for info in avps.get_all(SUBSESSION_ENFORCEMENT_INFO, VENDOR_3GPP) {
                if let Ok(inner) = info.as_grouped() {
                    let k = keys_of(inner);
                    if !k.is_empty() {
                        keys = k;
                        break;
                    }
                }
            }
        }
        let client_session_ids = avps
            .get_all(CLIENT_SESSION_ID, VENDOR_CORELAB)
            .filter_map(|a| a.as_utf8().ok())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(PccRequest {
            interface,
            application_id: h.application_id,
            session_id,
            origin_host,
            kind,
            keys,
            client_session_ids,
        })
    }

    /// Session-Ids this request ends: its own on a termination (plus the client sessions it
    /// names), only the named client sessions on an S9 subsession termination.
    pub fn ended_sessions(&self) -> Vec<String> {
        let mut ids = Vec::new();
        if self.kind == Kind::Terminate {
            ids.push(self.session_id.clone());
        }
        for id in &self.client_session_ids {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }
}

fn kind(command_code: u32, interface: Interface, avps: Avps<'_>) -> Kind {
    match command_code {
        cmd::CREDIT_CONTROL => {
            let t = avps
                .get(CC_REQUEST_TYPE, VENDOR_IETF)
                .and_then(|a| a.as_u32().ok());
            match t {
                Some(1) => Kind::Establish,
                Some(3) => Kind::Terminate,
                _ if interface == Interface::S9 && ends_a_subsession(avps) => {
                    Kind::TerminateSubsession
                }
                _ => Kind::Modify,
            }
        }
        cmd::SESSION_TERMINATION => Kind::Terminate,
        cmd::AA => Kind::Establish,
        _ => Kind::Modify,
    }
}

fn ends_a_subsession(avps: Avps<'_>) -> bool {
    avps.get_all(SUBSESSION_ENFORCEMENT_INFO, VENDOR_3GPP)
        .filter_map(|a| a.as_grouped().ok())
        .any(|inner| {
            inner
                .get(SUBSESSION_OPERATION, VENDOR_3GPP)
                .and_then(|o| o.as_u32().ok())
                == Some(SUBSESSION_TERMINATION)
        })
}

fn keys_of(avps: Avps<'_>) -> UeKeys {
    let nai = avps
        .get(SUBSCRIPTION_ID, VENDOR_IETF)
        .and_then(|s| s.as_grouped().ok())
        .and_then(|g| g.get(SUBSCRIPTION_ID_DATA, VENDOR_IETF))
        .and_then(|d| d.as_utf8().ok())
        .unwrap_or("")
        .to_string();
    let ipv4 = avps
        .get(FRAMED_IP_ADDRESS, VENDOR_IETF)
        .and_then(|a| <[u8; 4]>::try_from(a.data()).ok())
        .map(|b| Ipv4Addr::from(b).to_string())
        .unwrap_or_default();
    let ipv6_prefix = avps
        .get(FRAMED_IPV6_PREFIX, VENDOR_IETF)
        .map(|a| hex(a.data()))
        .unwrap_or_default();
    let apn = avps
        .get(CALLED_STATION_ID, VENDOR_IETF)
        .and_then(|a: Avp<'_>| a.as_utf8().ok())
        .unwrap_or("")
        .to_string();
    UeKeys {
        nai,
        ipv4,
        ipv6_prefix,
        apn,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests;
