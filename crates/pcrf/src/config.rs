//! pcrf configuration: the common sections plus `[diameter]`, `[pcrf]`, `[policy]` and `[s9]`.
//! Every key is documented in docs/pcrf.md and the README.

use std::net::SocketAddr;

use corelab_runtime::{CommonConfig, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PcrfConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub diameter: DiameterSection,
    pub pcrf: PcrfSection,
    pub policy: PolicySection,
    pub s9: S9Section,
}

/// `[diameter]`: this node on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiameterSection {
    /// TCP listen address (port 0: any free port, written to the ready file as `diameter`).
    pub listen: SocketAddr,
    pub origin_host: String,
    pub origin_realm: String,
    /// RFC 3539 watchdog interval Tw, seconds.
    pub tw_secs: u64,
    /// How long a request we send (S9, RAR) waits for its answer, seconds; 0: Tw.
    pub request_timeout_secs: u64,
}

/// `[pcrf]`: the role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PcrfSection {
    /// `visited` (vPCRF: S9 client towards home for roaming UEs) or `home` (hPCRF).
    pub role: Role,
}

/// `[policy]`: the PCC rule and QoS every IP-CAN session gets (TS 29.212 §4.5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Charging-Rule-Name of the default rule installed in CCA-I (Gx).
    pub default_rule: String,
    /// Rating-Group of the default rule.
    pub rating_group: u32,
    /// QCI of the default bearer (Default-EPS-Bearer-QoS), 1..=9 (TS 23.203 table 6.1.7).
    pub default_qci: u32,
    /// ARP Priority-Level of the default bearer, 1..=15.
    pub arp_priority: u32,
    /// APN-Aggregate-Max-Bitrate-UL / -DL, bit/s.
    pub apn_ambr_ul: u32,
    pub apn_ambr_dl: u32,
    /// QCI of the rule installed for an Rx media component (1: conversational voice).
    pub media_qci: u32,
}

/// `[s9]`: the vPCRF's S9 side (role `visited`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S9Section {
    /// The home realm (Destination-Realm of S9 requests). Empty: no S9 (no roaming UEs).
    pub home_realm: String,
    /// The hDRA (next hop for the home realm), `host:port`.
    pub hdra: String,
    /// UEs whose Subscription-Id-Data starts with one of these are roaming (use S9); empty:
    /// every UE is roaming once `home_realm` is set.
    pub roaming_prefixes: Vec<String>,
    /// `after_redirect`: a termination goes to the hDRA, then (on 3006) to the hPCRF it names;
    /// `at_once`: to the hDRA and the remembered hPCRF at the same time (the seed's "∥").
    pub termination: TerminationOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visited,
    Home,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Visited => "visited",
            Role::Home => "home",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationOrder {
    AfterRedirect,
    AtOnce,
}

impl PcrfConfig {
    pub fn defaults() -> Self {
        PcrfConfig {
            common: CommonConfig::defaults("pcrf"),
            diameter: DiameterSection {
                listen: SocketAddr::from(([127, 0, 0, 1], 3868)),
                origin_host: "pcrf.lab".into(),
                origin_realm: "lab".into(),
                tw_secs: 30,
                request_timeout_secs: 0,
            },
            pcrf: PcrfSection {
                role: Role::Visited,
            },
            policy: PolicySection {
                default_rule: "default".into(),
                rating_group: 1,
                default_qci: 9,
                arp_priority: 8,
                apn_ambr_ul: 50_000_000,
                apn_ambr_dl: 100_000_000,
                media_qci: 1,
            },
            s9: S9Section {
                home_realm: String::new(),
                hdra: String::new(),
                roaming_prefixes: Vec::new(),
                termination: TerminationOrder::AfterRedirect,
            },
        }
    }

    /// Whether the S9 side is on: a vPCRF with a home realm.
    pub fn s9_enabled(&self) -> bool {
        self.pcrf.role == Role::Visited && !self.s9.home_realm.is_empty()
    }

    /// Whether the UE of this NAI is roaming (gets an S9 session).
    pub fn is_roaming(&self, nai: &str) -> bool {
        self.s9_enabled()
            && (self.s9.roaming_prefixes.is_empty()
                || self.s9.roaming_prefixes.iter().any(|p| nai.starts_with(p)))
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
        let p = &self.policy;
        if !(1..=9).contains(&p.default_qci) {
            return err("policy.default_qci must be 1..=9 (TS 23.203 table 6.1.7)");
        }
        if !(1..=9).contains(&p.media_qci) {
            return err("policy.media_qci must be 1..=9 (TS 23.203 table 6.1.7)");
        }
        if !(1..=15).contains(&p.arp_priority) {
            return err("policy.arp_priority must be 1..=15 (TS 29.212 §5.3.45)");
        }
        if p.default_rule.is_empty() {
            return err("policy.default_rule must not be empty");
        }
        if self.s9_enabled() {
            match self.s9.hdra.rsplit_once(':') {
                Some((h, port)) if !h.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => {
                    return Err(ConfigError(format!(
                        "s9.hdra {:?}: expected host:port of the hDRA (needed with s9.home_realm)",
                        self.s9.hdra
                    )));
                }
            }
        }
        Ok(())
    }
}

pub use corelab_runtime::config::resolve;

impl corelab_runtime::boot::NodeConfig for PcrfConfig {
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

    fn load(text: &str) -> Result<PcrfConfig, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| ConfigError(e.to_string()))?;
        let path = dir.path().join("pcrf.toml");
        std::fs::write(&path, text).map_err(|e| ConfigError(e.to_string()))?;
        let cfg: PcrfConfig =
            corelab_runtime::config::load(&PcrfConfig::defaults(), Some(&path), &[])?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn a_visited_pcrf_with_s9_loads() {
        let cfg = load(
            "[pcrf]\nrole = \"visited\"\n[s9]\nhome_realm = \"home.lab\"\nhdra = \"127.0.0.1:3870\"\n\
             roaming_prefixes = [\"00101\"]\ntermination = \"at_once\"\n",
        )
        .unwrap();
        assert!(cfg.is_roaming("001010000000001"));
        assert!(!cfg.is_roaming("999990000000001"));
        assert_eq!(cfg.s9.termination, TerminationOrder::AtOnce);
    }

    #[test]
    fn errors_name_the_key() {
        let e = load("[pcrf]\nrole = \"roaming\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pcrf.role"), "{e}");
        let e = load("[s9]\nhome_realm = \"home.lab\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s9.hdra"), "{e}");
        let e = load("[policy]\ndefault_qci = 12\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("policy.default_qci"), "{e}");
    }
}
