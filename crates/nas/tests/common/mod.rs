//! One message of each kind the crate wraps, built in the standard's words: what the
//! independent-decoder and round-trip tests encode.
#![allow(dead_code)]

use corelab_nas::*;

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

pub fn psi(value: u8) -> PduSessionId {
    PduSessionId::new(value).unwrap()
}

pub fn qfi(value: u8) -> Qfi {
    Qfi::new(value).unwrap()
}

pub fn plmn() -> Plmn {
    Plmn::new("208", "93").unwrap()
}

pub fn guti() -> Guti {
    Guti::new(plmn(), 0xca, 0x3fe, 0, 0x1122_3344).unwrap()
}

pub fn tmgi() -> Tmgi {
    Tmgi::new(0x00_0102, Some(plmn())).unwrap()
}

/// The seed's mobility registration: PDU session 5 kept QFI 1 (its unicast flow) and dropped
/// MBS QFI 2; PDU session 6 keeps QFIs 1 and 3.
pub fn mobility_registration() -> NasMessage {
    NasMessage::RegistrationRequest(RegistrationRequest {
        registration_type: RegistrationType::MobilityUpdating,
        follow_on_request: false,
        ngksi: None,
        identity: FiveGsMobileIdentity::Guti(guti()),
        pdu_session_status: Some(vec![psi(5), psi(6)]),
        uplink_data_status: Some(vec![psi(5)]),
        qfi_lists: Some(PduSessionQfiLists(vec![
            (psi(5), vec![qfi(1)]),
            (psi(6), vec![qfi(1), qfi(3)]),
        ])),
    })
}

/// The UE joins the MBS session of [`tmgi`] on PDU session 5 (reused).
pub fn join_request() -> NasMessage {
    NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
        qos_flow_changes: Vec::new(),
        pdu_session_id: psi(5),
        pti: Pti(1),
        cause: None,
        requested_mbs: vec![MbsRequest {
            operation: MbsOperation::Join,
            tmgi: tmgi(),
        }],
    })
}

/// The network accepts PDU session 5 (IPv4, SSC mode 1) with one default QoS rule (rule 1,
/// create, DQR, one match-all packet filter, precedence 255, QFI 1), a session-AMBR of
/// 100 Mbps down / 50 Mbps up and the QoS flow 1 with 5QI 9.
pub fn establishment_accept() -> NasMessage {
    NasMessage::PduSessionEstablishmentAccept(PduSessionEstablishmentAccept {
        pdu_session_id: psi(5),
        pti: Pti(1),
        selected_pdu_session_type: PduSessionType::Ipv4,
        selected_ssc_mode: SscMode::Ssc1,
        authorized_qos_rules: QosRules::new(hex("01000631310101ff01")).unwrap(),
        session_ambr: SessionAmbr {
            downlink_unit: 6,
            downlink: 100,
            uplink_unit: 6,
            uplink: 50,
        },
        qos_flow_changes: vec![QosFlowChange::Create {
            qfi: qfi(1),
            five_qi: 9,
        }],
    })
}

/// Every sample, by a name for the failure messages, and whether its octets carry an MBS
/// container (whose inside pycrate lays out differently from TS 24.501, specs/mbs-mobility.md).
pub fn samples() -> Vec<(&'static str, NasMessage, bool)> {
    let suci = {
        let octets = [
            0x01, 0x02, 0xf8, 0x39, 0xf0, 0xff, 0x00, 0x00, 0x00, 0x00, 0x10, 0x32,
        ];
        let ie = oxirush_nas_identity(&octets);
        FiveGsMobileIdentity::Suci(ie)
    };
    vec![
        (
            "mobility registration with QFI lists",
            mobility_registration(),
            false,
        ),
        (
            "mobility registration, capability off",
            NasMessage::RegistrationRequest(RegistrationRequest {
                registration_type: RegistrationType::MobilityUpdating,
                follow_on_request: true,
                ngksi: Some(1),
                identity: FiveGsMobileIdentity::Guti(guti()),
                pdu_session_status: Some(vec![psi(5)]),
                uplink_data_status: None,
                qfi_lists: None,
            }),
            false,
        ),
        (
            "initial registration with SUCI",
            NasMessage::RegistrationRequest(RegistrationRequest {
                registration_type: RegistrationType::Initial,
                follow_on_request: true,
                ngksi: None,
                identity: suci,
                pdu_session_status: None,
                uplink_data_status: None,
                qfi_lists: None,
            }),
            false,
        ),
        (
            "registration accept",
            NasMessage::RegistrationAccept(RegistrationAccept {
                guti: Some(guti()),
                pdu_session_status: Some(vec![psi(5), psi(6)]),
            }),
            false,
        ),
        (
            "registration complete",
            NasMessage::RegistrationComplete,
            false,
        ),
        ("MBS join request", join_request(), true),
        (
            "MBS leave request",
            NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
                qos_flow_changes: vec![QosFlowChange::Delete { qfi: qfi(2) }],
                pdu_session_id: psi(5),
                pti: Pti(2),
                cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
                requested_mbs: vec![MbsRequest {
                    operation: MbsOperation::Leave,
                    tmgi: Tmgi::new(0xabcdef, None).unwrap(),
                }],
            }),
            true,
        ),
        (
            "MBS join accepted",
            NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
                qos_flow_changes: vec![QosFlowChange::Create {
                    qfi: qfi(2),
                    five_qi: 79,
                }],
                pdu_session_id: psi(5),
                pti: Pti(1),
                cause: None,
                received_mbs: vec![MbsDecisionRecord {
                    tmgi: tmgi(),
                    decision: MbsDecision::JoinAccepted,
                    cause: None,
                }],
            }),
            true,
        ),
        (
            "MBS join rejected",
            NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
                qos_flow_changes: Vec::new(),
                pdu_session_id: psi(5),
                pti: Pti(1),
                cause: None,
                received_mbs: vec![MbsDecisionRecord {
                    tmgi: tmgi(),
                    decision: MbsDecision::JoinRejected,
                    cause: Some(MbsRejectionCause::NotAuthorized),
                }],
            }),
            true,
        ),
        (
            "network-initiated leave",
            NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
                qos_flow_changes: Vec::new(),
                pdu_session_id: psi(6),
                pti: Pti(0),
                cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
                received_mbs: vec![MbsDecisionRecord {
                    tmgi: tmgi(),
                    decision: MbsDecision::RemoveUe,
                    cause: Some(MbsRejectionCause::SessionReleased),
                }],
            }),
            true,
        ),
        (
            "MBS QoS flow released by the network",
            NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
                qos_flow_changes: vec![QosFlowChange::Delete { qfi: qfi(2) }],
                pdu_session_id: psi(5),
                pti: Pti(0),
                cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
                received_mbs: vec![],
            }),
            false,
        ),
        (
            "registration reject #111",
            NasMessage::RegistrationReject(RegistrationReject {
                cause: FiveGmmCause::PROTOCOL_ERROR_UNSPECIFIED,
            }),
            false,
        ),
        (
            "MBS join request in UL NAS TRANSPORT",
            NasMessage::UlNasTransport(UlNasTransport {
                pdu_session_id: psi(5),
                n1_sm: Box::new(join_request()),
            }),
            true,
        ),
        (
            "MBS join accepted in DL NAS TRANSPORT",
            NasMessage::DlNasTransport(DlNasTransport {
                pdu_session_id: psi(5),
                n1_sm: Box::new(NasMessage::PduSessionModificationCommand(
                    PduSessionModificationCommand {
                        qos_flow_changes: Vec::new(),
                        pdu_session_id: psi(5),
                        pti: Pti(1),
                        cause: None,
                        received_mbs: vec![MbsDecisionRecord {
                            tmgi: tmgi(),
                            decision: MbsDecision::JoinAccepted,
                            cause: None,
                        }],
                    },
                )),
            }),
            true,
        ),
        (
            "MBS leave rejected",
            NasMessage::PduSessionModificationReject(PduSessionModificationReject {
                pdu_session_identity: 5,
                pti: Pti(2),
                cause: FiveGsmCause::SEMANTICALLY_INCORRECT_MESSAGE,
            }),
            false,
        ),
        (
            "modification complete",
            NasMessage::PduSessionModificationComplete(PduSessionModificationComplete {
                pdu_session_id: psi(5),
                pti: Pti(1),
            }),
            false,
        ),
        (
            "leave by release request",
            NasMessage::PduSessionReleaseRequest(PduSessionReleaseRequest {
                pdu_session_id: psi(7),
                pti: Pti(4),
                cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
            }),
            false,
        ),
        (
            "release command",
            NasMessage::PduSessionReleaseCommand(PduSessionReleaseCommand {
                pdu_session_id: psi(7),
                pti: Pti(4),
                cause: FiveGsmCause::REGULAR_DEACTIVATION,
            }),
            false,
        ),
        (
            "release complete",
            NasMessage::PduSessionReleaseComplete(PduSessionReleaseComplete {
                pdu_session_id: psi(7),
                pti: Pti(4),
            }),
            false,
        ),
        (
            "establishment request",
            NasMessage::PduSessionEstablishmentRequest(PduSessionEstablishmentRequest {
                pdu_session_id: psi(5),
                pti: Pti(1),
                integrity_protection_maximum_data_rate: [0xff, 0xff],
                pdu_session_type: Some(PduSessionType::Ipv4),
                ssc_mode: Some(SscMode::Ssc1),
            }),
            false,
        ),
        ("establishment accept", establishment_accept(), false),
        (
            "establishment reject #26",
            NasMessage::PduSessionEstablishmentReject(PduSessionEstablishmentReject {
                pdu_session_identity: 5,
                pti: Pti(1),
                cause: FiveGsmCause::INSUFFICIENT_RESOURCES,
            }),
            false,
        ),
        (
            "5GMM STATUS #96",
            NasMessage::FiveGmmStatus(FiveGmmStatus {
                cause: FiveGmmCause::INVALID_MANDATORY_INFORMATION,
            }),
            false,
        ),
        (
            "5GSM STATUS #97",
            NasMessage::FiveGsmStatus(FiveGsmStatus {
                pdu_session_identity: 5,
                pti: Pti(3),
                cause: FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT,
            }),
            false,
        ),
    ]
}

/// A SUCI from its octets of TS 24.501 figure 9.11.3.4.3 (IMSI, null scheme).
fn oxirush_nas_identity(octets: &[u8]) -> Suci {
    match corelab_nas::decode(
        &[
            &[0x7e, 0x00, 0x41, 0x09, 0x00, octets.len() as u8][..],
            octets,
        ]
        .concat(),
        Direction::Uplink,
    ) {
        Ok(NasMessage::RegistrationRequest(RegistrationRequest {
            identity: FiveGsMobileIdentity::Suci(suci),
            ..
        })) => suci,
        other => panic!("SUCI sample does not decode: {other:?}"),
    }
}
