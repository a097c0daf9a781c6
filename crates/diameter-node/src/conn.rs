//! One connection: a task that owns the sans-IO [`Peer`] state machine and the
//! read half, and a writer task that owns the write half.
//!
//! The connection task feeds the state machine with framed messages
//! (`frame_length`), commands from [`PeerHandle`]s and its one timer, and
//! carries out what `poll()` returns: bytes go to the writer, `ArmTimer`
//! resets the timer, answers go to their waiters, and requests and failovers
//! go up the connection's event queue ([`crate::events`]; the connection never
//! calls routing or the application). The
//! writer batches: it copies every queued message into a buffered writer and
//! flushes only when the queue is empty.

use crate::tap::{Tap, TransportInfo};
use corelab_wire_tap::Direction;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::{Buf, BytesMut};
use corelab_diameter::peer::{Input, Output, Peer, PeerEvent};
use corelab_diameter::{DiameterError, ResultCode, RoutingView, frame_length};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio::time::Sleep;
use tracing::{Instrument, debug, info, warn};

use crate::error::NodeError;
use crate::error_answer::error_answer;
use crate::events::{Event, Events};
use crate::handle::{Cmd, PeerHandle, Shared, Waiter, WriteCmd};
use crate::node::{ConnSlot, Inner};

/// Read buffer growth step and writer buffer size.
const BUF: usize = 64 * 1024;
/// Commands taken per wake-up before reading the socket again.
const CMD_BATCH: usize = 128;

/// Opens the transport again (initiated connections): the reconnection the
/// state machine asks for after DOWN (RFC 3539 §3.4.1, every Tw).
pub(crate) type Redial<R, W> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(R, W), NodeError>> + Send>> + Send + Sync>;

/// Starts the tasks for a connected transport (read and write halves). `up`
/// gets the handle once the capabilities exchange succeeds (or the error when
/// it fails); requests and failovers go up `events`.
pub(crate) fn start<R, W>(
    inner: Arc<Inner>,
    slot: ConnSlot,
    (rd, wr): (R, W),
    remote: SocketAddr,
    redial: Option<Redial<R, W>>,
    up: Option<oneshot::Sender<Result<PeerHandle, NodeError>>>,
    events: Events,
) where
    R: AsyncRead + TransportInfo + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let tap = Tap::of(&rd, remote);
    let initiator = redial.is_some();
    let (wtx, wrx) = mpsc::channel(inner.cfg.limits.write_queue.max(1));
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let seed = inner.seed();
    let mut local = inner.cfg.local.clone();
    local.tw = jittered(local.tw, seed);
    let mut peer = Peer::new(local, seed);
    if let Some(t) = inner.cfg.request_timeout {
        peer.set_request_timeout(t);
    }
    peer.set_cer_timeout(inner.cfg.limits.cer_timeout);
    let span = tracing::info_span!(
        "diameter_conn",
        %remote,
        origin_host = tracing::field::Empty
    );
    let writer_task = tokio::spawn(writer(wr, wrx, tap).instrument(span.clone())).abort_handle();
    let conn = Conn {
        inner,
        _slot: slot,
        writer_task,
        write_queue_full: false,
        peer,
        rd: Some(rd),
        redial,
        want_connect: false,
        done: false,
        stopped: false,
        buf: BytesMut::with_capacity(BUF),
        wtx,
        cmd_rx,
        cmd_tx,
        waiters: HashMap::new(),
        sleep: Box::pin(tokio::time::sleep(std::time::Duration::from_secs(86_400))),
        handle: None,
        up,
        remote,
        initiator,
        closing: false,
        stop_waiters: Vec::new(),
        span: span.clone(),
        events,
        outbox: Vec::new(),
        tap,
    };
    tokio::spawn(conn.run().instrument(span));
}

struct Conn<R, W> {
    inner: Arc<Inner>,
    /// Counted against the connection cap while the task lives.
    _slot: ConnSlot,
    /// The writer task, aborted when its queue fills.
    writer_task: AbortHandle,
    /// The writer's queue was found full: drop the connection.
    write_queue_full: bool,
    peer: Peer,
    /// `None` while the transport is closed (waiting to reconnect).
    rd: Option<R>,
    redial: Option<Redial<R, W>>,
    want_connect: bool,
    /// The task ends.
    done: bool,
    /// DPR sent or connection dropped on purpose: no reconnect.
    stopped: bool,
    buf: BytesMut,
    wtx: mpsc::Sender<WriteCmd>,
    cmd_rx: mpsc::UnboundedReceiver<Cmd>,
    cmd_tx: mpsc::UnboundedSender<Cmd>,
    /// Answers awaited: Hop-by-Hop id → waiter.
    waiters: HashMap<u32, Waiter>,
    sleep: Pin<Box<Sleep>>,
    handle: Option<PeerHandle>,
    up: Option<oneshot::Sender<Result<PeerHandle, NodeError>>>,
    remote: SocketAddr,
    initiator: bool,
    closing: bool,
    stop_waiters: Vec<oneshot::Sender<()>>,
    span: tracing::Span,
    /// Up to the node ([`crate::events`]).
    events: Events,
    /// Events the state machine produced, sent before the socket is read again.
    outbox: Vec<Event>,
    /// This connection on the wire tap.
    tap: Tap,
}

impl<R, W> Conn<R, W>
where
    R: AsyncRead + TransportInfo + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self) {
        let now = crate::clock::now();
        if self.initiator {
            // The transport is already connected: Start then Connected.
            self.peer.handle(now, Input::Start);
            self.peer.handle(now, Input::Connected);
        } else {
            self.peer.handle(now, Input::Accepted);
        }
        self.drain();
        // The `Connect` that `Start` asked for is the transport we were given.
        self.want_connect = false;
        while !self.done {
            self.send_events().await;
            if std::mem::take(&mut self.write_queue_full) {
                self.input(Input::Disconnected);
                continue;
            }
            if self.closing {
                // Transport closed; the task stays only for a reconnection.
                self.rd = None;
                self.buf.clear();
                if self.stopped
                    || self.redial.is_none()
                    || !self.peer.reconnect_pending()
                    || self.inner.is_shutting_down()
                {
                    break;
                }
                self.closing = false;
            }
            if self.want_connect {
                self.want_connect = false;
                if self.inner.is_shutting_down() {
                    break;
                }
                self.reconnect().await;
                continue;
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(BUF);
            }
            tokio::select! {
                r = read_some(&mut self.rd, &mut self.buf) => match r {
                    Ok(0) => self.input(Input::Disconnected),
                    Ok(_) => self.on_bytes(),
                    Err(e) => {
                        debug!(error = %e, "read failed");
                        self.input(Input::Disconnected);
                    }
                },
                Some(cmd) = self.cmd_rx.recv() => {
                    self.on_cmd(cmd);
                    for _ in 0..CMD_BATCH {
                        match self.cmd_rx.try_recv() {
                            Ok(cmd) => self.on_cmd(cmd),
                            Err(_) => break,
                        }
                    }
                }
                () = self.sleep.as_mut() => {
                    self.sleep.as_mut().reset(far_future());
                    self.input(Input::Timeout);
                }
            }
        }
        self.finish("connection closed");
        self.send_events().await;
    }

    /// Sends the queued events up, waiting while the queue is full: until it
    /// has room, this connection reads nothing more (backpressure).
    async fn send_events(&mut self) {
        for e in std::mem::take(&mut self.outbox) {
            if self.events.send(e).await.is_err() {
                // The node is gone (its dispatch task ended): nothing to do.
                debug!("event queue closed; event dropped");
            }
        }
    }

    /// Opens the transport again and tells the state machine how it went.
    async fn reconnect(&mut self) {
        let Some(redial) = self.redial.clone() else {
            return;
        };
        let tw = self.inner.cfg.local.tw;
        match tokio::time::timeout(tw, redial()).await {
            Ok(Ok((rd, wr))) => {
                info!("transport re-opened; capabilities exchange again");
                self.tap = Tap::of(&rd, self.remote);
                let (wtx, wrx) = mpsc::channel(self.inner.cfg.limits.write_queue.max(1));
                self.writer_task =
                    tokio::spawn(writer(wr, wrx, self.tap).instrument(self.span.clone()))
                        .abort_handle();
                self.wtx = wtx.clone();
                if let Some(h) = &self.handle {
                    *crate::node::lock(&h.shared.writer) = wtx;
                }
                self.rd = Some(rd);
                self.buf.clear();
                self.input(Input::Connected);
            }
            Ok(Err(e)) => {
                debug!(error = %e, "reconnect failed");
                self.input(Input::ConnectFailed);
            }
            Err(_) => {
                debug!("reconnect timed out");
                self.input(Input::ConnectFailed);
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.peer.handle(crate::clock::now(), input);
        self.drain();
    }

    /// Feeds every whole message in the read buffer to the state machine.
    fn on_bytes(&mut self) {
        let now = crate::clock::now();
        let max = self.inner.cfg.limits.max_message_size;
        loop {
            match frame_length(&self.buf) {
                Ok(Some(n)) if n > max => {
                    // Checked on the header, before the body is buffered.
                    if let Some(count) = self.inner.oversized.hit(now) {
                        warn!(
                            message_length = n,
                            max_message_size = max,
                            count,
                            "message longer than the limit: 5015, connection closed"
                        );
                    }
                    let e = DiameterError::new(
                        ResultCode::DIAMETER_INVALID_MESSAGE_LENGTH,
                        format!("Message Length {n} exceeds the maximum {max}"),
                    );
                    return self.close_unframeable(now, &e);
                }
                Ok(Some(n)) if self.buf.len() >= n => {
                    if tracing::enabled!(tracing::Level::DEBUG) {
                        log_message("recv", &self.buf[..n]);
                    }
                    self.tap.emit(Direction::Received, &self.buf[..n]);
                    self.peer.handle(now, Input::Received(&self.buf[..n]));
                    self.buf.advance(n);
                    self.drain();
                    if self.closing {
                        return;
                    }
                }
                Ok(Some(n)) => {
                    self.buf.reserve(n - self.buf.len());
                    return;
                }
                Ok(None) => return,
                Err(e) => {
                    warn!(error = %e, "framing error; closing the connection");
                    return self.close_unframeable(now, &e);
                }
            }
        }
    }

    /// RFC 6733 §3: the stream cannot be re-framed; answer if a header is
    /// there, then close.
    fn close_unframeable(&mut self, now: std::time::Instant, e: &DiameterError) {
        if let Some(Ok(ans)) = corelab_diameter::error_answer(
            &self.buf,
            e,
            &self.inner.cfg.local.origin_host,
            &self.inner.cfg.local.origin_realm,
        ) {
            self.write(WriteCmd::Bytes(ans));
        }
        self.buf.clear();
        self.peer.handle(now, Input::Disconnected);
        self.drain();
        self.closing = true;
        self.write(WriteCmd::Close);
    }

    /// Queues a message (or the close) for the writer. A full queue means the
    /// peer stopped reading: the writer is aborted and the connection dropped
    /// (its pending requests fail over, RFC 6733 §5.5.4).
    fn write(&mut self, cmd: WriteCmd) {
        match self.wtx.try_send(cmd) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.on_write_queue_full(),
            // The writer ended (write error): the reader sees the close.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn on_write_queue_full(&mut self) {
        if let Some(count) = self.inner.write_queue_full.hit(crate::clock::now()) {
            warn!(
                write_queue = self.inner.cfg.limits.write_queue,
                count, "peer not reading: write queue full, connection dropped"
            );
        }
        self.writer_task.abort();
        self.write_queue_full = true;
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request { bytes, reply } => {
                match self.peer.send_request_bytes(crate::clock::now(), bytes) {
                    Some(hbh) => {
                        self.waiters.insert(hbh, reply);
                        self.drain();
                    }
                    None => {
                        let _ = reply.send(Err(NodeError::PeerDown(format!(
                            "peer not open ({:?})",
                            self.peer.state()
                        ))));
                    }
                }
            }
            Cmd::Close => {
                self.stopped = true;
                self.input(Input::Disconnected);
            }
            Cmd::WriteQueueFull => self.on_write_queue_full(),
            Cmd::Stop { cause, done } => {
                self.stopped = true;
                self.stop_waiters.push(done);
                self.input(Input::Stop(cause));
                if self.rd.is_none() {
                    self.finish("stopped");
                }
            }
        }
    }

    /// Carries out everything the state machine asks for.
    fn drain(&mut self) {
        while let Some(out) = self.peer.poll() {
            match out {
                Output::Send(bytes) => self.write(WriteCmd::Bytes(bytes)),
                Output::ArmTimer(at) => self
                    .sleep
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(at)),
                // The first connection is made before the machine starts;
                // this is the reconnection after DOWN.
                Output::Connect => self.want_connect = true,
                Output::Disconnect => {
                    self.closing = true;
                    self.write(WriteCmd::Close);
                }
                Output::Event(e) => self.on_event(e),
            }
        }
    }

    fn on_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Up {
                origin_host,
                origin_realm,
                applications,
            } => self.on_up(origin_host, origin_realm, applications),
            PeerEvent::Suspect => {
                warn!("watchdog: peer SUSPECT (no DWA within Tw)");
                if let Some(h) = &self.handle {
                    h.shared.suspect.store(true, Ordering::Relaxed);
                }
            }
            PeerEvent::Failover(requests) => self.on_failover(requests),
            PeerEvent::Disconnecting => {
                // DPA sent; the peer closes. No new requests go to it.
                info!("peer sent DPR: DPA sent, waiting for it to close");
                if let Some(h) = &self.handle {
                    h.shared.open.store(false, Ordering::Relaxed);
                    self.inner.remove_peer(h.id());
                }
            }
            PeerEvent::Down(reason) => self.on_down(reason),
            PeerEvent::Request(bytes) => match &self.handle {
                Some(from) => match self.inner.try_in_flight(from) {
                    Some(in_flight) => self.outbox.push(Event::Request {
                        from: from.clone(),
                        bytes,
                        in_flight,
                    }),
                    None => {
                        let code = ResultCode::DIAMETER_TOO_BUSY;
                        let reason = "too many requests in flight";
                        let answer = error_answer(&self.inner, &bytes, code, reason);
                        if !answer.is_empty() {
                            from.send_raw(answer);
                        }
                    }
                },
                None => warn!("request before the peer is up; dropped"),
            },
            PeerEvent::Answer(bytes) => {
                let hbh = hop_by_hop(&bytes);
                if let Some(w) = self.waiters.remove(&hbh) {
                    let _ = w.send(Ok(bytes));
                }
            }
            PeerEvent::AnswerTimeout(hbh) => {
                debug!(hop_by_hop = hbh, "no answer within the request timeout");
                if let Some(w) = self.waiters.remove(&hbh) {
                    let _ = w.send(Err(NodeError::Timeout));
                }
            }
            PeerEvent::ProtocolError(e) => {
                warn!(result_code = e.code.0, reason = %e.reason, "protocol error from peer");
            }
        }
    }

    fn on_up(&mut self, origin_host: String, origin_realm: String, applications: Vec<u32>) {
        if let Some(h) = &self.handle {
            h.shared.suspect.store(false, Ordering::Relaxed);
            if h.shared.open.swap(true, Ordering::Relaxed) {
                info!("watchdog: peer OKAY again");
            } else {
                info!("peer re-opened (REOPEN → OKAY)");
                self.inner.add_peer(h.clone());
            }
            return;
        }
        self.span.record("origin_host", origin_host.as_str());
        info!(%origin_realm, ?applications, "peer open");
        let handle = PeerHandle {
            shared: Arc::new(Shared {
                id: self.inner.next_conn_id(),
                origin_host,
                origin_realm,
                applications,
                capabilities: self.peer.peer_capabilities().unwrap_or_default().to_vec(),
                remote: self.remote,
                initiator: self.initiator,
                cmd: self.cmd_tx.clone(),
                writer: std::sync::Mutex::new(self.wtx.clone()),
                open: AtomicBool::new(true),
                suspect: AtomicBool::new(false),
                node: Arc::downgrade(&self.inner),
                in_flight: AtomicUsize::new(0),
            }),
        };
        self.handle = Some(handle.clone());
        self.inner.add_peer(handle.clone());
        if let Some(up) = self.up.take() {
            let _ = up.send(Ok(handle));
        }
    }

    fn on_failover(&mut self, requests: Vec<Vec<u8>>) {
        let failed = self.handle.as_ref().map(PeerHandle::peer_id);
        for req in requests {
            let Some(waiter) = self.waiters.remove(&hop_by_hop(&req)) else {
                continue;
            };
            info!(
                session_id = session_id(&req).unwrap_or(""),
                "failover: re-sending pending request with the T flag"
            );
            self.outbox.push(Event::Failover {
                failed,
                request: req,
                waiter,
            });
        }
    }

    fn on_down(&mut self, reason: String) {
        if self.stopped || self.redial.is_none() || !self.peer.reconnect_pending() {
            info!(%reason, "peer down");
            self.finish(&reason);
            return;
        }
        // RFC 3539 §3.4.1 DOWN: the state machine reconnects every Tw; the
        // handle stays, out of the routing table until the peer is OKAY.
        info!(%reason, "peer down; reconnecting every Tw");
        if let Some(h) = &self.handle {
            h.shared.open.store(false, Ordering::Relaxed);
            h.shared.suspect.store(false, Ordering::Relaxed);
            self.inner.remove_peer(h.id());
        }
        for (_, w) in self.waiters.drain() {
            let _ = w.send(Err(NodeError::PeerDown(reason.clone())));
        }
        self.closing = true;
        self.write(WriteCmd::Close);
    }

    /// Fails everything waiting on this connection and unregisters it.
    fn finish(&mut self, reason: &str) {
        if let Some(h) = self.handle.take() {
            h.shared.open.store(false, Ordering::Relaxed);
            self.inner.remove_peer(h.id());
        }
        if let Some(up) = self.up.take() {
            let code = self
                .peer
                .peer_capabilities()
                .and_then(|c| corelab_diameter::Message::decode(c).ok())
                .and_then(|m| m.result_code());
            let err = match code {
                Some(c) if !c.is_success() => NodeError::Capabilities(c.0),
                Some(_) => NodeError::Capabilities(
                    corelab_diameter::ResultCode::DIAMETER_NO_COMMON_APPLICATION.0,
                ),
                None => NodeError::PeerDown(reason.to_string()),
            };
            let _ = up.send(Err(err));
        }
        for (_, w) in self.waiters.drain() {
            let _ = w.send(Err(NodeError::PeerDown(reason.to_string())));
        }
        for d in self.stop_waiters.drain(..) {
            let _ = d.send(());
        }
        self.done = true;
        self.closing = true;
        self.write(WriteCmd::Close);
    }
}

/// The writer task: batches queued messages into one buffered write and
/// flushes when the queue is empty.
async fn writer<W: AsyncWrite + Unpin>(wr: W, mut rx: mpsc::Receiver<WriteCmd>, tap: Tap) {
    let mut w = BufWriter::with_capacity(BUF, wr);
    while let Some(mut cmd) = rx.recv().await {
        loop {
            match cmd {
                WriteCmd::Bytes(b) => {
                    if tracing::enabled!(tracing::Level::DEBUG) {
                        log_message("sent", &b);
                    }
                    tap.emit(Direction::Sent, &b);
                    if let Err(e) = w.write_all(&b).await {
                        debug!(error = %e, "write failed");
                        return;
                    }
                }
                WriteCmd::Close => {
                    let _ = w.flush().await;
                    let _ = w.shutdown().await;
                    return;
                }
            }
            match rx.try_recv() {
                Ok(next) => cmd = next,
                Err(_) => break,
            }
        }
        if let Err(e) = w.flush().await {
            debug!(error = %e, "flush failed");
            return;
        }
    }
}

/// RFC 3539 §3.4.1: Tw plus a jitter within ±2 s, fixed per connection
/// here. Only for Tw ≥ 6 s (the RFC's minimum); shorter test values are kept.
fn jittered(tw: std::time::Duration, seed: u32) -> std::time::Duration {
    const JITTER_MS: u64 = 2_000;
    if tw < std::time::Duration::from_secs(6) {
        return tw;
    }
    let r = u64::from(seed.wrapping_mul(2_654_435_761) >> 8) % (2 * JITTER_MS + 1);
    tw + std::time::Duration::from_millis(r) - std::time::Duration::from_millis(JITTER_MS)
}

/// Reads into `buf`, or waits forever while the transport is closed.
async fn read_some<R: AsyncRead + Unpin>(
    rd: &mut Option<R>,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    match rd {
        Some(r) => r.read_buf(buf).await,
        None => std::future::pending().await,
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
}

/// CC-Request-Type, RFC 4006 §8.3.
const CC_REQUEST_TYPE: u32 = 416;

/// A top-level Unsigned32/Enumerated AVP of vendor 0 (0 when absent or the message undecodable).
fn top_level_u32(bytes: &[u8], code: u32) -> u32 {
    corelab_diameter::Message::decode(bytes)
        .ok()
        .and_then(|m| m.find(code, 0)?.as_u32().ok())
        .unwrap_or(0)
}

/// Result-Code, else Experimental-Result's Experimental-Result-Code (0 when neither).
fn result_code(bytes: &[u8]) -> u32 {
    use corelab_diameter::codes::avp as code;
    let Ok(m) = corelab_diameter::Message::decode(bytes) else {
        return 0;
    };
    if let Some(c) = m.find(code::RESULT_CODE, 0).and_then(|a| a.as_u32().ok()) {
        return c;
    }
    m.find(code::EXPERIMENTAL_RESULT, 0)
        .and_then(|a| a.as_grouped().ok())
        .and_then(|g| g.get_all(code::EXPERIMENTAL_RESULT_CODE, 0).next())
        .and_then(|a| a.as_u32().ok())
        .unwrap_or(0)
}

/// The Hop-by-Hop id of an encoded message (0 if too short).
pub(crate) fn hop_by_hop(bytes: &[u8]) -> u32 {
    bytes
        .get(12..16)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}

pub(crate) fn session_id(bytes: &[u8]) -> Option<&str> {
    RoutingView::decode(bytes).ok()?.session_id_str()
}

/// One debug line per message: direction, command, flags, ids, Session-Id, and (0 when absent)
/// CC-Request-Type (RFC 4006 §8.3) and the Result-Code or Experimental-Result-Code. The fields
/// are read only when the line is enabled.
pub(crate) fn log_message(dir: &str, bytes: &[u8]) {
    match corelab_diameter::Header::parse(bytes) {
        Ok(h) => debug!(
            dir,
            command_code = h.command_code,
            application_id = h.application_id,
            request = h.is_request(),
            flags = h.flags,
            hop_by_hop = h.hop_by_hop,
            end_to_end = h.end_to_end,
            session_id = session_id(bytes).unwrap_or(""),
            cc_request_type = top_level_u32(bytes, CC_REQUEST_TYPE),
            result_code = result_code(bytes),
            len = bytes.len(),
            "diameter message"
        ),
        Err(e) => debug!(dir, error = %e, len = bytes.len(), "undecodable message"),
    }
}

#[cfg(test)]
mod tests {
    use super::jittered;
    use std::time::Duration;

    #[test]
    fn tw_jitter_stays_within_two_seconds_and_spares_test_values() {
        let tw = Duration::from_secs(30);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..1000u32 {
            let j = jittered(tw, seed.wrapping_mul(0x0101_0000));
            assert!(
                j >= Duration::from_secs(28) && j <= Duration::from_secs(32),
                "{j:?}"
            );
            seen.insert(j);
        }
        assert!(seen.len() > 100, "jitter varies between connections");
        assert_eq!(
            jittered(Duration::from_millis(200), 12345),
            Duration::from_millis(200)
        );
    }
}
