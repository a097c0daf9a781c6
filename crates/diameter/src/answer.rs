//! Building the answer that reports a protocol error (RFC 6733 §7).

use crate::avp::{Avp, padded};
use crate::builder::{AvpBuf, AvpValue, MessageBuilder};
use crate::codes::avp as code;
use crate::error::{DiameterError, EncodeError};
use crate::header::{FLAG_ERROR, FLAG_PROXIABLE, FLAG_REQUEST, HEADER_LEN};

/// The answer to the request in `raw_request` reporting `err`, or `None` when
/// no answer is possible: fewer than 20 bytes, or not a request (errors in
/// answers are not answered, RFC 6733 §7.3).
///
/// Layout (RFC 6733 §7.2 answer-message): Session-Id if the request had one,
/// Origin-Host, Origin-Realm, Result-Code, Error-Message, Failed-AVP holding the
/// offending AVP (§7.5), then the request's Proxy-Info AVPs in order (§6.2).
/// The E bit is set for protocol errors (3xxx, §7.1.3); the P bit is copied.
/// Works on bytes the decoder rejected: it reads the header fields it needs and
/// the AVPs that precede any framing error.
pub fn error_answer(
    raw_request: &[u8],
    err: &DiameterError,
    origin_host: &str,
    origin_realm: &str,
) -> Option<Result<Vec<u8>, EncodeError>> {
    let h = raw_request.get(..HEADER_LEN)?;
    if h[4] & FLAG_REQUEST == 0 {
        return None;
    }
    let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let mut b = MessageBuilder {
        flags: h[4] & FLAG_PROXIABLE,
        command_code: word(4) & 0x00ff_ffff,
        application_id: word(8),
        hop_by_hop: word(12),
        end_to_end: word(16),
        avps: Vec::new(),
    };
    if err.code.is_protocol_error() {
        b.flags |= FLAG_ERROR;
    }
    let declared = (word(0) & 0x00ff_ffff) as usize;
    let body = raw_request
        .get(HEADER_LEN..declared.min(raw_request.len()))
        .unwrap_or(&[]);
    let top = lenient_avps(body);
    if let Some(sid) = top
        .iter()
        .find(|a| a.code() == code::SESSION_ID && a.vendor_id() == 0)
    {
        b.push(AvpBuf::from_avp(sid));
    }
    b.push(AvpBuf::identity(code::ORIGIN_HOST, origin_host).mandatory());
    b.push(AvpBuf::identity(code::ORIGIN_REALM, origin_realm).mandatory());
    b.push(AvpBuf::u32(code::RESULT_CODE, err.code.0).mandatory());
    if !err.reason.is_empty() {
        b.push(AvpBuf::utf8(code::ERROR_MESSAGE, &err.reason));
    }
    if let Some(failed) = &err.failed_avp {
        // The offending AVP goes in as bytes (it may not decode), padded so the
        // grouped data is a sequence of padded AVPs (RFC 6733 §4.4).
        let mut f = failed.clone();
        f.resize(padded(f.len()), 0);
        b.push(AvpBuf::new(code::FAILED_AVP, AvpValue::Octets(f)).mandatory());
    }
    for p in top
        .iter()
        .filter(|a| a.code() == code::PROXY_INFO && a.vendor_id() == 0)
    {
        b.push(AvpBuf::from_avp(p));
    }
    Some(b.encode())
}

/// The AVPs that decode before the first framing error.
fn lenient_avps(mut buf: &[u8]) -> Vec<Avp<'_>> {
    let mut out = Vec::new();
    while let Ok(a) = Avp::parse(buf) {
        let used = a.raw().len();
        out.push(a);
        if used == 0 || used >= buf.len() {
            break;
        }
        buf = &buf[used..];
    }
    out
}
