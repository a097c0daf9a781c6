//! Arbitrary bytes through everything a node does with a received message before the
//! application sees it: framing as a datagram and as a stream (cut into two reads at a point the
//! bytes choose), the one decision on each framed message ([`crate::validate::inbound`]:
//! rsipstack's parser and typed header parser, our header readers), and the answers we build
//! (the 400/505 of a refused message; the responses a handler builds to a delivered request).
//!
//! Invariants, each a panic when broken:
//! - nothing panics on the way;
//! - a delivered request passes every reader a later layer uses (the transaction key, our
//!   From/To/Call-ID/CSeq readers, rsipstack's typed Via/From/To/CSeq/Contact): one parser has
//!   decided, and nothing after it drops the request for a header it cannot read;
//! - a delivered response can be matched to a transaction (it has a key);
//! - every answer we build parses back as a SIP/2.0 response with the status we meant, is one
//!   whole message to our own framing, and carries no header that we did not write.

use std::net::SocketAddr;

use rsipstack::sip::prelude::*;
use rsipstack::sip::{SipMessage, Transport};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};

use crate::framing::{self, Datagram, Frame, StreamFramer};
use crate::validate::{self, Inbound};
use crate::{build, headers};

/// Where the fuzzed bytes come from.
const SRC: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 5070);

pub fn message(data: &[u8]) {
    // As one UDP datagram (RFC 3261 §18.3).
    match framing::datagram(data) {
        Datagram::Message(bytes) => decide(bytes, Transport::Udp),
        Datagram::BadLength { reason, head } => {
            if let Some(answer) = build::raw_response(head, 400, &reason) {
                check_answer(&answer, 400);
            }
        }
        Datagram::Ping | Datagram::Empty => {}
    }

    // As a TCP stream arriving in two reads.
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut framer = StreamFramer::new();
    for part in [&data[..cut], &data[cut..]] {
        framer.push(part);
        while let Some(frame) = framer.next_frame() {
            match frame {
                Frame::Message(bytes) => {
                    assert!(
                        bytes.len() <= framing::MAX_MESSAGE_BYTES,
                        "frame over the limit"
                    );
                    decide(&bytes, Transport::Tcp);
                }
                Frame::Lost { reason, head } => {
                    if let Some(answer) = head.and_then(|h| build::raw_response(&h, 400, &reason)) {
                        check_answer(&answer, 400);
                    }
                }
                Frame::Ping => {}
            }
        }
    }
}

/// One framed message through the decision, and the invariants on its outcome.
fn decide(bytes: &[u8], transport: Transport) {
    match validate::inbound(bytes, SRC, transport) {
        Inbound::Deliver(SipMessage::Request(req)) => {
            TransactionKey::from_request(&req, TransactionRole::Server)
                .expect("a delivered request has a transaction key");
            let (from_uri, _) =
                headers::from_uri_and_tag(&req).expect("a delivered request has From and tag");
            let (to_uri, _) = headers::to_uri_and_tag(&req).expect("a delivered request has To");
            headers::call_id(&req).expect("a delivered request has a Call-ID");
            headers::cseq(&req).expect("a delivered request has a CSeq");
            for (what, ok) in [
                ("Via", req.via_header().and_then(|h| h.typed()).is_ok()),
                ("From", req.from_header().and_then(|h| h.typed()).is_ok()),
                ("To", req.to_header().and_then(|h| h.typed()).is_ok()),
                ("CSeq", req.cseq_header().and_then(|h| h.typed()).is_ok()),
                ("Contact", req.typed_contact_headers().is_ok()),
            ] {
                assert!(
                    ok,
                    "a delivered request's {what} is refused by the typed parser"
                );
            }
            // What a handler answers, request text in the reason included (issue 13 §2).
            for code in [200, 400, 403, 489] {
                let reason = format!("Refused ({from_uri} -> {to_uri})");
                let resp = build::response(&req, code, Some(&reason), Some("t1"), &[], None);
                check_answer(resp.to_string().as_bytes(), code);
            }
        }
        Inbound::Deliver(SipMessage::Response(resp)) => {
            TransactionKey::from_response(&resp, TransactionRole::Client)
                .expect("a delivered response has a transaction key");
        }
        Inbound::Answer { code, bytes, .. } => {
            assert!(code == 400 || code == 505, "answered {code}");
            check_answer(&bytes, code);
        }
        Inbound::Drop { .. } => {}
    }
}

/// An answer we send parses as one SIP/2.0 response with status `code` and only the headers we
/// write (the request's Via, From, To, Call-ID, CSeq; Content-Length).
fn check_answer(bytes: &[u8], code: u16) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(SipMessage::Response(resp)) = SipMessage::try_from(bytes) else {
        panic!("our answer does not parse as a response: {text:?}");
    };
    assert_eq!(resp.status_code.code(), code, "{text:?}");
    assert!(text.starts_with("SIP/2.0 "), "{text:?}");
    assert_eq!(
        framing::datagram(bytes),
        Datagram::Message(bytes),
        "our answer is not one whole message: {text:?}"
    );
    for h in resp.headers.iter() {
        let name = h.name().to_ascii_lowercase();
        assert!(
            matches!(
                name.as_str(),
                "via"
                    | "v"
                    | "from"
                    | "f"
                    | "to"
                    | "t"
                    | "call-id"
                    | "i"
                    | "cseq"
                    | "content-length"
                    | "l"
            ),
            "our answer carries a header we did not write: {name:?} in {text:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_valid_request_and_a_broken_one_hold_the_invariants() {
        super::message(
            b"OPTIONS sip:x@lab SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\nFrom: <sip:a@lab>;tag=1\r\nTo: <sip:x@lab>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        );
        super::message(b"OPTIONS sip:x@lab:65536 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 9\r\n\r\n");
        super::message(b"");
    }
}
