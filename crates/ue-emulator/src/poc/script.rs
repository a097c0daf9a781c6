//! The PoC mode's steps, from `--step` flags (docs/ue-emulator.md, "PoC terminals"):
//!
//! | step | what |
//! | --- | --- |
//! | `join [group=URI] [new_ids=true]` | INVITE the group (default `--group`), ACK, ids replaced |
//! | `leave` | BYE |
//! | `rtp [packets=N] [interval_ms=M]` | N RTP packets (default 50, 20 ms apart) to the media port |
//! | `wait_rtp [min=N] [timeout_ms=M]` | until the terminal has received at least N RTP packets (default 1, 5 s) |
//! | `wait ms=N` | sleep |
//!
//! Each takes `ue=K` (0-based; default every terminal at once) and `expect=ok|fail|any|<status>`
//! (default `ok`; a status, e.g. `expect=403`, must be the final SIP status).

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{Outcome, PocClient};

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Join {
        #[serde(default)]
        group: Option<String>,
        #[serde(default)]
        new_ids: bool,
        #[serde(default)]
        ue: Option<u32>,
        #[serde(default)]
        expect: Option<String>,
    },
    Leave {
        #[serde(default)]
        ue: Option<u32>,
        #[serde(default)]
        expect: Option<String>,
    },
    Rtp {
        #[serde(default = "default_packets")]
        packets: u32,
        #[serde(default = "default_interval")]
        interval_ms: u64,
        #[serde(default)]
        ue: Option<u32>,
        #[serde(default)]
        expect: Option<String>,
    },
    WaitRtp {
        #[serde(default = "one")]
        min: u64,
        #[serde(default = "default_wait")]
        timeout_ms: u64,
        #[serde(default)]
        ue: Option<u32>,
        #[serde(default)]
        expect: Option<String>,
    },
    Wait {
        ms: u64,
    },
}

fn default_packets() -> u32 {
    50
}
fn default_interval() -> u64 {
    20
}
fn one() -> u64 {
    1
}
fn default_wait() -> u64 {
    5000
}

/// What a step must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Fail,
    Any,
    Status(u16),
}

impl Expect {
    fn parse(text: Option<&str>) -> Result<Expect, String> {
        Ok(match text.unwrap_or("ok") {
            "ok" => Expect::Ok,
            "fail" => Expect::Fail,
            "any" => Expect::Any,
            s => Expect::Status(
                s.parse()
                    .ok()
                    .filter(|c| (100..700).contains(c))
                    .ok_or_else(|| format!("expect={s:?}: use ok, fail, any or a SIP status"))?,
            ),
        })
    }

    fn met(self, o: &Outcome) -> bool {
        match self {
            Expect::Ok => o.ok,
            Expect::Fail => !o.ok,
            Expect::Any => true,
            Expect::Status(s) => o.status == s,
        }
    }
}

/// One step, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub ue: Option<u32>,
    pub expect: Expect,
}

impl Step {
    /// A `--step` flag: `"join ue=1 group=sip:team@lab.example expect=200"`.
    pub fn parse_flag(text: &str) -> Result<Step, String> {
        let table = crate::step_flag::table(
            text,
            &[
                "ue",
                "ms",
                "packets",
                "interval_ms",
                "min",
                "timeout_ms",
                "new_ids",
            ],
            "join group=sip:team@lab.example",
        )?;
        let action: Action = toml::from_str(&table).map_err(|e| format!("step {text:?}: {e}"))?;
        let (ue, expect) = match &action {
            Action::Join { ue, expect, .. }
            | Action::Leave { ue, expect }
            | Action::Rtp { ue, expect, .. }
            | Action::WaitRtp { ue, expect, .. } => (*ue, Expect::parse(expect.as_deref())?),
            Action::Wait { .. } => (None, Expect::Any),
        };
        Ok(Step { action, ue, expect })
    }

    fn name(&self) -> &'static str {
        match self.action {
            Action::Join { .. } => "join",
            Action::Leave { .. } => "leave",
            Action::Rtp { .. } => "rtp",
            Action::WaitRtp { .. } => "wait_rtp",
            Action::Wait { .. } => "wait",
        }
    }
}

/// Run one step on terminal `index`.
async fn run_one(client: &PocClient, index: usize, action: &Action) -> Outcome {
    match action {
        Action::Join { group, new_ids, .. } => client.join(index, group.as_deref(), *new_ids).await,
        Action::Leave { .. } => client.leave(index).await,
        Action::Rtp {
            packets,
            interval_ms,
            ..
        } => {
            client
                .send_rtp(index, *packets, Duration::from_millis(*interval_ms))
                .await
        }
        Action::WaitRtp {
            min, timeout_ms, ..
        } => {
            let started = Instant::now();
            let deadline = started + Duration::from_millis(*timeout_ms);
            loop {
                let got = client.view(index).map(|v| v.rtp_received).unwrap_or(0);
                if got >= *min || Instant::now() >= deadline {
                    return Outcome {
                        ok: got >= *min,
                        detail: format!("{got} RTP packets received"),
                        elapsed: started.elapsed(),
                        ..Outcome::default()
                    };
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Action::Wait { .. } => Outcome::default(),
    }
}

/// One printed line per terminal and step:
/// `step 2 ue 1 join ok 200 conversation-id=… contribution-id=… replaced (joined; …) 3.1 ms`.
fn line(number: usize, index: usize, step: &Step, o: &Outcome) -> String {
    let ids = o
        .ids
        .as_ref()
        .map(|i| {
            format!(
                " conversation-id={} contribution-id={}",
                i.conversation_id, i.contribution_id
            )
        })
        .unwrap_or_default();
    format!(
        "step {number} ue {index} {} {} {}{ids}{} ({}) {:.1} ms",
        step.name(),
        if o.ok { "ok" } else { "failed" },
        o.status,
        if o.replaced { " replaced" } else { "" },
        o.detail,
        o.elapsed.as_secs_f64() * 1000.0
    )
}

/// Run `steps` in order, printing each outcome; the first that does not end as it expects
/// stops the run.
pub async fn run(client: &PocClient, steps: &[Step]) -> Result<(), String> {
    for (n, step) in steps.iter().enumerate() {
        let number = n + 1;
        if let Action::Wait { ms } = step.action {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            continue;
        }
        let targets: Vec<usize> = match step.ue {
            Some(ue) => vec![ue as usize],
            None => (0..client.len()).collect(),
        };
        let mut running = tokio::task::JoinSet::new();
        for index in targets {
            let client = client.clone();
            let action = step.action.clone();
            running.spawn(async move { (index, run_one(&client, index, &action).await) });
        }
        let mut outcomes = running.join_all().await;
        outcomes.sort_by_key(|(i, _)| *i);
        let mut failed = None;
        for (index, o) in outcomes {
            println!("{}", line(number, index, step, &o));
            if !step.expect.met(&o) && failed.is_none() {
                failed = Some(format!(
                    "step {number} ({}) on terminal {index}: {} {} ({})",
                    step.name(),
                    if o.ok { "succeeded" } else { "failed" },
                    o.status,
                    o.detail
                ));
            }
        }
        if let Some(f) = failed {
            return Err(f);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_steps_read() {
        let s = Step::parse_flag("join ue=1 group=sip:team@lab.example new_ids=true expect=403")
            .unwrap();
        assert_eq!(s.ue, Some(1));
        assert_eq!(s.expect, Expect::Status(403));
        assert!(
            matches!(s.action, Action::Join { new_ids: true, ref group, .. } if group.as_deref() == Some("sip:team@lab.example"))
        );
        let r = Step::parse_flag("rtp packets=10").unwrap();
        assert!(matches!(
            r.action,
            Action::Rtp {
                packets: 10,
                interval_ms: 20,
                ..
            }
        ));
        assert_eq!(r.expect, Expect::Ok);
        assert!(matches!(
            Step::parse_flag("wait-rtp min=5").unwrap().action,
            Action::WaitRtp {
                min: 5,
                timeout_ms: 5000,
                ..
            }
        ));
    }

    #[test]
    fn bad_steps_say_what() {
        assert!(Step::parse_flag("fly").is_err());
        assert!(Step::parse_flag("join colour=red").is_err());
        assert!(
            Step::parse_flag("join expect=maybe")
                .unwrap_err()
                .contains("expect")
        );
        assert!(Step::parse_flag("wait").is_err());
        assert!(Step::parse_flag("").is_err());
    }
}
