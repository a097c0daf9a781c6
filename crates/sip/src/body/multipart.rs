//! multipart/mixed bodies (RFC 2046 §5.1; in SIP, RFC 5621): the boundary read from the
//! Content-Type, parts split on `CRLF--boundary`, each part's headers and content; and the
//! writing side. Bounded: at most [`MAX_PARTS`] parts and [`MAX_PART_HEADERS`] headers per part,
//! so hostile input costs at most a linear scan. Errors carry a reason for a `400`.

use super::BodyError;

/// Most parts a body may have.
pub const MAX_PARTS: usize = 16;
/// Most header lines in one part.
pub const MAX_PART_HEADERS: usize = 32;

/// One body part: its headers (name as written, value trimmed) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub content: Vec<u8>,
}

impl Part {
    pub fn new(content_type: &str, content: impl Into<Vec<u8>>) -> Part {
        Part {
            headers: vec![("Content-Type".into(), content_type.into())],
            content: content.into(),
        }
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the part (`type/subtype`, lower case, no parameters); RFC 2046 §5.1:
    /// a part without Content-Type is `text/plain`.
    pub fn media_type(&self) -> String {
        media_type(self.header("Content-Type").unwrap_or("text/plain"))
    }
}

/// `type/subtype` of a Content-Type value, lower case, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `boundary` parameter of a multipart Content-Type (quotes removed), checked against
/// RFC 2046 §5.1.1 (1-70 characters, not ending in a space).
pub fn boundary(content_type: &str) -> Result<String, BodyError> {
    let value = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or_else(|| BodyError::new("multipart body without a boundary"))?;
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    if value.is_empty() || value.len() > 70 || value.ends_with(' ') || !value.chars().all(ok_char) {
        return Err(BodyError::new("bad multipart boundary"));
    }
    Ok(value)
}

/// Split a multipart body (RFC 2046 §5.1.1). The preamble and epilogue are ignored; the close
/// delimiter is required.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, BodyError> {
    let boundary = boundary(content_type)?;
    let dash = format!("--{boundary}");
    let delimiter = format!("\r\n{dash}");
    // The first delimiter may start the body (no preceding CRLF).
    let mut pos = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        find(body, delimiter.as_bytes(), 0)
            .ok_or_else(|| BodyError::new("multipart boundary not found"))?
            + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        // After a delimiter: "--" closes, else transport padding then CRLF.
        if body[pos..].starts_with(b"--") {
            return match parts.is_empty() {
                true => Err(BodyError::new("multipart body without parts")),
                false => Ok(parts),
            };
        }
        let line_end = find(body, b"\r\n", pos)
            .ok_or_else(|| BodyError::new("multipart delimiter line not ended"))?;
        if body[pos..line_end].iter().any(|b| !b" \t".contains(b)) {
            return Err(BodyError::new("text after a multipart delimiter"));
        }
        let start = line_end + 2;
        let end = find(body, delimiter.as_bytes(), start)
            .ok_or_else(|| BodyError::new("multipart close delimiter missing"))?;
        if parts.len() == MAX_PARTS {
            return Err(BodyError::new("too many multipart parts"));
        }
        parts.push(part(&body[start..end])?);
        pos = end + delimiter.len();
    }
}

fn part(raw: &[u8]) -> Result<Part, BodyError> {
    // A part with no headers starts with the blank line.
    let (head, content) = if raw.starts_with(b"\r\n") {
        (&raw[..0], &raw[2..])
    } else {
        let i = find(raw, b"\r\n\r\n", 0)
            .ok_or_else(|| BodyError::new("multipart part without a header end"))?;
        (&raw[..i], &raw[i + 4..])
    };
    let head =
        std::str::from_utf8(head).map_err(|_| BodyError::new("multipart part header not UTF-8"))?;
    let headers = header_lines(head, MAX_PART_HEADERS, "multipart part")?;
    Ok(Part {
        headers,
        content: content.to_vec(),
    })
}

/// `Name: value` lines (no folding), at most `max`; `what` names the place in errors.
pub(crate) fn header_lines(
    head: &str,
    max: usize,
    what: &str,
) -> Result<Vec<(String, String)>, BodyError> {
    let mut headers = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| BodyError::new(format!("bad {what} header line")))?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BodyError::new(format!("bad {what} header name")));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(BodyError::new(format!(
                "control character in a {what} header"
            )));
        }
        if headers.len() == max {
            return Err(BodyError::new(format!("too many {what} headers")));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(headers)
}

/// Write parts as a multipart/mixed body; returns (Content-Type, body). The boundary is
/// random and checked not to occur in any part.
pub fn write(parts: &[Part]) -> (String, Vec<u8>) {
    let mut boundary = format!("corelab-{}", crate::random_token(16));
    while parts
        .iter()
        .any(|p| find(&p.content, boundary.as_bytes(), 0).is_some())
    {
        boundary = format!("corelab-{}", crate::random_token(24));
    }
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (n, v) in &p.headers {
            body.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/mixed;boundary={boundary}"), body)
}

pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    memchr::memmem::find(&hay[from..], needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/mixed; boundary=\"b1\"";

    #[test]
    fn parses_rfc_2046_example_shape() {
        let body = b"preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1\r\n\r\nplain\r\n--b1--\r\nepilogue";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].media_type(), "application/sdp");
        assert_eq!(parts[0].content, b"v=0\r\n");
        assert_eq!(parts[1].media_type(), "text/plain");
        assert_eq!(parts[1].content, b"plain");
    }

    #[test]
    fn write_then_parse_round_trips() {
        let parts = vec![
            Part::new("application/sdp", "v=0\r\n"),
            Part::new("message/cpim", "From: <sip:a@x>\r\n\r\n"),
        ];
        let (ct, body) = write(&parts);
        assert_eq!(parse(&ct, &body).unwrap(), parts);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for (ct, body) in [
            ("multipart/mixed", &b"--b1\r\n\r\nx\r\n--b1--"[..]),
            (CT, b"no delimiter at all"),
            (CT, b"--b1\r\nContent-Type: a/b\r\n\r\nx"),
            (CT, b"--b1--\r\n"),
            (CT, b"--b1\r\nno header end\r\n--b1--"),
            (CT, b"--b1\r\nbad header\r\n\r\nx\r\n--b1--"),
            (CT, b"--b1junk\r\n\r\nx\r\n--b1--"),
            ("multipart/mixed;boundary=\"\"", b"--\r\n\r\n"),
        ] {
            assert!(
                parse(ct, body).is_err(),
                "{ct} {:?}",
                String::from_utf8_lossy(body)
            );
        }
        let many: String = (0..=MAX_PARTS)
            .map(|_| "--b1\r\n\r\nx\r\n")
            .collect::<String>()
            + "--b1--";
        assert!(
            parse(CT, many.as_bytes())
                .unwrap_err()
                .reason
                .contains("too many")
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let base = b"--b1\r\nContent-Type: a/b\r\n\r\nx\r\n--b1--".to_vec();
        for cut in 0..base.len() {
            let _ = parse(CT, &base[..cut]);
            let mut m = base.clone();
            m[cut] ^= 0xff;
            let _ = parse(CT, &m);
        }
    }
}
