//! Requests and responses written as SIP text and parsed back into rsipstack's types.
//!
//! Writing the message as text keeps what we send readable (it looks like the RFC examples) and
//! lets one function own the header order; parsing it back means we never send what rsipstack
//! could not itself read.

use rsipstack::sip::{Request, Response, StatusCode};

use crate::headers;

/// A request under construction. `Via`, `Max-Forwards` and `Content-Length` are added by
/// [`RequestBuilder::build`]; the caller gives everything else.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

pub fn request(method: &str, uri: &str) -> RequestBuilder {
    RequestBuilder {
        method: method.to_string(),
        uri: uri.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl RequestBuilder {
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn header_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.to_string()));
        self.body = body.into();
        self
    }

    /// Finish with our `Via` (e.g. `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK…;rport`).
    pub fn build(self, via: &str) -> Result<Request, rsipstack::sip::Error> {
        let mut text = format!(
            "{} {} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n",
            self.method, self.uri
        );
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&self.body);
        Request::try_from(bytes.as_slice())
    }
}

/// A response to `req` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied; `to_tag` added
/// to To when it has none and the response is final; `reason` replaces the standard phrase.
/// A response that establishes a dialog (101-299 to an INVITE outside a dialog) also carries the
/// request's Record-Route values, in order (§12.1.1), so that the caller's route set takes in
/// the proxies that record-routed.
pub fn response(
    req: &Request,
    code: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Response {
    let mut headers = req.headers.clone();
    let establishes_dialog = req.method == rsipstack::sip::Method::Invite
        && (101..300).contains(&code)
        && matches!(headers::to_uri_and_tag(req), Ok((_, None)));
    headers.retain(|h| {
        matches!(
            h,
            rsipstack::sip::Header::Via(_)
                | rsipstack::sip::Header::CallId(_)
                | rsipstack::sip::Header::From(_)
                | rsipstack::sip::Header::To(_)
                | rsipstack::sip::Header::CSeq(_)
        ) || (establishes_dialog && matches!(h, rsipstack::sip::Header::RecordRoute(_)))
    });
    // Copied headers carry no control characters (a bare CR would end the line on the wire).
    for h in headers.iter_mut() {
        let value = h.value().to_string();
        if value.chars().any(|c| c.is_control() && c != '\t') {
            *h = rsipstack::sip::headers::make_header(h.name(), escape_controls(&value));
        }
    }
    if code >= 200
        && let (Some(tag), Ok((_, None))) = (to_tag, headers::to_uri_and_tag(req))
    {
        for h in headers.iter_mut() {
            if let rsipstack::sip::Header::To(to) = h {
                let with_tag = format!("{};tag={tag}", to.value());
                *to = rsipstack::sip::headers::untyped::To::new(with_tag);
            }
        }
    }
    for (name, value) in extra {
        headers.push(rsipstack::sip::headers::make_header(name, value.clone()));
    }
    let body = match body {
        Some((content_type, bytes)) => {
            headers.push(rsipstack::sip::headers::make_header(
                "Content-Type",
                content_type.to_string(),
            ));
            bytes
        }
        None => Vec::new(),
    };
    headers.push(rsipstack::sip::headers::make_header(
        "Content-Length",
        body.len().to_string(),
    ));
    let standard = StatusCode::from(code);
    let status_code = match reason.map(reason_phrase) {
        Some(r) if r != standard.text() => StatusCode::Other(code, r),
        _ => standard,
    };
    Response {
        status_code,
        wire_reason: None,
        // We speak SIP/2.0 whatever the request claims (RFC 3261 §7.1; others get 505).
        version: rsipstack::sip::Version::V2,
        headers,
        body,
    }
}

/// Longest reason phrase we send, in bytes: enough for a sentence, not for a request's worth of
/// echoed text.
pub const MAX_REASON_BYTES: usize = 160;

/// A reason phrase safe to put on a status line (RFC 3261 §25.1: `Reason-Phrase = *(reserved /
/// unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB)`): control characters (CR, LF,
/// NUL, DEL, ...) and `%` itself are written as `%XX` escapes, so that request text quoted in a
/// reason can never end the status line or add a header; cut at [`MAX_REASON_BYTES`].
pub fn reason_phrase(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_REASON_BYTES));
    for c in text.chars() {
        let piece = if c.is_control() && c != '\t' || c == '%' {
            let mut utf8 = [0u8; 4];
            c.encode_utf8(&mut utf8)
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect()
        } else {
            c.to_string()
        };
        if out.len() + piece.len() > MAX_REASON_BYTES {
            out.push_str("...");
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// `text` with control characters but HTAB written as `%XX`.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            let mut utf8 = [0u8; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A response to a request that could be framed but not parsed, written from its raw header
/// section: the status line, then the request's Via, From, To, Call-ID and CSeq lines as they
/// came (RFC 3261 §8.2.6.2), each only if it is clean text. `None` when the bytes are not a
/// request or carry no usable Via (nowhere to send an answer, §18.2.2).
pub fn raw_response(head: &[u8], code: u16, reason: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // Cut at the first non-UTF-8 byte: the start line and early headers may still serve.
        let valid = std::str::from_utf8(head).err()?.valid_up_to();
        std::str::from_utf8(&head[..valid]).ok()
    })?;
    let mut lines = text.split("\r\n");
    let start = lines.next()?;
    let mut parts = start.split(' ');
    let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    };
    if !is_token(method) || uri.is_empty() || !version.starts_with("SIP/") {
        return None;
    }
    let mut copied = String::new();
    let mut has_via = false;
    for line in lines {
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let wanted = matches!(
            name.as_str(),
            "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq"
        );
        if !wanted
            || line.starts_with([' ', '\t'])
            || line.chars().any(|c| c.is_control() && c != '\t')
        {
            continue;
        }
        has_via |= name == "via" || name == "v";
        copied.push_str(line);
        copied.push_str("\r\n");
    }
    if !has_via {
        return None;
    }
    let reason = reason_phrase(reason);
    Some(format!("SIP/2.0 {code} {reason}\r\n{copied}Content-Length: 0\r\n\r\n").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscribe() -> Request {
        request("SUBSCRIBE", "sip:bob@lab")
            .header("From", "<sip:alice@lab>;tag=a1")
            .header("To", "<sip:bob@lab>")
            .header("Call-ID", "c1@lab")
            .header("CSeq", "1 SUBSCRIBE")
            .header("Event", "presence")
            .build("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx1")
            .unwrap()
    }

    fn invite(to: &str) -> Request {
        request("INVITE", "sip:team@lab")
            .header("Record-Route", "<sip:pf.a.lab;lr>")
            .header("From", "<sip:alice@lab>;tag=a1")
            .header("To", to)
            .header("Record-Route", "<sip:edge.a.lab;lr;transport=tcp>")
            .header("Call-ID", "c2@lab")
            .header("CSeq", "1 INVITE")
            .build("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx2")
            .unwrap()
    }

    fn record_routes(resp: &Response) -> Vec<String> {
        resp.to_string()
            .lines()
            .filter_map(|l| l.strip_prefix("Record-Route: ").map(str::to_string))
            .collect()
    }

    #[test]
    fn dialog_establishing_responses_copy_record_route_in_order() {
        let both = ["<sip:pf.a.lab;lr>", "<sip:edge.a.lab;lr;transport=tcp>"];
        for code in [180, 200] {
            let resp = response(&invite("<sip:team@lab>"), code, None, Some("t"), &[], None);
            assert_eq!(record_routes(&resp), both, "{resp}");
        }
        // Not for a refusal, a re-INVITE (the route set is fixed) or another method.
        let refused = response(&invite("<sip:team@lab>"), 403, None, Some("t"), &[], None);
        assert!(record_routes(&refused).is_empty(), "{refused}");
        let trying = response(&invite("<sip:team@lab>"), 100, None, None, &[], None);
        assert!(record_routes(&trying).is_empty(), "{trying}");
        let reinvite = response(&invite("<sip:team@lab>;tag=t"), 200, None, None, &[], None);
        assert!(record_routes(&reinvite).is_empty(), "{reinvite}");
    }

    #[test]
    fn response_carries_reason_and_tag() {
        let resp = response(
            &subscribe(),
            400,
            Some("Missing Event header"),
            Some("srv1"),
            &[("Warning", "399 lab \"x\"".into())],
            None,
        );
        let text = resp.to_string();
        assert!(
            text.starts_with("SIP/2.0 400 Missing Event header\r\n"),
            "{text}"
        );
        assert!(text.contains("tag=srv1"), "{text}");
        assert!(text.contains("Call-ID: c1@lab"), "{text}");
        assert!(text.contains("Content-Length: 0"), "{text}");
    }

    #[test]
    fn reason_phrase_cannot_add_a_header() {
        let resp = response(
            &subscribe(),
            403,
            Some("Forbidden (sip:a\rX-Injected: yes\r\nX-Two: 2 100%)"),
            None,
            &[],
            None,
        );
        let text = resp.to_string();
        let status = text.split("\r\n").next().unwrap();
        assert_eq!(
            status,
            "SIP/2.0 403 Forbidden (sip:a%0DX-Injected: yes%0D%0AX-Two: 2 100%25)"
        );
        assert!(!text.contains("\rX-Injected"), "{text:?}");
        let long = reason_phrase(&"x".repeat(1000));
        assert!(long.len() <= MAX_REASON_BYTES + 3, "{}", long.len());
    }

    #[test]
    fn response_is_sip_2_0_whatever_the_request_says() {
        let mut req = subscribe();
        req.version = rsipstack::sip::Version::V(7, 0);
        let resp = response(&req, 505, None, None, &[], None);
        assert!(resp.to_string().starts_with("SIP/2.0 505 "), "{resp}");
    }

    #[test]
    fn raw_response_copies_only_clean_addressing_lines() {
        let head = b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x\rX-Bad: 1>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS extra\r\nX-Other: y\r\n\r\n";
        let resp = String::from_utf8(raw_response(head, 400, "Bad\r\nCSeq").unwrap()).unwrap();
        assert_eq!(
            resp,
            "SIP/2.0 400 Bad%0D%0ACSeq\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS extra\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(
            raw_response(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", 400, "x"),
            None
        );
        assert_eq!(
            raw_response(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: c\r\n\r\n", 400, "x"),
            None
        );
    }

    #[test]
    fn standard_phrase_when_no_reason() {
        let resp = response(&subscribe(), 200, None, Some("t"), &[], None);
        assert!(resp.to_string().starts_with("SIP/2.0 200 OK\r\n"));
    }
}
