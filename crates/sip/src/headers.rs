//! Reading SIP headers the way the event framework (RFC 6665) needs them.

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Request, Response};

/// A request we cannot act on: answered `400 <reason>` (RFC 3261 §8.2, §21.4.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// The `Event` header (RFC 6665 §8.2.1): package name and optional `id` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub package: String,
    pub id: Option<String>,
}

impl Event {
    pub fn parse(value: &str) -> Result<Event, BadRequest> {
        let mut parts = value.split(';');
        let package = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if package.is_empty()
            || !package
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c))
        {
            return Err(BadRequest(format!("Bad Event header {value:?}")));
        }
        let id = parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("id")
                .then(|| v.trim().to_string())
        });
        Ok(Event { package, id })
    }

    /// Header value as sent: `presence` or `presence;id=7`.
    pub fn to_header_value(&self) -> String {
        match &self.id {
            Some(id) => format!("{};id={id}", self.package),
            None => self.package.clone(),
        }
    }
}

/// Value of the first header called `name` (case-insensitive, compact forms known to the parser).
pub fn value<M: HeadersExt>(msg: &M, name: &str) -> Option<String> {
    msg.header_value(name)
}

/// `Event` of a request; `None` when absent.
pub fn event(req: &Request) -> Result<Option<Event>, BadRequest> {
    value(req, "Event").map(|v| Event::parse(&v)).transpose()
}

/// `Expires` as seconds; `None` when absent (RFC 3261 §20.19: a decimal integer).
pub fn expires<M: HeadersExt>(msg: &M) -> Result<Option<u32>, BadRequest> {
    match value(msg, "Expires") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| BadRequest(format!("Bad Expires header {v:?}"))),
    }
}

/// The URI inside a name-addr or addr-spec: `"Bob" <sip:bob@lab>;tag=1` → `sip:bob@lab`.
pub fn uri_of(name_addr: &str) -> Option<String> {
    let s = name_addr.trim();
    let uri = match (s.find('<'), s.find('>')) {
        (Some(open), Some(close)) if close > open => &s[open + 1..close],
        (None, None) => s.split(';').next().unwrap_or(""),
        _ => return None,
    };
    let uri = uri.trim();
    (uri.starts_with("sip:") || uri.starts_with("sips:") || uri.starts_with("tel:"))
        .then(|| uri.to_string())
}

/// A header parameter after the URI part: `tag` of `<sip:bob@lab>;tag=1` → `1`.
pub fn param(name_addr: &str, name: &str) -> Option<String> {
    let after = match name_addr.rfind('>') {
        Some(i) => &name_addr[i + 1..],
        None => name_addr
            .split_once(';')
            .map(|(_, rest)| rest)
            .unwrap_or(""),
    };
    after.split(';').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The address-of-record of a URI: scheme, user and host, without port, parameters or headers
/// (RFC 3261 §10.3 step 5 canonicalisation, simplified: lower-case host).
pub fn aor(uri: &str) -> String {
    let uri = uri.split(['?', ';']).next().unwrap_or(uri);
    let (scheme, rest) = uri.split_once(':').unwrap_or(("sip", uri));
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    match user {
        Some(u) => format!("{scheme}:{u}@{host}"),
        None => format!("{scheme}:{host}"),
    }
}

/// A request's From URI and tag; a missing tag is a bad request (RFC 3261 §8.1.1.3).
pub fn from_uri_and_tag(req: &Request) -> Result<(String, String), BadRequest> {
    let from = value(req, "From").ok_or_else(|| BadRequest("Missing From header".into()))?;
    let uri = uri_of(&from).ok_or_else(|| BadRequest(format!("Bad From header {from:?}")))?;
    let tag = param(&from, "tag").ok_or_else(|| BadRequest("Missing From tag".into()))?;
    // tag = token, one character at least (RFC 3261 §25.1).
    if tag.is_empty() {
        return Err(BadRequest("Empty From tag".into()));
    }
    Ok((uri, tag))
}

/// A request's To URI and optional tag; a `tag` parameter without a value is a bad request.
pub fn to_uri_and_tag(req: &Request) -> Result<(String, Option<String>), BadRequest> {
    let to = value(req, "To").ok_or_else(|| BadRequest("Missing To header".into()))?;
    let uri = uri_of(&to).ok_or_else(|| BadRequest(format!("Bad To header {to:?}")))?;
    match param(&to, "tag") {
        Some(tag) if tag.is_empty() => Err(BadRequest("Empty To tag".into())),
        tag => Ok((uri, tag)),
    }
}

/// Call-ID of a message.
pub fn call_id<M: HeadersExt>(msg: &M) -> Result<String, BadRequest> {
    value(msg, "Call-ID").ok_or_else(|| BadRequest("Missing Call-ID header".into()))
}

/// CSeq number and method.
pub fn cseq<M: HeadersExt>(msg: &M) -> Result<(u32, String), BadRequest> {
    let v = value(msg, "CSeq").ok_or_else(|| BadRequest("Missing CSeq header".into()))?;
    let mut parts = v.split_whitespace();
    let seq = parts
        .next()
        .and_then(|n| n.parse::<u32>().ok())
        .ok_or_else(|| BadRequest(format!("Bad CSeq header {v:?}")))?;
    let method = parts
        .next()
        .ok_or_else(|| BadRequest(format!("Bad CSeq header {v:?}")))?;
    Ok((seq, method.to_string()))
}

/// The first Contact URI, if any.
pub fn contact_uri<M: HeadersExt>(msg: &M) -> Option<String> {
    value(msg, "Contact").and_then(|c| uri_of(&c))
}

/// Every value of a header that may repeat or hold a comma-separated list (Record-Route, Route).
pub fn all_values<M: HeadersExt>(msg: &M, name: &str) -> Vec<String> {
    msg.headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .flat_map(|h| split_list(h.value()))
        .collect()
}

/// Split a comma-separated header list, ignoring commas inside `<…>` and quotes.
pub fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(value[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = value[start..].trim();
    if !last.is_empty() {
        out.push(last.to_string());
    }
    out
}

/// `Subscription-State` (RFC 6665 §8.2.3): state and the `reason` parameter.
pub fn subscription_state(msg: &Request) -> Option<(String, Option<String>)> {
    let v = value(msg, "Subscription-State")?;
    let state = v.split(';').next()?.trim().to_ascii_lowercase();
    Some((state, param(&format!(">{v}"), "reason")))
}

/// Content-Type of a message, lower-cased, without parameters.
pub fn content_type<M: HeadersExt>(msg: &M) -> Option<String> {
    value(msg, "Content-Type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// The address a request came from: the top Via's `received` parameter (the transport adds it
/// when the packet's source differs from the Via's sent-by, RFC 3261 §18.2.1), else the sent-by
/// host itself.
pub fn source_ip(req: &Request) -> Option<std::net::IpAddr> {
    let via = value(req, "Via")?;
    let top = split_list(&via).into_iter().next()?;
    if let Some(received) = param(&format!(">{top}"), "received") {
        return received.trim_matches(['[', ']']).parse().ok();
    }
    let sent_by = top.split_whitespace().nth(1)?.split(';').next()?;
    let host = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => sent_by.split(':').next()?,
    };
    host.parse().ok()
}

/// Status code of a response as a number.
pub fn status(resp: &Response) -> u16 {
    resp.status_code.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_with_id() {
        let e = Event::parse("Presence ; id=7").unwrap();
        assert_eq!(e.package, "presence");
        assert_eq!(e.id.as_deref(), Some("7"));
        assert_eq!(e.to_header_value(), "presence;id=7");
        assert!(Event::parse("").is_err());
        assert!(Event::parse("pres ence").is_err());
    }

    #[test]
    fn name_addr_parts() {
        let v = "\"Bob\" <sip:bob@lab.example;transport=tcp>;tag=abc";
        assert_eq!(
            uri_of(v).as_deref(),
            Some("sip:bob@lab.example;transport=tcp")
        );
        assert_eq!(param(v, "tag").as_deref(), Some("abc"));
        assert_eq!(uri_of("sip:bob@lab;tag=1").as_deref(), Some("sip:bob@lab"));
        assert_eq!(param("sip:bob@lab;tag=1", "tag").as_deref(), Some("1"));
        assert_eq!(uri_of("<bob@lab>"), None);
    }

    #[test]
    fn aor_drops_port_and_params() {
        assert_eq!(
            aor("sip:Bob@LAB.example:5070;transport=tcp"),
            "sip:Bob@lab.example"
        );
        assert_eq!(aor("sip:lab.example"), "sip:lab.example");
    }

    #[test]
    fn source_ip_prefers_received() {
        use crate::build::request;
        let req = |via: &str| {
            request("REGISTER", "sip:lab")
                .header("From", "<sip:a@lab>;tag=1")
                .header("To", "<sip:a@lab>")
                .header("Call-ID", "x")
                .header("CSeq", "1 REGISTER")
                .build(via)
                .unwrap()
        };
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        assert_eq!(
            source_ip(&req(
                "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1;received=127.0.0.2"
            )),
            ip("127.0.0.2")
        );
        assert_eq!(
            source_ip(&req("SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bK1")),
            ip("127.0.0.3")
        );
    }

    #[test]
    fn list_split_keeps_uris_whole() {
        assert_eq!(
            split_list("<sip:a@x;lr>, <sip:b@y,z;lr>"),
            vec!["<sip:a@x;lr>", "<sip:b@y,z;lr>"]
        );
    }
}
