//! TS 24.501 clause 7 on receipt: what is ignored, what is answered, with which cause.

mod common;

use common::*;
use corelab_nas::*;

fn refused(octets: &[u8], direction: Direction) -> Rejection {
    match decode(octets, direction) {
        Err(rejection) => rejection,
        Ok(message) => panic!("{octets:02x?} decoded as {message:?}"),
    }
}

fn registration(octets: &[u8]) -> RegistrationRequest {
    match decode(octets, Direction::Uplink) {
        Ok(NasMessage::RegistrationRequest(request)) => request,
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_non_imperative_ie_is_skipped() {
    // REGISTRATION COMPLETE + unknown type 6 IE 0x7D (not "comprehension required").
    assert_eq!(
        decode(&hex("7e00437d000101"), Direction::Uplink),
        Ok(NasMessage::RegistrationComplete)
    );
    // The seed's registration with an unknown type 4 IE 0x6F before the QFI lists.
    let mut octets = mobility_registration().encode().unwrap();
    let at = octets.len() - 10;
    octets.splice(at..at, [0x6f, 0x01, 0xaa]);
    assert_eq!(
        NasMessage::RegistrationRequest(registration(&octets)),
        mobility_registration()
    );
}

#[test]
fn unknown_comprehension_required_ie_is_invalid_mandatory_information_96() {
    let rejection = refused(&hex("7e00430301ff"), Direction::Uplink);
    assert_eq!(
        rejection.five_gmm_cause(),
        Some(FiveGmmCause::INVALID_MANDATORY_INFORMATION)
    );
    assert_eq!(rejection.answer.unwrap().encode().unwrap(), hex("7e006460"));
}

#[test]
fn missing_mandatory_ie_is_answered_with_5gmm_status_96() {
    // 5GMM STATUS without its 5GMM cause.
    let rejection = refused(&hex("7e0064"), Direction::Uplink);
    assert_eq!(
        rejection.five_gmm_cause(),
        Some(FiveGmmCause::INVALID_MANDATORY_INFORMATION),
        "{rejection:?}"
    );
}

#[test]
fn malformed_mandatory_ie_is_answered_with_5gmm_status_96() {
    // REGISTRATION REQUEST whose 5G-GUTI is one octet short.
    let rejection = refused(
        &hex("7e004179000af202f839cafe001122332e02a020"),
        Direction::Uplink,
    );
    assert_eq!(
        rejection.five_gmm_cause(),
        Some(FiveGmmCause::INVALID_MANDATORY_INFORMATION)
    );
    assert!(
        rejection.reason.contains("5gs-mobile-identity"),
        "{}",
        rejection.reason
    );
}

#[test]
fn malformed_mandatory_ie_of_a_5gsm_message_is_answered_96() {
    // 5GSM STATUS of PDU session 5, PTI 1, without its cause.
    let rejection = refused(&hex("2e0501d6"), Direction::Uplink);
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause::INVALID_MANDATORY_INFORMATION),
        "{rejection:?}"
    );
}

#[test]
fn unknown_5gmm_message_type_is_answered_with_5gmm_status_97() {
    let rejection = refused(&hex("7e0001"), Direction::Uplink);
    assert_eq!(
        rejection.five_gmm_cause(),
        Some(FiveGmmCause::MESSAGE_TYPE_NON_EXISTENT)
    );
}

#[test]
fn unknown_5gsm_message_type_is_answered_with_5gsm_status_97_of_its_session() {
    let rejection = refused(&hex("2e0507ff"), Direction::Uplink);
    assert_eq!(
        rejection.answer.as_deref(),
        Some(&NasMessage::FiveGsmStatus(FiveGsmStatus {
            pdu_session_identity: 5,
            pti: Pti(7),
            cause: FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT,
        }))
    );
}

#[test]
fn repeated_ie_keeps_its_first_occurrence() {
    // §7.6.3: PDU session status {5} then again {6}: the first counts.
    let request = registration(&hex("7e004172000bf202f839caff80112233445002200050024000"));
    assert_eq!(request.pdu_session_status, Some(vec![psi(5)]));
    // The same for the lab's QFI lists IE.
    let mut octets = mobility_registration().encode().unwrap();
    octets.extend_from_slice(&[0x7c, 0x00, 0x03, 0x09, 0x01, 0x01]);
    assert_eq!(
        NasMessage::RegistrationRequest(registration(&octets)),
        mobility_registration()
    );
}

#[test]
fn out_of_sequence_ie_is_ignored() {
    // §7.6.2: PDU session status (0x50) then uplink data status (0x40), which the table puts
    // before it: the uplink data status is ignored.
    let request = registration(&hex("7e004172000bf202f839caff801122334450022000400220"));
    assert_eq!(request.pdu_session_status, Some(vec![psi(5)]));
    assert_eq!(request.uplink_data_status, None);
}

#[test]
fn malformed_qfi_lists_ie_is_ignored_as_an_optional_ie() {
    // §7.7.1: QFI 0 is not a QFI; the rest of the message stands.
    let octets = hex("7e004172000bf202f839caff8011223344500220007c0003050100");
    let request = registration(&octets);
    assert_eq!(request.qfi_lists, None);
    assert_eq!(request.pdu_session_status, Some(vec![psi(5)]));
}

#[test]
fn modification_request_without_a_ue_pti_is_rejected_81() {
    let request = NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
        qos_flow_changes: Vec::new(),
        pdu_session_id: psi(5),
        pti: Pti(0),
        cause: None,
        requested_mbs: vec![],
    });
    let rejection = refused(&request.encode().unwrap(), Direction::Uplink);
    assert_eq!(rejection.five_gsm_cause(), Some(FiveGsmCause(81)));
    // The reject goes back on the session, with the PTI it came with.
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e0500ca51")
    );
}

#[test]
fn modification_request_with_the_reserved_pti_255_is_rejected_81() {
    // The codec refuses the header; the wrapper still answers (§7.3.1).
    let rejection = refused(&hex("2e05ffc9"), Direction::Uplink);
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause(81)),
        "{rejection:?}"
    );
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e05ffca51")
    );
    // A command to the UE with PTI 255 is ignored.
    assert_eq!(refused(&hex("2e05ffcb"), Direction::Downlink).answer, None);
}

#[test]
fn modification_request_without_a_pdu_session_is_rejected_43() {
    // PDU SESSION MODIFICATION REQUEST, PSI 0, PTI 1.
    let rejection = refused(&hex("2e0001c9"), Direction::Uplink);
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause::INVALID_PDU_SESSION_IDENTITY)
    );
}

#[test]
fn too_short_message_is_ignored_without_an_answer() {
    let rejection = refused(&hex("7e00"), Direction::Uplink);
    assert_eq!(rejection.answer, None);
    assert_eq!(decode(&[], Direction::Uplink).unwrap_err().answer, None);
}

#[test]
fn security_protected_message_is_refused_plain_nas_only() {
    // Integrity protected (security header type 1) 5GMM STATUS, MAC and SQN zero.
    let rejection = refused(&hex("7e0100000000007e006460"), Direction::Uplink);
    assert_eq!(rejection.answer, None, "{rejection:?}");
}

#[test]
fn bad_5gsm_message_in_ul_nas_transport_is_answered_in_dl_nas_transport() {
    // UL NAS TRANSPORT, N1 SM information, PDU session 5, carrying an unknown 5GSM type.
    let rejection = refused(&hex("7e00670100042e0507ff1205"), Direction::Uplink);
    assert_eq!(
        rejection.answer.as_deref(),
        Some(&NasMessage::DlNasTransport(DlNasTransport {
            pdu_session_id: psi(5),
            n1_sm: Box::new(NasMessage::FiveGsmStatus(FiveGsmStatus {
                pdu_session_identity: 5,
                pti: Pti(7),
                cause: FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT,
            })),
        }))
    );
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT)
    );
}

#[test]
fn release_request_without_a_ue_pti_is_rejected_81() {
    // PDU SESSION RELEASE REQUEST, PSI 7, PTI 200 (a network PTI).
    let rejection = refused(&hex("2e07c8d1"), Direction::Uplink);
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause(81)),
        "{rejection:?}"
    );
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e07c8d251")
    );
}

#[test]
fn establishment_request_without_a_ue_pti_is_rejected_81() {
    // PDU SESSION ESTABLISHMENT REQUEST, PSI 5, PTI 0, full-rate integrity protection.
    let rejection = refused(&hex("2e0500c1ffff"), Direction::Uplink);
    assert_eq!(
        rejection.five_gsm_cause(),
        Some(FiveGsmCause(81)),
        "{rejection:?}"
    );
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e0500c351")
    );
    // The reserved PTI 255: the codec refuses the header, the wrapper still answers (§7.3.1).
    let rejection = refused(&hex("2e05ffc1ffff"), Direction::Uplink);
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e05ffc351")
    );
}

#[test]
fn establishment_request_without_a_pdu_session_is_rejected_43() {
    // PDU SESSION ESTABLISHMENT REQUEST, PSI 0, PTI 1.
    let rejection = refused(&hex("2e0001c1ffff"), Direction::Uplink);
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e0001c32b")
    );
}

#[test]
fn establishment_request_with_a_reserved_optional_value_ignores_the_ie() {
    // PDU session type 7 and SSC mode 0 are reserved: the optional IEs are ignored (§7.7.1).
    let request = match decode(&hex("2e0501c1ffff97a0"), Direction::Uplink) {
        Ok(NasMessage::PduSessionEstablishmentRequest(request)) => request,
        other => panic!("{other:?}"),
    };
    assert_eq!(request.pdu_session_type, None);
    assert_eq!(request.ssc_mode, None);
    assert_eq!(request.integrity_protection_maximum_data_rate, [0xff, 0xff]);
}

#[test]
fn establishment_accept_with_a_reserved_ssc_mode_is_answered_96() {
    let mut octets = establishment_accept().encode().unwrap();
    // Octet 5: selected SSC mode (high half) 1, selected PDU session type (low half) IPv4.
    assert_eq!(octets[4], 0x11);
    octets[4] = 0x71;
    let rejection = refused(&octets, Direction::Downlink);
    assert_eq!(
        rejection.answer.unwrap().encode().unwrap(),
        hex("2e0501d660")
    );
}

#[test]
fn establishment_accept_without_a_pdu_session_is_ignored() {
    let mut octets = establishment_accept().encode().unwrap();
    octets[1] = 0;
    assert_eq!(refused(&octets, Direction::Downlink).answer, None);
}

#[test]
fn qos_rules_of_a_length_the_ie_cannot_hold_are_refused() {
    assert_eq!(QosRules::new(vec![1, 0, 0]), Err(QosRulesLength(3)));
    assert!(QosRules::new(vec![0; 65_536]).is_err());
    assert!(QosRules::new(vec![0; 65_535]).is_ok());
}
