//! dra: the Diameter routing agent of a PCRF domain, visited (vDRA) or home (hDRA), redirect,
//! proxy or proxy_variant (docs/dra.md).

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use corelab_diameter::codes::{VENDOR_3GPP, app};
use corelab_diameter::{Address, Dictionary};
use corelab_diameter_node::{
    AgentMode, Node, NodeConfig, PeerConfig, PeerTarget, RedirectHostUsage, RoutingTable, Validated,
};
use corelab_dra::config::{DraConfig, Mode, resolve};
use corelab_dra::local::Local;
use corelab_dra::policy::DraPolicy;
use corelab_dra::store::DraStore;
use corelab_dra::{Dra, MIGRATOR, Pcrf, admin_api, audit, metrics};
use corelab_proto::dra::v1::dra_control_server::DraControlServer;
use corelab_runtime::cli::NodeArgs;
use corelab_runtime::{Store, boot};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Diameter routing agent (TS 29.213 §7) that deletes the bindings of terminated sessions when
/// roaming (seed 003).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
    /// Diameter listen address (diameter.listen).
    #[arg(long, value_name = "ADDR")]
    diameter_listen: Option<String>,
    /// visited or home (dra.role).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    /// redirect, proxy or proxy_variant (dra.mode).
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    boot::exit_code("dra", run(Args::parse()).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(cfg) = boot::config(
        &DraConfig::defaults(),
        &args.node,
        &[
            ("diameter.listen", &args.diameter_listen),
            ("dra.role", &args.role),
            ("dra.mode", &args.mode),
        ],
        |_| {},
    )?
    else {
        return Ok(());
    };
    let boot = boot::start(metrics::describe)?;
    let cancel = boot.cancel.clone();

    let mut pcrfs = Vec::with_capacity(cfg.pcrf.len());
    for p in &cfg.pcrf {
        pcrfs.push(Pcrf {
            host: p.host.clone(),
            address: resolve("pcrf.address", &p.address).await?,
        });
    }
    let mut routes = Vec::with_capacity(cfg.route.len());
    for r in &cfg.route {
        routes.push(resolve("route.address", &r.address).await?);
    }
    let store = Store::open(
        &cfg.common.store,
        &cfg.common.node.data_dir,
        "dra",
        &MIGRATOR,
    )
    .await?;
    let dra = Dra::new(cfg.clone(), pcrfs.clone(), DraStore::new(store.clone()));
    let node = Node::with_policy(
        node_config(&cfg, &pcrfs, &routes),
        Arc::new(Validated::new(
            Arc::new(Local(dra.clone())),
            Dictionary::standard(),
            &cfg.diameter.origin_host,
            &cfg.diameter.origin_realm,
        )),
        Arc::new(DraPolicy(dra.clone())),
    );
    let diameter_addr = node
        .listen(cfg.diameter.listen)
        .await
        .map_err(|e| anyhow::anyhow!("diameter.listen {}: {e}", cfg.diameter.listen))?;

    let control = boot
        .serve_control(
            &cfg.common,
            Some(store.clone()),
            admin_api::routes(dra.clone()),
            tonic::service::Routes::new(DraControlServer::new(dra.clone())),
        )
        .await?;
    let (admin_addr, grpc_addr) = (control.admin, control.grpc);
    tracing::info!(
        diameter = %diameter_addr, admin = %admin_addr, grpc = %grpc_addr, store = %store.backend,
        role = cfg.dra.role.name(), mode = cfg.dra.mode.name(), binding_cleanup = cfg.dra.binding_cleanup,
        pcrfs = cfg.pcrf.len(), "dra ready"
    );
    boot::write_ready(
        cfg.common.node.ready_file.as_deref(),
        &[
            ("diameter", diameter_addr),
            ("admin", admin_addr),
            ("grpc", grpc_addr),
        ],
    )?;
    let auditor = tokio::spawn(audit::run(dra.clone(), cancel.clone()));
    let stop_node = async {
        cancel.cancelled().await;
        node.shutdown().await;
    };
    tokio::join!(control.serve, stop_node);
    let _ = auditor.await;
    store.close().await;
    tracing::info!("dra stopped");
    Ok(())
}

/// The diameter-node agent: redirect mode is a redirect agent, proxy and proxy_variant a proxy
/// (RFC 6733 §2.8); the PCRFs are the routes of their realm (so a request for that realm is not
/// taken as addressed to the DRA itself, §6.1.4), then the configured routes.
fn node_config(
    cfg: &DraConfig,
    pcrfs: &[Pcrf],
    route_addresses: &[std::net::SocketAddr],
) -> NodeConfig {
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
        product_name: "corelab dra".into(),
        origin_state_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |t| t.as_secs() as u32),
        supported_vendor_ids: vec![VENDOR_3GPP],
        auth_application_ids: vec![app::GX, app::GXX, app::RX, app::S9],
        known_peers: None,
        tw: Duration::from_secs(d.tw_secs),
    });
    node.mode = match cfg.dra.mode {
        Mode::Redirect => AgentMode::Redirect,
        Mode::Proxy | Mode::ProxyVariant => AgentMode::Proxy,
    };
    node.request_timeout =
        (d.request_timeout_secs > 0).then(|| Duration::from_secs(d.request_timeout_secs));
    let mut routes = RoutingTable::new();
    for p in pcrfs {
        routes.add_route(cfg.pcrf_realm(), None, PeerTarget::host(&p.host, p.address));
    }
    for (r, addr) in cfg.route.iter().zip(route_addresses) {
        let target = match r.host.as_str() {
            "" => PeerTarget::addr(*addr),
            h => PeerTarget::host(h, *addr),
        };
        routes.add_route(
            &r.realm,
            (r.application_id != 0).then_some(r.application_id),
            target,
        );
    }
    node.routes = routes;
    node.redirect.usage = RedirectHostUsage::from_i32(d.redirect_host_usage);
    node.redirect.max_cache_time = Duration::from_secs(d.redirect_max_cache_secs);
    node
}
