//! [`PeerHandle`]: a cheap, cloneable reference to one open peer connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use corelab_diameter::MessageBuilder;
use corelab_diameter::header::{FLAG_REQUEST, HEADER_LEN};
use tokio::sync::{mpsc, oneshot};

use crate::error::NodeError;
use crate::node::Inner;
use crate::routing::{PeerEntry, PeerId};

/// Where an answer (or an error) for one request goes.
pub(crate) type Waiter = oneshot::Sender<Result<Vec<u8>, NodeError>>;

/// Commands to a connection task.
pub(crate) enum Cmd {
    /// Send a request (Hop-by-Hop id assigned by the connection).
    Request { bytes: Vec<u8>, reply: Waiter },
    /// Send DPR with this Disconnect-Cause; `done` fires when closed.
    Stop {
        cause: i32,
        done: oneshot::Sender<()>,
    },
    /// Close the transport without DPR (election loser connection).
    Close,
    /// A message for the writer found its queue full: the peer is not
    /// reading; the connection is dropped.
    WriteQueueFull,
}

/// Commands to a connection's writer task.
pub(crate) enum WriteCmd {
    Bytes(Vec<u8>),
    Close,
}

pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) origin_host: String,
    pub(crate) origin_realm: String,
    pub(crate) applications: Vec<u32>,
    pub(crate) capabilities: Vec<u8>,
    pub(crate) remote: SocketAddr,
    pub(crate) initiator: bool,
    pub(crate) cmd: mpsc::UnboundedSender<Cmd>,
    /// Replaced when the connection is re-opened. Bounded
    /// ([`crate::Limits::write_queue`]).
    pub(crate) writer: Mutex<mpsc::Sender<WriteCmd>>,
    pub(crate) open: AtomicBool,
    pub(crate) suspect: AtomicBool,
    pub(crate) node: Weak<Inner>,
    /// Requests from this peer in flight
    /// ([`crate::Limits::max_requests_in_flight_per_connection`]).
    pub(crate) in_flight: AtomicUsize,
}

/// One open peer connection (after CER/CEA). Cheap to clone.
#[derive(Clone)]
pub struct PeerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for PeerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerHandle")
            .field("origin_host", &self.shared.origin_host)
            .field("remote", &self.shared.remote)
            .field("open", &self.is_open())
            .finish()
    }
}

impl PeerHandle {
    /// The peer's Origin-Host (from its CER or CEA).
    pub fn origin_host(&self) -> &str {
        &self.shared.origin_host
    }

    /// The peer's Origin-Realm (from its CER or CEA).
    pub fn origin_realm(&self) -> &str {
        &self.shared.origin_realm
    }

    /// Applications both sides advertised (0xffffffff: relay, matches all).
    pub fn applications(&self) -> &[u32] {
        &self.shared.applications
    }

    /// The peer's CEA (we connected) or CER (it connected), as received.
    pub fn cea(&self) -> Option<&[u8]> {
        Some(&self.shared.capabilities)
    }

    /// The peer's socket address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.remote
    }

    /// Whether we opened the connection.
    pub fn is_initiator(&self) -> bool {
        self.shared.initiator
    }

    /// Whether the connection is still open (Open or Suspect).
    pub fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::Relaxed)
    }

    /// Whether the watchdog suspects the peer (RFC 3539 SUSPECT).
    pub fn is_suspect(&self) -> bool {
        self.shared.suspect.load(Ordering::Relaxed)
    }

    /// Whether the peer shares `application_id` (or either side is a relay).
    pub fn supports(&self, application_id: u32) -> bool {
        self.shared
            .applications
            .iter()
            .any(|&a| a == application_id || a == corelab_diameter::codes::app::RELAY)
    }

    /// Sends a request to this peer and waits for its answer (any
    /// Result-Code). The Hop-by-Hop id is assigned here; a non-zero
    /// End-to-End id is kept.
    pub async fn request(&self, request: MessageBuilder) -> Result<Vec<u8>, NodeError> {
        let bytes = request
            .encode()
            .map_err(|e| NodeError::Encode(e.to_string()))?;
        self.request_bytes(bytes).await
    }

    /// [`PeerHandle::request`] for an encoded request.
    pub async fn request_bytes(&self, request: Vec<u8>) -> Result<Vec<u8>, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.request_with(request, tx)?;
        rx.await
            .unwrap_or_else(|_| Err(NodeError::PeerDown("connection closed".into())))
    }

    /// Queues a request whose answer goes to `reply`. When this connection
    /// was closed (e.g. it lost an election, RFC 6733 §5.6.4) and another
    /// connection to the same Origin-Host is open, that one is used.
    pub(crate) fn request_with(&self, request: Vec<u8>, reply: Waiter) -> Result<(), NodeError> {
        if request.len() < HEADER_LEN || request[4] & FLAG_REQUEST == 0 {
            return Err(NodeError::Encode("not a Diameter request".into()));
        }
        if !self.is_open() {
            if let Some(other) = self
                .shared
                .node
                .upgrade()
                .and_then(|n| n.peer_by_host(self.origin_host()))
                .filter(|p| p.id() != self.id())
            {
                return other.request_with(request, reply);
            }
        }
        self.shared
            .cmd
            .send(Cmd::Request {
                bytes: request,
                reply,
            })
            .map_err(|_| NodeError::PeerDown(format!("{}: connection closed", self.origin_host())))
    }

    /// Writes an answer (or any message) as is. A full write queue means
    /// the peer stopped reading: the connection task drops the connection.
    /// True when queued: anything written on this connection later follows it.
    pub(crate) fn send_raw(&self, bytes: Vec<u8>) -> bool {
        let sent = crate::node::lock(&self.shared.writer).try_send(WriteCmd::Bytes(bytes));
        if let Err(mpsc::error::TrySendError::Full(_)) = &sent {
            let _ = self.shared.cmd.send(Cmd::WriteQueueFull);
        }
        // Closed: the connection is gone; the answer is moot.
        sent.is_ok()
    }

    /// Sends DPR and waits until the connection is closed.
    pub(crate) fn stop(&self, cause: i32) -> oneshot::Receiver<()> {
        let (done, rx) = oneshot::channel();
        let _ = self.shared.cmd.send(Cmd::Stop { cause, done });
        rx
    }

    /// Closes the transport without DPR.
    pub(crate) fn close(&self) {
        self.shared.open.store(false, Ordering::Relaxed);
        let _ = self.shared.cmd.send(Cmd::Close);
    }

    pub(crate) fn id(&self) -> u64 {
        self.shared.id
    }

    /// This connection's id in routing decisions.
    pub fn peer_id(&self) -> PeerId {
        PeerId(self.shared.id)
    }

    /// What a routing decision knows about this connection.
    pub(crate) fn entry(&self) -> PeerEntry<'_> {
        PeerEntry {
            id: self.peer_id(),
            origin_host: &self.shared.origin_host,
            origin_realm: &self.shared.origin_realm,
            applications: &self.shared.applications,
            suspect: self.is_suspect(),
            initiator: self.shared.initiator,
            remote: self.shared.remote,
        }
    }
}
