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
pub fn response(
    req: &Request,
    code: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Response {
    let mut headers = req.headers.clone();
    headers.retain(|h| {
        matches!(
            h,
            rsipstack::sip::Header::Via(_)
                | rsipstack::sip::Header::CallId(_)
                | rsipstack::sip::Header::From(_)
                | rsipstack::sip::Header::To(_)
                | rsipstack::sip::Header::CSeq(_)
        )
    });
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
    let status_code = match reason {
        Some(r) if r != standard.text() => StatusCode::Other(code, r.to_string()),
        _ => standard,
    };
    Response {
        status_code,
        wire_reason: None,
        version: req.version,
        headers,
        body,
    }
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
    fn standard_phrase_when_no_reason() {
        let resp = response(&subscribe(), 200, None, Some("t"), &[], None);
        assert!(resp.to_string().starts_with("SIP/2.0 200 OK\r\n"));
    }
}
