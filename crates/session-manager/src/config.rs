//! session-manager configuration: the common sections plus `[n1]`, `[amf]`, `[paging]`,
//! `[capabilities]`, `[sessions]` and `[mbs]`. Every key is in docs/session-manager.md and the
//! README.

use corelab_runtime::{CommonConfig, ConfigError};
use serde::{Deserialize, Serialize};

use crate::fsm::registry::{MbsRegistry, MbsSessionConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionManagerConfig {
    #[serde(flatten)]
    pub common: CommonConfig,
    pub n1: N1Section,
    pub amf: AmfSection,
    pub paging: PagingSection,
    pub capabilities: CapabilitiesSection,
    pub sessions: SessionsSection,
    pub mbs: MbsSection,
}

/// `[n1]`: the N1 link (served on `grpc.listen` beside the control service) and its bounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct N1Section {
    /// gNB streams open at once; one more is refused with RESOURCE_EXHAUSTED.
    pub max_gnbs: usize,
    /// UE contexts held; an initial registration beyond is rejected with 5GMM cause #22.
    pub max_ues: usize,
    /// Downlink messages queued per gNB stream; beyond, a message is dropped, counted and logged
    /// (throttled).
    pub queue_depth: usize,
}

/// `[amf]`: who this AMF is, for the 5G-GUTIs it allocates (TS 23.003 §2.10).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmfSection {
    /// Name in the N1 `hello_ack` (NG Setup Response's AMF Name).
    pub name: String,
    /// Serving PLMN MCC (3 digits).
    pub mcc: String,
    /// Serving PLMN MNC (2 or 3 digits).
    pub mnc: String,
    /// AMF Region ID (8 bits).
    pub region_id: u8,
    /// AMF Set ID (10 bits).
    pub set_id: u16,
    /// AMF Pointer (6 bits).
    pub pointer: u8,
}

/// `[paging]`: TMGI paging of UEs whose MBS path is down (contract §8).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingSection {
    /// Period of the paging of one TMGI, in milliseconds.
    pub interval_ms: u64,
}

/// `[capabilities]`: the lab's extension, configured on both sides (contract §9).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilitiesSection {
    /// Read the per-session QFI lists IE (0x7C) of a mobility registration and release what the
    /// UE no longer lists (release.rs). Off: the IE is skipped like any unknown IE.
    pub qfi_lists: bool,
}

/// `[sessions]`: PDU sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsSection {
    /// PDU sessions per UE; one more is rejected with 5GSM cause #65.
    pub max_per_ue: usize,
    /// 5QI of the default QoS flow (QFI 1).
    pub default_five_qi: u8,
}

/// `[mbs]`: the multicast MBS sessions this network serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbsSection {
    /// One entry per TMGI (`[[mbs.sessions]]`).
    pub sessions: Vec<MbsSessionConfig>,
}

impl SessionManagerConfig {
    pub fn defaults() -> Self {
        SessionManagerConfig {
            common: CommonConfig::defaults("session-manager"),
            n1: N1Section {
                max_gnbs: 64,
                max_ues: 100_000,
                queue_depth: 1024,
            },
            amf: AmfSection {
                name: "session-manager".into(),
                mcc: "001".into(),
                mnc: "01".into(),
                region_id: 1,
                set_id: 1,
                pointer: 0,
            },
            paging: PagingSection { interval_ms: 1000 },
            capabilities: CapabilitiesSection { qfi_lists: true },
            sessions: SessionsSection {
                max_per_ue: 15,
                default_five_qi: 9,
            },
            mbs: MbsSection {
                sessions: MbsSessionConfig::lab_defaults(),
            },
        }
    }

    /// Checks that serde cannot make, each naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.paging.interval_ms == 0 {
            return Err(ConfigError("paging.interval_ms: must be at least 1".into()));
        }
        if self.n1.max_gnbs == 0 || self.n1.max_ues == 0 || self.n1.queue_depth == 0 {
            return Err(ConfigError(
                "n1.max_gnbs, n1.max_ues, n1.queue_depth: must be at least 1".into(),
            ));
        }
        if !(1..=15).contains(&self.sessions.max_per_ue) {
            return Err(ConfigError("sessions.max_per_ue: must be 1 to 15".into()));
        }
        if self.sessions.default_five_qi == 0 || self.sessions.default_five_qi == 255 {
            return Err(ConfigError(
                "sessions.default_five_qi: must be 1 to 254".into(),
            ));
        }
        corelab_nas::Plmn::new(&self.amf.mcc, &self.amf.mnc)
            .map_err(|e| ConfigError(format!("amf.mcc / amf.mnc: {e}")))?;
        if self.amf.set_id > 1023 || self.amf.pointer > 63 {
            return Err(ConfigError(
                "amf.set_id (0-1023) / amf.pointer (0-63): out of range".into(),
            ));
        }
        MbsRegistry::from_config(&self.mbs.sessions)
            .map_err(|e| ConfigError(format!("mbs.sessions: {e}")))?;
        Ok(())
    }
}

impl corelab_runtime::boot::NodeConfig for SessionManagerConfig {
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
    fn defaults_validate() {
        SessionManagerConfig::defaults().validate().unwrap();
    }

    #[test]
    fn bad_mbs_entry_names_the_key() {
        let mut cfg = SessionManagerConfig::defaults();
        cfg.mbs.sessions[0].flows[0].qfi = 1;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("mbs.sessions"), "{err}");
    }
}
