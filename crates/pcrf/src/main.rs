//! pcrf: the PCRF of the visited (vPCRF) or home (hPCRF) PLMN: Gx, Gxx, Rx server, S9 towards
//! home or from a vPCRF (docs/pcrf.md).

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use corelab_diameter::codes::{VENDOR_3GPP, app};
use corelab_diameter::{Address, Dictionary};
use corelab_diameter_node::{Node, NodeConfig, PeerConfig, Validated};
use corelab_pcrf::config::{PcrfConfig, resolve};
use corelab_pcrf::store::PcrfStore;
use corelab_pcrf::{MIGRATOR, Pcrf, admin_api, metrics};
use corelab_proto::pcrf::v1::pcrf_control_server::PcrfControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// PCRF (Gx, Gxx, Rx; S9 with subsessions) that ends its roaming sessions at home as seed 003
/// says.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// Diameter listen address (diameter.listen).
    #[arg(long, value_name = "ADDR")]
    diameter_listen: Option<String>,
    /// visited or home (pcrf.role).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("pcrf", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &PcrfConfig::defaults(),
        &args.node,
        &[
            ("diameter.listen", &args.diameter_listen),
            ("pcrf.role", &args.role),
        ],
        |_| {},
    )?
    else {
        return Ok(());
    };
    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();

    let hdra = if cfg.s9_enabled() {
        Some(resolve("s9.hdra", &cfg.s9.hdra).await?)
    } else {
        None
    };
    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        "pcrf",
        &MIGRATOR,
    )
    .await?;
    let pcrf = Pcrf::new(cfg.clone(), PcrfStore::new(store.clone()), hdra);
    let node = Node::new(
        node_config(&cfg),
        Arc::new(Validated::new(
            Arc::new(pcrf.clone()),
            Dictionary::standard(),
            &cfg.diameter.origin_host,
            &cfg.diameter.origin_realm,
        )),
    );
    pcrf.set_node(node.clone());
    let diameter_addr = node
        .listen(cfg.diameter.listen)
        .await
        .map_err(|e| anyhow::anyhow!("diameter.listen {}: {e}", cfg.diameter.listen))?;

    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            admin_api::routes(pcrf.clone()),
            tonic::service::Routes::new(PcrfControlServer::new(pcrf.clone())),
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);
    tracing::info!(
        diameter = %diameter_addr, admin = %admin_addr, grpc = %grpc_addr, store = %store.backend,
        role = cfg.pcrf.role.name(), home_realm = %cfg.s9.home_realm, "pcrf ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("diameter", diameter_addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;
    let stop_node = async {
        cancel.cancelled().await;
        node.shutdown().await;
    };
    tokio::join!(control.serve, stop_node);
    store.close().await;
    tracing::info!("pcrf stopped");
    Ok(())
}

/// A Diameter endpoint for Gx, Gxx, Rx and S9 (3GPP vendor).
fn node_config(cfg: &PcrfConfig) -> NodeConfig {
    let d = &cfg.diameter;
    let host_ip = match d.listen.ip() {
        ip if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        ip => ip,
    };
    let mut node = NodeConfig::new(PeerConfig {
        origin_host: d.origin_host.clone(),
        origin_realm: d.origin_realm.clone(),
        host_ip_addresses: vec![match host_ip {
            IpAddr::V4(a) => Address::V4(a),
            IpAddr::V6(a) => Address::V6(a),
        }],
        vendor_id: 0,
        product_name: "corelab pcrf".into(),
        origin_state_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |t| t.as_secs() as u32),
        supported_vendor_ids: vec![VENDOR_3GPP],
        auth_application_ids: vec![app::GX, app::GXX, app::RX, app::S9],
        known_peers: None,
        tw: Duration::from_secs(d.tw_secs),
    });
    node.request_timeout =
        (d.request_timeout_secs > 0).then(|| Duration::from_secs(d.request_timeout_secs));
    node
}
