//! presence-server: IMS presence server that restores subscriptions after a failed NOTIFY.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corelab_presence::cache::Coherence;
use corelab_presence::config::PresenceConfig;
use corelab_presence::store::{NotifyHold, PresenceStore};
use corelab_presence::{MIGRATOR, Presence, admin_api, metrics, replicas, server, sweep};
use corelab_proto::presence::v1::presence_control_server::PresenceControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Backend, Store, admin, config, grpc, ready, shutdown, telemetry};
/// mimalloc rather than glibc's malloc: a SUBSCRIBE allocates many small strings, and glibc's
/// malloc/free were about 15 % of the server's CPU under load (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use corelab_sip::advertise::Advertise;
use corelab_sip::node::{SipNode, SipNodeConfig};
use corelab_sip::transport::tcp::TcpLimits;

/// IMS presence server (presence, reg, presence.winfo; PUBLISH) that tells a client to
/// re-subscribe when a NOTIFY fails, and signs it out past a threshold.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// SIP listen address, UDP and TCP on the same port (sip.listen).
    #[arg(long, value_name = "ADDR")]
    sip_listen: Option<String>,
    /// Where peers reach us, host or host:port, for Via, Contact and Record-Route (sip.advertise).
    #[arg(long, value_name = "HOST[:PORT]")]
    sip_advertise: Option<String>,
    /// Registrar mode: direct or third_party (registrar.mode).
    #[arg(long, value_name = "MODE")]
    registrar_mode: Option<String>,
    /// Print the effective configuration (defaults, file, env, flags merged) as JSON and exit.
    #[arg(long)]
    print_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("presence-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut overrides = args.node.overrides();
    if let Some(v) = &args.sip_listen {
        overrides.push(("sip.listen", v.clone()));
    }
    if let Some(v) = &args.sip_advertise {
        overrides.push(("sip.advertise", v.clone()));
    }
    if let Some(v) = &args.registrar_mode {
        overrides.push(("registrar.mode", v.clone()));
    }
    let cfg: PresenceConfig = config::load(
        &PresenceConfig::defaults(),
        args.node.config.as_deref(),
        &overrides,
    )?;
    cfg.validate()?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(());
    }
    telemetry::init(&cfg.common.log)?;
    corelab_runtime::failpoint::arm(&cfg.common.node.failpoints);
    let prometheus = admin::install_metrics()?;
    metrics::describe();
    let cancel = shutdown::on_signal();

    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        "presence",
        &MIGRATOR,
    )
    .await?;
    let (sip, incoming) = SipNode::start(
        &SipNodeConfig {
            listen: cfg.sip.listen,
            advertise: cfg
                .sip
                .advertise
                .as_deref()
                .map(Advertise::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            tcp: cfg.sip.tcp,
            tcp_limits: TcpLimits {
                max_connections: cfg.sip.max_connections,
                idle_timeout: Duration::from_millis(cfg.sip.tcp_idle_timeout_ms),
                message_timeout: Duration::from_millis(cfg.sip.tcp_message_timeout_ms),
            },
            t1: Duration::from_millis(cfg.sip.t1_ms),
            user_agent: format!("corelab presence-server {}", env!("CARGO_PKG_VERSION")),
        },
        cancel.child_token(),
    )
    .await?;
    // One process per SQLite file; on PostgreSQL, replicas (crate::replicas).
    let sqlite = store.backend == Backend::Sqlite;
    let _sqlite_lock = match sqlite {
        true => replicas::lock_sqlite(&cfg.common.store.url, &cfg.common.node.data_dir)?,
        false => None,
    };
    let hold = NotifyHold {
        owner: match sqlite {
            true => "local".into(),
            false => format!("{}-{}", cfg.common.node.name, uuid::Uuid::new_v4()).into(),
        },
        hold_ms: corelab_presence::presence::hold_ms(cfg.sip.t1_ms),
    };
    let presence_store = PresenceStore::open(store.clone(), hold, Coherence::new(sqlite)).await?;
    let ctx = Presence::new(cfg.clone(), presence_store, sip.clone());
    ctx.update_alarm_gauge().await;
    let listener = match sqlite {
        true => None,
        false => {
            replicas::install_triggers(&ctx.store).await?;
            Some(tokio::spawn(replicas::listen(
                ctx.clone(),
                cfg.common.store.url.clone(),
                cancel.clone(),
            )))
        }
    };

    let (admin_addr, admin_fut) = admin::serve(
        cfg.common.admin.listen,
        Some(store.clone()),
        prometheus,
        admin_api::routes(ctx.clone()),
        cancel.clone(),
    )
    .await?;
    let routes = tonic::service::Routes::new(PresenceControlServer::new(ctx.clone()));
    let (grpc_addr, grpc_fut) = grpc::serve(cfg.common.grpc.listen, routes, cancel.clone()).await?;

    tracing::info!(
        sip = %sip.addr, advertised = %sip.advertised, tcp = cfg.sip.tcp, admin = %admin_addr, grpc = %grpc_addr,
        store = %store.backend, mode = ?cfg.registrar.mode, threshold = cfg.recovery.threshold,
        on_threshold = ?cfg.recovery.on_threshold, "presence-server ready"
    );
    if let Some(path) = &cfg.common.node.ready_file {
        write_ready(
            path,
            &sip.addr.to_string(),
            &admin_addr.to_string(),
            &grpc_addr.to_string(),
        )?;
    }

    let sweeper = tokio::spawn(sweep::run(ctx.clone(), cancel.clone()));
    let ctx_store = ctx.store.clone();
    tokio::join!(
        admin_fut,
        grpc_fut,
        server::run(ctx, incoming, cancel.clone())
    );
    let _ = sweeper.await;
    if let Some(listener) = listener {
        let _ = listener.await;
    }
    if let Err(e) = ctx_store.release_holds().await {
        tracing::warn!(error = %e, "dialog holds not released (they expire by themselves)");
    }
    store.close().await;
    tracing::info!("presence-server stopped");
    Ok(())
}

fn write_ready(path: &Path, sip: &str, admin: &str, grpc: &str) -> std::io::Result<()> {
    let addrs = BTreeMap::from([
        ("sip".to_string(), sip.to_string()),
        ("admin".to_string(), admin.to_string()),
        ("grpc".to_string(), grpc.to_string()),
    ]);
    ready::write(path, &addrs)
}
