//! The gNB shell: N UE state machines behind one N1 stream to session-manager
//! (`corelab.n1.v1.N1/Attach`, docs/n1.md). It feeds each UE what the network sends for its
//! `ran_ue_id` and sends what the UE gives; it owns the clock (a tick for procedure timeouts)
//! and the connection (hello first, reconnect after the stream ends, UE state kept).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corelab_proto::n1::v1 as n1;
use corelab_proto::n1::v1::n1_client::N1Client;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use corelab_log_throttle::{LOG_INTERVAL, Throttle};

use crate::fivegs::identity::tmgi_from_pb;
use crate::fivegs::metrics as m;

/// Bad downlink from session-manager, logged once per interval (issue 13 §4).
static BAD_DOWNLINK: Throttle = Throttle::new(LOG_INTERVAL);

fn bad_downlink(ran_ue_id: u64, what: &str) {
    if let Some(count) = BAD_DOWNLINK.hit(Instant::now()) {
        tracing::warn!(ran_ue_id, count, "bad downlink: {what}");
    }
}
use crate::fivegs::ue::{Command, Input, Outcome, Output, RadioEvent, Ue, UeConfig};

/// How the gNB reaches session-manager.
#[derive(Debug, Clone)]
pub struct GnbConfig {
    /// session-manager's N1 gRPC endpoint (`http://127.0.0.1:7100`).
    pub n1: String,
    /// The gNB's name (`GnbHello.gnb_name`).
    pub name: String,
    /// Its tracking area code (24 bits).
    pub tac: u32,
    /// Wait between two connection attempts.
    pub reconnect: Duration,
    /// Uplink messages queued towards the stream at most.
    pub uplink_queue: usize,
}

/// One UE and whoever waits for its running procedure.
struct Slot {
    ue: Ue,
    waiter: Option<oneshot::Sender<Outcome>>,
}

/// What feeding a UE gave: uplinks to send, then procedures to report as ended (UE index,
/// who waits, how it ended).
#[derive(Default)]
struct Fed {
    uplink: Vec<n1::Uplink>,
    ended: Vec<(usize, Option<oneshot::Sender<Outcome>>, Outcome)>,
}

/// Counters of the link.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Streams opened (hello acknowledged).
    pub attaches: AtomicU64,
    /// Uplink messages dropped because no stream was up.
    pub uplink_dropped: AtomicU64,
    /// Downlink messages for a `ran_ue_id` this gNB does not have.
    pub unknown_ran_ue_id: AtomicU64,
    /// NAS PDUs sent (`UplinkNas`) on a stream.
    pub nas_uplink: AtomicU64,
    /// NAS PDUs received (`DownlinkNas`).
    pub nas_downlink: AtomicU64,
}

struct Inner {
    cfg: GnbConfig,
    ues: Vec<Mutex<Slot>>,
    uplink: Mutex<Option<mpsc::Sender<n1::Uplink>>>,
    connected: AtomicBool,
    counters: LinkCounters,
    outcomes: Option<mpsc::UnboundedSender<(usize, Outcome)>>,
}

/// The gNB with its UEs; cheap to clone.
#[derive(Clone)]
pub struct Gnb {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gnb {
    /// A gNB with one UE per config; UE `i` has `ran_ue_id` `i + 1`. Every procedure's end
    /// also goes to `outcomes`, when given (the load mode's statistics).
    pub fn new(
        cfg: GnbConfig,
        ues: Vec<UeConfig>,
        outcomes: Option<mpsc::UnboundedSender<(usize, Outcome)>>,
    ) -> Self {
        let ues = (ues.into_iter())
            .map(|c| {
                Mutex::new(Slot {
                    ue: Ue::new(c),
                    waiter: None,
                })
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                cfg,
                ues,
                uplink: Mutex::new(None),
                connected: AtomicBool::new(false),
                counters: LinkCounters::default(),
                outcomes,
            }),
        }
    }

    /// The number of UEs.
    pub fn len(&self) -> usize {
        self.inner.ues.len()
    }

    /// No UE at all.
    pub fn is_empty(&self) -> bool {
        self.inner.ues.is_empty()
    }

    /// The `ran_ue_id` of UE `index`.
    pub fn ran_ue_id(index: usize) -> u64 {
        index as u64 + 1
    }

    /// The link's counters.
    pub fn counters(&self) -> &LinkCounters {
        &self.inner.counters
    }

    /// Whether a stream is up.
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// Read UE `index` (`None`: no such UE).
    pub fn with_ue<R>(&self, index: usize, read: impl FnOnce(&Ue) -> R) -> Option<R> {
        self.inner.ues.get(index).map(|slot| read(&lock(slot).ue))
    }

    /// Change UE `index`'s configuration-like state.
    pub fn with_ue_mut<R>(&self, index: usize, change: impl FnOnce(&mut Ue) -> R) -> Option<R> {
        self.inner
            .ues
            .get(index)
            .map(|slot| change(&mut lock(slot).ue))
    }

    /// Run `command` on UE `index` and wait for its procedure's end.
    pub async fn command(&self, index: usize, command: Command) -> Outcome {
        let procedure = command.procedure();
        let Some(slot) = self.inner.ues.get(index) else {
            return Outcome {
                procedure,
                ok: false,
                detail: format!("no UE {index} (this gNB has {})", self.len()),
                cause: None,
                elapsed: Duration::ZERO,
            };
        };
        let (tx, rx) = oneshot::channel();
        let fed = {
            let mut slot = lock(slot);
            if let Some(running) = slot.ue.busy() {
                return Outcome {
                    procedure,
                    ok: false,
                    detail: format!("busy with {}", running.name()),
                    cause: None,
                    elapsed: Duration::ZERO,
                };
            }
            slot.waiter = Some(tx);
            self.feed(index, &mut slot, Instant::now(), Input::Command(command))
        };
        self.flush(fed).await;
        match rx.await {
            Ok(outcome) => outcome,
            Err(_) => Outcome {
                procedure,
                ok: false,
                detail: "the gNB stopped".into(),
                cause: None,
                elapsed: Duration::ZERO,
            },
        }
    }

    /// Feed UE `index` one input and collect what it gives: the uplinks, and the procedures
    /// that ended (reported by [`Gnb::flush`] once the uplinks are sent, so that a procedure
    /// ends after the UE's last message of it, its COMPLETE, is on the link).
    fn feed(&self, index: usize, slot: &mut Slot, now: Instant, input: Input<'_>) -> Fed {
        slot.ue.handle(now, input);
        let ran_ue_id = Self::ran_ue_id(index);
        let mut fed = Fed::default();
        while let Some(output) = slot.ue.poll() {
            match output {
                Output::Uplink(pdu) => fed.uplink.push(n1::Uplink {
                    msg: Some(n1::uplink::Msg::Nas(n1::UplinkNas { ran_ue_id, pdu })),
                }),
                Output::Radio(event) => {
                    if matches!(event, RadioEvent::PagingResponse(_)) {
                        metrics::counter!(m::PAGING_RESPONSES).increment(1);
                    }
                    fed.uplink.push(radio(ran_ue_id, event));
                }
                Output::Malformed(reason) => bad_downlink(ran_ue_id, &reason),
                Output::Done(outcome) => fed.ended.push((index, slot.waiter.take(), outcome)),
            }
        }
        fed
    }

    /// Send what [`Gnb::feed`] collected, then report the procedures that ended.
    async fn flush(&self, fed: Fed) {
        self.send(fed.uplink).await;
        for (index, waiter, outcome) in fed.ended {
            let procedure = outcome.procedure.name();
            let result = if outcome.ok { "ok" } else { "failed" };
            metrics::counter!(m::PROCEDURES, "procedure" => procedure, "result" => result)
                .increment(1);
            if outcome.ok {
                metrics::histogram!(m::PROCEDURE_SECONDS, "procedure" => procedure)
                    .record(outcome.elapsed.as_secs_f64());
            }
            if let Some(tx) = &self.inner.outcomes {
                let _ = tx.send((index, outcome.clone()));
            }
            if let Some(waiter) = waiter {
                let _ = waiter.send(outcome);
            }
        }
    }

    fn deliver(&self, ran_ue_id: u64, now: Instant, input: Input<'_>) -> Fed {
        let index = ran_ue_id
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok());
        let Some((index, slot)) = index.and_then(|i| self.inner.ues.get(i).map(|s| (i, s))) else {
            self.inner
                .counters
                .unknown_ran_ue_id
                .fetch_add(1, Ordering::Relaxed);
            bad_downlink(ran_ue_id, "no UE has this ran_ue_id");
            return Fed::default();
        };
        self.feed(index, &mut lock(slot), now, input)
    }

    async fn send(&self, uplink: Vec<n1::Uplink>) {
        if uplink.is_empty() {
            return;
        }
        let tx = lock(&self.inner.uplink).clone();
        let n = uplink.len() as u64;
        let Some(tx) = tx else {
            self.inner
                .counters
                .uplink_dropped
                .fetch_add(n, Ordering::Relaxed);
            metrics::counter!(m::UPLINK_DROPPED).increment(n);
            return;
        };
        for message in uplink {
            let nas = matches!(message.msg, Some(n1::uplink::Msg::Nas(_)));
            if tx.send(message).await.is_ok() {
                if nas {
                    self.inner
                        .counters
                        .nas_uplink
                        .fetch_add(1, Ordering::Relaxed);
                }
            } else {
                self.inner
                    .counters
                    .uplink_dropped
                    .fetch_add(1, Ordering::Relaxed);
                metrics::counter!(m::UPLINK_DROPPED).increment(1);
            }
        }
    }

    /// One downlink message from session-manager.
    async fn downlink(&self, message: n1::Downlink) {
        let now = Instant::now();
        let fed = match message.msg {
            Some(n1::downlink::Msg::Nas(nas)) => {
                (self.inner.counters.nas_downlink).fetch_add(1, Ordering::Relaxed);
                self.deliver(nas.ran_ue_id, now, Input::Downlink(&nas.pdu))
            }
            Some(n1::downlink::Msg::Paging(paging)) => {
                let Some(tmgi) = paging.tmgi.as_ref().and_then(|t| tmgi_from_pb(t).ok()) else {
                    bad_downlink(0, "paging without a valid TMGI: ignored");
                    return;
                };
                let mut all = Fed::default();
                for ran_ue_id in paging.ran_ue_ids {
                    let fed = self.deliver(ran_ue_id, now, Input::Paging(tmgi));
                    all.uplink.extend(fed.uplink);
                    all.ended.extend(fed.ended);
                }
                all
            }
            Some(n1::downlink::Msg::Resource(command)) => {
                let setup = command.action == n1::resource_command::Action::Setup as i32;
                let input = Input::Resource {
                    psi: u8::try_from(command.pdu_session_id).unwrap_or(0),
                    setup,
                    qfis: (command.qfis.iter())
                        .filter_map(|q| u8::try_from(*q).ok())
                        .collect(),
                };
                self.deliver(command.ran_ue_id, now, input)
            }
            Some(n1::downlink::Msg::HelloAck(_)) | None => Fed::default(),
        };
        self.flush(fed).await;
    }

    /// Time out the procedures that waited too long.
    async fn tick(&self) {
        let now = Instant::now();
        for (index, slot) in self.inner.ues.iter().enumerate() {
            let fed = {
                let mut slot = lock(slot);
                if slot.ue.poll_timeout().is_none_or(|t| now < t) {
                    continue;
                }
                self.feed(index, &mut slot, now, Input::Tick)
            };
            self.flush(fed).await;
        }
    }

    /// Keep the N1 stream up until `cancel`: attach, serve it, and after it ends attach again.
    /// `attached` fires after the first hello is acknowledged.
    pub async fn run(self, cancel: CancellationToken, attached: Option<oneshot::Sender<()>>) {
        let ticker = {
            let gnb = self.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = every.tick() => gnb.tick().await,
                    }
                }
            })
        };
        let mut attached = attached;
        loop {
            let result = tokio::select! {
                _ = cancel.cancelled() => break,
                r = self.attach_once(&mut attached) => r,
            };
            *lock(&self.inner.uplink) = None;
            self.inner.connected.store(false, Ordering::Relaxed);
            match result {
                Ok(()) => {
                    tracing::warn!(n1 = %self.inner.cfg.n1, "N1 stream ended; attaching again")
                }
                Err(e) => tracing::warn!(n1 = %self.inner.cfg.n1, "N1: {e:#}; attaching again"),
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.inner.cfg.reconnect) => {}
            }
        }
        let _ = ticker.await;
    }

    async fn attach_once(&self, attached: &mut Option<oneshot::Sender<()>>) -> anyhow::Result<()> {
        let cfg = &self.inner.cfg;
        let mut client = N1Client::connect(cfg.n1.clone()).await?;
        let (tx, rx) = mpsc::channel(cfg.uplink_queue.max(1));
        tx.send(n1::Uplink {
            msg: Some(n1::uplink::Msg::Hello(n1::GnbHello {
                gnb_name: cfg.name.clone(),
                tac: cfg.tac,
            })),
        })
        .await?;
        // Uplink from now on queues behind the hello (the contract's first message), so a UE's
        // message is not lost between session-manager taking the stream and its hello_ack.
        *lock(&self.inner.uplink) = Some(tx);
        let mut inbound = client
            .attach(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?
            .into_inner();
        match inbound.message().await? {
            Some(n1::Downlink {
                msg: Some(n1::downlink::Msg::HelloAck(ack)),
            }) => tracing::info!(gnb = %cfg.name, amf = %ack.amf_name, "N1 attached"),
            other => anyhow::bail!("the first downlink is not hello_ack: {other:?}"),
        }
        self.inner.connected.store(true, Ordering::Relaxed);
        self.inner.counters.attaches.fetch_add(1, Ordering::Relaxed);
        if let Some(signal) = attached.take() {
            let _ = signal.send(());
        }
        while let Some(message) = inbound.message().await? {
            self.downlink(message).await;
        }
        Ok(())
    }
}

fn radio(ran_ue_id: u64, event: RadioEvent) -> n1::Uplink {
    use n1::radio_event::Event;
    let event = match event {
        RadioEvent::CoverageLost => Event::CoverageLost(n1::Empty {}),
        RadioEvent::CoverageRegained => Event::CoverageRegained(n1::Empty {}),
        RadioEvent::PagingResponse(tmgi) => {
            Event::PagingResponse(crate::fivegs::identity::tmgi_to_pb(&tmgi))
        }
    };
    n1::Uplink {
        msg: Some(n1::uplink::Msg::Radio(n1::RadioEvent {
            ran_ue_id,
            event: Some(event),
        })),
    }
}
