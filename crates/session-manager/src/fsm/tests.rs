//! The contract's flows (docs/session-manager.md) driven through `Core::handle` / `poll` with a
//! fake clock: the UE side is built from corelab-nas messages, the network's answers are decoded
//! as a UE would (Direction::Downlink).

use std::time::{Duration, Instant};

use corelab_nas::{
    Direction, FiveGsMobileIdentity, FiveGsmCause, MbsDecision, MbsOperation, MbsRejectionCause,
    MbsRequest, NasMessage, PduSessionEstablishmentRequest, PduSessionId,
    PduSessionModificationRequest, PduSessionQfiLists, PduSessionReleaseRequest, Plmn, Pti, Qfi,
    QosFlowChange, RegistrationRequest, RegistrationType, Suci, Tmgi, UlNasTransport, decode,
};

use super::context::MmState;
use super::registry::{MbsRegistry, MbsSessionConfig};
use super::*;

const GNB: &str = "gnb-1";
const INTERVAL: Duration = Duration::from_millis(500);

fn plmn() -> Plmn {
    Plmn::new("001", "01").unwrap()
}

fn tmgi(id: u32) -> Tmgi {
    Tmgi::new(id, None).unwrap()
}

/// The SUCI of `imsi-00101<msin>` under the null scheme (TS 24.501 figure 9.11.3.4.3).
fn suci(msin: &str) -> Suci {
    let digits: Vec<u8> = msin.bytes().map(|b| b - b'0').collect();
    let mut octets = vec![0x01];
    octets.extend(plmn().to_nas_octets());
    octets.extend([0xf0, 0xff, 0x00, 0x00]);
    for pair in digits.chunks(2) {
        octets.push(pair[0] | (pair.get(1).copied().unwrap_or(0x0f) << 4));
    }
    let pdu = [
        &[0x7e, 0x00, 0x41, 0x09, 0x00, octets.len() as u8][..],
        &octets,
    ]
    .concat();
    match decode(&pdu, Direction::Uplink) {
        Ok(NasMessage::RegistrationRequest(RegistrationRequest {
            identity: FiveGsMobileIdentity::Suci(suci),
            ..
        })) => suci,
        other => panic!("SUCI does not decode: {other:?}"),
    }
}

fn config(qfi_lists: bool) -> CoreConfig {
    CoreConfig {
        plmn: plmn(),
        amf_region_id: 1,
        amf_set_id: 1,
        amf_pointer: 0,
        paging_interval: INTERVAL,
        qfi_lists,
        max_ues: 100,
        max_sessions_per_ue: 4,
        default_five_qi: 9,
    }
}

/// TMGI 1 (QFI 5), TMGI 2 (QFIs 6, 7), TMGI 3 for imsi-001010000000099 only, TMGI 4 of capacity 0.
fn registry() -> MbsRegistry {
    let mut entries = MbsSessionConfig::lab_defaults();
    let mut only = entries[0].clone();
    only.service_id = 3;
    only.authorized = vec!["imsi-001010000000099".into()];
    let mut full = entries[0].clone();
    full.service_id = 4;
    full.capacity = 0;
    entries.extend([only, full]);
    MbsRegistry::from_config(&entries).unwrap()
}

struct Lab {
    core: Core,
    now: Instant,
}

/// What one input produced, in order.
struct Out(Vec<Output>);

impl Out {
    /// The NAS messages sent, decoded as the UE reads them (5GSM unwrapped from DL NAS
    /// TRANSPORT).
    fn nas(&self) -> Vec<NasMessage> {
        (self.0.iter())
            .filter_map(|o| match o {
                Output::Downlink { pdu, .. } => Some(decode(pdu, Direction::Downlink).unwrap()),
                _ => None,
            })
            .map(|m| match m {
                NasMessage::DlNasTransport(t) => *t.n1_sm,
                other => other,
            })
            .collect()
    }

    fn one_nas(&self) -> NasMessage {
        let nas = self.nas();
        assert_eq!(nas.len(), 1, "{:?}", self.0);
        nas.into_iter().next().unwrap()
    }

    fn resources(&self) -> Vec<(u8, ResourceAction, Vec<u8>)> {
        (self.0.iter())
            .filter_map(|o| match o {
                Output::Resource {
                    psi, action, qfis, ..
                } => Some((*psi, *action, qfis.clone())),
                _ => None,
            })
            .collect()
    }

    fn pagings(&self) -> Vec<(Tmgi, Vec<u64>)> {
        (self.0.iter())
            .filter_map(|o| match o {
                Output::Paging {
                    tmgi, ran_ue_ids, ..
                } => Some((*tmgi, ran_ue_ids.clone())),
                _ => None,
            })
            .collect()
    }

    fn saves(&self) -> usize {
        (self.0.iter())
            .filter(|o| matches!(o, Output::Save(_)))
            .count()
    }

    /// Every Save comes before the first message to the gNB.
    fn store_first(&self) -> bool {
        let first_send = (self.0.iter()).position(|o| {
            matches!(
                o,
                Output::Downlink { .. } | Output::Resource { .. } | Output::Paging { .. }
            )
        });
        let last_save = (self.0.iter()).rposition(|o| matches!(o, Output::Save(_)));
        match (first_send, last_save) {
            (Some(send), Some(save)) => save < send,
            _ => true,
        }
    }

    fn released(&self, cause: &str) -> usize {
        (self.0.iter())
            .map(|o| match o {
                Output::Event(Event::FlowsReleased { cause: c, count }) if *c == cause => *count,
                _ => 0,
            })
            .sum()
    }
}

impl Lab {
    fn new(qfi_lists: bool) -> Lab {
        Lab {
            core: Core::new(config(qfi_lists), registry()),
            now: Instant::now(),
        }
    }

    fn drain(&mut self) -> Out {
        let mut out = Vec::new();
        while let Some(o) = self.core.poll() {
            out.push(o);
        }
        let out = Out(out);
        assert!(
            out.store_first(),
            "a message left before the store: {:?}",
            out.0
        );
        out
    }

    fn input(&mut self, input: Input) -> Out {
        self.core.handle(self.now, input);
        self.drain()
    }

    fn pdu(&mut self, ran_ue_id: u64, pdu: Vec<u8>) -> Out {
        self.input(Input::UplinkNas {
            gnb: GNB.into(),
            ran_ue_id,
            pdu,
        })
    }

    fn send(&mut self, ran_ue_id: u64, message: NasMessage) -> Out {
        self.pdu(ran_ue_id, message.encode().unwrap())
    }

    fn send_sm(&mut self, ran_ue_id: u64, psi: u8, message: NasMessage) -> Out {
        let transport = NasMessage::UlNasTransport(UlNasTransport {
            pdu_session_id: PduSessionId::new(psi).unwrap(),
            n1_sm: Box::new(message),
        });
        self.send(ran_ue_id, transport)
    }

    fn radio(&mut self, ran_ue_id: u64, event: RadioEvent) -> Out {
        self.input(Input::Radio {
            gnb: GNB.into(),
            ran_ue_id,
            event,
        })
    }

    fn advance(&mut self, by: Duration) -> Out {
        self.now += by;
        self.input(Input::Timeout)
    }

    fn ue(&self, msin: &str) -> &UeContext {
        self.core.ue(&format!("imsi-00101{msin}")).unwrap()
    }

    /// Contract §1: initial registration and COMPLETE; the 5G-GUTI allocated.
    fn register(&mut self, ran_ue_id: u64, msin: &str) -> Guti {
        let out = self.send(
            ran_ue_id,
            registration(
                RegistrationType::Initial,
                FiveGsMobileIdentity::Suci(suci(msin)),
            ),
        );
        let NasMessage::RegistrationAccept(accept) = out.one_nas() else {
            panic!("{:?}", out.0)
        };
        self.send(ran_ue_id, NasMessage::RegistrationComplete);
        accept.guti.unwrap()
    }

    /// Contract §2: a PDU session with its default QoS flow.
    fn establish(&mut self, ran_ue_id: u64, psi: u8) -> Out {
        self.send_sm(
            ran_ue_id,
            psi,
            NasMessage::PduSessionEstablishmentRequest(PduSessionEstablishmentRequest {
                pdu_session_id: PduSessionId::new(psi).unwrap(),
                pti: Pti(1),
                integrity_protection_maximum_data_rate: [0xff, 0xff],
                pdu_session_type: None,
                ssc_mode: None,
            }),
        )
    }

    fn mbs(&mut self, ran_ue_id: u64, psi: u8, operation: MbsOperation, tmgi: Tmgi) -> Out {
        self.send_sm(
            ran_ue_id,
            psi,
            NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
                pdu_session_id: PduSessionId::new(psi).unwrap(),
                pti: Pti(2),
                cause: None,
                requested_mbs: vec![MbsRequest { operation, tmgi }],
                qos_flow_changes: Vec::new(),
            }),
        )
    }

    /// Contract §9: mobility registration with the PDU session status and, when given, the
    /// per-session QFI lists.
    fn mobility(
        &mut self,
        ran_ue_id: u64,
        guti: Guti,
        sessions: &[(u8, &[u8])],
        lists: bool,
    ) -> Out {
        let NasMessage::RegistrationRequest(mut request) = registration(
            RegistrationType::MobilityUpdating,
            FiveGsMobileIdentity::Guti(guti),
        ) else {
            unreachable!()
        };
        request.pdu_session_status = Some(
            (sessions.iter())
                .map(|(psi, _)| PduSessionId::new(*psi).unwrap())
                .collect(),
        );
        if lists {
            request.qfi_lists = Some(PduSessionQfiLists(
                (sessions.iter())
                    .map(|(psi, qfis)| {
                        let qfis = qfis.iter().map(|q| Qfi::new(*q).unwrap()).collect();
                        (PduSessionId::new(*psi).unwrap(), qfis)
                    })
                    .collect(),
            ));
        }
        self.send(ran_ue_id, NasMessage::RegistrationRequest(request))
    }
}

fn registration(kind: RegistrationType, identity: FiveGsMobileIdentity) -> NasMessage {
    NasMessage::RegistrationRequest(RegistrationRequest {
        registration_type: kind,
        follow_on_request: false,
        ngksi: None,
        identity,
        pdu_session_status: None,
        uplink_data_status: None,
        qfi_lists: None,
    })
}

fn qfis(ue: &UeContext, psi: u8) -> Vec<u8> {
    ue.sessions[&psi].flows.keys().copied().collect()
}

/// A registered UE with PDU session 5 joined to TMGI 1 (QFI 5) on it.
fn joined(lab: &mut Lab, ran_ue_id: u64, msin: &str) -> Guti {
    let guti = lab.register(ran_ue_id, msin);
    lab.establish(ran_ue_id, 5);
    let out = lab.mbs(ran_ue_id, 5, MbsOperation::Join, tmgi(1));
    assert!(matches!(
        out.one_nas(),
        NasMessage::PduSessionModificationCommand(_)
    ));
    guti
}

#[test]
fn initial_registration_derives_the_supi_allocates_a_guti_and_completes() {
    let mut lab = Lab::new(true);
    let out = lab.send(
        7,
        registration(
            RegistrationType::Initial,
            FiveGsMobileIdentity::Suci(suci("0000000001")),
        ),
    );
    assert_eq!(out.saves(), 1);
    let NasMessage::RegistrationAccept(accept) = out.one_nas() else {
        panic!()
    };
    let ue = lab.ue("0000000001");
    assert_eq!(ue.supi, "imsi-001010000000001");
    assert_eq!(accept.guti, Some(ue.guti));
    assert_eq!(ue.state, MmState::RegistrationInitiated);
    lab.send(7, NasMessage::RegistrationComplete);
    assert_eq!(lab.ue("0000000001").state, MmState::Registered);
}

#[test]
fn establishment_accepts_the_default_qos_flow_and_sets_up_its_drb() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    let out = lab.establish(1, 5);
    let NasMessage::PduSessionEstablishmentAccept(accept) = out.one_nas() else {
        panic!("{:?}", out.0)
    };
    assert_eq!(accept.pti, Pti(1));
    assert_eq!(
        accept.qos_flow_changes,
        vec![QosFlowChange::Create {
            qfi: Qfi::new(1).unwrap(),
            five_qi: 9
        }]
    );
    assert_eq!(out.resources(), vec![(5, ResourceAction::Setup, vec![1])]);
    assert_eq!(qfis(lab.ue("0000000001"), 5), vec![1]);
}

#[test]
fn join_accepted_adds_the_mbs_qos_flows_of_the_tmgi_and_their_drbs() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    lab.establish(1, 5);
    let out = lab.mbs(1, 5, MbsOperation::Join, tmgi(2));
    let NasMessage::PduSessionModificationCommand(command) = out.one_nas() else {
        panic!()
    };
    assert_eq!(command.pti, Pti(2));
    assert_eq!(command.received_mbs.len(), 1);
    assert_eq!(command.received_mbs[0].decision, MbsDecision::JoinAccepted);
    assert_eq!(
        command.qos_flow_changes,
        vec![
            QosFlowChange::Create {
                qfi: Qfi::new(6).unwrap(),
                five_qi: 7
            },
            QosFlowChange::Create {
                qfi: Qfi::new(7).unwrap(),
                five_qi: 8
            },
        ]
    );
    assert_eq!(
        out.resources(),
        vec![(5, ResourceAction::Setup, vec![6, 7])]
    );
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1, 6, 7]);
    assert!(ue.associations["000002"].path_up);
}

#[test]
fn join_rejected_for_unknown_tmgi_unauthorized_ue_and_no_capacity_adds_nothing() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    lab.establish(1, 5);
    for (id, cause) in [
        (9, MbsRejectionCause::ContextNotFound),
        (3, MbsRejectionCause::NotAuthorized),
        (4, MbsRejectionCause::InsufficientResources),
    ] {
        let out = lab.mbs(1, 5, MbsOperation::Join, tmgi(id));
        let NasMessage::PduSessionModificationCommand(command) = out.one_nas() else {
            panic!()
        };
        assert_eq!(
            command.received_mbs[0].decision,
            MbsDecision::JoinRejected,
            "TMGI {id}"
        );
        assert_eq!(command.received_mbs[0].cause, Some(cause), "TMGI {id}");
        assert!(command.qos_flow_changes.is_empty());
        assert!(out.resources().is_empty());
    }
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1]);
    assert!(ue.associations.is_empty());
}

#[test]
fn modification_of_an_unknown_session_is_rejected_43() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    let out = lab.mbs(1, 6, MbsOperation::Join, tmgi(1));
    let NasMessage::PduSessionModificationReject(reject) = out.one_nas() else {
        panic!()
    };
    assert_eq!(reject.cause, FiveGsmCause::INVALID_PDU_SESSION_IDENTITY);
    assert_eq!(out.saves(), 0);
}

#[test]
fn leave_by_modification_deletes_the_mbs_flows_and_releases_their_drbs() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    let out = lab.mbs(1, 5, MbsOperation::Leave, tmgi(1));
    let NasMessage::PduSessionModificationCommand(command) = out.one_nas() else {
        panic!()
    };
    assert_eq!(command.received_mbs[0].decision, MbsDecision::RemoveUe);
    assert_eq!(
        command.qos_flow_changes,
        vec![QosFlowChange::Delete {
            qfi: Qfi::new(5).unwrap()
        }]
    );
    assert_eq!(out.resources(), vec![(5, ResourceAction::Release, vec![5])]);
    assert_eq!(out.released(release_cause::LEAVE_MODIFICATION), 1);
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1]);
    assert!(ue.associations.is_empty());
}

#[test]
fn leave_of_a_tmgi_not_joined_on_the_session_is_rejected_and_changes_nothing() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    lab.establish(1, 6);
    let before = lab.ue("0000000001").clone();
    for (psi, id) in [(5, 2), (6, 1)] {
        let out = lab.mbs(1, psi, MbsOperation::Leave, tmgi(id));
        let NasMessage::PduSessionModificationReject(reject) = out.one_nas() else {
            panic!()
        };
        assert_eq!(reject.cause, session::LEAVE_REFUSED);
        assert_eq!(out.saves(), 0);
    }
    assert_eq!(lab.ue("0000000001"), &before);
}

#[test]
fn leave_by_release_takes_the_session_its_flows_and_the_tmgi() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    let out = lab.send_sm(
        1,
        5,
        NasMessage::PduSessionReleaseRequest(PduSessionReleaseRequest {
            pdu_session_id: PduSessionId::new(5).unwrap(),
            pti: Pti(3),
            cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
        }),
    );
    let NasMessage::PduSessionReleaseCommand(command) = out.one_nas() else {
        panic!()
    };
    assert_eq!(command.pti, Pti(3));
    assert_eq!(
        out.resources(),
        vec![(5, ResourceAction::Release, vec![1, 5])]
    );
    let ue = lab.ue("0000000001");
    assert!(ue.sessions.is_empty() && ue.associations.is_empty());
}

#[test]
fn network_leave_commands_removal_with_its_cause_and_pti_0() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    let out = lab.input(Input::NetworkLeave {
        supi: "imsi-001010000000001".into(),
        tmgi: tmgi(1),
        cause: MbsRejectionCause::SessionReleased,
    });
    let NasMessage::PduSessionModificationCommand(command) = out.one_nas() else {
        panic!()
    };
    assert_eq!(command.pti, Pti(0));
    assert_eq!(command.received_mbs[0].decision, MbsDecision::RemoveUe);
    assert_eq!(
        command.received_mbs[0].cause,
        Some(MbsRejectionCause::SessionReleased)
    );
    assert_eq!(out.resources(), vec![(5, ResourceAction::Release, vec![5])]);
    assert!(out.0.contains(&Output::Event(Event::NetworkLeave(Ok(())))));
    assert!(lab.ue("0000000001").associations.is_empty());
    // Again: the UE is no longer in it.
    let out = lab.input(Input::NetworkLeave {
        supi: "imsi-001010000000001".into(),
        tmgi: tmgi(1),
        cause: MbsRejectionCause::SessionReleased,
    });
    assert!(out.nas().is_empty());
    assert!(matches!(
        out.0.last(),
        Some(Output::Event(Event::NetworkLeave(Err(
            NetworkLeaveError::NotJoined { .. }
        ))))
    ));
}

#[test]
fn coverage_lost_pages_every_interval_until_the_ue_answers() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    joined(&mut lab, 2, "0000000002");
    assert!(
        lab.advance(INTERVAL * 3).pagings().is_empty(),
        "paths up: no paging"
    );
    lab.radio(1, RadioEvent::CoverageLost);
    assert!(lab.advance(INTERVAL / 2).pagings().is_empty());
    assert_eq!(
        lab.advance(INTERVAL / 2).pagings(),
        vec![(tmgi(1), vec![1])]
    );
    assert_eq!(lab.advance(INTERVAL).pagings(), vec![(tmgi(1), vec![1])]);
    let ue = lab.ue("0000000001");
    assert_eq!(
        (ue.pagings["000001"], ue.pagings_since_registration),
        (2, 2)
    );
    lab.radio(1, RadioEvent::CoverageRegained);
    lab.radio(1, RadioEvent::PagingResponse(tmgi(1)));
    assert!(
        lab.advance(INTERVAL * 3).pagings().is_empty(),
        "answered: paging stops"
    );
    assert_eq!(lab.core.next_timeout(), None);
    assert_eq!(lab.ue("0000000002").pagings_sent(), 0);
}

/// The seed: out of coverage the UE closed its MBS app (released QFI 5, deleted the TMGI); its
/// mobility registration lists QFI 1 only for session 5: the network releases the MBS QoS flow,
/// deletes the association and stops paging, then accepts.
#[test]
fn seed_mobility_registration_without_the_mbs_qfis_releases_them_and_stops_paging() {
    let mut lab = Lab::new(true);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    assert_eq!(lab.advance(INTERVAL).pagings().len(), 1);
    lab.radio(1, RadioEvent::CoverageRegained);
    let out = lab.mobility(1, guti, &[(5, &[1])], true);
    let NasMessage::RegistrationAccept(accept) = out.one_nas() else {
        panic!()
    };
    assert_eq!(
        accept.pdu_session_status,
        Some(vec![PduSessionId::new(5).unwrap()])
    );
    assert_eq!(out.resources(), vec![(5, ResourceAction::Release, vec![5])]);
    assert_eq!(out.released(release_cause::MBS_QFIS_ABSENT), 1);
    let ue = lab.ue("0000000001");
    assert_eq!(
        qfis(ue, 5),
        vec![1],
        "the PDU session and its other flows stay"
    );
    assert!(ue.associations.is_empty(), "TMGI deleted");
    assert_eq!(ue.pagings_since_registration, 0);
    for _ in 0..5 {
        assert!(
            lab.advance(INTERVAL).pagings().is_empty(),
            "no paging after the registration"
        );
    }
    assert_eq!(lab.ue("0000000001").pagings_since_registration, 0);
    assert_eq!(lab.core.next_timeout(), None);
}

/// The keep case: out of coverage but MBS not closed: QFI 5 listed, everything stays and the
/// UE is still paged (it answers, and its path comes back).
#[test]
fn mobility_registration_listing_the_mbs_qfis_keeps_flows_tmgi_and_paging() {
    let mut lab = Lab::new(true);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    lab.radio(1, RadioEvent::CoverageRegained);
    let out = lab.mobility(1, guti, &[(5, &[1, 5])], true);
    assert!(out.resources().is_empty());
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1, 5]);
    assert!(!ue.associations["000001"].path_up);
    assert_eq!(lab.advance(INTERVAL).pagings(), vec![(tmgi(1), vec![1])]);
    assert_eq!(lab.ue("0000000001").pagings_since_registration, 1);
    lab.radio(1, RadioEvent::PagingResponse(tmgi(1)));
    assert!(lab.advance(INTERVAL).pagings().is_empty());
}

/// The general case: TMGI 2's QFI 6 is listed (kept), its QFI 7 is not: released with its DRB.
#[test]
fn mobility_registration_releases_any_other_unlisted_qfi_with_its_drb() {
    let mut lab = Lab::new(true);
    let guti = lab.register(1, "0000000001");
    lab.establish(1, 5);
    lab.mbs(1, 5, MbsOperation::Join, tmgi(2));
    let out = lab.mobility(1, guti, &[(5, &[1, 6])], true);
    assert_eq!(out.resources(), vec![(5, ResourceAction::Release, vec![7])]);
    assert_eq!(out.released(release_cause::QFI_NOT_LISTED), 1);
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1, 6]);
    assert!(ue.associations.contains_key("000002"));
}

/// Several PDU sessions, each with its own QFI list: only the session whose MBS QFIs are absent
/// loses them; a session absent from the PDU session status is released locally.
#[test]
fn each_pdu_session_is_judged_by_its_own_qfi_list() {
    let mut lab = Lab::new(true);
    let guti = lab.register(1, "0000000001");
    for psi in [5, 6, 7] {
        lab.establish(1, psi);
    }
    lab.mbs(1, 5, MbsOperation::Join, tmgi(1));
    lab.mbs(1, 6, MbsOperation::Join, tmgi(2));
    let out = lab.mobility(1, guti, &[(5, &[1]), (6, &[1, 6, 7])], true);
    assert_eq!(out.resources(), vec![(5, ResourceAction::Release, vec![5])]);
    assert_eq!(out.released(release_cause::NOT_IN_SESSION_STATUS), 1);
    let ue = lab.ue("0000000001");
    assert_eq!(ue.sessions.keys().copied().collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(qfis(ue, 5), vec![1]);
    assert_eq!(qfis(ue, 6), vec![1, 6, 7]);
    assert_eq!(
        ue.associations.keys().cloned().collect::<Vec<_>>(),
        vec!["000002"]
    );
}

/// Without the IE (UE capability off) nothing MBS changes and paging goes on.
#[test]
fn mobility_registration_without_the_ie_changes_nothing_and_paging_goes_on() {
    let mut lab = Lab::new(true);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    lab.radio(1, RadioEvent::CoverageRegained);
    let out = lab.mobility(1, guti, &[(5, &[1])], false);
    assert!(out.resources().is_empty());
    assert_eq!(lab.advance(INTERVAL).pagings(), vec![(tmgi(1), vec![1])]);
    assert_eq!(lab.ue("0000000001").pagings_since_registration, 1);
}

/// The network's capability off: the IE is ignored like an unknown IE.
#[test]
fn network_capability_off_ignores_the_qfi_lists() {
    let mut lab = Lab::new(false);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    let out = lab.mobility(1, guti, &[(5, &[1])], true);
    assert!(out.resources().is_empty());
    assert_eq!(qfis(lab.ue("0000000001"), 5), vec![1, 5]);
    assert_eq!(lab.advance(INTERVAL).pagings().len(), 1);
}

#[test]
fn mobility_registration_with_an_unknown_guti_is_rejected_9() {
    let mut lab = Lab::new(true);
    let guti = Guti::new(plmn(), 1, 1, 0, 0xdead).unwrap();
    let out = lab.mobility(1, guti, &[], true);
    let NasMessage::RegistrationReject(reject) = out.one_nas() else {
        panic!()
    };
    assert_eq!(reject.cause.0, 9);
    assert_eq!(out.saves(), 0);
}

#[test]
fn malformed_nas_is_answered_with_5gmm_status_96_and_changes_nothing() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    let before = lab.ue("0000000001").clone();
    // REGISTRATION REQUEST whose mandatory 5GS mobile identity is cut short.
    let out = lab.pdu(1, vec![0x7e, 0x00, 0x41, 0x09, 0x00, 0x0b, 0x02]);
    let NasMessage::FiveGmmStatus(status) = out.one_nas() else {
        panic!("{:?}", out.0)
    };
    assert_eq!(
        status.cause,
        corelab_nas::FiveGmmCause::INVALID_MANDATORY_INFORMATION
    );
    assert_eq!(out.saves(), 0);
    assert_eq!(lab.ue("0000000001"), &before);
}

#[test]
fn a_5gsm_message_from_an_unknown_ue_is_answered_5gmm_status_98() {
    let mut lab = Lab::new(true);
    let out = lab.establish(42, 5);
    let NasMessage::FiveGmmStatus(status) = out.one_nas() else {
        panic!()
    };
    assert_eq!(
        status.cause,
        corelab_nas::FiveGmmCause::MESSAGE_TYPE_NOT_COMPATIBLE
    );
}

/// A restarted session-manager takes its contexts back from the store: the UE is found by its
/// 5G-GUTI and by its gNB + RAN-UE-NGAP-ID, and paging of a UE whose path is down resumes.
#[test]
fn restored_contexts_find_the_ue_and_resume_paging() {
    let mut lab = Lab::new(true);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    let kept = lab.ue("0000000001").clone();
    let mut restarted = Lab::new(true);
    restarted.core.restore(restarted.now, vec![kept]);
    assert_eq!(
        restarted.advance(INTERVAL).pagings(),
        vec![(tmgi(1), vec![1])]
    );
    let out = restarted.mobility(1, guti, &[(5, &[1])], true);
    assert!(matches!(out.one_nas(), NasMessage::RegistrationAccept(_)));
    assert!(restarted.ue("0000000001").associations.is_empty());
    // A new UE gets a 5G-GUTI of its own.
    assert_ne!(restarted.register(2, "0000000002"), guti);
}

/// A gNB that restarted gives RAN-UE-NGAP-ID 1 to another UE: the first UE's paging must not
/// steal it back, and the new UE's messages reach the new UE.
#[test]
fn a_ran_ue_id_reused_by_another_ue_belongs_to_the_new_ue() {
    let mut lab = Lab::new(true);
    joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    lab.register(1, "0000000002");
    assert_eq!(lab.ue("0000000001").location, None);
    assert!(
        lab.advance(INTERVAL).pagings().is_empty(),
        "no gNB to page the first UE on"
    );
    let out = lab.establish(1, 5);
    assert!(matches!(
        out.one_nas(),
        NasMessage::PduSessionEstablishmentAccept(_)
    ));
    assert!(lab.ue("0000000002").sessions.contains_key(&5));
    assert!(
        !lab.ue("0000000001").sessions.is_empty(),
        "the first UE keeps its own sessions"
    );
}

/// Periodic registration updating by 5G-GUTI: accepted with the sessions kept, counted by type,
/// and the paging counter since registration reset.
#[test]
fn periodic_registration_keeps_the_sessions_and_resets_pagings_since_registration() {
    let mut lab = Lab::new(true);
    let guti = joined(&mut lab, 1, "0000000001");
    lab.radio(1, RadioEvent::CoverageLost);
    lab.advance(INTERVAL);
    assert_eq!(lab.ue("0000000001").pagings_since_registration, 1);
    let NasMessage::RegistrationRequest(mut request) = registration(
        RegistrationType::PeriodicUpdating,
        FiveGsMobileIdentity::Guti(guti),
    ) else {
        unreachable!()
    };
    request.pdu_session_status = Some(vec![PduSessionId::new(5).unwrap()]);
    let out = lab.send(1, NasMessage::RegistrationRequest(request));
    assert!(
        out.0
            .contains(&Output::Event(Event::Registration("periodic")))
    );
    let NasMessage::RegistrationAccept(accept) = out.one_nas() else {
        panic!()
    };
    assert_eq!(accept.guti, Some(guti), "the 5G-GUTI stays");
    let ue = lab.ue("0000000001");
    assert_eq!(qfis(ue, 5), vec![1, 5]);
    assert_eq!((ue.pagings_since_registration, ue.pagings_sent()), (0, 1));
}

#[test]
fn establishment_beyond_max_sessions_is_rejected_65() {
    let mut lab = Lab::new(true);
    lab.register(1, "0000000001");
    for psi in 1..=4 {
        lab.establish(1, psi);
    }
    let out = lab.establish(1, 9);
    let NasMessage::PduSessionEstablishmentReject(reject) = out.one_nas() else {
        panic!()
    };
    assert_eq!(reject.cause, session::MAX_SESSIONS);
    assert_eq!(out.saves(), 0);
    assert_eq!(lab.ue("0000000001").sessions.len(), 4);
}
