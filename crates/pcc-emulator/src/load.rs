//! Load mode: `--ues` concurrent UEs, each establishing a session of the role, optionally
//! modifying it, and terminating it, again and again, bounded by `--sessions` or
//! `--duration`, paced by `--rate` sessions per second; a progress line a second (stderr),
//! then p50/p90/p99 per procedure (the procedure's time includes a followed 3006). The
//! budget and the progress loop are diameter-peer's (`diameter_peer::budget`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use diameter_peer::budget::{Budget, report_until_done};
use diameter_peer::stats::{Stats, Summary};
use serde::Serialize;

use crate::emulator::{Emulator, Outcome, StepOptions, is_success};
use crate::model::{Action, Role, Ue, procedure};

/// What to load.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// The client role of every session.
    pub role: Role,
    /// Concurrent UEs.
    pub ues: usize,
    /// Stop after this many sessions.
    pub sessions: Option<u64>,
    /// Stop starting sessions after this many seconds.
    pub duration: Option<f64>,
    /// At most this many sessions started per second.
    pub rate: Option<f64>,
    /// Send a modification between establishment and termination.
    pub modify: bool,
    /// Keep every established session: no termination (`--hold`); their Session-Ids are in
    /// the summary's `held`.
    pub hold: bool,
    /// The first UE's IMSI (as a number; UE k gets it + k).
    pub first_imsi: u64,
    /// The first UE's IPv4 address (UE k gets it + k).
    pub first_ip: Ipv4Addr,
    /// The APN of every UE.
    pub apn: String,
}

/// The `--json` summary.
#[derive(Clone, Debug, Serialize)]
pub struct LoadSummary {
    /// Sessions whose every procedure answered 2xxx.
    pub sessions_ok: u64,
    /// Sessions with a failed procedure.
    pub sessions_failed: u64,
    /// Wall time.
    pub elapsed_secs: f64,
    /// Completed sessions per second.
    pub sessions_per_sec: f64,
    /// All procedures together.
    pub total: Summary,
    /// Per procedure (CCR-I, CCR-U, CCR-T, AAR-I, AAR-U, STR).
    pub procedures: BTreeMap<String, Summary>,
    /// With `--hold`: the Session-Id of every session whose establishment was answered 2xxx
    /// (the CCA-I or AAA received), in the order the answers came.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
}

struct Run {
    emu: Emulator,
    plan: LoadPlan,
    budget: Budget,
    interval: Mutex<Stats>,
    per_procedure: Mutex<BTreeMap<&'static str, Stats>>,
    ok: Mutex<(u64, u64)>,
    held: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Run {
    fn record(&self, name: &'static str, started: Instant, out: &Outcome) -> bool {
        let ok = out.result_code.is_some_and(is_success);
        let elapsed = started.elapsed();
        for s in [
            &mut *lock(&self.interval),
            lock(&self.per_procedure).entry(name).or_default(),
        ] {
            s.requests += 1;
            if out.result_code.is_some() {
                s.record_answer(elapsed, ok);
            } else {
                s.failures += 1;
            }
        }
        ok
    }

    async fn ue(self: Arc<Self>, k: usize) {
        let p = &self.plan;
        let ue = Ue {
            nai: (p.first_imsi + k as u64).to_string(),
            ip: Ipv4Addr::from(u32::from(p.first_ip).wrapping_add(k as u32)),
            apn: p.apn.clone(),
        };
        let opts = StepOptions::default();
        while self.budget.claim() {
            self.budget.pace().await;
            let t = Instant::now();
            let out = self.emu.establish(p.role, &ue, opts).await;
            let mut ok = self.record(procedure(p.role, Action::Establish), t, &out);
            if ok {
                let id = out.session_id;
                if p.hold {
                    lock(&self.held).push(id.clone());
                }
                if p.modify {
                    let t = Instant::now();
                    if let Some(o) = self.emu.modify(&id, opts).await {
                        ok &= self.record(procedure(p.role, Action::Modify), t, &o);
                    }
                }
                if !p.hold {
                    let t = Instant::now();
                    if let Some(o) = self.emu.terminate(&id, opts).await {
                        ok &= self.record(procedure(p.role, Action::Terminate), t, &o);
                    }
                }
            }
            let mut c = lock(&self.ok);
            if ok {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
}

/// Runs the load; `progress` gets a line a second.
pub async fn run(
    emu: Emulator,
    plan: LoadPlan,
    progress: impl Fn(&str),
) -> anyhow::Result<LoadSummary> {
    Budget::check_args(plan.ues, plan.rate, plan.duration)?;
    anyhow::ensure!(
        plan.sessions.is_some() || plan.duration.is_some(),
        "load needs --sessions or --duration"
    );
    let start = Instant::now();
    let run = Arc::new(Run {
        budget: Budget::new(plan.sessions, plan.duration, plan.rate, start),
        emu,
        plan,
        interval: Mutex::new(Stats::new()),
        per_procedure: Mutex::new(BTreeMap::new()),
        ok: Mutex::new((0, 0)),
        held: Mutex::new(Vec::new()),
    });
    let workers: Vec<_> = (0..run.plan.ues)
        .map(|k| tokio::spawn(run.clone().ue(k)))
        .collect();
    let all_done = async {
        for w in workers {
            let _ = w.await;
        }
    };
    let total = report_until_done(
        start,
        &run.budget,
        all_done,
        || std::mem::take(&mut *lock(&run.interval)),
        progress,
    )
    .await;
    let elapsed = start.elapsed();
    let (sessions_ok, sessions_failed) = *lock(&run.ok);
    let secs = elapsed.as_secs_f64();
    Ok(LoadSummary {
        sessions_ok,
        sessions_failed,
        elapsed_secs: (secs * 1000.0).round() / 1000.0,
        sessions_per_sec: if secs > 0.0 {
            ((sessions_ok as f64 / secs) * 10.0).round() / 10.0
        } else {
            0.0
        },
        total: total.summary(elapsed),
        procedures: lock(&run.per_procedure)
            .iter()
            .map(|(k, v)| (k.to_string(), v.summary(elapsed)))
            .collect(),
        held: std::mem::take(&mut *lock(&run.held)),
    })
}

impl LoadSummary {
    /// The human summary: one line for the sessions, one per procedure.
    pub fn human(&self) -> String {
        let mut s = format!(
            "summary: sessions ok={} failed={} elapsed={:.3}s sessions/s={:.1}",
            self.sessions_ok, self.sessions_failed, self.elapsed_secs, self.sessions_per_sec
        );
        if !self.held.is_empty() {
            s.push_str(&format!("\nheld: {} sessions", self.held.len()));
        }
        for (name, p) in &self.procedures {
            s.push_str(&format!(
                "\n{name}: requests={} errors={} p50={}us p90={}us p99={}us max={}us",
                p.requests,
                p.errors,
                p.latency_us.p50,
                p.latency_us.p90,
                p.latency_us.p99,
                p.latency_us.max
            ));
        }
        s
    }
}
