//! The MBS session registry: the multicast MBS sessions this network serves (TS 23.247 §6.2,
//! "MBS session"), each named by its TMGI (TS 23.003 §15.2) with its multicast QoS flows
//! (QFI + 5QI, TS 23.247 §7.2.1.3), the UEs authorized to join it and its capacity.
//!
//! A join is decided here ([`MbsRegistry::decide_join`]); the causes are TS 24.501 Rel-17
//! §9.11.4.31's MBS rejection causes.

use std::collections::BTreeMap;

use corelab_nas::{MbsRejectionCause, Plmn, Qfi, Tmgi};
use serde::{Deserialize, Serialize};

/// One `[[mbs.sessions]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbsSessionConfig {
    /// MBS service ID, 24 bits (e.g. `1`).
    pub service_id: u32,
    /// PLMN of the TMGI as `MCC-MNC` (e.g. `"001-01"`); empty: the serving PLMN's.
    #[serde(default)]
    pub plmn: String,
    /// The multicast QoS flows the UE gets when it joins.
    pub flows: Vec<MbsFlowConfig>,
    /// SUPIs allowed to join (`imsi-...`), or `["*"]` for every UE.
    pub authorized: Vec<String>,
    /// UEs joined at most.
    pub capacity: usize,
}

/// A multicast QoS flow of an MBS session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbsFlowConfig {
    /// QFI, 2 to 63 (1 is every PDU session's default QoS flow).
    pub qfi: u8,
    /// 5QI (TS 23.501 §5.7.4), 1 to 254.
    pub five_qi: u8,
}

impl MbsSessionConfig {
    /// The lab's defaults: TMGI 000001 (QFI 5, 5QI 7) and TMGI 000002 (QFIs 6 and 7, 5QI 7 and
    /// 8), every UE authorized, 100 000 UEs each.
    pub fn lab_defaults() -> Vec<MbsSessionConfig> {
        vec![
            MbsSessionConfig {
                service_id: 1,
                plmn: String::new(),
                flows: vec![MbsFlowConfig { qfi: 5, five_qi: 7 }],
                authorized: vec!["*".into()],
                capacity: 100_000,
            },
            MbsSessionConfig {
                service_id: 2,
                plmn: String::new(),
                flows: vec![
                    MbsFlowConfig { qfi: 6, five_qi: 7 },
                    MbsFlowConfig { qfi: 7, five_qi: 8 },
                ],
                authorized: vec!["*".into()],
                capacity: 100_000,
            },
        ]
    }
}

/// A configured MBS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbsSession {
    pub tmgi: Tmgi,
    /// (QFI, 5QI) of each multicast QoS flow.
    pub flows: Vec<(Qfi, u8)>,
    /// `None`: every UE.
    pub authorized: Option<Vec<String>>,
    pub capacity: usize,
}

/// Why a join is refused: the Received MBS container's rejection cause (TS 24.501 §9.11.4.31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    /// No such TMGI here: "MBS session context not found" (5).
    UnknownTmgi,
    /// The SUPI is not in the session's authorized list: "UE is not authorized" (2).
    NotAuthorized,
    /// The session has `capacity` UEs already, or its QFIs clash with the PDU session's other
    /// flows: "insufficient resources" (1).
    NoCapacity,
}

impl JoinRefusal {
    pub fn cause(self) -> MbsRejectionCause {
        match self {
            JoinRefusal::UnknownTmgi => MbsRejectionCause::ContextNotFound,
            JoinRefusal::NotAuthorized => MbsRejectionCause::NotAuthorized,
            JoinRefusal::NoCapacity => MbsRejectionCause::InsufficientResources,
        }
    }
}

/// The configured MBS sessions by TMGI key ([`tmgi_key`]).
#[derive(Debug, Clone, Default)]
pub struct MbsRegistry {
    sessions: BTreeMap<String, MbsSession>,
}

impl MbsRegistry {
    /// The registry of `[[mbs.sessions]]`; an error names the entry and what is wrong.
    pub fn from_config(entries: &[MbsSessionConfig]) -> Result<MbsRegistry, String> {
        let mut sessions = BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("entry {i} (service_id {})", entry.service_id);
            let plmn = match entry.plmn.as_str() {
                "" => None,
                text => Some(
                    text.parse::<Plmn>()
                        .map_err(|e| format!("{at}: plmn {text:?}: {e}"))?,
                ),
            };
            let tmgi = Tmgi::new(entry.service_id, plmn).map_err(|e| format!("{at}: {e}"))?;
            if entry.flows.is_empty() {
                return Err(format!("{at}: flows: at least one multicast QoS flow"));
            }
            let mut flows = Vec::new();
            for flow in &entry.flows {
                let qfi = Qfi::new(flow.qfi).map_err(|e| format!("{at}: flows: {e}"))?;
                if flow.qfi == 1 {
                    return Err(format!(
                        "{at}: flows: QFI 1 is the default QoS flow of every PDU session"
                    ));
                }
                if flow.five_qi == 0 || flow.five_qi == 255 {
                    return Err(format!("{at}: flows: 5QI {} is not 1 to 254", flow.five_qi));
                }
                if flows.iter().any(|(q, _)| *q == qfi) {
                    return Err(format!("{at}: flows: QFI {} twice", flow.qfi));
                }
                flows.push((qfi, flow.five_qi));
            }
            let authorized = match entry.authorized.iter().any(|s| s == "*") {
                true => None,
                false => Some(entry.authorized.clone()),
            };
            let key = tmgi_key(&tmgi);
            if sessions.contains_key(&key) {
                return Err(format!("{at}: TMGI {key} configured twice"));
            }
            sessions.insert(
                key,
                MbsSession {
                    tmgi,
                    flows,
                    authorized,
                    capacity: entry.capacity,
                },
            );
        }
        Ok(MbsRegistry { sessions })
    }

    pub fn get(&self, tmgi: &Tmgi) -> Option<&MbsSession> {
        self.sessions.get(&tmgi_key(tmgi))
    }

    pub fn sessions(&self) -> impl Iterator<Item = &MbsSession> {
        self.sessions.values()
    }

    /// Network side step 1 of the spec: may `supi` join `tmgi`, which has `members` UEs now?
    pub fn decide_join(
        &self,
        tmgi: &Tmgi,
        supi: &str,
        members: usize,
    ) -> Result<&MbsSession, JoinRefusal> {
        let session = self.get(tmgi).ok_or(JoinRefusal::UnknownTmgi)?;
        if let Some(list) = &session.authorized
            && !list.iter().any(|s| s == supi)
        {
            return Err(JoinRefusal::NotAuthorized);
        }
        if members >= session.capacity {
            return Err(JoinRefusal::NoCapacity);
        }
        Ok(session)
    }
}

/// A TMGI as text, the key of maps, store rows, metrics labels and the admin API: the MBS service
/// ID as six hex digits, then `-MCC-MNC` when the TMGI names a PLMN (`000001`, `000001-001-01`).
pub fn tmgi_key(tmgi: &Tmgi) -> String {
    match &tmgi.plmn {
        None => format!("{:06x}", tmgi.service_id()),
        Some(plmn) => format!("{:06x}-{}-{}", tmgi.service_id(), plmn.mcc(), plmn.mnc()),
    }
}

/// The TMGI of a [`tmgi_key`].
pub fn parse_tmgi_key(text: &str) -> Option<Tmgi> {
    let mut parts = text.splitn(2, '-');
    let id = u32::from_str_radix(parts.next()?, 16).ok()?;
    let plmn = match parts.next() {
        None => None,
        Some(p) => Some(p.parse::<Plmn>().ok()?),
    };
    Tmgi::new(id, plmn).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmgi_key_round_trips_with_and_without_plmn() {
        for tmgi in [
            Tmgi::new(1, None).unwrap(),
            Tmgi::new(0xabcdef, Some("001-01".parse().unwrap())).unwrap(),
        ] {
            assert_eq!(parse_tmgi_key(&tmgi_key(&tmgi)), Some(tmgi));
        }
        assert_eq!(tmgi_key(&Tmgi::new(1, None).unwrap()), "000001");
    }
}
