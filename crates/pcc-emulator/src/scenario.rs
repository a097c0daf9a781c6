//! Scenario files: any embodiment's client side as TOML steps (docs/pcc-emulator.md
//! "Scenarios"). Parsing and checking are pure; [`run`] plays the steps on an [`Emulator`].

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use crate::emulator::{Emulator, StepOptions, is_success};
use crate::model::{Action, DraMode, Ordering, Role, Target, Ue};

/// A scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The vDRA's mode (overrides `--mode`).
    pub mode: Option<DraMode>,
    /// The termination ordering (overrides `--ordering`).
    pub ordering: Option<Ordering>,
    /// The steps, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// CCR-I / AAR.
    Establish,
    /// CCR-U / AAR.
    Modify,
    /// CCR-T / STR.
    Terminate,
    /// Wait until `count` requests from the PCRF (RAR, ASR) have been answered.
    AwaitRequests,
    /// Wait until the session was ended by the PCRF (ASR or loss-of-bearer RAR, then STR).
    AwaitEnd,
}

/// One step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The client role (establish; later steps take the session's).
    pub role: Option<Role>,
    /// A label for the session, used by later steps (default: the role's name).
    pub session: Option<String>,
    /// The UE (establish).
    pub ue: Option<Ue>,
    /// What to do.
    pub action: StepAction,
    /// Overrides where the message goes.
    pub target: Option<Target>,
    /// Overrides the termination ordering.
    pub ordering: Option<Ordering>,
    /// Expected Result-Code of the procedure (default: any 2xxx).
    pub expect: Option<u32>,
    /// For `await_requests`: how many requests in all.
    pub count: Option<u64>,
    /// For the awaits: how long at most (default 10 s).
    pub within_secs: Option<u64>,
}

impl Step {
    fn label(&self) -> Option<String> {
        self.session
            .clone()
            .or_else(|| self.role.map(|r| r.name().to_string()))
    }
}

/// Reads and checks a scenario (every step names what it needs).
pub fn parse(text: &str) -> anyhow::Result<Scenario> {
    let s: Scenario = toml::from_str(text)?;
    let mut labels: Vec<String> = Vec::new();
    for (i, st) in s.steps.iter().enumerate() {
        let n = i + 1;
        match st.action {
            StepAction::Establish => {
                anyhow::ensure!(st.role.is_some(), "step {n}: establish needs a role");
                anyhow::ensure!(st.ue.is_some(), "step {n}: establish needs a ue");
                labels.extend(st.label());
            }
            StepAction::Modify | StepAction::Terminate | StepAction::AwaitEnd => {
                let l = st.label();
                anyhow::ensure!(
                    l.as_ref().is_some_and(|l| labels.contains(l)),
                    "step {n}: session {:?} was not established by an earlier step",
                    l.unwrap_or_default()
                );
            }
            StepAction::AwaitRequests => {
                anyhow::ensure!(st.count.is_some(), "step {n}: await_requests needs a count");
            }
        }
    }
    Ok(s)
}

/// Plays the steps; prints a `-- step N ...` line each, and returns the mismatches.
pub async fn run(emu: &Emulator, scenario: &Scenario, print: bool) -> Vec<String> {
    let mut sessions: HashMap<String, String> = HashMap::new();
    let mut mismatches = Vec::new();
    for (i, st) in scenario.steps.iter().enumerate() {
        let n = i + 1;
        let opts = StepOptions {
            target: st.target,
            ordering: st.ordering,
        };
        let label = st.label().unwrap_or_default();
        let within = Duration::from_secs(st.within_secs.unwrap_or(10));
        let (what, code) = match st.action {
            StepAction::Establish => {
                let (Some(role), Some(ue)) = (st.role, &st.ue) else {
                    continue; // parse() ensured both
                };
                let out = emu.establish(role, ue, opts).await;
                sessions.insert(label.clone(), out.session_id);
                ("establish", out.result_code)
            }
            StepAction::Modify | StepAction::Terminate => {
                let action = if st.action == StepAction::Modify {
                    Action::Modify
                } else {
                    Action::Terminate
                };
                let out = match sessions.get(&label) {
                    Some(id) => match action {
                        Action::Modify => emu.modify(id, opts).await,
                        _ => emu.terminate(id, opts).await,
                    },
                    None => None,
                };
                (
                    if action == Action::Modify {
                        "modify"
                    } else {
                        "terminate"
                    },
                    out.and_then(|o| o.result_code),
                )
            }
            StepAction::AwaitRequests => {
                let want = st.count.unwrap_or(1);
                let ok = emu.wait_answered(want, within).await;
                if !ok {
                    mismatches.push(format!(
                        "step {n}: answered {} of {want} requests from the PCRF",
                        emu.answered_requests()
                    ));
                }
                if print {
                    diameter_peer::print::out(&format!(
                        "-- step {n} await_requests {want}: {}",
                        if ok { "ok" } else { "MISMATCH" }
                    ));
                }
                continue;
            }
            StepAction::AwaitEnd => {
                let ok = match sessions.get(&label) {
                    Some(id) => emu.wait_ended(id, within).await,
                    None => false,
                };
                if !ok {
                    mismatches.push(format!(
                        "step {n}: session {label} was not ended by the PCRF"
                    ));
                }
                if print {
                    diameter_peer::print::out(&format!(
                        "-- step {n} await_end {label}: {}",
                        if ok { "ok" } else { "MISMATCH" }
                    ));
                }
                continue;
            }
        };
        let ok = match (st.expect, code) {
            (Some(e), Some(c)) => e == c,
            (None, Some(c)) => is_success(c),
            (_, None) => false,
        };
        let got = code.map_or_else(|| "no answer".to_string(), |c| c.to_string());
        if !ok {
            mismatches.push(format!(
                "step {n}: {what} {label}: Result-Code {got}, expected {}",
                st.expect
                    .map_or_else(|| "2xxx".to_string(), |e| e.to_string())
            ));
        }
        if print {
            diameter_peer::print::out(&format!(
                "-- step {n} {what} {label}: {got} {}",
                if ok { "ok" } else { "MISMATCH" }
            ));
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMBODIMENT_1: &str = r#"
mode = "redirect"
ordering = "at_once"

[[step]]
role = "bberf"
ue = { nai = "001010000000001", ip = "10.45.0.1", apn = "internet" }
action = "establish"

[[step]]
role = "bberf"
action = "terminate"
expect = 2001
"#;

    #[test]
    fn a_scenario_reads_with_defaults() {
        let s = parse(EMBODIMENT_1).unwrap();
        assert_eq!(s.mode, Some(DraMode::Redirect));
        assert_eq!(s.ordering, Some(Ordering::AtOnce));
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[0].ue.as_ref().unwrap().apn, "internet");
        assert_eq!(s.steps[1].label().as_deref(), Some("bberf"));
    }

    #[test]
    fn the_examples_read() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
        assert!(n >= 3);
    }

    #[test]
    fn steps_must_name_what_they_need() {
        let e = parse("[[step]]\nrole = \"pcef\"\naction = \"establish\"\n").unwrap_err();
        assert!(
            e.to_string().contains("step 1: establish needs a ue"),
            "{e}"
        );
        let e = parse("[[step]]\nsession = \"x\"\naction = \"terminate\"\n").unwrap_err();
        assert!(e.to_string().contains("was not established"), "{e}");
        let e = parse("[[step]]\naction = \"jump\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
        let e = parse("[[step]]\naction = \"await_requests\"\n").unwrap_err();
        assert!(e.to_string().contains("needs a count"), "{e}");
    }
}
