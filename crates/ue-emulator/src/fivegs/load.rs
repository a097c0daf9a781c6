//! Load mode: N UEs arriving at a rate, each registering, then (if asked) establishing a PDU
//! session and joining an MBS session; progress on stderr, then per procedure the count, the
//! rate and p50/p90/p99 (docs/ue-emulator.md, "Load mode"; the benchmark of issue 12 §6).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use corelab_nas::Tmgi;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::fivegs::gnb::Gnb;
use crate::fivegs::ue::{Command, Outcome, Procedure};

/// What each UE does.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// UEs started per second (0: all at once).
    pub rate: f64,
    /// Establish PDU session 1 after registering.
    pub establish: bool,
    /// Then join this MBS session on it.
    pub join: Option<Tmgi>,
}

/// One procedure's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcedureStats {
    /// Ended accepted.
    pub ok: u64,
    /// Ended rejected or timed out.
    pub failed: u64,
    /// Accepted per second of the run.
    pub per_second: f64,
    /// Latency percentiles of the accepted ones, ms.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// The run's summary (`--json` prints it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// UEs started.
    pub ues: usize,
    /// UEs whose every step was accepted.
    pub ues_completed: usize,
    /// Wall time of the run, s.
    pub seconds: f64,
    /// Accepted procedures per second, all kinds.
    pub procedures_per_second: f64,
    /// Per procedure, by name.
    pub procedures: BTreeMap<String, ProcedureStats>,
    /// NAS PDUs on the N1 link during the run, both directions (the UEs' and the network's).
    pub nas_messages: u64,
    /// `nas_messages` per second of the run.
    pub nas_messages_per_second: f64,
}

/// The value under which `p` of `sorted` lie (nearest rank); 0 for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Per-procedure latencies as they come.
#[derive(Debug, Default)]
pub struct Collector {
    ok: BTreeMap<Procedure, Vec<Duration>>,
    failed: BTreeMap<Procedure, u64>,
}

impl Collector {
    /// Count one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        if outcome.ok {
            (self.ok.entry(outcome.procedure).or_default()).push(outcome.elapsed);
        } else {
            *self.failed.entry(outcome.procedure).or_default() += 1;
        }
    }

    /// One progress line.
    pub fn progress(&self, elapsed: Duration, done: usize, total: usize) -> String {
        let mut line = format!("[{:6.1} s] {done}/{total} UEs done", elapsed.as_secs_f64());
        for (procedure, ok) in &self.ok {
            let failed = self.failed.get(procedure).copied().unwrap_or(0);
            line.push_str(&format!(
                ", {} {} ok {failed} failed",
                procedure.name(),
                ok.len()
            ));
        }
        line
    }

    /// The summary of a run of `ues` UEs that took `elapsed`.
    pub fn summary(mut self, ues: usize, ues_completed: usize, elapsed: Duration) -> Summary {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let mut procedures = BTreeMap::new();
        let mut all_ok = 0u64;
        let names: Vec<Procedure> = (self.ok.keys())
            .chain(self.failed.keys())
            .copied()
            .collect();
        for procedure in names {
            let mut times = self.ok.remove(&procedure).unwrap_or_default();
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let ok = times.len() as u64;
            all_ok += ok;
            procedures.insert(
                procedure.name().to_string(),
                ProcedureStats {
                    ok,
                    failed: self.failed.get(&procedure).copied().unwrap_or(0),
                    per_second: ok as f64 / seconds,
                    p50_ms: ms(percentile(&times, 50.0)),
                    p90_ms: ms(percentile(&times, 90.0)),
                    p99_ms: ms(percentile(&times, 99.0)),
                },
            );
        }
        Summary {
            ues,
            ues_completed,
            seconds,
            procedures_per_second: all_ok as f64 / seconds,
            procedures,
            nas_messages: 0,
            nas_messages_per_second: 0.0,
        }
    }
}

/// Run the plan on every UE of `gnb`; `outcomes` is the channel the gNB reports every
/// procedure's end on.
pub async fn run(
    gnb: &Gnb,
    plan: &LoadPlan,
    mut outcomes: mpsc::UnboundedReceiver<(usize, Outcome)>,
) -> Summary {
    let started = Instant::now();
    let total = gnb.len();
    let nas_at_start = nas_messages(gnb);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<bool>();
    let starter = {
        let gnb = gnb.clone();
        let plan = plan.clone();
        tokio::spawn(async move {
            let gap = (plan.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / plan.rate));
            for index in 0..gnb.len() {
                if let Some(gap) = gap {
                    let due = started + gap.mul_f64(index as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let gnb = gnb.clone();
                let plan = plan.clone();
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let _ = done.send(one_ue(&gnb, index, &plan).await);
                });
            }
        })
    };
    let mut collector = Collector::default();
    let (mut finished, mut completed) = (0usize, 0usize);
    let mut progress = tokio::time::interval(Duration::from_secs(1));
    while finished < total {
        tokio::select! {
            Some((_, outcome)) = outcomes.recv() => collector.add(&outcome),
            Some(ok) = done_rx.recv() => {
                finished += 1;
                completed += usize::from(ok);
            }
            _ = progress.tick() => {
                eprintln!("{}", collector.progress(started.elapsed(), finished, total));
            }
        }
    }
    let elapsed = started.elapsed();
    while let Ok((_, outcome)) = outcomes.try_recv() {
        collector.add(&outcome);
    }
    let _ = starter.await;
    eprintln!("{}", collector.progress(elapsed, finished, total));
    let mut summary = collector.summary(total, completed, elapsed);
    summary.nas_messages = nas_messages(gnb) - nas_at_start;
    summary.nas_messages_per_second = summary.nas_messages as f64 / summary.seconds;
    summary
}

fn nas_messages(gnb: &Gnb) -> u64 {
    let counters = gnb.counters();
    counters.nas_uplink.load(Ordering::Relaxed) + counters.nas_downlink.load(Ordering::Relaxed)
}

/// One UE's run: register, establish, join; `true` when all were accepted.
async fn one_ue(gnb: &Gnb, index: usize, plan: &LoadPlan) -> bool {
    if !gnb.command(index, Command::Register).await.ok {
        return false;
    }
    if plan.establish || plan.join.is_some() {
        let establish = Command::Establish { psi: Some(1) };
        if !gnb.command(index, establish).await.ok {
            return false;
        }
    }
    if let Some(tmgi) = plan.join {
        let join = Command::Join { tmgi, psi: Some(1) };
        return gnb.command(index, join).await.ok;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&times, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&times, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&times[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn summary_counts_ok_and_failed_per_procedure() {
        let mut c = Collector::default();
        let outcome = |procedure, ok, ms| Outcome {
            procedure,
            ok,
            detail: String::new(),
            cause: None,
            elapsed: Duration::from_millis(ms),
        };
        c.add(&outcome(Procedure::Register, true, 2));
        c.add(&outcome(Procedure::Register, true, 4));
        c.add(&outcome(Procedure::Join, false, 1));
        let s = c.summary(2, 1, Duration::from_secs(2));
        assert_eq!(s.procedures["register"].ok, 2);
        assert_eq!(s.procedures["register"].p99_ms, 4.0);
        assert_eq!(s.procedures["register"].per_second, 1.0);
        assert_eq!(s.procedures["join"].failed, 1);
        assert_eq!(s.procedures_per_second, 1.0);
    }
}
