//! poc-participating: the PoC participating function, a SIP proxy for its users.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use corelab_poc_participating::config::PfConfig;
use corelab_poc_participating::control::Control;
use corelab_poc_participating::server::Pf;
use corelab_poc_participating::store::UserStore;
use corelab_poc_participating::{KIND, MIGRATOR, metrics, provision};
use corelab_proto::poc::v1::participating_control_server::ParticipatingControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};
use corelab_sip::node::{SipNode, SipNodeConfig};
use corelab_sip::proxy::relay::Proxy;
use corelab_sip::transport::tcp::TcpLimits;

/// PoC participating function: a SIP proxy (UDP and TCP) for the users in its store. It checks
/// the asserted identity of requests its users send and receive (403 otherwise) and forwards
/// group requests to the controlling server of the group's domain, with Record-Route.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// SIP listen address, UDP and TCP on the same port (sip.listen).
    #[arg(long, value_name = "ADDR", global = true)]
    sip_listen: Option<String>,
    /// Where peers reach us, host or host:port, for Via and Record-Route (sip.advertise).
    #[arg(long, value_name = "HOST[:PORT]", global = true)]
    sip_advertise: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Load users from FILE (TOML `[[user]]` tables: uri, contact, barred) into the store,
    /// creating or replacing each, then exit.
    Provision {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("poc-participating", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &PfConfig::defaults(),
        &args.node,
        &[
            ("sip.listen", &args.sip_listen),
            ("sip.advertise", &args.sip_advertise),
        ],
        |_| {},
    )?
    else {
        return Ok(());
    };
    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        KIND,
        &MIGRATOR,
    )
    .await?;
    let users = UserStore::new(store.clone());
    if let Some(Command::Provision { file }) = &args.command {
        for user in provision::load(file).map_err(anyhow::Error::msg)? {
            users.upsert(&user).await?;
            println!(
                "provisioned {} (contact {}{})",
                user.uri,
                user.contact,
                if user.barred { ", barred" } else { "" }
            );
        }
        store.close().await;
        return Ok(());
    }
    for entry in &cfg.participating.users {
        users.upsert(&provision::user(entry)).await?;
    }

    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();
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
                format!("corelab poc-participating {}", env!("CARGO_PKG_VERSION")),
            )
            .map_err(anyhow::Error::msg)?
        },
        cancel.child_token(),
    )
    .await?;
    let proxy = Proxy::new(
        sip.clone(),
        cfg.proxy.max_pending,
        Duration::from_millis(cfg.proxy.max_transaction_ms),
    );
    let pf = Arc::new(Pf {
        cfg: cfg.clone(),
        users: users.clone(),
        proxy,
    });
    let grpc_routes = tonic::service::Routes::new(ParticipatingControlServer::new(Control {
        node: cfg.common.node.name.clone(),
        users,
    }));
    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            axum::Router::new(),
            grpc_routes,
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);
    tracing::info!(
        sip = %sip.addr, advertised = %sip.advertised, tcp = cfg.sip.tcp, admin = %admin_addr,
        grpc = %grpc_addr, store = %store.backend, "poc-participating ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("sip", sip.addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;
    let serve = corelab_sip::serve::serve(
        incoming,
        cfg.serve.at_least_one(),
        cancel.clone(),
        move |tx| pf.clone().handle(tx),
    );
    tokio::join!(control.serve, serve);
    store.close().await;
    tracing::info!("poc-participating stopped");
    Ok(())
}
