//! What presence-server remembers beside the store so that a SUBSCRIBE's hot path reads nothing
//! back from it (docs/benchmarks.md, presence load: reads were 6 of the 9 statements per call).
//!
//! The store stays the only truth: every entry here is either a copy of a committed row, dropped
//! by every write to it — this process's own at once, other replicas' when their commit's
//! PostgreSQL NOTIFY arrives (`crate::replicas`) — or a filter that may say "maybe" but never a
//! wrong "no". While the invalidation listener is down ([`Coherence`]), nothing is served from
//! memory. Nothing is kept here that a restart would need.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process hears about every write to the store: always on SQLite (one process
/// per store file, see `crate::replicas`); on PostgreSQL only while the invalidation listener is
/// connected. When it is not, every cache answers "miss" and every filter "maybe".
pub struct Coherence {
    live: AtomicBool,
}

impl Coherence {
    pub fn new(live: bool) -> Arc<Coherence> {
        Arc::new(Coherence {
            live: AtomicBool::new(live),
        })
    }
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
    }
}

/// A read-through copy of store rows by key.
///
/// Readers: [`ReadThrough::get`]; on a miss, read the store and [`ReadThrough::fill`] with the
/// generation `get` returned. Writers: write the store, then [`ReadThrough::forget`]. A fill whose
/// read may have started before a write's `forget` is refused (the generation moved), so a stale
/// row can never be cached after the write that replaced it.
pub struct ReadThrough<V> {
    entries: Mutex<Entries<V>>,
    capacity: usize,
    coherence: Arc<Coherence>,
}

struct Entries<V> {
    map: HashMap<String, V>,
    generation: u64,
}

impl<V: Clone> ReadThrough<V> {
    /// At most `capacity` keys; a fill beyond it starts again from empty.
    pub fn new(capacity: usize, coherence: Arc<Coherence>) -> Self {
        ReadThrough {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
            capacity,
            coherence,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value, or on a miss the generation to hand to `fill`.
    pub fn get(&self, key: &str) -> Result<V, u64> {
        let entries = self.lock();
        if !self.coherence.is_live() {
            return Err(entries.generation);
        }
        entries.map.get(key).cloned().ok_or(entries.generation)
    }

    /// Cache what the store returned, unless a write happened since `read_at`.
    pub fn fill(&self, key: &str, value: V, read_at: u64) {
        let mut entries = self.lock();
        if entries.generation != read_at || !self.coherence.is_live() {
            return;
        }
        if entries.map.len() >= self.capacity {
            entries.map.clear();
        }
        entries.map.insert(key.to_string(), value);
    }

    /// After a write of `key`'s rows.
    pub fn forget(&self, key: &str) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.remove(key);
    }

    /// Drop everything (writes may have been missed); fills already under way are refused.
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.map.clear();
    }
}

/// Which resources may have subscribers in the per-user packages (`reg`, `presence.winfo`): a
/// filter in front of "list the subscriptions to R in P". It is loaded from the store at start and
/// a resource is added *before* its subscription is inserted, so "absent" always means "none";
/// entries are never removed (at most one per user and package). Another replica's insert adds
/// its resource through the invalidation listener, which reloads the whole filter when it
/// (re)connects; until then the filter says "maybe" to everything.
pub struct Watched {
    keys: Mutex<HashSet<(String, String)>>,
    coherence: Arc<Coherence>,
}

impl Watched {
    /// Is `package` one this filter covers?
    pub fn covers(package: &str) -> bool {
        matches!(package, "reg" | "presence.winfo")
    }

    pub fn new(coherence: Arc<Coherence>) -> Watched {
        Watched {
            keys: Mutex::default(),
            coherence,
        }
    }

    pub fn add(&self, package: &str, resource: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert((package.to_string(), resource.to_string()));
    }

    /// Add every `(package, resource)` the store holds (at start, and when the listener
    /// reconnects); nothing is removed, so an entry added meanwhile survives.
    pub fn load(&self, rows: Vec<(String, String)>) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.extend(rows);
    }

    /// `false` only when `resource` certainly has no subscriber in `package`.
    pub fn may_have(&self, package: &str, resource: &str) -> bool {
        if !Self::covers(package) || !self.coherence.is_live() {
            return true;
        }
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.contains(&(package.to_string(), resource.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_after_a_write_is_refused() {
        let cache = ReadThrough::new(10, Coherence::new(true));
        let Err(read_at) = cache.get("alice") else {
            panic!("empty cache hit")
        };
        // A write lands between the store read and the fill.
        cache.forget("alice");
        cache.fill("alice", 1, read_at);
        assert!(cache.get("alice").is_err());
        let Err(read_at) = cache.get("alice") else {
            panic!("refused fill cached")
        };
        cache.fill("alice", 2, read_at);
        assert_eq!(cache.get("alice"), Ok(2));
        cache.forget("alice");
        assert!(cache.get("alice").is_err());
    }

    #[test]
    fn capacity_bounds_the_map() {
        let cache = ReadThrough::new(2, Coherence::new(true));
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            let read_at = cache.get(key).unwrap_err();
            cache.fill(key, i, read_at);
        }
        assert_eq!(cache.get("c"), Ok(2));
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn watched_says_maybe_for_packages_it_does_not_cover() {
        let watched = Watched::new(Coherence::new(true));
        assert!(watched.may_have("presence", "sip:bob@lab"));
        assert!(!watched.may_have("presence.winfo", "sip:bob@lab"));
        watched.add("presence.winfo", "sip:bob@lab");
        assert!(watched.may_have("presence.winfo", "sip:bob@lab"));
        assert!(!watched.may_have("reg", "sip:bob@lab"));
    }

    #[test]
    fn nothing_is_served_while_the_listener_is_down_and_a_clear_refuses_fills_under_way() {
        let coherence = Coherence::new(true);
        let cache = ReadThrough::new(10, coherence.clone());
        let watched = Watched::new(coherence.clone());
        let read_at = cache.get("alice").unwrap_err();
        cache.fill("alice", 1, read_at);
        assert_eq!(cache.get("alice"), Ok(1));
        coherence.set_live(false);
        assert!(cache.get("alice").is_err(), "a miss while down");
        assert!(watched.may_have("reg", "sip:bob@lab"), "maybe while down");
        let read_at = cache.get("bob").unwrap_err();
        cache.fill("bob", 2, read_at);
        // Back up: everything cleared first, so the fill read while down cannot land.
        cache.clear();
        coherence.set_live(true);
        cache.fill("bob", 2, read_at);
        assert!(cache.get("bob").is_err());
        assert!(cache.get("alice").is_err());
    }
}
