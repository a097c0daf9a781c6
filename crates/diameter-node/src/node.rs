//! [`Node`]: listeners, outgoing connections, the table of open peers, and
//! routed requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corelab_diameter::MessageBuilder;
use corelab_diameter::codes::app;
use corelab_diameter::header::Header;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, info, warn};

use crate::config::{AgentMode, NodeConfig};
use crate::error::NodeError;
use crate::handle::{PeerHandle, Shared};
use crate::redirect::RedirectCache;
use crate::routing::{NoPolicy, Policy};
use crate::tls::TlsState;
use corelab_diameter::duplicates::DuplicateCache;
use corelab_log_throttle::Throttle;

/// An application's request handler.
#[async_trait::async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// An application request addressed to this node (Endpoint mode, or an
    /// agent's local requests). Return the answer's bytes (build them with
    /// `corelab_diameter::answer` helpers / `MessageBuilder::answer_to`);
    /// `None` sends nothing. `from` can send requests back over the same
    /// connection (RAR/ASR): send them from [`RequestHandler::answer_queued`]
    /// to have them follow the answer on the wire.
    async fn handle(&self, request: Vec<u8>, from: PeerHandle) -> Option<Vec<u8>>;

    /// Called once the answer `handle` returned is in `from`'s write queue
    /// (not for a duplicate's repeated answer). Whatever is sent on that
    /// connection from here on follows it on the wire: a request sent back
    /// (a RAR after the CCA, TS 29.212 §4.5.2), or the DPR of
    /// [`Node::shutdown`]. `answer` is its header: the Hop-by-Hop id is the
    /// request's (RFC 6733 §6.2), which ties the two together.
    fn answer_queued(&self, _answer: &Header, _from: &PeerHandle) {}
}

/// Disconnect-Cause REBOOTING (RFC 6733 §5.4.3).
pub const DISCONNECT_REBOOTING: i32 = 0;

/// How long answered requests are remembered for duplicate detection: RFC
/// 6733 §3 asks senders to keep (Origin-Host, End-to-End id) unique for at
/// least 4 minutes.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(240);
/// At most this many remembered requests (the oldest are forgotten first).
const DUPLICATE_CAPACITY: usize = 65_536;

/// How long [`Node::shutdown`] waits for DPAs.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

pub(crate) struct Inner {
    pub(crate) cfg: NodeConfig,
    pub(crate) handler: Arc<dyn RequestHandler>,
    /// Where the network function steers routing (agents) and sees answers
    /// passing back.
    pub(crate) policy: Arc<dyn Policy>,
    peers: Mutex<Vec<PeerHandle>>,
    listeners: Mutex<Vec<JoinHandle<()>>>,
    connect_lock: tokio::sync::Mutex<()>,
    pub(crate) redirects: Mutex<RedirectCache>,
    /// Requests answered here, by (Origin-Host, End-to-End id): duplicates
    /// (e.g. failed over with the T flag) get the first answer again.
    pub(crate) duplicates: Mutex<DuplicateCache>,
    pub(crate) tls: Option<Result<TlsState, String>>,
    seed: AtomicU32,
    conn_ids: AtomicU64,
    shutting_down: AtomicBool,
    /// Requests being answered by the handler or forwarded (agents).
    in_flight: AtomicUsize,
    /// Woken when `in_flight` drops to zero.
    idle: Notify,
    /// Requests answered 3004 for the in-flight caps (logged once per interval).
    too_busy: Throttle,
    too_busy_count: AtomicU64,
    /// Connections at once (accepted, in TLS handshake, initiated).
    connections: AtomicUsize,
    /// Accepted connections closed at once for the cap (logged once per interval).
    refused: Throttle,
    accept_failed: Throttle,
    /// Messages whose Message Length is above the limit.
    pub(crate) oversized: Throttle,
    /// Connections closed because their write queue filled.
    pub(crate) write_queue_full: Throttle,
}

/// One connection counted against [`crate::Limits::max_connections`] until dropped.
pub(crate) struct ConnSlot(Arc<Inner>);

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts one request in flight, on the node and on its connection, until
/// dropped.
pub(crate) struct InFlight(Arc<Inner>, Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.1.in_flight.fetch_sub(1, Ordering::AcqRel);
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Adds one to `n` unless it is at `max`.
fn try_add(n: &AtomicUsize, max: usize) -> bool {
    n.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
        (v < max).then_some(v + 1)
    })
    .is_ok()
}

impl Inner {
    pub(crate) fn seed(&self) -> u32 {
        // RFC 6733 §3: identifiers start at a value hard to guess; a
        // per-connection stride keeps connections apart.
        self.seed.fetch_add(0x0101_0000, Ordering::Relaxed)
    }

    /// A new connection's event queue, taken in order by its own dispatch
    /// task ([`crate::events`]).
    pub(crate) fn events(self: &Arc<Self>) -> crate::events::Events {
        let (tx, rx) = tokio::sync::mpsc::channel(crate::events::EVENT_QUEUE);
        tokio::spawn(crate::dispatch::run(self.clone(), rx));
        tx
    }

    /// Marks a request from `from` in flight (its answer not yet queued);
    /// `None` at [`crate::Limits::max_requests_in_flight_per_connection`] or
    /// [`crate::Limits::max_requests_in_flight`], counted and logged once per
    /// interval: the caller answers 3004 (RFC 6733 §7.1.3).
    pub(crate) fn try_in_flight(self: &Arc<Self>, from: &PeerHandle) -> Option<InFlight> {
        let limits = &self.cfg.limits;
        let conn = &from.shared.in_flight;
        if try_add(conn, limits.max_requests_in_flight_per_connection) {
            if try_add(&self.in_flight, limits.max_requests_in_flight) {
                return Some(InFlight(self.clone(), from.shared.clone()));
            }
            conn.fetch_sub(1, Ordering::AcqRel);
        }
        self.too_busy_count.fetch_add(1, Ordering::Relaxed);
        if let Some(count) = self.too_busy.hit(crate::clock::now()) {
            warn!(
                peer = from.origin_host(),
                max_requests_in_flight_per_connection =
                    limits.max_requests_in_flight_per_connection,
                max_requests_in_flight = limits.max_requests_in_flight,
                count,
                "requests in flight at the limit: 3004 DIAMETER_TOO_BUSY"
            );
        }
        None
    }

    /// A connection slot for an accepted connection, `None` at the cap.
    fn try_slot(self: &Arc<Self>) -> Option<ConnSlot> {
        let max = self.cfg.limits.max_connections;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnSlot(self.clone()))
    }

    /// A slot for a connection we open: counted, never refused (inbound
    /// peers at the cap must not stop us from routing).
    fn slot(self: &Arc<Self>) -> ConnSlot {
        self.connections.fetch_add(1, Ordering::AcqRel);
        ConnSlot(self.clone())
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.conn_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn add_peer(self: &Arc<Self>, h: PeerHandle) {
        let mut peers = lock(&self.peers);
        peers.retain(PeerHandle::is_open);
        peers.push(h.clone());
        drop(peers);
        crate::election::check(self, &h);
    }

    pub(crate) fn remove_peer(&self, id: u64) {
        lock(&self.peers).retain(|p| p.id() != id);
    }

    pub(crate) fn open_peers(&self) -> Vec<PeerHandle> {
        lock(&self.peers)
            .iter()
            .filter(|p| p.is_open())
            .cloned()
            .collect()
    }

    /// An open peer by Origin-Host, a non-suspect one first.
    pub(crate) fn peer_by_host(&self, host: &str) -> Option<PeerHandle> {
        let peers = lock(&self.peers);
        let mut found = peers
            .iter()
            .filter(|p| p.is_open() && p.origin_host().eq_ignore_ascii_case(host));
        let first = found.next()?;
        if !first.is_suspect() {
            return Some(first.clone());
        }
        Some(found.find(|p| !p.is_suspect()).unwrap_or(first).clone())
    }

    /// An open peer for a route target (by Origin-Host, else by the address
    /// we connected to), without connecting.
    pub(crate) fn open_peer_for(&self, target: &crate::routing::PeerTarget) -> Option<PeerHandle> {
        target
            .host
            .as_deref()
            .and_then(|h| self.peer_by_host(h))
            .or_else(|| {
                lock(&self.peers)
                    .iter()
                    .find(|p| p.is_open() && p.is_initiator() && p.remote_addr() == target.addr)
                    .cloned()
            })
    }

    /// The open peer for a route target, connecting to it when needed.
    pub(crate) async fn peer_for(
        self: &Arc<Self>,
        target: &crate::routing::PeerTarget,
    ) -> Result<PeerHandle, NodeError> {
        if let Some(p) = self.open_peer_for(target) {
            return Ok(p);
        }
        let _guard = self.connect_lock.lock().await;
        if let Some(p) = self.open_peer_for(target) {
            return Ok(p);
        }
        connect(self, target.addr).await
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A Diameter node: accepts and opens peer connections, answers with its
/// [`RequestHandler`], routes requests, and (per [`AgentMode`]) relays,
/// proxies or redirects. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

impl Node {
    /// A node with this configuration. A relay advertises the relay
    /// application 0xffffffff (RFC 6733 §2.4) in place of its own list.
    pub fn new(cfg: NodeConfig, handler: Arc<dyn RequestHandler>) -> Node {
        Node::with_policy(cfg, handler, Arc::new(NoPolicy))
    }

    /// [`Node::new`] with a routing [`Policy`]: consulted by a relay, proxy
    /// or redirect agent for requests not addressed to it (a DRA's binding
    /// lookup), and given every answer a relay or proxy passes back.
    pub fn with_policy(
        mut cfg: NodeConfig,
        handler: Arc<dyn RequestHandler>,
        policy: Arc<dyn Policy>,
    ) -> Node {
        if cfg.mode == AgentMode::Relay {
            cfg.local.auth_application_ids = vec![app::RELAY];
        }
        let tls = cfg.tls.as_ref().map(TlsState::load);
        let redirects = RedirectCache::new(
            cfg.limits.redirect_cache_capacity,
            cfg.limits.redirect_cache_max_ttl,
        );
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| (d.as_secs() as u32) << 20 | d.subsec_micros() & 0xfffff)
            .unwrap_or(1);
        Node {
            inner: Arc::new(Inner {
                cfg,
                handler,
                policy,
                peers: Mutex::new(Vec::new()),
                listeners: Mutex::new(Vec::new()),
                connect_lock: tokio::sync::Mutex::new(()),
                redirects: Mutex::new(redirects),
                duplicates: Mutex::new(DuplicateCache::new(DUPLICATE_WINDOW, DUPLICATE_CAPACITY)),
                tls,
                seed: AtomicU32::new(seed),
                conn_ids: AtomicU64::new(1),
                shutting_down: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
                too_busy: Throttle::default(),
                too_busy_count: AtomicU64::new(0),
                connections: AtomicUsize::new(0),
                refused: Throttle::default(),
                accept_failed: Throttle::default(),
                oversized: Throttle::default(),
                write_queue_full: Throttle::default(),
            }),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.cfg
    }

    /// Requests answered 3004 DIAMETER_TOO_BUSY so far for
    /// [`crate::Limits::max_requests_in_flight_per_connection`] or
    /// [`crate::Limits::max_requests_in_flight`].
    pub fn too_busy_answers(&self) -> u64 {
        self.inner.too_busy_count.load(Ordering::Relaxed)
    }

    /// Listens on `addr` (port 0: any) and serves peers in the background
    /// (TLS from the first byte when configured). Returns the bound address.
    pub async fn listen(&self, addr: SocketAddr) -> Result<SocketAddr, NodeError> {
        let acceptor = match &self.inner.tls {
            None => None,
            Some(Ok(t)) => Some(t.acceptor()),
            Some(Err(e)) => return Err(NodeError::Tls(e.clone())),
        };
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        info!(%local, tls = acceptor.is_some(), "listening");
        let inner = self.inner.clone();
        let task = tokio::spawn(
            async move {
                loop {
                    let (stream, remote) = match listener.accept().await {
                        Ok(s) => s,
                        Err(e) => {
                            // E.g. EMFILE: back off, log once per interval.
                            if let Some(n) = inner.accept_failed.hit(crate::clock::now()) {
                                warn!(error = %e, failures = n, "accept failed");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Some(slot) = inner.try_slot() else {
                        if let Some(n) = inner.refused.hit(crate::clock::now()) {
                            warn!(
                                %remote,
                                refused = n,
                                max_connections = inner.cfg.limits.max_connections,
                                "connection cap reached: closing new connections"
                            );
                        }
                        drop(stream);
                        continue;
                    };
                    debug!(%remote, "accepted");
                    let _ = stream.set_nodelay(true);
                    match &acceptor {
                        None => {
                            let (rd, wr) = stream.into_split();
                            crate::conn::start(
                                inner.clone(),
                                slot,
                                (rd, wr),
                                remote,
                                None,
                                None,
                                inner.events(),
                            );
                        }
                        Some(acc) => {
                            let acc = acc.clone();
                            let inner = inner.clone();
                            let limit = inner.cfg.limits.tls_handshake_timeout;
                            tokio::spawn(async move {
                                match tokio::time::timeout(limit, acc.accept(stream)).await {
                                    Ok(Ok(tls)) => {
                                        let (rd, wr) = tokio::io::split(tls);
                                        let events = inner.events();
                                        crate::conn::start(
                                            inner,
                                            slot,
                                            (rd, wr),
                                            remote,
                                            None,
                                            None,
                                            events,
                                        );
                                    }
                                    Ok(Err(e)) => {
                                        warn!(%remote, error = %e, "TLS handshake failed")
                                    }
                                    Err(_) => warn!(
                                        %remote,
                                        timeout = ?limit,
                                        "TLS handshake not done in time: closed"
                                    ),
                                }
                            });
                        }
                    }
                }
            }
            .instrument(tracing::info_span!("diameter_listener", %local)),
        );
        lock(&self.inner.listeners).push(task);
        Ok(local)
    }

    /// Connects to a peer and completes CER/CEA; resolves once it is Open.
    pub async fn connect(&self, addr: SocketAddr) -> Result<PeerHandle, NodeError> {
        connect(&self.inner, addr).await
    }

    /// Sends a request routed by Destination-Host, realm and application, or
    /// the default route (see [`crate::routing`]), following a 3006 redirect.
    /// When no peer can take it: `NodeError::Answer(3002 | 3003)`.
    pub async fn request(&self, request: MessageBuilder) -> Result<Vec<u8>, NodeError> {
        let bytes = request
            .encode()
            .map_err(|e| NodeError::Encode(e.to_string()))?;
        self.request_bytes(bytes).await
    }

    /// [`Node::request`] for an encoded request.
    pub async fn request_bytes(&self, request: Vec<u8>) -> Result<Vec<u8>, NodeError> {
        crate::redirect::request_following_redirects(&self.inner, request).await
    }

    /// Open peers.
    pub fn peers(&self) -> Vec<PeerHandle> {
        self.inner.open_peers()
    }

    /// Stops listening, lets requests being answered finish (their answers
    /// are queued before the DPR), sends DPR (REBOOTING) to every open peer,
    /// waits briefly for the DPAs.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Relaxed);
        for l in lock(&self.inner.listeners).drain(..) {
            l.abort();
        }
        let idle = async {
            loop {
                let woken = self.inner.idle.notified();
                if self.inner.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                woken.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_WAIT, idle).await.is_err() {
            warn!("shutdown: requests still being answered; DPR sent anyway");
        }
        let waits: Vec<_> = self
            .inner
            .open_peers()
            .iter()
            .map(|p| p.stop(DISCONNECT_REBOOTING))
            .collect();
        let all = async {
            for w in waits {
                let _ = w.await;
            }
        };
        if tokio::time::timeout(SHUTDOWN_WAIT, all).await.is_err() {
            warn!("shutdown: some peers did not answer DPR in time");
        }
    }
}

/// Opens a connection (TCP, TLS when configured) and waits for Open. The
/// connection task re-opens it after DOWN (RFC 3539 §3.4.1) until shutdown.
pub(crate) async fn connect(inner: &Arc<Inner>, addr: SocketAddr) -> Result<PeerHandle, NodeError> {
    let connector = match &inner.tls {
        None => None,
        Some(Ok(t)) => Some(t.connector()?),
        Some(Err(e)) => return Err(NodeError::Tls(e.clone())),
    };
    let tw = inner.cfg.local.tw;
    let (up_tx, up_rx) = oneshot::channel();
    match connector {
        None => {
            let redial: crate::conn::Redial<_, _> = Arc::new(move || Box::pin(tcp(addr)));
            let (rd, wr) = tokio::time::timeout(tw, tcp(addr))
                .await
                .map_err(|_| NodeError::Timeout)??;
            let slot = inner.slot();
            let events = inner.events();
            crate::conn::start(
                inner.clone(),
                slot,
                (rd, wr),
                addr,
                Some(redial),
                Some(up_tx),
                events,
            );
        }
        Some(c) => {
            let redial: crate::conn::Redial<_, _> =
                Arc::new(move || Box::pin(tls(addr, c.clone())));
            let (rd, wr) = tokio::time::timeout(tw, redial())
                .await
                .map_err(|_| NodeError::Timeout)??;
            let slot = inner.slot();
            let events = inner.events();
            crate::conn::start(
                inner.clone(),
                slot,
                (rd, wr),
                addr,
                Some(redial),
                Some(up_tx),
                events,
            );
        }
    }
    up_rx
        .await
        .unwrap_or_else(|_| Err(NodeError::PeerDown("connection task ended".into())))
}

async fn tcp(
    addr: SocketAddr,
) -> Result<
    (
        tokio::net::tcp::OwnedReadHalf,
        tokio::net::tcp::OwnedWriteHalf,
    ),
    NodeError,
> {
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    Ok(stream.into_split())
}

type TlsHalves = (
    tokio::io::ReadHalf<tokio_rustls::client::TlsStream<TcpStream>>,
    tokio::io::WriteHalf<tokio_rustls::client::TlsStream<TcpStream>>,
);

async fn tls(addr: SocketAddr, c: tokio_rustls::TlsConnector) -> Result<TlsHalves, NodeError> {
    let stream = TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let tls = c
        .connect(name, stream)
        .await
        .map_err(|e| NodeError::Tls(e.to_string()))?;
    Ok(tokio::io::split(tls))
}
