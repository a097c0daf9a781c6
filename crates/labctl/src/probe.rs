//! What every `labctl probe` reports (issue 14 §5): one line per probed behaviour of the seed,
//! SHOWS or LACKS with what was seen, in the order the steps ran. `probe presence`
//! (`presence.rs`) and `probe dra` (`probe_dra.rs`) share it, and the exit status made of it.

/// One probed behaviour: shown or lacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Shows,
    Lacks,
}

/// The verdicts so far, printed as they are recorded.
#[derive(Debug, Default)]
pub struct Report {
    steps: Vec<(String, Verdict)>,
}

impl Report {
    /// Record and print step `what` (`" 2 LACKS what: detail"`).
    pub fn record(&mut self, what: &str, verdict: Verdict, detail: impl std::fmt::Display) {
        let tag = match verdict {
            Verdict::Shows => "SHOWS",
            Verdict::Lacks => "LACKS",
        };
        println!("{:>2} {tag:<5} {what}: {detail}", self.steps.len() + 1);
        self.steps.push((what.to_string(), verdict));
    }

    /// [`Report::record`] with SHOWS when `shows`.
    pub fn check(&mut self, what: &str, shows: bool, detail: impl std::fmt::Display) {
        let verdict = if shows {
            Verdict::Shows
        } else {
            Verdict::Lacks
        };
        self.record(what, verdict, detail);
    }

    /// How many steps show.
    pub fn shown(&self) -> usize {
        self.steps
            .iter()
            .filter(|(_, v)| *v == Verdict::Shows)
            .count()
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The recorded steps: (what, verdict).
    pub fn into_steps(self) -> Vec<(String, Verdict)> {
        self.steps
    }
}

/// The exit status of a probe: 0 when every step shows, 2 when one lacks.
pub fn exit_status(steps: &[(String, Verdict)]) -> i32 {
    if steps.iter().all(|(_, v)| *v == Verdict::Shows) {
        0
    } else {
        2
    }
}

/// A tag unique to this run (milliseconds, mod 10⁹), so that the users or UEs of a run against a
/// target that keeps state (a long-lived lab, another vendor's node) are ones it has not seen.
pub fn run_tag() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() % 1_000_000_000) as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lacking_step_makes_the_exit_status_2() {
        let mut r = Report::default();
        r.check("a", true, "");
        assert_eq!(exit_status(&r.steps), 0);
        r.record("b", Verdict::Lacks, "");
        assert_eq!((r.shown(), r.len()), (1, 2));
        assert_eq!(exit_status(&r.into_steps()), 2);
    }
}
