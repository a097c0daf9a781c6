//! What a UE holds of one PDU session: its QoS flows, which of them carry an MBS session, and
//! the DRBs the gNB set up for them (specs/mbs-mobility.md, UE steps 1-3).

use std::collections::{BTreeMap, BTreeSet};

use corelab_nas::{PduSessionId, Qfi, Tmgi};

/// How the UE came to receive an MBS session on a PDU session: it decides how it leaves
/// (seed UE step 6: a reused session by PDU SESSION MODIFICATION, a new one by RELEASE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinedOn {
    /// An existing PDU session, reused.
    Reused,
    /// A PDU session the UE established for the purpose.
    NewSession,
}

/// One multicast MBS session the UE receives: its TMGI and the MBS QoS flows the network
/// created for it in the PDU session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MbsService {
    /// The MBS session.
    pub tmgi: Tmgi,
    /// Its MBS QoS flows in the PDU session.
    pub qfis: BTreeSet<Qfi>,
    /// Reused or new session.
    pub joined_on: JoinedOn,
}

/// A PDU session of the UE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSession {
    /// Its identity.
    pub id: PduSessionId,
    /// Every QoS flow of the session, unicast and MBS.
    pub qfis: BTreeSet<Qfi>,
    /// The MBS sessions received on it.
    pub mbs: Vec<MbsService>,
    /// The QoS flows with a DRB set up by the gNB (`ResourceCommand`), one DRB per flow.
    pub drbs: BTreeSet<Qfi>,
}

impl PduSession {
    /// A session with the QoS flows `qfis`.
    pub fn new(id: PduSessionId, qfis: impl IntoIterator<Item = Qfi>) -> Self {
        Self {
            id,
            qfis: qfis.into_iter().collect(),
            mbs: Vec::new(),
            drbs: BTreeSet::new(),
        }
    }

    /// The QFIs of all its MBS QoS flows.
    pub fn mbs_qfis(&self) -> BTreeSet<Qfi> {
        self.mbs
            .iter()
            .flat_map(|s| s.qfis.iter().copied())
            .collect()
    }

    /// The MBS service of `tmgi` on this session.
    pub fn service(&self, tmgi: &Tmgi) -> Option<&MbsService> {
        self.mbs
            .iter()
            .find(|s| crate::fivegs::identity::same_tmgi(&s.tmgi, tmgi))
    }

    /// Drop the MBS service of `tmgi` and its QoS flows (and their DRBs); the QFIs released.
    pub fn remove_service(&mut self, tmgi: &Tmgi) -> BTreeSet<Qfi> {
        let mut released = BTreeSet::new();
        self.mbs.retain(|s| {
            if crate::fivegs::identity::same_tmgi(&s.tmgi, tmgi) {
                released.extend(s.qfis.iter().copied());
                false
            } else {
                true
            }
        });
        self.release_flows(&released);
        released
    }

    /// Release QoS flows `qfis` (with their DRBs), wherever they are.
    pub fn release_flows(&mut self, qfis: &BTreeSet<Qfi>) {
        self.qfis.retain(|q| !qfis.contains(q));
        self.drbs.retain(|q| !qfis.contains(q));
        for service in &mut self.mbs {
            service.qfis.retain(|q| !qfis.contains(q));
        }
    }
}

/// The UE's PDU sessions by identity.
pub type Sessions = BTreeMap<PduSessionId, PduSession>;
