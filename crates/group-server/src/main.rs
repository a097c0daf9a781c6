//! group-server: the PoC group XDMS, group documents over XCAP (RFC 4825).

use std::collections::BTreeMap;
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
use corelab_runtime::{Store, admin, config, grpc, ready, shutdown, telemetry};

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
    /// Print the effective configuration (defaults, file, env, flags merged) as JSON and exit.
    #[arg(long)]
    print_config: bool,
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
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("group-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut overrides = args.node.overrides();
    if let Some(v) = &args.xcap_listen {
        overrides.push(("xcap.listen", v.clone()));
    }
    let cfg: GroupServerConfig = config::load(
        &GroupServerConfig::defaults(),
        args.node.config.as_deref(),
        &overrides,
    )?;
    cfg.validate()?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(());
    }
    telemetry::init(&cfg.common.log)?;
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

    let prometheus = admin::install_metrics()?;
    metrics::describe();
    let cancel = shutdown::on_signal();
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
    let (admin_addr, admin_fut) = admin::serve(
        cfg.common.admin.listen,
        Some(store.clone()),
        prometheus,
        axum::Router::new(),
        cancel.clone(),
    )
    .await?;
    let routes = tonic::service::Routes::new(GroupControlServer::new(Control {
        node: cfg.common.node.name.clone(),
        store: groups,
    }));
    let (grpc_addr, grpc_fut) = grpc::serve(cfg.common.grpc.listen, routes, cancel.clone()).await?;
    tracing::info!(
        xcap = %xcap_addr, root = %cfg.xcap.root, admin = %admin_addr, grpc = %grpc_addr,
        store = %store.backend, "group-server ready"
    );
    if let Some(path) = &cfg.common.node.ready_file {
        let addrs = BTreeMap::from([
            ("xcap".to_string(), xcap_addr.to_string()),
            ("admin".to_string(), admin_addr.to_string()),
            ("grpc".to_string(), grpc_addr.to_string()),
        ]);
        ready::write(path, &addrs)?;
    }
    tokio::join!(xcap_fut, admin_fut, grpc_fut);
    store.close().await;
    tracing::info!("group-server stopped");
    Ok(())
}
