//! Options every subcommand takes, and what they turn into: the node's
//! `PeerConfig`/`NodeConfig`, the tracing subscriber, exit statuses.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use corelab_diameter::Dictionary;
use corelab_diameter::codes::{VENDOR_3GPP, app};
use corelab_diameter_node::{NodeConfig, PeerConfig, TlsConfig};

use crate::checks::Validation;
use crate::files::application_by_name;
use crate::values::address;

/// Exit statuses (documented in docs/diameter-peer.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Every answer as expected.
    Ok = 0,
    /// An answer was not 2xxx (or not `--expect`), or a request got no answer.
    Failed = 1,
    /// Usage, file or connection/CER failure.
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Options shared by every subcommand.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// Our Origin-Host (DiameterIdentity), sent in CER/CEA and every message.
    #[arg(long, value_name = "H")]
    pub origin_host: String,
    /// Our Origin-Realm.
    #[arg(long, value_name = "R")]
    pub origin_realm: String,
    /// Host-IP-Address advertised in CER/CEA (repeat for several).
    #[arg(long, value_name = "IP", default_values_t = [IpAddr::V4(Ipv4Addr::LOCALHOST)])]
    pub host_ip: Vec<IpAddr>,
    /// RFC 3539 watchdog interval Tw in seconds; also the default request timeout.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub tw_secs: u64,
    /// Seconds to wait for each answer (default: Tw).
    #[arg(long, value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Applications advertised in CER/CEA: base, cc, gx, gxx, rx, s9, relay or a
    /// number; repeat or separate with commas. Default: client and load the
    /// applications of their files, server and agent cc,gx,gxx,rx,s9.
    #[arg(long = "app", value_name = "NAME|ID", value_delimiter = ',')]
    pub apps: Vec<String>,
    /// Also advertise Supported-Vendor-Id 10415 (3GPP). 3GPP applications are
    /// always advertised in Vendor-Specific-Application-Id (Vendor-Id 10415).
    #[arg(long)]
    pub vendor_specific: bool,
    /// Log format on stderr (level from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Diameter over TLS from the first byte (RFC 6733 §2.1, "aaas").
    #[arg(long, requires_all = ["cert", "key"])]
    pub tls: bool,
    /// Certificate chain (PEM) for --tls.
    #[arg(long, value_name = "F")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) for --tls.
    #[arg(long, value_name = "F")]
    pub key: Option<PathBuf>,
    /// CA certificates (PEM) the peer's certificate must chain to (a client
    /// needs it; a server then asks clients for certificates).
    #[arg(long, value_name = "F")]
    pub ca: Option<PathBuf>,
    /// Check every request received against the dictionary first and answer a
    /// bad one with its RFC 6733 error (5001 with Failed-AVP, 5005, 5004 ...)
    /// instead of the configured answer. M bits against the dictionary's flag
    /// rules are tolerated (logged); see --strict-flags.
    #[arg(long)]
    pub validate: bool,
    /// With --validate: answer 3009 DIAMETER_INVALID_AVP_BITS to an AVP whose M
    /// bit is against its dictionary rule (implies --validate).
    #[arg(long)]
    pub strict_flags: bool,
    /// Print every message decoded by name (server and agent print one line
    /// per message otherwise).
    #[arg(short, long)]
    pub verbose: bool,
}

/// The applications a server or agent advertises by default.
pub const SERVER_APPS: [u32; 5] = [app::CREDIT_CONTROL, app::GX, app::GXX, app::RX, app::S9];

impl Common {
    /// The `--app` values as ids, or `default` when none was given.
    pub fn application_ids(&self, default: &[u32]) -> anyhow::Result<Vec<u32>> {
        if self.apps.is_empty() {
            return Ok(default.to_vec());
        }
        let mut out = Vec::new();
        for a in &self.apps {
            let id = application_by_name(Dictionary::standard(), a.trim()).with_context(|| {
                format!(
                    "--app {a:?}: not an application (base, cc, gx, gxx, rx, s9, relay or a number)"
                )
            })?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Our capabilities for CER/CEA.
    pub fn peer_config(&self, applications: Vec<u32>) -> anyhow::Result<PeerConfig> {
        if self.origin_host.is_empty() || !self.origin_host.is_ascii() {
            bail!("--origin-host must be a non-empty ASCII FQDN");
        }
        if self.origin_realm.is_empty() || !self.origin_realm.is_ascii() {
            bail!("--origin-realm must be a non-empty ASCII realm");
        }
        if self.tw_secs == 0 {
            bail!("--tw-secs must be at least 1");
        }
        let origin_state_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() as u32);
        Ok(PeerConfig {
            origin_host: self.origin_host.clone(),
            origin_realm: self.origin_realm.clone(),
            host_ip_addresses: self.host_ip.iter().map(|ip| address(*ip)).collect(),
            vendor_id: 0,
            product_name: "corelab diameter-peer".into(),
            origin_state_id,
            supported_vendor_ids: if self.vendor_specific {
                vec![VENDOR_3GPP]
            } else {
                Vec::new()
            },
            auth_application_ids: applications,
            known_peers: None,
            tw: Duration::from_secs(self.tw_secs),
        })
    }

    /// An endpoint node configuration (agents change `mode` and `routes`).
    pub fn node_config(&self, applications: Vec<u32>) -> anyhow::Result<NodeConfig> {
        let mut cfg = NodeConfig::new(self.peer_config(applications)?);
        cfg.request_timeout = self.request_timeout_secs.map(Duration::from_secs);
        if self.tls {
            let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
                bail!("--tls needs --cert and --key");
            };
            cfg.tls = Some(TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
                ca: self.ca.clone(),
            });
        }
        Ok(cfg)
    }

    /// How received requests are checked before they are answered.
    pub fn validation(&self) -> Validation {
        if self.strict_flags {
            Validation::Strict
        } else if self.validate {
            Validation::Tolerant
        } else {
            Validation::Off
        }
    }

    /// Starts the tracing subscriber (stderr).
    pub fn init_logging(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let b = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal());
        let _ = match self.log_format {
            LogFormat::Human => b.try_init(),
            LogFormat::Json => b.json().try_init(),
        };
    }
}

/// `HOST:PORT` (a name is resolved; the first address is used).
pub async fn resolve(s: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    tokio::net::lookup_host(s)
        .await
        .with_context(|| format!("{s:?} is not HOST:PORT"))?
        .next()
        .with_context(|| format!("{s:?} resolves to no address"))
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
