//! What the IMS client knows: its registration, subscriptions (dialogs), buddies' presence,
//! the NOTIFY fault to inject, and counters. Plain data, no IO.

use std::collections::{BTreeMap, HashSet};

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
    /// Call-IDs of failed subscriptions already reported by a failure MESSAGE: a second copy
    /// of the same report (a retransmission relayed as a new request) re-subscribes only once.
    pub reported_failures: HashSet<String>,
    pub publish_etag: Option<String>,
    pub notifies_received: u32,
    pub notifies_failed_on_purpose: u32,
    pub failure_messages_received: u32,
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
    /// Records the failure report for subscription `call_id`; false when it was already seen.
    pub fn first_report_of(&mut self, call_id: &str) -> bool {
        self.reported_failures.insert(call_id.to_string())
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
            resource: "sip:bob@lab".into(),
            event: "presence".into(),
            call_id: call_id.into(),
            local_tag: "t".into(),
            remote_tag: None,
            remote_target: None,
            route_set: Vec::new(),
            cseq: 1,
            state: "active".into(),
            reason: String::new(),
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
    fn a_failure_report_is_acted_on_once() {
        let mut s = ClientState::default();
        assert!(s.first_report_of("sub-1"));
        assert!(!s.first_report_of("sub-1"));
        assert!(s.first_report_of("sub-2"));
    }
}
