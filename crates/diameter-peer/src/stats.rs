//! Load-mode counters and latency statistics: an HDR histogram of
//! request→answer times in microseconds, pairs per second, the per-second
//! progress line and the final summary (human text or JSON).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Counters and the latency histogram of one load run (or one second of it).
#[derive(Clone, Debug)]
pub struct Stats {
    /// Requests sent.
    pub requests: u64,
    /// Answers received (any Result-Code).
    pub answers: u64,
    /// Answers whose Result-Code / Experimental-Result-Code was not 2xxx.
    pub error_answers: u64,
    /// Requests that got no answer (timeout, peer down, encode error).
    pub failures: u64,
    latency: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty; latencies from 1 µs to 1 hour with 3 significant digits.
    pub fn new() -> Self {
        Stats {
            requests: 0,
            answers: 0,
            error_answers: 0,
            failures: 0,
            // 3 significant figures over 1 µs ..= 1 h: bounds are constants that are valid.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid")),
        }
    }

    /// An answer came after `latency`; `success` when its code was 2xxx.
    pub fn record_answer(&mut self, latency: Duration, success: bool) {
        self.answers += 1;
        if !success {
            self.error_answers += 1;
        }
        let us = (latency.as_micros() as u64).clamp(1, self.latency.high());
        self.latency.saturating_record(us);
    }

    /// Adds another set (e.g. one second's) into this one.
    pub fn merge(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.answers += other.answers;
        self.error_answers += other.error_answers;
        self.failures += other.failures;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// Errors: error answers plus requests without an answer.
    pub fn errors(&self) -> u64 {
        self.error_answers + self.failures
    }

    /// The latency at `q` (0..=1) in microseconds, 0 with no samples.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.latency.is_empty() {
            0
        } else {
            self.latency.value_at_quantile(q)
        }
    }

    /// Largest latency in microseconds.
    pub fn max_us(&self) -> u64 {
        if self.latency.is_empty() {
            0
        } else {
            self.latency.max()
        }
    }

    /// The summary over `elapsed`.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64();
        Summary {
            requests: self.requests,
            answers: self.answers,
            errors: self.errors(),
            error_answers: self.error_answers,
            no_answer: self.failures,
            elapsed_secs: round3(secs),
            pairs_per_sec: if secs > 0.0 {
                round3(self.answers as f64 / secs)
            } else {
                0.0
            },
            latency_us: Latency {
                p50: self.quantile_us(0.50),
                p90: self.quantile_us(0.90),
                p99: self.quantile_us(0.99),
                max: self.max_us(),
            },
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// The end-of-run summary (`--json` prints this as one JSON object).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Requests sent.
    pub requests: u64,
    /// Answers received.
    pub answers: u64,
    /// `error_answers + no_answer`.
    pub errors: u64,
    /// Answers that were not 2xxx.
    pub error_answers: u64,
    /// Requests that got no answer.
    pub no_answer: u64,
    /// Wall time of the run.
    pub elapsed_secs: f64,
    /// Answers per second over the run.
    pub pairs_per_sec: f64,
    /// Latency percentiles.
    pub latency_us: Latency,
}

impl Summary {
    /// The human form, a few aligned lines.
    pub fn human(&self) -> String {
        format!(
            "summary: requests={} answers={} errors={} (error answers {}, no answer {}) elapsed={:.3}s\n\
             pairs/s={:.1}\n\
             latency us: p50={} p90={} p99={} max={}",
            self.requests,
            self.answers,
            self.errors,
            self.error_answers,
            self.no_answer,
            self.elapsed_secs,
            self.pairs_per_sec,
            self.latency_us.p50,
            self.latency_us.p90,
            self.latency_us.p99,
            self.latency_us.max
        )
    }

    /// One-line JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// The progress line for one interval: `t` seconds since start, this
/// interval's counts and rate, the run's totals.
pub fn progress_line(
    t: Duration,
    interval: &Stats,
    interval_len: Duration,
    total: &Stats,
) -> String {
    let secs = interval_len.as_secs_f64().max(1e-9);
    format!(
        "progress: t={:.0}s requests={} answers={} errors={} pairs/s={:.0} p50={}us p99={}us total_answers={}",
        t.as_secs_f64(),
        interval.requests,
        interval.answers,
        interval.errors(),
        interval.answers as f64 / secs,
        interval.quantile_us(0.5),
        interval.quantile_us(0.99),
        total.answers
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rate() {
        let mut s = Stats::new();
        s.requests = 1000;
        for i in 1..=1000u64 {
            s.record_answer(Duration::from_micros(i * 10), i % 100 != 0);
        }
        let sum = s.summary(Duration::from_secs(2));
        assert_eq!(sum.answers, 1000);
        assert_eq!(sum.error_answers, 10);
        assert_eq!(sum.errors, 10);
        assert_eq!(sum.pairs_per_sec, 500.0);
        // 3 significant digits: within 0.1 %.
        let near = |got: u64, want: u64| got.abs_diff(want) * 1000 <= want;
        assert!(near(sum.latency_us.p50, 5000), "{sum:?}");
        assert!(near(sum.latency_us.p90, 9000), "{sum:?}");
        assert!(near(sum.latency_us.p99, 9900), "{sum:?}");
        assert!(near(sum.latency_us.max, 10000), "{sum:?}");
        let j: serde_json::Value = serde_json::from_str(&sum.json()).unwrap();
        assert_eq!(j["answers"], 1000);
        assert!(j["latency_us"]["p99"].as_u64().is_some());
        assert!(sum.human().contains("pairs/s=500.0"));
    }

    #[test]
    fn merge_adds_counts_and_samples() {
        let mut a = Stats::new();
        let mut b = Stats::new();
        a.requests = 2;
        b.requests = 3;
        b.failures = 1;
        a.record_answer(Duration::from_micros(100), true);
        b.record_answer(Duration::from_micros(300), false);
        a.merge(&b);
        assert_eq!((a.requests, a.answers, a.errors()), (5, 2, 2));
        assert!(a.max_us() >= 300);
    }

    #[test]
    fn empty_stats_have_zero_latency() {
        let s = Stats::new();
        let sum = s.summary(Duration::ZERO);
        assert_eq!(sum.latency_us.max, 0);
        assert_eq!(sum.pairs_per_sec, 0.0);
    }
}
