//! **The seed's release** (seed 000_98f75ce90da6e8ef, claims 5-7 and fig. 3-4;
//! specs/mbs-mobility.md "Network side" steps 2-3; contract §9): a UE that lost coverage and
//! closed its MBS app released the MBS QoS flows locally and deleted the TMGI (UE step 3). Back in
//! coverage its REGISTRATION REQUEST (mobility registration updating) carries, for each PDU
//! session, the QFIs of the QoS flows it still has (the lab's IE 0x7C). Here the network reads
//! that list, PDU session by PDU session:
//!
//! - **S306** parse each PDU session ID with its QFI set;
//! - **S308** are the QFIs of the session's MBS QoS flows in that set?
//! - **S310 / claim 7** absent: the UE's MBS session is gone, so release the network resources of
//!   all its MBS QoS flows, delete the UE's association with the TMGI, and stop paging the UE
//!   with that TMGI (paging only pages associated UEs: fsm/paging.rs); present (out of coverage
//!   but MBS not closed): keep everything;
//! - **general case** (end of the fig. 4 embodiment): any other QoS flow the UE no longer lists
//!   is released with its DRB, not only MBS ones.
//!
//! REGISTRATION ACCEPT follows (fsm/registration.rs), after the store has the result. A PDU
//! session the list does not name is left as it is (the PDU session status decides whether it
//! lives). Lab choice: a session whose default QoS flow (QFI 1) is no longer listed cannot carry
//! anything and is released whole.

use std::collections::BTreeSet;

use corelab_nas::PduSessionQfiLists;

use crate::fsm::context::UeContext;
use crate::fsm::release_cause;

/// QFI of every PDU session's default QoS flow in the lab.
pub const DEFAULT_QFI: u8 = 1;

/// What the release did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Released {
    /// MBS QoS flows released because their session's MBS QFIs were absent (S310).
    pub mbs_flows: usize,
    /// Other QoS flows released because they were no longer listed (general case).
    pub other_flows: usize,
    /// TMGIs (keys) whose association was deleted, and whose paging of this UE stops.
    pub tmgis_deleted: Vec<String>,
    /// TMGIs (keys) kept because their MBS QFIs were listed.
    pub tmgis_kept: Vec<String>,
    /// PDU sessions released whole (default QoS flow not listed).
    pub sessions_released: Vec<u8>,
    /// Per PDU session, the QFIs whose DRBs the gNB releases.
    pub drbs_to_release: Vec<(u8, Vec<u8>)>,
}

impl Released {
    /// Flows released per metric cause.
    pub fn released_by_cause(&self) -> [(&'static str, usize); 2] {
        [
            (release_cause::MBS_QFIS_ABSENT, self.mbs_flows),
            (release_cause::QFI_NOT_LISTED, self.other_flows),
        ]
    }
}

/// Network steps 2-3 of the spec on `ue`, given the per-session QFI lists of its mobility
/// registration.
pub fn release_what_the_ue_no_longer_has(
    ue: &mut UeContext,
    lists: &PduSessionQfiLists,
) -> Released {
    let mut done = Released::default();
    // S306: each PDU session ID with its QFI set.
    for (psi, qfis) in &lists.0 {
        let psi = psi.get();
        let listed: BTreeSet<u8> = qfis.iter().map(|q| q.get()).collect();
        let Some(session) = ue.sessions.get_mut(&psi) else {
            continue;
        };
        let mut drbs = Vec::new();

        // S308: for each MBS session joined on this PDU session, are its MBS QFIs listed?
        let joined_here: Vec<String> = (ue.associations.iter())
            .filter(|(_, a)| a.psi == psi)
            .map(|(key, _)| key.clone())
            .collect();
        for key in joined_here {
            let Some(association) = ue.associations.get(&key) else {
                continue;
            };
            let mbs_qfis = session.mbs_qfis(&association.tmgi);
            if mbs_qfis.iter().any(|q| listed.contains(q)) {
                // MBS not closed: keep the flows, the TMGI and the paging.
                done.tmgis_kept.push(key);
                continue;
            }
            // S310 / claim 7: release all its MBS QoS flows, delete the TMGI, stop paging.
            for qfi in &mbs_qfis {
                session.flows.remove(qfi);
            }
            ue.associations.remove(&key);
            tracing::info!(psi, tmgi = %key, qfis = ?mbs_qfis, "MBS QFIs absent: MBS QoS flows released, TMGI deleted, paging stopped");
            done.mbs_flows += mbs_qfis.len();
            done.tmgis_deleted.push(key);
            drbs.extend(mbs_qfis);
        }

        // General case: any other QoS flow no longer listed goes with its DRB.
        let unlisted: Vec<u8> = (session.flows.keys())
            .copied()
            .filter(|q| !listed.contains(q))
            .collect();
        for qfi in &unlisted {
            session.flows.remove(qfi);
        }
        if !unlisted.is_empty() {
            tracing::info!(psi, qfis = ?unlisted, "QoS flows no longer listed: released with their DRBs");
            done.other_flows += unlisted.len();
            drbs.extend(unlisted.iter().copied());
        }
        if unlisted.contains(&DEFAULT_QFI) {
            // Lab choice: no default QoS flow, no PDU session.
            if let Some(session) = ue.sessions.remove(&psi) {
                done.other_flows += session.flows.len();
                drbs.extend(session.flows.keys().copied());
            }
            let gone: Vec<String> = (ue.associations.iter())
                .filter(|(_, a)| a.psi == psi)
                .map(|(key, _)| key.clone())
                .collect();
            for key in gone {
                ue.associations.remove(&key);
                done.tmgis_deleted.push(key);
            }
            done.sessions_released.push(psi);
            tracing::info!(psi, "default QoS flow not listed: PDU session released");
        }
        if !drbs.is_empty() {
            done.drbs_to_release.push((psi, drbs));
        }
    }
    done
}
