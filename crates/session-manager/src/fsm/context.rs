//! What the network keeps per UE (the AMF's UE context and the SMF's SM contexts, TS 23.502
//! §4.2.2.2, §4.3.2): identities, 5GMM state, where the UE was last seen, its PDU sessions with
//! their QoS flows (one emulated DRB each), its MBS session associations (TMGI, path state) and
//! its paging counters. This is what the store keeps (store.rs) and the admin API shows.

use std::collections::BTreeMap;

use corelab_nas::{Guti, Tmgi};

/// 5GMM state of the UE in the network (TS 24.501 §5.1.3.2.2, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmState {
    /// REGISTRATION ACCEPT sent, REGISTRATION COMPLETE awaited (5GMM-COMMON-PROCEDURE-INITIATED).
    RegistrationInitiated,
    /// 5GMM-REGISTERED.
    Registered,
}

impl MmState {
    pub fn as_str(self) -> &'static str {
        match self {
            MmState::RegistrationInitiated => "registration_initiated",
            MmState::Registered => "registered",
        }
    }

    pub fn parse(text: &str) -> Option<MmState> {
        match text {
            "registration_initiated" => Some(MmState::RegistrationInitiated),
            "registered" => Some(MmState::Registered),
            _ => None,
        }
    }
}

/// Where the UE was last seen: the gNB (by its N1 `gnb_name`) and its RAN-UE-NGAP-ID there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub gnb: String,
    pub ran_ue_id: u64,
}

/// A QoS flow of a PDU session (TS 23.501 §5.7), carried on one emulated DRB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QosFlow {
    pub qfi: u8,
    pub five_qi: u8,
    /// `Some`: a multicast QoS flow of this MBS session (TS 23.247 §7.2.1.3).
    pub tmgi: Option<Tmgi>,
}

/// A PDU session and its QoS flows by QFI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSession {
    pub psi: u8,
    pub flows: BTreeMap<u8, QosFlow>,
}

impl PduSession {
    /// The QFIs of the MBS QoS flows of `tmgi` in this session.
    pub fn mbs_qfis(&self, tmgi: &Tmgi) -> Vec<u8> {
        (self.flows.values())
            .filter(|f| f.tmgi.as_ref() == Some(tmgi))
            .map(|f| f.qfi)
            .collect()
    }
}

/// The UE's association with a multicast MBS session: joined on PDU session `psi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbsAssociation {
    pub tmgi: Tmgi,
    pub psi: u8,
    /// The MBS path to the UE works. Down at `coverage_lost`, up again when the UE answers a
    /// paging with this TMGI (contract §8). While down and associated, the UE is paged.
    pub path_up: bool,
}

/// The network's context of one UE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UeContext {
    /// `imsi-<MCC><MNC><MSIN>`.
    pub supi: String,
    pub guti: Guti,
    pub state: MmState,
    pub location: Option<Location>,
    /// The gNB reported the radio link lost and not regained.
    pub out_of_coverage: bool,
    pub sessions: BTreeMap<u8, PduSession>,
    /// By TMGI key (`registry::tmgi_key`).
    pub associations: BTreeMap<String, MbsAssociation>,
    /// Pagings sent to this UE, by TMGI key (kept after the association goes).
    pub pagings: BTreeMap<String, u64>,
    /// Pagings since the last REGISTRATION ACCEPT.
    pub pagings_since_registration: u64,
}

impl UeContext {
    /// Total pagings sent to this UE.
    pub fn pagings_sent(&self) -> u64 {
        self.pagings.values().sum()
    }
}
