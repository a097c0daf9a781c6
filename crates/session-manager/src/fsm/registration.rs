//! 5GMM registration in the network (TS 24.501 §5.5.1): initial registration (SUCI, null
//! scheme → SUPI; a new 5G-GUTI), mobility and periodic registration updating (by 5G-GUTI, with
//! PDU session status and, capability on, the per-session QFI lists of the seed: release.rs),
//! then REGISTRATION ACCEPT and COMPLETE.

use std::collections::BTreeMap;
use std::time::Instant;

use corelab_nas::{
    FiveGmmCause, FiveGsMobileIdentity, NasMessage, PduSessionId, RegistrationAccept,
    RegistrationReject, RegistrationRequest, RegistrationType, Suci,
};

use super::context::{Location, MmState, UeContext};
use super::{Core, Event, ResourceAction, release_cause};
use crate::release;

/// #9 UE identity cannot be derived by the network.
const IDENTITY_NOT_DERIVED: FiveGmmCause = FiveGmmCause(9);
/// #22 Congestion.
const CONGESTION: FiveGmmCause = FiveGmmCause(22);

/// The SUPI a SUCI conceals under the null scheme (TS 33.501 §6.12.2): `imsi-<digits>`.
pub fn supi_of(suci: &Suci) -> Option<String> {
    let imsi = suci.as_imsi_suci()?.imsi()?;
    Some(format!("imsi-{imsi}"))
}

fn kind(registration_type: RegistrationType) -> &'static str {
    match registration_type {
        RegistrationType::Initial => "initial",
        RegistrationType::MobilityUpdating => "mobility",
        RegistrationType::PeriodicUpdating => "periodic",
        RegistrationType::Emergency => "emergency",
    }
}

pub(super) fn on_request(
    core: &mut Core,
    now: Instant,
    from: Location,
    request: RegistrationRequest,
) {
    let kind = kind(request.registration_type);
    let supi = match &request.identity {
        FiveGsMobileIdentity::Suci(suci) => supi_of(suci),
        FiveGsMobileIdentity::Guti(guti) => core.by_guti.get(guti).cloned(),
        FiveGsMobileIdentity::Other(_) => None,
    };
    let Some(supi) = supi else {
        tracing::info!(gnb = %from.gnb, ran_ue_id = from.ran_ue_id, kind, "REGISTRATION REQUEST of an identity the network cannot derive: #9");
        return reject(core, &from, IDENTITY_NOT_DERIVED);
    };
    let _span = tracing::info_span!("ue", supi = %supi).entered();
    let initial = matches!(
        request.registration_type,
        RegistrationType::Initial | RegistrationType::Emergency
    );
    let existing = core.take(&supi);
    let mut ue = match (existing, initial) {
        (Some(mut ue), true) => {
            // A UE that registers anew has no PDU session left (TS 24.501 §5.5.1.2.4).
            let flows: usize = ue.sessions.values().map(|s| s.flows.len()).sum();
            ue.sessions.clear();
            ue.associations.clear();
            core.released(release_cause::INITIAL_REGISTRATION, flows);
            ue.guti = core.allocate_guti();
            ue
        }
        (None, true) => {
            if core.ues.len() >= core.cfg.max_ues {
                tracing::warn!(max_ues = core.cfg.max_ues, "UE contexts full: #22");
                return reject(core, &from, CONGESTION);
            }
            UeContext {
                supi: supi.clone(),
                guti: core.allocate_guti(),
                state: MmState::RegistrationInitiated,
                location: None,
                out_of_coverage: false,
                sessions: BTreeMap::new(),
                associations: BTreeMap::new(),
                pagings: BTreeMap::new(),
                pagings_since_registration: 0,
            }
        }
        (Some(ue), false) => ue,
        (None, false) => {
            tracing::info!(kind, "registration updating of a UE without a context: #9");
            return reject(core, &from, IDENTITY_NOT_DERIVED);
        }
    };
    core.claim_location(now, &from, &supi);
    ue.location = Some(from.clone());
    ue.out_of_coverage = false;

    // PDU session status: a session the UE no longer has is released locally (§5.5.1.3.4).
    let mut resource_releases = Vec::new();
    if !initial && let Some(active) = &request.pdu_session_status {
        let gone: Vec<u8> = (ue.sessions.keys())
            .copied()
            .filter(|psi| !active.iter().any(|id| id.get() == *psi))
            .collect();
        for psi in gone {
            if let Some(session) = ue.sessions.remove(&psi) {
                ue.associations.retain(|_, a| a.psi != psi);
                core.released(release_cause::NOT_IN_SESSION_STATUS, session.flows.len());
                tracing::info!(
                    psi,
                    "PDU session absent from the PDU session status: released locally"
                );
            }
        }
    }
    // The seed: the per-session QFI lists of a mobility registration.
    if !initial
        && core.cfg.qfi_lists
        && let Some(lists) = &request.qfi_lists
    {
        let outcome = release::release_what_the_ue_no_longer_has(&mut ue, lists);
        for (cause, count) in outcome.released_by_cause() {
            core.released(cause, count);
        }
        resource_releases = outcome.drbs_to_release;
    }

    ue.state = MmState::RegistrationInitiated;
    ue.pagings_since_registration = 0;
    let pdu_session_status = match initial {
        true => None,
        false => Some(
            (ue.sessions.keys())
                .filter_map(|psi| PduSessionId::new(*psi).ok())
                .collect(),
        ),
    };
    let accept = NasMessage::RegistrationAccept(RegistrationAccept {
        guti: Some(ue.guti),
        pdu_session_status,
    });
    tracing::info!(kind, guti = %ue.guti, sessions = ue.sessions.len(), tmgis = ue.associations.len(), "REGISTRATION ACCEPT");
    core.keep(now, ue);
    for (psi, qfis) in resource_releases {
        core.resource(&from, psi, ResourceAction::Release, qfis);
    }
    core.event(Event::Registration(kind));
    core.send(&from, &accept);
}

pub(super) fn on_complete(core: &mut Core, now: Instant, from: &Location) {
    let Some(supi) = core.by_location.get(from).cloned() else {
        core.mm_status(from, FiveGmmCause::MESSAGE_TYPE_NOT_COMPATIBLE);
        return;
    };
    let Some(mut ue) = core.take(&supi) else {
        return;
    };
    if ue.state == MmState::Registered {
        core.put_back(ue);
        return;
    }
    ue.state = MmState::Registered;
    tracing::info!(supi = %supi, "REGISTRATION COMPLETE: registered");
    core.keep(now, ue);
}

fn reject(core: &mut Core, to: &Location, cause: FiveGmmCause) {
    core.event(Event::RegistrationRejected(cause.0));
    core.send(
        to,
        &NasMessage::RegistrationReject(RegistrationReject { cause }),
    );
}
