//! The async shell: one `corelab-diameter-node` [`Node`] with a connection to the vDRA and
//! one to each PCRF a session was sent to; sessions by Session-Id with the PCRF each
//! remembers; the RAR/ASR handler. Where a message goes is [`crate::plan`]'s decision.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use corelab_diameter::{Header, Message};
use corelab_diameter_node::{Node, NodeError, PeerHandle, RequestHandler, parse_diameter_uri};
use diameter_peer::files::SessionIds;
use diameter_peer::print;
use serde::Serialize;
use tracing::{info, warn};

use crate::messages::{self, Addressing, AnswerView, REDIRECT_INDICATION};
use crate::model::{Action, DraMode, Ordering, Role, Target, Ue, procedure};
use crate::plan::{Plan, plan, remembers_answering_host};

/// The emulator's settings (the CLI's and the scenario's).
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The vDRA's address.
    pub dra: SocketAddr,
    /// The vDRA's mode.
    pub mode: DraMode,
    /// The termination ordering in redirect mode.
    pub ordering: Ordering,
    /// Destination-Realm of every request (the PCRFs' realm).
    pub destination_realm: String,
    /// PCRF identities and addresses, for proxy_variant (the answer names the PCRF's
    /// Origin-Host, not its address).
    pub pcrfs: Vec<(String, SocketAddr)>,
    /// Print one line per message sent and received.
    pub print: bool,
}

/// The PCRF a session talks to directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PcrfRef {
    /// Its Diameter identity (the CEA's Origin-Host).
    pub host: String,
    /// Its address.
    pub addr: SocketAddr,
}

/// One client session.
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    /// Session-Id.
    pub id: String,
    /// The role that owns it.
    pub role: &'static str,
    /// UE NAI.
    pub nai: String,
    /// UE IPv4 address.
    pub ip: String,
    /// APN.
    pub apn: String,
    /// The PCRF remembered after establishment (redirect, proxy_variant).
    pub pcrf: Option<PcrfRef>,
    #[serde(skip)]
    role_enum: Role,
    #[serde(skip)]
    ue: Ue,
    #[serde(skip)]
    number: u32,
}

/// Per-step choices a scenario or a control request may make.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepOptions {
    /// Overrides the mode's choice of destination.
    pub target: Option<Target>,
    /// Overrides the configured ordering.
    pub ordering: Option<Ordering>,
}

/// The result of one procedure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The Session-Id.
    pub session_id: String,
    /// The procedure's Result-Code: the PCRF's answer's (after a followed 3006), or the
    /// first non-2xxx answer of an "at once" pair; `None` when an answer never came.
    pub result_code: Option<u32>,
}

struct Inner {
    node: Node,
    cfg: EmulatorConfig,
    origin_host: String,
    origin_realm: String,
    dra: PeerHandle,
    ids: SessionIds,
    sessions: Mutex<HashMap<String, Session>>,
    pcrf_peers: tokio::sync::Mutex<HashMap<SocketAddr, PeerHandle>>,
    /// Hop-by-Hop id of an answer → the AF session to end once it is queued.
    end_after_answer: Mutex<HashMap<u32, String>>,
    answered: AtomicU64,
    answered_changed: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running emulator. Cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

/// Answers the PCRF's RAR and ASR (through the vDRA or directly).
struct Notifications(Arc<OnceLock<Weak<Inner>>>);

impl Emulator {
    /// Connects to the vDRA (CER/CEA) with `common`'s identity, advertising Gx, Gxx and Rx.
    pub async fn start(
        common: &diameter_peer::cli::Common,
        cfg: EmulatorConfig,
    ) -> anyhow::Result<Emulator> {
        let apps = common.application_ids(&Role::ALL_APPLICATIONS)?;
        let mut node_cfg = common.node_config(apps)?;
        // The destination realm's route is the vDRA: a request pending on the vDRA when its
        // connection fails is failed over (RFC 6733 §5.5.4) to that route's peers only, never
        // to a PCRF connection opened after a 3006 (the PCRF would get a session no DRA bound).
        node_cfg.routes.add_route(
            &cfg.destination_realm,
            None,
            corelab_diameter_node::PeerTarget::addr(cfg.dra),
        );
        let slot = Arc::new(OnceLock::new());
        let node = Node::new(node_cfg, Arc::new(Notifications(slot.clone())));
        let dra = node
            .connect(cfg.dra)
            .await
            .map_err(|e| anyhow::anyhow!("connection to the vDRA at {} failed: {e}", cfg.dra))?;
        if cfg.print {
            print::out(&format!("<< CEA from {} ({})", dra.origin_host(), cfg.dra));
        }
        let inner = Arc::new(Inner {
            node,
            origin_host: common.origin_host.clone(),
            origin_realm: common.origin_realm.clone(),
            ids: SessionIds::new(&common.origin_host),
            cfg,
            dra,
            sessions: Mutex::new(HashMap::new()),
            pcrf_peers: tokio::sync::Mutex::new(HashMap::new()),
            end_after_answer: Mutex::new(HashMap::new()),
            answered: AtomicU64::new(0),
            answered_changed: tokio::sync::Notify::new(),
        });
        let _ = slot.set(Arc::downgrade(&inner));
        Ok(Emulator { inner })
    }

    /// Establishes a new session of `role` for `ue` (CCR-I or AAR).
    pub async fn establish(&self, role: Role, ue: &Ue, opts: StepOptions) -> Outcome {
        let id = self.inner.ids.next_id();
        lock(&self.inner.sessions).insert(
            id.clone(),
            Session {
                id: id.clone(),
                role: role.name(),
                nai: ue.nai.clone(),
                ip: ue.ip.to_string(),
                apn: ue.apn.clone(),
                pcrf: None,
                role_enum: role,
                ue: ue.clone(),
                number: 0,
            },
        );
        let out = self.inner.procedure(&id, Action::Establish, opts).await;
        if !out.result_code.is_some_and(is_success) {
            lock(&self.inner.sessions).remove(&id);
        }
        out
    }

    /// Modifies a session (CCR-U, or an AAR on the Rx session).
    pub async fn modify(&self, session_id: &str, opts: StepOptions) -> Option<Outcome> {
        self.inner.known(session_id)?;
        Some(self.inner.procedure(session_id, Action::Modify, opts).await)
    }

    /// Ends a session (CCR-T or STR); it is forgotten once a 2xxx answer ends it.
    pub async fn terminate(&self, session_id: &str, opts: StepOptions) -> Option<Outcome> {
        self.inner.known(session_id)?;
        Some(self.inner.terminate(session_id, opts).await)
    }

    /// The sessions, oldest first by Session-Id.
    pub fn sessions(&self) -> Vec<Session> {
        let mut v: Vec<Session> = lock(&self.inner.sessions).values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// How many requests from the PCRF (RAR, ASR) were answered.
    pub fn answered_requests(&self) -> u64 {
        self.inner.answered.load(AtomicOrdering::Acquire)
    }

    /// Waits until `n` requests from the PCRF were answered, at most `within`.
    pub async fn wait_answered(&self, n: u64, within: Duration) -> bool {
        let wait = async {
            loop {
                let changed = self.inner.answered_changed.notified();
                if self.answered_requests() >= n {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }

    /// Waits until the session is gone (ended by an ASR or loss-of-bearer RAR), at most `within`.
    pub async fn wait_ended(&self, session_id: &str, within: Duration) -> bool {
        let wait = async {
            loop {
                // Registered before the look, so a removal in between still wakes us.
                let changed = self.inner.answered_changed.notified();
                if self.inner.known(session_id).is_none() {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(within, wait).await.is_ok()
    }

    /// The vDRA's Diameter identity.
    pub fn dra_host(&self) -> &str {
        self.inner.dra.origin_host()
    }

    /// DPR to every peer.
    pub async fn shutdown(&self) {
        self.inner.node.shutdown().await;
    }
}

/// 2xxx.
pub fn is_success(code: u32) -> bool {
    (2000..3000).contains(&code)
}

impl Inner {
    fn known(&self, session_id: &str) -> Option<Session> {
        lock(&self.sessions).get(session_id).cloned()
    }

    async fn terminate(self: &Arc<Self>, session_id: &str, opts: StepOptions) -> Outcome {
        let out = self.procedure(session_id, Action::Terminate, opts).await;
        if out.result_code.is_some_and(is_success) {
            lock(&self.sessions).remove(session_id);
        }
        out
    }

    /// Sends the procedure's request where [`plan`] says, following a 3006 from the vDRA.
    async fn procedure(
        self: &Arc<Self>,
        session_id: &str,
        action: Action,
        opts: StepOptions,
    ) -> Outcome {
        let fail = Outcome {
            session_id: session_id.to_string(),
            result_code: None,
        };
        let Some(s) = self.next_number(session_id) else {
            return fail;
        };
        let ordering = opts.ordering.unwrap_or(self.cfg.ordering);
        let how = plan(
            self.cfg.mode,
            action,
            ordering,
            opts.target,
            s.pcrf.is_some(),
        );
        let name = procedure(s.role_enum, action);
        let code = match how {
            Plan::ViaDra => self.via_dra(&s, action, name).await,
            Plan::ToPcrf => match &s.pcrf {
                Some(p) => self.to_pcrf(&s, action, name, p).await,
                None => None,
            },
            Plan::DraAndPcrfAtOnce => {
                let dra_host = self.dra.origin_host().to_string();
                let to_dra = self.send(&self.dra, &s, action, name, Some(&dra_host));
                let to_pcrf = async {
                    match &s.pcrf {
                        Some(p) => self.to_pcrf(&s, action, name, p).await,
                        None => None,
                    }
                };
                let (d, p) = tokio::join!(to_dra, to_pcrf);
                match d.and_then(|a| a.result_code) {
                    Some(c) if is_success(c) => p,
                    other => other,
                }
            }
        };
        Outcome {
            session_id: session_id.to_string(),
            result_code: code,
        }
    }

    /// The session with its CC-Request-Number for this request (then incremented).
    fn next_number(&self, session_id: &str) -> Option<Session> {
        let mut sessions = lock(&self.sessions);
        let s = sessions.get_mut(session_id)?;
        let copy = s.clone();
        s.number += 1;
        Some(copy)
    }

    async fn via_dra(self: &Arc<Self>, s: &Session, action: Action, name: &str) -> Option<u32> {
        let answer = self.send(&self.dra, s, action, name, None).await?;
        if answer.result_code != Some(REDIRECT_INDICATION) {
            if action == Action::Establish
                && remembers_answering_host(self.cfg.mode)
                && answer.result_code.is_some_and(is_success)
            {
                self.remember_by_host(&s.id, &answer.origin_host);
            }
            return answer.result_code;
        }
        // RFC 6733 §6.13: send the request again to a host the 3006 names.
        let Some(uri) = answer.redirect_hosts.first() else {
            warn!(session = %s.id, "3006 without Redirect-Host");
            return answer.result_code;
        };
        let pcrf = match self.resolve_uri(uri).await {
            Some(p) => p,
            None => {
                warn!(session = %s.id, %uri, "cannot follow the redirect");
                return answer.result_code;
            }
        };
        if action != Action::Terminate {
            if let Some(x) = lock(&self.sessions).get_mut(&s.id) {
                x.pcrf = Some(pcrf.clone());
            }
        }
        self.to_pcrf(s, action, name, &pcrf).await
    }

    async fn to_pcrf(
        self: &Arc<Self>,
        s: &Session,
        action: Action,
        name: &str,
        p: &PcrfRef,
    ) -> Option<u32> {
        let peer = self.pcrf_peer(p.addr).await?;
        let host = peer.origin_host().to_string();
        self.send(&peer, s, action, name, Some(&host))
            .await
            .and_then(|a| a.result_code)
    }

    /// `aaa://host:port;...` → the PCRF (connected, so its identity is known).
    async fn resolve_uri(&self, uri: &str) -> Option<PcrfRef> {
        let (host, port) = parse_diameter_uri(uri)?;
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .ok()?
            .next()?;
        let peer = self.pcrf_peer(addr).await?;
        Some(PcrfRef {
            host: peer.origin_host().to_string(),
            addr,
        })
    }

    fn remember_by_host(&self, session_id: &str, host: &str) {
        match self.cfg.pcrfs.iter().find(|(h, _)| h == host) {
            Some((h, addr)) => {
                if let Some(x) = lock(&self.sessions).get_mut(session_id) {
                    x.pcrf = Some(PcrfRef {
                        host: h.clone(),
                        addr: *addr,
                    });
                }
            }
            None => warn!(
                session = session_id,
                pcrf = host,
                "proxy_variant: no --pcrf address for the answering PCRF; later requests go via the vDRA"
            ),
        }
    }

    async fn pcrf_peer(&self, addr: SocketAddr) -> Option<PeerHandle> {
        let mut peers = self.pcrf_peers.lock().await;
        if let Some(p) = peers.get(&addr).filter(|p| p.is_open()) {
            return Some(p.clone());
        }
        match self.node.connect(addr).await {
            Ok(p) => {
                if self.cfg.print {
                    print::out(&format!("<< CEA from {} ({addr})", p.origin_host()));
                }
                peers.insert(addr, p.clone());
                Some(p)
            }
            Err(e) => {
                if self.cfg.print {
                    print::out(&format!("!! connection to {addr} failed: {e}"));
                }
                warn!(%addr, error = %e, "cannot connect to the PCRF");
                None
            }
        }
    }

    /// Builds and sends one request; prints it and its answer.
    async fn send(
        &self,
        peer: &PeerHandle,
        s: &Session,
        action: Action,
        name: &str,
        destination_host: Option<&str>,
    ) -> Option<AnswerView> {
        let to = Addressing {
            origin_host: &self.origin_host,
            origin_realm: &self.origin_realm,
            destination_realm: &self.cfg.destination_realm,
            destination_host,
        };
        let req = messages::request(s.role_enum, action, &s.id, s.number, &s.ue, &to);
        let bytes = match req.encode() {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "cannot encode");
                return None;
            }
        };
        if self.cfg.print {
            print::out(&format!(
                ">> {} {name} to {}: {}",
                s.role,
                peer.origin_host(),
                print::summary(&bytes)
            ));
        }
        match peer.request_bytes(bytes).await {
            Ok(a) => {
                if self.cfg.print {
                    print::out(&format!(
                        "<< {} from {}: {}",
                        s.role,
                        peer.origin_host(),
                        print::summary(&a)
                    ));
                }
                messages::read_answer(&a)
            }
            Err(e) => {
                if self.cfg.print {
                    let why = match e {
                        NodeError::Answer(c) => format!("Result-Code {c} from this node"),
                        other => other.to_string(),
                    };
                    print::out(&format!(
                        "!! {} {name} to {}: no answer: {why}",
                        s.role,
                        peer.origin_host()
                    ));
                }
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl RequestHandler for Notifications {
    async fn handle(&self, request: Vec<u8>, from: PeerHandle) -> Option<Vec<u8>> {
        let inner = self.0.get()?.upgrade()?;
        let header: Header = *Message::decode(&request).ok()?.header();
        if inner.cfg.print {
            print::out(&format!(
                "<< from {}: {}",
                from.origin_host(),
                print::summary(&request)
            ));
        }
        let (sid, code) = match messages::read_pcrf_request(&request) {
            Ok(r) => {
                let known = inner.known(&r.session_id).is_some();
                if known && r.ends_af_session() {
                    lock(&inner.end_after_answer).insert(header.hop_by_hop, r.session_id.clone());
                }
                // 5002 DIAMETER_UNKNOWN_SESSION_ID for a session we do not have.
                (Some(r.session_id), if known { 2001 } else { 5002 })
            }
            Err(code) => {
                warn!(code, "request from the PCRF refused");
                (
                    Message::decode(&request)
                        .ok()
                        .and_then(|m| m.session_id().map(str::to_string)),
                    code,
                )
            }
        };
        let answer = messages::answer(
            &header,
            sid.as_deref(),
            &inner.origin_host,
            &inner.origin_realm,
            code,
        )
        .encode()
        .ok()?;
        if inner.cfg.print {
            print::out(&format!(
                ">> to {}: {}",
                from.origin_host(),
                print::summary(&answer)
            ));
        }
        inner.answered.fetch_add(1, AtomicOrdering::AcqRel);
        inner.answered_changed.notify_waiters();
        Some(answer)
    }

    /// The answer is queued: an AF whose bearer is lost (RAR) or whose session was aborted
    /// (ASR) now ends its Rx session with STR (TS 29.214 §4.4.4, §4.4.6).
    fn answer_queued(&self, answer: &Header, _from: &PeerHandle) {
        let Some(inner) = self.0.get().and_then(Weak::upgrade) else {
            return;
        };
        let Some(sid) = lock(&inner.end_after_answer).remove(&answer.hop_by_hop) else {
            return;
        };
        info!(session = %sid, "AF session ended by the PCRF: sending STR");
        tokio::spawn(async move {
            let out = inner.terminate(&sid, StepOptions::default()).await;
            inner.answered_changed.notify_waiters();
            if !out.result_code.is_some_and(is_success) {
                warn!(session = %sid, code = ?out.result_code, "STR after the PCRF's request failed");
            }
        });
    }
}
