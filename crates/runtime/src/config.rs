//! Configuration: built-in defaults, then a TOML file (`--config`), then `CORELAB_*` environment
//! variables of the form `CORELAB_<SECTION>__<KEY>` (e.g. `CORELAB_STORE__URL`), then
//! command-line flags.
//!
//! Errors name the key and where its value came from, e.g.
//! `config: invalid type: found string "abc", expected u16 for key "default.sip.port" in lab.toml TOML file`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Sections every node has. A network function's config embeds it with `#[serde(flatten)]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonConfig {
    pub node: NodeSection,
    pub admin: AdminSection,
    pub grpc: GrpcSection,
    pub store: StoreSection,
    pub log: LogSection,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Name shown in logs and metrics (defaults to the binary's name).
    pub name: String,
    /// Directory for the embedded SQLite store and other files.
    pub data_dir: PathBuf,
    /// When set, the node writes a JSON file with its bound addresses here once it is ready.
    pub ready_file: Option<PathBuf>,
    /// Fault injection for tests: names of [`crate::failpoint`]s at which the node stops
    /// (logs, then waits for ever) so a test can kill it there. Empty in every real deployment.
    #[serde(default)]
    pub failpoints: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// HTTP listen address of `/healthz`, `/readyz`, `/metrics` and the node's admin API.
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSection {
    /// Listen address of the node's gRPC control service.
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://PATH` or `postgres://user@host:port/db`. Empty: SQLite file `<data_dir>/<node>.db`.
    pub url: String,
    /// Connections in the pool. SQLite: for reads (writes have one connection of their own).
    /// PostgreSQL: half of them group commit the writes (`crate::writer`).
    pub max_connections: u32,
    /// SQLite `synchronous` pragma: `full` (every commit reaches the disk) or `normal`.
    pub sqlite_synchronous: String,
    /// PostgreSQL schema holding this node's tables and its `_sqlx_migrations`, so that every
    /// kind of node shares one database. Empty: the node kind (`presence`, ...). Replicas of one
    /// kind share it. Ignored on SQLite (each node has its own file).
    pub schema: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `human` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info` or `info,corelab_presence=debug`. `RUST_LOG` wins when set.
    pub level: String,
}

impl CommonConfig {
    pub fn defaults(node_name: &str) -> Self {
        CommonConfig {
            node: NodeSection {
                name: node_name.to_string(),
                data_dir: PathBuf::from("var"),
                ready_file: None,
                failpoints: Vec::new(),
            },
            admin: AdminSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            grpc: GrpcSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            store: StoreSection {
                url: String::new(),
                max_connections: 4,
                sqlite_synchronous: "full".into(),
                schema: String::new(),
            },
            log: LogSection {
                format: "human".into(),
                level: "info".into(),
            },
        }
    }
}

/// A configuration error, with the key and the source in its message.
#[derive(Debug, thiserror::Error)]
#[error("config: {0}")]
pub struct ConfigError(pub String);

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // figment's Display already says "for key X in FILE"; keep every error of a multi-error.
        let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ConfigError(all.join("; "))
    }
}

/// Load a node's configuration: `defaults`, then the TOML file, then `CORELAB_*` environment
/// variables, then `overrides` (the flags the user gave, as dotted keys).
pub fn load<T: DeserializeOwned + Serialize>(
    defaults: &T,
    file: Option<&Path>,
    overrides: &[(&str, String)],
) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.exists() {
            return Err(ConfigError(format!(
                "file {} does not exist (given with --config)",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    // Only `CORELAB_SECTION__KEY` variables are config; others (`CORELAB_TEST_PG_URL`, ...) are not.
    figment = figment.merge(
        Env::prefixed("CORELAB_")
            .filter(|key| key.as_str().contains("__"))
            .split("__"),
    );
    for (key, value) in overrides {
        figment = figment.merge(Serialized::default(key, value));
    }
    Ok(figment.extract()?)
}

/// Resolves a `host:port` of the configuration (first address of the name), once at start;
/// the error names the key.
pub async fn resolve(key: &str, a: &str) -> Result<SocketAddr, ConfigError> {
    let mut addrs = tokio::net::lookup_host(a)
        .await
        .map_err(|e| ConfigError(format!("{key} {a:?}: cannot resolve: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| ConfigError(format!("{key} {a:?}: the name has no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Demo {
        #[serde(flatten)]
        common: CommonConfig,
        sip: DemoSip,
    }
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DemoSip {
        port: u16,
    }

    fn defaults() -> Demo {
        Demo {
            common: CommonConfig::defaults("demo"),
            sip: DemoSip { port: 5060 },
        }
    }

    #[test]
    fn error_names_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(&path, "[sip]\nport = \"abc\"\n").unwrap();
        let err = load(&defaults(), Some(&path), &[]).unwrap_err().to_string();
        assert!(err.contains("sip.port"), "{err}");
        assert!(err.contains("lab.toml"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(&path, "[sip]\nprot = 1\n").unwrap();
        let err = load(&defaults(), Some(&path), &[]).unwrap_err().to_string();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        std::fs::write(
            &path,
            "[sip]\nport = 5070\n[store]\nurl = \"sqlite://a.db\"\n",
        )
        .unwrap();
        let cfg: Demo = load(
            &defaults(),
            Some(&path),
            &[("store.url", "sqlite://b.db".into())],
        )
        .unwrap();
        assert_eq!(cfg.sip.port, 5070);
        assert_eq!(cfg.common.store.url, "sqlite://b.db");
    }

    #[test]
    fn missing_file_is_named() {
        let err = load(&defaults(), Some(Path::new("/nonexistent/lab.toml")), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/lab.toml"), "{err}");
    }
}
