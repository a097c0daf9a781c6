//! Arrival order per key, with admission control, free of IO.
//!
//! A [`Sequencer`] holds the requests a SIP node has admitted and not yet finished. Each request
//! carries one or more [`OrderKey`]s (its dialog, and its stream connection when it came over
//! TCP): it runs only when it is the oldest unfinished request of **every** one of its keys, so
//! requests that share a key run in arrival order and requests that share none run at once.
//! Tickets are numbered in arrival order and appended to all their keys' queues in one step,
//! so the oldest unfinished request is always at the head of each of its queues: no request can
//! wait for one that waits for it.
//!
//! Admission is bounded per key and in total; a key whose queue empties is forgotten, so the
//! structure holds nothing for the dialogs and connections it has seen before.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// What orders requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderKey {
    /// One dialog as seen by the server of its requests: the Call-ID and the remote (From) tag
    /// (RFC 3261 §12: the dialog id; the local tag adds nothing at the receiving side, and
    /// out-of-dialog requests of one client, e.g. REGISTER refreshes with one Call-ID, §10.2.4,
    /// are ordered too).
    Dialog { call_id: String, remote_tag: String },
    /// One stream connection (TCP), by its remote address: what one peer wrote in one order
    /// (RFC 3261 §18.3 framing) is handled in that order.
    Stream(SocketAddr),
}

/// How many requests may wait or run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per key, the running one included.
    pub max_per_key: usize,
    /// In all, running and waiting.
    pub max_total: usize,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    PerKey,
    Total,
}

impl Refused {
    /// For metric labels and logs.
    pub fn label(self) -> &'static str {
        match self {
            Refused::PerKey => "per_key",
            Refused::Total => "total",
        }
    }
}

/// An admitted request's number; give it back to [`Sequencer::finish`].
pub type Ticket = u64;

/// What [`Sequencer::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<T> {
    /// Run it now.
    Run(Ticket, T),
    /// Kept: [`Sequencer::finish`] of an earlier request hands it out.
    Queued(Ticket),
    /// Over a limit: answer it (503) and forget it.
    Refused(Refused, T),
}

struct Admitted<T> {
    keys: Vec<OrderKey>,
    /// The request while it waits; taken when it is handed out to run.
    waiting: Option<T>,
}

pub struct Sequencer<T> {
    limits: Limits,
    next: Ticket,
    queues: HashMap<OrderKey, VecDeque<Ticket>>,
    admitted: HashMap<Ticket, Admitted<T>>,
}

impl<T> Sequencer<T> {
    pub fn new(limits: Limits) -> Sequencer<T> {
        Sequencer {
            limits,
            next: 0,
            queues: HashMap::new(),
            admitted: HashMap::new(),
        }
    }

    /// Requests admitted and not finished (running or waiting).
    pub fn len(&self) -> usize {
        self.admitted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.admitted.is_empty()
    }

    /// Keys with at least one unfinished request.
    pub fn keys(&self) -> usize {
        self.queues.len()
    }

    /// Admit `item` ordered by `keys` (duplicates are ignored; no key means no order).
    pub fn admit(&mut self, keys: Vec<OrderKey>, item: T) -> Admission<T> {
        let mut unique: Vec<OrderKey> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        let keys = unique;
        if self.admitted.len() >= self.limits.max_total {
            return Admission::Refused(Refused::Total, item);
        }
        let full = keys
            .iter()
            .any(|k| self.queues.get(k).map_or(0, VecDeque::len) >= self.limits.max_per_key);
        if full || self.limits.max_per_key == 0 {
            return Admission::Refused(Refused::PerKey, item);
        }
        let ticket = self.next;
        self.next += 1;
        let mut first_everywhere = true;
        for key in &keys {
            let queue = self.queues.entry(key.clone()).or_default();
            first_everywhere &= queue.is_empty();
            queue.push_back(ticket);
        }
        if first_everywhere {
            self.admitted.insert(
                ticket,
                Admitted {
                    keys,
                    waiting: None,
                },
            );
            Admission::Run(ticket, item)
        } else {
            self.admitted.insert(
                ticket,
                Admitted {
                    keys,
                    waiting: Some(item),
                },
            );
            Admission::Queued(ticket)
        }
    }

    /// `ticket` is done: returns the requests that may run now, in arrival order.
    pub fn finish(&mut self, ticket: Ticket) -> Vec<(Ticket, T)> {
        let Some(done) = self.admitted.remove(&ticket) else {
            return Vec::new();
        };
        let mut heads = Vec::new();
        for key in done.keys {
            let Entry::Occupied(mut queue) = self.queues.entry(key) else {
                continue;
            };
            queue.get_mut().retain(|t| *t != ticket);
            match queue.get().front() {
                Some(head) => heads.push(*head),
                None => {
                    queue.remove();
                }
            }
        }
        heads.sort_unstable();
        heads.dedup();
        let mut ready = Vec::new();
        for head in heads {
            if !self.at_front_of_all(head) {
                continue;
            }
            if let Some(item) = self.admitted.get_mut(&head).and_then(|a| a.waiting.take()) {
                ready.push((head, item));
            }
        }
        ready
    }

    fn at_front_of_all(&self, ticket: Ticket) -> bool {
        self.admitted.get(&ticket).is_some_and(|a| {
            a.keys
                .iter()
                .all(|k| self.queues.get(k).and_then(|q| q.front()) == Some(&ticket))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog(call_id: &str) -> OrderKey {
        OrderKey::Dialog {
            call_id: call_id.into(),
            remote_tag: "t".into(),
        }
    }

    fn stream(port: u16) -> OrderKey {
        OrderKey::Stream(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    const ROOMY: Limits = Limits {
        max_per_key: 100,
        max_total: 1000,
    };

    fn ticket<T: std::fmt::Debug>(a: Admission<T>) -> Ticket {
        match a {
            Admission::Run(t, _) | Admission::Queued(t) => t,
            other => panic!("refused: {other:?}"),
        }
    }

    #[test]
    fn one_dialog_runs_in_arrival_order_while_another_runs_at_once() {
        let mut s = Sequencer::new(ROOMY);
        let a1 = s.admit(vec![dialog("a")], "a1");
        assert!(matches!(a1, Admission::Run(_, "a1")));
        let a2 = ticket(s.admit(vec![dialog("a")], "a2"));
        let a3 = ticket(s.admit(vec![dialog("a")], "a3"));
        assert!(matches!(
            s.admit(vec![dialog("b")], "b1"),
            Admission::Run(_, "b1")
        ));
        assert_eq!(s.finish(ticket(a1)), vec![(a2, "a2")]);
        assert_eq!(s.finish(a2), vec![(a3, "a3")]);
        assert_eq!(s.finish(a3), vec![]);
    }

    #[test]
    fn a_request_with_two_keys_waits_for_both() {
        let mut s = Sequencer::new(ROOMY);
        // REGISTER and SUBSCRIBE on one TCP connection (different dialogs).
        let reg = ticket(s.admit(vec![dialog("reg"), stream(1)], "register"));
        let sub = ticket(s.admit(vec![dialog("sub"), stream(1)], "subscribe"));
        // A refresh of "sub" over UDP waits for the SUBSCRIBE that waits for the connection.
        let refresh = ticket(s.admit(vec![dialog("sub")], "refresh"));
        assert_eq!(s.finish(reg), vec![(sub, "subscribe")]);
        assert_eq!(s.finish(sub), vec![(refresh, "refresh")]);
        assert_eq!(s.finish(refresh), vec![]);
        assert!(s.is_empty());
    }

    #[test]
    fn a_request_first_on_one_key_but_not_the_other_waits() {
        let mut s = Sequencer::new(ROOMY);
        let x = ticket(s.admit(vec![dialog("x")], "x"));
        let y = ticket(s.admit(vec![stream(7)], "y"));
        let both = ticket(s.admit(vec![dialog("x"), stream(7)], "both"));
        assert_eq!(s.finish(y), vec![], "still behind x");
        assert_eq!(s.finish(x), vec![(both, "both")]);
    }

    #[test]
    fn limits_refuse_per_key_and_in_total() {
        let mut s = Sequencer::new(Limits {
            max_per_key: 2,
            max_total: 3,
        });
        ticket(s.admit(vec![dialog("a")], 1));
        ticket(s.admit(vec![dialog("a")], 2));
        assert_eq!(
            s.admit(vec![dialog("a")], 3),
            Admission::Refused(Refused::PerKey, 3)
        );
        ticket(s.admit(vec![dialog("b")], 4));
        assert_eq!(
            s.admit(vec![dialog("c")], 5),
            Admission::Refused(Refused::Total, 5)
        );
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn keys_whose_queue_empties_are_forgotten() {
        let mut s = Sequencer::new(ROOMY);
        for i in 0..10_000 {
            let t = ticket(s.admit(vec![dialog(&format!("d{i}")), stream(9)], i));
            assert_eq!(s.finish(t), vec![]);
        }
        assert_eq!((s.len(), s.keys()), (0, 0));
    }

    /// No running request shares a key with `t`.
    fn assert_alone(running: &[Ticket], t: Ticket, keys_of: &HashMap<Ticket, Vec<OrderKey>>) {
        for r in running {
            let shared = keys_of[r].iter().any(|k| keys_of[&t].contains(k));
            assert!(!shared, "{t} started while {r} of a shared key runs");
        }
    }

    /// Random arrivals over a few keys, finished in random order among those running: every
    /// request runs exactly once, never before an earlier one of a key it shares, and nothing
    /// is left over.
    #[test]
    fn random_schedules_keep_per_key_order_and_never_stall() {
        use rand::Rng;
        let mut rng = rand::rng();
        for _ in 0..200 {
            let mut s = Sequencer::new(ROOMY);
            let mut running: Vec<Ticket> = Vec::new();
            let mut keys_of: HashMap<Ticket, Vec<OrderKey>> = HashMap::new();
            let mut started: Vec<Ticket> = Vec::new();
            let mut admitted = 0;
            while admitted < 60 || !running.is_empty() {
                if admitted < 60 && (running.is_empty() || rng.random_bool(0.5)) {
                    let mut keys = vec![dialog(&format!("d{}", rng.random_range(0..4)))];
                    if rng.random_bool(0.5) {
                        keys.push(stream(rng.random_range(0..3)));
                    }
                    let t = match s.admit(keys.clone(), ()) {
                        Admission::Run(t, ()) => {
                            keys_of.insert(t, keys.clone());
                            assert_alone(&running, t, &keys_of);
                            running.push(t);
                            started.push(t);
                            t
                        }
                        Admission::Queued(t) => t,
                        Admission::Refused(..) => unreachable!("roomy limits"),
                    };
                    keys_of.insert(t, keys);
                    admitted += 1;
                } else {
                    let done = running.swap_remove(rng.random_range(0..running.len()));
                    for (t, ()) in s.finish(done) {
                        assert_alone(&running, t, &keys_of);
                        running.push(t);
                        started.push(t);
                    }
                }
            }
            assert!(s.is_empty() && s.keys() == 0, "all finished");
            assert_eq!(started.len(), 60, "each ran once");
            for (i, a) in started.iter().enumerate() {
                for b in &started[i + 1..] {
                    let shared = keys_of[a].iter().any(|k| keys_of[b].contains(k));
                    assert!(!(shared && b < a), "{b} ran after {a} but arrived first");
                }
            }
        }
    }
}
