//! The requests the roles send and the answers they give, built and read without IO.
//! Gx/Gxx CCR: TS 29.212 §5.6.2 / §5a.6.2; Rx AAR and STR: TS 29.214 §5.6.1, §5.6.4;
//! RAA / ASA to the PCRF's RAR / ASR: TS 29.212 §5.6.5, TS 29.214 §5.6.6, §5.6.8.

use corelab_diameter::codes::{VENDOR_3GPP, avp, cmd};
use corelab_diameter::{AvpBuf, Header, Message, MessageBuilder, ResultCode};

use crate::model::{Action, Role, Ue};

const FRAMED_IP_ADDRESS: u32 = 8;
const CALLED_STATION_ID: u32 = 30;
const CC_REQUEST_NUMBER: u32 = 415;
const CC_REQUEST_TYPE: u32 = 416;
const SUBSCRIPTION_ID: u32 = 443;
const SUBSCRIPTION_ID_DATA: u32 = 444;
const SUBSCRIPTION_ID_TYPE: u32 = 450;
const TERMINATION_CAUSE: u32 = 295;
const REDIRECT_HOST: u32 = 292;
/// Rx Specific-Action (TS 29.214 §5.3.16), 3GPP.
const SPECIFIC_ACTION: u32 = 513;
/// Specific-Action INDICATION_OF_LOSS_OF_BEARER.
pub const LOSS_OF_BEARER: i32 = 2;
/// Specific-Action INDICATION_OF_RELEASE_OF_BEARER.
pub const RELEASE_OF_BEARER: i32 = 4;

/// Subscription-Id-Type END_USER_IMSI / END_USER_NAI (RFC 4006 §8.47).
const END_USER_IMSI: i32 = 1;
const END_USER_NAI: i32 = 3;
/// Termination-Cause DIAMETER_LOGOUT (RFC 6733 §8.15).
const DIAMETER_LOGOUT: i32 = 1;

/// What identifies us and where a request goes.
#[derive(Clone, Debug)]
pub struct Addressing<'a> {
    /// Our Origin-Host.
    pub origin_host: &'a str,
    /// Our Origin-Realm.
    pub origin_realm: &'a str,
    /// Destination-Realm (the PCRFs' realm).
    pub destination_realm: &'a str,
    /// Destination-Host, when the request is addressed to one node (the PCRF, or the DRA
    /// itself for a termination sent "at once").
    pub destination_host: Option<&'a str>,
}

/// The request of `action` for a session of `role`. `number` is CC-Request-Number (Gx, Gxx).
pub fn request(
    role: Role,
    action: Action,
    session_id: &str,
    number: u32,
    ue: &Ue,
    to: &Addressing<'_>,
) -> MessageBuilder {
    let app_id = role.application_id();
    let command = match (role, action) {
        (Role::Af, Action::Terminate) => cmd::SESSION_TERMINATION,
        (Role::Af, _) => cmd::AA,
        _ => cmd::CREDIT_CONTROL,
    };
    let mut m = MessageBuilder::request(command, app_id)
        .proxiable()
        .avp(AvpBuf::utf8(avp::SESSION_ID, session_id).mandatory())
        .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app_id).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_HOST, to.origin_host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, to.origin_realm).mandatory())
        .avp(AvpBuf::identity(avp::DESTINATION_REALM, to.destination_realm).mandatory());
    if let Some(h) = to.destination_host {
        m.push(AvpBuf::identity(avp::DESTINATION_HOST, h).mandatory());
    }
    match role {
        Role::Pcef | Role::Bberf => {
            let ty = match action {
                Action::Establish => 1,
                Action::Modify => 2,
                Action::Terminate => 3,
            };
            m.push(AvpBuf::enumerated(CC_REQUEST_TYPE, ty).mandatory());
            m.push(AvpBuf::u32(CC_REQUEST_NUMBER, number).mandatory());
            if action == Action::Terminate {
                m.push(AvpBuf::enumerated(TERMINATION_CAUSE, DIAMETER_LOGOUT).mandatory());
            } else {
                push_ue(&mut m, ue);
            }
        }
        Role::Af => match action {
            Action::Terminate => {
                m.push(AvpBuf::enumerated(TERMINATION_CAUSE, DIAMETER_LOGOUT).mandatory());
            }
            _ => push_ue(&mut m, ue),
        },
    }
    m
}

/// Subscription-Id, Framed-IP-Address, Called-Station-Id: the keys the DRA binds by.
fn push_ue(m: &mut MessageBuilder, ue: &Ue) {
    let ty = if !ue.nai.is_empty() && ue.nai.bytes().all(|b| b.is_ascii_digit()) {
        END_USER_IMSI
    } else {
        END_USER_NAI
    };
    m.push(
        AvpBuf::grouped(
            SUBSCRIPTION_ID,
            vec![
                AvpBuf::enumerated(SUBSCRIPTION_ID_TYPE, ty).mandatory(),
                AvpBuf::utf8(SUBSCRIPTION_ID_DATA, &ue.nai).mandatory(),
            ],
        )
        .mandatory(),
    );
    m.push(AvpBuf::octets(FRAMED_IP_ADDRESS, &ue.ip.octets()).mandatory());
    m.push(AvpBuf::utf8(CALLED_STATION_ID, &ue.apn).mandatory());
}

/// What a client needs from an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerView {
    /// Result-Code, or Experimental-Result-Code; `None` when it has neither.
    pub result_code: Option<u32>,
    /// Origin-Host of the answering node.
    pub origin_host: String,
    /// The Redirect-Host URIs of a 3006 answer (RFC 6733 §6.13).
    pub redirect_hosts: Vec<String>,
}

/// DIAMETER_REDIRECT_INDICATION.
pub const REDIRECT_INDICATION: u32 = 3006;

/// Reads an answer; `None` when it does not decode or is a request.
pub fn read_answer(bytes: &[u8]) -> Option<AnswerView> {
    let m = Message::decode(bytes).ok()?;
    if m.is_request() {
        return None;
    }
    let origin_host = m
        .find(avp::ORIGIN_HOST, 0)
        .and_then(|a| a.as_identity().ok())
        .unwrap_or_default()
        .to_string();
    let redirect_hosts = m
        .avps()
        .get_all(REDIRECT_HOST, 0)
        .filter_map(|a| a.as_identity().ok().map(str::to_string))
        .collect();
    Some(AnswerView {
        result_code: diameter_peer::answers::outcome(&m),
        origin_host,
        redirect_hosts,
    })
}

/// A request from the PCRF the emulator answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrfRequest {
    /// Its header (the answer copies the ids).
    pub header: Header,
    /// Session-Id.
    pub session_id: String,
    /// Re-Auth (RAR) or Abort-Session (ASR).
    pub command_code: u32,
    /// The Rx Specific-Action values of a RAR.
    pub specific_actions: Vec<i32>,
}

impl PcrfRequest {
    /// Does it end an AF session (TS 29.214 §4.4.4, §4.4.6): an ASR, or a RAR reporting the
    /// loss or release of the bearer? The AF then sends STR.
    pub fn ends_af_session(&self) -> bool {
        self.header.application_id == corelab_diameter::codes::app::RX
            && (self.command_code == cmd::ABORT_SESSION
                || self
                    .specific_actions
                    .iter()
                    .any(|&a| a == LOSS_OF_BEARER || a == RELEASE_OF_BEARER))
    }
}

/// Reads a request from the PCRF; `Err` with the Result-Code to answer when it is not one.
pub fn read_pcrf_request(bytes: &[u8]) -> Result<PcrfRequest, u32> {
    let m = Message::decode(bytes).map_err(|_| 5014u32)?; // DIAMETER_INVALID_AVP_LENGTH
    let h = *m.header();
    if h.command_code != cmd::RE_AUTH && h.command_code != cmd::ABORT_SESSION {
        return Err(3001); // DIAMETER_COMMAND_UNSUPPORTED
    }
    let session_id = m.session_id().ok_or(5005u32)?.to_string(); // DIAMETER_MISSING_AVP
    let specific_actions = m
        .avps()
        .get_all(SPECIFIC_ACTION, VENDOR_3GPP)
        .filter_map(|a| a.as_i32().ok())
        .collect();
    Ok(PcrfRequest {
        header: h,
        session_id,
        command_code: m.header().command_code,
        specific_actions,
    })
}

/// The RAA or ASA to a request from the PCRF, with `code`.
pub fn answer(
    header: &Header,
    session_id: Option<&str>,
    origin_host: &str,
    origin_realm: &str,
    code: u32,
) -> MessageBuilder {
    let mut a = MessageBuilder::answer_to(header);
    if let Some(s) = session_id {
        a.push(AvpBuf::utf8(avp::SESSION_ID, s).mandatory());
    }
    a.avp(AvpBuf::identity(avp::ORIGIN_HOST, origin_host).mandatory())
        .avp(AvpBuf::identity(avp::ORIGIN_REALM, origin_realm).mandatory())
        .avp(AvpBuf::u32(avp::RESULT_CODE, ResultCode(code).0).mandatory())
}

#[cfg(test)]
mod tests {
    use super::*;
    use corelab_diameter::Dictionary;
    use corelab_diameter::validate::{Role as VRole, validate};

    fn ue() -> Ue {
        Ue {
            nai: "001010000000001".into(),
            ip: "10.45.0.1".parse().unwrap(),
            apn: "internet".into(),
        }
    }

    fn to() -> Addressing<'static> {
        Addressing {
            origin_host: "pcef.lab",
            origin_realm: "lab",
            destination_realm: "lab",
            destination_host: Some("vpcrf1.lab"),
        }
    }

    #[test]
    fn every_request_of_every_role_is_valid_for_the_dictionary() {
        for role in [Role::Pcef, Role::Bberf, Role::Af] {
            for action in [Action::Establish, Action::Modify, Action::Terminate] {
                let bytes = request(role, action, "pcef.lab;1;1", 0, &ue(), &to())
                    .encode()
                    .unwrap();
                let m = Message::decode(&bytes).unwrap();
                let r = validate(&m, Dictionary::standard(), VRole::Endpoint);
                assert!(r.is_ok(), "{role:?} {action:?}: {r:?}");
            }
        }
    }

    #[test]
    fn a_3006_names_its_redirect_hosts() {
        let req = request(Role::Pcef, Action::Establish, "s;1", 0, &ue(), &to())
            .encode()
            .unwrap();
        let h = *Message::decode(&req).unwrap().header();
        let a = answer(&h, Some("s;1"), "vdra.lab", "lab", 3006)
            .avp(AvpBuf::utf8(REDIRECT_HOST, "aaa://127.0.0.1:3868;transport=tcp").mandatory())
            .encode()
            .unwrap();
        let v = read_answer(&a).unwrap();
        assert_eq!(v.result_code, Some(3006));
        assert_eq!(v.origin_host, "vdra.lab");
        assert_eq!(v.redirect_hosts, vec!["aaa://127.0.0.1:3868;transport=tcp"]);
    }

    #[test]
    fn an_asr_or_a_loss_of_bearer_rar_ends_an_af_session_and_nothing_else_does() {
        let base = |cmd_code: u32, app_id: u32, action: Option<i32>| {
            let mut m = MessageBuilder::request(cmd_code, app_id)
                .avp(AvpBuf::utf8(avp::SESSION_ID, "af.lab;1;1").mandatory());
            if let Some(a) = action {
                m.push(AvpBuf::enumerated(SPECIFIC_ACTION, a).vendor(VENDOR_3GPP));
            }
            read_pcrf_request(&m.encode().unwrap()).unwrap()
        };
        use corelab_diameter::codes::app;
        assert!(base(cmd::ABORT_SESSION, app::RX, None).ends_af_session());
        assert!(base(cmd::RE_AUTH, app::RX, Some(LOSS_OF_BEARER)).ends_af_session());
        assert!(!base(cmd::RE_AUTH, app::RX, Some(1)).ends_af_session());
        assert!(!base(cmd::RE_AUTH, app::GX, None).ends_af_session());
        let cca = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
            .encode()
            .unwrap();
        assert_eq!(read_pcrf_request(&cca), Err(3001));
    }
}
