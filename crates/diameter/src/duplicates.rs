//! Duplicate request detection (RFC 6733 §3, End-to-End Identifier; §5.5.4
//! failover with the T flag), free of IO.
//!
//! "The combination of the Origin-Host and this field is used to detect
//! duplicates. Duplicate requests SHOULD cause the same answer to be
//! transmitted (modulo the Hop-by-Hop Identifier field and any routing AVPs
//! that may be present), and MUST NOT affect any state that was set when the
//! original request was processed." (§3)
//!
//! The server side records every request it hands to its application under
//! (Origin-Host, End-to-End id), then the answer. A request seen again within
//! the window is not given to the application: [`Seen::Answered`] carries the
//! stored answer with the new request's Hop-by-Hop id; [`Seen::InProgress`]
//! means the first copy is still being answered (the duplicate is dropped;
//! the first answer goes back on the connection the first copy came in on).
//!
//! Memory is bounded: entries older than the window, or beyond `capacity`
//! (oldest first), are forgotten. The key is a 64-bit hash of Origin-Host and
//! the End-to-End id, so a request costs no allocation until its answer is
//! stored.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use crate::codes::avp;
use crate::header::{FLAG_REQUEST, HEADER_LEN};
use crate::message::Message;

/// What a request is, as far as duplicates go.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// First time: hand it to the application, then call [`DuplicateCache::answered`]
    /// with the key (`None`: not a request with an Origin-Host, nothing recorded).
    New(Option<RequestKey>),
    /// A duplicate whose first copy is still being answered: drop it.
    InProgress,
    /// A duplicate of an answered request: send these bytes (the stored
    /// answer with this request's Hop-by-Hop id).
    Answered(Vec<u8>),
}

#[derive(Debug)]
enum Entry {
    InProgress,
    Answered(Vec<u8>),
}

/// A request's (Origin-Host, End-to-End id), hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKey(u64);

/// Recently received requests by (Origin-Host, End-to-End id).
#[derive(Debug)]
pub struct DuplicateCache {
    window: Duration,
    capacity: usize,
    entries: HashMap<u64, Entry>,
    /// Insertion order, for expiry and the capacity bound.
    order: VecDeque<(Instant, u64)>,
}

impl DuplicateCache {
    /// A cache remembering requests for `window` (RFC 6733 §3 asks senders to
    /// keep (Origin-Host, End-to-End) unique for at least 4 minutes), at most
    /// `capacity` of them.
    pub fn new(window: Duration, capacity: usize) -> DuplicateCache {
        DuplicateCache {
            window,
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Requests remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Classifies a request received at `now` and, when new, records it as in
    /// progress. A message that is not a decodable request is `New` (the
    /// caller's own checks answer it).
    pub fn check(&mut self, now: Instant, request: &[u8]) -> Seen {
        self.expire(now);
        let Some(key) = key_of(request) else {
            return Seen::New(None);
        };
        match self.entries.get(&key) {
            Some(Entry::InProgress) => Seen::InProgress,
            Some(Entry::Answered(answer)) => {
                let mut answer = answer.clone();
                answer[12..16].copy_from_slice(&request[12..16]);
                Seen::Answered(answer)
            }
            None => {
                if self.entries.len() >= self.capacity
                    && let Some((_, oldest)) = self.order.pop_front()
                {
                    self.entries.remove(&oldest);
                }
                self.entries.insert(key, Entry::InProgress);
                self.order.push_back((now, key));
                Seen::New(Some(RequestKey(key)))
            }
        }
    }

    /// Stores the answer sent to the request [`Self::check`] returned `key` for.
    pub fn answered(&mut self, key: RequestKey, answer: &[u8]) {
        if answer.len() < HEADER_LEN {
            return;
        }
        if let Some(entry) = self.entries.get_mut(&key.0) {
            *entry = Entry::Answered(answer.to_vec());
        }
    }

    /// Forgets a request that got no answer (the application gave none), so
    /// that a retransmission is handled afresh.
    pub fn forget(&mut self, key: RequestKey) {
        if matches!(self.entries.get(&key.0), Some(Entry::InProgress)) {
            self.entries.remove(&key.0);
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.order.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            self.order.pop_front();
            self.entries.remove(&key);
        }
    }
}

/// Hash of (Origin-Host, End-to-End id) of a request; `None` when `bytes` is
/// not a request with an Origin-Host.
fn key_of(bytes: &[u8]) -> Option<u64> {
    let msg = Message::decode(bytes).ok()?;
    let header = msg.header();
    if header.flags & FLAG_REQUEST == 0 {
        return None;
    }
    let origin_host = msg.find(avp::ORIGIN_HOST, 0)?.data();
    let mut h = DefaultHasher::new();
    origin_host.hash(&mut h);
    header.end_to_end.hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{AvpBuf, MessageBuilder};
    use crate::codes::{app, cmd};
    use crate::header::FLAG_RETRANSMIT;

    fn ccr(origin_host: &str, hbh: u32, e2e: u32, flags: u8) -> Vec<u8> {
        let mut b = MessageBuilder::request(cmd::CREDIT_CONTROL, app::GX)
            .avp(AvpBuf::utf8(avp::SESSION_ID, "pcef;1;1"))
            .avp(AvpBuf::identity(avp::ORIGIN_HOST, origin_host))
            .avp(AvpBuf::identity(avp::ORIGIN_REALM, "example.net"));
        b.hop_by_hop = hbh;
        b.end_to_end = e2e;
        b.flags |= flags;
        b.encode().unwrap_or_default()
    }

    fn answer_to(request: &[u8]) -> Vec<u8> {
        let mut a = request.to_vec();
        a[4] &= !(FLAG_REQUEST | FLAG_RETRANSMIT);
        a
    }

    #[test]
    fn a_retransmission_gets_the_same_answer_with_its_own_hop_by_hop() {
        let mut c = DuplicateCache::new(Duration::from_secs(240), 16);
        let t0 = Instant::now();
        let first = ccr("pcef.example.net", 1, 77, 0);
        let Seen::New(Some(key)) = c.check(t0, &first) else {
            panic!("expected a new request");
        };
        let again = ccr("pcef.example.net", 9, 77, FLAG_RETRANSMIT);
        assert_eq!(c.check(t0, &again), Seen::InProgress);
        let answer = answer_to(&first);
        c.answered(key, &answer);
        let Seen::Answered(resent) = c.check(t0 + Duration::from_secs(1), &again) else {
            panic!("expected the stored answer");
        };
        assert_eq!(&resent[12..16], &9u32.to_be_bytes());
        assert_eq!(resent[16..], answer[16..]);
        assert_eq!(resent[..12], answer[..12]);
    }

    #[test]
    fn origin_host_and_end_to_end_together_make_the_key() {
        let mut c = DuplicateCache::new(Duration::from_secs(240), 16);
        let t0 = Instant::now();
        assert!(matches!(
            c.check(t0, &ccr("a.example.net", 1, 5, 0)),
            Seen::New(Some(_))
        ));
        assert!(matches!(
            c.check(t0, &ccr("b.example.net", 2, 5, 0)),
            Seen::New(Some(_))
        ));
        assert!(matches!(
            c.check(t0, &ccr("a.example.net", 3, 6, 0)),
            Seen::New(Some(_))
        ));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn entries_expire_after_the_window_and_capacity_evicts_the_oldest() {
        let mut c = DuplicateCache::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        let r1 = ccr("a.example.net", 1, 1, 0);
        assert!(matches!(c.check(t0, &r1), Seen::New(Some(_))));
        assert!(matches!(
            c.check(t0 + Duration::from_secs(11), &r1),
            Seen::New(Some(_))
        ));
        let r2 = ccr("a.example.net", 2, 2, 0);
        let r3 = ccr("a.example.net", 3, 3, 0);
        assert!(matches!(
            c.check(t0 + Duration::from_secs(11), &r2),
            Seen::New(Some(_))
        ));
        assert!(matches!(
            c.check(t0 + Duration::from_secs(11), &r3),
            Seen::New(Some(_))
        ));
        assert_eq!(c.len(), 2);
        // r1 (the oldest) was evicted: it is new again.
        assert!(matches!(
            c.check(t0 + Duration::from_secs(11), &r1),
            Seen::New(Some(_))
        ));
    }

    #[test]
    fn unanswered_requests_are_forgotten_and_non_requests_pass() {
        let mut c = DuplicateCache::new(Duration::from_secs(240), 16);
        let t0 = Instant::now();
        let r = ccr("a.example.net", 1, 1, 0);
        let Seen::New(Some(key)) = c.check(t0, &r) else {
            panic!("expected a new request");
        };
        c.forget(key);
        assert!(matches!(c.check(t0, &r), Seen::New(Some(_))));
        assert_eq!(c.check(t0, &answer_to(&r)), Seen::New(None));
        assert_eq!(c.check(t0, b"junk"), Seen::New(None));
        assert_eq!(c.len(), 1);
    }
}
