//! The XCAP client (RFC 4825) that reads group documents from the group server: HTTP/1.1 GETs
//! on kept-alive connections (a pooled hyper client: no TCP handshake per join), the whole
//! exchange within `xcap.timeout_ms`, the body at most `xcap.max_document_bytes`, our identity in
//! `X-XCAP-Asserted-Identity`. Documents are cached with their ETag and the time their last
//! validation was **sent**; a join uses the cached copy as it is while that validation is younger
//! than `xcap.revalidate_ms`, and otherwise revalidates it with `If-None-Match` (304: the cached
//! copy stands; seed steps 303-304 and 310-311). A change made on the group server is therefore
//! seen by every join that starts more than `xcap.revalidate_ms` after it (docs/poc.md,
//! "Freshness of the group document").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corelab_group_server::document::Group;
use corelab_group_server::tree::Element;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The AUID of PoC group documents (docs/group-server.md).
pub const AUID: &str = "org.openmobilealliance.poc-groups";

/// How long an idle kept-alive connection stays in the pool (below the group server's default
/// `xcap.header_timeout_ms` of 10 s, after which it closes idle connections itself).
const POOL_IDLE: Duration = Duration::from_secs(5);

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

/// A cached document: its ETag, the parsed group, and when the request that last validated it
/// (200 or 304) was sent.
#[derive(Clone)]
struct Cached {
    etag: String,
    group: Arc<Group>,
    validated: Instant,
}

/// Whether a document whose last validation was sent at `validated` may be used at `now`
/// without asking the group server again: younger than `bound` (a zero bound: never).
pub fn is_fresh(validated: Instant, now: Instant, bound: Duration) -> bool {
    now.saturating_duration_since(validated) < bound
}

pub struct XcapClient {
    root: XcapRoot,
    identity: String,
    timeout: Duration,
    max_bytes: usize,
    revalidate: Duration,
    http: Client<HttpConnector, Full<Bytes>>,
    cache: Mutex<HashMap<String, Cached>>,
}

/// What one read did (for metrics and the demo: the XCAP exchange is visible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// 200: the document (first read, or changed since the cached copy).
    Fresh,
    /// 304: the cached copy revalidated.
    NotModified,
    /// The cached copy, validated less than `xcap.revalidate_ms` ago: no request.
    Cached,
}

impl XcapClient {
    /// `revalidate`: how long a validated copy is used without asking again (zero: every read
    /// asks).
    pub fn new(
        root: XcapRoot,
        identity: String,
        timeout: Duration,
        max_bytes: usize,
        revalidate: Duration,
    ) -> XcapClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector);
        XcapClient {
            root,
            identity,
            timeout,
            max_bytes,
            revalidate,
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, group_uri: &str) -> Option<Cached> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group_uri)
            .cloned()
    }

    /// The group's document: the cached copy while fresh, else a GET (with `If-None-Match`
    /// when cached).
    pub async fn group(&self, group_uri: &str) -> Result<(Arc<Group>, Fetched), FetchError> {
        let cached = self.cached(group_uri);
        let sent = Instant::now();
        if let Some(c) = &cached
            && is_fresh(c.validated, sent, self.revalidate)
        {
            return Ok((c.group.clone(), Fetched::Cached));
        }
        let etag = cached.as_ref().map(|c| c.etag.as_str());
        let (status, new_etag, body) =
            tokio::time::timeout(self.timeout, self.exchange(group_uri, etag))
                .await
                .map_err(|_| FetchError::Unavailable("timeout".into()))??;
        match (status, cached) {
            (304, Some(c)) => {
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(entry) = cache.get_mut(group_uri)
                    && entry.etag == c.etag
                    && entry.validated < sent
                {
                    entry.validated = sent;
                }
                Ok((c.group, Fetched::NotModified))
            }
            (200, _) => {
                let root = Element::parse_document(&body)
                    .map_err(|e| FetchError::Invalid(format!("{e:?}")))?;
                let group = Group::validate(&root, group_uri)
                    .map_err(|e| FetchError::Invalid(format!("{e:?}")))?;
                let group = Arc::new(group);
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                match new_etag {
                    Some(etag) => cache.insert(
                        group_uri.to_string(),
                        Cached {
                            etag,
                            group: group.clone(),
                            validated: sent,
                        },
                    ),
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

    /// One GET on a pooled connection: (status, ETag, body). A request that fails on a reused
    /// connection (the group server closed it while idle) is sent once more: a GET is safe to
    /// repeat.
    async fn exchange(
        &self,
        group_uri: &str,
        etag: Option<&str>,
    ) -> Result<(u16, Option<String>, Bytes), FetchError> {
        let uri = format!(
            "http://{}{}",
            self.root.authority,
            self.root.document_path(group_uri)
        );
        let request = || {
            let mut b = hyper::Request::get(uri.as_str())
                .header("X-XCAP-Asserted-Identity", self.identity.as_str());
            if let Some(etag) = etag {
                b = b.header(hyper::header::IF_NONE_MATCH, etag);
            }
            b.body(Full::new(Bytes::new()))
                .map_err(|e| FetchError::Invalid(format!("request for {group_uri:?}: {e}")))
        };
        let response = match self.http.request(request()?).await {
            Ok(r) => r,
            Err(first) if !first.is_connect() => self
                .http
                .request(request()?)
                .await
                .map_err(|e| FetchError::Unavailable(format!("{e} (after {first})")))?,
            Err(e) => return Err(FetchError::Unavailable(e.to_string())),
        };
        let status = response.status().as_u16();
        let new_etag = response
            .headers()
            .get(hyper::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = Limited::new(response.into_body(), self.max_bytes)
            .collect()
            .await
            .map_err(|e| FetchError::Unavailable(format!("answer: {e}")))?
            .to_bytes();
        Ok((status, new_etag, body))
    }
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
    fn a_validated_copy_is_fresh_for_the_bound_only() {
        let t0 = Instant::now();
        let bound = Duration::from_millis(200);
        assert!(is_fresh(t0, t0, bound));
        assert!(is_fresh(t0, t0 + Duration::from_millis(199), bound));
        assert!(!is_fresh(t0, t0 + bound, bound), "at the bound: ask again");
        assert!(!is_fresh(t0, t0 + Duration::from_secs(5), bound));
        assert!(!is_fresh(t0, t0, Duration::ZERO), "zero: every read asks");
    }
}
