//! Restoring a user's subscription after a failed NOTIFY — the seed's procedure
//! (CN102546554A, fig. 3 and fig. 4; `shared/specs/presence.md` steps 4–9).
//!
//! This module knows no event package and no socket: it sees a subscription whose NOTIFY failed
//! and decides, from the user's MESSAGE count, between telling the client to re-subscribe and
//! giving up. What it needs from the server is [`RecoveryPorts`].
//!
//! **What is a failure (step 4).** Only what the seed says: no final response before Timer F,
//! or a non-2xx final response ([`NotifyFailure`]). A fault of ours — the store failing while
//! the NOTIFY is built, a destination we cannot parse, a request we cannot build or hand to the
//! transport — is a *local failure* ([`on_local_failure`]): the subscription is kept, the NOTIFY
//! is tried again (bounded, with backoff), and if it keeps failing the administrator gets a
//! server-fault alarm. Nothing is counted against the client.
//!
//! **The count and the threshold (step 7).** Each user has a count of subscription-failure
//! MESSAGEs sent during the current registration; a new registration starts it at zero (a
//! refresh does not), and a success never resets it (as in the seed). With threshold `N`:
//! failures 1..=N each send a MESSAGE (the count becomes 1..=N); the failure *after* the N-th
//! MESSAGE triggers the configured action. "count < N" is tested and incremented in the same
//! transaction that deletes the subscription, so two failures at once cannot both slip under it.
//!
//! **Crash safety (step 5).** The deletion, the count and the MESSAGE owed are one transaction
//! (an outbox row). A server killed after that commit and before the MESSAGE left sends it when
//! the row's claim expires — the restarted server, or another replica ([`deliver_owed`] from
//! the server's outbox sweep). A MESSAGE may therefore, rarely, arrive twice; never not at all.
//!
//! **A MESSAGE that itself fails** (no 2xx) is logged and counted; it still counts towards the
//! threshold (it was sent) and is not retried: the subscription is already deleted, and the
//! client's own refresh will then get 481 and re-subscribe, as RFC 6665 §4.1.2.2 expects. A
//! MESSAGE that could not be *sent* (a local failure) stays owed and is tried again.

use std::time::Duration;

use corelab_sip::body::failure_report::FailureReport;
use serde::{Deserialize, Serialize};

use crate::ports::{
    AlarmKind, Deletion, FailedSubscription, MessageOutcome, OwedMessage, RecoveryPorts,
    StoreResult,
};
use crate::retry;

/// Step 4: how a NOTIFY failed — the client's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFailure {
    /// No final response before Timer F (64·T1).
    Timeout,
    /// A final response that is not 2xx (3xx, 4xx, 5xx, 6xx).
    Rejected(u16),
}

impl NotifyFailure {
    pub fn label(self) -> &'static str {
        match self {
            NotifyFailure::Timeout => "timeout",
            NotifyFailure::Rejected(_) => "rejected",
        }
    }
}

/// What the server does when a user's MESSAGE count has reached the threshold (seed step 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdAction {
    /// Delete the registration, sign the client out, alarm the administrator.
    Deregister,
    /// As `deregister`, and forbid the user from logging in until an administrator clears it.
    DeregisterAndBar,
    /// Delete only the failed subscription; keep the registration (and alarm).
    SubscriptionOnly,
}

impl ThresholdAction {
    pub fn label(self) -> &'static str {
        match self {
            ThresholdAction::Deregister => "deregister",
            ThresholdAction::DeregisterAndBar => "deregister_and_bar",
            ThresholdAction::SubscriptionOnly => "subscription_only",
        }
    }
}

/// The procedure's settings.
#[derive(Debug, Clone)]
pub struct RecoveryPolicy {
    /// MESSAGEs a user may get per registration; the failure after the last one gives up.
    pub threshold: u32,
    pub on_threshold: ThresholdAction,
    /// Tries again after a local failure (NOTIFY or MESSAGE) before the server-fault alarm.
    pub local_retries: u32,
    /// The wait before the first try again; it doubles each time.
    pub local_retry_first: Duration,
    /// How long an owed MESSAGE stays claimed by the server sending it: longer than the
    /// MESSAGE's Timer F, so a live sender is never doubled by another.
    pub lease_ms: i64,
}

/// What the procedure did, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another failure of the same subscription got here first.
    AlreadyDeleted,
    /// The watcher is no longer registered: nobody to tell.
    NotRegistered,
    /// The MESSAGE was owed (committed) and sent; `count` includes it.
    MessageSent { count: u32, outcome: MessageOutcome },
    GaveUp {
        action: ThresholdAction,
        alarm_id: i64,
    },
}

/// Steps 4–9 for one failed NOTIFY of `sub`.
pub async fn on_notify_failed(
    ports: &dyn RecoveryPorts,
    policy: &RecoveryPolicy,
    sub: &FailedSubscription,
    failure: NotifyFailure,
) -> StoreResult<Outcome> {
    let user = &sub.user;
    let threshold = policy.threshold;

    // Step 5: first delete that subscription; in the same transaction check the user's MESSAGE
    // count against the threshold, count this one, and owe the MESSAGE.
    let report = FailureReport {
        version: 1,
        action: "resubscribe".into(),
        event: sub.event.clone(),
        event_id: (!sub.event_id.is_empty()).then(|| sub.event_id.clone()),
        resource: sub.resource.clone(),
        call_id: sub.call_id.clone(),
        reason: failure.label().into(),
        status: match failure {
            NotifyFailure::Rejected(code) => Some(code),
            NotifyFailure::Timeout => None,
        },
        count: 0, // set by the transaction
        threshold,
    };
    let deletion = ports
        .delete_and_owe(sub, threshold, report, policy.lease_ms)
        .await?;
    if deletion == Deletion::AlreadyGone {
        return Ok(Outcome::AlreadyDeleted);
    }
    tracing::info!(user = %user, call_id = %sub.call_id, failure = failure.label(), "subscription deleted after failed NOTIFY");
    ports.subscription_deleted(sub).await;

    match deletion {
        // Step 5/6: tell the client which subscription failed so it re-subscribes.
        Deletion::Owed(owed) => {
            corelab_runtime::failpoint::hit("recovery.after_owe").await;
            let count = owed.report.count;
            let outcome = deliver_owed(ports, policy, *owed).await?;
            Ok(Outcome::MessageSent { count, outcome })
        }
        _ if !ports.is_registered(user).await? => {
            tracing::info!(user = %user, "watcher not registered: no MESSAGE");
            Ok(Outcome::NotRegistered)
        }
        // Step 8: the threshold is reached — stop telling the client.
        _ => give_up(ports, policy, sub, failure).await,
    }
}

/// Step 8: sign the client out (or bar it, or only drop the subscription) and alarm the
/// administrator (step 9: durably).
async fn give_up(
    ports: &dyn RecoveryPorts,
    policy: &RecoveryPolicy,
    sub: &FailedSubscription,
    failure: NotifyFailure,
) -> StoreResult<Outcome> {
    let (user, threshold, action) = (&sub.user, policy.threshold, policy.on_threshold);
    tracing::warn!(user = %user, threshold, action = action.label(), "MESSAGE threshold reached");
    match action {
        ThresholdAction::Deregister => ports.sign_out(user, "deactivated").await?,
        ThresholdAction::DeregisterAndBar => {
            ports
                .bar(user, &format!("{threshold} subscription-failure MESSAGEs"))
                .await?;
            ports.sign_out(user, "rejected").await?;
        }
        ThresholdAction::SubscriptionOnly => {}
    }
    let detail = format!(
        "NOTIFY for {} ({}) failed ({}) after {threshold} MESSAGEs; action {}",
        sub.resource,
        sub.event,
        match failure {
            NotifyFailure::Timeout => "timeout".to_string(),
            NotifyFailure::Rejected(code) => format!("status {code}"),
        },
        action.label()
    );
    let alarm_id = ports
        .raise_alarm(AlarmKind::ThresholdReached, user, &detail)
        .await?;
    Ok(Outcome::GaveUp { action, alarm_id })
}

/// Send an owed MESSAGE and settle its outbox row: cleared once the MESSAGE got a final answer
/// or timed out (not retried: see the module's doc), or once nobody is registered to get it;
/// left owed after a local failure, to be claimed again after a backoff, until the tries are
/// spent (then cleared, with a server-fault alarm).
pub async fn deliver_owed(
    ports: &dyn RecoveryPorts,
    policy: &RecoveryPolicy,
    owed: OwedMessage,
) -> StoreResult<MessageOutcome> {
    let outcome = ports.send_message(&owed).await;
    tracing::info!(user = %owed.user, count = owed.report.count, threshold = owed.report.threshold, outcome = %outcome.label(), "subscription-failure MESSAGE");
    let MessageOutcome::Local(error) = &outcome else {
        ports.clear_owed(&owed.id).await?;
        return Ok(outcome);
    };
    let failures = owed.attempts + 1;
    match retry::delay(policy.local_retries, policy.local_retry_first, failures) {
        Some(wait) => {
            tracing::warn!(user = %owed.user, %error, failures, retry_in_ms = wait.as_millis() as u64, "MESSAGE not sent (local failure): stays owed");
            let retry_at = ports.now_ms() + wait.as_millis() as i64;
            ports.defer_owed(&owed.id, retry_at).await?;
        }
        None => {
            ports.clear_owed(&owed.id).await?;
            let detail = format!(
                "subscription-failure MESSAGE to {} could not be sent after {failures} tries: {error}",
                owed.user
            );
            ports
                .raise_alarm(AlarmKind::ServerFault, &owed.user, &detail)
                .await?;
        }
    }
    Ok(outcome)
}

/// A NOTIFY that could not be sent for a fault of ours (see the module's doc).
#[derive(Debug, Clone)]
pub struct LocalFailure<'a> {
    pub subscription_id: &'a str,
    /// The subscriber, when known (the store may have failed before the subscription was read).
    pub user: &'a str,
    /// Local failures of this NOTIFY in a row, this one included.
    pub failures: u32,
    pub error: &'a str,
}

/// What to do after a local failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalOutcome {
    /// Keep the subscription and try the NOTIFY again after this long.
    RetryIn(Duration),
    /// The tries are spent: the subscription is kept (a later state change NOTIFYs it again)
    /// and the administrator has a server-fault alarm.
    GaveUp { alarm_id: i64 },
}

/// A local failure of a NOTIFY: never the client's. Try again with backoff; past
/// `policy.local_retries`, raise a server-fault alarm.
pub async fn on_local_failure(
    ports: &dyn RecoveryPorts,
    policy: &RecoveryPolicy,
    failure: &LocalFailure<'_>,
) -> StoreResult<LocalOutcome> {
    let LocalFailure {
        subscription_id,
        user,
        failures,
        error,
    } = *failure;
    if let Some(wait) = retry::delay(policy.local_retries, policy.local_retry_first, failures) {
        tracing::warn!(
            subscription = subscription_id,
            user,
            error,
            failures,
            retry_in_ms = wait.as_millis() as u64,
            "NOTIFY not sent (local failure): subscription kept, will retry"
        );
        return Ok(LocalOutcome::RetryIn(wait));
    }
    let detail = format!(
        "NOTIFY of subscription {subscription_id} ({user}) could not be sent after {failures} tries: {error}; subscription kept"
    );
    let alarm_id = ports
        .raise_alarm(AlarmKind::ServerFault, user, &detail)
        .await?;
    Ok(LocalOutcome::GaveUp { alarm_id })
}
