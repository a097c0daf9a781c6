//! The PoC terminals' async shell: one SIP node (our UDP/TCP transport, [`corelab_sip::node`])
//! shared by the process's terminals, each with its own RTP socket. It sends what
//! [`Terminal`] writes — the join INVITE through the outbound proxy (the participating
//! function), the ACK of the 2xx without a transaction along the route set, the BYE in the
//! dialog — counts the RTP each terminal receives, and answers the network's BYE.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use corelab_sip::body::poc_join::Ids;
use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::node::{SendOutcome, SipNode, destination_of};
use corelab_sip::rsipstack::sip::{Request, Transport};
use corelab_sip::rsipstack::transport::SipAddr;
use corelab_sip::{Response, random_token};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::rtp;
use super::terminal::{Answer, Outgoing, Terminal};

/// Fresh own ids for a terminal (seed step 301: "generates a Conversation-ID and a
/// Contribution-ID"): random tokens, 32 characters each.
pub fn new_ids() -> Ids {
    Ids {
        conversation_id: random_token(32),
        contribution_id: random_token(32),
    }
}

/// How a command ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ok: bool,
    /// The final SIP status (0: none).
    pub status: u16,
    pub detail: String,
    /// The terminal's ids after the command.
    pub ids: Option<Ids>,
    /// The ids the join request carried.
    pub sent_ids: Option<Ids>,
    pub replaced: bool,
    pub elapsed: Duration,
}

impl Outcome {
    fn failed(status: u16, detail: impl Into<String>, started: Instant) -> Outcome {
        Outcome {
            ok: false,
            status,
            detail: detail.into(),
            elapsed: started.elapsed(),
            ..Outcome::default()
        }
    }
}

/// What a terminal shows (gRPC `Status`, the step printer).
#[derive(Debug, Clone)]
pub struct View {
    pub index: usize,
    pub terminal: Terminal,
    pub rtp_local: SocketAddr,
    pub rtp_sent: u64,
    pub rtp_received: u64,
}

struct Slot {
    terminal: Mutex<Terminal>,
    /// One command at a time per terminal.
    busy: tokio::sync::Mutex<()>,
    rtp: Arc<UdpSocket>,
    rtp_local: SocketAddr,
    sent: AtomicU64,
    received: Arc<AtomicU64>,
    ssrc: u32,
    seq: AtomicU64,
}

struct Inner {
    node: SipNode,
    proxy: SipAddr,
    transport: Transport,
    slots: Vec<Slot>,
}

/// The process's PoC terminals.
#[derive(Clone)]
pub struct PocClient {
    inner: Arc<Inner>,
}

/// A terminal's configuration.
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    pub user: String,
    pub group: String,
}

impl PocClient {
    /// Terminals for `users`, each with its own RTP socket on `rtp_ip` (port 0) counting what
    /// it receives until `cancel`.
    pub async fn new(
        node: SipNode,
        proxy: SipAddr,
        transport: Transport,
        terminals: Vec<TerminalConfig>,
        rtp_ip: std::net::IpAddr,
        cancel: CancellationToken,
    ) -> anyhow::Result<PocClient> {
        let mut slots = Vec::with_capacity(terminals.len());
        for t in terminals {
            let socket = Arc::new(UdpSocket::bind(SocketAddr::new(rtp_ip, 0)).await?);
            let rtp_local = socket.local_addr()?;
            let received = Arc::new(AtomicU64::new(0));
            tokio::spawn(count_rtp(socket.clone(), received.clone(), cancel.clone()));
            slots.push(Slot {
                terminal: Mutex::new(Terminal::new(&t.user, &t.group, new_ids())),
                busy: tokio::sync::Mutex::new(()),
                rtp: socket,
                rtp_local,
                sent: AtomicU64::new(0),
                received,
                ssrc: rand_u32(),
                seq: AtomicU64::new(0),
            });
        }
        Ok(PocClient {
            inner: Arc::new(Inner {
                node,
                proxy,
                transport,
                slots,
            }),
        })
    }

    pub fn len(&self) -> usize {
        self.inner.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.slots.is_empty()
    }

    fn slot(&self, index: usize) -> Result<&Slot, String> {
        self.inner
            .slots
            .get(index)
            .ok_or_else(|| format!("no terminal {index} (there are {})", self.len()))
    }

    fn lock(slot: &Slot) -> MutexGuard<'_, Terminal> {
        slot.terminal.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn view(&self, index: usize) -> Result<View, String> {
        let slot = self.slot(index)?;
        Ok(View {
            index,
            terminal: Self::lock(slot).clone(),
            rtp_local: slot.rtp_local,
            rtp_sent: slot.sent.load(Ordering::Relaxed),
            rtp_received: slot.received.load(Ordering::Relaxed),
        })
    }

    /// Join `group` (the terminal's own when `None`), with new own ids first when `fresh_ids`.
    pub async fn join(&self, index: usize, group: Option<&str>, fresh_ids: bool) -> Outcome {
        let started = Instant::now();
        let slot = match self.slot(index) {
            Ok(s) => s,
            Err(e) => return Outcome::failed(0, e, started),
        };
        let _busy = slot.busy.lock().await;
        let transport = self.inner.transport;
        let (out, pending) = {
            let mut t = Self::lock(slot);
            if t.dialog.is_some() {
                return Outcome::failed(0, "already joined: leave first", started);
            }
            if fresh_ids {
                t.ids = new_ids();
            }
            let group = group.map(str::to_string).unwrap_or_else(|| t.group.clone());
            let user = headers::uri_of(&t.user)
                .and_then(|u| u.strip_prefix("sip:").map(str::to_string))
                .and_then(|u| u.split('@').next().map(str::to_string))
                .unwrap_or_else(|| "ue".into());
            let contact = self.inner.node.contact(&user, transport);
            let call_id = format!("{}@poc-ue", random_token(20));
            t.invite(
                &group,
                &contact,
                slot.rtp_local,
                &call_id,
                &random_token(10),
            )
        };
        let sent_ids = pending.sent_ids.clone();
        let request = match self.request(&out) {
            Ok(r) => r,
            Err(e) => return Outcome::failed(0, e, started),
        };
        let resp = match self
            .inner
            .node
            .send(request, self.inner.proxy.clone())
            .await
        {
            SendOutcome::Final(resp) => resp,
            SendOutcome::Timeout => {
                return Outcome::failed(0, "no final response (Timer B)", started);
            }
            SendOutcome::Error(e) => return Outcome::failed(0, e, started),
        };
        let answer = answer_of(&resp);
        let result = Self::lock(slot).on_answer(pending, &answer);
        match result {
            Ok(joined) => {
                let ack = Self::lock(slot).ack();
                if let Some(ack) = ack
                    && let Err(e) = self.send_stateless(&ack).await
                {
                    tracing::warn!(error = %e, "ACK not sent");
                }
                tracing::info!(terminal = index, conversation_id = %joined.ids.conversation_id,
                    contribution_id = %joined.ids.contribution_id, replaced = joined.replaced, "joined");
                Outcome {
                    ok: true,
                    status: answer.status,
                    detail: match joined.replaced {
                        true => "joined; own ids replaced by the group session's".into(),
                        false => "joined; the group session has our ids".into(),
                    },
                    ids: Some(joined.ids),
                    sent_ids: Some(sent_ids),
                    replaced: joined.replaced,
                    elapsed: started.elapsed(),
                }
            }
            Err(detail) => {
                tracing::info!(terminal = index, %detail, "join failed");
                Outcome {
                    sent_ids: Some(sent_ids),
                    ids: Some(Self::lock(slot).ids.clone()),
                    ..Outcome::failed(answer.status, detail, started)
                }
            }
        }
    }

    /// Leave: BYE in the terminal's dialog.
    pub async fn leave(&self, index: usize) -> Outcome {
        let started = Instant::now();
        let slot = match self.slot(index) {
            Ok(s) => s,
            Err(e) => return Outcome::failed(0, e, started),
        };
        let _busy = slot.busy.lock().await;
        let Some(bye) = Self::lock(slot).bye() else {
            return Outcome::failed(0, "not joined", started);
        };
        let (request, dest) = match self
            .request(&bye)
            .and_then(|r| Ok((r, self.next_hop(&bye)?)))
        {
            Ok(x) => x,
            Err(e) => return Outcome::failed(0, e, started),
        };
        let ids = Some(Self::lock(slot).ids.clone());
        match self.inner.node.send(request, dest).await {
            SendOutcome::Final(resp) => {
                let status = headers::status(&resp);
                Outcome {
                    ok: (200..300).contains(&status),
                    status,
                    detail: format!("BYE answered {status}"),
                    ids,
                    elapsed: started.elapsed(),
                    ..Outcome::default()
                }
            }
            SendOutcome::Timeout => Outcome::failed(0, "BYE not answered (Timer F)", started),
            SendOutcome::Error(e) => Outcome::failed(0, e, started),
        }
    }

    /// Send `packets` RTP packets, `interval` apart, from the terminal's RTP socket to the media
    /// target of its answer.
    pub async fn send_rtp(&self, index: usize, packets: u32, interval: Duration) -> Outcome {
        let started = Instant::now();
        let slot = match self.slot(index) {
            Ok(s) => s,
            Err(e) => return Outcome::failed(0, e, started),
        };
        let Some(target) = Self::lock(slot).media_target else {
            return Outcome::failed(0, "not joined: no media target", started);
        };
        for i in 0..packets {
            let n = slot.seq.fetch_add(1, Ordering::Relaxed);
            let packet = rtp::packet(
                n as u16,
                (n as u32).wrapping_mul(rtp::SAMPLES_PER_PACKET),
                slot.ssrc,
            );
            if let Err(e) = slot.rtp.send_to(&packet, target).await {
                return Outcome::failed(0, format!("RTP not sent to {target}: {e}"), started);
            }
            slot.sent.fetch_add(1, Ordering::Relaxed);
            if i + 1 < packets && !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
        }
        Outcome {
            ok: true,
            detail: format!("{packets} RTP packets sent to {target}"),
            ids: Some(Self::lock(slot).ids.clone()),
            elapsed: started.elapsed(),
            ..Outcome::default()
        }
    }

    /// A BYE from the network (RFC 3261 §15.1.2): `true` if it ended one of our dialogs.
    pub fn on_bye(&self, call_id: &str) -> bool {
        self.inner
            .slots
            .iter()
            .any(|slot| Self::lock(slot).on_bye(call_id))
    }

    fn request(&self, out: &Outgoing) -> Result<Request, String> {
        let mut b = build::request(out.method, &out.uri);
        for (name, value) in &out.headers {
            b = b.header(name, value.clone());
        }
        if let Some((ct, body)) = &out.body {
            b = b.body(ct, body.clone());
        }
        b.build(&self.inner.node.via(self.inner.transport))
            .map_err(|e| format!("{} not buildable: {e}", out.method))
    }

    fn next_hop(&self, out: &Outgoing) -> Result<SipAddr, String> {
        match &out.next_hop {
            None => Ok(self.inner.proxy.clone()),
            Some(uri) => {
                let mut dest = destination_of(uri)
                    .ok_or_else(|| format!("next hop {uri:?} is not a SIP URI"))?;
                // Our transport unless the URI names one (RFC 3263 simplified).
                if !uri.contains("transport=") {
                    dest.r#type = Some(self.inner.transport);
                }
                Ok(dest)
            }
        }
    }

    async fn send_stateless(&self, out: &Outgoing) -> Result<(), String> {
        let request = self.request(out)?;
        let dest = self.next_hop(out)?;
        self.inner.node.send_stateless(request, dest).await
    }
}

fn rand_u32() -> u32 {
    random_token(8)
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

/// What the terminal needs of the INVITE's final response.
fn answer_of(resp: &Response) -> Answer {
    Answer {
        status: headers::status(resp),
        reason: resp.status_code.text().to_string(),
        to: headers::value(resp, "To").unwrap_or_default(),
        contact: headers::contact_uri(resp),
        record_route: headers::all_values(resp, "Record-Route"),
        content_type: headers::value(resp, "Content-Type"),
        body: resp.body.clone(),
    }
}

/// Count the RTP packets arriving on a terminal's socket.
async fn count_rtp(socket: Arc<UdpSocket>, received: Arc<AtomicU64>, cancel: CancellationToken) {
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, _)) if rtp::is_rtp(&buf[..n]) => {
                    received.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "RTP receive error");
                }
            },
        }
    }
}
