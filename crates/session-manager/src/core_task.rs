//! The shell around [`crate::fsm::Core`]: one task owns it, takes what the gNB streams and the
//! operator send, feeds it with the time, and acts on what it returns — **store first**: the UE
//! contexts a batch of inputs changed are committed (one group-commit transaction for the batch,
//! `corelab_runtime::writer`) before any NAS message, resource command or paging of that batch
//! leaves. If the store fails, the batch's answers are not sent (the UE retries) and the failure
//! is counted and logged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use corelab_log_throttle::Throttle;
use corelab_nas::{MbsRejectionCause, Tmgi};
use corelab_proto::n1::v1 as pb;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::fsm::context::{Location, UeContext};
use crate::fsm::{Core, Event, Input, NetworkLeaveError, Output, ResourceAction};
use crate::metrics;
use crate::store::SmStore;

/// Inputs queued for the core at most; a gNB stream waits beyond (gRPC flow control).
pub const CORE_QUEUE: usize = 4096;
/// Inputs handled per batch (one store transaction).
const MAX_BATCH: usize = 256;

static MALFORMED_LOG: Throttle = Throttle::new(corelab_log_throttle::LOG_INTERVAL);
static DROPPED_LOG: Throttle = Throttle::new(corelab_log_throttle::LOG_INTERVAL);
static STORE_LOG: Throttle = Throttle::new(corelab_log_throttle::LOG_INTERVAL);

/// What the core task takes.
pub enum Command {
    Input(Input),
    NetworkLeave {
        supi: String,
        tmgi: Tmgi,
        cause: MbsRejectionCause,
        reply: oneshot::Sender<Result<(), NetworkLeaveError>>,
    },
}

/// The downlink queue of one attached gNB stream.
struct GnbLink {
    id: u64,
    tx: mpsc::Sender<Result<pb::Downlink, Status>>,
}

/// The attached gNB streams by gNB name (shared by the N1 server and the core task).
#[derive(Default)]
pub struct Gnbs {
    links: Mutex<HashMap<String, GnbLink>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Gnbs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, GnbLink>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attach `name`'s downlink queue unless `max` other gNBs are attached; a stream of the same
    /// name replaces the older one (the gNB reconnected). Returns the link id.
    pub fn attach(
        &self,
        name: &str,
        tx: mpsc::Sender<Result<pb::Downlink, Status>>,
        max: usize,
    ) -> Option<u64> {
        let mut links = self.lock();
        if !links.contains_key(name) && links.len() >= max {
            return None;
        }
        let id = (self.next_id).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        links.insert(name.to_string(), GnbLink { id, tx });
        ::metrics::gauge!(metrics::GNBS).set(links.len() as f64);
        Some(id)
    }

    /// The stream `id` of `name` ended.
    pub fn detach(&self, name: &str, id: u64) {
        let mut links = self.lock();
        if links.get(name).is_some_and(|l| l.id == id) {
            links.remove(name);
        }
        ::metrics::gauge!(metrics::GNBS).set(links.len() as f64);
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Queue `msg` to gNB `name`; never waits (a full queue drops it, counted).
    fn send(&self, name: &str, msg: pb::downlink::Msg) {
        let tx = self.lock().get(name).map(|l| l.tx.clone());
        let reason = match tx {
            None => "no_gnb",
            Some(tx) => match tx.try_send(Ok(pb::Downlink { msg: Some(msg) })) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => "queue_full",
                Err(mpsc::error::TrySendError::Closed(_)) => "no_gnb",
            },
        };
        ::metrics::counter!(metrics::DOWNLINK_DROPPED, "reason" => reason).increment(1);
        if let Some(n) = DROPPED_LOG.hit(Instant::now()) {
            tracing::warn!(gnb = name, reason, dropped = n, "downlink dropped");
        }
    }
}

/// A handle to send commands to the core task.
#[derive(Clone)]
pub struct CoreHandle {
    pub tx: mpsc::Sender<Command>,
}

impl CoreHandle {
    pub async fn input(&self, input: Input) {
        let _ = self.tx.send(Command::Input(input)).await;
    }

    /// Contract §6: network-initiated leave; answered once stored and queued.
    pub async fn network_leave(
        &self,
        supi: String,
        tmgi: Tmgi,
        cause: MbsRejectionCause,
    ) -> Option<Result<(), NetworkLeaveError>> {
        let (reply, answer) = oneshot::channel();
        let command = Command::NetworkLeave {
            supi,
            tmgi,
            cause,
            reply,
        };
        self.tx.send(command).await.ok()?;
        answer.await.ok()
    }
}

/// Run the core until `cancel` (or every handle is gone).
pub async fn run(
    mut core: Core,
    store: SmStore,
    gnbs: Arc<Gnbs>,
    mut rx: mpsc::Receiver<Command>,
    cancel: CancellationToken,
) {
    loop {
        let deadline = core.next_timeout();
        let first = tokio::select! {
            command = rx.recv() => match command {
                Some(command) => command,
                None => break,
            },
            () = sleep_until(deadline) => Command::Input(Input::Timeout),
            () = cancel.cancelled() => break,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        let mut outputs = Vec::new();
        let mut replies = Vec::new();
        for command in batch {
            let now = Instant::now();
            match command {
                Command::Input(input) => {
                    if let Input::UplinkNas {
                        gnb,
                        ran_ue_id,
                        pdu,
                    } = &input
                    {
                        let at = Location {
                            gnb: gnb.clone(),
                            ran_ue_id: *ran_ue_id,
                        };
                        crate::tap::nas(
                            corelab_wire_tap::Direction::Received,
                            &at,
                            core.supi_at(&at),
                            pdu,
                            None,
                        );
                    }
                    core.handle(now, input)
                }
                Command::NetworkLeave {
                    supi,
                    tmgi,
                    cause,
                    reply,
                } => {
                    replies.push(reply);
                    core.handle(now, Input::NetworkLeave { supi, tmgi, cause });
                }
            }
            while let Some(output) = core.poll() {
                outputs.push(output);
            }
        }
        ::metrics::gauge!(metrics::UES).set(core.ue_count() as f64);
        act(&store, &gnbs, outputs, replies).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Store the batch's UE contexts, then send what depends on them.
async fn act(
    store: &SmStore,
    gnbs: &Gnbs,
    outputs: Vec<Output>,
    replies: Vec<oneshot::Sender<Result<(), NetworkLeaveError>>>,
) {
    let mut saves: BTreeMap<String, UeContext> = BTreeMap::new();
    for output in &outputs {
        if let Output::Save(ue) = output {
            saves.insert(ue.supi.clone(), (**ue).clone());
        }
    }
    let mut writes = tokio::task::JoinSet::new();
    for (_, ue) in saves {
        let store = store.clone();
        writes.spawn(async move { store.save(ue).await });
    }
    let mut failed = None;
    while let Some(result) = writes.join_next().await {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed = Some(e.to_string()),
            Err(e) => failed = Some(e.to_string()),
        }
    }
    if let Some(error) = failed {
        ::metrics::counter!(metrics::STORE_ERRORS).increment(1);
        if let Some(n) = STORE_LOG.hit(Instant::now()) {
            tracing::error!(%error, batches = n, "store write failed: the batch's answers are not sent");
        }
        return;
    }
    let mut replies = replies.into_iter();
    for output in outputs {
        match output {
            Output::Save(_) | Output::PagingTimer { .. } => {}
            Output::Downlink {
                to,
                pdu,
                message,
                supi,
            } => {
                crate::tap::nas(
                    corelab_wire_tap::Direction::Sent,
                    &to,
                    supi.as_deref(),
                    &pdu,
                    Some(message),
                );
                gnbs.send(
                    &to.gnb,
                    pb::downlink::Msg::Nas(pb::DownlinkNas {
                        ran_ue_id: to.ran_ue_id,
                        pdu,
                    }),
                )
            }
            Output::Resource {
                to,
                psi,
                action,
                qfis,
            } => {
                let action = match action {
                    ResourceAction::Setup => pb::resource_command::Action::Setup,
                    ResourceAction::Release => pb::resource_command::Action::Release,
                };
                gnbs.send(
                    &to.gnb,
                    pb::downlink::Msg::Resource(pb::ResourceCommand {
                        ran_ue_id: to.ran_ue_id,
                        pdu_session_id: u32::from(psi),
                        action: action as i32,
                        qfis: qfis.into_iter().map(u32::from).collect(),
                    }),
                );
            }
            Output::Paging {
                gnb,
                tmgi,
                ran_ue_ids,
            } => gnbs.send(
                &gnb,
                pb::downlink::Msg::Paging(pb::Paging {
                    tmgi: Some(tmgi_to_pb(&tmgi)),
                    ran_ue_ids,
                }),
            ),
            Output::Event(event) => {
                metrics::count(&event);
                match event {
                    Event::NetworkLeave(result) => {
                        if let Some(reply) = replies.next() {
                            let _ = reply.send(result);
                        }
                    }
                    Event::Malformed { reason } => {
                        if let Some(n) = MALFORMED_LOG.hit(Instant::now()) {
                            tracing::warn!(%reason, refused = n, "malformed NAS refused (TS 24.501 clause 7)");
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The N1 form of a TMGI.
pub fn tmgi_to_pb(tmgi: &Tmgi) -> pb::Tmgi {
    pb::Tmgi {
        mbs_service_id: tmgi.service_id(),
        mcc: tmgi.plmn.map(|p| p.mcc().to_string()).unwrap_or_default(),
        mnc: tmgi.plmn.map(|p| p.mnc().to_string()).unwrap_or_default(),
    }
}

/// The TMGI of an N1 `Tmgi` (`None`: a service ID beyond 24 bits or a bad PLMN).
pub fn tmgi_from_pb(tmgi: &pb::Tmgi) -> Option<Tmgi> {
    let plmn = match (tmgi.mcc.as_str(), tmgi.mnc.as_str()) {
        ("", "") => None,
        (mcc, mnc) => Some(corelab_nas::Plmn::new(mcc, mnc).ok()?),
    };
    Tmgi::new(tmgi.mbs_service_id, plmn).ok()
}
