//! presence-server's side of the recovery procedure's seam ([`corelab_recovery::RecoveryPorts`]):
//! its store (PostgreSQL/SQLite), its SIP node, its alarms and metrics.

use async_trait::async_trait;
use corelab_recovery::{
    AlarmKind, Deletion, FailedSubscription, MessageOutcome, OwedMessage, RecoveryPorts,
};
use corelab_runtime::now_ms;
use corelab_sip::body::failure_report::FailureReport;

use crate::Presence;
use crate::metrics as m;
use crate::store::{OutboxRow, Subscription};

type StoreResult<T> = Result<T, sqlx::Error>;

impl From<&Subscription> for FailedSubscription {
    fn from(sub: &Subscription) -> Self {
        FailedSubscription {
            id: sub.id.clone(),
            event: sub.package.clone(),
            event_id: sub.event_id.clone(),
            resource: sub.resource.clone(),
            user: sub.watcher.clone(),
            call_id: sub.call_id.clone(),
        }
    }
}

#[async_trait]
impl RecoveryPorts for Presence {
    fn now_ms(&self) -> i64 {
        now_ms()
    }

    async fn delete_and_owe(
        &self,
        sub: &FailedSubscription,
        threshold: u32,
        report: FailureReport,
        lease_ms: i64,
    ) -> StoreResult<Deletion> {
        let now = now_ms();
        let outbox_id = uuid::Uuid::new_v4().to_string();
        let deletion = self
            .store
            .delete_and_owe(
                &sub.id,
                &sub.user,
                threshold,
                report,
                &outbox_id,
                &self.instance,
                now,
                now + lease_ms,
            )
            .await?;
        if deletion != Deletion::AlreadyGone {
            self.forget_dialog(&sub.id);
        }
        Ok(deletion)
    }

    async fn claim_owed(&self, lease_ms: i64, limit: u32) -> StoreResult<Vec<OwedMessage>> {
        let now = now_ms();
        let rows = self
            .store
            .claim_owed(&self.instance, now, now + lease_ms, limit)
            .await?;
        let mut owed = Vec::with_capacity(rows.len());
        for OutboxRow {
            id,
            aor,
            body,
            attempts,
        } in rows
        {
            match FailureReport::parse(body.as_bytes()) {
                Ok(report) => owed.push(OwedMessage {
                    id,
                    user: aor,
                    report,
                    attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
                }),
                Err(e) => {
                    // Our own row, so this is a bug or a hand edit: drop it, loudly.
                    tracing::error!(outbox = %id, %aor, error = %e, "owed MESSAGE unreadable: dropped");
                    self.store.clear_owed(&id).await?;
                }
            }
        }
        Ok(owed)
    }

    async fn clear_owed(&self, id: &str) -> StoreResult<()> {
        self.store.clear_owed(id).await
    }

    async fn defer_owed(&self, id: &str, retry_at: i64) -> StoreResult<()> {
        self.store.defer_owed(id, retry_at).await
    }

    async fn send_message(&self, owed: &OwedMessage) -> MessageOutcome {
        let outcome = self.send_failure_message(&owed.user, &owed.report).await;
        metrics::counter!(m::RECOVERY_MESSAGES, "outcome" => outcome.label()).increment(1);
        outcome
    }

    async fn is_registered(&self, user: &str) -> StoreResult<bool> {
        Ok(self.store.registration(user, now_ms()).await?.is_some())
    }

    async fn subscription_deleted(&self, sub: &FailedSubscription) {
        // The watchers of a presentity see one watcher fewer.
        if sub.event == "presence" {
            self.notify_watchers(&sub.resource, "presence.winfo").await;
        }
    }

    async fn sign_out(&self, user: &str, reason: &'static str) -> StoreResult<()> {
        Presence::sign_out(self, user, reason).await
    }

    async fn bar(&self, user: &str, reason: &str) -> StoreResult<()> {
        self.store.bar(user, reason, now_ms()).await
    }

    async fn raise_alarm(&self, kind: AlarmKind, aor: &str, detail: &str) -> StoreResult<i64> {
        let active = match kind {
            AlarmKind::ServerFault => self.store.active_alarm_of_kind(kind.name()).await?,
            AlarmKind::ThresholdReached => None,
        };
        if let Some(id) = active {
            tracing::error!(
                alarm_id = id,
                kind = kind.name(),
                aor,
                detail,
                "server fault again (alarm already active)"
            );
            return Ok(id);
        }
        Ok(Presence::raise_alarm(self, kind.name(), aor, detail)
            .await?
            .id)
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
