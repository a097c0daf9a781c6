//! Redirects (RFC 6733 §6.1.7-6.1.8, §6.12-6.14): the policy a redirect
//! agent answers with, and the client side: following a 3006 answer and
//! caching the Redirect-Host per Redirect-Host-Usage.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corelab_diameter::header::FLAG_ERROR;
use corelab_diameter::{Message, ResultCode, RoutingView};
use tracing::{debug, info};

use crate::avps;
use crate::error::NodeError;
use crate::node::Inner;
use crate::routing::PeerTarget;
use crate::routing::Source;

/// What a cached redirect is keyed by (RFC 6733 §6.13), read from a request.
#[derive(Clone, Debug, Default)]
pub(crate) struct RouteKey {
    pub(crate) destination_host: Option<String>,
    pub(crate) destination_realm: Option<String>,
    pub(crate) application_id: u32,
    pub(crate) session_id: Option<String>,
    pub(crate) user_name: Option<String>,
}

impl RouteKey {
    pub(crate) fn of(bytes: &[u8]) -> Option<RouteKey> {
        let msg = Message::decode(bytes).ok()?;
        let view = RoutingView::new(&msg);
        Some(RouteKey {
            destination_host: view.destination_host_str().map(str::to_string),
            destination_realm: view.destination_realm_str().map(str::to_string),
            application_id: view.header.application_id,
            session_id: view.session_id_str().map(str::to_string),
            user_name: msg
                .find(crate::avps::USER_NAME, 0)
                .and_then(|a| a.as_utf8().ok())
                .map(str::to_string),
        })
    }
}

/// Redirect-Host-Usage values (RFC 6733 §6.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum RedirectHostUsage {
    /// Use the Redirect-Host for this request only.
    #[default]
    DontCache = 0,
    /// For every request of the same Session-Id.
    AllSession = 1,
    /// For every request to the same Destination-Realm.
    AllRealm = 2,
    /// For the same Destination-Realm and Application-Id.
    RealmAndApplication = 3,
    /// For the same Application-Id.
    AllApplication = 4,
    /// For the same Destination-Host.
    AllHost = 5,
    /// For the same User-Name.
    AllUser = 6,
}

impl RedirectHostUsage {
    /// From the AVP value; unknown values are treated as DONT_CACHE.
    pub fn from_i32(v: i32) -> RedirectHostUsage {
        use RedirectHostUsage::*;
        match v {
            1 => AllSession,
            2 => AllRealm,
            3 => RealmAndApplication,
            4 => AllApplication,
            5 => AllHost,
            6 => AllUser,
            _ => DontCache,
        }
    }

    /// The cache key of a request for this usage (`None`: not cacheable).
    fn key(self, k: &RouteKey) -> Option<String> {
        use RedirectHostUsage::*;
        let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_lowercase());
        match self {
            DontCache => None,
            AllSession => k.session_id.clone(),
            AllRealm => lower(&k.destination_realm),
            RealmAndApplication => {
                lower(&k.destination_realm).map(|r| format!("{r}/{}", k.application_id))
            }
            AllApplication => Some(k.application_id.to_string()),
            AllHost => lower(&k.destination_host),
            AllUser => k.user_name.clone(),
        }
    }
}

/// What a redirect agent puts in its 3006 answers.
#[derive(Clone, Debug)]
pub struct RedirectPolicy {
    /// Redirect-Host-Usage.
    pub usage: RedirectHostUsage,
    /// Redirect-Max-Cache-Time.
    pub max_cache_time: Duration,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            usage: RedirectHostUsage::RealmAndApplication,
            max_cache_time: Duration::from_secs(300),
        }
    }
}

/// Redirects learnt from 3006 answers (RFC 6733 §6.13), bounded: at most
/// `capacity` entries (the oldest go first) and no entry kept longer than
/// `max_ttl` whatever Redirect-Max-Cache-Time said. Free of IO: the caller
/// gives the time.
#[derive(Debug)]
pub(crate) struct RedirectCache {
    capacity: usize,
    max_ttl: Duration,
    entries: HashMap<(RedirectHostUsage, String), Entry>,
    /// Keys in insertion order, for eviction; may name replaced entries
    /// (their `seq` no longer matches).
    order: VecDeque<((RedirectHostUsage, String), u64)>,
    seq: u64,
}

#[derive(Debug)]
struct Entry {
    target: PeerTarget,
    expires: Instant,
    seq: u64,
}

/// Usages in the order a lookup tries them (most specific first).
const USAGES: [RedirectHostUsage; 6] = [
    RedirectHostUsage::AllSession,
    RedirectHostUsage::AllUser,
    RedirectHostUsage::AllHost,
    RedirectHostUsage::RealmAndApplication,
    RedirectHostUsage::AllRealm,
    RedirectHostUsage::AllApplication,
];

impl RedirectCache {
    pub(crate) fn new(capacity: usize, max_ttl: Duration) -> RedirectCache {
        RedirectCache {
            capacity,
            max_ttl,
            entries: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
        }
    }

    /// Entries held (expired ones included until looked up or evicted).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// No redirect cached (the common case: no lookup key to build).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn lookup(&mut self, now: Instant, k: &RouteKey) -> Option<PeerTarget> {
        if self.entries.is_empty() {
            return None;
        }
        for usage in USAGES {
            let Some(key) = usage.key(k) else { continue };
            let id = (usage, key);
            match self.entries.get(&id) {
                Some(e) if e.expires > now => return Some(e.target.clone()),
                Some(_) => {
                    self.entries.remove(&id);
                }
                None => {}
            }
        }
        None
    }

    pub(crate) fn insert(
        &mut self,
        now: Instant,
        usage: RedirectHostUsage,
        k: &RouteKey,
        target: PeerTarget,
        ttl: Duration,
    ) {
        let Some(key) = usage.key(k) else {
            return;
        };
        if self.capacity == 0 {
            return;
        }
        let ttl = ttl.min(self.max_ttl);
        self.seq += 1;
        let id = (usage, key);
        self.order.push_back((id.clone(), self.seq));
        self.entries.insert(
            id,
            Entry {
                target,
                expires: now + ttl,
                seq: self.seq,
            },
        );
        while self.entries.len() > self.capacity {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&old);
            }
        }
        // Replaced keys leave stale order records; keep them bounded too.
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order
                .retain(|(id, seq)| entries.get(id).is_some_and(|e| e.seq == *seq));
        }
    }
}

/// A 3006 answer's content.
struct Redirect {
    hosts: Vec<String>,
    usage: RedirectHostUsage,
    max_cache_time: Duration,
}

fn parse_redirect(answer: &[u8]) -> Option<Redirect> {
    let msg = Message::decode(answer).ok()?;
    if msg.header().flags & FLAG_ERROR == 0
        || msg.result_code() != Some(ResultCode::DIAMETER_REDIRECT_INDICATION)
    {
        return None;
    }
    let mut r = Redirect {
        hosts: Vec::new(),
        usage: RedirectHostUsage::DontCache,
        max_cache_time: Duration::ZERO,
    };
    for a in msg.avps() {
        if a.vendor_id() != 0 {
            continue;
        }
        match a.code() {
            avps::REDIRECT_HOST => r.hosts.extend(a.as_utf8().ok().map(str::to_string)),
            avps::REDIRECT_HOST_USAGE => {
                r.usage = RedirectHostUsage::from_i32(a.as_i32().unwrap_or(0));
            }
            avps::REDIRECT_MAX_CACHE_TIME => {
                r.max_cache_time = Duration::from_secs(a.as_u32().unwrap_or(0).into());
            }
            _ => {}
        }
    }
    Some(r)
}

/// Parses a DiameterURI (RFC 6733 §4.3.1) into host and port:
/// `aaa://host[:port][;transport=..][;protocol=..]`; default ports 3868
/// (aaa) and 5658 (aaas).
pub fn parse_diameter_uri(uri: &str) -> Option<(String, u16)> {
    let (rest, default_port) = if let Some(r) = uri.strip_prefix("aaas://") {
        (r, 5658)
    } else {
        (uri.strip_prefix("aaa://")?, 3868)
    };
    let hostport = rest.split(';').next()?;
    if let Some(v6) = hostport.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        let port = match p.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some((h.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((hostport.to_string(), default_port)),
    }
}

async fn target_of(uri: &str) -> Option<PeerTarget> {
    let (host, port) = parse_diameter_uri(uri)?;
    let addr: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .next()?;
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    Some(PeerTarget {
        addr,
        host: (!is_ip).then_some(host),
    })
}

/// How many redirects one request follows.
const MAX_REDIRECTS: usize = 3;

/// Routes `request`, sends it, and follows 3006 answers: connects to the
/// Redirect-Host (if not connected), re-sends, caches per Redirect-Host-Usage.
pub(crate) async fn request_following_redirects(
    inner: &Arc<Inner>,
    request: Vec<u8>,
) -> Result<Vec<u8>, NodeError> {
    let key = RouteKey::of(&request)
        .ok_or_else(|| NodeError::Encode("request does not decode".into()))?;
    let mut peer = crate::dispatch::next_peer(inner, &request, Source::Local, None, None)
        .await
        .map_err(|code| NodeError::Answer(code.0))?;
    for _ in 0..MAX_REDIRECTS {
        let answer = peer.request_bytes(request.clone()).await?;
        let Some(r) = parse_redirect(&answer) else {
            return Ok(answer);
        };
        let mut next = None;
        for uri in &r.hosts {
            let Some(t) = target_of(uri).await else {
                debug!(%uri, "Redirect-Host not usable");
                continue;
            };
            match inner.peer_for(&t).await {
                Ok(p) => {
                    info!(%uri, usage = ?r.usage, "following redirect");
                    crate::node::lock(&inner.redirects).insert(
                        crate::clock::now(),
                        r.usage,
                        &key,
                        t,
                        r.max_cache_time,
                    );
                    next = Some(p);
                    break;
                }
                Err(e) => debug!(%uri, error = %e, "Redirect-Host unreachable"),
            }
        }
        match next {
            Some(p) => peer = p,
            None => return Ok(answer),
        }
    }
    Err(NodeError::Answer(
        ResultCode::DIAMETER_REDIRECT_INDICATION.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diameter_uri_host_and_port() {
        assert_eq!(
            parse_diameter_uri("aaa://hpcrf.home.example:3869;transport=tcp"),
            Some(("hpcrf.home.example".into(), 3869))
        );
        assert_eq!(
            parse_diameter_uri("aaas://h.example"),
            Some(("h.example".into(), 5658))
        );
        assert_eq!(
            parse_diameter_uri("aaa://[::1]:4000;transport=tcp;protocol=diameter"),
            Some(("::1".into(), 4000))
        );
        assert_eq!(parse_diameter_uri("http://x"), None);
    }

    #[test]
    fn cache_keys_follow_redirect_host_usage() {
        let k = RouteKey {
            destination_realm: Some("Home.Example".into()),
            application_id: 4,
            session_id: Some("s;1".into()),
            ..RouteKey::default()
        };
        assert_eq!(
            RedirectHostUsage::RealmAndApplication.key(&k).as_deref(),
            Some("home.example/4")
        );
        assert_eq!(
            RedirectHostUsage::AllSession.key(&k).as_deref(),
            Some("s;1")
        );
        assert_eq!(RedirectHostUsage::DontCache.key(&k), None);
        let mut c = RedirectCache::new(16, Duration::from_secs(3600));
        let now = Instant::now();
        let t = PeerTarget::addr(SocketAddr::from(([127, 0, 0, 1], 1)));
        c.insert(
            now,
            RedirectHostUsage::AllRealm,
            &k,
            t.clone(),
            Duration::from_secs(60),
        );
        assert_eq!(c.lookup(now, &k), Some(t));
        assert_eq!(c.lookup(now + Duration::from_secs(61), &k), None);
        let other = RouteKey {
            destination_realm: Some("other.example".into()),
            ..k
        };
        assert_eq!(c.lookup(now, &other), None);
    }

    fn session(i: usize) -> RouteKey {
        RouteKey {
            session_id: Some(format!("pcef.example;1;{i}")),
            ..RouteKey::default()
        }
    }

    #[test]
    fn redirect_cache_keeps_at_most_its_capacity_and_forgets_the_oldest() {
        let mut c = RedirectCache::new(100, Duration::from_secs(3600));
        let now = Instant::now();
        let t = PeerTarget::addr(SocketAddr::from(([127, 0, 0, 1], 1)));
        // A peer answering 3006 ALL_SESSION for every session of a flood.
        for i in 0..10_000 {
            c.insert(
                now,
                RedirectHostUsage::AllSession,
                &session(i),
                t.clone(),
                Duration::from_secs(300),
            );
        }
        assert_eq!(c.len(), 100);
        assert!(c.order.len() <= 200);
        assert_eq!(c.lookup(now, &session(0)), None);
        assert_eq!(c.lookup(now, &session(9_999)), Some(t));
    }

    #[test]
    fn redirect_max_cache_time_is_capped() {
        let mut c = RedirectCache::new(100, Duration::from_secs(3600));
        let now = Instant::now();
        let t = PeerTarget::addr(SocketAddr::from(([127, 0, 0, 1], 1)));
        // Redirect-Max-Cache-Time 0xffffffff s (136 years).
        c.insert(
            now,
            RedirectHostUsage::AllSession,
            &session(1),
            t.clone(),
            Duration::from_secs(u32::MAX.into()),
        );
        assert_eq!(
            c.lookup(now + Duration::from_secs(3599), &session(1)),
            Some(t)
        );
        assert_eq!(c.lookup(now + Duration::from_secs(3601), &session(1)), None);
    }
}
