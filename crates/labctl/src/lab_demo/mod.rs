//! The demos played **against a running lab** (`labctl up`, deploy/lab.toml): each plays the
//! seed's client side as separate processes whose messages go through the lab's nodes, then
//! checks the nodes' state. `labctl demo <name>` prints the messages the nodes' wire taps saw as
//! a ladder with each check's verdict in place ([`cli`]); the console's buttons run the same
//! demos and draw the same messages in the page.
//! - `presence`: `labctl probe presence` against the lab's presence-server: every behaviour of
//!   seed 001 shown (a failed NOTIFY is followed by a MESSAGE; the watcher's view is restored);
//! - `dra`: `pcc-emulator run` of embodiment 1 (BBERF, redirect vDRA, redirect hDRA): each
//!   answer as expected, a binding made by each DRA and deleted at the end;
//! - `poc`: two `ue-emulator poc` terminals behind the lab's PF-A and PF-B play seed 002's figure
//!   ([`crate::poc_figure`]) in a join group provisioned for the run;
//! - `mbs`: `ue-emulator 5g` plays seed 000's figure against the lab's session-manager; the UE
//!   keeps no TMGI.

pub mod cli;
mod flow;
mod poc;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::AsyncBufReadExt;

use crate::lab::LabState;
use crate::node::bin_path;

/// A run's bound.
const LIMIT: Duration = Duration::from_secs(120);

/// The demos, in the order `demo all` plays them, with what each shows.
pub const DEMOS: [(&str, &str); 4] = [
    (
        "presence",
        "IMS presence (seed 001): a failed NOTIFY is followed by a MESSAGE; the watcher re-subscribes",
    ),
    (
        "dra",
        "Diameter roaming (seed 003): embodiment 1; the vDRA's and the hDRA's bindings deleted",
    ),
    (
        "poc",
        "PoC (seed 002): a later joiner of a join group is given the first joiner's ids",
    ),
    (
        "mbs",
        "5G MBS (seed 000): the MBS flows and the TMGI released at mobility registration",
    ),
];

/// One verdict of a run, when it was made.
#[derive(Debug, Clone)]
pub struct Check {
    pub at: SystemTime,
    pub step: String,
    pub pass: bool,
    pub detail: String,
}

/// The verdicts of a run so far (shared with the console, which shows them as they come), and
/// names for the addresses of the demo's own processes (the ladder's lanes outside the lab).
#[derive(Debug, Clone, Default)]
pub struct Checks(Arc<Mutex<Vec<Check>>>, Arc<Mutex<BTreeMap<String, String>>>);

impl Checks {
    /// Call the lane of `addr` (`ip:port`) `name`.
    pub fn name_lane(&self, addr: &str, name: &str) {
        self.1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(addr.to_string(), name.to_string());
    }

    pub fn lane_names(&self) -> BTreeMap<String, String> {
        self.1.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn push(&self, step: &str, pass: bool, detail: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Check {
                at: SystemTime::now(),
                step: step.to_string(),
                pass,
                detail: detail.into(),
            });
    }

    pub fn all(&self) -> Vec<Check> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every check passed (and there was one).
    pub fn passed(&self) -> bool {
        let all = self.all();
        !all.is_empty() && all.iter().all(|c| c.pass)
    }
}

/// One demo, with the addresses it needs from the lab.
pub enum Demo {
    Presence {
        sip: String,
    },
    Dra {
        vdra: String,
        /// The vDRA's and the hDRA's admin addresses.
        admins: [String; 2],
    },
    Poc(poc::PocTarget),
    Mbs {
        n1: String,
        admin: String,
    },
}

fn addr(lab: &LabState, node: &str, key: &str) -> anyhow::Result<String> {
    lab.node(node)?
        .addrs
        .get(key)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{node} has no {key} address"))
}

/// A number for this run's users, UEs and group: [`crate::probe::run_tag`], plus a count so
/// that two runs started in the same millisecond (the console's "run all") differ.
pub fn run_number() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    (crate::probe::run_tag() as u32)
        .wrapping_add(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

impl Demo {
    pub fn of(name: &str, lab: &LabState) -> anyhow::Result<Demo> {
        Ok(match name {
            "presence" => Demo::Presence {
                sip: addr(lab, "presence-server", "sip")?,
            },
            "dra" => Demo::Dra {
                vdra: addr(lab, "vdra", "diameter")?,
                admins: [addr(lab, "vdra", "admin")?, addr(lab, "hdra", "admin")?],
            },
            "poc" => Demo::Poc(poc::PocTarget::of(lab)?),
            "mbs" => Demo::Mbs {
                n1: addr(lab, "session-manager", "grpc")?,
                admin: addr(lab, "session-manager", "admin")?,
            },
            other => anyhow::bail!(
                "no demo {other} (one of {})",
                DEMOS.map(|(n, _)| n).join(", ")
            ),
        })
    }

    /// Play it in `dir` as run `n`, each verdict into `checks`; an error stops the run (a
    /// failure too).
    pub async fn run(&self, dir: &Path, n: u32, checks: &Checks) -> anyhow::Result<()> {
        match self {
            Demo::Presence { sip } => {
                let target = format!("sip:{sip}");
                // Each probed behaviour is a line "N SHOWS|LACKS what: detail" as it is decided;
                // the UEs' addresses are lines "   at ADDR: user (role)".
                lines(
                    &bin_path("labctl")?,
                    &["probe", "presence", "--target", &target, "--wait-s", "15"],
                    |line| {
                        // "   at ADDR: user (role)": a lane's name.
                        if let Some((at, who)) =
                            line.strip_prefix("   at ").and_then(|l| l.split_once(": "))
                        {
                            checks.name_lane(at, who);
                            return;
                        }
                        let mut words = line.split_whitespace();
                        let (Some(_), Some(tag)) = (words.next(), words.next()) else {
                            return;
                        };
                        if tag == "SHOWS" || tag == "LACKS" {
                            let rest = line.split_once(tag).map(|(_, r)| r.trim()).unwrap_or("");
                            let (what, detail) = rest.split_once(": ").unwrap_or((rest, ""));
                            checks.push(what, tag == "SHOWS", detail);
                        }
                    },
                )
                .await?;
                Ok(())
            }
            Demo::Dra { vdra, admins } => dra(vdra, admins, dir, n, checks).await,
            Demo::Poc(target) => target.run(dir, n, checks).await,
            Demo::Mbs { n1, admin } => mbs(n1, admin, dir, n, checks).await,
        }
    }
}

/// `corelab_dra_bindings_created_total` and `corelab_dra_deletions_total` (all labels) of a DRA.
async fn dra_counts(admin: &str) -> anyhow::Result<(f64, f64)> {
    let text = crate::http::get_ok(&format!("http://{admin}/metrics")).await?;
    let sum = |name: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    Ok((
        sum("corelab_dra_bindings_created_total"),
        sum("corelab_dra_deletions_total"),
    ))
}

async fn dra(
    vdra: &str,
    admins: &[String; 2],
    dir: &Path,
    n: u32,
    checks: &Checks,
) -> anyhow::Result<()> {
    let nai = format!("00101{:010}", 9_000_000 + n);
    let scenario = dir.join(format!("demo-dra-{n}.toml"));
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
    let before = [dra_counts(&admins[0]).await?, dra_counts(&admins[1]).await?];
    checks.name_lane(flow::ANY, "BBERF (pcc-emulator)");
    // pcc-emulator prints "-- step N <what> <label>: <code> ok|MISMATCH" per step.
    lines(
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
        |line| {
            if let Some(rest) = line.strip_prefix("-- step ")
                && let Some((what, verdict)) = rest.rsplit_once(' ')
            {
                checks.push(
                    &format!("UE {nai}: step {what}"),
                    verdict == "ok",
                    "the answer pcc-emulator expected",
                );
            }
        },
    )
    .await?;
    for ((admin, (created0, deleted0)), name) in admins.iter().zip(before).zip(["vDRA", "hDRA"]) {
        let (created, deleted) = dra_counts(admin).await?;
        let left = crate::http::get_ok(&format!("http://{admin}/bindings?nai={nai}")).await?;
        checks.push(
            &format!("{name}: the binding made for the session is deleted at its end"),
            created > created0 && deleted > deleted0 && left.trim() == "[]",
            format!(
                "bindings created +{}, deletions +{}, left for {nai}: {}",
                created - created0,
                deleted - deleted0,
                left.trim()
            ),
        );
    }
    Ok(())
}

/// Out of coverage long enough to be paged (the lab pages every second), and after the
/// mobility registration long enough to show that paging stopped.
const MBS_SCENARIO: &str = "ues = 1\nqfi_lists = true\n\
     [[step]]\ndo = \"register\"\n[[step]]\ndo = \"establish\"\npsi = 1\n\
     [[step]]\ndo = \"join\"\ntmgi = \"000001\"\npsi = 1\n\
     [[step]]\ndo = \"lose_coverage\"\n[[step]]\ndo = \"wait\"\nms = 2500\n\
     [[step]]\ndo = \"close_mbs_app\"\n[[step]]\ndo = \"regain_coverage\"\n\
     [[step]]\ndo = \"wait\"\nms = 2500\n";

async fn mbs(n1: &str, admin: &str, dir: &Path, n: u32, checks: &Checks) -> anyhow::Result<()> {
    let msin = format!("{:010}", 9_000_000 + n);
    let scenario = dir.join(format!("demo-mbs-{n}.toml"));
    std::fs::write(&scenario, MBS_SCENARIO)?;
    let supi = format!("imsi-00101{msin}");
    let url = format!("http://{admin}/ues/{supi}");
    // ue-emulator prints "step N ue 0 <procedure> ok|failed (detail) T ms" per step.
    lines(
        &bin_path("ue-emulator")?,
        &[
            "5g",
            "--n1",
            &format!("http://{n1}"),
            "--gnb-name",
            &format!("demo-gnb-{n}"),
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
        |line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["step", number, "ue", _, procedure, verdict, ..] = words.as_slice() {
                let detail = line
                    .split_once('(')
                    .and_then(|(_, r)| r.rsplit_once(')'))
                    .map(|(d, _)| d)
                    .unwrap_or("");
                checks.push(
                    &format!("{supi} step {number}: {procedure}"),
                    *verdict == "ok",
                    detail,
                );
            }
        },
    )
    .await?;
    let ue: serde_json::Value = serde_json::from_str(&crate::http::get_ok(&url).await?)?;
    let tmgis = ue["tmgis"].as_array().map(Vec::len).unwrap_or(0);
    let mbs_flows = (ue["sessions"].as_array().into_iter().flatten())
        .flat_map(|s| s["flows"].as_array().into_iter().flatten())
        .filter(|f| !f["tmgi"].is_null())
        .count();
    checks.push(
        "mobility registration with the QFI lists: the MBS flows and the TMGI released",
        tmgis == 0 && mbs_flows == 0,
        format!("{supi} holds {tmgis} TMGI(s) and {mbs_flows} MBS QoS flow(s)"),
    );
    let since = ue["pagings_since_registration"]
        .as_u64()
        .unwrap_or(u64::MAX);
    checks.push(
        "paging stopped",
        since == 0,
        format!(
            "{} paging(s) while out of coverage, {since} since the mobility registration (2.5 s)",
            ue["pagings_sent"].as_u64().unwrap_or(0)
        ),
    );
    Ok(())
}

/// Run a program to its end (bounded), handing each stdout line to `on_line` as it comes; an
/// error with its output's tail when it fails.
async fn lines(program: &Path, args: &[&str], mut on_line: impl FnMut(&str)) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take();
    // Read on its own so a chatty stderr never blocks the child.
    let stderr = child.stderr.take().map(|mut e| {
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut err = String::new();
            let _ = e.read_to_string(&mut err).await;
            err
        })
    });
    let run = async {
        let mut seen = Vec::new();
        if let Some(out) = stdout {
            let mut reader = tokio::io::BufReader::new(out).lines();
            while let Some(line) = reader.next_line().await? {
                on_line(&line);
                seen.push(line);
            }
        }
        let err = match stderr {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        Ok::<_, anyhow::Error>((child.wait().await?, seen, err))
    };
    let (status, seen, err) = tokio::time::timeout(LIMIT, run)
        .await
        .map_err(|_| anyhow::anyhow!("{} did not end in {LIMIT:?}", program.display()))??;
    anyhow::ensure!(
        status.success(),
        "{} {} exited {:?}:\n{}\n{}",
        program.display(),
        args.join(" "),
        status.code(),
        seen.iter()
            .rev()
            .take(5)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        err.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
    Ok(())
}
