//! Steps that drive the UEs, from `--step` flags or a scenario file (TOML); both read into the
//! same [`Step`] (docs/ue-emulator.md, "Scenario file").
//!
//! ```toml
//! ues = 2            # optional: overrides --ues
//! qfi_lists = true   # optional: overrides --qfi-lists
//! [[step]]
//! do = "register"    # every UE (no `ue`)
//! [[step]]
//! do = "join"
//! ue = 0
//! tmgi = "000001"
//! psi = 1            # reuse session 1; without psi: a new session
//! [[step]]
//! do = "wait"
//! ms = 500
//! ```
//!
//! A flag step is the same table on one line: `--step "join ue=0 tmgi=000001 psi=1"`.

use std::time::Duration;

use serde::Deserialize;

use crate::fivegs::control::parse_leave_how;
use crate::fivegs::gnb::Gnb;
use crate::fivegs::identity::parse_tmgi;
use crate::fivegs::ue::{Command, Outcome};

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Initial registration.
    Register,
    /// PDU session establishment (`psi` absent: the lowest free one).
    Establish {
        /// The session.
        #[serde(default)]
        psi: Option<u8>,
    },
    /// MBS join on session `psi`, or on a new session.
    Join {
        /// The TMGI (`000001`, `000001@001-01`).
        tmgi: String,
        /// Reuse this session; absent: a new one.
        #[serde(default)]
        psi: Option<u8>,
    },
    /// MBS leave (`how`: as_joined, modification, release).
    Leave {
        /// The TMGI.
        tmgi: String,
        /// How.
        #[serde(default)]
        how: Option<String>,
    },
    /// Out of coverage.
    LoseCoverage,
    /// Back in coverage (mobility registration).
    RegainCoverage,
    /// Close the MBS app (one TMGI, or all).
    CloseMbsApp {
        /// The TMGI, or all.
        #[serde(default)]
        tmgi: Option<String>,
    },
    /// Sleep.
    Wait {
        /// How long, in ms.
        ms: u64,
    },
}

/// What the step must end with; a step that ends otherwise stops the script.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Accepted / done.
    #[default]
    Ok,
    /// Rejected or failed.
    Fail,
    /// Either.
    Any,
}

/// One step: an action on one UE (`ue`, 0-based) or on every UE (all at once).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Step {
    /// The UE, or every UE.
    #[serde(default)]
    pub ue: Option<u32>,
    /// What it must end with.
    #[serde(default)]
    pub expect: Expect,
    /// What it does.
    #[serde(flatten)]
    pub action: Action,
}

/// A scenario file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Number of UEs (overrides `--ues`).
    #[serde(default)]
    pub ues: Option<usize>,
    /// The `qfi_lists` capability of every UE (overrides `--qfi-lists`).
    #[serde(default)]
    pub qfi_lists: Option<bool>,
    /// The steps, in order.
    #[serde(default)]
    pub step: Vec<Step>,
}

impl Scenario {
    /// Read a scenario file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let scenario: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        for step in &scenario.step {
            step.command()?;
        }
        Ok(scenario)
    }
}

impl Step {
    /// A `--step` flag: the action's name, then `key=value` pairs.
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        let table = crate::step_flag::table(text, &["ue", "psi", "ms"], "join tmgi=000001 psi=1")?;
        let step: Self = toml::from_str(&table).map_err(|e| format!("step {text:?}: {e}"))?;
        step.command()?;
        Ok(step)
    }

    /// The UE command of the step (`None` for `wait`).
    pub fn command(&self) -> Result<Option<Command>, String> {
        Ok(Some(match &self.action {
            Action::Register => Command::Register,
            Action::Establish { psi } => Command::Establish { psi: *psi },
            Action::Join { tmgi, psi } => Command::Join {
                tmgi: parse_tmgi(tmgi)?,
                psi: *psi,
            },
            Action::Leave { tmgi, how } => Command::Leave {
                tmgi: parse_tmgi(tmgi)?,
                how: parse_leave_how(how.as_deref().unwrap_or(""))?,
            },
            Action::LoseCoverage => Command::LoseCoverage,
            Action::RegainCoverage => Command::RegainCoverage,
            Action::CloseMbsApp { tmgi } => Command::CloseMbsApp {
                tmgi: tmgi.as_deref().map(parse_tmgi).transpose()?,
            },
            Action::Wait { .. } => return Ok(None),
        }))
    }
}

/// Run `steps` in order, printing each outcome on stdout; the first that does not end as it
/// expects stops the run.
pub async fn run(gnb: &Gnb, steps: &[Step]) -> Result<(), String> {
    for (number, step) in steps.iter().enumerate() {
        let Some(command) = step.command()? else {
            if let Action::Wait { ms } = step.action {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            continue;
        };
        let targets: Vec<usize> = match step.ue {
            Some(ue) => vec![ue as usize],
            None => (0..gnb.len()).collect(),
        };
        let mut running = tokio::task::JoinSet::new();
        for index in targets {
            let gnb = gnb.clone();
            let command = command.clone();
            running.spawn(async move { (index, gnb.command(index, command).await) });
        }
        let mut outcomes: Vec<(usize, Outcome)> = running.join_all().await;
        outcomes.sort_by_key(|(index, _)| *index);
        for (index, outcome) in outcomes {
            println!(
                "step {} ue {index} {} {} ({}{}) {:.1} ms",
                number + 1,
                outcome.procedure.name(),
                if outcome.ok { "ok" } else { "failed" },
                outcome.detail,
                outcome
                    .cause
                    .map(|c| format!(", cause {c:?}"))
                    .unwrap_or_default(),
                outcome.elapsed.as_secs_f64() * 1000.0,
            );
            let as_expected = match step.expect {
                Expect::Ok => outcome.ok,
                Expect::Fail => !outcome.ok,
                Expect::Any => true,
            };
            if !as_expected {
                return Err(format!(
                    "step {} ({:?}) on UE {index}: {} ({})",
                    number + 1,
                    step.action,
                    if outcome.ok { "succeeded" } else { "failed" },
                    outcome.detail
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_step_and_a_file_step_read_the_same() {
        let flag = Step::parse_flag("join ue=0 tmgi=000001 psi=1").unwrap();
        let file = Scenario::parse(
            "ues = 2\n[[step]]\ndo = \"join\"\nue = 0\ntmgi = \"000001\"\npsi = 1\n",
        )
        .unwrap();
        assert_eq!(file.ues, Some(2));
        assert_eq!(file.step, vec![flag.clone()]);
        assert!(matches!(
            flag.command(),
            Ok(Some(Command::Join { psi: Some(1), .. }))
        ));
        let close = Step::parse_flag("close-mbs-app expect=any").unwrap();
        assert_eq!(close.action, Action::CloseMbsApp { tmgi: None });
        assert_eq!(close.expect, Expect::Any);
    }

    #[test]
    fn bad_steps_say_what_is_wrong() {
        assert!(Step::parse_flag("fly").is_err());
        assert!(Step::parse_flag("join psi=1").unwrap_err().contains("tmgi"));
        assert!(
            Step::parse_flag("join tmgi=zz")
                .unwrap_err()
                .contains("hex")
        );
        assert!(Step::parse_flag("leave tmgi=1 how=teleport").is_err());
        assert!(Scenario::parse("colour = 1").is_err());
    }
}
