//! The binding audit (beyond the seed): a termination that never reaches the DRA (a client that
//! crashed, a message lost between the client and the DRA) must not keep a binding for ever.
//! Every `audit.interval_ms`, bindings none of whose Diameter sessions was established in the
//! last `audit.lifetime_secs` are removed with their sessions, counted
//! (`corelab_dra_deletions_total{cause="audit"}`) and logged one line each.

use std::time::Duration;

use corelab_runtime::now_ms;
use tokio_util::sync::CancellationToken;

use crate::Dra;
use crate::metrics as m;

/// One pass: the bindings removed.
pub async fn run_once(dra: &Dra) -> Result<usize, sqlx::Error> {
    let lifetime_ms =
        i64::try_from(dra.cfg.audit.lifetime_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let removed = dra
        .store
        .audit(now_ms().saturating_sub(lifetime_ms))
        .await?;
    for (binding_id, nai) in &removed {
        tracing::info!(%binding_id, %nai, lifetime_secs = dra.cfg.audit.lifetime_secs,
                       "audit: binding outlived its lifetime, removed");
    }
    m::deleted("audit", removed.len() as u64);
    Ok(removed.len())
}

/// Runs the audit until `cancel` (not at all when `audit.lifetime_secs` is 0).
pub async fn run(dra: Dra, cancel: CancellationToken) {
    if dra.cfg.audit.lifetime_secs == 0 {
        return;
    }
    let every = Duration::from_millis(dra.cfg.audit.interval_ms.max(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = run_once(&dra).await {
            tracing::warn!(error = %e, "audit: binding store failed; next pass retries");
        }
    }
}
