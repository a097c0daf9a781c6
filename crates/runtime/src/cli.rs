//! Flags every node binary takes; they override the config file and the environment.

use std::path::PathBuf;

/// Common flags (`#[command(flatten)]` them into a node's own `clap` struct).
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// TOML config file (keys documented in the README); `CORELAB_*` env vars override it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store URL: `sqlite://FILE` or `postgres://user@host:port/db` (default: SQLite under --data-dir).
    #[arg(long, value_name = "URL")]
    pub store_url: Option<String>,
    /// Directory for the embedded SQLite store.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Admin HTTP listen address (/healthz, /readyz, /metrics).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<String>,
    /// gRPC control service listen address.
    #[arg(long, value_name = "ADDR")]
    pub grpc_listen: Option<String>,
    /// Log format: human or json.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Write the bound addresses as JSON to FILE once ready.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Print the effective configuration (defaults, file, env, flags merged) as JSON and exit.
    #[arg(long)]
    pub print_config: bool,
}

impl NodeArgs {
    /// The flags given, as dotted config keys.
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let mut o = Vec::new();
        let path = |p: &PathBuf| p.display().to_string();
        if let Some(v) = &self.store_url {
            o.push(("store.url", v.clone()));
        }
        if let Some(v) = &self.data_dir {
            o.push(("node.data_dir", path(v)));
        }
        if let Some(v) = &self.admin_listen {
            o.push(("admin.listen", v.clone()));
        }
        if let Some(v) = &self.grpc_listen {
            o.push(("grpc.listen", v.clone()));
        }
        if let Some(v) = &self.log_format {
            o.push(("log.format", v.clone()));
        }
        if let Some(v) = &self.ready_file {
            o.push(("node.ready_file", path(v)));
        }
        o
    }
}
