//! The procedure driven through its seam: an in-memory server ([`Fake`]) with a controlled
//! clock, whose store methods keep the contracts [`RecoveryPorts`] states.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use corelab_sip::body::failure_report::FailureReport;

use crate::ports::StoreResult;
use crate::*;

const ALICE: &str = "sip:alice@lab";
const BOB: &str = "sip:bob@lab";

#[derive(Default)]
struct State {
    /// user → MESSAGEs counted this registration.
    registered: HashMap<String, u32>,
    subscriptions: HashSet<String>,
    /// id → (message, claimed until).
    outbox: HashMap<String, (OwedMessage, i64)>,
    sent: Vec<OwedMessage>,
    /// What the next sends answer (Delivered when empty).
    answers: VecDeque<MessageOutcome>,
    signed_out: Vec<(String, &'static str)>,
    bars: Vec<String>,
    alarms: Vec<(AlarmKind, String, String)>,
    deleted_notices: u32,
    /// Make the next store call fail.
    store_down: bool,
}

#[derive(Default)]
struct Fake {
    now: AtomicI64,
    state: Mutex<State>,
}

impl Fake {
    fn with(users: &[&str], subscriptions: &[&str]) -> Fake {
        let fake = Fake::default();
        fake.now.store(1_000_000, Ordering::SeqCst);
        {
            let mut s = fake.state();
            for u in users {
                s.registered.insert(u.to_string(), 0);
            }
            for id in subscriptions {
                s.subscriptions.insert(id.to_string());
            }
        }
        fake
    }
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
    fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
    fn check_store(&self) -> StoreResult<()> {
        let mut s = self.state();
        if s.store_down {
            s.store_down = false;
            return Err(sqlx::Error::Protocol("injected store fault".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl RecoveryPorts for Fake {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    async fn delete_and_owe(
        &self,
        sub: &FailedSubscription,
        threshold: u32,
        mut report: FailureReport,
        lease_ms: i64,
    ) -> StoreResult<Deletion> {
        self.check_store()?;
        let now = self.now_ms();
        let mut s = self.state();
        if !s.subscriptions.remove(&sub.id) {
            return Ok(Deletion::AlreadyGone);
        }
        let Some(count) = s.registered.get_mut(&sub.user).filter(|c| **c < threshold) else {
            return Ok(Deletion::NotCounted);
        };
        *count += 1;
        report.count = *count;
        let owed = OwedMessage {
            id: format!("owed-{}", s.outbox.len() + s.sent.len()),
            user: sub.user.clone(),
            report,
            attempts: 0,
        };
        s.outbox
            .insert(owed.id.clone(), (owed.clone(), now + lease_ms));
        Ok(Deletion::Owed(Box::new(owed)))
    }

    async fn claim_owed(&self, lease_ms: i64, limit: u32) -> StoreResult<Vec<OwedMessage>> {
        self.check_store()?;
        let now = self.now_ms();
        let mut s = self.state();
        let mut claimed = Vec::new();
        for (owed, until) in s.outbox.values_mut() {
            if *until <= now && claimed.len() < limit as usize {
                *until = now + lease_ms;
                claimed.push(owed.clone());
            }
        }
        Ok(claimed)
    }

    async fn clear_owed(&self, id: &str) -> StoreResult<()> {
        self.check_store()?;
        self.state().outbox.remove(id);
        Ok(())
    }

    async fn defer_owed(&self, id: &str, retry_at: i64) -> StoreResult<()> {
        self.check_store()?;
        if let Some((owed, until)) = self.state().outbox.get_mut(id) {
            owed.attempts += 1;
            *until = retry_at;
        }
        Ok(())
    }

    async fn send_message(&self, owed: &OwedMessage) -> MessageOutcome {
        let mut s = self.state();
        if !s.registered.contains_key(&owed.user) {
            return MessageOutcome::NotRegistered;
        }
        let answer = s.answers.pop_front().unwrap_or(MessageOutcome::Delivered);
        if !matches!(answer, MessageOutcome::Local(_)) {
            s.sent.push(owed.clone());
        }
        answer
    }

    async fn is_registered(&self, user: &str) -> StoreResult<bool> {
        self.check_store()?;
        Ok(self.state().registered.contains_key(user))
    }

    async fn subscription_deleted(&self, _sub: &FailedSubscription) {
        self.state().deleted_notices += 1;
    }

    async fn sign_out(&self, user: &str, reason: &'static str) -> StoreResult<()> {
        self.check_store()?;
        let mut s = self.state();
        s.registered.remove(user);
        s.signed_out.push((user.to_string(), reason));
        Ok(())
    }

    async fn bar(&self, user: &str, _reason: &str) -> StoreResult<()> {
        self.check_store()?;
        self.state().bars.push(user.to_string());
        Ok(())
    }

    async fn raise_alarm(&self, kind: AlarmKind, aor: &str, detail: &str) -> StoreResult<i64> {
        self.check_store()?;
        let mut s = self.state();
        if let Some(i) = s.alarms.iter().position(|a| a.0 == kind)
            && kind == AlarmKind::ServerFault
        {
            return Ok(i as i64 + 1);
        }
        s.alarms.push((kind, aor.to_string(), detail.to_string()));
        Ok(s.alarms.len() as i64)
    }
}

fn policy(threshold: u32, on_threshold: ThresholdAction) -> RecoveryPolicy {
    RecoveryPolicy {
        threshold,
        on_threshold,
        local_retries: 3,
        local_retry_first: Duration::from_millis(500),
        lease_ms: 5_000,
    }
}

fn sub(id: &str, user: &str) -> FailedSubscription {
    FailedSubscription {
        id: id.into(),
        event: "presence".into(),
        event_id: String::new(),
        resource: BOB.into(),
        user: user.into(),
        call_id: format!("{id}@lab"),
    }
}

async fn fail(fake: &Fake, p: &RecoveryPolicy, id: &str, failure: NotifyFailure) -> Outcome {
    fake.state().subscriptions.insert(id.to_string());
    on_notify_failed(fake, p, &sub(id, ALICE), failure)
        .await
        .unwrap()
}

#[tokio::test]
async fn threshold_three_sends_three_messages_then_signs_out_on_the_fourth_failure() {
    let fake = Fake::with(&[ALICE], &[]);
    let p = policy(3, ThresholdAction::Deregister);
    for n in 1..=3u32 {
        let outcome = fail(&fake, &p, &format!("s{n}"), NotifyFailure::Timeout).await;
        assert_eq!(
            outcome,
            Outcome::MessageSent {
                count: n,
                outcome: MessageOutcome::Delivered
            },
            "failure {n}"
        );
        let s = fake.state();
        assert_eq!(s.sent.len(), n as usize);
        assert_eq!(s.sent[n as usize - 1].report.count, n);
        assert!(s.outbox.is_empty(), "a sent MESSAGE is no longer owed");
        assert!(s.signed_out.is_empty() && s.alarms.is_empty());
    }
    let outcome = fail(&fake, &p, "s4", NotifyFailure::Rejected(500)).await;
    assert_eq!(
        outcome,
        Outcome::GaveUp {
            action: ThresholdAction::Deregister,
            alarm_id: 1
        }
    );
    let s = fake.state();
    assert_eq!(s.sent.len(), 3, "no MESSAGE past the threshold");
    assert_eq!(s.signed_out, vec![(ALICE.to_string(), "deactivated")]);
    assert_eq!(s.alarms.len(), 1);
    assert_eq!(s.alarms[0].0, AlarmKind::ThresholdReached);
    assert!(s.alarms[0].2.contains("status 500"), "{}", s.alarms[0].2);
    assert_eq!(s.deleted_notices, 4);
}

#[tokio::test]
async fn threshold_one_boundary_and_the_bar_and_subscription_only_actions() {
    let fake = Fake::with(&[ALICE], &[]);
    let p = policy(1, ThresholdAction::DeregisterAndBar);
    assert!(matches!(
        fail(&fake, &p, "a", NotifyFailure::Timeout).await,
        Outcome::MessageSent { count: 1, .. }
    ));
    assert!(matches!(
        fail(&fake, &p, "b", NotifyFailure::Timeout).await,
        Outcome::GaveUp {
            action: ThresholdAction::DeregisterAndBar,
            ..
        }
    ));
    assert_eq!(fake.state().bars, vec![ALICE.to_string()]);
    assert_eq!(fake.state().signed_out[0].1, "rejected");

    let fake = Fake::with(&[ALICE], &[]);
    let p = policy(1, ThresholdAction::SubscriptionOnly);
    fail(&fake, &p, "a", NotifyFailure::Timeout).await;
    assert!(matches!(
        fail(&fake, &p, "b", NotifyFailure::Timeout).await,
        Outcome::GaveUp { .. }
    ));
    let s = fake.state();
    assert!(s.signed_out.is_empty() && s.registered.contains_key(ALICE));
    assert_eq!(s.alarms.len(), 1);
}

#[tokio::test]
async fn a_second_failure_of_one_subscription_sends_nothing_more() {
    let fake = Fake::with(&[ALICE], &["s"]);
    let p = policy(3, ThresholdAction::Deregister);
    let first = on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout).await;
    let second = on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout).await;
    assert!(matches!(first, Ok(Outcome::MessageSent { count: 1, .. })));
    assert_eq!(second.unwrap(), Outcome::AlreadyDeleted);
    assert_eq!(fake.state().sent.len(), 1);
}

#[tokio::test]
async fn an_unregistered_watcher_gets_no_message_and_no_alarm() {
    let fake = Fake::with(&[], &["s"]);
    let p = policy(3, ThresholdAction::Deregister);
    let outcome = on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout).await;
    assert_eq!(outcome.unwrap(), Outcome::NotRegistered);
    let s = fake.state();
    assert!(s.sent.is_empty() && s.alarms.is_empty() && s.signed_out.is_empty());
}

#[tokio::test]
async fn a_store_fault_at_step_five_keeps_the_subscription_and_counts_nothing() {
    let fake = Fake::with(&[ALICE], &["s"]);
    fake.state().store_down = true;
    let p = policy(3, ThresholdAction::Deregister);
    let outcome = on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout).await;
    assert!(outcome.is_err());
    let s = fake.state();
    assert!(s.subscriptions.contains("s"));
    assert_eq!(s.registered[ALICE], 0);
    assert!(s.sent.is_empty() && s.alarms.is_empty());
}

#[tokio::test]
async fn local_notify_failures_retry_with_backoff_then_raise_one_server_fault_alarm() {
    let fake = Fake::with(&[ALICE, BOB], &["s", "t"]);
    let p = policy(3, ThresholdAction::Deregister);
    let local = |id: &'static str, user: &'static str, failures| LocalFailure {
        subscription_id: id,
        user,
        failures,
        error: "store: injected",
    };
    for (failures, wait) in [(1, 500), (2, 1000), (3, 2000)] {
        let outcome = on_local_failure(&fake, &p, &local("s", ALICE, failures)).await;
        assert_eq!(
            outcome.unwrap(),
            LocalOutcome::RetryIn(Duration::from_millis(wait))
        );
    }
    let gave_up = on_local_failure(&fake, &p, &local("s", ALICE, 4)).await;
    assert_eq!(gave_up.unwrap(), LocalOutcome::GaveUp { alarm_id: 1 });
    // Another subscription failing locally meanwhile does not raise a second alarm.
    let again = on_local_failure(&fake, &p, &local("t", BOB, 4)).await;
    assert_eq!(again.unwrap(), LocalOutcome::GaveUp { alarm_id: 1 });
    let s = fake.state();
    assert_eq!(s.alarms.len(), 1);
    assert_eq!(s.alarms[0].0, AlarmKind::ServerFault);
    // Nothing against the client: subscriptions kept, nothing counted, nobody signed out.
    assert!(s.subscriptions.contains("s") && s.subscriptions.contains("t"));
    assert_eq!(s.registered[ALICE], 0);
    assert!(s.sent.is_empty() && s.signed_out.is_empty());
}

#[tokio::test]
async fn an_owed_message_whose_sender_died_is_claimed_after_its_lease_and_sent() {
    let fake = Fake::with(&[ALICE], &["s"]);
    let p = policy(3, ThresholdAction::Deregister);
    // The server commits step 5 and dies before the MESSAGE leaves.
    let report = FailureReport {
        version: 1,
        action: "resubscribe".into(),
        event: "presence".into(),
        event_id: None,
        resource: BOB.into(),
        call_id: "s@lab".into(),
        reason: "timeout".into(),
        status: None,
        count: 0,
        threshold: 3,
    };
    let Deletion::Owed(_) = fake
        .delete_and_owe(&sub("s", ALICE), 3, report, p.lease_ms)
        .await
        .unwrap()
    else {
        panic!("not owed")
    };
    // Within the lease nobody else takes it.
    fake.advance(p.lease_ms - 1);
    assert!(fake.claim_owed(p.lease_ms, 10).await.unwrap().is_empty());
    // After it, the restarted server (or another replica) claims and sends it.
    fake.advance(1);
    let claimed = fake.claim_owed(p.lease_ms, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let outcome = deliver_owed(&fake, &p, claimed[0].clone()).await.unwrap();
    assert_eq!(outcome, MessageOutcome::Delivered);
    let s = fake.state();
    assert_eq!(s.sent.len(), 1);
    assert_eq!(s.sent[0].report.count, 1);
    assert!(s.outbox.is_empty());
}

#[tokio::test]
async fn a_message_not_sent_locally_stays_owed_then_gives_up_with_a_server_fault() {
    let fake = Fake::with(&[ALICE], &["s"]);
    let p = policy(3, ThresholdAction::Deregister);
    {
        let mut s = fake.state();
        for _ in 0..4 {
            s.answers
                .push_back(MessageOutcome::Local("Message too long".into()));
        }
    }
    let first = on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout).await;
    assert!(matches!(
        first.unwrap(),
        Outcome::MessageSent {
            outcome: MessageOutcome::Local(_),
            ..
        }
    ));
    for (wait, expect_alarm) in [(500, false), (1000, false), (2000, true)] {
        assert!(fake.claim_owed(p.lease_ms, 10).await.unwrap().is_empty());
        fake.advance(wait);
        let claimed = fake.claim_owed(p.lease_ms, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "claimable after {wait} ms");
        deliver_owed(&fake, &p, claimed[0].clone()).await.unwrap();
        assert_eq!(!fake.state().alarms.is_empty(), expect_alarm);
    }
    let s = fake.state();
    assert!(s.outbox.is_empty());
    assert_eq!(s.alarms[0].0, AlarmKind::ServerFault);
    assert!(
        s.signed_out.is_empty(),
        "a local failure never signs the client out"
    );
}

#[tokio::test]
async fn a_rejected_or_timed_out_message_is_not_retried() {
    let fake = Fake::with(&[ALICE], &["s"]);
    fake.state().answers.push_back(MessageOutcome::Timeout);
    let p = policy(3, ThresholdAction::Deregister);
    on_notify_failed(&fake, &p, &sub("s", ALICE), NotifyFailure::Timeout)
        .await
        .unwrap();
    fake.advance(60_000);
    assert!(fake.claim_owed(p.lease_ms, 10).await.unwrap().is_empty());
    assert_eq!(fake.state().registered[ALICE], 1, "it still counts");
}
