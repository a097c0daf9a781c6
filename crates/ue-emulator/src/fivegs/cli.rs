//! `ue-emulator 5g`: one gNB with N UEs on the N1 link to session-manager, driven by `--step`
//! flags, a scenario file, the gRPC control service, or the load mode.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::ArgAction;
use corelab_proto::ue::v1::five_gs_control_server::FiveGsControlServer;
use corelab_runtime::{admin, grpc, ready, shutdown};
use tokio::sync::{mpsc, oneshot};

use crate::fivegs::gnb::{Gnb, GnbConfig};
use crate::fivegs::identity::{Subscriber, parse_plmn, parse_tmgi};
use crate::fivegs::load::{self, LoadPlan};
use crate::fivegs::script::{self, Scenario, Step};
use crate::fivegs::ue::{DEFAULT_PROCEDURE_TIMEOUT, UeConfig};

/// The 5G mode's flags.
#[derive(Debug, clap::Args)]
pub struct FiveGsArgs {
    /// Common node flags: --config (for [admin] [grpc] [log] [node]), --admin-listen,
    /// --grpc-listen, --log-format and --ready-file apply (no store).
    #[command(flatten)]
    pub node: corelab_runtime::cli::NodeArgs,
    /// session-manager's N1 endpoint.
    #[arg(long, value_name = "URI", default_value = "http://127.0.0.1:7100")]
    pub n1: String,
    /// This gNB's name on the N1 link.
    #[arg(long, default_value = "gnb-1")]
    pub gnb_name: String,
    /// Tracking area code this gNB serves.
    #[arg(long, default_value_t = 1)]
    pub tac: u32,
    /// Number of UEs.
    #[arg(long, default_value_t = 1)]
    pub ues: usize,
    /// Home PLMN of the UEs, MCC-MNC.
    #[arg(long, default_value = "001-01")]
    pub plmn: String,
    /// MSIN of UE 0; the others count up from it.
    #[arg(long, default_value = "0000000001")]
    pub first_msin: String,
    /// Capability `qfi_lists`: the mobility REGISTRATION REQUEST carries the per-session QFI
    /// lists (`--qfi-lists false`: the PDU session status only).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub qfi_lists: bool,
    /// How long a procedure waits for the network, ms.
    #[arg(long, default_value_t = DEFAULT_PROCEDURE_TIMEOUT.as_millis() as u64)]
    pub procedure_timeout_ms: u64,
    /// Wait between N1 connection attempts, ms.
    #[arg(long, default_value_t = 500)]
    pub reconnect_ms: u64,
    /// A step, e.g. "register", "establish psi=1", "join tmgi=000001 psi=1", "lose-coverage",
    /// "close-mbs-app", "regain-coverage", "leave tmgi=000001", "wait ms=200"; `ue=K` for one
    /// UE (default: all). Repeatable; run after the scenario file's steps.
    #[arg(long = "step", value_name = "STEP")]
    pub steps: Vec<String>,
    /// Scenario file (TOML, docs/ue-emulator.md).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Exit after the steps (status 1 if one did not end as expected) instead of serving.
    #[arg(long)]
    pub exit_after_steps: bool,
    /// Load mode: every UE registers (then --load-establish / --load-join), progress on
    /// stderr, a summary at the end; then exit.
    #[arg(long)]
    pub load: bool,
    /// Load mode: UEs started per second (0: all at once).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Load mode: establish PDU session 1 after registering.
    #[arg(long)]
    pub load_establish: bool,
    /// Load mode: join this TMGI on PDU session 1 (implies --load-establish).
    #[arg(long, value_name = "TMGI")]
    pub load_join: Option<String>,
    /// Load mode: print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run the 5G mode.
pub async fn run(args: FiveGsArgs) -> anyhow::Result<()> {
    let Some(common) = crate::common_config(&args.node)? else {
        return Ok(());
    };
    let prometheus = admin::install_metrics()?;
    crate::fivegs::metrics::describe();

    let scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", path.display()))?;
            Scenario::parse(&text)
                .map_err(|e| anyhow::anyhow!("--scenario {}: {e}", path.display()))?
        }
        None => Scenario::default(),
    };
    let mut steps = scenario.step.clone();
    for text in &args.steps {
        steps.push(Step::parse_flag(text).map_err(|e| anyhow::anyhow!("--step: {e}"))?);
    }
    let plmn = parse_plmn(&args.plmn).map_err(|e| anyhow::anyhow!("--plmn: {e}"))?;
    let count = scenario.ues.unwrap_or(args.ues);
    let qfi_lists = scenario.qfi_lists.unwrap_or(args.qfi_lists);
    let ues = (0..count as u64)
        .map(|i| {
            Ok(UeConfig {
                subscriber: Subscriber::numbered(plmn, &args.first_msin, i)
                    .map_err(|e| anyhow::anyhow!("--first-msin: {e}"))?,
                qfi_lists,
                procedure_timeout: Duration::from_millis(args.procedure_timeout_ms),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = LoadPlan {
        rate: args.rate,
        establish: args.load_establish,
        join: (args.load_join.as_deref())
            .map(parse_tmgi)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--load-join: {e}"))?,
    };

    let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
    let gnb = Gnb::new(
        GnbConfig {
            n1: args.n1.clone(),
            name: args.gnb_name.clone(),
            tac: args.tac,
            reconnect: Duration::from_millis(args.reconnect_ms),
            uplink_queue: 4096,
        },
        ues,
        args.load.then_some(outcomes_tx),
    );

    let cancel = shutdown::on_signal();
    let (admin_addr, admin_fut) = admin::serve(
        common.admin.listen,
        None,
        prometheus,
        axum::Router::new(),
        cancel.clone(),
    )
    .await?;
    let routes = tonic::service::Routes::new(FiveGsControlServer::new(gnb.clone()));
    let (grpc_addr, grpc_fut) = grpc::serve(common.grpc.listen, routes, cancel.clone()).await?;
    let (attached_tx, attached_rx) = oneshot::channel();
    let link = tokio::spawn(gnb.clone().run(cancel.clone(), Some(attached_tx)));
    tracing::info!(n1 = %args.n1, gnb = %args.gnb_name, ues = gnb.len(), "attaching to session-manager");
    tokio::select! {
        _ = attached_rx => {}
        _ = cancel.cancelled() => {}
    }
    if let Some(path) = &common.node.ready_file {
        ready::write(
            path,
            &BTreeMap::from([
                ("admin".to_string(), admin_addr.to_string()),
                ("grpc".to_string(), grpc_addr.to_string()),
            ]),
        )?;
    }
    tracing::info!(admin = %admin_addr, grpc = %grpc_addr, "ue-emulator (5G) ready");

    let mut failure = None;
    if let Err(e) = script::run(&gnb, &steps).await {
        tracing::error!("{e}");
        failure = Some(e);
    }
    if args.load {
        let summary = load::run(&gnb, &plan, outcomes_rx).await;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            for (name, s) in &summary.procedures {
                println!(
                    "{name:16} ok {:6} failed {:6} {:9.1}/s p50 {:8.2} ms p90 {:8.2} ms p99 {:8.2} ms",
                    s.ok, s.failed, s.per_second, s.p50_ms, s.p90_ms, s.p99_ms
                );
            }
            println!(
                "{} of {} UEs completed in {:.2} s, {:.1} procedures/s, {} NAS messages ({:.1}/s)",
                summary.ues_completed,
                summary.ues,
                summary.seconds,
                summary.procedures_per_second,
                summary.nas_messages,
                summary.nas_messages_per_second
            );
        }
        cancel.cancel();
    } else if args.exit_after_steps {
        cancel.cancel();
    }
    tokio::join!(admin_fut, grpc_fut);
    let _ = link.await;
    match failure {
        Some(e) => anyhow::bail!(e),
        None => Ok(()),
    }
}
