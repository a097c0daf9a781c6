//! 5GSM in the network (TS 24.501 §6.3, §6.4): PDU session establishment with its default QoS
//! flow, MBS join and leave by PDU SESSION MODIFICATION (Requested / Received MBS container,
//! §9.11.4.30/31; TS 23.247 §7.2.1), leave by PDU SESSION RELEASE, and the network-initiated
//! leave (contract §2-§6). The network applies a change when it sends the command (after the
//! store has it); COMPLETE is taken note of.

use std::collections::BTreeMap;
use std::time::Instant;

use corelab_nas::{
    FiveGsmCause, FiveGsmStatus, MbsDecision, MbsDecisionRecord, MbsOperation, MbsRejectionCause,
    NasMessage, PduSessionEstablishmentAccept, PduSessionEstablishmentReject,
    PduSessionEstablishmentRequest, PduSessionId, PduSessionModificationCommand,
    PduSessionModificationReject, PduSessionModificationRequest, PduSessionReleaseCommand,
    PduSessionReleaseRequest, PduSessionType, Pti, Qfi, QosFlowChange, QosRules, SessionAmbr,
    SscMode, Tmgi,
};

use super::context::{Location, MbsAssociation, PduSession, QosFlow, UeContext};
use super::registry::tmgi_key;
use super::{Core, NetworkLeaveError, ResourceAction, release_cause};
use crate::release::DEFAULT_QFI;

/// #31 Request rejected, unspecified: a leave of a TMGI not joined on that PDU session.
pub const LEAVE_REFUSED: FiveGsmCause = FiveGsmCause(31);
/// #65 Maximum number of PDU sessions reached.
pub const MAX_SESSIONS: FiveGsmCause = FiveGsmCause(65);

/// The default QoS rule (TS 24.501 §9.11.4.13): rule 1, create, default rule, one match-all
/// packet filter (bidirectional), precedence 255, QFI 1.
const DEFAULT_QOS_RULE: [u8; 9] = [0x01, 0x00, 0x06, 0x31, 0x31, 0x01, 0x01, 0xff, 0x01];

/// Session-AMBR of every session: 100 Mbps each way (unit 6 = 1 Mbps).
const SESSION_AMBR: SessionAmbr = SessionAmbr {
    downlink_unit: 6,
    downlink: 100,
    uplink_unit: 6,
    uplink: 100,
};

pub(super) fn on_5gsm(
    core: &mut Core,
    now: Instant,
    supi: &str,
    routed_by: PduSessionId,
    message: NasMessage,
) {
    let Some(ue) = core.take(supi) else {
        return;
    };
    let Some(from) = ue.location.clone() else {
        core.put_back(ue);
        return;
    };
    let _span = tracing::info_span!("ue", supi = %supi).entered();
    core.event(super::Event::NasIn(message.name()));
    match message {
        NasMessage::PduSessionEstablishmentRequest(request) => {
            establish(core, now, ue, &from, request)
        }
        NasMessage::PduSessionModificationRequest(request) => modify(core, now, ue, &from, request),
        NasMessage::PduSessionReleaseRequest(request) => release(core, now, ue, &from, request),
        NasMessage::PduSessionModificationComplete(complete) => {
            tracing::info!(
                psi = complete.pdu_session_id.get(),
                "PDU SESSION MODIFICATION COMPLETE"
            );
            core.put_back(ue);
        }
        NasMessage::PduSessionReleaseComplete(complete) => {
            tracing::info!(
                psi = complete.pdu_session_id.get(),
                "PDU SESSION RELEASE COMPLETE"
            );
            core.put_back(ue);
        }
        NasMessage::FiveGsmStatus(status) => {
            tracing::info!(
                psi = status.pdu_session_identity,
                cause = status.cause.0,
                "5GSM STATUS received"
            );
            core.put_back(ue);
        }
        other => {
            tracing::info!(
                message = other.name(),
                "not a 5GSM message the network takes: 5GSM STATUS #97"
            );
            core.put_back(ue);
            let status = NasMessage::FiveGsmStatus(FiveGsmStatus {
                pdu_session_identity: routed_by.get(),
                pti: Pti(0),
                cause: FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT,
            });
            core.send_sm(&from, routed_by, status);
        }
    }
}

fn establish(
    core: &mut Core,
    now: Instant,
    mut ue: UeContext,
    from: &Location,
    request: PduSessionEstablishmentRequest,
) {
    let psi = request.pdu_session_id;
    let replacing = ue.sessions.contains_key(&psi.get());
    if !replacing && ue.sessions.len() >= core.cfg.max_sessions_per_ue {
        core.put_back(ue);
        tracing::info!(psi = psi.get(), "PDU SESSION ESTABLISHMENT REJECT #65");
        let reject = NasMessage::PduSessionEstablishmentReject(PduSessionEstablishmentReject {
            pdu_session_identity: psi.get(),
            pti: request.pti,
            cause: MAX_SESSIONS,
        });
        return core.send_sm(from, psi, reject);
    }
    let mut old_qfis = Vec::new();
    if let Some(old) = ue.sessions.remove(&psi.get()) {
        // TS 24.501 §6.4.1.2: a PSI in use is released locally first.
        ue.associations.retain(|_, a| a.psi != psi.get());
        core.released(release_cause::SESSION_REPLACED, old.flows.len());
        old_qfis = old.flows.keys().copied().collect();
    }
    let five_qi = core.cfg.default_five_qi;
    let flows = BTreeMap::from([(
        DEFAULT_QFI,
        QosFlow {
            qfi: DEFAULT_QFI,
            five_qi,
            tmgi: None,
        },
    )]);
    ue.sessions.insert(
        psi.get(),
        PduSession {
            psi: psi.get(),
            flows,
        },
    );
    let Ok(default_qfi) = Qfi::new(DEFAULT_QFI) else {
        return core.put_back(ue);
    };
    let Ok(rules) = QosRules::new(DEFAULT_QOS_RULE.to_vec()) else {
        return core.put_back(ue);
    };
    let accept = NasMessage::PduSessionEstablishmentAccept(PduSessionEstablishmentAccept {
        pdu_session_id: psi,
        pti: request.pti,
        selected_pdu_session_type: request.pdu_session_type.unwrap_or(PduSessionType::Ipv4),
        selected_ssc_mode: request.ssc_mode.unwrap_or(SscMode::Ssc1),
        authorized_qos_rules: rules,
        session_ambr: SESSION_AMBR,
        qos_flow_changes: vec![QosFlowChange::Create {
            qfi: default_qfi,
            five_qi,
        }],
    });
    tracing::info!(
        psi = psi.get(),
        "PDU SESSION ESTABLISHMENT ACCEPT, default QoS flow QFI 1"
    );
    core.keep(now, ue);
    core.resource(from, psi.get(), ResourceAction::Release, old_qfis);
    core.resource(from, psi.get(), ResourceAction::Setup, vec![DEFAULT_QFI]);
    core.send_sm(from, psi, accept);
}

fn modification_reject(
    core: &mut Core,
    from: &Location,
    request: &PduSessionModificationRequest,
    cause: FiveGsmCause,
) {
    tracing::info!(
        psi = request.pdu_session_id.get(),
        cause = cause.0,
        "PDU SESSION MODIFICATION REJECT"
    );
    let reject = NasMessage::PduSessionModificationReject(PduSessionModificationReject {
        pdu_session_identity: request.pdu_session_id.get(),
        pti: request.pti,
        cause,
    });
    core.send_sm(from, request.pdu_session_id, reject);
}

fn modify(
    core: &mut Core,
    now: Instant,
    mut ue: UeContext,
    from: &Location,
    request: PduSessionModificationRequest,
) {
    let psi = request.pdu_session_id.get();
    if !ue.sessions.contains_key(&psi) {
        core.put_back(ue);
        return modification_reject(
            core,
            from,
            &request,
            FiveGsmCause::INVALID_PDU_SESSION_IDENTITY,
        );
    }
    if request.requested_mbs.is_empty() {
        // The lab modifies sessions for MBS only.
        core.put_back(ue);
        return modification_reject(
            core,
            from,
            &request,
            FiveGsmCause::SEMANTICALLY_INCORRECT_MESSAGE,
        );
    }
    // A leave of a TMGI not joined on this session refuses the whole request, changing nothing.
    for entry in &request.requested_mbs {
        if entry.operation == MbsOperation::Leave {
            let joined_here =
                (ue.associations.get(&tmgi_key(&entry.tmgi))).is_some_and(|a| a.psi == psi);
            if !joined_here {
                core.put_back(ue);
                tracing::info!(tmgi = %tmgi_key(&entry.tmgi), "leave of a TMGI not joined on this PDU session");
                return modification_reject(core, from, &request, LEAVE_REFUSED);
            }
        }
    }
    let mut records = Vec::new();
    let mut changes = Vec::new();
    let mut setup = Vec::new();
    let mut released = Vec::new();
    for entry in &request.requested_mbs {
        let key = tmgi_key(&entry.tmgi);
        match entry.operation {
            MbsOperation::Leave => {
                let qfis = leave(&mut ue, psi, &entry.tmgi);
                changes.extend(
                    qfis.iter()
                        .filter_map(|q| Qfi::new(*q).ok())
                        .map(|qfi| QosFlowChange::Delete { qfi }),
                );
                released.extend(qfis);
                tracing::info!(tmgi = %key, "MBS leave by modification");
                records.push(MbsDecisionRecord {
                    tmgi: entry.tmgi,
                    decision: MbsDecision::RemoveUe,
                    cause: Some(MbsRejectionCause::NoAdditionalInformation),
                });
            }
            MbsOperation::Join => {
                let (record, added) = join(core, &mut ue, psi, &entry.tmgi);
                for (qfi, five_qi) in &added {
                    if let Ok(qfi) = Qfi::new(*qfi) {
                        changes.push(QosFlowChange::Create {
                            qfi,
                            five_qi: *five_qi,
                        });
                    }
                    setup.push(*qfi);
                }
                records.push(record);
            }
        }
    }
    let command = NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
        pdu_session_id: request.pdu_session_id,
        pti: request.pti,
        cause: None,
        received_mbs: records,
        qos_flow_changes: changes,
    });
    core.released(release_cause::LEAVE_MODIFICATION, released.len());
    core.keep(now, ue);
    core.resource(from, psi, ResourceAction::Release, released);
    core.resource(from, psi, ResourceAction::Setup, setup);
    core.send_sm(from, request.pdu_session_id, command);
}

/// Network step 1 of the spec: decide a join of `tmgi` on PDU session `psi` and, accepted, add
/// its multicast QoS flows. Returns the Received MBS container entry and the (QFI, 5QI) added.
fn join(
    core: &mut Core,
    ue: &mut UeContext,
    psi: u8,
    tmgi: &Tmgi,
) -> (MbsDecisionRecord, Vec<(u8, u8)>) {
    let key = tmgi_key(tmgi);
    let rejected = |cause: MbsRejectionCause| MbsDecisionRecord {
        tmgi: *tmgi,
        decision: MbsDecision::JoinRejected,
        cause: Some(cause),
    };
    if let Some(association) = ue.associations.get(&key) {
        if association.psi == psi {
            tracing::info!(tmgi = %key, "join of a TMGI already joined on this session: accepted, nothing new");
            return (
                MbsDecisionRecord {
                    tmgi: *tmgi,
                    decision: MbsDecision::JoinAccepted,
                    cause: None,
                },
                Vec::new(),
            );
        }
        tracing::info!(tmgi = %key, joined_on = association.psi, "join of a TMGI joined on another session: rejected");
        return (
            rejected(MbsRejectionCause::NoAdditionalInformation),
            Vec::new(),
        );
    }
    let members = core.members_of(&key);
    let session = match core.registry.decide_join(tmgi, &ue.supi, members) {
        Ok(session) => session.clone(),
        Err(refusal) => {
            tracing::info!(tmgi = %key, ?refusal, "MBS join rejected");
            return (rejected(refusal.cause()), Vec::new());
        }
    };
    let Some(pdu_session) = ue.sessions.get_mut(&psi) else {
        return (rejected(MbsRejectionCause::ContextNotFound), Vec::new());
    };
    if session
        .flows
        .iter()
        .any(|(qfi, _)| pdu_session.flows.contains_key(&qfi.get()))
    {
        tracing::info!(tmgi = %key, "MBS QFIs clash with the PDU session's flows: rejected");
        return (
            rejected(MbsRejectionCause::InsufficientResources),
            Vec::new(),
        );
    }
    let mut added = Vec::new();
    for (qfi, five_qi) in &session.flows {
        pdu_session.flows.insert(
            qfi.get(),
            QosFlow {
                qfi: qfi.get(),
                five_qi: *five_qi,
                tmgi: Some(*tmgi),
            },
        );
        added.push((qfi.get(), *five_qi));
    }
    ue.associations.insert(
        key.clone(),
        MbsAssociation {
            tmgi: *tmgi,
            psi,
            path_up: true,
        },
    );
    tracing::info!(tmgi = %key, psi, qfis = ?added, "MBS join accepted");
    (
        MbsDecisionRecord {
            tmgi: *tmgi,
            decision: MbsDecision::JoinAccepted,
            cause: None,
        },
        added,
    )
}

/// Remove the MBS QoS flows of `tmgi` from session `psi` and the association; the QFIs removed.
fn leave(ue: &mut UeContext, psi: u8, tmgi: &Tmgi) -> Vec<u8> {
    ue.associations.remove(&tmgi_key(tmgi));
    let Some(session) = ue.sessions.get_mut(&psi) else {
        return Vec::new();
    };
    let qfis = session.mbs_qfis(tmgi);
    for qfi in &qfis {
        session.flows.remove(qfi);
    }
    qfis
}

fn release(
    core: &mut Core,
    now: Instant,
    mut ue: UeContext,
    from: &Location,
    request: PduSessionReleaseRequest,
) {
    let psi = request.pdu_session_id;
    let Some(session) = ue.sessions.remove(&psi.get()) else {
        core.put_back(ue);
        tracing::info!(
            psi = psi.get(),
            "release of an unknown PDU session: 5GSM STATUS #43"
        );
        let status = NasMessage::FiveGsmStatus(FiveGsmStatus {
            pdu_session_identity: psi.get(),
            pti: request.pti,
            cause: FiveGsmCause::INVALID_PDU_SESSION_IDENTITY,
        });
        return core.send_sm(from, psi, status);
    };
    let left: Vec<String> = (ue.associations.iter())
        .filter(|(_, a)| a.psi == psi.get())
        .map(|(key, _)| key.clone())
        .collect();
    ue.associations.retain(|_, a| a.psi != psi.get());
    let qfis: Vec<u8> = session.flows.keys().copied().collect();
    tracing::info!(psi = psi.get(), tmgis = ?left, "PDU SESSION RELEASE COMMAND");
    core.released(release_cause::SESSION_RELEASE, qfis.len());
    let command = NasMessage::PduSessionReleaseCommand(PduSessionReleaseCommand {
        pdu_session_id: psi,
        pti: request.pti,
        cause: FiveGsmCause::REGULAR_DEACTIVATION,
    });
    core.keep(now, ue);
    core.resource(from, psi.get(), ResourceAction::Release, qfis);
    core.send_sm(from, psi, command);
}

/// Contract §6: the operator removes `supi` from `tmgi`: MODIFICATION COMMAND (PTI 0) with the
/// Received MBS container "remove UE" + cause and the QoS flow deletions, and the DRB release.
pub(super) fn network_leave(
    core: &mut Core,
    now: Instant,
    supi: &str,
    tmgi: &Tmgi,
    cause: MbsRejectionCause,
) -> Result<(), NetworkLeaveError> {
    let key = tmgi_key(tmgi);
    let Some(mut ue) = core.take(supi) else {
        return Err(NetworkLeaveError::UnknownUe(supi.to_string()));
    };
    let Some(association) = ue.associations.get(&key).cloned() else {
        core.put_back(ue);
        return Err(NetworkLeaveError::NotJoined {
            supi: supi.to_string(),
            tmgi: key,
        });
    };
    let _span = tracing::info_span!("ue", supi = %supi).entered();
    let psi = association.psi;
    let qfis = leave(&mut ue, psi, tmgi);
    let location = ue.location.clone();
    core.released(release_cause::NETWORK_LEAVE, qfis.len());
    tracing::info!(tmgi = %key, psi, ?qfis, "network-initiated MBS leave");
    core.keep(now, ue);
    let (Some(from), Ok(psi_id)) = (location, PduSessionId::new(psi)) else {
        return Ok(());
    };
    let command = NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
        pdu_session_id: psi_id,
        pti: Pti(0),
        cause: None,
        received_mbs: vec![MbsDecisionRecord {
            tmgi: *tmgi,
            decision: MbsDecision::RemoveUe,
            cause: Some(cause),
        }],
        qos_flow_changes: qfis
            .iter()
            .filter_map(|q| Qfi::new(*q).ok())
            .map(|qfi| QosFlowChange::Delete { qfi })
            .collect(),
    });
    core.resource(&from, psi, ResourceAction::Release, qfis);
    core.send_sm(&from, psi_id, command);
    Ok(())
}
