//! The NAS messages of the lab in the standard's words, and their encoding through
//! `oxirush-nas` (TS 24.501 §8). Decoding is in `decode.rs`.

use oxirush_nas::nas_5gs::{
    self as codec, Nas5gsMessage, NasDlNasTransport, NasFGmmCause, NasFGmmStatus,
    NasFGsMobileIdentity, NasFGsRegistrationResult, NasFGsRegistrationType, NasFGsmCause,
    NasFGsmStatus, NasKeySetIdentifier, NasPayloadContainer, NasPayloadContainerType,
    NasPduSessionIdentity2, NasPduSessionModificationCommand, NasPduSessionModificationComplete,
    NasPduSessionModificationReject, NasPduSessionModificationRequest, NasPduSessionReleaseCommand,
    NasPduSessionReleaseComplete, NasPduSessionReleaseRequest, NasPduSessionStatus,
    NasReceivedMbsContainer, NasRegistrationAccept, NasRegistrationComplete, NasRegistrationReject,
    NasRegistrationRequest, NasRequestedMbsContainer, NasUlNasTransport, NasUplinkDataStatus,
    PayloadContainerKind, ReceivedMbsSession, RegistrationResult, RequestedMbsSession,
    RequestedMbsSessionId,
};

use crate::establishment::{
    PduSessionEstablishmentAccept, PduSessionEstablishmentReject, PduSessionEstablishmentRequest,
};
use crate::qfi_lists::{PduSessionQfiLists, QFI_LISTS_IEI};
use crate::types::{
    FiveGmmCause, FiveGsmCause, MbsDecision, MbsDecisionRecord, MbsOperation, MbsRequest,
    PduSessionId, Pti, QosFlowChange,
};
use crate::{Guti, Suci};

/// A message that cannot be written: a value its IE cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {message}: {reason}")]
pub struct EncodeError {
    /// The message.
    pub message: &'static str,
    /// What its IE refused.
    pub reason: String,
}

/// 5GS registration type (TS 24.501 §9.11.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationType {
    /// Initial registration.
    Initial,
    /// Mobility registration updating: the UE is back in coverage or in a new tracking area.
    MobilityUpdating,
    /// Periodic registration updating.
    PeriodicUpdating,
    /// Emergency registration.
    Emergency,
}

/// 5GS mobile identity of a REGISTRATION REQUEST (TS 24.501 §9.11.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FiveGsMobileIdentity {
    /// SUCI (initial registration without a 5G-GUTI).
    Suci(Suci),
    /// 5G-GUTI.
    Guti(Guti),
    /// Another identity type (IMEI, 5G-S-TMSI, ...), its contents as they came.
    Other(Vec<u8>),
}

/// REGISTRATION REQUEST (TS 24.501 §8.2.6), with the lab's per-session QFI lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// Initial, mobility updating, periodic, emergency.
    pub registration_type: RegistrationType,
    /// The follow-on request pending bit (FOR).
    pub follow_on_request: bool,
    /// NAS key set identifier, 0-6; `None` is "no key is available" (7).
    pub ngksi: Option<u8>,
    /// SUCI or 5G-GUTI.
    pub identity: FiveGsMobileIdentity,
    /// PDU session status (IEI 0x50): the PDU sessions active in the UE.
    pub pdu_session_status: Option<Vec<PduSessionId>>,
    /// Uplink data status (IEI 0x40): the PDU sessions with pending uplink data.
    pub uplink_data_status: Option<Vec<PduSessionId>>,
    /// The lab's extension (IEI [`QFI_LISTS_IEI`], placed last): for each PDU session, the QFIs
    /// of its remaining QoS flows. `None` when the capability is off.
    pub qfi_lists: Option<PduSessionQfiLists>,
}

/// REGISTRATION ACCEPT (TS 24.501 §8.2.7), 3GPP access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationAccept {
    /// The 5G-GUTI assigned (IEI 0x77).
    pub guti: Option<Guti>,
    /// PDU session status (IEI 0x50): the sessions active in the network.
    pub pdu_session_status: Option<Vec<PduSessionId>>,
}

/// PDU SESSION MODIFICATION REQUEST (TS 24.501 §8.3.7), UE to network: MBS join or leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSessionModificationRequest {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The UE's procedure transaction.
    pub pti: Pti,
    /// 5GSM cause (IEI 0x59), e.g. when the UE asks to release QoS flows.
    pub cause: Option<FiveGsmCause>,
    /// Requested MBS container (IEI 0x70): join or leave, by TMGI.
    pub requested_mbs: Vec<MbsRequest>,
    /// Requested QoS flow descriptions (IEI 0x79), e.g. the MBS QoS flows to delete.
    pub qos_flow_changes: Vec<QosFlowChange>,
}

/// PDU SESSION MODIFICATION COMMAND (TS 24.501 §8.3.9), network to UE: the MBS decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PduSessionModificationCommand {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The PTI of the request it answers, or 0 for a network-initiated one.
    pub pti: Pti,
    /// 5GSM cause (IEI 0x59).
    pub cause: Option<FiveGsmCause>,
    /// Received MBS container (IEI 0x71): the decision per TMGI.
    pub received_mbs: Vec<MbsDecisionRecord>,
    /// Authorized QoS flow descriptions (IEI 0x79): the MBS QoS flows added or deleted.
    pub qos_flow_changes: Vec<QosFlowChange>,
}

/// 5GMM STATUS (TS 24.501 §8.2.29).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiveGmmStatus {
    /// Why.
    pub cause: FiveGmmCause,
}

/// 5GSM STATUS (TS 24.501 §8.3.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiveGsmStatus {
    /// The PDU session identity of the message it answers, as that message had it (it may be
    /// 0 or reserved, which is why this is not a [`PduSessionId`]).
    pub pdu_session_identity: u8,
    /// The PTI of the message it answers.
    pub pti: Pti,
    /// Why.
    pub cause: FiveGsmCause,
}

/// REGISTRATION REJECT (TS 24.501 §8.2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationReject {
    /// Why.
    pub cause: FiveGmmCause,
}

/// UL NAS TRANSPORT (TS 24.501 §8.2.10) carrying a 5GSM message (payload container type "N1 SM
/// information") of a PDU session.
#[derive(Debug, Clone, PartialEq)]
pub struct UlNasTransport {
    /// The PDU session the AMF routes the 5GSM message by (IEI 0x12).
    pub pdu_session_id: PduSessionId,
    /// The 5GSM message.
    pub n1_sm: Box<NasMessage>,
}

/// DL NAS TRANSPORT (TS 24.501 §8.2.11) carrying a 5GSM message of a PDU session.
#[derive(Debug, Clone, PartialEq)]
pub struct DlNasTransport {
    /// The PDU session (IEI 0x12).
    pub pdu_session_id: PduSessionId,
    /// The 5GSM message.
    pub n1_sm: Box<NasMessage>,
}

/// PDU SESSION MODIFICATION REJECT (TS 24.501 §8.3.8): the network refuses a modification (an
/// MBS leave it does not allow, a request it cannot read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionModificationReject {
    /// The PDU session identity of the request, as it came (0 when it had none, §7.3.2).
    pub pdu_session_identity: u8,
    /// The PTI of the request.
    pub pti: Pti,
    /// Why.
    pub cause: FiveGsmCause,
}

/// PDU SESSION MODIFICATION COMPLETE (TS 24.501 §8.3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionModificationComplete {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The PTI of the command.
    pub pti: Pti,
}

/// PDU SESSION RELEASE REQUEST (TS 24.501 §8.3.12): leave an MBS session joined on a new PDU
/// session by releasing the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionReleaseRequest {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The UE's procedure transaction.
    pub pti: Pti,
    /// 5GSM cause (IEI 0x59), e.g. #36 regular deactivation.
    pub cause: Option<FiveGsmCause>,
}

/// PDU SESSION RELEASE COMMAND (TS 24.501 §8.3.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionReleaseCommand {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The PTI of the request, or 0 for a network-initiated release.
    pub pti: Pti,
    /// Why.
    pub cause: FiveGsmCause,
}

/// PDU SESSION RELEASE COMPLETE (TS 24.501 §8.3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PduSessionReleaseComplete {
    /// The PDU session.
    pub pdu_session_id: PduSessionId,
    /// The PTI of the command.
    pub pti: Pti,
}

/// A plain NAS-5GS message as the lab's nodes see it.
#[derive(Debug, Clone, PartialEq)]
pub enum NasMessage {
    /// REGISTRATION REQUEST.
    RegistrationRequest(RegistrationRequest),
    /// REGISTRATION ACCEPT.
    RegistrationAccept(RegistrationAccept),
    /// REGISTRATION COMPLETE (TS 24.501 §8.2.8).
    RegistrationComplete,
    /// REGISTRATION REJECT.
    RegistrationReject(RegistrationReject),
    /// UL NAS TRANSPORT with a 5GSM message.
    UlNasTransport(UlNasTransport),
    /// DL NAS TRANSPORT with a 5GSM message.
    DlNasTransport(DlNasTransport),
    /// PDU SESSION ESTABLISHMENT REQUEST.
    PduSessionEstablishmentRequest(PduSessionEstablishmentRequest),
    /// PDU SESSION ESTABLISHMENT ACCEPT.
    PduSessionEstablishmentAccept(PduSessionEstablishmentAccept),
    /// PDU SESSION ESTABLISHMENT REJECT.
    PduSessionEstablishmentReject(PduSessionEstablishmentReject),
    /// PDU SESSION MODIFICATION REQUEST.
    PduSessionModificationRequest(PduSessionModificationRequest),
    /// PDU SESSION MODIFICATION COMMAND.
    PduSessionModificationCommand(PduSessionModificationCommand),
    /// PDU SESSION MODIFICATION REJECT.
    PduSessionModificationReject(PduSessionModificationReject),
    /// PDU SESSION MODIFICATION COMPLETE.
    PduSessionModificationComplete(PduSessionModificationComplete),
    /// PDU SESSION RELEASE REQUEST.
    PduSessionReleaseRequest(PduSessionReleaseRequest),
    /// PDU SESSION RELEASE COMMAND.
    PduSessionReleaseCommand(PduSessionReleaseCommand),
    /// PDU SESSION RELEASE COMPLETE.
    PduSessionReleaseComplete(PduSessionReleaseComplete),
    /// 5GMM STATUS.
    FiveGmmStatus(FiveGmmStatus),
    /// 5GSM STATUS.
    FiveGsmStatus(FiveGsmStatus),
    /// A message of TS 24.501 that this crate does not wrap yet, as the codec decoded it; it
    /// encodes back to its octets.
    Other(Box<Nas5gsMessage>),
}

/// QoS flow descriptions (TS 24.501 §9.11.4.12): a create carries the E bit and the 5QI, a
/// delete neither.
pub(crate) fn qos_flow_descriptions(
    changes: &[QosFlowChange],
) -> Result<codec::NasQosFlowDescriptions, codec::ValueError> {
    let descriptions: Vec<codec::QosFlowDescription> = changes
        .iter()
        .map(|change| match *change {
            QosFlowChange::Create { qfi, five_qi } => codec::QosFlowDescription::new(
                qfi.get(),
                codec::QosFlowOpCode::Create,
                true,
                vec![codec::QosFlowParameter::FiveQi(five_qi)],
            ),
            QosFlowChange::Delete { qfi } => codec::QosFlowDescription::new(
                qfi.get(),
                codec::QosFlowOpCode::Delete,
                false,
                Vec::new(),
            ),
        })
        .collect();
    codec::NasQosFlowDescriptions::from_descriptions(&descriptions)
}

fn n1_sm_information() -> NasPayloadContainerType {
    NasPayloadContainerType::from_kind(PayloadContainerKind::N1SmInformation)
}

fn session_list(ids: &[PduSessionId]) -> Vec<u8> {
    ids.iter().map(|id| id.get()).collect()
}

pub(crate) fn refused(message: &'static str) -> impl Fn(codec::ValueError) -> EncodeError {
    move |error| EncodeError {
        message,
        reason: error.to_string(),
    }
}

impl RegistrationRequest {
    fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        const NAME: &str = "REGISTRATION REQUEST";
        let kind = match self.registration_type {
            RegistrationType::Initial => codec::RegistrationType::InitialRegistration,
            RegistrationType::MobilityUpdating => {
                codec::RegistrationType::MobilityRegistrationUpdating
            }
            RegistrationType::PeriodicUpdating => {
                codec::RegistrationType::PeriodicRegistrationUpdating
            }
            RegistrationType::Emergency => codec::RegistrationType::EmergencyRegistration,
        };
        let kind = NasFGsRegistrationType::from_registration_type(kind)
            .with_follow_on_request(self.follow_on_request);
        let ngksi = match self.ngksi {
            Some(ksi @ 0..=6) => ksi,
            Some(other) => {
                return Err(EncodeError {
                    message: NAME,
                    reason: format!("ngKSI {other} is not 0 to 6"),
                });
            }
            None => 7,
        };
        let identity = match &self.identity {
            FiveGsMobileIdentity::Suci(suci) => {
                NasFGsMobileIdentity::from_suci(suci).map_err(refused(NAME))?
            }
            FiveGsMobileIdentity::Guti(guti) => NasFGsMobileIdentity::from_guti(*guti),
            FiveGsMobileIdentity::Other(octets) => NasFGsMobileIdentity::new(octets.clone()),
        };
        let mut request =
            NasRegistrationRequest::new(kind, NasKeySetIdentifier::new(ngksi), identity);
        if let Some(ids) = &self.uplink_data_status {
            let ie =
                NasUplinkDataStatus::from_sessions(&session_list(ids)).map_err(refused(NAME))?;
            request.set_uplink_data_status(ie);
        }
        if let Some(ids) = &self.pdu_session_status {
            let ie =
                NasPduSessionStatus::from_sessions(&session_list(ids)).map_err(refused(NAME))?;
            request.set_pdu_session_status(ie);
        }
        if let Some(lists) = &self.qfi_lists {
            // An IE the codec's table has no place for is written after the table's IEs: last.
            let ie = lists.encode_ie().map_err(|error| EncodeError {
                message: NAME,
                reason: error.to_string(),
            })?;
            request.unknown_ies.push(QFI_LISTS_IEI, &ie[1..]);
        }
        Ok(Nas5gsMessage::new_5gmm(request))
    }
}

impl RegistrationAccept {
    fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        let result = NasFGsRegistrationResult::from_result(RegistrationResult::ThreeGppAccess);
        let mut accept = NasRegistrationAccept::new(result);
        if let Some(guti) = self.guti {
            accept.set_fg_guti(NasFGsMobileIdentity::from_guti(guti));
        }
        if let Some(ids) = &self.pdu_session_status {
            let ie = NasPduSessionStatus::from_sessions(&session_list(ids))
                .map_err(refused("REGISTRATION ACCEPT"))?;
            accept.set_pdu_session_status(ie);
        }
        Ok(Nas5gsMessage::new_5gmm(accept))
    }
}

impl PduSessionModificationRequest {
    fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        let mut request = NasPduSessionModificationRequest::new();
        if let Some(cause) = self.cause {
            request.set_fgsm_cause(NasFGsmCause::new(cause.0));
        }
        if !self.requested_mbs.is_empty() {
            let records: Vec<RequestedMbsSession> = (self.requested_mbs.iter())
                .map(|entry| {
                    let operation = match entry.operation {
                        MbsOperation::Join => codec::RequestedMbsOperation::Join,
                        MbsOperation::Leave => codec::RequestedMbsOperation::Leave,
                    };
                    let id = RequestedMbsSessionId::Tmgi(entry.tmgi.to_codec());
                    RequestedMbsSession::new(operation, id)
                })
                .collect();
            let container = NasRequestedMbsContainer::try_from_sessions(&records)
                .map_err(refused("PDU SESSION MODIFICATION REQUEST"))?;
            request.set_requested_mbs_container(container);
        }
        if !self.qos_flow_changes.is_empty() {
            let ie = qos_flow_descriptions(&self.qos_flow_changes)
                .map_err(refused("PDU SESSION MODIFICATION REQUEST"))?;
            request.set_requested_qos_flow_descriptions(ie);
        }
        Ok(Nas5gsMessage::new_5gsm(
            request,
            self.pdu_session_id.get(),
            self.pti.0,
        ))
    }
}

impl PduSessionModificationCommand {
    fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        let mut command = NasPduSessionModificationCommand::new();
        if let Some(cause) = self.cause {
            command.set_fgsm_cause(NasFGsmCause::new(cause.0));
        }
        if !self.received_mbs.is_empty() {
            let records: Vec<ReceivedMbsSession> = (self.received_mbs.iter())
                .map(|entry| {
                    let decision = match entry.decision {
                        MbsDecision::JoinAccepted => codec::MbsDecision::JoinAccepted,
                        MbsDecision::JoinRejected => codec::MbsDecision::JoinRejected,
                        MbsDecision::RemoveUe => codec::MbsDecision::RemoveUe,
                        MbsDecision::ServiceAreaUpdate => codec::MbsDecision::ServiceAreaUpdate,
                        MbsDecision::SecurityInformationUpdate => {
                            codec::MbsDecision::SecurityInformationUpdate
                        }
                    };
                    let tmgi = entry.tmgi.to_codec();
                    ReceivedMbsSession::new(
                        decision,
                        entry.cause,
                        tmgi,
                        None,
                        None,
                        None,
                        None,
                        Vec::new(),
                    )
                })
                .collect();
            let container = NasReceivedMbsContainer::try_from_sessions(&records)
                .map_err(refused("PDU SESSION MODIFICATION COMMAND"))?;
            command.set_received_mbs_container(container);
        }
        if !self.qos_flow_changes.is_empty() {
            let ie = qos_flow_descriptions(&self.qos_flow_changes)
                .map_err(refused("PDU SESSION MODIFICATION COMMAND"))?;
            command.set_authorized_qos_flow_descriptions(ie);
        }
        Ok(Nas5gsMessage::new_5gsm(
            command,
            self.pdu_session_id.get(),
            self.pti.0,
        ))
    }
}

impl NasMessage {
    /// The message as the codec holds it.
    pub fn to_codec(&self) -> Result<Nas5gsMessage, EncodeError> {
        Ok(match self {
            Self::RegistrationRequest(request) => request.to_codec()?,
            Self::RegistrationAccept(accept) => accept.to_codec()?,
            Self::RegistrationComplete => Nas5gsMessage::new_5gmm(NasRegistrationComplete::new()),
            Self::PduSessionEstablishmentRequest(request) => request.to_codec(),
            Self::PduSessionEstablishmentAccept(accept) => accept.to_codec()?,
            Self::PduSessionEstablishmentReject(reject) => reject.to_codec(),
            Self::PduSessionModificationRequest(request) => request.to_codec()?,
            Self::PduSessionModificationCommand(command) => command.to_codec()?,
            Self::RegistrationReject(reject) => Nas5gsMessage::new_5gmm(
                NasRegistrationReject::new(NasFGmmCause::new(reject.cause.0)),
            ),
            Self::UlNasTransport(transport) => {
                let container = self.n1_sm_container(&transport.n1_sm)?;
                let transport = NasUlNasTransport::new(n1_sm_information(), container)
                    .with_pdu_session_id(NasPduSessionIdentity2::from_pdu_session_id(
                        transport.pdu_session_id.get(),
                    ));
                Nas5gsMessage::new_5gmm(transport)
            }
            Self::DlNasTransport(transport) => {
                let container = self.n1_sm_container(&transport.n1_sm)?;
                let transport = NasDlNasTransport::new(n1_sm_information(), container)
                    .with_pdu_session_id(NasPduSessionIdentity2::from_pdu_session_id(
                        transport.pdu_session_id.get(),
                    ));
                Nas5gsMessage::new_5gmm(transport)
            }
            Self::PduSessionModificationReject(reject) => Nas5gsMessage::new_5gsm(
                NasPduSessionModificationReject::new(NasFGsmCause::new(reject.cause.0)),
                reject.pdu_session_identity,
                reject.pti.0,
            ),
            Self::PduSessionModificationComplete(complete) => Nas5gsMessage::new_5gsm(
                NasPduSessionModificationComplete::new(),
                complete.pdu_session_id.get(),
                complete.pti.0,
            ),
            Self::PduSessionReleaseRequest(request) => {
                let mut message = NasPduSessionReleaseRequest::new();
                if let Some(cause) = request.cause {
                    message.set_fgsm_cause(NasFGsmCause::new(cause.0));
                }
                Nas5gsMessage::new_5gsm(message, request.pdu_session_id.get(), request.pti.0)
            }
            Self::PduSessionReleaseCommand(command) => Nas5gsMessage::new_5gsm(
                NasPduSessionReleaseCommand::new(NasFGsmCause::new(command.cause.0)),
                command.pdu_session_id.get(),
                command.pti.0,
            ),
            Self::PduSessionReleaseComplete(complete) => Nas5gsMessage::new_5gsm(
                NasPduSessionReleaseComplete::new(),
                complete.pdu_session_id.get(),
                complete.pti.0,
            ),
            Self::FiveGmmStatus(status) => {
                Nas5gsMessage::new_5gmm(NasFGmmStatus::new(NasFGmmCause::new(status.cause.0)))
            }
            Self::FiveGsmStatus(status) => Nas5gsMessage::new_5gsm(
                NasFGsmStatus::new(NasFGsmCause::new(status.cause.0)),
                status.pdu_session_identity,
                status.pti.0,
            ),
            Self::Other(message) => (**message).clone(),
        })
    }

    /// The octets of the plain NAS message (TS 24.501 §8, §9). Like the codec, it writes any
    /// value its types hold, reserved ones included (PTI 255, a 5GSM STATUS without a PDU
    /// session), so that the UE emulator can send the bad messages of negative tests; [`decode`]
    /// refuses them.
    ///
    /// [`decode`]: crate::decode
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let message = self.to_codec()?;
        message.encode().map_err(|error| EncodeError {
            message: self.name(),
            reason: error.to_string(),
        })
    }

    /// The payload container of a NAS transport: the 5GSM message `n1_sm`'s octets.
    fn n1_sm_container(&self, n1_sm: &NasMessage) -> Result<NasPayloadContainer, EncodeError> {
        let inner = n1_sm.to_codec()?;
        if !matches!(inner, Nas5gsMessage::Gsm(..)) {
            return Err(EncodeError {
                message: self.name(),
                reason: format!("{} is not a 5GSM message", n1_sm.name()),
            });
        }
        NasPayloadContainer::from_n1_sm_message(&inner).map_err(|error| EncodeError {
            message: self.name(),
            reason: error.to_string(),
        })
    }

    /// The message's name in TS 24.501, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegistrationRequest(_) => "REGISTRATION REQUEST",
            Self::RegistrationAccept(_) => "REGISTRATION ACCEPT",
            Self::RegistrationComplete => "REGISTRATION COMPLETE",
            Self::PduSessionEstablishmentRequest(_) => "PDU SESSION ESTABLISHMENT REQUEST",
            Self::PduSessionEstablishmentAccept(_) => "PDU SESSION ESTABLISHMENT ACCEPT",
            Self::PduSessionEstablishmentReject(_) => "PDU SESSION ESTABLISHMENT REJECT",
            Self::PduSessionModificationRequest(_) => "PDU SESSION MODIFICATION REQUEST",
            Self::PduSessionModificationCommand(_) => "PDU SESSION MODIFICATION COMMAND",
            Self::RegistrationReject(_) => "REGISTRATION REJECT",
            Self::UlNasTransport(_) => "UL NAS TRANSPORT",
            Self::DlNasTransport(_) => "DL NAS TRANSPORT",
            Self::PduSessionModificationReject(_) => "PDU SESSION MODIFICATION REJECT",
            Self::PduSessionModificationComplete(_) => "PDU SESSION MODIFICATION COMPLETE",
            Self::PduSessionReleaseRequest(_) => "PDU SESSION RELEASE REQUEST",
            Self::PduSessionReleaseCommand(_) => "PDU SESSION RELEASE COMMAND",
            Self::PduSessionReleaseComplete(_) => "PDU SESSION RELEASE COMPLETE",
            Self::FiveGmmStatus(_) => "5GMM STATUS",
            Self::FiveGsmStatus(_) => "5GSM STATUS",
            Self::Other(_) => "another NAS message",
        }
    }
}
