//! The console's demo buttons: each plays the seed's client side **against the running lab's
//! nodes** as a separate process (its messages go through the lab, so they appear on the
//! console's ladders), then checks the nodes' state:
//! - `presence`: `labctl probe presence` against the lab's presence-server (every behaviour of
//!   seed 001 shown);
//! - `dra`: `pcc-emulator run` of embodiment 1 (BBERF, redirect vDRA, redirect hDRA) against the
//!   lab's vDRA; then neither DRA holds a binding for the UE;
//! - `mbs`: `ue-emulator 5g` playing seed 000's figure against the lab's session-manager (join,
//!   coverage lost, MBS app closed, mobility registration with the QFI lists); then the UE has no
//!   TMGI left.
//!
//! PoC is not in the lab's topology yet (`labctl demo poc` runs it on its own nodes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::lab::LabState;
use crate::node::bin_path;

/// A run's bound.
const LIMIT: Duration = Duration::from_secs(120);

/// The demos the console offers, with what each shows.
pub const DEMOS: [(&str, &str); 3] = [
    (
        "presence",
        "IMS presence (seed 001): a failed NOTIFY is followed by a MESSAGE; the watcher re-subscribes",
    ),
    (
        "dra",
        "Diameter roaming (seed 003): embodiment 1; no binding left in the vDRA or the hDRA",
    ),
    (
        "mbs",
        "5G MBS (seed 000): the MBS flows and the TMGI released at mobility registration",
    ),
];

/// One demo, with the addresses it needs from the lab.
pub enum Demo {
    Presence { sip: String },
    Dra { vdra: String, admins: Vec<String> },
    Mbs { n1: String, admin: String },
}

fn addr(lab: &LabState, node: &str, key: &str) -> anyhow::Result<String> {
    lab.node(node)?
        .addrs
        .get(key)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{node} has no {key} address"))
}

impl Demo {
    pub fn of(name: &str, lab: &LabState) -> anyhow::Result<Demo> {
        Ok(match name {
            "presence" => Demo::Presence {
                sip: addr(lab, "presence-server", "sip")?,
            },
            "dra" => Demo::Dra {
                vdra: addr(lab, "vdra", "diameter")?,
                admins: vec![addr(lab, "vdra", "admin")?, addr(lab, "hdra", "admin")?],
            },
            "mbs" => Demo::Mbs {
                n1: addr(lab, "session-manager", "grpc")?,
                admin: addr(lab, "session-manager", "admin")?,
            },
            other => anyhow::bail!("no demo {other}"),
        })
    }

    /// Play it; `Ok(detail)` when every check passed.
    async fn run(&self, dir: &Path, n: u32) -> anyhow::Result<String> {
        match self {
            Demo::Presence { sip } => {
                let target = format!("sip:{sip}");
                let out = command(
                    &bin_path("labctl")?,
                    &["probe", "presence", "--target", &target, "--wait-s", "15"],
                )
                .await?;
                let verdict = out.lines().last().unwrap_or_default().to_string();
                Ok(verdict)
            }
            Demo::Dra { vdra, admins } => {
                let nai = format!("00101{:010}", 9_000_000 + n);
                let scenario = dir.join(format!("console-dra-{n}.toml"));
                std::fs::write(
                    &scenario,
                    format!(
                        "mode = \"redirect\"\nordering = \"after_redirect\"\n\
                         [[step]]\nrole = \"bberf\"\nue = {{ nai = \"{nai}\", ip = \"10.46.{}.{}\", apn = \"internet\" }}\n\
                         action = \"establish\"\nexpect = 2001\n\
                         [[step]]\nrole = \"bberf\"\naction = \"terminate\"\nexpect = 2001\n",
                        n / 250 % 250,
                        n % 250 + 1
                    ),
                )?;
                command(
                    &bin_path("pcc-emulator")?,
                    &[
                        "run",
                        "--origin-host",
                        "bberf.lab",
                        "--origin-realm",
                        "lab",
                        "--destination-realm",
                        "visited.lab",
                        "--dra",
                        vdra,
                        "--scenario",
                        &scenario.display().to_string(),
                    ],
                )
                .await?;
                for admin in admins {
                    let url = format!("http://{admin}/bindings?nai={nai}");
                    let body = crate::http::get_ok(&url).await?;
                    anyhow::ensure!(body.trim() == "[]", "{url}: a binding is left: {body}");
                }
                Ok(format!(
                    "UE {nai}: established and ended; no binding left in the vDRA or the hDRA"
                ))
            }
            Demo::Mbs { n1, admin } => {
                let msin = format!("{:010}", 9_000_000 + n);
                let scenario = dir.join(format!("console-mbs-{n}.toml"));
                std::fs::write(
                    &scenario,
                    "ues = 1\nqfi_lists = true\n\
                     [[step]]\ndo = \"register\"\n[[step]]\ndo = \"establish\"\npsi = 1\n\
                     [[step]]\ndo = \"join\"\ntmgi = \"000001\"\npsi = 1\n\
                     [[step]]\ndo = \"lose_coverage\"\n[[step]]\ndo = \"close_mbs_app\"\n\
                     [[step]]\ndo = \"regain_coverage\"\n",
                )?;
                command(
                    &bin_path("ue-emulator")?,
                    &[
                        "5g",
                        "--n1",
                        &format!("http://{n1}"),
                        "--gnb-name",
                        &format!("console-gnb-{n}"),
                        "--first-msin",
                        &msin,
                        "--scenario",
                        &scenario.display().to_string(),
                        "--exit-after-steps",
                        "--admin-listen",
                        "127.0.0.1:0",
                        "--grpc-listen",
                        "127.0.0.1:0",
                    ],
                )
                .await?;
                let supi = format!("imsi-00101{msin}");
                let url = format!("http://{admin}/ues/{supi}");
                let ue: serde_json::Value =
                    serde_json::from_str(&crate::http::get_ok(&url).await?)?;
                let tmgis = ue["tmgis"].as_array().map(Vec::len).unwrap_or(0);
                anyhow::ensure!(tmgis == 0, "{supi} still has {tmgis} TMGI(s): {ue}");
                Ok(format!(
                    "{supi}: MBS flows and TMGI released at its mobility registration"
                ))
            }
        }
    }
}

/// Run a program to its end (bounded); its stdout, or an error with its output.
async fn command(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let run = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, run)
        .await
        .map_err(|_| anyhow::anyhow!("{} did not end in {LIMIT:?}", program.display()))??;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "{} {:?}: {}\n{stdout}{}",
        program.display(),
        out.status.code(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(stdout)
}

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
    count: Arc<AtomicU32>,
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
        let n = self.count.fetch_add(1, Ordering::Relaxed) + std::process::id() % 1000 * 100;
        tokio::spawn(async move {
            match demo.run(&dir, n).await {
                Ok(detail) => runs.set(&name, "PASS", detail),
                Err(e) => runs.set(&name, "FAIL", format!("{e:#}")),
            }
        });
    }
}
