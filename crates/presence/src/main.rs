//! presence-server: IMS presence server that restores subscriptions after a failed NOTIFY.

use std::process::ExitCode;

use clap::Parser;
use corelab_presence::cache::Coherence;
use corelab_presence::config::PresenceConfig;
use corelab_presence::store::{NotifyHold, PresenceStore};
use corelab_presence::{MIGRATOR, Presence, admin_api, metrics, replicas, server, sweep};
use corelab_proto::presence::v1::presence_control_server::PresenceControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Backend, Store, boot};
/// mimalloc rather than glibc's malloc: a SUBSCRIBE allocates many small strings, and glibc's
/// malloc/free were about 15 % of the server's CPU under load (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("presence-server", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &PresenceConfig::defaults(),
        &args.node,
        &[
            ("sip.listen", &args.sip_listen),
            ("sip.advertise", &args.sip_advertise),
            ("registrar.mode", &args.registrar_mode),
        ],
        |_| {},
    )?
    else {
        return Ok(());
    };
    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();

    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        "presence",
        &MIGRATOR,
    )
    .await?;
    let (sip, incoming) = SipNode::start(
        &SipNodeConfig {
            tcp_limits: TcpLimits::from_ms(
                cfg.sip.max_connections,
                cfg.sip.tcp_idle_timeout_ms,
                cfg.sip.tcp_message_timeout_ms,
            ),
            ..SipNodeConfig::from_keys(
                cfg.sip.listen,
                cfg.sip.advertise.as_deref(),
                cfg.sip.tcp,
                cfg.sip.t1_ms,
                format!("corelab presence-server {}", env!("CARGO_PKG_VERSION")),
            )
            .map_err(anyhow::Error::msg)?
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

    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            admin_api::routes(ctx.clone()),
            tonic::service::Routes::new(PresenceControlServer::new(ctx.clone())),
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);

    tracing::info!(
        sip = %sip.addr, advertised = %sip.advertised, tcp = cfg.sip.tcp, admin = %admin_addr, grpc = %grpc_addr,
        store = %store.backend, mode = ?cfg.registrar.mode, threshold = cfg.recovery.threshold,
        on_threshold = ?cfg.recovery.on_threshold, "presence-server ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("sip", sip.addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;

    let sweeper = tokio::spawn(sweep::run(ctx.clone(), cancel.clone()));
    let ctx_store = ctx.store.clone();
    tokio::join!(control.serve, server::run(ctx, incoming, cancel.clone()));
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
