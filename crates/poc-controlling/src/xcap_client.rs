//! The XCAP client (RFC 4825) that reads group documents from the group server: one bounded
//! HTTP/1.1 GET per fetch (`Connection: close`, the whole exchange within `xcap.timeout_ms`, the
//! answer at most `xcap.max_document_bytes` plus headers), our identity in
//! `X-XCAP-Asserted-Identity`. Documents are cached with their ETag and revalidated on every
//! join with `If-None-Match` (304: the cached copy stands; seed steps 303-304 and 310-311).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corelab_group_server::document::Group;
use corelab_group_server::tree::Element;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The AUID of PoC group documents (docs/group-server.md).
pub const AUID: &str = "org.openmobilealliance.poc-groups";

/// `http://host:port/path` split up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XcapRoot {
    pub authority: String,
    pub path: String,
}

impl XcapRoot {
    pub fn parse(root: &str) -> Option<XcapRoot> {
        let rest = root.strip_prefix("http://")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        (!authority.is_empty() && !authority.contains('@')).then(|| XcapRoot {
            authority: authority.into(),
            path: path.into(),
        })
    }

    /// The document URI's path of a group (the XUI is the group URI, the document `index`).
    pub fn document_path(&self, group_uri: &str) -> String {
        format!("{}/{AUID}/users/{group_uri}/index", self.path)
    }
}

/// Why a group could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The group server has no document for the group.
    #[error("no group document")]
    NotFound,
    #[error("group server: {0}")]
    Unavailable(String),
    #[error("group document: {0}")]
    Invalid(String),
}

pub struct XcapClient {
    root: XcapRoot,
    identity: String,
    timeout: Duration,
    max_bytes: usize,
    cache: Mutex<HashMap<String, (String, Arc<Group>)>>,
}

/// What one fetch did (for metrics and the demo: the XCAP exchange is visible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    Fresh,
    NotModified,
}

impl XcapClient {
    pub fn new(
        root: XcapRoot,
        identity: String,
        timeout: Duration,
        max_bytes: usize,
    ) -> XcapClient {
        XcapClient {
            root,
            identity,
            timeout,
            max_bytes,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, group_uri: &str) -> Option<(String, Arc<Group>)> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group_uri)
            .cloned()
    }

    /// The group's document, revalidated: GET with `If-None-Match` when cached.
    pub async fn group(&self, group_uri: &str) -> Result<(Arc<Group>, Fetched), FetchError> {
        let cached = self.cached(group_uri);
        let path = self.root.document_path(group_uri);
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-XCAP-Asserted-Identity: {}\r\n",
            self.root.authority, self.identity
        );
        if let Some((etag, _)) = &cached {
            req.push_str(&format!("If-None-Match: {etag}\r\n"));
        }
        req.push_str("\r\n");
        let answer = tokio::time::timeout(self.timeout, self.exchange(req.as_bytes()))
            .await
            .map_err(|_| FetchError::Unavailable("timeout".into()))??;
        let (status, etag, body) = parse_response(&answer)
            .ok_or_else(|| FetchError::Unavailable("unreadable HTTP answer".into()))?;
        match (status, cached) {
            (304, Some((_, group))) => Ok((group, Fetched::NotModified)),
            (200, _) => {
                let root = Element::parse_document(body)
                    .map_err(|e| FetchError::Invalid(format!("{e:?}")))?;
                let group = Group::validate(&root, group_uri)
                    .map_err(|e| FetchError::Invalid(format!("{e:?}")))?;
                let group = Arc::new(group);
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                match etag {
                    Some(etag) => cache.insert(group_uri.to_string(), (etag, group.clone())),
                    None => cache.remove(group_uri),
                };
                Ok((group, Fetched::Fresh))
            }
            (404, _) => {
                self.cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(group_uri);
                Err(FetchError::NotFound)
            }
            (s, _) => Err(FetchError::Unavailable(format!("status {s}"))),
        }
    }

    async fn exchange(&self, req: &[u8]) -> Result<Vec<u8>, FetchError> {
        let io = |e: std::io::Error| FetchError::Unavailable(e.to_string());
        let mut stream = tokio::net::TcpStream::connect(&self.root.authority)
            .await
            .map_err(io)?;
        stream.write_all(req).await.map_err(io)?;
        let limit = self.max_bytes + 16_384;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.map_err(io)?;
            if n == 0 {
                return Ok(buf);
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > limit {
                return Err(FetchError::Unavailable("answer too large".into()));
            }
            // Content-Length ends it before the close.
            if let Some((_, _, body, complete)) = split(&buf)
                && complete
            {
                let _ = body;
                return Ok(buf);
            }
        }
    }
}

/// (status, head, body, complete by Content-Length).
fn split(buf: &[u8]) -> Option<(u16, &str, &[u8], bool)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| head.strip_prefix("HTTP/1.0 "))?
        .get(..3)?
        .parse()
        .ok()?;
    let body = &buf[end + 4..];
    let length = header(head, "content-length").and_then(|v| v.parse::<usize>().ok());
    let complete = match length {
        Some(n) => body.len() >= n,
        None => status == 304 || status == 204,
    };
    let body = match length {
        Some(n) if body.len() >= n => &body[..n],
        _ => body,
    };
    Some((status, head, body, complete))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// (status, ETag, body) of a whole answer.
fn parse_response(buf: &[u8]) -> Option<(u16, Option<String>, &[u8])> {
    let (status, head, body, _) = split(buf)?;
    Some((status, header(head, "etag").map(str::to_string), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_document_path() {
        let r = XcapRoot::parse("http://127.0.0.1:8080/xcap/").unwrap();
        assert_eq!(r.authority, "127.0.0.1:8080");
        assert_eq!(
            r.document_path("sip:team@lab.example"),
            "/xcap/org.openmobilealliance.poc-groups/users/sip:team@lab.example/index"
        );
        assert!(XcapRoot::parse("https://x/").is_none());
        assert!(XcapRoot::parse("http:///x").is_none());
    }

    #[test]
    fn answers_read() {
        let a = b"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(
            parse_response(a),
            Some((200, Some("\"e1\"".into()), &b"abc"[..]))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 304 Not Modified\r\n\r\n")
                .unwrap()
                .0,
            304
        );
        assert!(parse_response(b"garbage").is_none());
        assert!(parse_response(b"HTTP/1.1 2\r\n\r\n").is_none());
    }
}
