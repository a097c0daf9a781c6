//! Polling until a condition holds, bounded in time (scenario steps wait on real timers).

use std::future::Future;
use std::time::{Duration, Instant};

/// Poll `check` every 50 ms until it returns `Some`, or fail after `limit` with `what`.
pub async fn until<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if start.elapsed() > limit {
            anyhow::bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
