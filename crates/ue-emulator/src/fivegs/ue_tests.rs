//! The UE state machine driven by hand: the network side is built from crates/nas types, no
//! sockets, a fake clock.

use std::time::{Duration, Instant};

use corelab_nas::{
    DlNasTransport, FiveGmmCause, FiveGsMobileIdentity, FiveGsmCause, Guti, MbsDecision,
    MbsDecisionRecord, MbsOperation, MbsRejectionCause, NasMessage, PduSessionEstablishmentAccept,
    PduSessionEstablishmentReject, PduSessionId, PduSessionModificationCommand,
    PduSessionModificationReject, PduSessionReleaseCommand, PduSessionType, Pti, Qfi,
    QosFlowChange, QosRules, RegistrationAccept, RegistrationType, SessionAmbr, SscMode, Tmgi,
};

use super::*;
use crate::fivegs::identity::{Subscriber, parse_plmn};

fn ue(qfi_lists: bool) -> Ue {
    let plmn = parse_plmn("001-01").unwrap();
    Ue::new(UeConfig {
        subscriber: Subscriber::numbered(plmn, "0000000001", 0).unwrap(),
        qfi_lists,
        procedure_timeout: DEFAULT_PROCEDURE_TIMEOUT,
    })
}

fn tmgi(id: u32) -> Tmgi {
    Tmgi::new(id, None).unwrap()
}

fn psi(v: u8) -> PduSessionId {
    PduSessionId::new(v).unwrap()
}

fn qfi(v: u8) -> Qfi {
    Qfi::new(v).unwrap()
}

fn guti() -> Guti {
    Guti::new(parse_plmn("001-01").unwrap(), 1, 1, 0, 0x42).unwrap()
}

/// Everything the UE has to give, uplinks decoded as the network reads them.
#[derive(Default, Debug)]
struct Drained {
    uplink: Vec<NasMessage>,
    radio: Vec<RadioEvent>,
    done: Vec<Outcome>,
    malformed: Vec<String>,
}

fn drain(ue: &mut Ue) -> Drained {
    let mut d = Drained::default();
    while let Some(out) = ue.poll() {
        match out {
            Output::Uplink(pdu) => d
                .uplink
                .push(corelab_nas::decode(&pdu, corelab_nas::Direction::Uplink).unwrap()),
            Output::Radio(r) => d.radio.push(r),
            Output::Done(o) => d.done.push(o),
            Output::Malformed(reason) => d.malformed.push(reason),
        }
    }
    d
}

/// The 5GSM message inside an UL NAS TRANSPORT.
fn sm(message: &NasMessage) -> &NasMessage {
    match message {
        NasMessage::UlNasTransport(t) => &t.n1_sm,
        other => panic!("not an UL NAS TRANSPORT: {other:?}"),
    }
}

fn dl(ue: &mut Ue, now: Instant, message: NasMessage) {
    let pdu = message.encode().unwrap();
    ue.handle(now, Input::Downlink(&pdu));
}

fn dl_sm(ue: &mut Ue, now: Instant, id: PduSessionId, message: NasMessage) {
    dl(
        ue,
        now,
        NasMessage::DlNasTransport(DlNasTransport {
            pdu_session_id: id,
            n1_sm: Box::new(message),
        }),
    );
}

fn registered(qfi_lists: bool) -> (Ue, Instant) {
    let now = Instant::now();
    let mut ue = ue(qfi_lists);
    ue.handle(now, Input::Command(Command::Register));
    drain(&mut ue);
    dl(
        &mut ue,
        now,
        NasMessage::RegistrationAccept(RegistrationAccept {
            guti: Some(guti()),
            pdu_session_status: None,
        }),
    );
    drain(&mut ue);
    (ue, now)
}

fn accept_establishment(ue: &mut Ue, now: Instant, id: PduSessionId, pti: Pti) {
    dl_sm(
        ue,
        now,
        id,
        NasMessage::PduSessionEstablishmentAccept(PduSessionEstablishmentAccept {
            pdu_session_id: id,
            pti,
            selected_pdu_session_type: PduSessionType::Ipv4,
            selected_ssc_mode: SscMode::Ssc1,
            authorized_qos_rules: QosRules::new(vec![1, 0, 1, 0x31]).unwrap(),
            session_ambr: SessionAmbr {
                downlink_unit: 6,
                downlink: 100,
                uplink_unit: 6,
                uplink: 100,
            },
            qos_flow_changes: vec![QosFlowChange::Create {
                qfi: qfi(1),
                five_qi: 9,
            }],
        }),
    );
}

/// Establish session `v` (PTI as the UE chose it).
fn establish(ue: &mut Ue, now: Instant, v: u8) {
    ue.handle(now, Input::Command(Command::Establish { psi: Some(v) }));
    let d = drain(ue);
    let NasMessage::PduSessionEstablishmentRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    accept_establishment(ue, now, psi(v), req.pti);
    assert!(drain(ue).done[0].ok);
}

fn join_command(id: PduSessionId, pti: Pti, t: Tmgi, qfis: &[u8]) -> NasMessage {
    NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
        pdu_session_id: id,
        pti,
        cause: None,
        received_mbs: vec![MbsDecisionRecord {
            tmgi: t,
            decision: MbsDecision::JoinAccepted,
            cause: None,
        }],
        qos_flow_changes: (qfis.iter())
            .map(|q| QosFlowChange::Create {
                qfi: qfi(*q),
                five_qi: 79,
            })
            .collect(),
    })
}

/// Join `t` on session `v` and accept with MBS QFIs `qfis`.
fn join(ue: &mut Ue, now: Instant, v: u8, t: Tmgi, qfis: &[u8]) {
    ue.handle(
        now,
        Input::Command(Command::Join {
            tmgi: t,
            psi: Some(v),
        }),
    );
    let d = drain(ue);
    let NasMessage::PduSessionModificationRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    assert_eq!(req.requested_mbs[0].operation, MbsOperation::Join);
    dl_sm(ue, now, psi(v), join_command(psi(v), req.pti, t, qfis));
    let d = drain(ue);
    assert!(matches!(
        sm(&d.uplink[0]),
        NasMessage::PduSessionModificationComplete(_)
    ));
    assert!(d.done[0].ok, "{d:?}");
}

fn qfis(ue: &Ue, v: u8) -> Vec<u8> {
    ue.sessions()[&psi(v)]
        .qfis
        .iter()
        .map(|q| q.get())
        .collect()
}

#[test]
fn initial_registration_sends_suci_and_completes_with_the_guti() {
    let now = Instant::now();
    let mut ue = ue(true);
    ue.handle(now, Input::Command(Command::Register));
    let d = drain(&mut ue);
    let NasMessage::RegistrationRequest(req) = &d.uplink[0] else {
        panic!("{d:?}");
    };
    assert_eq!(req.registration_type, RegistrationType::Initial);
    let FiveGsMobileIdentity::Suci(suci) = &req.identity else {
        panic!("{req:?}");
    };
    assert_eq!(suci.to_string(), "suci-0-001-01-0-0-0-0000000001");
    assert_eq!(req.qfi_lists, None);
    assert_eq!(ue.busy(), Some(Procedure::Register));
    dl(
        &mut ue,
        now + Duration::from_millis(3),
        NasMessage::RegistrationAccept(RegistrationAccept {
            guti: Some(guti()),
            pdu_session_status: None,
        }),
    );
    let d = drain(&mut ue);
    assert_eq!(d.uplink, vec![NasMessage::RegistrationComplete]);
    assert!(d.done[0].ok);
    assert_eq!(d.done[0].elapsed, Duration::from_millis(3));
    assert!(ue.registered());
    assert_eq!(ue.guti(), Some(guti()));
}

#[test]
fn registration_reject_reports_the_5gmm_cause() {
    let now = Instant::now();
    let mut ue = ue(true);
    ue.handle(now, Input::Command(Command::Register));
    drain(&mut ue);
    dl(
        &mut ue,
        now,
        NasMessage::RegistrationReject(corelab_nas::RegistrationReject {
            cause: FiveGmmCause(3),
        }),
    );
    let d = drain(&mut ue);
    assert!(!d.done[0].ok);
    assert_eq!(d.done[0].cause, Some(Cause::FiveGmm(3)));
    assert!(!ue.registered());
}

#[test]
fn establishment_creates_the_default_flow_and_a_reject_carries_its_cause() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    assert_eq!(qfis(&ue, 1), vec![1]);
    ue.handle(now, Input::Command(Command::Establish { psi: None }));
    let d = drain(&mut ue);
    let NasMessage::PduSessionEstablishmentRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    assert_eq!(req.pdu_session_id, psi(2), "the lowest free identity");
    dl_sm(
        &mut ue,
        now,
        psi(2),
        NasMessage::PduSessionEstablishmentReject(PduSessionEstablishmentReject {
            pdu_session_identity: 2,
            pti: req.pti,
            cause: FiveGsmCause::INSUFFICIENT_RESOURCES,
        }),
    );
    let d = drain(&mut ue);
    assert_eq!(d.done[0].cause, Some(Cause::FiveGsm(26)));
    assert_eq!(ue.sessions().len(), 1);
}

#[test]
fn join_on_a_reused_session_remembers_the_mbs_qfis_and_the_drbs() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5, 6]);
    assert_eq!(qfis(&ue, 1), vec![1, 5, 6]);
    let session = &ue.sessions()[&psi(1)];
    assert_eq!(session.mbs_qfis(), [qfi(5), qfi(6)].into());
    assert_eq!(session.mbs[0].joined_on, JoinedOn::Reused);
    ue.handle(
        now,
        Input::Resource {
            psi: 1,
            setup: true,
            qfis: vec![5, 6],
        },
    );
    assert_eq!(ue.sessions()[&psi(1)].drbs, [qfi(5), qfi(6)].into());
}

#[test]
fn join_on_a_new_session_establishes_it_first_then_leaves_by_release() {
    let (mut ue, now) = registered(true);
    ue.handle(
        now,
        Input::Command(Command::Join {
            tmgi: tmgi(7),
            psi: None,
        }),
    );
    let d = drain(&mut ue);
    let NasMessage::PduSessionEstablishmentRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    accept_establishment(&mut ue, now, psi(1), req.pti);
    let d = drain(&mut ue);
    assert!(d.done.is_empty(), "the join is still running");
    let NasMessage::PduSessionModificationRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    dl_sm(
        &mut ue,
        now,
        psi(1),
        join_command(psi(1), req.pti, tmgi(7), &[9]),
    );
    let d = drain(&mut ue);
    assert!(d.done[0].ok);
    assert_eq!(d.done[0].procedure, Procedure::Join);
    assert_eq!(
        ue.sessions()[&psi(1)].mbs[0].joined_on,
        JoinedOn::NewSession
    );

    ue.handle(
        now,
        Input::Command(Command::Leave {
            tmgi: tmgi(7),
            how: LeaveHow::AsJoined,
        }),
    );
    let d = drain(&mut ue);
    let NasMessage::PduSessionReleaseRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    dl_sm(
        &mut ue,
        now,
        psi(1),
        NasMessage::PduSessionReleaseCommand(PduSessionReleaseCommand {
            pdu_session_id: psi(1),
            pti: req.pti,
            cause: FiveGsmCause::REGULAR_DEACTIVATION,
        }),
    );
    let d = drain(&mut ue);
    assert!(matches!(
        sm(&d.uplink[0]),
        NasMessage::PduSessionReleaseComplete(_)
    ));
    assert!(d.done[0].ok);
    assert!(ue.sessions().is_empty());
    assert!(ue.tmgis().is_empty());
}

#[test]
fn join_rejected_adds_nothing_and_reports_the_mbs_cause() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    ue.handle(
        now,
        Input::Command(Command::Join {
            tmgi: tmgi(2),
            psi: Some(1),
        }),
    );
    let d = drain(&mut ue);
    let NasMessage::PduSessionModificationRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    dl_sm(
        &mut ue,
        now,
        psi(1),
        NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
            pdu_session_id: psi(1),
            pti: req.pti,
            cause: None,
            received_mbs: vec![MbsDecisionRecord {
                tmgi: tmgi(2),
                decision: MbsDecision::JoinRejected,
                cause: Some(MbsRejectionCause::NotAuthorized),
            }],
            qos_flow_changes: Vec::new(),
        }),
    );
    let d = drain(&mut ue);
    assert!(!d.done[0].ok);
    assert_eq!(d.done[0].cause, Some(Cause::Mbs(2)));
    assert_eq!(qfis(&ue, 1), vec![1]);
    assert!(ue.tmgis().is_empty());
}

#[test]
fn leave_by_modification_releases_the_mbs_flows_and_keeps_the_session() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(
        now,
        Input::Command(Command::Leave {
            tmgi: tmgi(1),
            how: LeaveHow::AsJoined,
        }),
    );
    let d = drain(&mut ue);
    let NasMessage::PduSessionModificationRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    assert_eq!(req.requested_mbs[0].operation, MbsOperation::Leave);
    dl_sm(
        &mut ue,
        now,
        psi(1),
        NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
            pdu_session_id: psi(1),
            pti: req.pti,
            cause: None,
            received_mbs: Vec::new(),
            qos_flow_changes: vec![QosFlowChange::Delete { qfi: qfi(5) }],
        }),
    );
    let d = drain(&mut ue);
    assert!(d.done[0].ok);
    assert_eq!(qfis(&ue, 1), vec![1]);
    assert!(ue.tmgis().is_empty());
}

#[test]
fn leave_rejected_keeps_everything() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(
        now,
        Input::Command(Command::Leave {
            tmgi: tmgi(1),
            how: LeaveHow::Modification,
        }),
    );
    let d = drain(&mut ue);
    let NasMessage::PduSessionModificationRequest(req) = sm(&d.uplink[0]) else {
        panic!("{d:?}");
    };
    dl_sm(
        &mut ue,
        now,
        psi(1),
        NasMessage::PduSessionModificationReject(PduSessionModificationReject {
            pdu_session_identity: 1,
            pti: req.pti,
            cause: FiveGsmCause::SEMANTICALLY_INCORRECT_MESSAGE,
        }),
    );
    let d = drain(&mut ue);
    assert!(!d.done[0].ok);
    assert_eq!(d.done[0].cause, Some(Cause::FiveGsm(95)));
    assert_eq!(qfis(&ue, 1), vec![1, 5]);
    assert_eq!(ue.tmgis().len(), 1);
}

#[test]
fn network_initiated_leave_ends_the_service_and_completes() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    dl_sm(
        &mut ue,
        now,
        psi(1),
        NasMessage::PduSessionModificationCommand(PduSessionModificationCommand {
            pdu_session_id: psi(1),
            pti: Pti(0),
            cause: None,
            received_mbs: vec![MbsDecisionRecord {
                tmgi: tmgi(1),
                decision: MbsDecision::RemoveUe,
                cause: Some(MbsRejectionCause::SessionReleased),
            }],
            qos_flow_changes: vec![QosFlowChange::Delete { qfi: qfi(5) }],
        }),
    );
    let d = drain(&mut ue);
    assert!(matches!(
        sm(&d.uplink[0]),
        NasMessage::PduSessionModificationComplete(c) if c.pti == Pti(0)
    ));
    assert_eq!(ue.network_leaves(), 1);
    assert!(ue.tmgis().is_empty());
    assert_eq!(qfis(&ue, 1), vec![1]);
}

#[test]
fn out_of_coverage_drops_downlink_and_misses_pagings() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(now, Input::Command(Command::LoseCoverage));
    let d = drain(&mut ue);
    assert_eq!(d.radio, vec![RadioEvent::CoverageLost]);
    ue.handle(now, Input::Paging(tmgi(1)));
    dl(&mut ue, now, NasMessage::RegistrationComplete);
    assert!(drain(&mut ue).radio.is_empty());
    assert_eq!(ue.pagings().missed, 1);
    assert_eq!(ue.downlink_dropped(), 1);
    ue.handle(now, Input::Command(Command::Establish { psi: None }));
    assert!(!drain(&mut ue).done[0].ok, "no procedure out of coverage");
}

#[test]
fn paging_is_answered_only_in_coverage_while_holding_the_tmgi() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(now, Input::Paging(tmgi(1)));
    assert_eq!(
        drain(&mut ue).radio,
        vec![RadioEvent::PagingResponse(tmgi(1))]
    );
    ue.handle(now, Input::Paging(tmgi(2)));
    assert!(drain(&mut ue).radio.is_empty());
    let p = ue.pagings();
    assert_eq!((p.received, p.answered, p.missed), (2, 1, 1));
}

#[test]
fn close_mbs_app_needs_no_coverage_and_keeps_the_unicast_flows() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5, 6]);
    ue.handle(now, Input::Command(Command::CloseMbsApp { tmgi: None }));
    assert!(!drain(&mut ue).done[0].ok, "in coverage: leave instead");
    ue.handle(now, Input::Command(Command::LoseCoverage));
    ue.handle(now, Input::Command(Command::CloseMbsApp { tmgi: None }));
    let d = drain(&mut ue);
    assert!(d.done[1].ok, "{d:?}");
    assert!(d.uplink.is_empty(), "a local release: nothing sent");
    assert_eq!(qfis(&ue, 1), vec![1]);
    assert!(ue.tmgis().is_empty());
    // The network still pages: the UE no longer answers.
    ue.handle(now, Input::Command(Command::RegainCoverage));
    drain(&mut ue);
    ue.handle(now, Input::Paging(tmgi(1)));
    assert!(drain(&mut ue).radio.is_empty());
}

fn mobility_request(ue: &mut Ue, now: Instant) -> corelab_nas::RegistrationRequest {
    ue.handle(now, Input::Command(Command::RegainCoverage));
    let d = drain(ue);
    assert_eq!(d.radio, vec![RadioEvent::CoverageRegained]);
    match &d.uplink[0] {
        NasMessage::RegistrationRequest(req) => req.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mobility_registration_lists_each_session_with_its_remaining_qfis() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    establish(&mut ue, now, 2);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    join(&mut ue, now, 2, tmgi(2), &[7, 8]);
    ue.handle(now, Input::Command(Command::LoseCoverage));
    ue.handle(
        now,
        Input::Command(Command::CloseMbsApp {
            tmgi: Some(tmgi(1)),
        }),
    );
    drain(&mut ue);
    let req = mobility_request(&mut ue, now);
    assert_eq!(req.registration_type, RegistrationType::MobilityUpdating);
    assert_eq!(req.identity, FiveGsMobileIdentity::Guti(guti()));
    assert_eq!(req.pdu_session_status, Some(vec![psi(1), psi(2)]));
    let lists = req.qfi_lists.unwrap();
    assert_eq!(lists.qfis(psi(1)), Some(&[qfi(1)][..]));
    assert_eq!(lists.qfis(psi(2)), Some(&[qfi(1), qfi(7), qfi(8)][..]));
    // The accept's PDU session status drops session 2: released locally.
    dl(
        &mut ue,
        now,
        NasMessage::RegistrationAccept(RegistrationAccept {
            guti: None,
            pdu_session_status: Some(vec![psi(1)]),
        }),
    );
    let d = drain(&mut ue);
    assert_eq!(d.uplink, vec![NasMessage::RegistrationComplete]);
    assert_eq!(d.done[0].procedure, Procedure::RegainCoverage);
    assert!(d.done[0].ok);
    assert_eq!(ue.sessions().keys().copied().collect::<Vec<_>>(), [psi(1)]);
}

#[test]
fn capability_off_sends_the_pdu_session_status_only() {
    let (mut ue, now) = registered(false);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(now, Input::Command(Command::LoseCoverage));
    ue.handle(now, Input::Command(Command::CloseMbsApp { tmgi: None }));
    drain(&mut ue);
    let req = mobility_request(&mut ue, now);
    assert_eq!(req.pdu_session_status, Some(vec![psi(1)]));
    assert_eq!(req.qfi_lists, None);
}

#[test]
fn mbs_kept_out_of_coverage_is_listed_with_its_qfis_and_pagings_answered() {
    let (mut ue, now) = registered(true);
    establish(&mut ue, now, 1);
    join(&mut ue, now, 1, tmgi(1), &[5]);
    ue.handle(now, Input::Command(Command::LoseCoverage));
    drain(&mut ue);
    let req = mobility_request(&mut ue, now);
    assert_eq!(
        req.qfi_lists.unwrap().qfis(psi(1)),
        Some(&[qfi(1), qfi(5)][..])
    );
    ue.handle(now, Input::Paging(tmgi(1)));
    assert_eq!(
        drain(&mut ue).radio,
        vec![RadioEvent::PagingResponse(tmgi(1))]
    );
}

#[test]
fn a_procedure_without_answer_times_out_and_one_runs_at_a_time() {
    let (mut ue, now) = registered(true);
    ue.handle(now, Input::Command(Command::Establish { psi: Some(1) }));
    drain(&mut ue);
    ue.handle(now, Input::Command(Command::Establish { psi: Some(2) }));
    let d = drain(&mut ue);
    assert!(d.uplink.is_empty());
    assert_eq!(d.done[0].detail, "busy with establish");
    let deadline = ue.poll_timeout().unwrap();
    ue.handle(deadline - Duration::from_millis(1), Input::Tick);
    assert!(drain(&mut ue).done.is_empty());
    ue.handle(deadline, Input::Tick);
    let d = drain(&mut ue);
    assert!(!d.done[0].ok);
    assert_eq!(ue.busy(), None);
}

#[test]
fn raw_pdu_goes_out_as_is_and_a_status_ends_it_with_its_cause() {
    let (mut ue, now) = registered(true);
    let pdu = vec![0x7e, 0x00, 0xff];
    ue.handle(now, Input::Command(Command::SendRaw { pdu: pdu.clone() }));
    assert_eq!(ue.poll(), Some(Output::Uplink(pdu)));
    dl(
        &mut ue,
        now,
        NasMessage::FiveGmmStatus(corelab_nas::FiveGmmStatus {
            cause: FiveGmmCause::MESSAGE_TYPE_NON_EXISTENT,
        }),
    );
    let d = drain(&mut ue);
    assert_eq!(d.done[0].cause, Some(Cause::FiveGmm(97)));
    assert_eq!(ue.statuses().len(), 1);
}

#[test]
fn malformed_downlink_is_counted_and_answered_never_a_panic() {
    let (mut ue, now) = registered(true);
    for pdu in [
        &[][..],
        &[0x7e],
        &[0x7e, 0x00, 0x42, 0x01],
        &[0x2e, 1, 1, 0xff],
    ] {
        ue.handle(now, Input::Downlink(pdu));
    }
    assert_eq!(ue.malformed_downlink(), 4);
    let d = drain(&mut ue);
    assert_eq!(d.malformed.len(), 4, "each one reported for the log");
    // An unknown 5GSM message type is answered with 5GSM STATUS #97 (TS 24.501 §7.4).
    assert!(
        d.uplink.iter().any(|m| matches!(
            m,
            NasMessage::FiveGsmStatus(s) if s.cause == FiveGsmCause::MESSAGE_TYPE_NON_EXISTENT
        )),
        "{d:?}"
    );
}
