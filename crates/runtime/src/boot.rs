//! The start-up sequence every node binary runs, in one place: config (defaults, file, env,
//! flags) → validation → `--print-config` → telemetry → failpoints; then the metrics exporter
//! and the shutdown token; then the admin HTTP and gRPC control listeners; then the ready file.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use metrics_exporter_prometheus::PrometheusHandle;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::cli::NodeArgs;
use crate::{
    CommonConfig, ConfigError, Store, admin, config, failpoint, grpc, ready, shutdown, telemetry,
};

/// A node's whole configuration: the common sections plus its own.
pub trait NodeConfig: Serialize + DeserializeOwned {
    /// The sections every node has (`[node]`, `[store]`, `[admin]`, `[grpc]`, `[log]`).
    fn common(&self) -> &CommonConfig;
    /// Checks the loaded values beyond their types.
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// A node with only the common sections (an emulator keeping no store of its own).
impl NodeConfig for CommonConfig {
    fn common(&self) -> &CommonConfig {
        self
    }
}

/// `main()`'s ending: success, or the error chain on stderr prefixed by the binary's name.
pub fn exit_code(name: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Load the configuration: `defaults`, the file and env, the common flags, then the node's own
/// string flags (`flags`: dotted key → value if given); `adjust` applies typed flags. Validates it;
/// with `--print-config` (`args.print_config`) prints it as JSON and returns `None` (the binary exits 0). Otherwise sets
/// up telemetry and arms the configured failpoints.
pub fn config<C: NodeConfig>(
    defaults: &C,
    args: &NodeArgs,
    flags: &[(&'static str, &Option<String>)],
    adjust: impl FnOnce(&mut C),
) -> anyhow::Result<Option<C>> {
    let mut overrides = args.overrides();
    for (key, v) in flags {
        if let Some(v) = v {
            overrides.push((key, v.clone()));
        }
    }
    let mut cfg: C = config::load(defaults, args.config.as_deref(), &overrides)?;
    adjust(&mut cfg);
    cfg.check()?;
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(None);
    }
    telemetry::init(&cfg.common().log)?;
    failpoint::arm(&cfg.common().node.failpoints);
    Ok(Some(cfg))
}

/// What a serving node holds from start-up: the metrics exporter and the shutdown token.
pub struct Boot {
    pub prometheus: PrometheusHandle,
    pub cancel: CancellationToken,
}

/// Install the Prometheus exporter, `describe` the node's metrics, and cancel on SIGINT/SIGTERM.
pub fn start(describe: impl FnOnce()) -> anyhow::Result<Boot> {
    let prometheus = admin::install_metrics()?;
    describe();
    Ok(Boot {
        prometheus,
        cancel: shutdown::on_signal(),
    })
}

/// The bound control listeners and the future that serves both until shutdown.
pub struct Control<F> {
    pub admin: SocketAddr,
    pub grpc: SocketAddr,
    pub serve: F,
}

impl Boot {
    /// Bind the admin HTTP server (with `admin_routes`) and the gRPC control service (`grpc_routes`).
    pub async fn serve_control(
        self,
        common: &CommonConfig,
        store: Option<Store>,
        admin_routes: axum::Router,
        grpc_routes: tonic::service::Routes,
    ) -> anyhow::Result<Control<impl Future<Output = ()>>> {
        let (admin_addr, admin_fut) = admin::serve(
            common.admin.listen,
            store,
            self.prometheus,
            admin_routes,
            self.cancel.clone(),
        )
        .await?;
        // Every node streams its wire tap on the control port (docs/capture.md).
        let grpc_routes = grpc_routes.add_service(crate::wire_tap::server());
        let (grpc_addr, grpc_fut) =
            grpc::serve(common.grpc.listen, grpc_routes, self.cancel.clone()).await?;
        Ok(Control {
            admin: admin_addr,
            grpc: grpc_addr,
            serve: async move {
                tokio::join!(admin_fut, grpc_fut);
            },
        })
    }
}

/// Write the ready file (when configured): each name with its bound address.
pub fn write_ready(path: Option<&Path>, addrs: &[(&str, SocketAddr)]) -> std::io::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let addrs = addrs
        .iter()
        .map(|(name, addr)| (name.to_string(), addr.to_string()))
        .collect();
    ready::write(path, &addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_file_names_each_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.json");
        let sip: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        write_ready(Some(&path), &[("sip", sip), ("admin", admin)]).unwrap();
        let read: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(read["sip"], "127.0.0.1:5060");
        assert_eq!(read["admin"], "127.0.0.1:8080");
        assert_eq!(read.len(), 2);
        write_ready(None, &[("sip", sip)]).unwrap();
    }

    #[test]
    fn exit_code_maps_the_result() {
        assert_eq!(exit_code("t", Ok(())), ExitCode::SUCCESS);
        assert_eq!(
            exit_code("t", Err(anyhow::anyhow!("no"))),
            ExitCode::FAILURE
        );
    }
}
