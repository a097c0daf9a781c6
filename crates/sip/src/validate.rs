//! One decision on every received message, free of IO (issue 13 §10, "one parser decides"):
//! [`inbound`] takes the bytes of one framed message ([`crate::framing`]) and says whether the
//! node hands it to the transaction layer, answers it (`400` with a reason, RFC 3261 §8.2.2 and
//! §16.3, or `505 Version Not Supported`, §8.2.2.1 and §21.5.7), or drops it (nothing to answer:
//! a response it cannot use, a request without a usable Via, §18.2.2).
//!
//! Well-formed means: rsipstack's parser reads the message, and rsipstack's typed header parser
//! reads every header that a later layer reads (the transaction key's Via, From tag, Call-ID and
//! CSeq; From, To and every Contact, which the handlers and the dialogs use). Our own readers in
//! [`crate::headers`] then only take apart what that parser accepted, and refuse in addition what
//! RFC 3261 forbids and that parser lets through (an empty tag). So a request delivered to the
//! transaction layer is never dropped there for a header it cannot read, and every request
//! refused on the way is answered when it names where to send the answer. The fuzz target
//! [`crate::fuzzing::message`] checks exactly this on arbitrary bytes.

use std::net::SocketAddr;

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Request, SipMessage, Transport};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};

use crate::{build, headers};

/// Reason phrase of the 400 for a message that is framed but does not parse.
pub const MALFORMED: &str = "Malformed message";

/// Longest header value that may still grow by folding: past it rsipstack's parser logs a
/// warning for every further continuation line (issue 13 §5: 20 messages of 65 kB gave 282,720
/// lines), so such a message is refused before it reaches the parser.
pub const MAX_FOLDED_VALUE_BYTES: usize = 4096;

/// What the node does with one received message.
#[derive(Debug)]
pub enum Inbound {
    /// Well-formed: hand it to the transaction layer (`received`/`rport` added to a request's
    /// top Via, RFC 3261 §18.2.1, RFC 3581).
    Deliver(SipMessage),
    /// Refused: send `bytes` (a whole SIP response) back to where the message came from.
    Answer {
        code: u16,
        reason: String,
        bytes: Vec<u8>,
    },
    /// Refused with nobody to answer (a response, or a request without a usable Via).
    Drop { reason: String },
}

/// Decide what to do with one framed message received from `src` over `transport`.
pub fn inbound(bytes: &[u8], src: SocketAddr, transport: Transport) -> Inbound {
    let head = head_of(bytes);
    let refuse_raw = |code: u16, reason: &str| match build::raw_response(head, code, reason) {
        Some(bytes) => Inbound::Answer {
            code,
            reason: reason.to_string(),
            bytes,
        },
        None => Inbound::Drop {
            reason: reason.to_string(),
        },
    };
    if folds_past_limit(head) {
        return refuse_raw(400, "Folded header value too long");
    }
    let Ok(msg) = SipMessage::try_from(bytes) else {
        return refuse_raw(400, MALFORMED);
    };
    let msg = match msg {
        SipMessage::Response(resp) => {
            // The transaction layer matches a response by its key; one it cannot key is
            // dropped here, once, rather than warned about there for every copy.
            return match TransactionKey::from_response(&resp, TransactionRole::Client) {
                Ok(_) => Inbound::Deliver(SipMessage::Response(resp)),
                Err(_) => Inbound::Drop {
                    reason: "response without a usable Via, From tag, Call-ID or CSeq".into(),
                },
            };
        }
        SipMessage::Request(req) => req,
    };
    if let Err((code, reason)) = check(&msg) {
        if msg.via_header().and_then(|v| v.typed()).is_err() {
            return Inbound::Drop { reason };
        }
        let resp = build::response(&msg, code, Some(&reason), None, &[], None);
        return Inbound::Answer {
            code,
            reason,
            bytes: resp.to_string().into_bytes(),
        };
    }
    let received = rsipstack::transport::SipConnection::update_msg_received(
        msg.clone().into(),
        src,
        transport,
    );
    match received {
        // The top Via as rsipstack rewrote it (received, rport) must still read: its parser
        // accepts some parameters it cannot write back (`;branch,=z9hG4bK1`, found by fuzzing),
        // and the transaction layer reads the rewritten one.
        Ok(SipMessage::Request(updated)) if check_request(&updated).is_ok() => {
            Inbound::Deliver(SipMessage::Request(updated))
        }
        _ => {
            let reason = "Bad Via header".to_string();
            let resp = build::response(&msg, 400, Some(&reason), None, &[], None);
            Inbound::Answer {
                code: 400,
                reason,
                bytes: resp.to_string().into_bytes(),
            }
        }
    }
}

/// What is wrong with a request, if anything: the status and reason phrase of its answer.
pub fn check(req: &Request) -> Result<(), (u16, String)> {
    if req.version != rsipstack::sip::Version::V2 {
        return Err((
            505,
            format!("Version Not Supported ({} not SIP/2.0)", req.version),
        ));
    }
    check_request(req).map_err(|e| (400, e.0))
}

/// What is wrong with a SIP/2.0 request, if anything: the reason phrase of its 400.
pub fn check_request(req: &Request) -> Result<(), headers::BadRequest> {
    let bad = |what: &str| headers::BadRequest(format!("Bad {what} header"));
    let via = req
        .via_header()
        .map_err(|_| headers::BadRequest("Missing Via header".into()))?;
    via.typed().map_err(|_| bad("Via"))?;
    // A bare CR (or any control character but HTAB) in a header value is no SIP (RFC 3261
    // §25.1) and would end a line when the header is copied into our answer.
    if let Some(h) = req
        .headers
        .iter()
        .find(|h| h.value().chars().any(|c| c.is_control() && c != '\t'))
    {
        return Err(headers::BadRequest(format!(
            "Bad {} header (control character)",
            build::reason_phrase(h.name())
        )));
    }
    // Presence first, in our words (RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards
    // and Via in every request; we do not insist on Max-Forwards, as rsipstack does not).
    headers::from_uri_and_tag(req)?;
    headers::to_uri_and_tag(req)?;
    headers::call_id(req)?;
    let (_, method) = headers::cseq(req)?;
    if !method.eq_ignore_ascii_case(&req.method.to_string()) {
        return Err(headers::BadRequest(format!(
            "CSeq method {method} does not match {}",
            req.method
        )));
    }
    // Then the one parser: what rsipstack's typed parser cannot read, no later layer gets.
    req.cseq_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("CSeq"))?;
    req.from_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("From"))?;
    req.to_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("To"))?;
    req.typed_contact_headers().map_err(|_| bad("Contact"))?;
    TransactionKey::from_request(req, TransactionRole::Server)
        .map_err(|_| headers::BadRequest("Malformed Via, From, To, Call-ID or CSeq".into()))?;
    Ok(())
}

/// Whether a continuation line (RFC 3261 §7.3.1) extends a header value already longer than
/// [`MAX_FOLDED_VALUE_BYTES`].
fn folds_past_limit(head: &[u8]) -> bool {
    let mut value_len = 0usize;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if value_len > MAX_FOLDED_VALUE_BYTES {
                return true;
            }
            value_len += 1 + line.trim_ascii().len();
        } else {
            value_len = line.len();
        }
    }
    false
}

/// The header section of a message (up to and including the empty line), or all of it.
pub fn head_of(bytes: &[u8]) -> &[u8] {
    match memchr::memmem::find(bytes, b"\r\n\r\n") {
        Some(end) => &bytes[..end + 4],
        None => bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SocketAddr {
        "127.0.0.1:5070".parse().unwrap()
    }

    fn options() -> String {
        "OPTIONS sip:x@lab SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@lab>;tag=1\r\nTo: <sip:x@lab>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContact: <sip:a@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n".into()
    }

    fn status(msg: &str) -> String {
        match inbound(msg.as_bytes(), src(), Transport::Udp) {
            Inbound::Deliver(_) => "deliver".into(),
            Inbound::Answer { bytes, .. } => String::from_utf8(bytes)
                .unwrap()
                .split("\r\n")
                .next()
                .unwrap()
                .to_string(),
            Inbound::Drop { reason } => format!("drop: {reason}"),
        }
    }

    /// Issue 13 §10: the shapes that the inspector once let through and the transaction layer
    /// then dropped without an answer.
    #[test]
    fn what_a_later_parser_would_refuse_is_answered_400_here() {
        assert_eq!(status(&options()), "deliver");
        for (from, to, reason) in [
            (
                "CSeq: 1 OPTIONS",
                "CSeq: 1 OPTIONS extra",
                "Bad CSeq header",
            ),
            (";tag=1", ";tag=", "Empty From tag"),
            ("To: <sip:x@lab>", "To: <sip:x@lab>;tag=", "Empty To tag"),
            ("OPTIONS sip:x@lab ", "OPTIONS sip:x@lab:65536 ", MALFORMED),
            (
                "a@127.0.0.1:5070>",
                "a@127.0.0.1:65536>",
                "Bad Contact header",
            ),
            ("<sip:a@lab>", "<sip:a@[fe80::1%eth0]>", "Bad From header"),
            (
                "a@127.0.0.1:5070>",
                "a@[fe80::1%eth0]:5070>",
                "Bad Contact header",
            ),
            ("<sip:x@lab>", "<sip:>", "Bad To header"),
            ("<sip:a@127.0.0.1:5070>", "<sip:>", "Bad Contact header"),
            // Found by fuzzing: read, but unreadable once `received` is added.
            (
                "127.0.0.1:5070;branch=z9hG4bK1",
                "127.0.0.1:5060;branch,=z9hG4bK1",
                "Bad Via header",
            ),
        ] {
            let msg = options().replacen(from, to, 1);
            assert_eq!(status(&msg), format!("SIP/2.0 400 {reason}"), "{msg}");
        }
    }

    #[test]
    fn other_sip_versions_get_505_and_a_request_without_via_is_dropped() {
        let v7 = options().replacen("SIP/2.0\r\n", "SIP/7.0\r\n", 1);
        assert!(status(&v7).starts_with("SIP/2.0 505 Version Not Supported"));
        let no_via =
            options().replacen("Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n", "", 1);
        assert!(status(&no_via).starts_with("drop"), "{}", status(&no_via));
        assert!(status("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n").starts_with("drop"));
    }

    #[test]
    fn multiple_contacts_in_one_header_are_read_one_by_one() {
        let two = options().replacen(
            "<sip:a@127.0.0.1:5070>",
            "<sip:a@127.0.0.1:5070>, \"A, B\" <sip:a@127.0.0.2>;expires=60",
            1,
        );
        assert_eq!(status(&two), "deliver");
        assert_eq!(
            status(&options().replacen("Contact: <sip:a@127.0.0.1:5070>", "Contact: *", 1)),
            "deliver"
        );
    }

    #[test]
    fn long_folded_values_are_refused_before_the_parser() {
        let mut msg = String::from(
            "OPTIONS sip:x@lab SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\nSubject: a\r\n",
        );
        for _ in 0..100 {
            msg.push_str(" continued continued continued continued continued continued\r\n");
        }
        msg.push_str("Content-Length: 0\r\n\r\n");
        assert_eq!(status(&msg), "SIP/2.0 400 Folded header value too long");
        let short = options().replacen("Call-ID: c\r\n", "Call-ID: c\r\nSubject: a\r\n b\r\n", 1);
        assert_eq!(status(&short), "deliver");
    }
}
