//! The console's demo buttons: each runs a [`Demo`] against the running lab's nodes (its
//! messages go through the lab, so they appear on the console's ladders as they go) and keeps
//! its verdict for the page.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::lab_demo::{Checks, DEMOS, Demo, run_number};

/// A demo's last run.
#[derive(Clone, Serialize)]
pub struct Status {
    pub name: String,
    pub about: String,
    /// "", "running", "PASS" or "FAIL".
    pub state: String,
    pub detail: String,
}

/// The demos' runs (one at a time per demo).
#[derive(Clone, Default)]
pub struct Runs {
    state: Arc<Mutex<BTreeMap<String, Status>>>,
}

impl Runs {
    fn set(&self, name: &str, state: &str, detail: String) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let about = DEMOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| a.to_string())
            .unwrap_or_default();
        s.insert(
            name.to_string(),
            Status {
                name: name.to_string(),
                about,
                state: state.to_string(),
                detail,
            },
        );
    }

    /// Every demo with its last run.
    pub fn list(&self) -> Vec<Status> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        DEMOS
            .iter()
            .map(|(name, about)| {
                s.get(*name).cloned().unwrap_or(Status {
                    name: name.to_string(),
                    about: about.to_string(),
                    state: String::new(),
                    detail: String::new(),
                })
            })
            .collect()
    }

    /// Start `demo` in the background (unless it is running already).
    pub fn start(&self, name: String, demo: Demo, dir: PathBuf) {
        {
            let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.get(&name).is_some_and(|st| st.state == "running") {
                return;
            }
        }
        self.set(&name, "running", String::new());
        let runs = self.clone();
        tokio::spawn(async move {
            let checks = Checks::default();
            let run = match std::fs::create_dir_all(&dir) {
                Ok(()) => demo.run(&dir, run_number(), &checks).await,
                Err(e) => Err(anyhow::anyhow!("{}: {e}", dir.display())),
            };
            let mut detail: Vec<String> = checks
                .all()
                .iter()
                .map(|c| {
                    format!(
                        "{} {}: {}",
                        if c.pass { "PASS" } else { "FAIL" },
                        c.step,
                        c.detail
                    )
                })
                .collect();
            if let Err(e) = &run {
                detail.push(format!("stopped: {e:#}"));
            }
            let state = if run.is_ok() && checks.passed() {
                "PASS"
            } else {
                "FAIL"
            };
            runs.set(&name, state, detail.join("\n"));
        });
    }
}
