//! message/cpim (RFC 3862): the message headers (`From`, `To`, `DateTime`, `NS`, and headers of
//! other name spaces written `prefix.Name`, §3.2), then the encapsulated MIME headers and the
//! content. Bounded by [`MAX_HEADERS`]; errors carry a reason for a `400`.

use super::BodyError;
use super::multipart::{find, header_lines};

/// Most header lines in each of the two header blocks.
pub const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cpim {
    /// Message headers in order (RFC 3862 §3).
    pub headers: Vec<(String, String)>,
    /// The encapsulated MIME headers (Content-Type, ...).
    pub content_headers: Vec<(String, String)>,
    pub content: Vec<u8>,
}

impl Cpim {
    /// Parse a message/cpim body. The content block may be absent (a CPIM message carrying
    /// only headers, as in the PoC join request); the message header block may not.
    pub fn parse(body: &[u8]) -> Result<Cpim, BodyError> {
        let (head, rest) = match find(body, b"\r\n\r\n", 0) {
            Some(i) => (&body[..i], &body[i + 4..]),
            None if body.ends_with(b"\r\n") => (&body[..body.len() - 2], &body[body.len()..]),
            None => return Err(BodyError::new("CPIM message headers not ended")),
        };
        let head =
            std::str::from_utf8(head).map_err(|_| BodyError::new("CPIM headers not UTF-8"))?;
        let headers = header_lines(head, MAX_HEADERS, "CPIM")?;
        if headers.is_empty() {
            return Err(BodyError::new("CPIM message without headers"));
        }
        let cpim = Cpim {
            headers,
            ..Cpim::default()
        };
        for (name, value) in &cpim.headers {
            if name.eq_ignore_ascii_case("NS") && ns_decl(value).is_none() {
                return Err(BodyError::new("bad CPIM NS header"));
            }
        }
        if rest.is_empty() {
            return Ok(cpim);
        }
        let (chead, content) = if rest.starts_with(b"\r\n") {
            (&rest[..0], &rest[2..])
        } else {
            match find(rest, b"\r\n\r\n", 0) {
                Some(i) => (&rest[..i], &rest[i + 4..]),
                None => (rest, &rest[rest.len()..]),
            }
        };
        let chead = std::str::from_utf8(chead)
            .map_err(|_| BodyError::new("CPIM content headers not UTF-8"))?;
        Ok(Cpim {
            content_headers: header_lines(chead, MAX_HEADERS, "CPIM content")?,
            content: content.to_vec(),
            ..cpim
        })
    }

    /// The value of a message header. `name` may be plain (`From`) or a name in another name
    /// space: `Conversation-ID` matches `Conversation-ID` and any `prefix.Conversation-ID`
    /// whose prefix an `NS` header declares (RFC 3862 §3.2).
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefixes: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("NS"))
            .filter_map(|(_, v)| ns_decl(v).map(|(p, _)| p.to_string()))
            .collect();
        self.headers.iter().find_map(|(n, v)| {
            let matches = n.eq_ignore_ascii_case(name)
                || n.split_once('.').is_some_and(|(p, rest)| {
                    rest.eq_ignore_ascii_case(name) && prefixes.iter().any(|d| d == p)
                });
            matches.then_some(v.as_str())
        })
    }

    /// Write the message: headers, blank line, then content headers and content if any.
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, v) in &self.headers {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !self.content_headers.is_empty() || !self.content.is_empty() {
            for (n, v) in &self.content_headers {
                out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&self.content);
        }
        out
    }
}

/// An `NS` header value, `prefix <uri>` (RFC 3862 §3.2 / §5.7): (prefix, uri).
fn ns_decl(value: &str) -> Option<(&str, &str)> {
    let (prefix, uri) = value.split_once('<')?;
    let uri = uri.strip_suffix('>')?;
    let prefix = prefix.trim();
    (!prefix.is_empty()
        && !uri.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some((prefix, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"From: <sip:alice@lab.example>\r\nTo: <sip:team@lab.example>\r\nNS: cpm <http://www.openmobilealliance.org/cpm/>\r\ncpm.Conversation-ID: c-1\r\ncpm.Contribution-ID: k-1\r\n\r\nContent-Type: text/plain\r\n\r\nhello";

    #[test]
    fn reads_headers_of_declared_name_spaces() {
        let c = Cpim::parse(MSG).unwrap();
        assert_eq!(c.header("from"), Some("<sip:alice@lab.example>"));
        assert_eq!(c.header("Conversation-ID"), Some("c-1"));
        assert_eq!(c.header("Contribution-ID"), Some("k-1"));
        assert_eq!(c.content, b"hello");
        assert_eq!(Cpim::parse(&c.write()).unwrap(), c);
        // An undeclared prefix is not the header.
        let c = Cpim::parse(b"x.Conversation-ID: c\r\n\r\n").unwrap();
        assert_eq!(c.header("Conversation-ID"), None);
        let c = Cpim::parse(b"Conversation-ID: c\r\n").unwrap();
        assert_eq!(c.header("Conversation-ID"), Some("c"));
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            &b""[..],
            b"\r\n\r\n",
            b"From <sip:a@x>\r\n\r\n",
            b"From: a",
            b"NS: nobracket\r\n\r\n",
            b"From: a\x01b\r\n\r\n",
            b"\xff\xfe: x\r\n\r\n",
        ] {
            assert!(
                Cpim::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for cut in 0..MSG.len() {
            let _ = Cpim::parse(&MSG[..cut]);
        }
    }
}
