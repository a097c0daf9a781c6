//! Expiry (RFC 6665 §4.2.2, RFC 3261 §10.3, RFC 3903 §4.3): a periodic sweep over the store ends
//! expired subscriptions (terminating NOTIFY, `reason=timeout`), registrations (the user is
//! signed out, `reason=deactivated`) and publications (watchers get the new state). Because it
//! reads the store, a restarted server expires what was due while it was down.
//!
//! The same sweep is the recovery procedure's outbox worker: it claims the subscription-failure
//! MESSAGEs still owed whose claim expired (their sender died, or could not send) and sends them;
//! and it sends the NOTIFYs that a replica which died holding their dialog was asked for.

use std::time::Duration;

use corelab_runtime::now_ms;
use tokio_util::sync::CancellationToken;

use crate::Presence;

/// Owed MESSAGEs claimed per sweep.
const OWED_PER_SWEEP: u32 = 64;

pub async fn run(ctx: Presence, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(
        ctx.cfg.subscription.sweep_interval_ms.max(10),
    ));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = sweep_once(&ctx).await {
                    tracing::error!(error = %e, "expiry sweep failed on the store");
                }
            }
        }
    }
}

pub async fn sweep_once(ctx: &Presence) -> Result<(), sqlx::Error> {
    // The outbox first, and on its own: a failure here must not stop the expiry below.
    if let Err(e) = deliver_owed_messages(ctx).await {
        tracing::error!(error = %e, "outbox: owed MESSAGEs not claimed");
    }
    // NOTIFYs another process was asked for but could not send (it died holding the dialog).
    match ctx.store.orphaned_notifies(now_ms()).await {
        Ok(ids) => {
            for id in ids {
                let this = ctx.clone();
                tokio::spawn(async move {
                    this.notify(&id).await;
                });
            }
        }
        Err(e) => tracing::error!(error = %e, "store: cannot list orphaned NOTIFYs"),
    }
    let now = now_ms();
    for sub in ctx.store.delete_expired_subscriptions(now).await? {
        tracing::info!(call_id = %sub.call_id, event = %sub.package, "subscription expired");
        let this = ctx.clone();
        let resource = sub.resource.clone();
        let presence = sub.package == "presence";
        tokio::spawn(async move {
            this.notify_terminated(sub, "timeout").await;
            if presence {
                this.notify_watchers(&resource, "presence.winfo").await;
            }
        });
    }
    for reg in ctx.store.delete_expired_registrations(now).await? {
        tracing::info!(aor = %reg.aor, "registration expired");
        ctx.sign_out(&reg.aor, "deactivated").await?;
    }
    let mut resources: Vec<String> = ctx
        .store
        .delete_expired_publications(now)
        .await?
        .into_iter()
        .map(|p| p.resource)
        .collect();
    resources.sort();
    resources.dedup();
    for resource in resources {
        ctx.notify_watchers(&resource, "presence").await;
    }
    Ok(())
}

/// The outbox worker: send the owed MESSAGEs nobody holds, each in its own task.
async fn deliver_owed_messages(ctx: &Presence) -> Result<(), sqlx::Error> {
    use corelab_recovery::RecoveryPorts;
    for owed in ctx.claim_owed(ctx.policy.lease_ms, OWED_PER_SWEEP).await? {
        tracing::info!(user = %owed.user, call_id = %owed.report.call_id, attempts = owed.attempts, "sending an owed subscription-failure MESSAGE");
        let this = ctx.clone();
        tokio::spawn(async move {
            if let Err(e) = corelab_recovery::deliver_owed(&this, &this.policy, owed).await {
                tracing::error!(error = %e, "owed MESSAGE not settled on the store");
            }
        });
    }
    Ok(())
}
