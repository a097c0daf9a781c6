//! The session manager's state machines, free of IO (the shape of `corelab_diameter::peer`):
//! the node and the unit tests feed [`Core::handle`] with the time and what arrived (an uplink
//! NAS PDU of a UE on a gNB, a radio event, an operator command, a timeout) and drain
//! [`Core::poll`] for what to do: NAS PDUs to send, resource commands and pagings for a gNB,
//! UE contexts to store, paging timer changes and events to count.
//!
//! Each UE has its own 5GMM/5GSM context ([`context::UeContext`]); `Core` holds them with the
//! indexes a network needs to find a UE (by SUPI, 5G-GUTI, gNB + RAN-UE-NGAP-ID) and the
//! per-TMGI paging timers. **Ordering rule**: a UE's [`Output::Save`] comes before every
//! output that depends on it, so a shell that writes the store before it sends anything never
//! answers with state it has not kept.

pub mod context;
mod paging;
mod registration;
pub mod registry;
mod session;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use corelab_nas::{
    Direction, DlNasTransport, FiveGmmCause, FiveGmmStatus, Guti, NasMessage, PduSessionId, Plmn,
    Tmgi, decode,
};

use context::{Location, UeContext};
use registry::{MbsRegistry, tmgi_key};

/// What the core needs to know of the configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Serving PLMN (5G-GUTIs).
    pub plmn: Plmn,
    pub amf_region_id: u8,
    pub amf_set_id: u16,
    pub amf_pointer: u8,
    /// Period of TMGI paging.
    pub paging_interval: Duration,
    /// Read the per-session QFI lists IE (release.rs).
    pub qfi_lists: bool,
    /// UE contexts held at most.
    pub max_ues: usize,
    /// PDU sessions per UE at most.
    pub max_sessions_per_ue: usize,
    /// 5QI of every session's default QoS flow (QFI 1).
    pub default_five_qi: u8,
}

/// A radio event of one UE, as its gNB reports it (N1 `RadioEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioEvent {
    CoverageLost,
    CoverageRegained,
    /// The UE answered a paging with this TMGI.
    PagingResponse(Tmgi),
    /// RRC CONNECTED (`true`) or IDLE.
    RrcConnected(bool),
}

/// What happened.
#[derive(Debug, Clone)]
pub enum Input {
    /// A plain NAS PDU from UE `ran_ue_id` on gNB `gnb` (N1 `UplinkNas`).
    UplinkNas {
        gnb: String,
        ran_ue_id: u64,
        pdu: Vec<u8>,
    },
    /// A radio event (N1 `RadioEvent`).
    Radio {
        gnb: String,
        ran_ue_id: u64,
        event: RadioEvent,
    },
    /// The operator removes UE `supi` from the MBS session `tmgi` (contract §6); answered by
    /// [`Event::NetworkLeave`].
    NetworkLeave {
        supi: String,
        tmgi: Tmgi,
        cause: corelab_nas::MbsRejectionCause,
    },
    /// Time passed (a paging timer may be due).
    Timeout,
}

/// PDU Session Resource Setup / Release towards the gNB (N1 `ResourceCommand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceAction {
    Setup,
    Release,
}

/// Why QoS flows were released (the `cause` label of the metric, docs/session-manager.md).
pub mod release_cause {
    /// The UE left by PDU SESSION MODIFICATION.
    pub const LEAVE_MODIFICATION: &str = "leave_modification";
    /// The UE released the PDU session.
    pub const SESSION_RELEASE: &str = "session_release";
    /// The operator removed the UE from the MBS session.
    pub const NETWORK_LEAVE: &str = "network_leave";
    /// Mobility registration: the session's MBS QFIs are absent (the seed's release).
    pub const MBS_QFIS_ABSENT: &str = "mbs_qfis_absent";
    /// Mobility registration: another QFI no longer listed (the general case).
    pub const QFI_NOT_LISTED: &str = "qfi_not_listed";
    /// Registration: the session is absent from the UE's PDU session status.
    pub const NOT_IN_SESSION_STATUS: &str = "not_in_pdu_session_status";
    /// An initial registration of a UE the network had a context for.
    pub const INITIAL_REGISTRATION: &str = "initial_registration";
    /// A PDU SESSION ESTABLISHMENT REQUEST for a PSI in use replaced that session.
    pub const SESSION_REPLACED: &str = "session_replaced";
}

/// What happened, for metrics and the control service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A NAS message was received (its TS 24.501 name).
    NasIn(&'static str),
    /// A NAS message was sent.
    NasOut(&'static str),
    /// An uplink PDU refused by TS 24.501 clause 7 (answered per `corelab_nas::decode`).
    Malformed { reason: String },
    /// REGISTRATION ACCEPT sent: `initial`, `mobility`, `periodic`, `emergency`.
    Registration(&'static str),
    /// REGISTRATION REJECT sent with this 5GMM cause.
    RegistrationRejected(u8),
    /// `count` QoS flows released for `cause` ([`release_cause`]).
    FlowsReleased { cause: &'static str, count: usize },
    /// `ues` UEs paged with TMGI `tmgi` (key).
    Paged { tmgi: String, ues: usize },
    /// The answer to [`Input::NetworkLeave`].
    NetworkLeave(Result<(), NetworkLeaveError>),
}

/// Why a network-initiated leave was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkLeaveError {
    #[error("no UE {0}")]
    UnknownUe(String),
    #[error("UE {supi} is not in the MBS session {tmgi}")]
    NotJoined { supi: String, tmgi: String },
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Keep this UE context (insert or replace, with its sessions, flows, associations and
    /// paging counters) before any later output.
    Save(Box<UeContext>),
    /// Send a plain NAS PDU to a UE (N1 `DownlinkNas`); `message` names it for logs and the
    /// wire tap, `supi` is the UE's when it is known at that location.
    Downlink {
        to: Location,
        pdu: Vec<u8>,
        message: &'static str,
        supi: Option<String>,
    },
    /// Set up or release the DRBs of QoS flows of a PDU session (N1 `ResourceCommand`).
    Resource {
        to: Location,
        psi: u8,
        action: ResourceAction,
        qfis: Vec<u8>,
    },
    /// Page these UEs of gNB `gnb` with `tmgi` (N1 `Paging`).
    Paging {
        gnb: String,
        tmgi: Tmgi,
        ran_ue_ids: Vec<u64>,
    },
    /// The paging timer of a TMGI (key) is now `next` (`None`: stopped).
    PagingTimer {
        tmgi: String,
        next: Option<Instant>,
    },
    Event(Event),
}

/// What the indexes hold for a UE, to undo them when the UE changes.
#[derive(Debug, Clone, Default)]
struct Indexed {
    guti: Option<Guti>,
    location: Option<Location>,
    /// TMGI keys the UE is associated with.
    tmgis: Vec<String>,
}

/// Every UE context and what finds them.
pub struct Core {
    cfg: CoreConfig,
    registry: MbsRegistry,
    ues: HashMap<String, UeContext>,
    indexed: HashMap<String, Indexed>,
    by_location: HashMap<Location, String>,
    by_guti: HashMap<Guti, String>,
    /// TMGI key → SUPIs associated.
    members: HashMap<String, BTreeSet<String>>,
    /// TMGI key → SUPIs associated whose MBS path is down (the UEs to page).
    path_down: HashMap<String, BTreeSet<String>>,
    /// TMGI key → next paging.
    paging_due: BTreeMap<String, Instant>,
    next_tmsi: u32,
    outputs: VecDeque<Output>,
}

impl Core {
    pub fn new(cfg: CoreConfig, registry: MbsRegistry) -> Core {
        Core {
            cfg,
            registry,
            ues: HashMap::new(),
            indexed: HashMap::new(),
            by_location: HashMap::new(),
            by_guti: HashMap::new(),
            members: HashMap::new(),
            path_down: HashMap::new(),
            paging_due: BTreeMap::new(),
            next_tmsi: 1,
            outputs: VecDeque::new(),
        }
    }

    /// Take back the contexts a store kept (a restarted session-manager). Paging of UEs whose
    /// path is down starts again one interval after `now`. Emits no [`Output::Save`].
    pub fn restore(&mut self, now: Instant, contexts: Vec<UeContext>) {
        for ue in contexts {
            self.next_tmsi = self.next_tmsi.max(ue.guti.tmsi().wrapping_add(1));
            self.insert(now, ue);
        }
        self.outputs.clear();
    }

    /// Feed what happened at `now`; then drain [`Core::poll`].
    pub fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::UplinkNas {
                gnb,
                ran_ue_id,
                pdu,
            } => self.on_uplink(now, Location { gnb, ran_ue_id }, &pdu),
            Input::Radio {
                gnb,
                ran_ue_id,
                event,
            } => self.on_radio(now, Location { gnb, ran_ue_id }, event),
            Input::NetworkLeave { supi, tmgi, cause } => {
                let result = session::network_leave(self, now, &supi, &tmgi, cause);
                self.event(Event::NetworkLeave(result));
            }
            Input::Timeout => paging::on_timeout(self, now),
        }
    }

    /// The next thing to do, in order.
    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed [`Input::Timeout`] next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.paging_due.values().min().copied()
    }

    /// The context of `supi`.
    pub fn ue(&self, supi: &str) -> Option<&UeContext> {
        self.ues.get(supi)
    }

    /// The SUPI of the UE registered at `location`, if any.
    pub fn supi_at(&self, location: &Location) -> Option<&str> {
        self.by_location.get(location).map(String::as_str)
    }

    /// How many UE contexts are held.
    pub fn ue_count(&self) -> usize {
        self.ues.len()
    }

    pub fn registry(&self) -> &MbsRegistry {
        &self.registry
    }

    fn on_uplink(&mut self, now: Instant, from: Location, pdu: &[u8]) {
        let message = match decode(pdu, Direction::Uplink) {
            Ok(message) => message,
            Err(rejection) => {
                self.event(Event::Malformed {
                    reason: rejection.reason,
                });
                if let Some(answer) = rejection.answer {
                    self.send(&from, &answer);
                }
                return;
            }
        };
        self.event(Event::NasIn(message.name()));
        match message {
            NasMessage::RegistrationRequest(request) => {
                registration::on_request(self, now, from, request)
            }
            NasMessage::RegistrationComplete => registration::on_complete(self, now, &from),
            NasMessage::UlNasTransport(transport) => {
                let Some(supi) = self.by_location.get(&from).cloned() else {
                    self.mm_status(&from, FiveGmmCause::MESSAGE_TYPE_NOT_COMPATIBLE);
                    return;
                };
                session::on_5gsm(self, now, &supi, transport.pdu_session_id, *transport.n1_sm);
            }
            NasMessage::FiveGmmStatus(status) => {
                tracing::info!(gnb = %from.gnb, ran_ue_id = from.ran_ue_id, cause = status.cause.0, "5GMM STATUS received");
            }
            other => {
                tracing::info!(gnb = %from.gnb, ran_ue_id = from.ran_ue_id, message = other.name(), "not a message the network takes: 5GMM STATUS #97");
                self.mm_status(&from, FiveGmmCause::MESSAGE_TYPE_NON_EXISTENT);
            }
        }
    }

    fn on_radio(&mut self, now: Instant, from: Location, event: RadioEvent) {
        let Some(supi) = self.by_location.get(&from).cloned() else {
            tracing::debug!(gnb = %from.gnb, ran_ue_id = from.ran_ue_id, ?event, "radio event of no known UE");
            return;
        };
        let Some(mut ue) = self.take(&supi) else {
            return;
        };
        let _span = tracing::info_span!("ue", supi = %supi).entered();
        match event {
            RadioEvent::CoverageLost => {
                ue.out_of_coverage = true;
                for association in ue.associations.values_mut() {
                    association.path_up = false;
                }
                tracing::info!(
                    associations = ue.associations.len(),
                    "coverage lost: MBS paths down"
                );
            }
            RadioEvent::CoverageRegained => {
                ue.out_of_coverage = false;
                tracing::info!("coverage regained");
            }
            RadioEvent::PagingResponse(tmgi) => match ue.associations.get_mut(&tmgi_key(&tmgi)) {
                Some(association) => {
                    association.path_up = true;
                    tracing::info!(tmgi = %tmgi_key(&tmgi), "paging answered: MBS path up");
                }
                None => {
                    tracing::info!(tmgi = %tmgi_key(&tmgi), "paging response for a TMGI the UE is not in")
                }
            },
            RadioEvent::RrcConnected(connected) => {
                tracing::debug!(connected, "RRC state");
                self.put_back(ue);
                return;
            }
        }
        self.keep(now, ue);
    }

    // ----- helpers shared by the procedures -----

    fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    /// Encode and send `message` to `to` (a 5GSM message must come wrapped already).
    fn send(&mut self, to: &Location, message: &NasMessage) {
        match message.encode() {
            Ok(pdu) => {
                self.event(Event::NasOut(message.name()));
                self.outputs.push_back(Output::Downlink {
                    to: to.clone(),
                    pdu,
                    message: message.name(),
                    supi: self.by_location.get(to).cloned(),
                });
            }
            Err(e) => tracing::error!(error = %e, "cannot encode a downlink NAS message"),
        }
    }

    /// Send a 5GSM message of PDU session `psi` in a DL NAS TRANSPORT.
    fn send_sm(&mut self, to: &Location, psi: PduSessionId, message: NasMessage) {
        let inner = message.name();
        let transport = NasMessage::DlNasTransport(DlNasTransport {
            pdu_session_id: psi,
            n1_sm: Box::new(message),
        });
        self.event(Event::NasOut(inner));
        self.send(to, &transport);
    }

    fn mm_status(&mut self, to: &Location, cause: FiveGmmCause) {
        self.send(to, &NasMessage::FiveGmmStatus(FiveGmmStatus { cause }));
    }

    fn resource(&mut self, to: &Location, psi: u8, action: ResourceAction, qfis: Vec<u8>) {
        if !qfis.is_empty() {
            self.outputs.push_back(Output::Resource {
                to: to.clone(),
                psi,
                action,
                qfis,
            });
        }
    }

    fn released(&mut self, cause: &'static str, count: usize) {
        if count > 0 {
            self.event(Event::FlowsReleased { cause, count });
        }
    }

    /// Take a UE context out to change it; [`Core::keep`] (or [`Core::put_back`]) returns it.
    fn take(&mut self, supi: &str) -> Option<UeContext> {
        self.ues.remove(supi)
    }

    /// Return an unchanged context.
    fn put_back(&mut self, ue: UeContext) {
        self.ues.insert(ue.supi.clone(), ue);
    }

    /// Return a changed context: index it, emit its [`Output::Save`], re-arm paging timers.
    fn keep(&mut self, now: Instant, ue: UeContext) {
        self.outputs.push_back(Output::Save(Box::new(ue.clone())));
        self.insert(now, ue);
    }

    fn insert(&mut self, now: Instant, ue: UeContext) {
        let supi = ue.supi.clone();
        let old = self.indexed.remove(&supi).unwrap_or_default();
        if let Some(guti) = old.guti
            && self.by_guti.get(&guti) == Some(&supi)
        {
            self.by_guti.remove(&guti);
        }
        if let Some(location) = &old.location
            && self.by_location.get(location) == Some(&supi)
        {
            self.by_location.remove(location);
        }
        let mut touched: BTreeSet<String> = old.tmgis.iter().cloned().collect();
        for key in &old.tmgis {
            if let Some(set) = self.members.get_mut(key) {
                set.remove(&supi);
            }
            if let Some(set) = self.path_down.get_mut(key) {
                set.remove(&supi);
            }
        }
        self.by_guti.insert(ue.guti, supi.clone());
        if let Some(location) = &ue.location {
            // Another UE seen last on this gNB + RAN-UE-NGAP-ID is no longer there.
            self.by_location.insert(location.clone(), supi.clone());
        }
        let mut tmgis = Vec::new();
        for (key, association) in &ue.associations {
            self.members
                .entry(key.clone())
                .or_default()
                .insert(supi.clone());
            if !association.path_up {
                self.path_down
                    .entry(key.clone())
                    .or_default()
                    .insert(supi.clone());
            }
            tmgis.push(key.clone());
            touched.insert(key.clone());
        }
        self.indexed.insert(
            supi.clone(),
            Indexed {
                guti: Some(ue.guti),
                location: ue.location.clone(),
                tmgis,
            },
        );
        self.ues.insert(supi, ue);
        for key in touched {
            paging::rearm(self, now, &key);
        }
    }

    /// UE `supi` registers from `at`: another UE last seen there (the gNB gave its
    /// RAN-UE-NGAP-ID to a new UE, e.g. after the gNB restarted) is no longer reachable there.
    fn claim_location(&mut self, now: Instant, at: &Location, supi: &str) {
        let Some(other) = self.by_location.get(at).cloned() else {
            return;
        };
        if other == supi {
            return;
        }
        if let Some(mut ue) = self.take(&other) {
            tracing::info!(supi = %other, gnb = %at.gnb, ran_ue_id = at.ran_ue_id, "RAN-UE-NGAP-ID taken by another UE: location forgotten");
            ue.location = None;
            self.keep(now, ue);
        }
    }

    /// UEs associated with `tmgi` now.
    fn members_of(&self, key: &str) -> usize {
        self.members.get(key).map_or(0, BTreeSet::len)
    }

    fn allocate_guti(&mut self) -> Guti {
        loop {
            let tmsi = self.next_tmsi;
            self.next_tmsi = self.next_tmsi.wrapping_add(1).max(1);
            let Ok(guti) = Guti::new(
                self.cfg.plmn,
                self.cfg.amf_region_id,
                self.cfg.amf_set_id,
                self.cfg.amf_pointer,
                tmsi,
            ) else {
                continue;
            };
            if !self.by_guti.contains_key(&guti) {
                return guti;
            }
        }
    }
}
