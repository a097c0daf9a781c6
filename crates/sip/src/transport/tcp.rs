//! SIP over TCP, owned by us under rsipstack's transaction layer: the accept loop, one read loop
//! per connection, and outgoing connections.
//!
//! - Every socket has `TCP_NODELAY`: a NOTIFY written right after a 200 must not wait for the
//!   peer's delayed ACK (Nagle's algorithm; about 40 ms per message otherwise).
//! - At most `max_connections` accepted connections; one more is accepted and closed at once.
//!   A failing `accept` (EMFILE: out of file descriptors) backs off from 10 ms to 1 s.
//! - A connection is closed when no byte came for `idle_timeout`, or when a message that has
//!   started does not end within `message_timeout` (a trickle of bytes does not keep it open).
//! - A message that can be framed but not parsed gets 400 and the connection carries on; only
//!   lost framing (a `Content-Length` we cannot read, a header section without end) closes it,
//!   after a 400 when there is a header section to answer, and after a grace period so that the
//!   answers to earlier requests still go out.
//!
//! Refusals and failures are logged once per [`LOG_INTERVAL`](corelab_log_throttle::LOG_INTERVAL)
//! with their count.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::sip::Transport;
use rsipstack::transport::connection::TransportSender;
use rsipstack::transport::stream::StreamConnection;
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportEvent};
use tokio::io::{AsyncReadExt, ReadHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::build;
use crate::framing::{Frame, StreamFramer};
use crate::validate::{self, Inbound};
use corelab_log_throttle::Throttle;
use corelab_wire_tap::{Direction, Transport as TapTransport};

/// Limits on TCP connections (config `sip.max_connections`, `sip.tcp_idle_timeout_ms`,
/// `sip.tcp_message_timeout_ms`).
#[derive(Debug, Clone)]
pub struct TcpLimits {
    /// Accepted connections open at once (each is a file descriptor).
    pub max_connections: usize,
    /// Close a connection on which no byte arrived for this long.
    pub idle_timeout: Duration,
    /// A message whose first byte has arrived must be complete within this.
    pub message_timeout: Duration,
}

impl TcpLimits {
    /// From the `[sip]` keys `max_connections`, `tcp_idle_timeout_ms`, `tcp_message_timeout_ms`.
    pub fn from_ms(
        max_connections: usize,
        idle_timeout_ms: u64,
        message_timeout_ms: u64,
    ) -> TcpLimits {
        TcpLimits {
            max_connections,
            idle_timeout: Duration::from_millis(idle_timeout_ms),
            message_timeout: Duration::from_millis(message_timeout_ms),
        }
    }
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            max_connections: 512,
            idle_timeout: Duration::from_secs(300),
            message_timeout: Duration::from_secs(10),
        }
    }
}

/// Why no connection could be had for a request we send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The peer did not accept within the timeout (64·T1): as Timer F.
    Timeout,
    /// The peer refused or is unreachable: a transport error (RFC 3261 §8.1.3.1).
    Unreachable(String),
    /// Our side failed (socket options, ...).
    Local(String),
}

/// Why a connection's read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Cancelled: shutdown, or a write on it failed.
    Local,
    /// No byte for `idle_timeout`.
    Idle,
    /// A message not complete within `message_timeout`.
    SlowMessage,
    PeerClosed,
    ReadError,
    FramingLost,
}

/// How long a connection whose reading stopped stays open for answers still on their way.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The live TCP connections, by remote address (reused for requests we send there).
pub struct Streams {
    /// The node's SIP address (the wire tap's local address for TCP).
    local: SocketAddr,
    table: Mutex<HashMap<SocketAddr, TcpConnection>>,
    /// Accepted connections not yet closed.
    inbound: AtomicUsize,
    limits: TcpLimits,
    inject: TransportSender,
    cancel: CancellationToken,
    refused: Throttle,
    accept_failed: Throttle,
    malformed: Throttle,
    closed: Throttle,
}

/// A TCP listener socket on `addr` (SO_REUSEADDR, like rsipstack's, so a restart can rebind).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

impl Streams {
    pub fn new(
        local: SocketAddr,
        limits: TcpLimits,
        inject: TransportSender,
        cancel: CancellationToken,
    ) -> Streams {
        Streams {
            local,
            table: Mutex::default(),
            inbound: AtomicUsize::new(0),
            limits,
            inject,
            cancel,
            refused: Throttle::default(),
            accept_failed: Throttle::default(),
            malformed: Throttle::default(),
            closed: Throttle::default(),
        }
    }

    /// Accepted connections open now.
    pub fn inbound(&self) -> usize {
        self.inbound.load(Ordering::Relaxed)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, TcpConnection>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Accept connections until cancelled.
    pub async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        let mut backoff = Duration::ZERO;
        loop {
            let accepted = tokio::select! {
                _ = self.cancel.cancelled() => return,
                r = listener.accept() => r,
            };
            match accepted {
                Ok((stream, remote)) => {
                    backoff = Duration::ZERO;
                    let max = self.limits.max_connections;
                    if self.inbound.load(Ordering::Relaxed) >= max {
                        drop(stream);
                        if let Some(count) = self.refused.hit(Instant::now()) {
                            tracing::warn!(%remote, max_connections = max, count,
                                "TCP connection refused: sip.max_connections reached (count: since the last such line)");
                        }
                        continue;
                    }
                    self.inbound.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = self.adopt(stream, remote, true) {
                        self.inbound.fetch_sub(1, Ordering::Relaxed);
                        tracing::debug!(%remote, error = %e, "accepted TCP connection unusable");
                    }
                }
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: the pending connection stays in the backlog, so
                    // retrying at once spins. Wait, longer each time, until accept works again.
                    backoff =
                        (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                    if let Some(count) = self.accept_failed.hit(Instant::now()) {
                        tracing::warn!(error = %e, count, retry_in_ms = backoff.as_millis() as u64,
                            "TCP accept failing, backing off (count: since the last such line)");
                    }
                    tokio::select! {
                        _ = self.cancel.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
    }

    /// A connection to `remote` for a request we send: the live one, or a new one.
    pub async fn connect(
        self: &Arc<Self>,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Result<SipConnection, ConnectError> {
        if let Some(conn) = self.table().get(&remote).cloned() {
            return Ok(SipConnection::Tcp(conn));
        }
        let stream = tokio::time::timeout(timeout, TcpStream::connect(remote))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(|e| ConnectError::Unreachable(format!("TCP connect to {remote}: {e}")))?;
        self.adopt(stream, remote, false)
            .map(SipConnection::Tcp)
            .map_err(|e| ConnectError::Local(format!("TCP connection to {remote}: {e}")))
    }

    /// Set `TCP_NODELAY`, wrap the stream for rsipstack (which writes answers on it) and read it
    /// ourselves.
    fn adopt(
        self: &Arc<Self>,
        stream: TcpStream,
        remote: SocketAddr,
        inbound: bool,
    ) -> Result<TcpConnection, String> {
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        let local = SipAddr {
            r#type: Some(Transport::Tcp),
            addr: local.into(),
        };
        let token = self.cancel.child_token();
        let conn = TcpConnection::from_stream(stream, local, Some(token.clone()))
            .map_err(|e| e.to_string())?;
        let read = conn
            .inner
            .read_half
            .try_lock()
            .ok()
            .and_then(|mut r| r.take())
            .ok_or("read half already taken")?;
        self.table().insert(remote, conn.clone());
        tokio::spawn(
            self.clone()
                .serve(conn.clone(), read, token, remote, inbound),
        );
        Ok(conn)
    }

    /// Read one connection until it closes, times out or loses its framing.
    async fn serve(
        self: Arc<Self>,
        conn: TcpConnection,
        mut read: ReadHalf<TcpStream>,
        token: CancellationToken,
        remote: SocketAddr,
        inbound: bool,
    ) {
        let sip_conn = SipConnection::Tcp(conn.clone());
        let mut framer = StreamFramer::new();
        let mut buf = vec![0u8; 16 * 1024];
        let mut idle_since = tokio::time::Instant::now();
        let mut message_since: Option<tokio::time::Instant> = None;
        let ended = loop {
            let deadline = match message_since {
                Some(t) => t + self.limits.message_timeout,
                None => idle_since + self.limits.idle_timeout,
            };
            let n = tokio::select! {
                _ = token.cancelled() => break End::Local,
                _ = tokio::time::sleep_until(deadline) => break match message_since {
                    Some(_) => End::SlowMessage,
                    None => End::Idle,
                },
                r = read.read(&mut buf) => match r {
                    Ok(0) => break End::PeerClosed,
                    Ok(n) => n,
                    Err(_) => break End::ReadError,
                },
            };
            framer.push(&buf[..n]);
            let mut lost = None;
            while let Some(frame) = framer.next_frame() {
                match frame {
                    Frame::Ping => {
                        let _ = conn.send_raw(b"\r\n").await;
                    }
                    Frame::Message(bytes) => {
                        self.tap(Direction::Received, remote, &bytes);
                        match validate::inbound(&bytes, remote, Transport::Tcp) {
                            Inbound::Deliver(msg) => self.deliver(msg, remote, &sip_conn),
                            Inbound::Answer { reason, bytes, .. } => {
                                self.refused(remote, &reason);
                                self.tap(Direction::Sent, remote, &bytes);
                                let _ = conn.send_raw(&bytes).await;
                            }
                            Inbound::Drop { reason } => self.refused(remote, &reason),
                        }
                    }
                    Frame::Lost { reason, head } => {
                        self.refused(remote, &reason);
                        if let Some(bytes) =
                            head.and_then(|head| build::raw_response(&head, 400, &reason))
                        {
                            let _ = conn.send_raw(&bytes).await;
                        }
                        lost = Some(reason);
                    }
                }
            }
            if lost.is_some() {
                break End::FramingLost;
            }
            let now = tokio::time::Instant::now();
            if framer.is_mid_message() {
                message_since.get_or_insert(now);
            } else {
                message_since = None;
                idle_since = now;
            }
        };
        drop(read);
        self.forget(remote, &conn);
        if let Some(count) = self.closed.hit(Instant::now()) {
            tracing::debug!(%remote, reason = ?ended, count, "TCP connection closed");
        }
        // Answers to requests already handed on may still be on their way: close (and free
        // the slot) a little later, unless the peer has gone quiet anyway.
        let graceful = matches!(ended, End::PeerClosed | End::FramingLost);
        let streams = self.clone();
        tokio::spawn(async move {
            if graceful {
                tokio::time::sleep(CLOSE_GRACE).await;
            }
            let _ = conn.close().await;
            if inbound {
                streams.inbound.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }

    fn tap(&self, direction: Direction, remote: SocketAddr, bytes: &[u8]) {
        crate::tap::on_wire(
            direction,
            TapTransport::Tcp,
            self.local,
            Some(remote),
            bytes,
        );
    }

    /// Hand one message to the endpoint, to be answered on `conn`.
    fn deliver(&self, msg: rsipstack::sip::SipMessage, remote: SocketAddr, conn: &SipConnection) {
        let from = SipAddr {
            r#type: Some(Transport::Tcp),
            addr: remote.into(),
        };
        let _ = self
            .inject
            .send(TransportEvent::Incoming(msg, conn.clone(), from));
    }

    /// Log a refused message, once per interval with the count.
    fn refused(&self, remote: SocketAddr, reason: &str) {
        if let Some(count) = self.malformed.hit(Instant::now()) {
            tracing::warn!(%remote, %reason, count, "malformed message over TCP (count: since the last such line)");
        }
    }

    /// Drop `conn` from the table (not a newer connection from the same address).
    fn forget(&self, remote: SocketAddr, conn: &TcpConnection) {
        let mut table = self.table();
        if table
            .get(&remote)
            .is_some_and(|c| Arc::ptr_eq(&c.inner, &conn.inner))
        {
            table.remove(&remote);
        }
    }
}
