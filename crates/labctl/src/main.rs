//! labctl: runs the lab's demo scenarios with real processes and prints what happened.

mod demo_dra;
mod demo_mbs;
mod demo_poc;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Runs corelab's demo scenarios with the real node binaries"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A seed's procedure end to end against the running lab (`labctl demo presence|dra|poc|mbs|all`):
    /// the messages the lab's nodes saw on a ladder with each check's PASS/FAIL; exits 1 when a
    /// check fails. With no lab up, the topology's lab is brought up for the run and taken down
    /// after it (unless --keep). `--own-nodes`: the richer self-contained version on nodes of its own.
    Demo(DemoArgs),
    /// The same as `labctl demo presence --own-nodes` (its first spelling).
    DemoPresence(PresenceArgs),
    /// Start every node of a topology file (default deploy/lab.toml) as local processes on the
    /// embedded store, wait for each, and print where each listens (docs/lab.md).
    Up {
        #[arg(default_value = "deploy/lab.toml")]
        topology: PathBuf,
    },
    /// Stop the lab `up` started.
    Down {
        /// The lab's directory (`[lab] dir` of the topology).
        #[arg(long, default_value = "var/lab")]
        dir: PathBuf,
    },
    /// Each node's process, readiness and counts; exits 1 when a node is not ready.
    Status {
        /// The lab's directory (`[lab] dir` of the topology).
        #[arg(long, default_value = "var/lab")]
        dir: PathBuf,
    },
    /// Play a seed's client side against a node that is not ours (or ours) and print which of
    /// the seed's behaviours it shows. Exits 0 when it shows them all, 2 when it lacks one.
    #[command(subcommand)]
    Probe(Probe),
    /// The lab console: a web page with every node's health, live ladders of each flow drawn
    /// from the nodes' wire taps, decoded messages, a flow's pcapng, and a button per demo that
    /// runs against the lab (docs/console.md).
    Console {
        /// The lab's directory (`[lab] dir` of the topology).
        #[arg(long, default_value = "var/lab")]
        dir: PathBuf,
        /// Where the page is served.
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: std::net::SocketAddr,
        /// Write `{"admin": "<address>"}` here once listening (`labctl up` starts the console so).
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Capture the protocol messages of running nodes (their wire tap) into a pcapng file,
    /// optionally one flow (Call-ID, Session-Id or SUPI): docs/capture.md.
    Capture(labctl::capture::CaptureArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    #[command(subcommand)]
    demo: Demo,
    /// The lab's topology: its `[lab] dir` is where the lab runs (default deploy/lab.toml).
    #[arg(long, global = true, default_value = "deploy/lab.toml")]
    topology: PathBuf,
    /// Leave a lab the demo brought up running after it.
    #[arg(long, global = true)]
    keep: bool,
    /// Play the self-contained version instead: the demo starts nodes of its own in a temporary
    /// directory and prints the seed's figure as a scripted ladder checked step by step (presence:
    /// also the threshold's sign-out and alarm; dra: embodiments 1, 4, 7, 10 in both modes; mbs:
    /// also with the capability off).
    #[arg(long, global = true)]
    own_nodes: bool,
}

#[derive(Subcommand)]
enum Demo {
    /// IMS presence (seed 001): a failed NOTIFY is followed by a MESSAGE and the watcher
    /// re-subscribes (a NOTIFY answered 500 too). With --own-nodes, also: failures past the
    /// threshold sign the watcher out and alarm the administrator.
    Presence(PresenceArgs),
    /// Every demo, one after the other (presence, dra, poc, mbs), then a table of their
    /// verdicts. Exits 1 when one fails.
    All,
    /// 5G MBS (seed 000): a UE that closed its MBS app out of coverage lists its remaining QFIs at
    /// mobility registration; session-manager releases the MBS QoS flows and the TMGI and stops
    /// paging. With --own-nodes, then the same with the capability off: paging goes on.
    Mbs {
        /// With --own-nodes: session-manager's store URL (default: SQLite in a temporary directory).
        #[arg(long)]
        store_url: Option<String>,
    },
    /// PoC (seed 002): A joins a join group through PF-A and its ids become the session's; B joins
    /// through PF-B with its own ids and is given A's; RTP from A reaches B; A leaves and rejoins
    /// and gets the same ids. Against the lab, the group and its users are provisioned per run.
    Poc,
    /// Roaming PCC (seed 003): embodiment 1 (BBERF, redirect vDRA and hDRA); each DRA's binding
    /// created and deleted. With --own-nodes: embodiments 1, 4, 7 and 10 in both modes, with the
    /// DRAs' bindings before, during and after.
    Dra,
}

#[derive(Subcommand)]
enum Probe {
    /// IMS presence (seed 001): after a failed NOTIFY, does the server tell the watcher with a
    /// MESSAGE, and is the watcher's view restored?
    Presence {
        /// The presence server (or the P-CSCF in front of it), e.g. sip:127.0.0.1:5060.
        #[arg(long)]
        target: String,
        /// Longest wait per step, in seconds: more than the target's Timer F.
        #[arg(long, default_value_t = 40)]
        wait_s: u64,
    },
    /// Roaming PCC (seed 003): a DRA routes a UE's sessions to one PCRF while they live, and
    /// keeps nothing of them once they end (a new session of the UE does not reach a stale
    /// PCRF). The probe starts the two PCRFs the target routes to (`pcrf` processes) and plays
    /// the PCEF and the AF with pcc-emulator.
    Dra {
        /// The DRA, HOST:PORT.
        #[arg(long)]
        target: String,
        /// The PCRFs' realm (Destination-Realm of the requests; the PCRFs' Origin-Realm).
        #[arg(long)]
        target_realm: String,
        /// A PCRF the target routes to: its Diameter identity and the address the probe's
        /// PCRF listens on. Twice.
        #[arg(long = "pcrf", value_name = "HOST=LISTEN_ADDR", required = true)]
        pcrfs: Vec<String>,
        /// The target's mode as pcc-emulator's `--mode` (redirect, proxy, proxy_variant); a
        /// 3006 with Redirect-Host is followed in every mode.
        #[arg(long, default_value = "proxy")]
        mode: String,
        /// How many UEs, 1 to 200 (a few: a relay spreading requests over both PCRFs shows it).
        #[arg(long, default_value_t = 4)]
        ues: u32,
        /// The client's Origin-Host (default: pcc-probe.<target realm>).
        #[arg(long)]
        origin_host: Option<String>,
        /// Longest wait for each answer, in seconds.
        #[arg(long, default_value_t = 10)]
        wait_s: u64,
        /// Seconds given to the target to connect to the PCRFs once they listen (a target with
        /// static peers connects on its own timer).
        #[arg(long, default_value_t = 0)]
        settle_s: u64,
    },
}

#[derive(clap::Args)]
struct PresenceArgs {
    /// With --own-nodes: the store URL (default: SQLite in a fresh directory under var/).
    #[arg(long)]
    store_url: Option<String>,
    /// With --own-nodes: RFC 3261 T1 in ms (Timer F = 64·T1).
    #[arg(long, default_value_t = 100)]
    t1_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Demo(DemoArgs {
            demo,
            own_nodes: true,
            ..
        }) => exit_on_failure(run_demo(demo).await?),
        Command::Demo(DemoArgs {
            demo,
            topology,
            keep,
            ..
        }) => {
            let names: Vec<&str> = match &demo {
                Demo::All => labctl::lab_demo::DEMOS.iter().map(|(n, _)| *n).collect(),
                Demo::Presence(_) => vec!["presence"],
                Demo::Dra => vec!["dra"],
                Demo::Poc => vec!["poc"],
                Demo::Mbs { .. } => vec!["mbs"],
            };
            exit_on_failure(labctl::lab_demo::cli::demo(&names, &topology, keep).await?)
        }
        Command::DemoPresence(a) => exit_on_failure(run_demo(Demo::Presence(a)).await?),
        Command::Probe(Probe::Presence { target, wait_s }) => {
            let report = labctl::presence::probe(&target, Duration::from_secs(wait_s)).await?;
            exit_with_verdicts(&report)
        }
        Command::Probe(Probe::Dra {
            target,
            target_realm,
            pcrfs,
            mode,
            ues,
            origin_host,
            wait_s,
            settle_s,
        }) => {
            let pcrfs = pcrfs
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(h, a)| (h.to_string(), a.to_string()))
                        .ok_or_else(|| anyhow::anyhow!("--pcrf {p:?}: expected HOST=LISTEN_ADDR"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let options = labctl::probe_dra::Options {
                origin_host: origin_host.unwrap_or_else(|| format!("pcc-probe.{target_realm}")),
                target,
                target_realm,
                pcrfs,
                mode,
                ues,
                wait: Duration::from_secs(wait_s),
                settle: Duration::from_secs(settle_s),
            };
            let report = labctl::probe_dra::probe(&options).await?;
            exit_with_verdicts(&report)
        }
        Command::Up { topology } => labctl::lab::up(&topology).await.map(|_| ()),
        Command::Down { dir } => labctl::lab::down(&dir).await,
        Command::Status { dir } => {
            if labctl::lab::status(&dir).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Console {
            dir,
            listen,
            ready_file,
        } => labctl::console::serve(&dir, listen, ready_file.as_deref()).await,
        Command::Capture(args) => labctl::capture::capture(args).await.map(|_| ()),
    }
}

/// A probe's exit: 0 when every step shows, 2 when one lacks.
fn exit_with_verdicts(report: &[(String, labctl::probe::Verdict)]) -> anyhow::Result<()> {
    match labctl::probe::exit_status(report) {
        0 => Ok(()),
        code => std::process::exit(code),
    }
}

fn exit_on_failure(passed: bool) -> anyhow::Result<()> {
    if passed {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

/// Run one demo (or all of them, one after the other); whether every step passed.
async fn run_demo(demo: Demo) -> anyhow::Result<bool> {
    Ok(match demo {
        Demo::Presence(a) => {
            labctl::presence::demo(a.store_url, a.t1_ms).await?;
            true
        }
        Demo::Mbs { store_url } => demo_mbs::demo_mbs(store_url).await?,
        Demo::Dra => demo_dra::demo_dra().await?,
        Demo::Poc => demo_poc::demo_poc().await?,
        Demo::All => {
            let mut results = Vec::new();
            for (name, demo) in [
                (
                    "presence",
                    Demo::Presence(PresenceArgs {
                        store_url: None,
                        t1_ms: 100,
                    }),
                ),
                ("dra", Demo::Dra),
                ("poc", Demo::Poc),
                ("mbs", Demo::Mbs { store_url: None }),
            ] {
                println!("\n##### labctl demo {name}");
                let outcome = match Box::pin(run_demo(demo)).await {
                    Ok(true) => "PASS".to_string(),
                    Ok(false) => "FAIL (a step failed)".to_string(),
                    Err(e) => format!("FAIL ({e:#})"),
                };
                results.push((name, outcome));
            }
            println!("\n##### labctl demo all");
            for (name, outcome) in &results {
                println!("{name:<10} {outcome}");
            }
            results.iter().all(|(_, o)| o == "PASS")
        }
    })
}
