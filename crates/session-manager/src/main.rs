//! session-manager: the lab's 5GC AMF/SMF-lite over the N1 link (docs/session-manager.md).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use corelab_proto::n1::v1::n1_server::N1Server;
use corelab_proto::session::v1::session_control_server::SessionControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};
use corelab_session_manager::config::SessionManagerConfig;
use corelab_session_manager::control::Control;
use corelab_session_manager::core_task::{self, CoreHandle, Gnbs};
use corelab_session_manager::fsm::registry::MbsRegistry;
use corelab_session_manager::fsm::{Core, CoreConfig};
use corelab_session_manager::n1::N1Service;
use corelab_session_manager::store::SmStore;
use corelab_session_manager::{MIGRATOR, admin_api, metrics};
use tokio::sync::mpsc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 5GC AMF/SMF-lite for the lab: registration, PDU sessions, QoS flows, MBS join/leave and TMGI
/// paging over the N1 link (NAS-5GS over gRPC, in place of gNB + NGAP); releases the MBS QoS flows
/// a UE no longer lists at mobility registration.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// TMGI paging period in milliseconds (paging.interval_ms).
    #[arg(long, value_name = "MS")]
    paging_interval_ms: Option<u64>,
    /// Read the per-session QFI lists IE at mobility registration: true or false
    /// (capabilities.qfi_lists).
    #[arg(long, value_name = "BOOL")]
    qfi_lists: Option<bool>,
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("session-manager", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &SessionManagerConfig::defaults(),
        &args.node,
        &[],
        |cfg: &mut SessionManagerConfig| {
            // Typed flags: the runtime's overrides are strings, these are not.
            if let Some(v) = args.paging_interval_ms {
                cfg.paging.interval_ms = v;
            }
            if let Some(v) = args.qfi_lists {
                cfg.capabilities.qfi_lists = v;
            }
        },
    )?
    else {
        return Ok(());
    };
    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();

    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        "session_manager",
        &MIGRATOR,
    )
    .await?;
    let sm_store = SmStore::new(store.clone());
    let registry = MbsRegistry::from_config(&cfg.mbs.sessions).map_err(anyhow::Error::msg)?;
    let core_cfg = CoreConfig {
        plmn: corelab_nas::Plmn::new(&cfg.amf.mcc, &cfg.amf.mnc)
            .map_err(|e| anyhow::anyhow!("amf.mcc / amf.mnc: {e}"))?,
        amf_region_id: cfg.amf.region_id,
        amf_set_id: cfg.amf.set_id,
        amf_pointer: cfg.amf.pointer,
        paging_interval: Duration::from_millis(cfg.paging.interval_ms),
        qfi_lists: cfg.capabilities.qfi_lists,
        max_ues: cfg.n1.max_ues,
        max_sessions_per_ue: cfg.sessions.max_per_ue,
        default_five_qi: cfg.sessions.default_five_qi,
    };
    let mut core = Core::new(core_cfg, registry);
    let contexts = sm_store.load_all().await?;
    let restored = contexts.len();
    core.restore(Instant::now(), contexts);

    let gnbs = Arc::new(Gnbs::default());
    let (tx, rx) = mpsc::channel(core_task::CORE_QUEUE);
    let handle = CoreHandle { tx };
    let core_task = tokio::spawn(core_task::run(
        core,
        sm_store.clone(),
        gnbs.clone(),
        rx,
        cancel.clone(),
    ));

    let control = Control {
        node: cfg.common.node.name.clone(),
        store: sm_store.clone(),
        core: handle.clone(),
        gnbs: gnbs.clone(),
    };
    let n1 = N1Service {
        core: handle,
        gnbs,
        amf_name: cfg.amf.name.clone(),
        max_gnbs: cfg.n1.max_gnbs,
        queue_depth: cfg.n1.queue_depth,
    };
    let grpc_routes = tonic::service::Routes::new(SessionControlServer::new(control.clone()))
        .add_service(N1Server::new(n1));
    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            admin_api::routes(control),
            grpc_routes,
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);

    tracing::info!(
        admin = %admin_addr, grpc_and_n1 = %grpc_addr, store = %store.backend, restored,
        paging_interval_ms = cfg.paging.interval_ms, qfi_lists = cfg.capabilities.qfi_lists,
        "session-manager ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("admin", admin_addr),
            ("grpc", grpc_addr),
            ("n1", grpc_addr),
        ],
    )?;
    control.serve.await;
    let _ = core_task.await;
    store.close().await;
    tracing::info!("session-manager stopped");
    Ok(())
}
