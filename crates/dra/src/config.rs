//! dra configuration: the common sections plus `[diameter]`, `[dra]`, `[[pcrf]]`, `[[route]]`
//! and `[audit]`. Every key is documented in docs/dra.md and the README.

use std::net::SocketAddr;

use corelab_runtime::{CommonConfig, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub diameter: DiameterSection,
    pub dra: DraSection,
    /// The PCRFs of this DRA's realm (the PCRF domain), in order.
    #[serde(default)]
    pub pcrf: Vec<PcrfEntry>,
    /// Other realms' next hops (e.g. the hDRA's realm), for requests no binding steers.
    #[serde(default)]
    pub route: Vec<RouteEntry>,
    pub audit: AuditSection,
}

/// `[diameter]`: this node on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiameterSection {
    /// TCP listen address (port 0: any free port, written to the ready file as `diameter`).
    pub listen: SocketAddr,
    /// Origin-Host (Diameter identity).
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Realm of the PCRFs (Destination-Realm of the clients' requests). Empty: `origin_realm`.
    pub pcrf_realm: String,
    /// RFC 3539 watchdog interval Tw, seconds (≥ 6 in deployments; tests use less).
    pub tw_secs: u64,
    /// How long a forwarded request waits for its answer, seconds; 0: Tw.
    pub request_timeout_secs: u64,
    /// Redirect-Host-Usage of the 3006 answers (RFC 6733 §6.13), 0..=6. Default 0
    /// DONT_CACHE: the client must come back to the DRA with its termination (the seed).
    pub redirect_host_usage: i32,
    /// Redirect-Max-Cache-Time of the 3006 answers, seconds.
    pub redirect_max_cache_secs: u64,
}

/// `[dra]`: the role, the mode and the seed's switch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraSection {
    /// `visited` (vDRA) or `home` (hDRA).
    pub role: Role,
    /// `redirect`, `proxy` or `proxy_variant` (TS 29.213 §7.1).
    pub mode: Mode,
    /// The seed's feature: delete the bindings of terminated sessions (docs/dra.md). `false`:
    /// a plain TS 29.213 DRA that keeps them (stale bindings remain until the audit).
    pub binding_cleanup: bool,
}

/// `[audit]`: removal of bindings whose sessions outlived a lifetime (a lost termination must
/// not keep a binding for ever).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// A binding none of whose Diameter sessions was established in the last `lifetime_secs`
    /// is removed. 0: no audit.
    pub lifetime_secs: u64,
    /// How often the audit runs, milliseconds.
    pub interval_ms: u64,
}

/// One PCRF of the realm.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcrfEntry {
    /// Its Diameter identity (Origin-Host), recorded in the binding.
    pub host: String,
    /// Where it listens (TCP), `ip:port` or `name:port` (resolved once at start); the resolved
    /// `ip:port` is also the host:port of the Redirect-Host URI.
    pub address: String,
}

/// One realm route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteEntry {
    /// Destination-Realm.
    pub realm: String,
    /// Application-Id (0: every application).
    #[serde(default)]
    pub application_id: u32,
    /// The next hop's Diameter identity ("" when unknown).
    #[serde(default)]
    pub host: String,
    /// The next hop's address, `ip:port` or `name:port` (resolved once at start).
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visited,
    Home,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Redirect,
    Proxy,
    ProxyVariant,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Visited => "visited",
            Role::Home => "home",
        }
    }
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Redirect => "redirect",
            Mode::Proxy => "proxy",
            Mode::ProxyVariant => "proxy_variant",
        }
    }
}

impl DraConfig {
    pub fn defaults() -> Self {
        DraConfig {
            common: CommonConfig::defaults("dra"),
            diameter: DiameterSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 3868)),
                origin_host: "dra.lab".into(),
                origin_realm: "lab".into(),
                pcrf_realm: String::new(),
                tw_secs: 30,
                request_timeout_secs: 0,
                redirect_host_usage: 0,
                redirect_max_cache_secs: 0,
            },
            dra: DraSection {
                role: Role::Visited,
                mode: Mode::Redirect,
                binding_cleanup: true,
            },
            pcrf: Vec::new(),
            route: Vec::new(),
            audit: AuditSection {
                lifetime_secs: 86_400,
                interval_ms: 60_000,
            },
        }
    }

    /// The realm of the PCRFs.
    pub fn pcrf_realm(&self) -> &str {
        if self.diameter.pcrf_realm.is_empty() {
            &self.diameter.origin_realm
        } else {
            &self.diameter.pcrf_realm
        }
    }

    /// Checks what serde cannot; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_string()));
        let d = &self.diameter;
        if d.origin_host.is_empty() || !d.origin_host.is_ascii() {
            return err("diameter.origin_host must be a non-empty ASCII FQDN");
        }
        if d.origin_realm.is_empty() || !d.origin_realm.is_ascii() {
            return err("diameter.origin_realm must be a non-empty ASCII realm");
        }
        if d.tw_secs == 0 {
            return err("diameter.tw_secs must be at least 1");
        }
        if !(0..=6).contains(&d.redirect_host_usage) {
            return err("diameter.redirect_host_usage must be 0..=6 (RFC 6733 §6.13)");
        }
        if self.pcrf.is_empty() {
            return err("pcrf: at least one [[pcrf]] (host, address) is needed");
        }
        if let Some(p) = self
            .pcrf
            .iter()
            .find(|p| p.host.is_empty() || !p.host.is_ascii())
        {
            return Err(ConfigError(format!(
                "pcrf.host of the PCRF at {} must be a non-empty ASCII Diameter identity",
                p.address
            )));
        }
        for a in self.pcrf.iter().map(|p| &p.address) {
            check_address("pcrf.address", a)?;
        }
        for r in &self.route {
            if r.realm.is_empty() {
                return err("route.realm must not be empty");
            }
            check_address("route.address", &r.address)?;
        }
        if self.audit.lifetime_secs > 0 && self.audit.interval_ms == 0 {
            return err("audit.interval_ms must be at least 1 when audit.lifetime_secs is set");
        }
        Ok(())
    }
}

/// `host:port` with a port number (the host is resolved at start).
fn check_address(key: &str, a: &str) -> Result<(), ConfigError> {
    match a.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(ConfigError(format!(
            "{key} {a:?}: expected host:port (an IP address or a name, and a port number)"
        ))),
    }
}

pub use corelab_runtime::config::resolve;

impl corelab_runtime::boot::NodeConfig for DraConfig {
    fn common(&self) -> &corelab_runtime::CommonConfig {
        &self.common
    }
    fn check(&self) -> Result<(), corelab_runtime::ConfigError> {
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<DraConfig, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| ConfigError(e.to_string()))?;
        let path = dir.path().join("dra.toml");
        std::fs::write(&path, text).map_err(|e| ConfigError(e.to_string()))?;
        let cfg: DraConfig =
            corelab_runtime::config::load(&DraConfig::defaults(), Some(&path), &[])?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[tokio::test]
    async fn addresses_may_be_names_resolved_at_start() {
        let a = resolve("pcrf.address", "localhost:3868").await.unwrap();
        assert_eq!(a.port(), 3868);
        assert!(a.ip().is_loopback());
    }

    #[test]
    fn a_full_file_loads_with_role_mode_and_pcrfs() {
        let cfg = load(
            "[dra]\nrole = \"home\"\nmode = \"proxy_variant\"\nbinding_cleanup = false\n\
             [[pcrf]]\nhost = \"hpcrf1.home.lab\"\naddress = \"127.0.0.1:3870\"\n",
        )
        .unwrap();
        assert_eq!(cfg.dra.role, Role::Home);
        assert_eq!(cfg.dra.mode, Mode::ProxyVariant);
        assert!(!cfg.dra.binding_cleanup);
        assert_eq!(cfg.pcrf[0].host, "hpcrf1.home.lab");
    }

    #[test]
    fn errors_name_the_key() {
        let e =
            load("[dra]\nmode = \"relay\"\n[[pcrf]]\nhost = \"p\"\naddress = \"127.0.0.1:1\"\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("dra.mode"), "{e}");
        let e = load("[dra]\nrole = \"home\"\n").unwrap_err().to_string();
        assert!(e.contains("pcrf"), "{e}");
        let e = load("[[pcrf]]\nhost = \"p\"\naddress = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pcrf.address \"nowhere\""), "{e}");
        let e = load("[diameter]\nredirect_host_usage = 9\n[[pcrf]]\nhost = \"p\"\naddress = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("diameter.redirect_host_usage"), "{e}");
    }
}
