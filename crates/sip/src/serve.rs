//! The serve loop every corelab SIP node shares: incoming server transactions handed to the
//! node's handler, **in arrival order per dialog and per stream connection**, unrelated requests
//! at once, with admission control.
//!
//! - Order ([`order::Sequencer`], free of IO): a request runs once every earlier request of its
//!   dialog (Call-ID + From tag) and, over TCP, of its connection has finished. In-order refreshes
//!   of one dialog are therefore never seen out of order (RFC 3261 §12.2.2), and a REGISTER
//!   written before a SUBSCRIBE on one connection is handled first.
//! - "Finished" means answered: the handler returns the work that may follow the answer (a
//!   [`FollowUp`], e.g. the NOTIFY after a SUBSCRIBE's 200, RFC 6665 §4.2.1.2), which runs after
//!   the next request of the dialog is let through, so a watcher that never answers its NOTIFYs
//!   does not hold up its own refreshes.
//! - Admission: at most [`ServeConfig::max_per_key`] requests per dialog or connection and
//!   [`ServeConfig::max_total`] in all (running and waiting). Past that the request is answered
//!   `503 Service Unavailable` with `Retry-After` (RFC 3261 §21.5.4), counted in
//!   `corelab_sip_requests_refused_total{limit}`, and logged at most once per 10 s
//!   ([`Throttle`]).

pub mod order;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rsipstack::sip::{Method, Request};
use rsipstack::transaction::{Transaction, TransactionReceiver};
use tokio_util::sync::CancellationToken;

use crate::{build, headers};
use corelab_log_throttle::Throttle;
use order::{Admission, Limits, OrderKey, Sequencer, Ticket};

/// Work a handler leaves for after its answer is sent.
pub type FollowUp = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Requests refused by admission control, by `limit` (`per_key`, `total`).
pub const REQUESTS_REFUSED: &str = "corelab_sip_requests_refused_total";
/// Requests admitted and not finished (running or waiting for their turn).
pub const REQUESTS_IN_PROGRESS: &str = "corelab_sip_requests_in_progress";

/// The serve loop's bounds; also a node's `[serve]` config section (presence-server,
/// poc-participating): requests of one dialog or one TCP connection run in arrival order; past
/// these bounds a request gets 503 with Retry-After. A bound of 0 is taken as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Requests of one dialog or one connection, running and waiting.
    pub max_per_key: usize,
    /// Requests in all, running and waiting.
    pub max_total: usize,
    /// The `Retry-After` of a 503, in seconds.
    pub retry_after_s: u32,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_per_key: 256,
            max_total: 8192,
            retry_after_s: 1,
        }
    }
}

impl ServeConfig {
    /// The bounds with 0 taken as 1.
    pub fn at_least_one(self) -> ServeConfig {
        ServeConfig {
            max_per_key: self.max_per_key.max(1),
            max_total: self.max_total.max(1),
            ..self
        }
    }
}

/// The keys that order `req`: its dialog (Call-ID and From tag) and, when it came over a stream
/// transport, that connection.
pub fn order_keys(tx: &Transaction) -> Vec<OrderKey> {
    order_keys_of(&tx.original, stream_peer(tx))
}

/// [`order_keys`] from the request and the stream connection's remote address, if any.
pub fn order_keys_of(req: &Request, stream: Option<std::net::SocketAddr>) -> Vec<OrderKey> {
    let mut keys = Vec::with_capacity(2);
    if let Ok(call_id) = headers::call_id(req) {
        let remote_tag = headers::value(req, "From")
            .and_then(|from| headers::param(&from, "tag"))
            .unwrap_or_default();
        keys.push(OrderKey::Dialog {
            call_id,
            remote_tag,
        });
    }
    keys.extend(stream.map(OrderKey::Stream));
    keys
}

/// The remote address of the stream connection (TCP, TLS, WebSocket) a request came on; `None`
/// for UDP.
pub fn stream_peer(tx: &Transaction) -> Option<std::net::SocketAddr> {
    let connection = tx.connection.as_ref()?;
    if !connection.is_reliable() {
        return None;
    }
    connection.get_remote_addr()?.get_socketaddr().ok()
}

struct Shell<H> {
    handler: H,
    config: ServeConfig,
    sequencer: Mutex<Sequencer<Transaction>>,
    refusals: Throttle,
}

impl<H> Shell<H> {
    fn sequencer(&self) -> MutexGuard<'_, Sequencer<Transaction>> {
        self.sequencer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serve `incoming` with `handler` until `cancel` fires or the endpoint stops. The handler
/// answers the transaction and returns what follows the answer, if anything.
pub async fn serve<H, F>(
    mut incoming: TransactionReceiver,
    config: ServeConfig,
    cancel: CancellationToken,
    handler: H,
) where
    H: Fn(Transaction) -> F + Send + Sync + 'static,
    F: Future<Output = Option<FollowUp>> + Send + 'static,
{
    metrics::describe_counter!(
        REQUESTS_REFUSED,
        "SIP requests answered 503 by admission control, by limit (per_key, total)"
    );
    metrics::describe_gauge!(
        REQUESTS_IN_PROGRESS,
        "SIP requests admitted and not yet answered (running or waiting for their turn)"
    );
    let shell = Arc::new(Shell {
        handler,
        config,
        sequencer: Mutex::new(Sequencer::new(Limits {
            max_per_key: config.max_per_key,
            max_total: config.max_total,
        })),
        refusals: Throttle::default(),
    });
    loop {
        let tx = tokio::select! {
            _ = cancel.cancelled() => return,
            tx = incoming.recv() => match tx {
                Some(tx) => tx,
                None => return,
            },
        };
        let keys = order_keys(&tx);
        let (admission, in_progress) = {
            let mut sequencer = shell.sequencer();
            let admission = sequencer.admit(keys, tx);
            (admission, sequencer.len())
        };
        metrics::gauge!(REQUESTS_IN_PROGRESS).set(in_progress as f64);
        match admission {
            Admission::Run(ticket, tx) => start(shell.clone(), ticket, tx),
            Admission::Queued(_) => {}
            Admission::Refused(limit, tx) => refuse(&shell, limit, tx),
        }
    }
}

/// Run one admitted request in a task of its own; when it is answered, let the next ones of
/// its keys run, then run its follow-up.
fn start<H, F>(shell: Arc<Shell<H>>, ticket: Ticket, tx: Transaction)
where
    H: Fn(Transaction) -> F + Send + Sync + 'static,
    F: Future<Output = Option<FollowUp>> + Send + 'static,
{
    tokio::spawn(async move {
        let turn = Turn {
            shell: shell.clone(),
            ticket,
        };
        let follow_up = (shell.handler)(tx).await;
        drop(turn);
        if let Some(follow_up) = follow_up {
            follow_up.await;
        }
    });
}

/// An admitted request's turn: dropping it (after the handler returns, or if it panics) lets
/// the next requests of its keys run.
struct Turn<H, F>
where
    H: Fn(Transaction) -> F + Send + Sync + 'static,
    F: Future<Output = Option<FollowUp>> + Send + 'static,
{
    shell: Arc<Shell<H>>,
    ticket: Ticket,
}

impl<H, F> Drop for Turn<H, F>
where
    H: Fn(Transaction) -> F + Send + Sync + 'static,
    F: Future<Output = Option<FollowUp>> + Send + 'static,
{
    fn drop(&mut self) {
        let (ready, in_progress) = {
            let mut sequencer = self.shell.sequencer();
            let ready = sequencer.finish(self.ticket);
            (ready, sequencer.len())
        };
        metrics::gauge!(REQUESTS_IN_PROGRESS).set(in_progress as f64);
        for (ticket, tx) in ready {
            start(self.shell.clone(), ticket, tx);
        }
    }
}

/// 503 with Retry-After (RFC 3261 §21.5.4), counted, logged once per interval.
fn refuse<H>(shell: &Shell<H>, limit: order::Refused, mut tx: Transaction) {
    metrics::counter!(REQUESTS_REFUSED, "limit" => limit.label()).increment(1);
    if let Some(count) = shell.refusals.hit(Instant::now()) {
        tracing::warn!(
            limit = limit.label(),
            refused = count,
            max_per_key = shell.config.max_per_key,
            max_total = shell.config.max_total,
            "SIP requests refused with 503 (overload); counted in {REQUESTS_REFUSED}"
        );
    }
    if tx.original.method == Method::Ack {
        return;
    }
    let response = build::response(
        &tx.original,
        503,
        Some("Service Unavailable (overloaded)"),
        Some(&crate::random_token(10)),
        &[("Retry-After", shell.config.retry_after_s.to_string())],
        None,
    );
    tokio::spawn(async move {
        if let Err(e) = tx.respond(response).await {
            tracing::debug!(error = %e, "503 not sent");
        }
    });
}
