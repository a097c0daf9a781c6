//! Restoring a user's subscription after a failed NOTIFY — the seed's procedure
//! (CN102546554A, fig. 3 and fig. 4; `shared/specs/presence.md` steps 4–9).
//!
//! This module knows no event package: it sees a subscription whose NOTIFY failed and decides,
//! from the user's MESSAGE count, between telling the client to re-subscribe and giving up.
//!
//! **The count and the threshold (step 7).** Each user has a count of subscription-failure
//! MESSAGEs sent during the current registration; a new registration starts it at zero (a
//! refresh does not), and a success never resets it (as in the seed). With threshold `N`:
//! failures 1..=N each send a MESSAGE (the count becomes 1..=N); the failure *after* the N-th
//! MESSAGE triggers the configured action. The test is "count < N" made atomically in the store
//! ([`crate::store::PresenceStore::count_message_below`]), so two failures at once cannot both
//! slip under it.
//!
//! **A MESSAGE that itself fails** (no 2xx) is logged and counted in
//! `corelab_presence_recovery_messages_total{outcome}`; it still counts towards the threshold
//! (it was sent) and is not retried: the subscription is already deleted, and the client's own
//! refresh will then get 481 and re-subscribe, as RFC 6665 §4.1.2.2 expects.

use corelab_runtime::now_ms;
use corelab_sip::body::failure_report::FailureReport;

use crate::Presence;
use crate::config::ThresholdAction;
use crate::metrics as m;
use crate::store::Subscription;

/// Step 4: how a NOTIFY failed.
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

/// Steps 5 and 8: what to do once the subscription is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Below the threshold: send the MESSAGE; `count` includes it.
    SendMessage { count: u32 },
    /// The threshold was reached before this failure.
    GiveUp(ThresholdAction),
}

/// The pure rule: `counted` is the user's new MESSAGE count if it was below the threshold
/// (see [`crate::store::PresenceStore::count_message_below`]), `None` if it had reached it.
pub fn decide(counted: Option<u32>, action: ThresholdAction) -> Decision {
    match counted {
        Some(count) => Decision::SendMessage { count },
        None => Decision::GiveUp(action),
    }
}

/// What the procedure did, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another failure of the same subscription got here first.
    AlreadyDeleted,
    /// The watcher is no longer registered: nobody to tell.
    NotRegistered,
    MessageSent {
        count: u32,
        delivered: bool,
    },
    GaveUp {
        action: ThresholdAction,
        alarm_id: i64,
    },
}

/// Steps 5–9 for one failed NOTIFY of `sub`.
pub async fn on_notify_failed(
    ctx: &Presence,
    sub: &Subscription,
    failure: NotifyFailure,
) -> Result<Outcome, sqlx::Error> {
    let user = &sub.watcher;
    let threshold = ctx.cfg.recovery.threshold;

    // Step 5: first delete that subscription.
    if !ctx.store.delete_subscription(&sub.id).await? {
        return Ok(Outcome::AlreadyDeleted);
    }
    ctx.forget_dialog(&sub.id);
    tracing::info!(user = %user, call_id = %sub.call_id, failure = failure.label(), "subscription deleted after failed NOTIFY");
    // The watchers of a presentity see one watcher fewer.
    if sub.package == "presence" {
        ctx.notify_watchers(&sub.resource, "presence.winfo").await;
    }

    // Step 5, then: check the user's MESSAGE count against the threshold, counting this one.
    let counted = ctx.store.count_message_below(user, threshold).await?;
    if counted.is_none() && ctx.store.registration(user, now_ms()).await?.is_none() {
        tracing::info!(user = %user, "watcher not registered: no MESSAGE");
        return Ok(Outcome::NotRegistered);
    }

    match decide(counted, ctx.cfg.recovery.on_threshold) {
        // Step 5/6: tell the client which subscription failed so it re-subscribes.
        Decision::SendMessage { count } => {
            let report = FailureReport {
                version: 1,
                action: "resubscribe".into(),
                event: sub.package.clone(),
                event_id: (!sub.event_id.is_empty()).then(|| sub.event_id.clone()),
                resource: sub.resource.clone(),
                call_id: sub.call_id.clone(),
                reason: failure.label().into(),
                status: match failure {
                    NotifyFailure::Rejected(code) => Some(code),
                    NotifyFailure::Timeout => None,
                },
                count,
                threshold,
            };
            let outcome = ctx.send_failure_message(user, &report).await;
            let delivered = outcome.is_success();
            metrics::counter!(m::RECOVERY_MESSAGES, "outcome" => outcome.label()).increment(1);
            tracing::info!(user = %user, count, threshold, outcome = %outcome.label(), "subscription-failure MESSAGE sent");
            Ok(Outcome::MessageSent { count, delivered })
        }
        // Step 8: the threshold is reached — stop telling the client.
        Decision::GiveUp(action) => {
            metrics::counter!(m::THRESHOLD_REACHED, "action" => action_label(action)).increment(1);
            tracing::warn!(user = %user, threshold, action = action_label(action), "MESSAGE threshold reached");
            match action {
                ThresholdAction::Deregister => ctx.sign_out(user, "deactivated").await?,
                ThresholdAction::DeregisterAndBar => {
                    ctx.store
                        .bar(
                            user,
                            &format!("{threshold} subscription-failure MESSAGEs"),
                            now_ms(),
                        )
                        .await?;
                    ctx.sign_out(user, "rejected").await?;
                }
                ThresholdAction::SubscriptionOnly => {}
            }
            // Step 8/9: alarm the administrator, durably.
            let detail = format!(
                "NOTIFY for {} ({}) failed ({}) after {threshold} MESSAGEs; action {}",
                sub.resource,
                sub.package,
                match failure {
                    NotifyFailure::Timeout => "timeout".to_string(),
                    NotifyFailure::Rejected(code) => format!("status {code}"),
                },
                action_label(action)
            );
            let alarm = ctx
                .raise_alarm("notify_failure_threshold", user, &detail)
                .await?;
            Ok(Outcome::GaveUp {
                action,
                alarm_id: alarm.id,
            })
        }
    }
}

pub fn action_label(action: ThresholdAction) -> &'static str {
    match action {
        ThresholdAction::Deregister => "deregister",
        ThresholdAction::DeregisterAndBar => "deregister_and_bar",
        ThresholdAction::SubscriptionOnly => "subscription_only",
    }
}

impl Presence {
    /// Store an alarm, log it, count it.
    pub async fn raise_alarm(
        &self,
        kind: &str,
        aor: &str,
        detail: &str,
    ) -> Result<crate::store::Alarm, sqlx::Error> {
        let alarm = self.store.raise_alarm(kind, aor, detail, now_ms()).await?;
        metrics::counter!(m::ALARMS_RAISED, "kind" => kind.to_string()).increment(1);
        self.update_alarm_gauge().await;
        tracing::error!(alarm_id = alarm.id, kind, aor, detail, "ALARM raised");
        Ok(alarm)
    }

    pub async fn update_alarm_gauge(&self) {
        if let Ok(n) = self.store.active_alarm_count().await {
            metrics::gauge!(m::ALARMS_ACTIVE).set(n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_threshold_sends_message_at_and_after_it_gives_up() {
        // threshold 3: the store counts 1, 2, 3 and then refuses (None).
        for count in 1..=3 {
            assert_eq!(
                decide(Some(count), ThresholdAction::Deregister),
                Decision::SendMessage { count }
            );
        }
        assert_eq!(
            decide(None, ThresholdAction::SubscriptionOnly),
            Decision::GiveUp(ThresholdAction::SubscriptionOnly)
        );
    }
}
