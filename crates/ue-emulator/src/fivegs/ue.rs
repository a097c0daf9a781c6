//! One emulated UE's 5GMM/5GSM state, free of IO: the shell feeds it commands, downlink NAS
//! PDUs, resource commands and pagings with `handle(now, input)` and drains what it must send
//! and report with `poll()` — the shape of the Diameter peer FSM (docs/diameter.md), so the
//! gNB, the load mode and the unit tests drive the same code.
//!
//! It plays the UE side of specs/mbs-mobility.md (seed 000, claims 1-4, fig. 2 and 4) over the
//! flows of the MBS contract (docs/ue-emulator.md): register, establish PDU sessions, join an
//! MBS session by TMGI on a reused or a new session, lose coverage, close the MBS app locally
//! (release the MBS QoS flows, keep the others, delete the TMGI), regain coverage and
//! mobility-register with the per-session QFI lists (or, capability off, the PDU session status
//! only), leave by modification, by release or on the network's command, and answer a TMGI
//! paging only in coverage and while it still holds the TMGI.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use corelab_nas::{
    Direction, FiveGmmCause, FiveGsMobileIdentity, FiveGsmCause, Guti, MbsDecision,
    MbsDecisionRecord, MbsOperation, MbsRejectionCause, MbsRequest, NasMessage,
    PduSessionEstablishmentRequest, PduSessionId, PduSessionModificationComplete,
    PduSessionModificationRequest, PduSessionQfiLists, PduSessionReleaseComplete,
    PduSessionReleaseRequest, PduSessionType, Pti, Qfi, QosFlowChange, RegistrationRequest,
    RegistrationType, SscMode, Tmgi, UlNasTransport,
};

use crate::fivegs::identity::{Subscriber, same_tmgi, tmgi_text};
use crate::fivegs::session::{JoinedOn, MbsService, PduSession, Sessions};

/// How long a procedure may wait for the network before it fails (the lab's stand-in for
/// T3510 / T3580 / T3581 / T3582, TS 24.501 §10.2-§10.3, without retransmission).
pub const DEFAULT_PROCEDURE_TIMEOUT: Duration = Duration::from_secs(5);

/// A UE's configuration.
#[derive(Debug, Clone)]
pub struct UeConfig {
    /// Its SUPI's parts.
    pub subscriber: Subscriber,
    /// Capability `qfi_lists`: the mobility REGISTRATION REQUEST carries the per-session QFI
    /// lists IE (the seed's UE step 4); off, only the standard PDU session status.
    pub qfi_lists: bool,
    /// See [`DEFAULT_PROCEDURE_TIMEOUT`].
    pub procedure_timeout: Duration,
}

/// The procedures a UE runs, each timed from its command to its last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Procedure {
    /// Initial registration (contract flow 1).
    Register,
    /// PDU session establishment (flow 2).
    Establish,
    /// MBS join (flow 3), on a new session including its establishment.
    Join,
    /// MBS leave by modification or release (flows 4, 5).
    Leave,
    /// Out of coverage (flow 7).
    LoseCoverage,
    /// Back in coverage with its mobility registration (flows 7, 9).
    RegainCoverage,
    /// Local MBS close (flow 10).
    CloseMbsApp,
    /// A raw NAS PDU sent for a negative test.
    SendRaw,
}

impl Procedure {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Establish => "establish",
            Self::Join => "join",
            Self::Leave => "leave",
            Self::LoseCoverage => "lose_coverage",
            Self::RegainCoverage => "regain_coverage",
            Self::CloseMbsApp => "close_mbs_app",
            Self::SendRaw => "send_raw",
        }
    }
}

/// How the UE leaves an MBS session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveHow {
    /// As it joined: by modification on a reused session, by release on a new one.
    AsJoined,
    /// PDU SESSION MODIFICATION REQUEST with the Requested MBS container (leave).
    Modification,
    /// PDU SESSION RELEASE REQUEST.
    Release,
}

/// What the shell asks a UE to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Initial registration with the SUCI.
    Register,
    /// Establish PDU session `psi` (`None`: the lowest free identity).
    Establish {
        /// The session.
        psi: Option<u8>,
    },
    /// Join the MBS session `tmgi` on PDU session `psi` (reused), or on a new session.
    Join {
        /// The MBS session.
        tmgi: Tmgi,
        /// `Some`: reuse this PDU session; `None`: establish a new one for it.
        psi: Option<u8>,
    },
    /// Leave the MBS session `tmgi`.
    Leave {
        /// The MBS session.
        tmgi: Tmgi,
        /// By modification or release.
        how: LeaveHow,
    },
    /// Radio link lost.
    LoseCoverage,
    /// Back in coverage: then the mobility registration.
    RegainCoverage,
    /// The user closes the MBS app (`None`: every MBS session) while out of coverage.
    CloseMbsApp {
        /// The MBS session, or all.
        tmgi: Option<Tmgi>,
    },
    /// Send these octets as an uplink NAS PDU (negative tests); done when the network answers
    /// with a STATUS or a reject, or on the timeout.
    SendRaw {
        /// The PDU.
        pdu: Vec<u8>,
    },
}

impl Command {
    /// The procedure it runs.
    pub fn procedure(&self) -> Procedure {
        match self {
            Self::Register => Procedure::Register,
            Self::Establish { .. } => Procedure::Establish,
            Self::Join { .. } => Procedure::Join,
            Self::Leave { .. } => Procedure::Leave,
            Self::LoseCoverage => Procedure::LoseCoverage,
            Self::RegainCoverage => Procedure::RegainCoverage,
            Self::CloseMbsApp { .. } => Procedure::CloseMbsApp,
            Self::SendRaw { .. } => Procedure::SendRaw,
        }
    }
}

/// What the radio side of the gNB reports for this UE (N1 `RadioEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioEvent {
    /// Out of coverage.
    CoverageLost,
    /// Back in coverage.
    CoverageRegained,
    /// The UE answers a paging for `tmgi`.
    PagingResponse(Tmgi),
}

/// A procedure's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Which.
    pub procedure: Procedure,
    /// Accepted / done.
    pub ok: bool,
    /// What happened, for people.
    pub detail: String,
    /// The cause the network gave, with its kind.
    pub cause: Option<Cause>,
    /// From the command to the end.
    pub elapsed: Duration,
}

/// A cause the network answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// 5GMM cause (REGISTRATION REJECT, 5GMM STATUS).
    FiveGmm(u8),
    /// 5GSM cause (a reject, 5GSM STATUS).
    FiveGsm(u8),
    /// MBS rejection / removal cause of a Received MBS container entry.
    Mbs(u8),
}

/// What a UE gives its shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// An uplink NAS PDU.
    Uplink(Vec<u8>),
    /// A radio event for the network.
    Radio(RadioEvent),
    /// A procedure ended.
    Done(Outcome),
    /// A downlink PDU that did not decode (TS 24.501 clause 7), why: for a log line.
    Malformed(String),
}

/// What a UE is fed.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// A command.
    Command(Command),
    /// A downlink NAS PDU.
    Downlink(&'a [u8]),
    /// The gNB set up (`true`) or released DRBs for QoS flows `qfis` of session `psi`.
    Resource {
        /// The PDU session.
        psi: u8,
        /// Setup or release.
        setup: bool,
        /// The flows.
        qfis: Vec<u8>,
    },
    /// A paging with `tmgi` for this UE.
    Paging(Tmgi),
    /// Time passes (procedure timeout).
    Tick,
}

/// A STATUS the UE received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusReceived {
    /// 5GMM or 5GSM, with its cause.
    pub cause: Cause,
}

/// Counters of the pagings this UE's gNB delivered to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagingCounters {
    /// Every paging for this UE.
    pub received: u64,
    /// Answered with a paging response.
    pub answered: u64,
    /// Not answered: out of coverage, or the TMGI is no longer held.
    pub missed: u64,
    /// Received since the last REGISTRATION ACCEPT.
    pub since_registration: u64,
}

#[derive(Debug, Clone)]
enum Pending {
    Register {
        kind: RegistrationType,
    },
    Establish {
        psi: PduSessionId,
        pti: Pti,
        /// Join this TMGI on the new session once it is up.
        then_join: Option<Tmgi>,
    },
    Join {
        psi: PduSessionId,
        pti: Pti,
        tmgi: Tmgi,
        joined_on: JoinedOn,
    },
    LeaveByModification {
        psi: PduSessionId,
        pti: Pti,
        tmgi: Tmgi,
    },
    LeaveByRelease {
        psi: PduSessionId,
        pti: Pti,
    },
    SendRaw,
}

/// One emulated UE.
#[derive(Debug)]
pub struct Ue {
    cfg: UeConfig,
    registered: bool,
    guti: Option<Guti>,
    in_coverage: bool,
    sessions: Sessions,
    next_pti: u8,
    pending: Option<(Procedure, Instant, Pending)>,
    pagings: PagingCounters,
    downlink_dropped: u64,
    malformed_downlink: u64,
    statuses: Vec<StatusReceived>,
    network_leaves: u64,
    last_outcome: Option<Outcome>,
    out: VecDeque<Output>,
}

impl Ue {
    /// A UE, switched on, in coverage, not registered.
    pub fn new(cfg: UeConfig) -> Self {
        Self {
            cfg,
            registered: false,
            guti: None,
            in_coverage: true,
            sessions: Sessions::new(),
            next_pti: 1,
            pending: None,
            pagings: PagingCounters::default(),
            downlink_dropped: 0,
            malformed_downlink: 0,
            statuses: Vec::new(),
            network_leaves: 0,
            last_outcome: None,
            out: VecDeque::new(),
        }
    }

    /// The next thing to send or report.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the running procedure times out, if one runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .as_ref()
            .map(|(_, started, _)| *started + self.cfg.procedure_timeout)
    }

    /// Feed one input.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Command(command) => self.command(now, command),
            Input::Downlink(pdu) => {
                if self.in_coverage {
                    self.downlink(now, pdu);
                } else {
                    self.downlink_dropped += 1;
                }
            }
            Input::Resource { psi, setup, qfis } => {
                if self.in_coverage {
                    self.resource(psi, setup, &qfis);
                } else {
                    self.downlink_dropped += 1;
                }
            }
            Input::Paging(tmgi) => self.paging(tmgi),
            Input::Tick => {
                if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
                    self.finish(now, false, "no answer from the network (timeout)", None);
                }
            }
        }
    }

    // ---- read side -------------------------------------------------------------------

    /// Its configuration.
    pub fn config(&self) -> &UeConfig {
        &self.cfg
    }
    /// Registered (a REGISTRATION ACCEPT seen, not rejected since).
    pub fn registered(&self) -> bool {
        self.registered
    }
    /// The 5G-GUTI the network assigned.
    pub fn guti(&self) -> Option<Guti> {
        self.guti
    }
    /// In radio coverage.
    pub fn in_coverage(&self) -> bool {
        self.in_coverage
    }
    /// The PDU sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
    /// The running procedure.
    pub fn busy(&self) -> Option<Procedure> {
        self.pending.as_ref().map(|(p, _, _)| *p)
    }
    /// Paging counters.
    pub fn pagings(&self) -> PagingCounters {
        self.pagings
    }
    /// Downlink messages dropped while out of coverage.
    pub fn downlink_dropped(&self) -> u64 {
        self.downlink_dropped
    }
    /// Downlink NAS PDUs that did not decode.
    pub fn malformed_downlink(&self) -> u64 {
        self.malformed_downlink
    }
    /// 5GMM / 5GSM STATUS messages received.
    pub fn statuses(&self) -> &[StatusReceived] {
        &self.statuses
    }
    /// Network-initiated MBS leaves received.
    pub fn network_leaves(&self) -> u64 {
        self.network_leaves
    }
    /// The last procedure's end.
    pub fn last_outcome(&self) -> Option<&Outcome> {
        self.last_outcome.as_ref()
    }
    /// Set the `qfi_lists` capability.
    pub fn set_qfi_lists(&mut self, on: bool) {
        self.cfg.qfi_lists = on;
    }
    /// The TMGIs the UE holds, with their session.
    pub fn tmgis(&self) -> Vec<(PduSessionId, &MbsService)> {
        (self.sessions.values())
            .flat_map(|s| s.mbs.iter().map(move |m| (s.id, m)))
            .collect()
    }

    // ---- commands --------------------------------------------------------------------

    fn command(&mut self, now: Instant, command: Command) {
        let procedure = command.procedure();
        if let Some((running, _, _)) = &self.pending {
            let detail = format!("busy with {}", running.name());
            self.report(procedure, false, detail, None, Duration::ZERO);
            return;
        }
        let needs_coverage = !matches!(
            command,
            Command::LoseCoverage | Command::RegainCoverage | Command::CloseMbsApp { .. }
        );
        if needs_coverage && !self.in_coverage {
            self.report(
                procedure,
                false,
                "out of coverage".into(),
                None,
                Duration::ZERO,
            );
            return;
        }
        let needs_registration = matches!(
            command,
            Command::Establish { .. } | Command::Join { .. } | Command::Leave { .. }
        );
        if needs_registration && !self.registered {
            self.report(
                procedure,
                false,
                "not registered".into(),
                None,
                Duration::ZERO,
            );
            return;
        }
        let result = match command {
            Command::Register => self.register(RegistrationType::Initial),
            Command::Establish { psi } => self.establish(psi, None),
            Command::Join { tmgi, psi } => self.join(tmgi, psi),
            Command::Leave { tmgi, how } => self.leave(tmgi, how),
            Command::LoseCoverage => {
                self.lose_coverage();
                return;
            }
            Command::RegainCoverage => self.regain_coverage(),
            Command::CloseMbsApp { tmgi } => {
                let detail = self.close_mbs_app(tmgi);
                let ok = detail.is_ok();
                self.report(
                    procedure,
                    ok,
                    detail.unwrap_or_else(|e| e),
                    None,
                    Duration::ZERO,
                );
                return;
            }
            Command::SendRaw { pdu } => {
                self.out.push_back(Output::Uplink(pdu));
                Ok(Some(Pending::SendRaw))
            }
        };
        match result {
            Ok(Some(pending)) => self.pending = Some((procedure, now, pending)),
            Ok(None) => self.report(procedure, true, "done".into(), None, Duration::ZERO),
            Err(detail) => self.report(procedure, false, detail, None, Duration::ZERO),
        }
    }

    fn register(&mut self, kind: RegistrationType) -> Result<Option<Pending>, String> {
        let identity = match (kind, self.guti) {
            (RegistrationType::Initial, _) | (_, None) => {
                FiveGsMobileIdentity::Suci(self.cfg.subscriber.suci()?)
            }
            (_, Some(guti)) => FiveGsMobileIdentity::Guti(guti),
        };
        let mobility = kind == RegistrationType::MobilityUpdating;
        let status: Vec<PduSessionId> = self.sessions.keys().copied().collect();
        // Seed UE step 4: each PDU session with the QFIs of its remaining QoS flows.
        let qfi_lists = (mobility && self.cfg.qfi_lists).then(|| {
            PduSessionQfiLists(
                (self.sessions.values())
                    .map(|s| (s.id, s.qfis.iter().copied().collect()))
                    .collect(),
            )
        });
        let request = NasMessage::RegistrationRequest(RegistrationRequest {
            registration_type: kind,
            follow_on_request: false,
            ngksi: None,
            identity,
            pdu_session_status: mobility.then_some(status),
            uplink_data_status: None,
            qfi_lists,
        });
        self.send(&request)?;
        Ok(Some(Pending::Register { kind }))
    }

    fn establish(
        &mut self,
        psi: Option<u8>,
        then_join: Option<Tmgi>,
    ) -> Result<Option<Pending>, String> {
        let psi = match psi {
            Some(value) => PduSessionId::new(value).map_err(|e| e.to_string())?,
            None => (1..=15)
                .filter_map(|v| PduSessionId::new(v).ok())
                .find(|id| !self.sessions.contains_key(id))
                .ok_or("all 15 PDU session identities are in use")?,
        };
        if self.sessions.contains_key(&psi) {
            return Err(format!("PDU session {} exists", psi.get()));
        }
        let pti = self.pti();
        self.send_sm(
            psi,
            NasMessage::PduSessionEstablishmentRequest(PduSessionEstablishmentRequest {
                pdu_session_id: psi,
                pti,
                integrity_protection_maximum_data_rate: [0xff, 0xff],
                pdu_session_type: Some(PduSessionType::Ipv4),
                ssc_mode: Some(SscMode::Ssc1),
            }),
        )?;
        Ok(Some(Pending::Establish {
            psi,
            pti,
            then_join,
        }))
    }

    /// Seed UE step 1: the join request, on an existing PDU session or on a new one.
    fn join(&mut self, tmgi: Tmgi, psi: Option<u8>) -> Result<Option<Pending>, String> {
        if self.tmgis().iter().any(|(_, s)| same_tmgi(&s.tmgi, &tmgi)) {
            return Err(format!("already in MBS session {}", tmgi_text(&tmgi)));
        }
        let Some(value) = psi else {
            return self.establish(None, Some(tmgi));
        };
        let psi = PduSessionId::new(value).map_err(|e| e.to_string())?;
        if !self.sessions.contains_key(&psi) {
            return Err(format!("no PDU session {value}"));
        }
        self.send_join(psi, tmgi, JoinedOn::Reused).map(Some)
    }

    fn send_join(
        &mut self,
        psi: PduSessionId,
        tmgi: Tmgi,
        joined_on: JoinedOn,
    ) -> Result<Pending, String> {
        let pti = self.pti();
        self.send_sm(
            psi,
            modification_request(psi, pti, MbsOperation::Join, tmgi),
        )?;
        Ok(Pending::Join {
            psi,
            pti,
            tmgi,
            joined_on,
        })
    }

    /// Seed UE step 6: leave by modification (reused session) or by release (new session).
    fn leave(&mut self, tmgi: Tmgi, how: LeaveHow) -> Result<Option<Pending>, String> {
        let found =
            (self.sessions.values()).find_map(|s| s.service(&tmgi).map(|m| (s.id, m.joined_on)));
        let (psi, joined_on) = match found {
            Some(found) => found,
            // Not held: ask anyway on the first session (the network decides: a leave test).
            None => match (self.sessions.keys().next(), how) {
                (Some(psi), LeaveHow::Release) => (*psi, JoinedOn::NewSession),
                (Some(psi), _) => (*psi, JoinedOn::Reused),
                (None, _) => return Err("no PDU session".into()),
            },
        };
        let by_release = match how {
            LeaveHow::AsJoined => joined_on == JoinedOn::NewSession,
            LeaveHow::Modification => false,
            LeaveHow::Release => true,
        };
        let pti = self.pti();
        if by_release {
            self.send_sm(
                psi,
                NasMessage::PduSessionReleaseRequest(PduSessionReleaseRequest {
                    pdu_session_id: psi,
                    pti,
                    cause: Some(FiveGsmCause::REGULAR_DEACTIVATION),
                }),
            )?;
            Ok(Some(Pending::LeaveByRelease { psi, pti }))
        } else {
            self.send_sm(
                psi,
                modification_request(psi, pti, MbsOperation::Leave, tmgi),
            )?;
            Ok(Some(Pending::LeaveByModification { psi, pti, tmgi }))
        }
    }

    fn lose_coverage(&mut self) {
        if !self.in_coverage {
            self.report(
                Procedure::LoseCoverage,
                false,
                "already out of coverage".into(),
                None,
                Duration::ZERO,
            );
            return;
        }
        self.in_coverage = false;
        self.out.push_back(Output::Radio(RadioEvent::CoverageLost));
        self.report(
            Procedure::LoseCoverage,
            true,
            "out of coverage".into(),
            None,
            Duration::ZERO,
        );
    }

    /// Back in coverage (seed UE step 4): the mobility registration, if registered.
    fn regain_coverage(&mut self) -> Result<Option<Pending>, String> {
        if self.in_coverage {
            return Err("already in coverage".into());
        }
        self.in_coverage = true;
        self.out
            .push_back(Output::Radio(RadioEvent::CoverageRegained));
        if !self.registered {
            return Ok(None);
        }
        self.register(RegistrationType::MobilityUpdating)
    }

    /// Seed UE step 3 (claim 2): out of coverage and the MBS app closed: release the resources
    /// of every MBS QoS flow, keep every other QoS flow, delete the TMGI; the PDU session stays.
    fn close_mbs_app(&mut self, tmgi: Option<Tmgi>) -> Result<String, String> {
        if self.in_coverage {
            return Err("in coverage: leave the MBS session instead (seed UE step 6)".into());
        }
        let mut closed = Vec::new();
        for session in self.sessions.values_mut() {
            let tmgis: Vec<Tmgi> = (session.mbs.iter())
                .map(|m| m.tmgi)
                .filter(|t| tmgi.is_none_or(|wanted| same_tmgi(t, &wanted)))
                .collect();
            for t in tmgis {
                let released = session.remove_service(&t);
                closed.push(format!(
                    "{} on PDU session {} (QFIs {:?} released)",
                    tmgi_text(&t),
                    session.id.get(),
                    released.iter().map(|q| q.get()).collect::<Vec<_>>()
                ));
            }
        }
        if closed.is_empty() {
            return Err("no MBS session to close".into());
        }
        Ok(format!("MBS app closed: {}", closed.join(", ")))
    }

    // ---- downlink --------------------------------------------------------------------

    fn downlink(&mut self, now: Instant, pdu: &[u8]) {
        let message = match corelab_nas::decode(pdu, Direction::Downlink) {
            Ok(message) => message,
            Err(rejection) => {
                self.malformed_downlink += 1;
                self.out
                    .push_back(Output::Malformed(rejection.reason.clone()));
                if let Some(answer) = rejection.answer {
                    let _ = self.send(&answer);
                }
                return;
            }
        };
        match message {
            NasMessage::RegistrationAccept(accept) => self.registration_accept(now, accept),
            NasMessage::RegistrationReject(reject) => {
                self.registered = false;
                if self.pending_is(|p| matches!(p, Pending::Register { .. })) {
                    let cause = Some(Cause::FiveGmm(reject.cause.0));
                    self.finish(now, false, "REGISTRATION REJECT", cause);
                }
            }
            NasMessage::FiveGmmStatus(status) => {
                let cause = Cause::FiveGmm(status.cause.0);
                self.statuses.push(StatusReceived { cause });
                if self.pending_is(|p| matches!(p, Pending::SendRaw)) {
                    self.finish(now, false, "5GMM STATUS", Some(cause));
                }
            }
            NasMessage::DlNasTransport(transport) => self.session_message(now, *transport.n1_sm),
            other => {
                // A 5GSM message outside a DL NAS TRANSPORT (or a 5GMM one the UE does not
                // expect): a 5GSM STATUS may come bare in answer to a bare raw PDU.
                if let NasMessage::FiveGsmStatus(status) = other {
                    self.gsm_status(now, status.cause);
                } else if is_session_message(&other) {
                    self.session_message(now, other);
                } else {
                    let status = NasMessage::FiveGmmStatus(corelab_nas::FiveGmmStatus {
                        cause: FiveGmmCause::MESSAGE_TYPE_NOT_COMPATIBLE,
                    });
                    let _ = self.send(&status);
                }
            }
        }
    }

    fn registration_accept(&mut self, now: Instant, accept: corelab_nas::RegistrationAccept) {
        let Some((_, _, Pending::Register { kind })) = &self.pending else {
            return;
        };
        let kind = *kind;
        self.registered = true;
        if accept.guti.is_some() {
            self.guti = accept.guti;
        }
        self.pagings.since_registration = 0;
        // TS 24.501 §5.5.1.3.4: sessions the network no longer has are released locally.
        if let (RegistrationType::MobilityUpdating, Some(active)) =
            (kind, &accept.pdu_session_status)
        {
            self.sessions.retain(|id, _| active.contains(id));
        }
        let _ = self.send(&NasMessage::RegistrationComplete);
        self.finish(now, true, "REGISTRATION ACCEPT", None);
    }

    /// A 5GSM message (the PDU session is the one inside it; the transport's is for routing).
    fn session_message(&mut self, now: Instant, message: NasMessage) {
        // A raw PDU of a negative test ends on the network's reject of it (TS 24.501 §7.3).
        let reject = match &message {
            NasMessage::PduSessionEstablishmentReject(r) => Some((r.cause, message.name())),
            NasMessage::PduSessionModificationReject(r) => Some((r.cause, message.name())),
            _ => None,
        };
        if let Some((cause, name)) = reject
            && self.pending_is(|p| matches!(p, Pending::SendRaw))
        {
            self.finish(now, false, name, Some(Cause::FiveGsm(cause.0)));
            return;
        }
        match message {
            NasMessage::PduSessionEstablishmentAccept(accept) => {
                let Some((
                    _,
                    _,
                    Pending::Establish {
                        psi: want,
                        pti,
                        then_join,
                    },
                )) = &self.pending
                else {
                    return;
                };
                if *want != accept.pdu_session_id || *pti != accept.pti {
                    return;
                }
                let then_join = *then_join;
                let created: Vec<Qfi> = (accept.qos_flow_changes.iter())
                    .filter_map(|c| match c {
                        QosFlowChange::Create { qfi, .. } => Some(*qfi),
                        QosFlowChange::Delete { .. } => None,
                    })
                    .collect();
                // The default QoS flow is QFI 1 when the accept lists no flow description.
                let qfis = if created.is_empty() {
                    Qfi::new(1).into_iter().collect()
                } else {
                    created
                };
                let id = accept.pdu_session_id;
                self.sessions.insert(id, PduSession::new(id, qfis));
                match then_join {
                    None => self.finish(now, true, "PDU SESSION ESTABLISHMENT ACCEPT", None),
                    Some(tmgi) => match self.send_join(id, tmgi, JoinedOn::NewSession) {
                        Ok(pending) => {
                            if let Some((_, _, slot)) = &mut self.pending {
                                *slot = pending;
                            }
                        }
                        Err(detail) => self.finish(now, false, &detail, None),
                    },
                }
            }
            NasMessage::PduSessionEstablishmentReject(reject)
                if self.pending_is(
                    |p| matches!(p, Pending::Establish { pti, .. } if *pti == reject.pti),
                ) =>
            {
                let cause = Some(Cause::FiveGsm(reject.cause.0));
                self.finish(now, false, "PDU SESSION ESTABLISHMENT REJECT", cause);
            }
            NasMessage::PduSessionModificationCommand(command) => {
                self.modification_command(now, command)
            }
            NasMessage::PduSessionModificationReject(reject) => {
                let ours = self.pending_is(|p| match p {
                    Pending::Join { pti, .. } | Pending::LeaveByModification { pti, .. } => {
                        *pti == reject.pti
                    }
                    _ => false,
                });
                if ours {
                    let cause = Some(Cause::FiveGsm(reject.cause.0));
                    self.finish(now, false, "PDU SESSION MODIFICATION REJECT", cause);
                }
            }
            NasMessage::PduSessionReleaseCommand(command) => {
                // Flow 5, and a network-initiated release: the session and all it carries go.
                self.sessions.remove(&command.pdu_session_id);
                let _ = self.send_sm(
                    command.pdu_session_id,
                    NasMessage::PduSessionReleaseComplete(PduSessionReleaseComplete {
                        pdu_session_id: command.pdu_session_id,
                        pti: command.pti,
                    }),
                );
                let ours = self.pending_is(|p| {
                    matches!(p, Pending::LeaveByRelease { psi, pti }
                        if *pti == command.pti && *psi == command.pdu_session_id)
                });
                if ours {
                    self.finish(now, true, "PDU SESSION RELEASE COMMAND", None);
                }
            }
            NasMessage::FiveGsmStatus(status) => self.gsm_status(now, status.cause),
            _ => {}
        }
    }

    fn gsm_status(&mut self, now: Instant, cause: FiveGsmCause) {
        let cause = Cause::FiveGsm(cause.0);
        self.statuses.push(StatusReceived { cause });
        if self.pending.is_some() {
            self.finish(now, false, "5GSM STATUS", Some(cause));
        }
    }

    /// Flows 3, 4 and 6: the network's answer to a join or leave, or its own leave command.
    fn modification_command(
        &mut self,
        now: Instant,
        command: corelab_nas::PduSessionModificationCommand,
    ) {
        let psi = command.pdu_session_id;
        let created: BTreeSet<Qfi> = (command.qos_flow_changes.iter())
            .filter_map(|c| match c {
                QosFlowChange::Create { qfi, .. } => Some(*qfi),
                QosFlowChange::Delete { .. } => None,
            })
            .collect();
        let deleted: BTreeSet<Qfi> = (command.qos_flow_changes.iter())
            .filter_map(|c| match c {
                QosFlowChange::Delete { qfi } => Some(*qfi),
                QosFlowChange::Create { .. } => None,
            })
            .collect();
        let answer = |ue: &mut Self| {
            let _ = ue.send_sm(
                psi,
                NasMessage::PduSessionModificationComplete(PduSessionModificationComplete {
                    pdu_session_id: psi,
                    pti: command.pti,
                }),
            );
        };
        let pending = self.pending.as_ref().map(|(_, _, pending)| pending.clone());
        match pending {
            Some(Pending::Join {
                psi: want,
                pti,
                tmgi,
                joined_on,
            }) if pti == command.pti && want == psi => {
                let decision = decision_for(&command.received_mbs, &tmgi);
                match decision {
                    Some(MbsDecisionRecord {
                        decision: MbsDecision::JoinAccepted,
                        ..
                    }) => {
                        // Seed UE step 2: the MBS QoS flows of the TMGI in this session.
                        if let Some(session) = self.sessions.get_mut(&psi) {
                            session.qfis.extend(created.iter().copied());
                            session.mbs.push(MbsService {
                                tmgi,
                                qfis: created,
                                joined_on,
                            });
                        }
                        answer(self);
                        self.finish(now, true, "MBS join accepted", None);
                    }
                    other => {
                        answer(self);
                        let cause = other.and_then(|r| r.cause).map(mbs_cause);
                        self.finish(now, false, "MBS join rejected", cause);
                    }
                }
            }
            Some(Pending::LeaveByModification {
                psi: want,
                pti,
                tmgi,
            }) if pti == command.pti && want == psi => {
                if let Some(session) = self.sessions.get_mut(&psi) {
                    session.remove_service(&tmgi);
                    session.release_flows(&deleted);
                }
                answer(self);
                self.finish(now, true, "MBS leave accepted", None);
            }
            _ => {
                // Flow 6: network-initiated (PTI 0): the UE ends the MBS services removed.
                let removed: Vec<&MbsDecisionRecord> = (command.received_mbs.iter())
                    .filter(|r| r.decision == MbsDecision::RemoveUe)
                    .collect();
                if let Some(session) = self.sessions.get_mut(&psi) {
                    for record in &removed {
                        session.remove_service(&record.tmgi);
                    }
                    session.release_flows(&deleted);
                    session.qfis.extend(created.iter().copied());
                }
                self.network_leaves += removed.len() as u64;
                answer(self);
            }
        }
    }

    fn resource(&mut self, psi: u8, setup: bool, qfis: &[u8]) {
        let Some(session) = PduSessionId::new(psi)
            .ok()
            .and_then(|id| self.sessions.get_mut(&id))
        else {
            return;
        };
        let qfis = qfis.iter().filter_map(|q| Qfi::new(*q).ok());
        if setup {
            session.drbs.extend(qfis);
        } else {
            for qfi in qfis {
                session.drbs.remove(&qfi);
            }
        }
    }

    /// Contract flow 8: answer a TMGI paging only in coverage and while holding the TMGI.
    fn paging(&mut self, tmgi: Tmgi) {
        self.pagings.received += 1;
        self.pagings.since_registration += 1;
        let holds = self.tmgis().iter().any(|(_, s)| same_tmgi(&s.tmgi, &tmgi));
        if self.in_coverage && holds {
            self.pagings.answered += 1;
            self.out
                .push_back(Output::Radio(RadioEvent::PagingResponse(tmgi)));
        } else {
            self.pagings.missed += 1;
        }
    }

    // ---- helpers ---------------------------------------------------------------------

    fn pti(&mut self) -> Pti {
        let pti = Pti(self.next_pti);
        self.next_pti = if self.next_pti >= 127 {
            1
        } else {
            self.next_pti + 1
        };
        pti
    }

    fn send(&mut self, message: &NasMessage) -> Result<(), String> {
        let pdu = message
            .encode()
            .map_err(|e| format!("cannot encode {}: {e}", message.name()))?;
        self.out.push_back(Output::Uplink(pdu));
        Ok(())
    }

    fn send_sm(&mut self, psi: PduSessionId, message: NasMessage) -> Result<(), String> {
        self.send(&NasMessage::UlNasTransport(UlNasTransport {
            pdu_session_id: psi,
            n1_sm: Box::new(message),
        }))
    }

    fn pending_is(&self, test: impl Fn(&Pending) -> bool) -> bool {
        self.pending.as_ref().is_some_and(|(_, _, p)| test(p))
    }

    fn finish(&mut self, now: Instant, ok: bool, detail: &str, cause: Option<Cause>) {
        // A failed leave by release keeps the session; a failed join on a new session keeps the
        // session it made (the network may still use it).
        if let Some((procedure, started, _)) = self.pending.take() {
            let elapsed = now.saturating_duration_since(started);
            self.report(procedure, ok, detail.to_string(), cause, elapsed);
        }
    }

    fn report(
        &mut self,
        procedure: Procedure,
        ok: bool,
        detail: String,
        cause: Option<Cause>,
        elapsed: Duration,
    ) {
        let outcome = Outcome {
            procedure,
            ok,
            detail,
            cause,
            elapsed,
        };
        self.last_outcome = Some(outcome.clone());
        self.out.push_back(Output::Done(outcome));
    }
}

fn modification_request(
    psi: PduSessionId,
    pti: Pti,
    operation: MbsOperation,
    tmgi: Tmgi,
) -> NasMessage {
    NasMessage::PduSessionModificationRequest(PduSessionModificationRequest {
        pdu_session_id: psi,
        pti,
        cause: None,
        requested_mbs: vec![MbsRequest { operation, tmgi }],
        qos_flow_changes: Vec::new(),
    })
}

fn decision_for<'a>(
    records: &'a [MbsDecisionRecord],
    tmgi: &Tmgi,
) -> Option<&'a MbsDecisionRecord> {
    records.iter().find(|r| same_tmgi(&r.tmgi, tmgi))
}

fn mbs_cause(cause: MbsRejectionCause) -> Cause {
    Cause::Mbs(cause as u8)
}

fn is_session_message(message: &NasMessage) -> bool {
    matches!(
        message,
        NasMessage::PduSessionEstablishmentAccept(_)
            | NasMessage::PduSessionEstablishmentReject(_)
            | NasMessage::PduSessionModificationCommand(_)
            | NasMessage::PduSessionModificationReject(_)
            | NasMessage::PduSessionReleaseCommand(_)
    )
}

#[cfg(test)]
#[path = "ue_tests.rs"]
mod tests;
