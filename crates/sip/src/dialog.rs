//! The UAS side of an INVITE dialog (RFC 3261 §12, §13.3, §14, §15), free of IO: the shell
//! feeds it what happened ([`Event`], with the time) and does what it says ([`Action`]);
//! [`InviteServerDialog::poll`] runs the timers, [`InviteServerDialog::next_deadline`] says when
//! to call it.
//!
//! - 2xx retransmission until the ACK (§13.3.1.4): T1, doubling up to T2; without an ACK for
//!   64·T1 (Timer H's value) the dialog is confirmed but the session ended with a BYE.
//! - ACK matched by the CSeq number of the INVITE it acknowledges (§13.2.2.4).
//! - CANCEL before the final answer: the INVITE is answered 487 (§9.2).
//! - BYE ends the dialog (§15.1.2); a re-INVITE with a higher CSeq is answered like the first
//!   (the shell answers with the current SDP), a lower or equal one 500 (§12.2.2), one while an
//!   INVITE is pending 500 with Retry-After (§14.2).
//!
//! Over rsipstack the INVITE server transaction itself retransmits the 2xx while it is kept
//! (its Accepted state arms Timer G the same way, docs/sip.md), so a shell on
//! [`crate::node::SipNode`] keeps the transaction until the ACK or [`Action::SendBye`] and need
//! not act on [`Action::Retransmit2xx`]; the schedule is here so the rule is tested in one place.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE received, no final answer yet.
    Proceeding,
    /// 2xx sent, waiting for its ACK.
    Accepted,
    /// ACK received.
    Confirmed,
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// We answered the pending INVITE with this final status.
    Answered(u16),
    /// An ACK with this CSeq number.
    Ack(u32),
    /// A CANCEL of the pending INVITE.
    Cancel,
    /// A re-INVITE with this CSeq number.
    ReInvite(u32),
    /// A BYE from the peer.
    Bye,
    /// The shell ends the session itself (e.g. a silent participant): a BYE is to be sent.
    Hangup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the last 2xx again.
    Retransmit2xx,
    /// Answer the pending INVITE with 487 Request Terminated.
    Answer487,
    /// Answer the re-INVITE like the first INVITE (200 with the current SDP); the shell then
    /// reports [`Event::Answered`].
    AcceptReInvite,
    /// Refuse the re-INVITE: 500 (with `Retry-After` when `retry_after`).
    RefuseReInvite { retry_after: bool },
    /// Answer the BYE 200.
    AnswerBye,
    /// Send a BYE (with the next local CSeq, [`InviteServerDialog::next_local_cseq`]).
    SendBye,
}

#[derive(Debug, Clone)]
pub struct InviteServerDialog {
    state: State,
    t1: Duration,
    t2: Duration,
    /// CSeq number of the INVITE being answered (or last answered).
    invite_cseq: u32,
    local_cseq: u32,
    retransmit_at: Option<Instant>,
    interval: Duration,
    ack_deadline: Option<Instant>,
    /// Whether the pending INVITE is a re-INVITE (its refusal keeps the dialog).
    reinvite: bool,
}

impl InviteServerDialog {
    /// A dialog for an INVITE with this CSeq number; T1 and T2 as the transaction layer's.
    pub fn new(invite_cseq: u32, t1: Duration, t2: Duration) -> InviteServerDialog {
        InviteServerDialog {
            state: State::Proceeding,
            t1,
            t2,
            invite_cseq,
            local_cseq: 0,
            retransmit_at: None,
            interval: t1,
            ack_deadline: None,
            reinvite: false,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The CSeq number for the next request we send in the dialog (§12.2.1.1).
    pub fn next_local_cseq(&mut self) -> u32 {
        self.local_cseq += 1;
        self.local_cseq
    }

    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        use State::*;
        match (self.state, event) {
            (Terminated, _) => vec![],
            (Proceeding, Event::Answered(code)) if (200..300).contains(&code) => {
                self.state = Accepted;
                self.interval = self.t1;
                self.retransmit_at = Some(now + self.t1);
                self.ack_deadline = Some(now + self.t1 * 64);
                vec![]
            }
            (Proceeding, Event::Answered(code)) if code >= 300 => {
                // A refused re-INVITE leaves the dialog as it was (§14.2); a refused first
                // INVITE has no dialog.
                self.state = if self.reinvite { Confirmed } else { Terminated };
                vec![]
            }
            (_, Event::Answered(_)) => vec![],
            (Proceeding, Event::Cancel) => {
                self.state = Terminated;
                vec![Action::Answer487]
            }
            (Accepted, Event::Ack(cseq)) if cseq == self.invite_cseq => {
                self.state = Confirmed;
                self.retransmit_at = None;
                self.ack_deadline = None;
                vec![]
            }
            (_, Event::Ack(_)) | (_, Event::Cancel) => vec![],
            (Proceeding, Event::ReInvite(_)) => vec![Action::RefuseReInvite { retry_after: true }],
            (Accepted | Confirmed, Event::ReInvite(cseq)) => {
                if cseq <= self.invite_cseq {
                    return vec![Action::RefuseReInvite { retry_after: false }];
                }
                self.invite_cseq = cseq;
                self.reinvite = true;
                self.state = Proceeding;
                self.retransmit_at = None;
                self.ack_deadline = None;
                vec![Action::AcceptReInvite]
            }
            (_, Event::Bye) => {
                self.state = Terminated;
                vec![Action::AnswerBye]
            }
            (_, Event::Hangup) => {
                self.state = Terminated;
                vec![Action::SendBye]
            }
        }
    }

    /// Run the timers due at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        if self.state != State::Accepted {
            return vec![];
        }
        if self.ack_deadline.is_some_and(|d| now >= d) {
            // §13.3.1.4: no ACK within 64·T1: end the session with a BYE.
            self.state = State::Terminated;
            self.retransmit_at = None;
            self.ack_deadline = None;
            return vec![Action::SendBye];
        }
        match self.retransmit_at {
            Some(at) if now >= at => {
                self.interval = (self.interval * 2).min(self.t2);
                self.retransmit_at = Some(now + self.interval);
                vec![Action::Retransmit2xx]
            }
            _ => vec![],
        }
    }

    /// When [`poll`](Self::poll) has something to do next.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.ack_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: Duration = Duration::from_millis(500);
    const T2: Duration = Duration::from_secs(4);

    fn accepted(now: Instant) -> InviteServerDialog {
        let mut d = InviteServerDialog::new(1, T1, T2);
        assert!(d.handle(now, Event::Answered(200)).is_empty());
        assert_eq!(d.state(), State::Accepted);
        d
    }

    #[test]
    fn two_xx_retransmitted_t1_doubling_to_t2_then_bye_at_64_t1() {
        let t0 = Instant::now();
        let mut d = accepted(t0);
        let mut at = Vec::new();
        while let Some(next) = d.next_deadline() {
            for a in d.poll(next) {
                at.push((next - t0, a));
            }
        }
        let retransmits: Vec<u128> = at
            .iter()
            .filter(|(_, a)| *a == Action::Retransmit2xx)
            .map(|(t, _)| t.as_millis())
            .collect();
        // 0.5, 1.5, 3.5, 7.5, then every 4 s (T2) until 32 s.
        assert_eq!(&retransmits[..5], &[500, 1500, 3500, 7500, 11500]);
        assert!(retransmits.iter().all(|&t| t < 32_000));
        assert_eq!(at.last().unwrap(), &(T1 * 64, Action::SendBye));
        assert_eq!(d.state(), State::Terminated);
    }

    #[test]
    fn ack_with_the_invite_cseq_confirms_and_stops_timers() {
        let t0 = Instant::now();
        let mut d = accepted(t0);
        d.handle(t0, Event::Ack(7));
        assert_eq!(
            d.state(),
            State::Accepted,
            "an ACK of another INVITE does not match"
        );
        d.handle(t0, Event::Ack(1));
        assert_eq!(d.state(), State::Confirmed);
        assert_eq!(d.next_deadline(), None);
        assert!(d.poll(t0 + T1 * 100).is_empty());
    }

    #[test]
    fn cancel_before_the_answer_is_487_and_after_it_nothing() {
        let t0 = Instant::now();
        let mut d = InviteServerDialog::new(1, T1, T2);
        assert_eq!(d.handle(t0, Event::Cancel), vec![Action::Answer487]);
        assert_eq!(d.state(), State::Terminated);
        let mut d = accepted(t0);
        assert!(d.handle(t0, Event::Cancel).is_empty());
        assert_eq!(d.state(), State::Accepted);
    }

    #[test]
    fn reinvite_bye_and_hangup() {
        let t0 = Instant::now();
        let mut d = accepted(t0);
        d.handle(t0, Event::Ack(1));
        assert_eq!(
            d.handle(t0, Event::ReInvite(1)),
            vec![Action::RefuseReInvite { retry_after: false }]
        );
        assert_eq!(
            d.handle(t0, Event::ReInvite(2)),
            vec![Action::AcceptReInvite]
        );
        assert_eq!(
            d.handle(t0, Event::ReInvite(3)),
            vec![Action::RefuseReInvite { retry_after: true }]
        );
        d.handle(t0, Event::Answered(200));
        d.handle(t0, Event::Ack(2));
        assert_eq!(d.state(), State::Confirmed);
        // A refused re-INVITE keeps the dialog.
        d.handle(t0, Event::ReInvite(3));
        d.handle(t0, Event::Answered(488));
        assert_eq!(d.state(), State::Confirmed);
        assert_eq!(d.handle(t0, Event::Bye), vec![Action::AnswerBye]);
        assert_eq!(d.state(), State::Terminated);
        assert!(d.handle(t0, Event::Bye).is_empty());
        let mut d = accepted(t0);
        assert_eq!(d.handle(t0, Event::Hangup), vec![Action::SendBye]);
        assert_eq!(d.next_local_cseq(), 1);
    }

    #[test]
    fn refused_first_invite_has_no_dialog() {
        let mut d = InviteServerDialog::new(1, T1, T2);
        d.handle(Instant::now(), Event::Answered(403));
        assert_eq!(d.state(), State::Terminated);
    }
}
