//! The peer state machine (RFC 6733 §5.6) with the RFC 3539 watchdog, free of
//! IO (sans-IO): the shell feeds [`Peer::handle`] with the time and what
//! happened on the connection, and drains [`Peer::poll`] for what to do.
//!
//! Scope: one transport connection per peer. The initiator side (Start →
//! Connect → CER → CEA) and the responder side (accepted connection → CER →
//! CEA) are covered; the two-connection election of §5.6.4 is exposed as the
//! pure rule [`election_won`] for the shell that holds both connections.

mod messages;
mod pending;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Address;
use crate::codes::{app, avp, cmd};
use crate::error::{DiameterError, ResultCode};
use crate::header::Header;
use crate::message::Message;

/// What this node says about itself in CER/CEA and DWR/DPR.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// Origin-Host.
    pub origin_host: String,
    /// Origin-Realm.
    pub origin_realm: String,
    /// Host-IP-Address values (at least one, RFC 6733 §5.3.1).
    pub host_ip_addresses: Vec<Address>,
    /// Vendor-Id.
    pub vendor_id: u32,
    /// Product-Name.
    pub product_name: String,
    /// Origin-State-Id.
    pub origin_state_id: u32,
    /// Supported-Vendor-Id values.
    pub supported_vendor_ids: Vec<u32>,
    /// Auth applications supported (relay 0xffffffff matches every application).
    pub auth_application_ids: Vec<u32>,
    /// Peers allowed to connect, by Origin-Host; `None` accepts any (else 3010).
    pub known_peers: Option<Vec<String>>,
    /// RFC 3539 watchdog interval Tw. RFC 3539 §3.4.1 says Tw ≥ 6 s (30 s
    /// is the default); the state machine accepts any value so tests can run
    /// the watchdog in milliseconds. Production configs must keep ≥ 6 s.
    pub tw: Duration,
}

/// States of RFC 6733 §5.6 (single connection) and RFC 3539 §3.4.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No connection.
    Closed,
    /// Initiator: connecting.
    WaitConnAck,
    /// Initiator: CER sent.
    WaitICea,
    /// Responder: connection accepted, waiting for CER.
    WaitCer,
    /// Capabilities exchanged; watchdog OKAY.
    Open,
    /// Open but watchdog SUSPECT (a DWR unanswered for Tw).
    Suspect,
    /// Re-opened after DOWN; waiting for 3 DWAs before OKAY (RFC 3539 §3.4.1).
    Reopen,
    /// DPR sent, waiting for DPA; or DPR received and DPA sent, waiting for
    /// the peer to close the transport (RFC 6733 §5.6 Closing, §5.4).
    Closing,
}

/// What happened, told to the state machine.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Start as initiator (I-Peer-Conn-Start).
    Start,
    /// Our outgoing connection is up (I-Rcv-Conn-Ack).
    Connected,
    /// Our outgoing connection failed (I-Rcv-Conn-Nack).
    ConnectFailed,
    /// A connection from the peer was accepted (R-Conn-CER comes next).
    Accepted,
    /// One whole message received (framed with [`crate::frame_length`]).
    Received(&'a [u8]),
    /// The transport connection closed (Peer-Disc).
    Disconnected,
    /// Stop: send DPR with this Disconnect-Cause (RFC 6733 §5.4.3).
    Stop(i32),
    /// The time armed with [`Output::ArmTimer`] has come.
    Timeout,
}

/// What the shell must do or know.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Open the transport connection to the peer.
    Connect,
    /// Write these bytes.
    Send(Vec<u8>),
    /// Close the transport connection.
    Disconnect,
    /// Call `handle(now, Input::Timeout)` at this instant (replaces earlier ones).
    ArmTimer(Instant),
    /// Something for the application.
    Event(PeerEvent),
}

/// Events for the application.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerEvent {
    /// The peer is usable: its Origin-Host and the applications in common.
    Up {
        /// Peer's Origin-Host.
        origin_host: String,
        /// Peer's Origin-Realm.
        origin_realm: String,
        /// Applications both sides support.
        applications: Vec<u32>,
    },
    /// The watchdog suspects the peer (RFC 3539): fail over pending requests.
    Suspect,
    /// Requests that were pending when the peer went SUSPECT or DOWN, taken out
    /// of the pending table with the T flag set (RFC 6733 §5.5.4): send them to
    /// an alternate peer. Their Hop-by-Hop ids are the ones this peer gave.
    Failover(Vec<Vec<u8>>),
    /// The peer sent DPR (RFC 6733 §5.4) and was answered DPA: send it no
    /// new requests; the connection closes when the peer disconnects (or
    /// after Tw), then `Down` follows.
    Disconnecting,
    /// The peer is down.
    Down(String),
    /// An application request from the peer (answer it with [`Peer::send`]).
    Request(Vec<u8>),
    /// The answer to a request sent with [`Peer::send_request`].
    Answer(Vec<u8>),
    /// A request's answer did not come within Tw; the request's Hop-by-Hop id.
    AnswerTimeout(u32),
    /// A message that was not understood (the error answer, if any, was sent).
    ProtocolError(DiameterError),
}

/// The 3539 watchdog needs this many DWAs in REOPEN before OKAY.
const REOPEN_DWAS: u8 = 3;

/// RFC 6733 §5.6.4 election: the side with the higher Origin-Host wins
/// (compared as octet strings). The winner closes the connection it initiated.
pub fn election_won(local_origin_host: &str, remote_origin_host: &str) -> bool {
    local_origin_host.as_bytes() > remote_origin_host.as_bytes()
}

/// One Diameter peer connection's state machine.
#[derive(Debug)]
pub struct Peer {
    cfg: PeerConfig,
    state: State,
    out: VecDeque<Output>,
    next_hbh: u32,
    next_e2e: u32,
    /// Requests sent and not answered.
    pending: pending::PendingTable,
    request_timeout: Duration,
    /// How long Wait-Cer / Wait-I-CEA may last (Tw unless set).
    cer_timeout: Duration,
    /// The deadline last given with `ArmTimer`.
    armed: Option<Instant>,
    watchdog_deadline: Option<Instant>,
    dwr_outstanding: bool,
    reopen_dwas: u8,
    was_open: bool,
    /// In Closing because the peer sent DPR (not we).
    dpr_received: bool,
    peer_host: Option<String>,
    peer_realm: Option<String>,
    /// The peer's CER (responder) or CEA (initiator) as received.
    peer_capabilities: Option<Vec<u8>>,
    common: Vec<u32>,
    initiator: bool,
}

impl Peer {
    /// A closed peer; `seed` initializes the identifiers (RFC 6733 §3: the
    /// End-to-End id's high 12 bits from the time, low bits random).
    pub fn new(cfg: PeerConfig, seed: u32) -> Peer {
        Peer {
            state: State::Closed,
            out: VecDeque::new(),
            next_hbh: seed,
            next_e2e: seed.rotate_left(20),
            request_timeout: cfg.tw,
            cer_timeout: cfg.tw,
            armed: None,
            pending: pending::PendingTable::default(),
            watchdog_deadline: None,
            dwr_outstanding: false,
            reopen_dwas: 0,
            was_open: false,
            dpr_received: false,
            peer_host: None,
            peer_realm: None,
            peer_capabilities: None,
            common: Vec::new(),
            initiator: false,
            cfg,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The next thing to do, if any.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Requests sent and not yet answered.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// How long a request waits for its answer (Tw unless set).
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// How long a connection may wait for the capabilities exchange (our CER
    /// answered, or the peer's CER received) before it is closed (Tw unless
    /// set): a peer that connects and says nothing does not hold a
    /// connection for long.
    pub fn set_cer_timeout(&mut self, timeout: Duration) {
        self.cer_timeout = timeout;
    }

    /// The peer's Origin-Host, once its CER/CEA was received.
    pub fn peer_origin_host(&self) -> Option<&str> {
        self.peer_host.as_deref()
    }

    /// The peer's Origin-Realm, once its CER/CEA was received.
    pub fn peer_origin_realm(&self) -> Option<&str> {
        self.peer_realm.as_deref()
    }

    /// The peer's CER (we responded) or CEA (we initiated) as received; kept
    /// also when it refused us, so the shell can read its Result-Code.
    pub fn peer_capabilities(&self) -> Option<&[u8]> {
        self.peer_capabilities.as_deref()
    }

    /// Closed after DOWN with a reconnection planned (RFC 3539 §3.4.1: the
    /// initiator tries every Tw); the shell keeps the connection's task.
    pub fn reconnect_pending(&self) -> bool {
        self.state == State::Closed && self.initiator && self.watchdog_deadline.is_some()
    }

    /// Applications in common after the capabilities exchange.
    pub fn common_applications(&self) -> &[u32] {
        &self.common
    }

    fn ids(&mut self) -> (u32, u32) {
        self.next_hbh = self.next_hbh.wrapping_add(1);
        self.next_e2e = self.next_e2e.wrapping_add(1);
        (self.next_hbh, self.next_e2e)
    }

    fn send_built(&mut self, b: crate::MessageBuilder) {
        match b.encode() {
            Ok(bytes) => self.out.push_back(Output::Send(bytes)),
            Err(e) => {
                self.out
                    .push_back(Output::Event(PeerEvent::ProtocolError(DiameterError::new(
                        ResultCode::DIAMETER_UNABLE_TO_COMPLY,
                        e.to_string(),
                    ))))
            }
        }
    }

    fn arm(&mut self, at: Instant) {
        self.watchdog_deadline = Some(at);
        let t = self.next_deadline().unwrap_or(at);
        self.arm_timer(t);
    }

    fn arm_timer(&mut self, t: Instant) {
        self.armed = Some(t);
        self.out.push_back(Output::ArmTimer(t));
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .earliest()
            .into_iter()
            .chain(self.watchdog_deadline)
            .min()
    }

    /// Hands the pending requests to the shell for failover (RFC 6733 §5.5.4).
    fn fail_over(&mut self) {
        let requests = self.pending.take_for_failover();
        if !requests.is_empty() {
            self.out
                .push_back(Output::Event(PeerEvent::Failover(requests)));
        }
    }

    fn down(&mut self, now: Instant, why: impl Into<String>) {
        let reconnect = self.was_open && self.cfg_initiator();
        self.state = State::Closed;
        self.dpr_received = false;
        self.fail_over();
        self.dwr_outstanding = false;
        self.watchdog_deadline = None;
        self.out.push_back(Output::Disconnect);
        self.out
            .push_back(Output::Event(PeerEvent::Down(why.into())));
        if reconnect {
            // RFC 3539 §3.4.1 DOWN: try to reopen every Tw.
            self.arm(now + self.cfg.tw);
        }
    }

    fn cfg_initiator(&self) -> bool {
        self.initiator
    }

    /// Sends an application request: assigns the identifiers (keeping an
    /// End-to-End id already set), records it in the pending table keyed by
    /// Hop-by-Hop id, and returns that id. Only when the peer is open.
    pub fn send_request(&mut self, now: Instant, request: crate::MessageBuilder) -> Option<u32> {
        if !self.can_send_requests() {
            return None;
        }
        match request.encode() {
            Ok(bytes) => self.send_request_bytes(now, bytes),
            Err(e) => {
                self.out
                    .push_back(Output::Event(PeerEvent::ProtocolError(DiameterError::new(
                        ResultCode::DIAMETER_UNABLE_TO_COMPLY,
                        e.to_string(),
                    ))));
                None
            }
        }
    }

    /// Whether [`Peer::send_request`] would send now (Open or Suspect).
    pub fn can_send_requests(&self) -> bool {
        matches!(self.state, State::Open | State::Suspect)
    }

    /// [`Peer::send_request`] for an encoded request (at least a header): the
    /// Hop-by-Hop id is written into the bytes, the End-to-End id too when it
    /// is zero. The bytes are kept in the pending table for failover.
    pub fn send_request_bytes(&mut self, now: Instant, mut request: Vec<u8>) -> Option<u32> {
        if !self.can_send_requests() || request.len() < crate::header::HEADER_LEN {
            return None;
        }
        let (hbh, e2e) = self.ids();
        request[12..16].copy_from_slice(&hbh.to_be_bytes());
        if request[16..20] == [0, 0, 0, 0] {
            request[16..20].copy_from_slice(&e2e.to_be_bytes());
        }
        let deadline = now + self.request_timeout;
        self.pending.insert(hbh, deadline, request.clone());
        self.out.push_back(Output::Send(request));
        if self.armed.is_none_or(|a| deadline < a) {
            self.arm_timer(deadline);
        }
        Some(hbh)
    }

    /// Sends an answer (or any message) as is.
    pub fn send(&mut self, bytes: Vec<u8>) {
        self.out.push_back(Output::Send(bytes));
    }

    /// Feeds one input at time `now`.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        match input {
            Input::Start => {
                if self.state == State::Closed {
                    self.initiator = true;
                    self.state = State::WaitConnAck;
                    self.out.push_back(Output::Connect);
                }
            }
            Input::Connected => {
                if self.state == State::WaitConnAck {
                    let (h, e) = self.ids();
                    let cer = messages::cer(&self.cfg, h, e);
                    self.send_built(cer);
                    self.state = State::WaitICea;
                    self.arm(now + self.cer_timeout);
                }
            }
            Input::ConnectFailed => {
                if self.state == State::WaitConnAck {
                    self.state = State::Closed;
                    self.out
                        .push_back(Output::Event(PeerEvent::Down("connect failed".into())));
                    self.arm(now + self.cfg.tw);
                }
            }
            Input::Accepted => {
                if self.state == State::Closed {
                    self.initiator = false;
                    self.state = State::WaitCer;
                    self.arm(now + self.cer_timeout);
                }
            }
            Input::Disconnected => {
                if self.state != State::Closed {
                    self.down(now, "transport connection closed");
                }
            }
            Input::Stop(cause) => {
                if matches!(self.state, State::Open | State::Suspect | State::Reopen) {
                    let (h, e) = self.ids();
                    let dpr = messages::dpr(&self.cfg, h, e, cause);
                    self.send_built(dpr);
                    self.was_open = false;
                    self.state = State::Closing;
                    self.arm(now + self.cfg.tw);
                } else if self.state != State::Closed {
                    self.was_open = false;
                    self.down(now, "stopped");
                } else {
                    // Closed, waiting to reconnect: cancel that.
                    self.was_open = false;
                    self.watchdog_deadline = None;
                }
            }
            Input::Timeout => self.timeout(now),
            Input::Received(bytes) => self.received(now, bytes),
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.armed = None;
        for h in self.pending.expired(now) {
            self.out
                .push_back(Output::Event(PeerEvent::AnswerTimeout(h)));
        }
        let Some(deadline) = self.watchdog_deadline else {
            if let Some(d) = self.next_deadline() {
                self.arm_timer(d);
            }
            return;
        };
        if deadline > now {
            if let Some(d) = self.next_deadline() {
                self.arm_timer(d);
            }
            return;
        }
        match self.state {
            State::Closed => {
                self.watchdog_deadline = None;
                if self.initiator {
                    self.was_open = true;
                    self.state = State::WaitConnAck;
                    self.out.push_back(Output::Connect);
                }
            }
            State::WaitICea | State::WaitCer => self.down(now, "no capabilities exchange in time"),
            State::Closing if self.dpr_received => {
                self.down(now, "peer did not close within Tw after our DPA");
            }
            State::Closing => {
                self.was_open = false;
                self.down(now, "no DPA within Tw");
            }
            State::Open | State::Reopen if !self.dwr_outstanding => self.send_dwr(now),
            State::Open => {
                // RFC 3539 §3.4.1: no answer to DWR within Tw → SUSPECT.
                self.state = State::Suspect;
                self.out.push_back(Output::Event(PeerEvent::Suspect));
                self.fail_over();
                self.arm(now + self.cfg.tw);
            }
            State::Suspect | State::Reopen => self.down(now, "watchdog: no DWA within 2 Tw"),
            State::WaitConnAck => self.down(now, "connect timed out"),
        }
    }

    fn send_dwr(&mut self, now: Instant) {
        let (h, e) = self.ids();
        let dwr = messages::dwr(&self.cfg, h, e);
        self.send_built(dwr);
        self.dwr_outstanding = true;
        self.arm(now + self.cfg.tw);
    }

    fn received(&mut self, now: Instant, bytes: &[u8]) {
        let msg = match Message::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                if let Some(Ok(ans)) =
                    crate::error_answer(bytes, &e, &self.cfg.origin_host, &self.cfg.origin_realm)
                {
                    self.out.push_back(Output::Send(ans));
                }
                self.out
                    .push_back(Output::Event(PeerEvent::ProtocolError(e)));
                return;
            }
        };
        let h = *msg.header();
        // RFC 3539: any traffic shows the peer is alive.
        if self.state == State::Open && !self.dwr_outstanding {
            self.watchdog_deadline = Some(now + self.cfg.tw);
        }
        match (self.state, h.command_code, h.is_request()) {
            (State::WaitCer, cmd::CAPABILITIES_EXCHANGE, true) => self.on_cer(now, &msg),
            (State::WaitICea, cmd::CAPABILITIES_EXCHANGE, false) => self.on_cea(now, &msg),
            (State::WaitCer | State::WaitICea, _, _) => {
                self.was_open = false;
                self.down(now, "message before capabilities exchange");
            }
            (_, cmd::DEVICE_WATCHDOG, true) => {
                let dwa = messages::base_answer(&self.cfg, &h);
                self.send_built(dwa);
            }
            (_, cmd::DEVICE_WATCHDOG, false) => self.on_dwa(now),
            (State::Closing, cmd::DISCONNECT_PEER, true) => {
                // Both sides sent DPR: answer, keep waiting for the close.
                let dpa = messages::base_answer(&self.cfg, &h);
                self.send_built(dpa);
            }
            (_, cmd::DISCONNECT_PEER, true) => {
                // RFC 6733 §5.4, §5.6 (R-Rcv-DPR → R-Snd-DPA, Closing): the
                // sender of DPR closes the transport once it has our DPA;
                // closing first could reset the connection under the DPA.
                let dpa = messages::base_answer(&self.cfg, &h);
                self.send_built(dpa);
                self.was_open = false;
                self.dpr_received = true;
                self.state = State::Closing;
                self.out.push_back(Output::Event(PeerEvent::Disconnecting));
                self.arm(now + self.cfg.tw);
            }
            (State::Closing, cmd::DISCONNECT_PEER, false) => {
                self.was_open = false;
                self.down(now, "DPA received");
            }
            (State::Open | State::Suspect | State::Reopen, _, true) => {
                self.out
                    .push_back(Output::Event(PeerEvent::Request(bytes.to_vec())));
            }
            (_, _, false) => self.on_answer(&h, bytes),
            _ => {}
        }
    }

    /// Answers are matched to the pending table by Hop-by-Hop id; one matching
    /// nothing is discarded (RFC 6733 §6.2.1).
    fn on_answer(&mut self, h: &Header, bytes: &[u8]) {
        if self.pending.remove(h.hop_by_hop) {
            self.out
                .push_back(Output::Event(PeerEvent::Answer(bytes.to_vec())));
        }
    }

    fn on_dwa(&mut self, now: Instant) {
        self.dwr_outstanding = false;
        match self.state {
            State::Suspect => {
                self.state = State::Open;
                self.announce_up();
            }
            State::Reopen => {
                self.reopen_dwas += 1;
                if self.reopen_dwas >= REOPEN_DWAS {
                    self.state = State::Open;
                    self.announce_up();
                }
            }
            _ => {}
        }
        self.arm(now + self.cfg.tw);
    }

    fn announce_up(&mut self) {
        let origin_host = self.peer_host.clone().unwrap_or_default();
        let origin_realm = self.peer_realm.clone().unwrap_or_default();
        let applications = self.common.clone();
        self.out.push_back(Output::Event(PeerEvent::Up {
            origin_host,
            origin_realm,
            applications,
        }));
    }

    /// Applications the peer advertises in a CER/CEA (RFC 6733 §5.3.1).
    fn advertised(msg: &Message<'_>) -> Vec<u32> {
        let mut ids = Vec::new();
        for a in msg.avps() {
            match (a.code(), a.vendor_id()) {
                (avp::AUTH_APPLICATION_ID | avp::ACCT_APPLICATION_ID, 0) => {
                    ids.extend(a.as_u32().ok());
                }
                (avp::VENDOR_SPECIFIC_APPLICATION_ID, 0) => {
                    if let Ok(g) = a.as_grouped() {
                        for i in g {
                            if matches!(
                                i.code(),
                                avp::AUTH_APPLICATION_ID | avp::ACCT_APPLICATION_ID
                            ) {
                                ids.extend(i.as_u32().ok());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        ids
    }

    fn common_apps(&self, theirs: &[u32]) -> Vec<u32> {
        let ours = &self.cfg.auth_application_ids;
        if ours.contains(&app::RELAY) {
            return theirs.to_vec();
        }
        if theirs.contains(&app::RELAY) {
            return ours.clone();
        }
        ours.iter()
            .copied()
            .filter(|a| theirs.contains(a))
            .collect()
    }

    /// Keeps the peer's CER/CEA and its Origin-Realm.
    fn record_capabilities(&mut self, msg: &Message<'_>) {
        self.peer_capabilities = Some(msg.raw().to_vec());
        self.peer_realm = msg
            .find(avp::ORIGIN_REALM, 0)
            .and_then(|a| a.as_identity().ok())
            .map(str::to_string);
    }

    fn on_cer(&mut self, now: Instant, msg: &Message<'_>) {
        self.record_capabilities(msg);
        let h = *msg.header();
        let host = msg
            .find(avp::ORIGIN_HOST, 0)
            .and_then(|a| a.as_identity().ok())
            .map(str::to_string);
        let known = match (&self.cfg.known_peers, &host) {
            (None, Some(_)) => true,
            (Some(list), Some(hh)) => list.iter().any(|k| k.eq_ignore_ascii_case(hh)),
            (_, None) => false,
        };
        let common = self.common_apps(&Self::advertised(msg));
        let result = if !known {
            ResultCode::DIAMETER_UNKNOWN_PEER
        } else if common.is_empty() {
            ResultCode::DIAMETER_NO_COMMON_APPLICATION
        } else {
            ResultCode::DIAMETER_SUCCESS
        };
        let mut cea = messages::cea(&self.cfg, &h, result);
        if result.is_protocol_error() {
            cea.flags |= crate::header::FLAG_ERROR;
        }
        self.send_built(cea);
        if result == ResultCode::DIAMETER_SUCCESS {
            self.open(now, host, common);
        } else {
            self.was_open = false;
            self.down(now, format!("CER refused: {result}"));
        }
    }

    fn on_cea(&mut self, now: Instant, msg: &Message<'_>) {
        self.record_capabilities(msg);
        let result = msg.result_code();
        let common = self.common_apps(&Self::advertised(msg));
        let host = msg
            .find(avp::ORIGIN_HOST, 0)
            .and_then(|a| a.as_identity().ok())
            .map(str::to_string);
        if result != Some(ResultCode::DIAMETER_SUCCESS) || common.is_empty() {
            self.was_open = false;
            let why = match result {
                Some(r) if !r.is_success() => format!("CEA result {r}"),
                _ => format!("CEA: {}", ResultCode::DIAMETER_NO_COMMON_APPLICATION),
            };
            self.down(now, why);
            return;
        }
        let reopen = self.was_open;
        self.open(now, host, common);
        if reopen {
            // RFC 3539 §3.4.1 REOPEN: prove the peer with DWRs before use.
            self.out
                .retain(|o| !matches!(o, Output::Event(PeerEvent::Up { .. })));
            self.state = State::Reopen;
            self.reopen_dwas = 0;
            self.send_dwr(now);
        }
    }

    fn open(&mut self, now: Instant, host: Option<String>, common: Vec<u32>) {
        self.state = State::Open;
        self.was_open = true;
        self.peer_host = host;
        self.common = common;
        self.dwr_outstanding = false;
        self.announce_up();
        self.arm(now + self.cfg.tw);
    }
}

/// Decodes a received message's header only, for shells that log.
pub fn peek_header(bytes: &[u8]) -> Result<Header, DiameterError> {
    Header::parse(bytes)
}

#[cfg(test)]
mod tests;
