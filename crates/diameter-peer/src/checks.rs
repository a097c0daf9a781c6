//! Checking a received request against the dictionary before answering it
//! (`--validate`; `corelab_diameter::validate`, endpoint role). An adapter:
//! corelab-diameter-node hands endpoint requests to the handler without
//! checking them. One tolerance: by default an M bit against the dictionary's flag rule is accepted (RFC 6733
//! §7.1.3 would answer 3009 DIAMETER_INVALID_AVP_BITS). Peers in the field get
//! this wrong (python-diameter sends Origin-Host and Destination-Host without
//! M), and a test peer that refuses them tests nothing; `strict_flags` keeps
//! the RFC's 3009.

use corelab_diameter::avp::{AVP_FLAG_MANDATORY, Avp};
use corelab_diameter::{
    AvpBuf, AvpType, AvpValue, DiameterError, Dictionary, FlagRule, Message, MessageBuilder, Role,
    validate,
};

/// How requests are checked before they are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Not at all: every request gets the configured answer.
    Off,
    /// Against the dictionary, tolerating M bits against the flag rules.
    Tolerant,
    /// Against the dictionary, 3009 for M bits against the flag rules.
    Strict,
}

/// Why a request is not answered as configured: its RFC 6733 error.
pub fn check_request(msg: &Message<'_>, strict_flags: bool) -> Result<(), DiameterError> {
    let dict = Dictionary::standard();
    if strict_flags {
        return validate(msg, dict, Role::Endpoint);
    }
    match normalized_m_bits(msg, dict) {
        Some(bytes) => match Message::decode(&bytes) {
            Ok(m) => validate(&m, dict, Role::Endpoint),
            Err(_) => validate(msg, dict, Role::Endpoint),
        },
        None => validate(msg, dict, Role::Endpoint),
    }
}

/// Whether any AVP's M bit disagrees with its dictionary rule (for a log line).
pub fn has_m_bit_violation(msg: &Message<'_>) -> bool {
    normalized_m_bits(msg, Dictionary::standard()).is_some()
}

/// The message with every known AVP's M bit set as its rule says ("M must"
/// → set, "must not" → clear), at any depth; `None` when nothing changes.
fn normalized_m_bits(msg: &Message<'_>, dict: &Dictionary) -> Option<Vec<u8>> {
    let mut changed = false;
    let mut b = MessageBuilder::from_message(msg);
    b.avps = msg
        .avps()
        .map(|a| normalize(&a, dict, &mut changed, 0))
        .collect();
    if !changed {
        return None;
    }
    b.encode().ok()
}

fn normalize(a: &Avp<'_>, dict: &Dictionary, changed: &mut bool, depth: usize) -> AvpBuf {
    let mut out = AvpBuf::from_avp(a);
    let Some(def) = dict.avp(a.code(), a.vendor_id()) else {
        return out;
    };
    let want = match def.m_bit {
        FlagRule::Must => Some(true),
        FlagRule::MustNot => Some(false),
        FlagRule::May => None,
    };
    if let Some(m) = want
        && m != a.is_mandatory()
    {
        *changed = true;
        out.flags = if m {
            out.flags | AVP_FLAG_MANDATORY
        } else {
            out.flags & !AVP_FLAG_MANDATORY
        };
    }
    if def.ty == AvpType::Grouped
        && depth < 32
        && let Ok(inner) = a.as_grouped()
    {
        out.value = AvpValue::Grouped(
            inner
                .map(|i| normalize(&i, dict, changed, depth + 1))
                .collect(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use corelab_diameter::codes::{app, avp};

    fn ccr(origin_host_m: bool, extra: Option<AvpBuf>) -> Vec<u8> {
        let mut oh = AvpBuf::identity(avp::ORIGIN_HOST, "pcef.example");
        if origin_host_m {
            oh = oh.mandatory();
        }
        let mut b = MessageBuilder::request(272, app::GX)
            .proxiable()
            .avp(AvpBuf::utf8(avp::SESSION_ID, "pcef.example;1;1").mandatory())
            .avp(AvpBuf::u32(avp::AUTH_APPLICATION_ID, app::GX).mandatory())
            .avp(oh)
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "example").mandatory())
            .avp(AvpBuf::identity(avp::DESTINATION_REALM, "example.net").mandatory())
            .avp(AvpBuf::enumerated(416, 1).mandatory())
            .avp(AvpBuf::u32(415, 0).mandatory())
            .avp(
                AvpBuf::grouped(
                    443,
                    vec![
                        AvpBuf::enumerated(450, 1), // M must, sent without
                        AvpBuf::utf8(444, "001010000000001").mandatory(),
                    ],
                )
                .mandatory(),
            );
        if let Some(e) = extra {
            b = b.avp(e);
        }
        b.encode().unwrap()
    }

    #[test]
    fn m_bit_against_the_rule_is_tolerated_unless_strict() {
        let bytes = ccr(false, None);
        let msg = Message::decode(&bytes).unwrap();
        assert!(has_m_bit_violation(&msg));
        assert_eq!(check_request(&msg, false), Ok(()));
        assert_eq!(check_request(&msg, true).unwrap_err().code.0, 3009);
        // Inside a Grouped too: Subscription-Id-Type (M must) without M.
        let inner = ccr(true, None);
        let msg = Message::decode(&inner).unwrap();
        assert!(has_m_bit_violation(&msg));
        assert_eq!(check_request(&msg, false), Ok(()));
        let e = check_request(&msg, true).unwrap_err();
        assert!(e.reason.contains("Subscription-Id-Type"), "{e:?}");
    }

    #[test]
    fn other_errors_are_still_found_after_the_tolerated_m_bit() {
        // Unknown AVP with M: 5001 even though Origin-Host lacks its M bit.
        let bytes = ccr(false, Some(AvpBuf::octets(99_999, b"x").mandatory()));
        let msg = Message::decode(&bytes).unwrap();
        let e = check_request(&msg, false).unwrap_err();
        assert_eq!(e.code.0, 5001);
    }
}
