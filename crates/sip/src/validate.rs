//! Malformed requests get `400` with a reason (RFC 3261 §8.2.2, §16.3) instead of silence, and a
//! request in another SIP version gets `505 Version Not Supported` (RFC 3261 §8.2.2, §21.5.7).
//!
//! rsipstack's transaction layer drops a request whose Via, From tag, Call-ID or CSeq it cannot
//! read, with only a log line. This inspector sits in front of it: a request missing one of the
//! headers every request must carry is answered `400 <what is wrong>` on the connection it came
//! from. A message too broken to parse at all never reaches here: the transport drops and logs it
//! (at debug level under `rsipstack::transport`), since there is nothing to address a response to.

use async_trait::async_trait;
use rsipstack::sip::SipMessage;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::TransportEvent;

use crate::{build, headers};

/// What is wrong with a request, if anything: the status and reason phrase of its answer.
pub fn check(req: &rsipstack::sip::Request) -> Result<(), (u16, String)> {
    if req.version != rsipstack::sip::Version::V2 {
        return Err((
            505,
            format!("Version Not Supported ({} not SIP/2.0)", req.version),
        ));
    }
    check_request(req).map_err(|e| (400, e.0))
}

/// What is wrong with a SIP/2.0 request, if anything: the reason phrase of its 400.
pub fn check_request(req: &rsipstack::sip::Request) -> Result<(), headers::BadRequest> {
    use rsipstack::sip::prelude::*;
    let via = req
        .via_header()
        .map_err(|_| headers::BadRequest("Missing Via header".into()))?;
    via.typed()
        .map_err(|_| headers::BadRequest("Bad Via header".into()))?;
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
    // What the transaction layer reads with its stricter typed parser (issue 13 §10): refuse here
    // what it would otherwise drop without an answer.
    let bad = |what: &str| headers::BadRequest(format!("Bad {what} header"));
    req.cseq_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("CSeq"))?;
    req.from_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("From"))?;
    req.to_header()
        .and_then(|h| h.typed())
        .map_err(|_| bad("To"))?;
    TransactionKey::from_request(req, TransactionRole::Server)
        .map_err(|_| headers::BadRequest("Malformed Via, From, To, Call-ID or CSeq".into()))?;
    Ok(())
}

/// Transport inspector answering malformed requests with 400.
pub struct RejectMalformed;

#[async_trait]
impl TransportEventInspector for RejectMalformed {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        let TransportEvent::Incoming(SipMessage::Request(req), connection, from) = &event else {
            return Some(event);
        };
        let Err((code, reason)) = check(req) else {
            return Some(event);
        };
        tracing::warn!(src = %from, method = %req.method, reason = %build::reason_phrase(&reason), code, "malformed request answered");
        if code == 400 && reason.contains("Via") {
            // Nowhere to send a response (RFC 3261 §18.2.2 routes it by the top Via).
            return None;
        }
        let resp = build::response(req, code, Some(&reason), None, &[], None);
        if let Err(e) = connection
            .send(SipMessage::Response(resp), Some(from))
            .await
        {
            tracing::warn!(src = %from, error = %e, "cannot send 400");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_sip_versions_get_505_and_what_the_parser_refuses_400() {
        let mut req = build::request("OPTIONS", "sip:x@lab")
            .header("From", "<sip:a@lab>;tag=1")
            .header("To", "<sip:x@lab>")
            .header("Call-ID", "c")
            .header("CSeq", "1 OPTIONS")
            .build("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1")
            .unwrap();
        assert_eq!(check(&req), Ok(()));
        let mut extra = req.clone();
        extra
            .headers
            .retain(|h| !matches!(h, rsipstack::sip::Header::CSeq(_)));
        extra.headers.push(rsipstack::sip::headers::make_header(
            "CSeq",
            "1 OPTIONS extra".into(),
        ));
        assert_eq!(check(&extra), Err((400, "Bad CSeq header".into())));
        req.version = rsipstack::sip::Version::V(7, 0);
        let (code, reason) = check(&req).unwrap_err();
        assert_eq!(code, 505);
        assert!(reason.starts_with("Version Not Supported"), "{reason}");
    }
}
