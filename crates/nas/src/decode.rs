//! Reading a plain NAS-5GS PDU with the error handling of TS 24.501 clause 7.
//!
//! The codec (`oxirush-nas`) does the octet-level part: an unknown message type is refused
//! (§7.4), a missing or syntactically incorrect mandatory IE is refused (§7.5), an unknown IE is
//! kept aside (§7.6.1), a repeated IE keeps its first occurrence and an out-of-sequence IE is
//! ignored (§7.6.2, §7.6.3), an optional IE that is not one of its type is ignored (§7.7.1).
//! This module adds what a receiver decides: an unknown IE encoded as "comprehension required"
//! is an invalid mandatory IE (§7.5.1, cause #96), an unassigned PDU session identity or PTI in a
//! request is rejected (§7.3), a security-protected PDU is refused (plain NAS only), and it
//! turns each refusal into the cause and the answer to send.

use oxirush_nas::nas_5gs::{
    self as codec, Direction, Nas5gmmMessage, Nas5gsMessage, Nas5gsmMessage, NasFGsMobileIdentity,
    NasFGsmCause, NasPduSessionModificationReject, RequestedMbsSessionId,
};

use crate::establishment::{
    PduSessionEstablishmentAccept, PduSessionEstablishmentReject, PduSessionEstablishmentRequest,
    QosRules, SessionAmbr, establishment_reject,
};
use crate::message::{
    DlNasTransport, PduSessionModificationComplete, PduSessionModificationReject,
    PduSessionReleaseCommand, PduSessionReleaseComplete, PduSessionReleaseRequest,
    RegistrationReject, UlNasTransport,
};
use crate::message::{
    FiveGmmStatus, FiveGsMobileIdentity, FiveGsmStatus, NasMessage, PduSessionModificationCommand,
    PduSessionModificationRequest, RegistrationAccept, RegistrationRequest, RegistrationType,
};
use crate::qfi_lists::{PduSessionQfiLists, QFI_LISTS_IEI};
use crate::types::{
    FiveGmmCause, FiveGsmCause, MbsDecision, MbsDecisionRecord, MbsOperation, MbsRequest,
    PduSessionId, Pti, Qfi, QosFlowChange, Tmgi,
};

/// A PDU the receiver does not process: why (for the log line), the cause, and the answer that
/// TS 24.501 clause 7 asks for (`None`: the message is ignored without an answer, e.g. one too
/// short to have a message type, §7.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// What is wrong, for the log line.
    pub reason: String,
    /// The answer to send: 5GMM STATUS, 5GSM STATUS, or the reject of the request.
    pub answer: Option<Box<NasMessage>>,
}

impl Rejection {
    /// The 5GMM cause of the answer, when it is a 5GMM message.
    pub fn five_gmm_cause(&self) -> Option<FiveGmmCause> {
        match self.answer.as_deref() {
            Some(NasMessage::FiveGmmStatus(status)) => Some(status.cause),
            _ => None,
        }
    }

    /// The 5GSM cause of the answer, when it is a 5GSM message.
    pub fn five_gsm_cause(&self) -> Option<FiveGsmCause> {
        self.answer.as_deref().and_then(gsm_cause_of_answer)
    }
}

fn gsm_cause_of_answer(answer: &NasMessage) -> Option<FiveGsmCause> {
    match answer {
        NasMessage::FiveGsmStatus(status) => Some(status.cause),
        NasMessage::Other(message) => gsm_cause_of(message),
        NasMessage::PduSessionModificationReject(reject) => Some(reject.cause),
        NasMessage::PduSessionEstablishmentReject(reject) => Some(reject.cause),
        NasMessage::DlNasTransport(DlNasTransport { n1_sm, .. })
        | NasMessage::UlNasTransport(UlNasTransport { n1_sm, .. }) => gsm_cause_of_answer(n1_sm),
        _ => None,
    }
}

fn gsm_cause_of(message: &Nas5gsMessage) -> Option<FiveGsmCause> {
    let Nas5gsMessage::Gsm(_, message) = message else {
        return None;
    };
    let cause = match message {
        Nas5gsmMessage::FiveGsmStatus(m) => &m.fgsm_cause,
        Nas5gsmMessage::PduSessionModificationReject(m) => &m.fgsm_cause,
        Nas5gsmMessage::PduSessionEstablishmentReject(m) => &m.fgsm_cause,
        Nas5gsmMessage::PduSessionReleaseReject(m) => &m.fgsm_cause,
        _ => return None,
    };
    Some(FiveGsmCause(cause.cause_raw()))
}

/// Decode the plain NAS PDU `octets`, received in `direction` (the network receives
/// [`Direction::Uplink`]). A refusal carries the cause and the answer of TS 24.501 clause 7.
pub fn decode(octets: &[u8], direction: Direction) -> Result<NasMessage, Rejection> {
    let received = Nas5gsMessage::decode(octets);
    let answer = Nas5gsMessage::answer_to(octets, &received, direction);
    let message = match received {
        Err(error) => {
            return Err(Rejection {
                reason: error.to_string(),
                answer: answer
                    .map(wrap)
                    .or_else(|| reserved_pti_reject(octets, direction))
                    .map(Box::new),
            });
        }
        Ok(message) => message,
    };
    if let Some(answer) = answer {
        let iei = (message.unknown_ies().iter())
            .find(|ie| ie.is_comprehension_required())
            .map_or(0, |ie| ie.iei);
        return Err(Rejection {
            reason: format!(
                "unknown IE {iei:#04x} encoded as \"comprehension required\" (TS 24.501 §7.5.1)"
            ),
            answer: Some(Box::new(wrap(answer))),
        });
    }
    match message {
        Nas5gsMessage::Gmm(_, message) => from_gmm(message, direction),
        Nas5gsMessage::Gsm(header, message) => from_gsm(header, message, direction),
        _ => Err(Rejection {
            reason: "a security-protected NAS message: corelab-nas reads plain NAS only".into(),
            answer: None,
        }),
    }
}

/// §7.3.1: a PDU SESSION ESTABLISHMENT, MODIFICATION or RELEASE REQUEST from the UE with the
/// reserved PTI 255 is rejected with #81 "invalid PTI value". The codec refuses the header and
/// gives no answer (docs/nas.md, gap 1), so the reject is built here from the raw header.
fn reserved_pti_reject(octets: &[u8], direction: Direction) -> Option<NasMessage> {
    let &[0x2e, psi, 255, kind, ..] = octets else {
        return None;
    };
    if direction != Direction::Uplink || psi > 15 {
        return None;
    }
    let cause = NasFGsmCause::new(81);
    let reject: Nas5gsmMessage = match kind {
        0xc1 => establishment_reject(cause),
        0xc9 => NasPduSessionModificationReject::new(cause).into(),
        0xd1 => codec::NasPduSessionReleaseReject::new(cause).into(),
        _ => return None,
    };
    Some(NasMessage::Other(Box::new(Nas5gsMessage::new_5gsm(
        reject, psi, 255,
    ))))
}

/// The codec's message as ours: the messages this crate wraps by their type, any other as
/// [`NasMessage::Other`].
fn wrap(message: Nas5gsMessage) -> NasMessage {
    match message {
        Nas5gsMessage::Gmm(_, message) => from_gmm(message.clone(), Direction::Downlink)
            .unwrap_or_else(|_| NasMessage::Other(Box::new(Nas5gsMessage::new_5gmm(message)))),
        Nas5gsMessage::Gsm(header, message) => {
            from_gsm(header, message.clone(), Direction::Downlink).unwrap_or_else(|_| {
                NasMessage::Other(Box::new(Nas5gsMessage::Gsm(header, message)))
            })
        }
        other => NasMessage::Other(Box::new(other)),
    }
}

fn sessions(ids: Vec<u8>) -> Vec<PduSessionId> {
    ids.into_iter()
        .filter_map(|id| PduSessionId::new(id).ok())
        .collect()
}

fn identity(ie: &NasFGsMobileIdentity) -> FiveGsMobileIdentity {
    if let Some(guti) = ie.as_guti() {
        FiveGsMobileIdentity::Guti(guti)
    } else if let Some(suci) = ie.as_suci() {
        FiveGsMobileIdentity::Suci(suci)
    } else {
        FiveGsMobileIdentity::Other(ie.value.to_vec())
    }
}

/// The 5GSM message of a UL or DL NAS TRANSPORT whose payload is N1 SM information of a PDU
/// session: decoded with clause 7 like any message. Its refusal's answer goes back in the
/// transport of the other direction, on the same PDU session (§5.4.5, §7). `None`: not a 5GSM
/// payload of a PDU session, which stays `NasMessage::Other`.
fn n1_sm_of(
    kind: Option<codec::PayloadContainerKind>,
    psi: Option<&codec::NasPduSessionIdentity2>,
    payload: &[u8],
    direction: Direction,
) -> Option<Result<(PduSessionId, NasMessage), Rejection>> {
    if kind != Some(codec::PayloadContainerKind::N1SmInformation) || payload.first() != Some(&0x2e)
    {
        return None;
    }
    let pdu_session_id = PduSessionId::new(psi?.pdu_session_id()).ok()?;
    Some(match decode(payload, direction) {
        Ok(inner) => Ok((pdu_session_id, inner)),
        Err(rejection) => Err(Rejection {
            reason: format!("the 5GSM message of a NAS transport: {}", rejection.reason),
            answer: rejection.answer.map(|n1_sm| {
                Box::new(match direction {
                    Direction::Uplink => NasMessage::DlNasTransport(DlNasTransport {
                        pdu_session_id,
                        n1_sm,
                    }),
                    Direction::Downlink => NasMessage::UlNasTransport(UlNasTransport {
                        pdu_session_id,
                        n1_sm,
                    }),
                })
            }),
        }),
    })
}

/// A UL/DL NAS TRANSPORT: the 5GSM message it carries (`wrap`ped), or the transport as it came
/// (`other`) when it carries something else.
fn carried(
    n1_sm: Option<Result<(PduSessionId, NasMessage), Rejection>>,
    wrap: impl FnOnce(PduSessionId, Box<NasMessage>) -> NasMessage,
    other: impl FnOnce() -> Nas5gmmMessage,
) -> Result<NasMessage, Rejection> {
    match n1_sm {
        Some(Ok((pdu_session_id, inner))) => Ok(wrap(pdu_session_id, Box::new(inner))),
        Some(Err(rejection)) => Err(rejection),
        None => Ok(NasMessage::Other(Box::new(
            Nas5gsMessage::new_5gmm(other()),
        ))),
    }
}

fn from_gmm(message: Nas5gmmMessage, direction: Direction) -> Result<NasMessage, Rejection> {
    Ok(match message {
        Nas5gmmMessage::UlNasTransport(t) => carried(
            n1_sm_of(
                t.payload_container_type.kind(),
                t.pdu_session_id.as_ref(),
                &t.payload_container.value,
                direction,
            ),
            |pdu_session_id, n1_sm| {
                NasMessage::UlNasTransport(UlNasTransport {
                    pdu_session_id,
                    n1_sm,
                })
            },
            || Nas5gmmMessage::UlNasTransport(t),
        )?,
        Nas5gmmMessage::DlNasTransport(t) => carried(
            n1_sm_of(
                t.payload_container_type.kind(),
                t.pdu_session_id.as_ref(),
                &t.payload_container.value,
                direction,
            ),
            |pdu_session_id, n1_sm| {
                NasMessage::DlNasTransport(DlNasTransport {
                    pdu_session_id,
                    n1_sm,
                })
            },
            || Nas5gmmMessage::DlNasTransport(t),
        )?,
        Nas5gmmMessage::RegistrationReject(reject) => {
            NasMessage::RegistrationReject(RegistrationReject {
                cause: FiveGmmCause(reject.fgmm_cause.cause_raw()),
            })
        }
        Nas5gmmMessage::RegistrationRequest(request) => {
            // §9.11.3.7: an unused value received by the network means initial registration.
            let registration_type = match request.fgs_registration_type.registration_type() {
                Some(codec::RegistrationType::MobilityRegistrationUpdating) => {
                    RegistrationType::MobilityUpdating
                }
                Some(codec::RegistrationType::PeriodicRegistrationUpdating) => {
                    RegistrationType::PeriodicUpdating
                }
                Some(codec::RegistrationType::EmergencyRegistration) => RegistrationType::Emergency,
                _ => RegistrationType::Initial,
            };
            let ksi = request.ngksi.value & 0x07;
            // The first well-formed occurrence only (§7.6.3); a malformed one is ignored (§7.7.1).
            let qfi_lists = (request.unknown_ies.iter())
                .find(|ie| ie.iei == QFI_LISTS_IEI)
                .and_then(|ie| {
                    let contents = ie.data.get(2..)?;
                    let length = u16::from_be_bytes([*ie.data.first()?, *ie.data.get(1)?]);
                    (usize::from(length) == contents.len()).then_some(contents)
                })
                .and_then(|contents| PduSessionQfiLists::decode_contents(contents).ok());
            NasMessage::RegistrationRequest(RegistrationRequest {
                registration_type,
                follow_on_request: request.fgs_registration_type.follow_on_request(),
                ngksi: (ksi != 7).then_some(ksi),
                identity: identity(&request.fgs_mobile_identity),
                pdu_session_status: (request.pdu_session_status.as_ref())
                    .map(|ie| sessions(ie.active_sessions())),
                uplink_data_status: (request.uplink_data_status.as_ref())
                    .map(|ie| sessions(ie.sessions_with_data())),
                qfi_lists,
            })
        }
        Nas5gmmMessage::RegistrationAccept(accept) => {
            NasMessage::RegistrationAccept(RegistrationAccept {
                guti: accept.fg_guti.as_ref().and_then(|ie| ie.as_guti()),
                pdu_session_status: (accept.pdu_session_status.as_ref())
                    .map(|ie| sessions(ie.active_sessions())),
            })
        }
        Nas5gmmMessage::RegistrationComplete(_) => NasMessage::RegistrationComplete,
        Nas5gmmMessage::FiveGmmStatus(status) => NasMessage::FiveGmmStatus(FiveGmmStatus {
            cause: FiveGmmCause(status.fgmm_cause.cause_raw()),
        }),
        other => NasMessage::Other(Box::new(Nas5gsMessage::new_5gmm(other))),
    })
}

/// The creates (with a 5QI) and deletes of a QoS flow descriptions IE. A malformed IE is
/// ignored as an optional IE is (§7.7.1).
fn qos_flow_changes(ie: Option<&codec::NasQosFlowDescriptions>) -> Vec<QosFlowChange> {
    let descriptions = ie.and_then(|ie| ie.try_descriptions()).unwrap_or_default();
    descriptions
        .into_iter()
        .filter_map(|description| {
            let qfi = Qfi::new(description.qfi).ok()?;
            match description.op_code {
                codec::QosFlowOpCode::Create => {
                    let five_qi = description.params.iter().find_map(|param| match param {
                        // 0 and 255 are reserved (TS 24.501 §9.11.4.12): not a 5QI.
                        codec::QosFlowParameter::FiveQi(five_qi @ 1..=254) => Some(*five_qi),
                        _ => None,
                    })?;
                    Some(QosFlowChange::Create { qfi, five_qi })
                }
                codec::QosFlowOpCode::Delete => Some(QosFlowChange::Delete { qfi }),
                _ => None,
            }
        })
        .collect()
}

/// The PDU session of a 5GSM message that must have one; §7.3.2: one without is ignored.
fn session_of(psi: u8, message: &str) -> Result<PduSessionId, Rejection> {
    PduSessionId::new(psi).map_err(|_| Rejection {
        reason: format!("{message} with unassigned PDU session identity {psi} (TS 24.501 §7.3.2)"),
        answer: None,
    })
}

/// §7.3.1 / §7.3.2: a PDU SESSION ESTABLISHMENT, MODIFICATION or RELEASE REQUEST from the UE
/// with a PTI that is not one of the UE's (1 to 127) is rejected with #81 "invalid PTI value",
/// one without a PDU session identity with #43, in the request's own reject (`reject`).
fn ue_request_session(
    psi: u8,
    pti: Pti,
    direction: Direction,
    reject: fn(NasFGsmCause) -> Nas5gsmMessage,
) -> Result<PduSessionId, Rejection> {
    let refuse = |cause: FiveGsmCause, reason: String| Rejection {
        reason,
        answer: Some(Box::new(NasMessage::Other(Box::new(
            Nas5gsMessage::new_5gsm(reject(NasFGsmCause::new(cause.0)), psi, pti.0),
        )))),
    };
    if direction == Direction::Uplink && !(1..=127).contains(&pti.0) {
        return Err(refuse(
            FiveGsmCause(81),
            format!("PTI {} is not one of the UE's (TS 24.501 §7.3.1)", pti.0),
        ));
    }
    PduSessionId::new(psi).map_err(|_| {
        refuse(
            FiveGsmCause::INVALID_PDU_SESSION_IDENTITY,
            format!("PDU session identity {psi} is unassigned (TS 24.501 §7.3.2)"),
        )
    })
}

/// §7.5.1: a mandatory IE whose value the receiver cannot take (a reserved PDU session type or
/// SSC mode) is invalid mandatory information, answered by a 5GSM STATUS #96.
fn invalid_mandatory(psi: u8, pti: Pti, what: &str) -> Rejection {
    Rejection {
        reason: format!("{what} (TS 24.501 §7.5.1)"),
        answer: Some(Box::new(NasMessage::FiveGsmStatus(FiveGsmStatus {
            pdu_session_identity: psi,
            pti,
            cause: FiveGsmCause::INVALID_MANDATORY_INFORMATION,
        }))),
    }
}

fn from_gsm(
    header: codec::Nas5gsmHeader,
    message: Nas5gsmMessage,
    direction: Direction,
) -> Result<NasMessage, Rejection> {
    let psi = header.pdu_session_identity;
    let pti = Pti(header.procedure_transaction_identity);
    match message {
        Nas5gsmMessage::PduSessionEstablishmentRequest(request) => {
            let pdu_session_id = ue_request_session(psi, pti, direction, establishment_reject)?;
            Ok(NasMessage::PduSessionEstablishmentRequest(
                PduSessionEstablishmentRequest {
                    pdu_session_id,
                    pti,
                    integrity_protection_maximum_data_rate: [
                        request.integrity_protection_maximum_data_rate.ul_raw(),
                        request.integrity_protection_maximum_data_rate.dl_raw(),
                    ],
                    // An optional IE with a value outside the type is ignored (§7.7.1).
                    pdu_session_type: (request.pdu_session_type.as_ref())
                        .and_then(|ie| ie.session_type()),
                    ssc_mode: request.ssc_mode.as_ref().and_then(|ie| ie.mode()),
                },
            ))
        }
        Nas5gsmMessage::PduSessionEstablishmentAccept(accept) => {
            let pdu_session_id = session_of(psi, "PDU SESSION ESTABLISHMENT ACCEPT")?;
            // §9.11.4.11 / §9.11.4.16: unused values read as IPv4v6 and SSC modes 1 to 3; only
            // the reserved ones are left, and the codec checks the lengths (§7.5).
            let selected_pdu_session_type = (accept.selected_pdu_session_type.session_type())
                .ok_or_else(|| invalid_mandatory(psi, pti, "reserved selected PDU session type"))?;
            let selected_ssc_mode = (accept.selected_ssc_mode.mode())
                .ok_or_else(|| invalid_mandatory(psi, pti, "reserved selected SSC mode"))?;
            let authorized_qos_rules = QosRules::new(accept.authorized_qos_rules.value.to_vec())
                .map_err(|error| invalid_mandatory(psi, pti, &error.to_string()))?;
            let session_ambr = SessionAmbr::from_codec(&accept.session_ambr)
                .ok_or_else(|| invalid_mandatory(psi, pti, "session-AMBR not of 6 octets"))?;
            Ok(NasMessage::PduSessionEstablishmentAccept(
                PduSessionEstablishmentAccept {
                    pdu_session_id,
                    pti,
                    selected_pdu_session_type,
                    selected_ssc_mode,
                    authorized_qos_rules,
                    session_ambr,
                    qos_flow_changes: qos_flow_changes(
                        accept.authorized_qos_flow_descriptions.as_ref(),
                    ),
                },
            ))
        }
        Nas5gsmMessage::PduSessionEstablishmentReject(reject) => Ok(
            NasMessage::PduSessionEstablishmentReject(PduSessionEstablishmentReject {
                pdu_session_identity: psi,
                pti,
                cause: FiveGsmCause(reject.fgsm_cause.cause_raw()),
            }),
        ),
        Nas5gsmMessage::PduSessionModificationRequest(request) => {
            let pdu_session_id = ue_request_session(psi, pti, direction, |cause| {
                NasPduSessionModificationReject::new(cause).into()
            })?;
            let requested_mbs = (request.requested_mbs_container.as_ref())
                .and_then(|ie| ie.try_sessions())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|entry| {
                    let RequestedMbsSessionId::Tmgi(tmgi) = entry.session_id else {
                        return None;
                    };
                    let operation = match entry.operation {
                        codec::RequestedMbsOperation::Join => MbsOperation::Join,
                        _ => MbsOperation::Leave,
                    };
                    Some(MbsRequest {
                        operation,
                        tmgi: Tmgi::from_codec(&tmgi),
                    })
                })
                .collect();
            Ok(NasMessage::PduSessionModificationRequest(
                PduSessionModificationRequest {
                    pdu_session_id,
                    pti,
                    cause: (request.fgsm_cause.as_ref()).map(|c| FiveGsmCause(c.cause_raw())),
                    requested_mbs,
                    qos_flow_changes: qos_flow_changes(
                        request.requested_qos_flow_descriptions.as_ref(),
                    ),
                },
            ))
        }
        Nas5gsmMessage::PduSessionModificationCommand(command) => {
            let Ok(pdu_session_id) = PduSessionId::new(psi) else {
                // §7.3.2: the UE ignores a command without a PDU session identity.
                return Err(Rejection {
                    reason: format!("PDU session identity {psi} is unassigned (TS 24.501 §7.3.2)"),
                    answer: None,
                });
            };
            let received_mbs = (command.received_mbs_container.as_ref())
                .and_then(|ie| ie.try_sessions())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|entry| {
                    let decision = match entry.decision {
                        codec::MbsDecision::JoinAccepted => MbsDecision::JoinAccepted,
                        codec::MbsDecision::JoinRejected => MbsDecision::JoinRejected,
                        codec::MbsDecision::RemoveUe => MbsDecision::RemoveUe,
                        codec::MbsDecision::ServiceAreaUpdate => MbsDecision::ServiceAreaUpdate,
                        codec::MbsDecision::SecurityInformationUpdate => {
                            MbsDecision::SecurityInformationUpdate
                        }
                        _ => return None,
                    };
                    Some(MbsDecisionRecord {
                        tmgi: Tmgi::from_codec(&entry.tmgi),
                        decision,
                        cause: entry.rejection_cause,
                    })
                })
                .collect();
            Ok(NasMessage::PduSessionModificationCommand(
                PduSessionModificationCommand {
                    pdu_session_id,
                    pti,
                    cause: (command.fgsm_cause.as_ref()).map(|c| FiveGsmCause(c.cause_raw())),
                    received_mbs,
                    qos_flow_changes: qos_flow_changes(
                        command.authorized_qos_flow_descriptions.as_ref(),
                    ),
                },
            ))
        }
        Nas5gsmMessage::PduSessionModificationReject(reject) => Ok(
            NasMessage::PduSessionModificationReject(PduSessionModificationReject {
                pdu_session_identity: psi,
                pti,
                cause: FiveGsmCause(reject.fgsm_cause.cause_raw()),
            }),
        ),
        Nas5gsmMessage::PduSessionModificationComplete(_) => {
            let pdu_session_id = session_of(psi, "PDU SESSION MODIFICATION COMPLETE")?;
            Ok(NasMessage::PduSessionModificationComplete(
                PduSessionModificationComplete {
                    pdu_session_id,
                    pti,
                },
            ))
        }
        Nas5gsmMessage::PduSessionReleaseRequest(request) => {
            let pdu_session_id = ue_request_session(psi, pti, direction, |cause| {
                codec::NasPduSessionReleaseReject::new(cause).into()
            })?;
            Ok(NasMessage::PduSessionReleaseRequest(
                PduSessionReleaseRequest {
                    pdu_session_id,
                    pti,
                    cause: (request.fgsm_cause.as_ref()).map(|c| FiveGsmCause(c.cause_raw())),
                },
            ))
        }
        Nas5gsmMessage::PduSessionReleaseCommand(command) => {
            let pdu_session_id = session_of(psi, "PDU SESSION RELEASE COMMAND")?;
            Ok(NasMessage::PduSessionReleaseCommand(
                PduSessionReleaseCommand {
                    pdu_session_id,
                    pti,
                    cause: FiveGsmCause(command.fgsm_cause.cause_raw()),
                },
            ))
        }
        Nas5gsmMessage::PduSessionReleaseComplete(_) => {
            let pdu_session_id = session_of(psi, "PDU SESSION RELEASE COMPLETE")?;
            Ok(NasMessage::PduSessionReleaseComplete(
                PduSessionReleaseComplete {
                    pdu_session_id,
                    pti,
                },
            ))
        }
        Nas5gsmMessage::FiveGsmStatus(status) => Ok(NasMessage::FiveGsmStatus(FiveGsmStatus {
            pdu_session_identity: psi,
            pti,
            cause: FiveGsmCause(status.fgsm_cause.cause_raw()),
        })),
        other => Ok(NasMessage::Other(Box::new(Nas5gsMessage::Gsm(
            header, other,
        )))),
    }
}
