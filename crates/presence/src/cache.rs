//! What presence-server remembers beside the store so that a SUBSCRIBE's hot path reads nothing
//! back from it (docs/benchmarks.md, presence load: reads were 6 of the 9 statements per call).
//!
//! The store stays the only truth: every entry here is either a copy of a committed row, dropped
//! by this process's own writes, or a filter that may say "maybe" but never a wrong "no". Nothing
//! is kept here that a restart would need.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A read-through copy of store rows by key.
///
/// Readers: [`ReadThrough::get`]; on a miss, read the store and [`ReadThrough::fill`] with the
/// generation `get` returned. Writers: write the store, then [`ReadThrough::forget`]. A fill whose
/// read may have started before a write's `forget` is refused (the generation moved), so a stale
/// row can never be cached after the write that replaced it.
pub struct ReadThrough<V> {
    entries: Mutex<Entries<V>>,
    capacity: usize,
}

struct Entries<V> {
    map: HashMap<String, V>,
    generation: u64,
}

impl<V: Clone> ReadThrough<V> {
    /// At most `capacity` keys; a fill beyond it starts again from empty.
    pub fn new(capacity: usize) -> Self {
        ReadThrough {
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value, or on a miss the generation to hand to `fill`.
    pub fn get(&self, key: &str) -> Result<V, u64> {
        let entries = self.lock();
        entries.map.get(key).cloned().ok_or(entries.generation)
    }

    /// Cache what the store returned, unless a write happened since `read_at`.
    pub fn fill(&self, key: &str, value: V, read_at: u64) {
        let mut entries = self.lock();
        if entries.generation != read_at {
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
}

/// Which resources may have subscribers in the per-user packages (`reg`, `presence.winfo`): a
/// filter in front of "list the subscriptions to R in P". It is loaded from the store at start and
/// a resource is added *before* its subscription is inserted, so "absent" always means "none";
/// entries are never removed (at most one per user and package).
#[derive(Default)]
pub struct Watched {
    keys: Mutex<HashSet<(String, String)>>,
}

impl Watched {
    /// Is `package` one this filter covers?
    pub fn covers(package: &str) -> bool {
        matches!(package, "reg" | "presence.winfo")
    }

    pub fn add(&self, package: &str, resource: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert((package.to_string(), resource.to_string()));
    }

    /// `false` only when `resource` certainly has no subscriber in `package`.
    pub fn may_have(&self, package: &str, resource: &str) -> bool {
        if !Self::covers(package) {
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
        let cache = ReadThrough::new(10);
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
        let cache = ReadThrough::new(2);
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            let read_at = cache.get(key).unwrap_err();
            cache.fill(key, i, read_at);
        }
        assert_eq!(cache.get("c"), Ok(2));
        assert!(cache.get("a").is_err());
    }

    #[test]
    fn watched_says_maybe_for_packages_it_does_not_cover() {
        let watched = Watched::default();
        assert!(watched.may_have("presence", "sip:bob@lab"));
        assert!(!watched.may_have("presence.winfo", "sip:bob@lab"));
        watched.add("presence.winfo", "sip:bob@lab");
        assert!(watched.may_have("presence.winfo", "sip:bob@lab"));
        assert!(!watched.may_have("reg", "sip:bob@lab"));
    }
}
