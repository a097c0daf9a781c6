//! presence-server configuration: the common sections plus `[sip]`, `[registrar]`,
//! `[subscription]`, `[recovery]` and `[authorization]`. Every key is documented in the README.

use std::net::{IpAddr, SocketAddr};

use corelab_runtime::CommonConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PresenceConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub sip: SipSection,
    pub registrar: RegistrarSection,
    pub subscription: SubscriptionSection,
    pub recovery: RecoverySection,
    pub authorization: AuthorizationSection,
    pub publish: PublishSection,
    #[serde(default)]
    pub serve: ServeSection,
}

/// `[serve]`: the serve loop's bounds (`corelab_sip::serve`).
pub type ServeSection = corelab_sip::serve::ServeConfig;

/// Bounds on what a presentity may publish (RFC 3903), so one user's publications cannot make
/// every watcher's NOTIFY huge or the server's CPU per NOTIFY grow without bound.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSection {
    /// Largest PIDF document accepted (413 beyond).
    pub max_document_bytes: usize,
    /// Most `<tuple>`s in one document (413 beyond).
    pub max_tuples: usize,
    /// Most live publications (entity-tags) per presentity (403 beyond).
    pub max_per_presentity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSection {
    /// UDP (and TCP, same port) listen address.
    pub listen: SocketAddr,
    /// Where peers reach us, `host` or `host:port` (port: the bound one): Via sent-by, Contact
    /// and Record-Route. Unset: the bound address.
    pub advertise: Option<String>,
    pub tcp: bool,
    /// Accepted TCP connections open at once; more are closed at once (keep it below the file
    /// descriptor limit).
    pub max_connections: usize,
    /// A TCP connection with no byte for this long is closed, in ms.
    pub tcp_idle_timeout_ms: u64,
    /// A message whose first byte has come over TCP must be complete within this, in ms.
    pub tcp_message_timeout_ms: u64,
    /// Our domain: the server's own URI is `sip:presence@<domain>`.
    pub domain: String,
    /// RFC 3261 T1 in milliseconds; a NOTIFY with no answer fails after Timer F = 64·T1.
    pub t1_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrarMode {
    /// The client registers with us directly; we are its registrar.
    Direct,
    /// The S-CSCF sends us third-party REGISTERs (TS 24.229 §5.4.1.7); only from `trusted_cores`.
    ThirdParty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrarSection {
    pub mode: RegistrarMode,
    /// Addresses of the IMS core (S-CSCF) allowed to send third-party REGISTERs and to assert
    /// identities (P-Asserted-Identity).
    pub trusted_cores: Vec<IpAddr>,
    /// Where requests we originate go in `third_party` mode (the S-CSCF), e.g. `sip:127.0.0.1:5060`.
    pub core_uri: String,
    pub min_expires: u32,
    pub default_expires: u32,
    pub max_expires: u32,
    /// Most registered users (503 with Retry-After beyond). Only AoRs of `sip.domain` register.
    pub max_registrations: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSection {
    /// A SUBSCRIBE asking for less gets 423 with Min-Expires.
    pub min_expires: u32,
    pub default_expires: u32,
    pub max_expires: u32,
    /// How often expired subscriptions, registrations and publications are swept, in ms.
    pub sweep_interval_ms: u64,
    /// Most subscriptions one watcher may hold (403 beyond).
    pub max_per_watcher: u32,
    /// Most subscriptions to one resource in one package, i.e. the fan-out of one change
    /// (403 beyond).
    pub max_per_resource: u32,
}

pub use corelab_recovery::ThresholdAction;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySection {
    /// MESSAGEs a user may get per registration; the failure after the last one triggers
    /// `on_threshold`.
    pub threshold: u32,
    pub on_threshold: ThresholdAction,
    /// Tries again after a NOTIFY or MESSAGE could not be sent for a fault of ours (the store,
    /// an unparsable destination, the transport) before a `server_fault` alarm. Such a failure
    /// never counts against the client.
    pub local_retries: u32,
    /// The wait before the first try again, in ms; it doubles each time.
    pub local_retry_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationSection {
    /// Whether a watcher not named in `rules` may watch a presentity.
    pub default: Policy,
    /// Who may watch whom: `{ watcher = "sip:alice@lab", presentity = "sip:bob@lab" }`; `*`
    /// matches any URI.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub watcher: String,
    pub presentity: String,
}

impl AuthorizationSection {
    /// May `watcher` see `presentity`'s presence? (A configured allow list standing in for the
    /// presence rules of RFC 5025.) Everyone may watch themselves.
    pub fn allows(&self, watcher: &str, presentity: &str) -> bool {
        if watcher == presentity {
            return true;
        }
        let matches = |pattern: &str, uri: &str| pattern == "*" || pattern == uri;
        self.rules
            .iter()
            .any(|r| matches(&r.watcher, watcher) && matches(&r.presentity, presentity))
            || self.default == Policy::Allow
    }
}

impl PresenceConfig {
    pub fn defaults() -> Self {
        PresenceConfig {
            common: CommonConfig::defaults("presence-server"),
            sip: SipSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
                advertise: None,
                tcp: true,
                max_connections: 512,
                tcp_idle_timeout_ms: 300_000,
                tcp_message_timeout_ms: 10_000,
                domain: "lab.example".into(),
                t1_ms: 500,
            },
            registrar: RegistrarSection {
                mode: RegistrarMode::Direct,
                trusted_cores: vec![],
                core_uri: String::new(),
                min_expires: 30,
                default_expires: 3600,
                max_expires: 86400,
                max_registrations: 100_000,
            },
            subscription: SubscriptionSection {
                min_expires: 30,
                default_expires: 3600,
                max_expires: 86400,
                sweep_interval_ms: 1000,
                max_per_watcher: 100,
                max_per_resource: 1000,
            },
            recovery: RecoverySection {
                threshold: 3,
                on_threshold: ThresholdAction::Deregister,
                local_retries: 3,
                local_retry_ms: 1000,
            },
            authorization: AuthorizationSection {
                default: Policy::Allow,
                rules: vec![],
            },
            publish: PublishSection {
                max_document_bytes: 8192,
                max_tuples: 32,
                max_per_presentity: 8,
            },
            serve: ServeSection::default(),
        }
    }

    /// Checks serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), corelab_runtime::ConfigError> {
        let err = |m: String| Err(corelab_runtime::ConfigError(m));
        if self.sip.t1_ms == 0 {
            return err("sip.t1_ms must be at least 1".into());
        }
        if self.recovery.local_retry_ms == 0 {
            return err("recovery.local_retry_ms must be at least 1".into());
        }
        if let Some(a) = &self.sip.advertise {
            corelab_sip::advertise::Advertise::parse(a).map_err(corelab_runtime::ConfigError)?;
        }
        if self.sip.max_connections == 0
            || self.sip.tcp_idle_timeout_ms == 0
            || self.sip.tcp_message_timeout_ms == 0
        {
            return err(
                "sip.max_connections, sip.tcp_idle_timeout_ms and sip.tcp_message_timeout_ms must be at least 1"
                    .into(),
            );
        }
        if self.recovery.threshold == 0 {
            return err("recovery.threshold must be at least 1".into());
        }
        if self.registrar.mode == RegistrarMode::ThirdParty {
            if self.registrar.trusted_cores.is_empty() {
                return err(
                    "registrar.trusted_cores must list the S-CSCF in third_party mode".into(),
                );
            }
            if corelab_sip::node::destination_of(&self.registrar.core_uri).is_none() {
                return err(format!(
                    "registrar.core_uri {:?} is not a SIP URI (needed in third_party mode)",
                    self.registrar.core_uri
                ));
            }
        }
        for (key, min, def, max) in [
            (
                "subscription",
                self.subscription.min_expires,
                self.subscription.default_expires,
                self.subscription.max_expires,
            ),
            (
                "registrar",
                self.registrar.min_expires,
                self.registrar.default_expires,
                self.registrar.max_expires,
            ),
        ] {
            if !(min <= def && def <= max) {
                return err(format!(
                    "{key}: need min_expires <= default_expires <= max_expires"
                ));
            }
        }
        Ok(())
    }
}

impl corelab_runtime::boot::NodeConfig for PresenceConfig {
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

    #[test]
    fn allow_list_with_deny_default() {
        let auth = AuthorizationSection {
            default: Policy::Deny,
            rules: vec![Rule {
                watcher: "sip:alice@lab".into(),
                presentity: "*".into(),
            }],
        };
        assert!(auth.allows("sip:alice@lab", "sip:bob@lab"));
        assert!(!auth.allows("sip:carol@lab", "sip:bob@lab"));
        assert!(auth.allows("sip:carol@lab", "sip:carol@lab"));
    }

    #[test]
    fn bad_advertise_names_the_key() {
        let mut c = PresenceConfig::defaults();
        c.sip.advertise = Some("h:0".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("sip.advertise")
        );
        c.sip.advertise = Some("presence.lab.example:5070".into());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn third_party_needs_a_core() {
        let mut c = PresenceConfig::defaults();
        c.registrar.mode = RegistrarMode::ThirdParty;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("registrar.trusted_cores")
        );
    }
}
