//! What the IMS client knows: its registration, subscriptions (dialogs), buddies' presence,
//! the NOTIFY fault to inject, and counters. Plain data, no IO: the time is passed in.
//!
//! Dialogs are bounded: a terminated dialog stays (for the view and late retransmissions) at
//! most [`DialogLimits::linger`], and at most [`DialogLimits::max_ended`] terminated dialogs are
//! kept, the oldest dropped first. A dialog the server reported failed leaves the view at once
//! (it is gone on the server too); its Call-ID is remembered within the same bounds so that a
//! copy of the report is recognised.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// How the next NOTIFYs fail on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// No answer at all: the server's Timer F fires.
    Ignore,
    /// Answer with this status (400–699).
    Reject(u16),
}

#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub mode: Option<FaultMode>,
    pub remaining: u32,
}

/// The subscriber side of one subscription dialog (RFC 6665 §4.1).
#[derive(Debug, Clone)]
pub struct Dialog {
    pub resource: String,
    pub event: String,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    pub remote_target: Option<String>,
    /// Route set for in-dialog requests (RFC 3261 §12.1.2: Record-Route reversed).
    pub route_set: Vec<String>,
    pub cseq: u32,
    /// `pending` (SUBSCRIBE sent), `active`, `terminated`.
    pub state: String,
    pub reason: String,
    /// When it was terminated (see [`ClientState::end_dialog`]).
    pub ended_at: Option<Instant>,
}

impl Dialog {
    /// A new dialog for a SUBSCRIBE about to be sent (RFC 6665 §4.1.2.1).
    pub fn pending(resource: &str, event: &str, call_id: &str, local_tag: &str) -> Dialog {
        Dialog {
            resource: resource.into(),
            event: event.into(),
            call_id: call_id.into(),
            local_tag: local_tag.into(),
            remote_tag: None,
            remote_target: None,
            route_set: Vec::new(),
            cseq: 1,
            state: "pending".into(),
            reason: String::new(),
            ended_at: None,
        }
    }
}

/// How long and how many terminated dialogs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogLimits {
    pub linger: Duration,
    pub max_ended: usize,
}

impl Default for DialogLimits {
    /// Two minutes: longer than a server's Timer F at the default T1 (32 s), so its
    /// retransmissions and a relayed copy of its report still find the dialog.
    fn default() -> Self {
        DialogLimits {
            linger: Duration::from_secs(120),
            max_ended: 64,
        }
    }
}

/// What to do with a subscription-failure report about dialog `call_id` (from a trusted
/// source: the caller checked it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportDecision {
    /// The first report about a dialog we hold: subscribe anew to what **that dialog** was
    /// subscribed to (never to what the report names).
    Resubscribe { resource: String, event: String },
    /// A copy of a report already acted on (a retransmission relayed as a new request).
    Copy,
    /// No such dialog, held now or lately: refuse (403).
    UnknownDialog,
}

#[derive(Debug, Clone, Default)]
pub struct BuddyState {
    pub basic: String,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct ClientState {
    pub registered: bool,
    pub last_register_status: u16,
    pub reg_state: String,
    /// Dialogs by Call-ID.
    pub dialogs: BTreeMap<String, Dialog>,
    pub buddies: BTreeMap<String, BuddyState>,
    pub fault: Fault,
    /// NOTIFYs (Call-ID, CSeq) left unanswered on purpose: their retransmissions stay unanswered
    /// without using up the fault count.
    pub ignored: HashSet<(String, u32)>,
    pub limits: DialogLimits,
    /// Call-IDs of dialogs the server reported failed (and we re-subscribed), oldest first,
    /// bounded like terminated dialogs: a copy of a report (a retransmission relayed as a new
    /// request) re-subscribes only once.
    pub reported: VecDeque<(String, Instant)>,
    pub publish_etag: Option<String>,
    pub notifies_received: u32,
    pub notifies_failed_on_purpose: u32,
    pub failure_messages_received: u32,
    /// Subscription-failure reports refused (403): from a stranger, or about no dialog of ours.
    pub failure_messages_refused: u32,
    pub resubscriptions: u32,
}

/// What to do with an incoming NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyAnswer {
    Accept,
    Ignore,
    Reject(u16),
    /// No such subscription dialog: 481 (RFC 6665 §4.1.3).
    NoDialog,
}

impl ClientState {
    /// A trusted subscription-failure report about `call_id` at `now`: the first one about a
    /// dialog we hold removes it (the server deleted it) and asks for one re-SUBSCRIBE; copies
    /// change nothing.
    pub fn on_failure_report(&mut self, call_id: &str, now: Instant) -> ReportDecision {
        self.prune(now);
        if self.reported.iter().any(|(c, _)| c == call_id) {
            return ReportDecision::Copy;
        }
        let Some(dialog) = self.dialogs.remove(call_id) else {
            self.failure_messages_refused += 1;
            return ReportDecision::UnknownDialog;
        };
        self.reported.push_back((dialog.call_id, now));
        self.prune(now);
        self.failure_messages_received += 1;
        self.resubscriptions += 1;
        ReportDecision::Resubscribe {
            resource: dialog.resource,
            event: dialog.event,
        }
    }

    /// Dialog `call_id` is terminated (a terminating NOTIFY, a failed SUBSCRIBE or refresh, a
    /// failure report): it lingers, bounded ([`ClientState::prune`]).
    pub fn end_dialog(&mut self, call_id: &str, reason: &str, now: Instant) {
        if let Some(d) = self.dialogs.get_mut(call_id) {
            d.state = "terminated".into();
            d.reason = reason.to_string();
            d.ended_at.get_or_insert(now);
        }
        self.prune(now);
    }

    /// Drop terminated dialogs older than `limits.linger`, then the oldest past
    /// `limits.max_ended`, and what was remembered about their NOTIFYs.
    pub fn prune(&mut self, now: Instant) {
        let linger = self.limits.linger;
        self.dialogs.retain(|_, d| {
            d.state != "terminated"
                || now.saturating_duration_since(*d.ended_at.get_or_insert(now)) < linger
        });
        let mut ended: Vec<(Instant, String)> = self
            .dialogs
            .values()
            .filter_map(|d| Some((d.ended_at?, d.call_id.clone())))
            .collect();
        if ended.len() > self.limits.max_ended {
            ended.sort();
            let excess = ended.len() - self.limits.max_ended;
            for (_, call_id) in ended.into_iter().take(excess) {
                self.dialogs.remove(&call_id);
            }
        }
        self.reported
            .retain(|(_, at)| now.saturating_duration_since(*at) < linger);
        while self.reported.len() > self.limits.max_ended {
            self.reported.pop_front();
        }
        let (dialogs, reported) = (&self.dialogs, &self.reported);
        self.ignored.retain(|(call_id, _)| {
            dialogs.contains_key(call_id) || reported.iter().any(|(c, _)| c == call_id)
        });
    }

    /// Decide the answer to NOTIFY (`call_id`, `cseq`), consuming one injected fault.
    ///
    /// A retransmission of a NOTIFY ignored on purpose stays unanswered even after its dialog is
    /// gone (the failure MESSAGE removes it): a late retransmission must not draw a 481.
    pub fn answer_notify(&mut self, call_id: &str, cseq: u32) -> NotifyAnswer {
        let key = (call_id.to_string(), cseq);
        if self.ignored.contains(&key) {
            return NotifyAnswer::Ignore; // a retransmission of one we ignore
        }
        if !self.dialogs.contains_key(call_id) {
            return NotifyAnswer::NoDialog;
        }
        self.notifies_received += 1;
        if self.fault.remaining > 0
            && let Some(mode) = self.fault.mode
        {
            self.fault.remaining -= 1;
            self.notifies_failed_on_purpose += 1;
            return match mode {
                FaultMode::Ignore => {
                    self.ignored.insert(key);
                    NotifyAnswer::Ignore
                }
                FaultMode::Reject(code) => NotifyAnswer::Reject(code),
            };
        }
        NotifyAnswer::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog(call_id: &str) -> Dialog {
        Dialog {
            state: "active".into(),
            ..Dialog::pending("sip:bob@lab", "presence", call_id, "t")
        }
    }

    #[test]
    fn fault_applies_to_the_next_k_and_retransmissions_are_not_counted() {
        let mut s = ClientState {
            fault: Fault {
                mode: Some(FaultMode::Ignore),
                remaining: 1,
            },
            ..Default::default()
        };
        for c in ["c", "d"] {
            s.dialogs.insert(c.into(), dialog(c));
        }
        assert_eq!(s.answer_notify("c", 2), NotifyAnswer::Ignore);
        assert_eq!(s.answer_notify("c", 2), NotifyAnswer::Ignore);
        assert_eq!(s.notifies_failed_on_purpose, 1);
        assert_eq!(s.answer_notify("c", 3), NotifyAnswer::Accept);
        s.fault = Fault {
            mode: Some(FaultMode::Reject(500)),
            remaining: 2,
        };
        assert_eq!(s.answer_notify("d", 1), NotifyAnswer::Reject(500));
        assert_eq!(s.answer_notify("d", 2), NotifyAnswer::Reject(500));
        assert_eq!(s.answer_notify("d", 3), NotifyAnswer::Accept);
    }

    #[test]
    fn late_retransmission_of_an_ignored_notify_is_absorbed_after_the_dialog_is_gone() {
        let mut s = ClientState {
            fault: Fault {
                mode: Some(FaultMode::Ignore),
                remaining: 1,
            },
            ..Default::default()
        };
        s.dialogs.insert("c".into(), dialog("c"));
        assert_eq!(s.answer_notify("c", 2), NotifyAnswer::Ignore);
        s.dialogs.remove("c"); // the failure MESSAGE arrived
        assert_eq!(s.answer_notify("c", 2), NotifyAnswer::Ignore);
        assert_eq!(s.answer_notify("c", 3), NotifyAnswer::NoDialog);
        assert_eq!(s.answer_notify("x", 1), NotifyAnswer::NoDialog);
    }

    #[test]
    fn a_failure_report_resubscribes_once_to_the_dialogs_own_resource() {
        let now = Instant::now();
        let mut s = ClientState::default();
        s.dialogs.insert("sub-1".into(), dialog("sub-1"));
        assert_eq!(
            s.on_failure_report("sub-1", now),
            ReportDecision::Resubscribe {
                resource: "sip:bob@lab".into(),
                event: "presence".into()
            }
        );
        assert_eq!(s.on_failure_report("sub-1", now), ReportDecision::Copy);
        assert!(!s.dialogs.contains_key("sub-1"), "gone from the view");
        assert_eq!(s.answer_notify("sub-1", 9), NotifyAnswer::NoDialog);
        assert_eq!(
            s.on_failure_report("sub-2", now),
            ReportDecision::UnknownDialog
        );
        assert_eq!(
            (
                s.failure_messages_received,
                s.resubscriptions,
                s.failure_messages_refused
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn terminated_and_reported_dialogs_are_dropped_after_the_linger_and_past_the_cap() {
        let t0 = Instant::now();
        let mut s = ClientState {
            limits: DialogLimits {
                linger: Duration::from_secs(10),
                max_ended: 3,
            },
            ..Default::default()
        };
        s.dialogs.insert("live".into(), dialog("live"));
        for i in 0..100u64 {
            let id = format!("d{i}");
            s.dialogs.insert(id.clone(), dialog(&id));
            s.end_dialog(&id, "gone", t0 + Duration::from_millis(i));
            assert!(s.dialogs.len() <= 4, "{} dialogs", s.dialogs.len());
        }
        let kept: Vec<&str> = s.dialogs.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            vec!["d97", "d98", "d99", "live"],
            "the newest ended ones"
        );
        s.prune(t0 + Duration::from_secs(11));
        assert_eq!(s.dialogs.keys().collect::<Vec<_>>(), vec!["live"]);
        // A report about a dialog dropped long ago is about no dialog of ours.
        let later = t0 + Duration::from_secs(12);
        assert_eq!(
            s.on_failure_report("d1", later),
            ReportDecision::UnknownDialog
        );
        // Reported dialogs are remembered within the same bounds.
        for i in 0..10 {
            let id = format!("r{i}");
            s.dialogs.insert(id.clone(), dialog(&id));
            assert!(matches!(
                s.on_failure_report(&id, later),
                ReportDecision::Resubscribe { .. }
            ));
        }
        assert_eq!(s.reported.len(), 3);
        s.prune(t0 + Duration::from_secs(30));
        assert!(s.reported.is_empty());
    }
}
