//! Validation of a decoded message against the dictionary (RFC 6733 §7):
//! header bits, AVP flag rules, unknown mandatory AVPs, AVP values, required
//! AVPs. The first problem found is returned as a [`DiameterError`] carrying
//! its Result-Code and the Failed-AVP contents.

use crate::avp::{AVP_FLAG_MANDATORY, AVP_FLAG_RESERVED, Avp, Avps};
use crate::builder::{AvpBuf, AvpValue};
use crate::codes::avp as code;
use crate::dictionary::{AvpDef, AvpType, Dictionary, FlagRule, Grammar};
use crate::error::{DiameterError, ResultCode};
use crate::message::Message;

/// Grouped AVPs deeper than this are not descended into (their framing is not
/// checked either): bounded work and stack on hostile input.
pub const MAX_GROUPED_DEPTH: usize = 32;

/// Who validates: the policy for AVPs and bits the node does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A client or server (RFC 6733 §4.1): an unknown AVP with the M bit → 5001
    /// DIAMETER_AVP_UNSUPPORTED; an unknown AVP without it is ignored; reserved
    /// header bits → 5013; reserved AVP flag bits and M rules → 3009; unknown
    /// command → 3001, unknown application → 3007.
    Endpoint,
    /// A relay/proxy/redirect agent (RFC 6733 §6.1.8-6.1.9): unknown AVPs (M or
    /// not), commands and bits are forwarded untouched; only the AVPs it knows are
    /// checked for well-formed values, and required AVPs only for commands it knows.
    Agent,
}

/// Checks `msg` against `dict` as a node of role `role`.
pub fn validate(msg: &Message<'_>, dict: &Dictionary, role: Role) -> Result<(), DiameterError> {
    let h = msg.header();
    if role == Role::Endpoint {
        h.check_reserved_bits()?;
    }
    let cmd = dict.command(h.command_code, h.application_id, h.is_request());
    match cmd {
        Some(c) if c.proxiable != h.is_proxiable() => {
            return Err(DiameterError::new(
                ResultCode::DIAMETER_INVALID_HDR_BITS,
                format!(
                    "P bit {} but {} is {}proxiable (RFC 6733 §3)",
                    if h.is_proxiable() { "set" } else { "clear" },
                    c.abbrev,
                    if c.proxiable { "" } else { "not " }
                ),
            ));
        }
        None if role == Role::Endpoint && h.is_request() => {
            let code = if dict.application(h.application_id).is_none() {
                ResultCode::DIAMETER_APPLICATION_UNSUPPORTED
            } else {
                ResultCode::DIAMETER_COMMAND_UNSUPPORTED
            };
            return Err(DiameterError::new(
                code,
                format!(
                    "command {} of application {}",
                    h.command_code, h.application_id
                ),
            ));
        }
        _ => {}
    }
    check_level(msg.avps(), dict, role, 0)?;
    if h.is_error() {
        // An answer with the E bit follows the answer-message CCF (RFC 6733 §7.2).
        if let Some(g) = dict.answer_message() {
            check_occurrences(msg.avps(), g, dict)?;
            check_required(msg.avps(), &g.required(), dict)?;
        } else {
            let base = [code::ORIGIN_HOST, code::ORIGIN_REALM, code::RESULT_CODE];
            let required: Vec<Vec<(u32, u32)>> = base.iter().map(|&c| vec![(c, 0)]).collect();
            check_required(msg.avps(), &required, dict)?;
        }
    } else if let Some(c) = cmd {
        check_occurrences(msg.avps(), &c.grammar, dict)?;
        check_required(msg.avps(), &c.required, dict)?;
    }
    Ok(())
}

/// The occurrence rules of a CCF or Grouped grammar (RFC 6733 §3.2, §7.1.5):
/// an AVP whose rule has maximum 0, or a dictionary AVP no rule names when
/// the grammar has no `*[ AVP ]`, is 5008 DIAMETER_AVP_NOT_ALLOWED with that
/// AVP as Failed-AVP; the first occurrence beyond a rule's maximum is 5009
/// DIAMETER_AVP_OCCURS_TOO_MANY_TIMES with that occurrence as Failed-AVP.
/// AVPs the dictionary does not know are left to the unknown-AVP policy
/// (ignored without M, 5001 with M at an endpoint).
fn check_occurrences(
    avps: Avps<'_>,
    grammar: &Grammar,
    dict: &Dictionary,
) -> Result<(), DiameterError> {
    // Counts per rule, on the stack for the usual CCF sizes.
    let mut small = [0u32; 64];
    let mut large = Vec::new();
    let counts: &mut [u32] = if grammar.rules.len() <= small.len() {
        &mut small[..grammar.rules.len()]
    } else {
        large.resize(grammar.rules.len(), 0);
        &mut large
    };
    for a in avps {
        let name = || {
            dict.avp(a.code(), a.vendor_id())
                .map_or("?", |d| d.name.as_str())
                .to_string()
        };
        match grammar.rule_for(a.code(), a.vendor_id()) {
            Some((i, rule)) => {
                counts[i] += 1;
                match rule.max {
                    Some(0) => {
                        return Err(DiameterError::with_avp(
                            ResultCode::DIAMETER_AVP_NOT_ALLOWED,
                            a.unpadded(),
                            format!("{} ({}) MUST NOT be present", name(), a.code()),
                        ));
                    }
                    Some(max) if counts[i] > max => {
                        return Err(DiameterError::with_avp(
                            ResultCode::DIAMETER_AVP_OCCURS_TOO_MANY_TIMES,
                            a.unpadded(),
                            format!(
                                "{} ({}) occurs more than {max} time{}",
                                name(),
                                a.code(),
                                if max == 1 { "" } else { "s" }
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            None if !grammar.other_avps && dict.avp(a.code(), a.vendor_id()).is_some() => {
                return Err(DiameterError::with_avp(
                    ResultCode::DIAMETER_AVP_NOT_ALLOWED,
                    a.unpadded(),
                    format!("{} ({}) is not in the grammar", name(), a.code()),
                ));
            }
            None => {}
        }
    }
    Ok(())
}

fn check_level(
    avps: Avps<'_>,
    dict: &Dictionary,
    role: Role,
    depth: usize,
) -> Result<(), DiameterError> {
    for a in avps {
        let def = dict.avp(a.code(), a.vendor_id());
        if role == Role::Endpoint {
            check_flags(&a, def)?;
        }
        let Some(def) = def else {
            if role == Role::Endpoint && a.is_mandatory() {
                return Err(DiameterError::with_avp(
                    ResultCode::DIAMETER_AVP_UNSUPPORTED,
                    a.unpadded(),
                    format!(
                        "AVP {} vendor {} with the M bit is not supported",
                        a.code(),
                        a.vendor_id()
                    ),
                ));
            }
            continue;
        };
        check_value(&a, def)?;
        if def.ty == AvpType::Grouped && depth < MAX_GROUPED_DEPTH {
            let inner = a.as_grouped()?;
            check_level(inner, dict, role, depth + 1)?;
            check_occurrences(inner, &def.grammar, dict)?;
            check_required(inner, &def.required, dict)?;
        }
    }
    Ok(())
}

/// 3009 DIAMETER_INVALID_AVP_BITS: a reserved flag bit, or the M bit against
/// the AVP's flag rule (RFC 6733 §4.1, §7.1.3).
fn check_flags(a: &Avp<'_>, def: Option<&AvpDef>) -> Result<(), DiameterError> {
    let bad = |why: String| {
        Err(DiameterError::with_avp(
            ResultCode::DIAMETER_INVALID_AVP_BITS,
            a.unpadded(),
            why,
        ))
    };
    if a.flags() & AVP_FLAG_RESERVED != 0 {
        return bad(format!(
            "AVP {}: reserved flag bits set ({:#04x})",
            a.code(),
            a.flags()
        ));
    }
    if let Some(def) = def {
        match (def.m_bit, a.is_mandatory()) {
            (FlagRule::Must, false) => return bad(format!("{}: M bit must be set", def.name)),
            (FlagRule::MustNot, true) => {
                return bad(format!("{}: M bit must not be set", def.name));
            }
            _ => {}
        }
    }
    Ok(())
}

/// 5014 for sizes that do not fit the type, 5004 for invalid contents.
fn check_value(a: &Avp<'_>, def: &AvpDef) -> Result<(), DiameterError> {
    let wrong_size = def.ty.fixed_len().filter(|&n| a.data().len() != n);
    if let Some(n) = wrong_size {
        return Err(DiameterError::with_avp(
            ResultCode::DIAMETER_INVALID_AVP_LENGTH,
            a.unpadded(),
            format!(
                "{}: {} data bytes, {:?} has {n}",
                def.name,
                a.data().len(),
                def.ty
            ),
        ));
    }
    match def.ty {
        AvpType::UTF8String => a.as_utf8().map(drop),
        AvpType::DiameterIdentity => a.as_identity().map(drop),
        AvpType::Address => a.as_address().map(drop),
        _ => Ok(()),
    }
}

/// 5005 DIAMETER_MISSING_AVP with Failed-AVP holding an example of the missing
/// AVP: its header (with Vendor-Id) and a zero-filled value of the type's
/// minimum length (RFC 6733 §7.5).
fn check_required(
    avps: Avps<'_>,
    required: &[Vec<(u32, u32)>],
    dict: &Dictionary,
) -> Result<(), DiameterError> {
    for alternatives in required {
        let present = avps
            .clone()
            .any(|a| alternatives.contains(&(a.code(), a.vendor_id())));
        if present {
            continue;
        }
        let Some(&(code, vendor)) = alternatives.first() else {
            continue;
        };
        let def = dict.avp(code, vendor);
        let mut example = AvpBuf::new(
            code,
            AvpValue::Octets(vec![0; def.map_or(0, |d| d.ty.min_len())]),
        );
        if vendor != 0 {
            example = example.vendor(vendor);
        }
        if def.is_some_and(|d| d.m_bit == FlagRule::Must) {
            example.flags |= AVP_FLAG_MANDATORY;
        }
        let name = def.map_or("?", |d| d.name.as_str());
        let bytes = example.to_bytes().unwrap_or_default();
        return Err(DiameterError {
            code: ResultCode::DIAMETER_MISSING_AVP,
            failed_avp: Some(bytes),
            reason: format!("missing required AVP {name} ({code})"),
        });
    }
    Ok(())
}
