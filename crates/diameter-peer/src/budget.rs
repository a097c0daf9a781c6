//! What a load run may still send (a count, a deadline, a rate, a stop on signal) and the
//! loop that reports progress once a second until the workers are done. Shared by
//! `diameter-peer load` and `pcc-emulator load`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing::info;

use crate::stats::{Stats, progress_line};

/// How much a run may send, and how fast.
pub struct Budget {
    limit: Option<u64>,
    deadline: Option<Instant>,
    claimed: AtomicU64,
    stop: AtomicBool,
    pacer: Option<tokio::sync::Mutex<tokio::time::Interval>>,
}

impl Budget {
    /// At most `count` claims, until `start + duration`, at most `rate` per second.
    pub fn new(
        count: Option<u64>,
        duration: Option<f64>,
        rate: Option<f64>,
        start: Instant,
    ) -> Budget {
        let pacer = rate.map(|r| {
            let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            tokio::sync::Mutex::new(i)
        });
        Budget {
            limit: count,
            deadline: duration.map(|d| start + Duration::from_secs_f64(d)),
            claimed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            pacer,
        }
    }

    /// Checks `--rate`, `--duration` and `--concurrency` the same way for every load command.
    pub fn check_args(
        concurrency: usize,
        rate: Option<f64>,
        duration: Option<f64>,
    ) -> anyhow::Result<()> {
        if concurrency == 0 {
            anyhow::bail!("--concurrency must be at least 1");
        }
        if let Some(r) = rate
            && !(r > 0.0 && r.is_finite())
        {
            anyhow::bail!("--rate must be a positive number per second");
        }
        if let Some(d) = duration
            && !(d > 0.0 && d.is_finite())
        {
            anyhow::bail!("--duration must be a positive number of seconds");
        }
        Ok(())
    }

    /// May one more be sent?
    pub fn claim(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        match self.limit {
            Some(n) => self.claimed.fetch_add(1, Ordering::Relaxed) < n,
            None => true,
        }
    }

    /// Waits for the rate's next slot (at once without a rate).
    pub async fn pace(&self) {
        if let Some(p) = &self.pacer {
            p.lock().await.tick().await;
        }
    }

    /// Stops every worker at its next claim.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Waits for `all_done`, printing a progress line (`progress`) every second from the
/// statistics `take` hands over (and resets); SIGINT/SIGTERM stops the budget. Returns the
/// total.
pub async fn report_until_done(
    start: Instant,
    budget: &Budget,
    all_done: impl Future<Output = ()>,
    mut take: impl FnMut() -> Stats,
    progress: impl Fn(&str),
) -> Stats {
    tokio::pin!(all_done);
    let mut total = Stats::new();
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut last = start;
    let term = crate::cli::terminated();
    tokio::pin!(term);
    let mut signalled = false;
    loop {
        tokio::select! {
            _ = &mut all_done => break,
            _ = tick.tick() => {
                let now = Instant::now();
                let interval = take();
                total.merge(&interval);
                progress(&progress_line(now - start, &interval, now - last, &total));
                last = now;
            }
            _ = &mut term, if !signalled => {
                signalled = true;
                info!("signal: stopping the load");
                budget.stop();
            }
        }
    }
    total.merge(&take());
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_claimed_once_each_and_a_stop_ends_claims() {
        let b = Budget::new(Some(2), None, None, Instant::now());
        assert!(b.claim());
        assert!(b.claim());
        assert!(!b.claim());
        let b = Budget::new(None, Some(60.0), None, Instant::now());
        assert!(b.claim());
        b.stop();
        assert!(!b.claim());
        assert!(Budget::check_args(0, None, None).is_err());
        assert!(Budget::check_args(1, Some(0.0), None).is_err());
        assert!(Budget::check_args(1, None, Some(f64::NAN)).is_err());
        assert!(Budget::check_args(1, Some(5.0), Some(1.0)).is_ok());
    }
}
