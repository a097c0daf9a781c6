//! Answers to application requests (server mode, and the client's answers to
//! server-initiated RAR/ASR), and reading an answer's outcome.
//!
//! An answer (RFC 6733 §6.2) has the request's command code, application,
//! identifiers and P bit, R clear; we put in: Session-Id (copied, §8.8),
//! Auth-Application-Id (copied), Origin-Host/Realm (ours), Result-Code (the
//! file's, default 2001 DIAMETER_SUCCESS) or Experimental-Result (3GPP, Vendor-Id
//! 10415), CC-Request-Type/CC-Request-Number (copied, RFC 4006 §3.2), the file's
//! AVPs, then the request's Proxy-Info AVPs in order (§6.2 step 4).

use corelab_diameter::codes::{VENDOR_3GPP, avp as code};
use corelab_diameter::header::FLAG_ERROR;
use corelab_diameter::{AvpBuf, Message, MessageBuilder};

use crate::files::{AnswerTemplate, Vars};

/// Result-Code when the answers file does not say.
pub const DEFAULT_RESULT_CODE: u32 = 2001;

/// The first template for this request's command (and application and
/// CC-Request-Type, when the template names them).
pub fn select<'t>(
    templates: &'t [AnswerTemplate],
    request: &Message<'_>,
) -> Option<&'t AnswerTemplate> {
    let h = request.header();
    let cc_type = request
        .find(CC_REQUEST_TYPE, 0)
        .and_then(|a| a.as_i32().ok());
    templates.iter().find(|t| {
        t.command_code == h.command_code
            && t.application_id.is_none_or(|a| a == h.application_id)
            && t.cc_request_type.is_none_or(|c| Some(c) == cc_type)
    })
}

/// CC-Request-Type, RFC 4006 §8.3.
const CC_REQUEST_TYPE: u32 = 416;
/// CC-Request-Number, RFC 4006 §8.2.
const CC_REQUEST_NUMBER: u32 = 415;

/// Builds the answer to `request` from `template` (or a plain 2001 answer).
pub fn build(
    request: &Message<'_>,
    template: Option<&AnswerTemplate>,
    origin_host: &str,
    origin_realm: &str,
) -> Result<Vec<u8>, String> {
    let h = request.header();
    let mut m = MessageBuilder::answer_to(h);
    let extra: Vec<AvpBuf> = match template {
        Some(t) => {
            let session = request.session_id().unwrap_or("");
            let peer_host = utf8(request, code::ORIGIN_HOST);
            let peer_realm = utf8(request, code::ORIGIN_REALM);
            let vars = Vars {
                session,
                origin_host,
                origin_realm,
                peer_host: &peer_host,
                peer_realm: &peer_realm,
            };
            t.avps
                .iter()
                .map(|a| a.build(&vars))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("answer {}: {e}", t.index))?
        }
        None => Vec::new(),
    };
    let overridden = |c: u32| extra.iter().any(|a| a.code == c && a.vendor_id.is_none());
    let copy = |m: &mut MessageBuilder, c: u32| {
        if !overridden(c)
            && let Some(a) = request.find(c, 0)
        {
            m.push(AvpBuf::from_avp(&a));
        }
    };
    copy(&mut m, code::SESSION_ID);
    copy(&mut m, code::AUTH_APPLICATION_ID);
    if !overridden(code::ORIGIN_HOST) {
        m.push(AvpBuf::identity(code::ORIGIN_HOST, origin_host).mandatory());
    }
    if !overridden(code::ORIGIN_REALM) {
        m.push(AvpBuf::identity(code::ORIGIN_REALM, origin_realm).mandatory());
    }
    let result_code = template.and_then(|t| t.result_code);
    let experimental = template.and_then(|t| t.experimental_result_code);
    let rc = match (result_code, experimental) {
        (Some(rc), _) => Some(rc),
        (None, None) => Some(DEFAULT_RESULT_CODE),
        (None, Some(_)) => None,
    };
    if let Some(rc) = rc.filter(|_| !overridden(code::RESULT_CODE)) {
        m.push(AvpBuf::u32(code::RESULT_CODE, rc).mandatory());
        if (3000..4000).contains(&rc) {
            // Protocol errors carry the E bit (RFC 6733 §7.1.3).
            m.flags |= FLAG_ERROR;
        }
    }
    if let Some(erc) = experimental {
        m.push(
            AvpBuf::grouped(
                code::EXPERIMENTAL_RESULT,
                vec![
                    AvpBuf::u32(code::VENDOR_ID, VENDOR_3GPP).mandatory(),
                    AvpBuf::u32(code::EXPERIMENTAL_RESULT_CODE, erc).mandatory(),
                ],
            )
            .mandatory(),
        );
    }
    copy(&mut m, CC_REQUEST_TYPE);
    copy(&mut m, CC_REQUEST_NUMBER);
    m.avps.extend(extra);
    for p in request.avps().get_all(code::PROXY_INFO, 0) {
        m.push(AvpBuf::from_avp(&p));
    }
    m.encode().map_err(|e| e.to_string())
}

fn utf8(msg: &Message<'_>, c: u32) -> String {
    msg.find(c, 0)
        .and_then(|a| a.as_utf8().ok())
        .unwrap_or("")
        .to_string()
}

/// The outcome of an answer: Result-Code, or else the Experimental-Result-Code
/// inside Experimental-Result (RFC 6733 §7.6).
pub fn outcome(answer: &Message<'_>) -> Option<u32> {
    if let Some(rc) = answer.result_code() {
        return Some(rc.0);
    }
    let er = answer.find(code::EXPERIMENTAL_RESULT, 0)?;
    er.as_grouped()
        .ok()?
        .get(code::EXPERIMENTAL_RESULT_CODE, 0)?
        .as_u32()
        .ok()
}

/// Whether an answer counts as success for the client's exit status: 2xxx,
/// or exactly `expect` when given.
pub fn is_expected(outcome: Option<u32>, expect: Option<u32>) -> bool {
    match (outcome, expect) {
        (Some(rc), Some(e)) => rc == e,
        (Some(rc), None) => (2000..3000).contains(&rc),
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corelab_diameter::codes::app;
    use corelab_diameter::{Dictionary, Role, validate};

    fn ccr() -> Vec<u8> {
        MessageBuilder::request(272, app::GX)
            .proxiable()
            .ids(7, 9)
            .avp(AvpBuf::utf8(code::SESSION_ID, "pgw.example;1;2").mandatory())
            .avp(AvpBuf::u32(code::AUTH_APPLICATION_ID, app::GX).mandatory())
            .avp(AvpBuf::identity(code::ORIGIN_HOST, "pgw.example").mandatory())
            .avp(AvpBuf::identity(code::ORIGIN_REALM, "example").mandatory())
            .avp(AvpBuf::identity(code::DESTINATION_REALM, "example.net").mandatory())
            .avp(AvpBuf::enumerated(416, 1).mandatory())
            .avp(AvpBuf::u32(415, 0).mandatory())
            .avp(
                AvpBuf::grouped(
                    code::PROXY_INFO,
                    vec![
                        AvpBuf::identity(280, "dra.example").mandatory(),
                        AvpBuf::octets(33, b"st").mandatory(),
                    ],
                )
                .mandatory(),
            )
            .encode()
            .unwrap()
    }

    fn template(rc: Option<u32>, erc: Option<u32>) -> AnswerTemplate {
        AnswerTemplate {
            index: 1,
            command_code: 272,
            application_id: None,
            cc_request_type: None,
            result_code: rc,
            experimental_result_code: erc,
            avps: Vec::new(),
        }
    }

    #[test]
    fn default_answer_copies_session_app_and_request_type_and_is_valid() {
        let req = ccr();
        let msg = Message::decode(&req).unwrap();
        let bytes = build(&msg, None, "pcrf.example", "example.net").unwrap();
        let a = Message::decode(&bytes).unwrap();
        let h = a.header();
        assert!(!h.is_request() && h.is_proxiable() && !h.is_error());
        assert_eq!((h.hop_by_hop, h.end_to_end), (7, 9));
        assert_eq!(a.session_id(), Some("pgw.example;1;2"));
        assert_eq!(outcome(&a), Some(2001));
        assert_eq!(a.find(416, 0).unwrap().as_i32().unwrap(), 1);
        assert_eq!(a.find(415, 0).unwrap().as_u32().unwrap(), 0);
        assert_eq!(
            a.find(code::ORIGIN_HOST, 0).unwrap().as_utf8().unwrap(),
            "pcrf.example"
        );
        assert!(a.find(code::PROXY_INFO, 0).is_some());
        validate(&a, Dictionary::standard(), Role::Endpoint).unwrap();
    }

    #[test]
    fn configured_result_codes() {
        let req = ccr();
        let msg = Message::decode(&req).unwrap();
        let t = template(Some(5030), None);
        let bytes = build(&msg, Some(&t), "p", "r").unwrap();
        let a = Message::decode(&bytes).unwrap();
        assert_eq!(outcome(&a), Some(5030));
        assert!(!a.header().is_error());

        let t = template(Some(3002), None);
        let bytes = build(&msg, Some(&t), "p", "r").unwrap();
        assert!(Message::decode(&bytes).unwrap().header().is_error());

        let t = template(None, Some(5065));
        let bytes = build(&msg, Some(&t), "p", "r").unwrap();
        let a = Message::decode(&bytes).unwrap();
        assert!(a.result_code().is_none());
        assert_eq!(outcome(&a), Some(5065));
    }

    #[test]
    fn select_by_command_application_and_request_type() {
        let mut rx = template(Some(2001), None);
        rx.command_code = 272;
        rx.application_id = Some(app::RX);
        let mut update = template(Some(4012), None);
        update.cc_request_type = Some(2);
        let mut initial = template(Some(5030), None);
        initial.cc_request_type = Some(1);
        let ts = [rx, update, initial, template(Some(2002), None)];
        let req = ccr();
        let msg = Message::decode(&req).unwrap();
        assert_eq!(select(&ts, &msg).map(|t| t.result_code), Some(Some(5030)));
        assert_eq!(select(&ts[..2], &msg), None);
        let mut other = MessageBuilder::from_message(&msg);
        other.command_code = 275;
        let other = other.encode().unwrap();
        assert!(select(&ts, &Message::decode(&other).unwrap()).is_none());
    }

    #[test]
    fn expected_outcomes() {
        assert!(is_expected(Some(2001), None));
        assert!(is_expected(Some(2002), None));
        assert!(!is_expected(Some(5030), None));
        assert!(is_expected(Some(5030), Some(5030)));
        assert!(!is_expected(Some(2001), Some(5030)));
        assert!(!is_expected(None, None));
    }
}
