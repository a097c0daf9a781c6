//! poc-controlling: the PoC controlling function for join groups (seed 002).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use corelab_poc_controlling::config::PocControllingConfig;
use corelab_poc_controlling::control::Control;
use corelab_poc_controlling::sessions::Sessions;
use corelab_poc_controlling::sip::Cf;
use corelab_poc_controlling::store::SessionStore;
use corelab_poc_controlling::xcap_client::{XcapClient, XcapRoot};
use corelab_poc_controlling::{KIND, MIGRATOR, admin_api, metrics, sip};
use corelab_proto::poc::v1::controlling_control_server::ControllingControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};
use corelab_sip::node::{SipNode, SipNodeConfig};

/// PoC controlling function: serves join groups, reads their documents from the group server
/// over XCAP, gives every joiner the group session's one Conversation-ID and Contribution-ID
/// (the first authorized joiner's, stored atomically), relays RTP between participants.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// SIP listen address, UDP and TCP on the same port (sip.listen).
    #[arg(long, value_name = "ADDR")]
    sip_listen: Option<String>,
    /// Where peers reach us, host or host:port (sip.advertise).
    #[arg(long, value_name = "HOST[:PORT]")]
    sip_advertise: Option<String>,
    /// The group server's XCAP root, http://host:port/path (xcap.root).
    #[arg(long, value_name = "URL")]
    xcap_root: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("poc-controlling", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &PocControllingConfig::defaults(),
        &args.node,
        &[
            ("sip.listen", &args.sip_listen),
            ("sip.advertise", &args.sip_advertise),
            ("xcap.root", &args.xcap_root),
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
        KIND,
        &MIGRATOR,
    )
    .await?;
    let (node, incoming) = SipNode::start(
        &SipNodeConfig::from_keys(
            cfg.sip.listen,
            cfg.sip.advertise.as_deref(),
            cfg.sip.tcp,
            cfg.sip.t1_ms,
            format!("corelab poc-controlling {}", env!("CARGO_PKG_VERSION")),
        )
        .map_err(anyhow::Error::msg)?,
        cancel.child_token(),
    )
    .await?;
    let root = XcapRoot::parse(&cfg.xcap.root)
        .ok_or_else(|| anyhow::anyhow!("xcap.root: not http://host:port/path"))?;
    let sessions = Sessions::default();
    let session_store = SessionStore::new(store.clone());
    let ctx = Arc::new(Cf {
        xcap: XcapClient::new(
            root,
            cfg.xcap.identity.clone(),
            Duration::from_millis(cfg.xcap.timeout_ms),
            cfg.xcap.max_document_bytes,
            Duration::from_millis(cfg.xcap.revalidate_ms),
        ),
        cfg: cfg.clone(),
        node: node.clone(),
        store: session_store.clone(),
        sessions: sessions.clone(),
    });
    let grpc_routes = tonic::service::Routes::new(ControllingControlServer::new(Control {
        node: cfg.common.node.name.clone(),
        store: session_store.clone(),
        sessions: sessions.clone(),
    }));
    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            admin_api::router(session_store, sessions),
            grpc_routes,
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);
    tracing::info!(sip = %node.addr, advertised = %node.advertised, admin = %admin_addr,
        grpc = %grpc_addr, store = %store.backend, served = ?cfg.groups.served,
        xcap = %cfg.xcap.root, "poc-controlling ready");
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("sip", node.addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;
    tokio::join!(sip::run(ctx, incoming, cancel.clone()), control.serve);
    store.close().await;
    tracing::info!("poc-controlling stopped");
    Ok(())
}
