//! Every message the crate wraps encodes and decodes back to itself: the samples, then
//! arbitrary messages (proptest).

mod common;

use common::*;
use corelab_nas::*;
use proptest::prelude::*;

#[test]
fn every_sample_round_trips_through_its_octets() {
    for (name, message, _) in samples() {
        let octets = message.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = decode(&octets, Direction::Uplink)
            .or_else(|_| decode(&octets, Direction::Downlink))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(back, message, "{name}");
        assert_eq!(back.encode().unwrap(), octets, "{name}");
    }
}

#[test]
fn reserved_pti_255_is_written_for_negative_tests_and_refused_on_receipt() {
    let status = NasMessage::FiveGsmStatus(FiveGsmStatus {
        pdu_session_identity: 5,
        pti: Pti(255),
        cause: FiveGsmCause::PROTOCOL_ERROR_UNSPECIFIED,
    });
    let octets = status.encode().unwrap();
    assert_eq!(octets, [0x2e, 0x05, 0xff, 0xd6, 0x6f]);
    assert!(decode(&octets, Direction::Uplink).is_err());
}

#[test]
fn qfi_lists_ie_is_placed_last_in_the_registration_request() {
    let octets = mobility_registration().encode().unwrap();
    let tail = [0x7c, 0x00, 0x07, 0x05, 0x01, 0x01, 0x06, 0x02, 0x01, 0x03];
    assert!(octets.ends_with(&tail), "{octets:02x?}");
}

fn arb_psi() -> impl Strategy<Value = PduSessionId> {
    (1u8..=15).prop_map(|v| PduSessionId::new(v).unwrap())
}

fn arb_sessions() -> impl Strategy<Value = Vec<PduSessionId>> {
    proptest::collection::btree_set(1u8..=15, 0..=15).prop_map(|set| {
        set.into_iter()
            .map(|v| PduSessionId::new(v).unwrap())
            .collect()
    })
}

fn arb_tmgi() -> impl Strategy<Value = Tmgi> {
    (0u32..=0xff_ffff, any::<bool>()).prop_map(|(id, with_plmn)| {
        Tmgi::new(id, with_plmn.then(|| Plmn::new("001", "01").unwrap())).unwrap()
    })
}

fn arb_qfi_lists() -> impl Strategy<Value = PduSessionQfiLists> {
    proptest::collection::btree_map(
        1u8..=15,
        proptest::collection::vec((1u8..=63).prop_map(|q| Qfi::new(q).unwrap()), 0..8),
        0..6,
    )
    .prop_map(|map| {
        PduSessionQfiLists(
            map.into_iter()
                .map(|(psi, qfis)| (PduSessionId::new(psi).unwrap(), qfis))
                .collect(),
        )
    })
}

fn arb_registration() -> impl Strategy<Value = NasMessage> {
    (
        prop_oneof![
            Just(RegistrationType::Initial),
            Just(RegistrationType::MobilityUpdating),
            Just(RegistrationType::PeriodicUpdating),
            Just(RegistrationType::Emergency),
        ],
        any::<bool>(),
        proptest::option::of(0u8..=6),
        proptest::option::of(arb_sessions()),
        proptest::option::of(arb_sessions()),
        proptest::option::of(arb_qfi_lists()),
        any::<u32>(),
    )
        .prop_map(|(kind, fr, ksi, status, uplink, lists, tmsi)| {
            NasMessage::RegistrationRequest(RegistrationRequest {
                registration_type: kind,
                follow_on_request: fr,
                ngksi: ksi,
                identity: FiveGsMobileIdentity::Guti(Guti::new(plmn(), 1, 2, 3, tmsi).unwrap()),
                pdu_session_status: status,
                uplink_data_status: uplink,
                qfi_lists: lists,
            })
        })
}

fn arb_qos_flow_changes() -> impl Strategy<Value = Vec<QosFlowChange>> {
    proptest::collection::vec(
        (1u8..=63, proptest::option::of(1u8..=254)).prop_map(|(q, five_qi)| {
            let qfi = Qfi::new(q).unwrap();
            match five_qi {
                Some(five_qi) => QosFlowChange::Create { qfi, five_qi },
                None => QosFlowChange::Delete { qfi },
            }
        }),
        0..4,
    )
}

fn arb_modification_request() -> impl Strategy<Value = NasMessage> {
    (
        arb_psi(),
        1u8..=127,
        proptest::option::of(any::<u8>().prop_map(FiveGsmCause)),
        proptest::collection::vec(
            (any::<bool>(), arb_tmgi()).prop_map(|(join, tmgi)| MbsRequest {
                operation: if join {
                    MbsOperation::Join
                } else {
                    MbsOperation::Leave
                },
                tmgi,
            }),
            0..4,
        ),
        arb_qos_flow_changes(),
    )
        .prop_map(|(psi, pti, cause, requested_mbs, qos_flow_changes)| {
            NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
                qos_flow_changes,
                pdu_session_id: psi,
                pti: Pti(pti),
                cause,
                requested_mbs,
            })
        })
}

fn arb_decision() -> impl Strategy<Value = MbsDecisionRecord> {
    (arb_tmgi(), 0u8..5, 0u8..7).prop_map(|(tmgi, decision, cause)| {
        let causes = [
            MbsRejectionCause::NoAdditionalInformation,
            MbsRejectionCause::InsufficientResources,
            MbsRejectionCause::NotAuthorized,
            MbsRejectionCause::SessionNotStarted,
            MbsRejectionCause::OutsideServiceArea,
            MbsRejectionCause::ContextNotFound,
            MbsRejectionCause::SessionReleased,
        ];
        let (decision, cause) = match decision {
            0 => (MbsDecision::JoinAccepted, None),
            1 => (MbsDecision::JoinRejected, Some(causes[usize::from(cause)])),
            2 => (MbsDecision::RemoveUe, Some(causes[usize::from(cause)])),
            3 => (MbsDecision::ServiceAreaUpdate, None),
            _ => (MbsDecision::SecurityInformationUpdate, None),
        };
        MbsDecisionRecord {
            tmgi,
            decision,
            cause,
        }
    })
}

fn arb_modification_command() -> impl Strategy<Value = NasMessage> {
    (
        arb_psi(),
        0u8..=254,
        proptest::option::of(any::<u8>().prop_map(FiveGsmCause)),
        proptest::collection::vec(arb_decision(), 0..4),
        arb_qos_flow_changes(),
    )
        .prop_map(|(psi, pti, cause, received_mbs, qos_flow_changes)| {
            NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
                qos_flow_changes,
                pdu_session_id: psi,
                pti: Pti(pti),
                cause,
                received_mbs,
            })
        })
}

fn arb_session_management() -> impl Strategy<Value = NasMessage> {
    (arb_psi(), 1u8..=127, any::<u8>(), any::<bool>()).prop_flat_map(|(psi, pti, cause, with)| {
        let (pti, cause5) = (Pti(pti), FiveGsmCause(cause));
        prop_oneof![
            Just(NasMessage::PduSessionModificationReject(
                PduSessionModificationReject {
                    pdu_session_identity: psi.get(),
                    pti,
                    cause: cause5,
                }
            )),
            Just(NasMessage::PduSessionModificationComplete(
                PduSessionModificationComplete {
                    pdu_session_id: psi,
                    pti,
                }
            )),
            Just(NasMessage::PduSessionReleaseRequest(
                PduSessionReleaseRequest {
                    pdu_session_id: psi,
                    pti,
                    cause: with.then_some(cause5),
                }
            )),
            Just(NasMessage::PduSessionReleaseCommand(
                PduSessionReleaseCommand {
                    pdu_session_id: psi,
                    pti,
                    cause: cause5,
                }
            )),
            Just(NasMessage::PduSessionReleaseComplete(
                PduSessionReleaseComplete {
                    pdu_session_id: psi,
                    pti,
                }
            )),
            Just(NasMessage::RegistrationReject(RegistrationReject {
                cause: FiveGmmCause(cause),
            })),
        ]
    })
}

fn arb_establishment() -> impl Strategy<Value = NasMessage> {
    let session_type = prop_oneof![
        Just(PduSessionType::Ipv4),
        Just(PduSessionType::Ipv6),
        Just(PduSessionType::Ipv4v6),
        Just(PduSessionType::Unstructured),
        Just(PduSessionType::Ethernet),
    ];
    let ssc_mode = prop_oneof![
        Just(SscMode::Ssc1),
        Just(SscMode::Ssc2),
        Just(SscMode::Ssc3)
    ];
    let rate = prop_oneof![Just(0x00u8), Just(0x01), Just(0xff)];
    let request = (
        arb_psi(),
        1u8..=127,
        [rate.clone(), rate],
        proptest::option::of(session_type.clone()),
        proptest::option::of(ssc_mode.clone()),
    )
        .prop_map(|(psi, pti, rate, kind, mode)| {
            NasMessage::PduSessionEstablishmentRequest(PduSessionEstablishmentRequest {
                pdu_session_id: psi,
                pti: Pti(pti),
                integrity_protection_maximum_data_rate: rate,
                pdu_session_type: kind,
                ssc_mode: mode,
            })
        });
    let accept = (
        (arb_psi(), 0u8..=254, session_type, ssc_mode),
        proptest::collection::vec(any::<u8>(), QosRules::MIN_LEN..64),
        (any::<u8>(), any::<u16>(), any::<u8>(), any::<u16>()),
        arb_qos_flow_changes(),
    )
        .prop_map(|((psi, pti, kind, mode), rules, ambr, qos_flow_changes)| {
            NasMessage::PduSessionEstablishmentAccept(PduSessionEstablishmentAccept {
                pdu_session_id: psi,
                pti: Pti(pti),
                selected_pdu_session_type: kind,
                selected_ssc_mode: mode,
                authorized_qos_rules: QosRules::new(rules).unwrap(),
                session_ambr: SessionAmbr {
                    downlink_unit: ambr.0,
                    downlink: ambr.1,
                    uplink_unit: ambr.2,
                    uplink: ambr.3,
                },
                qos_flow_changes,
            })
        });
    let reject = (0u8..=15, 0u8..=254, any::<u8>()).prop_map(|(psi, pti, cause)| {
        NasMessage::PduSessionEstablishmentReject(PduSessionEstablishmentReject {
            pdu_session_identity: psi,
            pti: Pti(pti),
            cause: FiveGsmCause(cause),
        })
    });
    prop_oneof![request, accept, reject]
}

fn arb_transport() -> impl Strategy<Value = NasMessage> {
    (
        arb_psi(),
        any::<bool>(),
        arb_modification_request(),
        arb_modification_command(),
    )
        .prop_map(|(psi, uplink, request, command)| {
            if uplink {
                NasMessage::UlNasTransport(UlNasTransport {
                    pdu_session_id: psi,
                    n1_sm: Box::new(request),
                })
            } else {
                NasMessage::DlNasTransport(DlNasTransport {
                    pdu_session_id: psi,
                    n1_sm: Box::new(command),
                })
            }
        })
}

fn arb_status() -> impl Strategy<Value = NasMessage> {
    prop_oneof![
        any::<u8>().prop_map(|c| NasMessage::FiveGmmStatus(FiveGmmStatus {
            cause: FiveGmmCause(c)
        })),
        (0u8..=15, 0u8..=254, any::<u8>()).prop_map(|(psi, pti, c)| {
            NasMessage::FiveGsmStatus(FiveGsmStatus {
                pdu_session_identity: psi,
                pti: Pti(pti),
                cause: FiveGsmCause(c),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn every_message_round_trips(message in prop_oneof![
        arb_registration(),
        arb_modification_request(),
        arb_modification_command(),
        arb_session_management(),
        arb_establishment(),
        arb_transport(),
        arb_status(),
    ]) {
        let octets = message.encode().unwrap();
        let direction = match message {
            NasMessage::PduSessionModificationCommand(_)
            | NasMessage::DlNasTransport(_)
            | NasMessage::PduSessionReleaseCommand(_)
            | NasMessage::PduSessionEstablishmentAccept(_)
            | NasMessage::PduSessionEstablishmentReject(_) => Direction::Downlink,
            _ => Direction::Uplink,
        };
        let back = decode(&octets, direction).unwrap();
        prop_assert_eq!(&back, &message);
        prop_assert_eq!(back.encode().unwrap(), octets);
    }
}
