//! group-server: the PoC group XDMS, group documents over XCAP (RFC 4825).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use corelab_group_server::config::GroupServerConfig;
use corelab_group_server::control::Control;
use corelab_group_server::http::{self, Xcap};
use corelab_group_server::store::GroupStore;
use corelab_group_server::{KIND, MIGRATOR, metrics, provision};
use corelab_proto::group::v1::group_control_server::GroupControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};

/// PoC group XDMS: PoC group documents (AUID org.openmobilealliance.poc-groups) in the store,
/// read and edited over XCAP (RFC 4825) on their own HTTP listener.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// XCAP HTTP listen address (xcap.listen).
    #[arg(long, value_name = "ADDR", global = true)]
    xcap_listen: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Load groups from FILE (TOML `[[group]]` tables, or one XML group document) into the
    /// store, creating or replacing each group's document, then exit.
    Provision {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("group-server", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &GroupServerConfig::defaults(),
        &args.node,
        &[("xcap.listen", &args.xcap_listen)],
        |_| {},
    )?
    else {
        return Ok(());
    };
    if let Some(Command::Provision { file }) = &args.command {
        let groups = provision::load(file).map_err(anyhow::Error::msg)?;
        let store = Store::open(
            &cfg.common.store,
            &cfg.common.node.data_dir,
            KIND,
            &MIGRATOR,
        )
        .await?;
        let groups_store = GroupStore::new(store.clone());
        for (group, document) in &groups {
            groups_store
                .upsert(&group.uri, &group.owner, document)
                .await?;
            println!(
                "provisioned {} (owner {}, {} members)",
                group.uri,
                group.owner,
                group.members.len()
            );
        }
        store.close().await;
        return Ok(());
    }

    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();
    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        KIND,
        &MIGRATOR,
    )
    .await?;
    let groups = GroupStore::new(store.clone());
    if let Ok(n) = groups.count().await {
        ::metrics::gauge!(corelab_group_server::metrics::GROUPS).set(n as f64);
    }
    let xcap = Arc::new(Xcap::new(cfg.xcap.clone(), groups.clone()));
    let (xcap_addr, xcap_fut) = http::serve(xcap, cancel.clone()).await?;
    let grpc_routes = tonic::service::Routes::new(GroupControlServer::new(Control {
        node: cfg.common.node.name.clone(),
        store: groups,
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
        xcap = %xcap_addr, root = %cfg.xcap.root, admin = %admin_addr, grpc = %grpc_addr,
        store = %store.backend, "group-server ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("xcap", xcap_addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;
    tokio::join!(xcap_fut, control.serve);
    store.close().await;
    tracing::info!("group-server stopped");
    Ok(())
}
