//! The pending-request table (RFC 6733 §5.5.4, §6.2.1): requests sent and not
//! yet answered, keyed by Hop-by-Hop id, with their bytes kept for failover.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::header::FLAG_RETRANSMIT;

#[derive(Debug)]
struct Pending {
    deadline: Instant,
    request: Vec<u8>,
}

/// Hop-by-Hop id → (deadline, request bytes), plus the send order so the
/// earliest deadline is found without a scan (every request gets the same
/// timeout, so send order is deadline order).
#[derive(Debug, Default)]
pub(super) struct PendingTable {
    map: HashMap<u32, Pending>,
    order: VecDeque<(Instant, u32)>,
}

impl PendingTable {
    pub(super) fn insert(&mut self, hbh: u32, deadline: Instant, request: Vec<u8>) {
        self.map.insert(hbh, Pending { deadline, request });
        self.order.push_back((deadline, hbh));
    }

    /// Removes an answered request; `false` when nothing matched.
    pub(super) fn remove(&mut self, hbh: u32) -> bool {
        let found = self.map.remove(&hbh).is_some();
        self.trim();
        found
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The earliest deadline of a request still pending.
    pub(super) fn earliest(&self) -> Option<Instant> {
        self.order
            .iter()
            .find(|(d, h)| self.map.get(h).is_some_and(|p| p.deadline == *d))
            .map(|(d, _)| *d)
    }

    /// Removes and returns the Hop-by-Hop ids whose deadline has passed.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(&(d, h)) = self.order.front() {
            if d > now {
                break;
            }
            self.order.pop_front();
            if self.map.get(&h).is_some_and(|p| p.deadline == d) {
                self.map.remove(&h);
                out.push(h);
            }
        }
        self.trim();
        out
    }

    /// Takes every pending request, in send order, with the T flag set
    /// (RFC 6733 §3: "potentially retransmitted message", §5.5.4 failover).
    pub(super) fn take_for_failover(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.map.len());
        for (d, h) in self.order.drain(..) {
            if self.map.get(&h).is_some_and(|p| p.deadline == d) {
                if let Some(mut p) = self.map.remove(&h) {
                    if let Some(flags) = p.request.get_mut(4) {
                        *flags |= FLAG_RETRANSMIT;
                    }
                    out.push(p.request);
                }
            }
        }
        self.map.clear();
        out
    }

    /// Drops answered entries from the front of the send order.
    fn trim(&mut self) {
        while let Some(&(d, h)) = self.order.front() {
            if self.map.get(&h).is_some_and(|p| p.deadline == d) {
                break;
            }
            self.order.pop_front();
        }
    }
}
