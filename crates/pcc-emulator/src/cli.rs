//! The subcommands: `run` (a scenario file), `load`, `serve` (the gRPC control service), and
//! `establish` / `modify` / `terminate` / `list` (clients of a running `serve`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use corelab_proto::pcc::v1 as pb;
use corelab_proto::pcc::v1::pcc_control_client::PccControlClient;
use corelab_proto::pcc::v1::pcc_control_server::PccControlServer;
use diameter_peer::cli::{Common, resolve, terminated};
use diameter_peer::print;

use crate::control::Control;
use crate::emulator::{Emulator, EmulatorConfig};
use crate::load::{LoadPlan, run as run_load};
use crate::model::{DraMode, Ordering, Role};
use crate::scenario;

/// Exit statuses: 0 as expected, 1 a mismatch (or errors under load), 2 bad input or no
/// connection.
const OK: u8 = 0;
const MISMATCH: u8 = 1;
const ERROR: u8 = 2;

/// PCEF / BBERF / AF client roles towards a DRA (redirect, proxy, proxy_variant) and PCRFs.
#[derive(Parser, Debug)]
#[command(name = "pcc-emulator", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Play a scenario file (TOML steps); exit 1 on any Result-Code mismatch.
    Run(RunArgs),
    /// N concurrent UEs establishing and terminating sessions; p50/p90/p99 per procedure.
    Load(LoadArgs),
    /// Keep a connection to the vDRA and serve the gRPC control service until a signal.
    Serve(ServeArgs),
    /// Establish a session through a running `serve` (gRPC).
    Establish(EstablishArgs),
    /// Modify a session through a running `serve`.
    Modify(SessionArgs),
    /// Terminate a session through a running `serve`.
    Terminate(SessionArgs),
    /// List the sessions of a running `serve`.
    List(ControlArgs),
}

/// How the emulator reaches the vDRA and PCRFs.
#[derive(Args, Debug)]
pub struct Connection {
    #[command(flatten)]
    common: Common,
    /// The vDRA.
    #[arg(long, value_name = "HOST:PORT")]
    dra: String,
    /// The vDRA's mode.
    #[arg(long, value_enum, default_value_t = DraMode::Redirect)]
    mode: DraMode,
    /// Termination ordering in redirect mode.
    #[arg(long, value_enum, default_value_t = Ordering::AfterRedirect)]
    ordering: Ordering,
    /// Destination-Realm of the requests (default: --origin-realm).
    #[arg(long, value_name = "REALM")]
    destination_realm: Option<String>,
    /// A PCRF's identity and address (proxy_variant: later requests go there); repeatable.
    #[arg(long = "pcrf", value_name = "HOST=HOST:PORT")]
    pcrfs: Vec<String>,
    /// No line per message.
    #[arg(short, long)]
    quiet: bool,
}

impl Connection {
    async fn start(
        &self,
        mode: Option<DraMode>,
        ordering: Option<Ordering>,
        print: bool,
    ) -> anyhow::Result<Emulator> {
        self.common.init_logging();
        let mut pcrfs = Vec::new();
        for p in &self.pcrfs {
            let (h, a) = p
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--pcrf {p:?}: expected HOST=HOST:PORT"))?;
            pcrfs.push((h.to_string(), resolve(a).await?));
        }
        let cfg = EmulatorConfig {
            dra: resolve(&self.dra).await?,
            mode: mode.unwrap_or(self.mode),
            ordering: ordering.unwrap_or(self.ordering),
            destination_realm: self
                .destination_realm
                .clone()
                .unwrap_or_else(|| self.common.origin_realm.clone()),
            pcrfs,
            print: print && !self.quiet,
        };
        Emulator::start(&self.common, cfg).await
    }
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    conn: Connection,
    /// The scenario file.
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
}

#[derive(Args, Debug)]
struct LoadArgs {
    #[command(flatten)]
    conn: Connection,
    /// The role of every session.
    #[arg(long, value_enum, default_value_t = Role::Pcef)]
    role: Role,
    /// Concurrent UEs.
    #[arg(long, value_name = "N", default_value_t = 10)]
    ues: usize,
    /// Stop after N sessions.
    #[arg(long, value_name = "N", required_unless_present = "duration")]
    sessions: Option<u64>,
    /// Stop starting sessions after SECS.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// At most R sessions started per second.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Send a CCR-U / AAR between establishment and termination.
    #[arg(long)]
    modify: bool,
    /// Establish (and modify) but never terminate: the sessions are held; `--json` lists their
    /// Session-Ids in `held` (a restarted DRA's bindings can be checked against them).
    #[arg(long)]
    hold: bool,
    /// The first UE's IMSI (UE k: + k).
    #[arg(long, default_value_t = 1_010_000_000_001)]
    first_imsi: u64,
    /// The first UE's IPv4 address (UE k: + k).
    #[arg(long, default_value = "10.200.0.1")]
    first_ip: std::net::Ipv4Addr,
    /// APN of every UE.
    #[arg(long, default_value = "internet")]
    apn: String,
    /// The summary as one JSON object on stdout (progress on stderr either way).
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    conn: Connection,
    /// gRPC control service address (`control listening on ADDR` when ready).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    grpc_listen: SocketAddr,
}

#[derive(Args, Debug)]
struct ControlArgs {
    /// The `serve` instance's control service.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:50070")]
    control: String,
}

#[derive(Args, Debug)]
struct EstablishArgs {
    #[command(flatten)]
    control: ControlArgs,
    #[arg(long, value_enum)]
    role: Role,
    #[arg(long)]
    nai: String,
    #[arg(long)]
    ip: String,
    #[arg(long, default_value = "internet")]
    apn: String,
    /// `dra` or `pcrf` instead of the mode's choice.
    #[arg(long, default_value = "")]
    target: String,
}

#[derive(Args, Debug)]
struct SessionArgs {
    #[command(flatten)]
    control: ControlArgs,
    #[arg(long)]
    session_id: String,
    #[arg(long, default_value = "")]
    target: String,
    /// `after_redirect` or `at_once` instead of the configured ordering.
    #[arg(long, default_value = "")]
    ordering: String,
}

/// Runs a subcommand; the exit status.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(a) => {
            let text = std::fs::read_to_string(&a.scenario)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.scenario.display()))?;
            let sc = scenario::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.scenario.display()))?;
            let emu = match a.conn.start(sc.mode, sc.ordering, true).await {
                Ok(e) => e,
                Err(e) => {
                    print::out(&format!("!! {e}"));
                    return Ok(ERROR);
                }
            };
            let mismatches = scenario::run(&emu, &sc, !a.conn.quiet).await;
            emu.shutdown().await;
            for m in &mismatches {
                print::out(&format!("!! {m}"));
            }
            print::out(&format!(
                "-- {} steps, {} mismatches",
                sc.steps.len(),
                mismatches.len()
            ));
            Ok(if mismatches.is_empty() { OK } else { MISMATCH })
        }
        Command::Load(a) => {
            let emu = a.conn.start(None, None, false).await?;
            let plan = LoadPlan {
                role: a.role,
                ues: a.ues,
                sessions: a.sessions,
                duration: a.duration,
                rate: a.rate,
                modify: a.modify,
                hold: a.hold,
                first_imsi: a.first_imsi,
                first_ip: a.first_ip,
                apn: a.apn,
            };
            let summary = run_load(emu.clone(), plan, |l| eprintln!("{l}")).await?;
            emu.shutdown().await;
            if a.json {
                print::out(&serde_json::to_string(&summary)?);
            } else {
                print::out(&summary.human());
            }
            Ok(if summary.sessions_failed == 0 && summary.sessions_ok > 0 {
                OK
            } else {
                MISMATCH
            })
        }
        Command::Serve(a) => {
            let emu = a.conn.start(None, None, true).await?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            let routes = tonic::service::Routes::new(PccControlServer::new(Control(emu.clone())));
            let (addr, serving) =
                corelab_runtime::grpc::serve(a.grpc_listen, routes, shutdown.clone()).await?;
            print::out(&format!("control listening on {addr}"));
            let serving = tokio::spawn(serving);
            terminated().await;
            shutdown.cancel();
            let _ = serving.await;
            emu.shutdown().await;
            Ok(OK)
        }
        Command::Establish(a) => {
            let mut c = PccControlClient::connect(a.control.control.clone()).await?;
            let r = c
                .establish(pb::EstablishRequest {
                    role: a.role.name().into(),
                    ue: Some(pb::Ue {
                        nai: a.nai,
                        ip: a.ip,
                        apn: a.apn,
                    }),
                    target: a.target,
                })
                .await?
                .into_inner();
            Ok(procedure_reply(&r))
        }
        Command::Modify(a) => {
            let mut c = PccControlClient::connect(a.control.control.clone()).await?;
            let r = c.modify(session_request(a)).await?.into_inner();
            Ok(procedure_reply(&r))
        }
        Command::Terminate(a) => {
            let mut c = PccControlClient::connect(a.control.control.clone()).await?;
            let r = c.terminate(session_request(a)).await?.into_inner();
            Ok(procedure_reply(&r))
        }
        Command::List(a) => {
            let mut c = PccControlClient::connect(a.control.clone()).await?;
            let r = c.list_sessions(pb::Empty {}).await?.into_inner();
            for s in r.sessions {
                print::out(&format!(
                    "{} {} nai={} ip={} apn={} pcrf={} {}",
                    s.session_id, s.role, s.nai, s.ip, s.apn, s.pcrf_host, s.pcrf_address
                ));
            }
            Ok(OK)
        }
    }
}

fn session_request(a: SessionArgs) -> pb::SessionRequest {
    pb::SessionRequest {
        session_id: a.session_id,
        target: a.target,
        ordering: a.ordering,
    }
}

fn procedure_reply(r: &pb::ProcedureReply) -> u8 {
    print::out(&format!("{} {}", r.session_id, r.result_code));
    if (2000..3000).contains(&r.result_code) {
        OK
    } else {
        MISMATCH
    }
}
