//! The async shell of the stateful proxy (RFC 3261 §16): one server transaction (the request we
//! received) and one client transaction (its copy, [`super::forward`]), with responses relayed
//! back ([`super::upstream`]), a CANCEL passed on while the INVITE is pending (§16.10), and the
//! ACK of a 2xx forwarded along its Route headers without a transaction of its own (§16.11:
//! an ACK for a 2xx is a new request that the proxy forwards statelessly).
//!
//! rsipstack delivers to the server transaction the CANCEL of its request (answered 200 by the
//! layer) and the ACK of the 2xx it sent (matched by dialog and CSeq), and, because the 2xx it
//! relays carries another Via, hands every 2xx of the client transaction to us without an
//! automatic ACK. Both transactions are driven by tasks of their own (their `receive` is not
//! cancel-safe); we answer upstream through the server transaction's `Respond` event.

use std::sync::Arc;
use std::time::Duration;

use rsipstack::sip::{Method, Request, Response, SipMessage};
use rsipstack::transaction::Transaction;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::TransactionEvent;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::{BestResponse, Forwarded, Hop, Refusal};
use crate::node::{SendOutcome, SipNode, destination_of, request_transport};

/// A stateful proxy on a [`SipNode`], with a bound on the transactions it has in flight.
#[derive(Clone)]
pub struct Proxy {
    pub node: SipNode,
    pending: Arc<Semaphore>,
    /// Longest a forwarded transaction is kept (an INVITE waiting for its final response, RFC
    /// 3261 §16.6 step 11 Timer C, more than 3 min); past it the INVITE is cancelled and `408`
    /// sent upstream.
    pub max_duration: Duration,
}

/// How a relayed transaction ended, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relayed {
    /// The final response sent upstream.
    Final(u16),
    /// Nothing final reached us (the server transaction ended first).
    NoFinal,
}

impl Proxy {
    /// A proxy relaying at most `max_pending` transactions at once.
    pub fn new(node: SipNode, max_pending: usize, max_duration: Duration) -> Proxy {
        Proxy {
            node,
            pending: Arc::new(Semaphore::new(max_pending)),
            max_duration,
        }
    }

    /// A slot for one more transaction, or `None` when `max_pending` are in flight (the caller
    /// answers 503).
    pub fn reserve(&self) -> Option<OwnedSemaphorePermit> {
        self.pending.clone().try_acquire_owned().ok()
    }

    /// Is `host_port` (as [`super::host_port`] writes it) this node: the advertised or the bound
    /// address?
    pub fn is_ours(&self, host_port: &str) -> bool {
        let advertised = self.node.advertised.to_string().to_ascii_lowercase();
        host_port == advertised || host_port == self.node.addr.to_string()
    }

    /// The [`Hop`] of a request that arrived as `received`.
    pub fn hop(&self, received: &Request) -> Hop {
        Hop {
            sent_by: self.node.advertised.to_string(),
            inbound: request_transport(received),
        }
    }

    /// Send `forwarded` (the copy of `stx`'s request) to its next hop in a client transaction
    /// and relay what comes back until the transaction is over. Run it as the handler's
    /// follow-up, holding `permit`.
    pub async fn relay(
        &self,
        mut stx: Transaction,
        forwarded: Forwarded,
        permit: OwnedSemaphorePermit,
    ) -> Relayed {
        let _permit = permit;
        let is_invite = stx.original.method == Method::Invite;
        if is_invite && let Err(e) = stx.send_trying().await {
            tracing::debug!(error = %e, "100 Trying not sent");
        }
        let original = stx.original.clone();
        let upstream_tx = stx.tu_sender.clone();
        let respond =
            move |resp: Response| upstream_tx.send(TransactionEvent::Respond(resp)).is_ok();
        let local = |code: u16, reason: &str| {
            crate::build::response(
                &original,
                code,
                Some(reason),
                Some(&crate::random_token(10)),
                &[],
                None,
            )
        };
        // The server transaction in a task of its own: CANCEL and ACK come out of it.
        let (req_tx, mut from_upstream) = mpsc::unbounded_channel::<Request>();
        tokio::spawn(async move {
            while let Some(msg) = stx.receive().await {
                if let SipMessage::Request(req) = msg {
                    let _ = req_tx.send(req);
                }
            }
        });

        let Some(destination) = destination_of(&forwarded.next_hop) else {
            respond(local(500, "Bad next hop"));
            return Relayed::Final(500);
        };
        let request = forwarded.request;
        let (connection, destination) = match self.node.connection_to(&request, &destination).await
        {
            Ok(c) => c,
            Err(outcome) => {
                let code = match outcome {
                    SendOutcome::Final(r) => r.status_code.code(),
                    SendOutcome::Timeout => 408,
                    SendOutcome::Error(_) => 500,
                };
                respond(local(code, "Next hop unreachable"));
                return Relayed::Final(code);
            }
        };
        let key = match TransactionKey::from_request(&request, TransactionRole::Client) {
            Ok(k) => k,
            Err(e) => {
                tracing::info!(error = %e, "forwarded request has no transaction key");
                respond(local(500, "Server Internal Error"));
                return Relayed::Final(500);
            }
        };
        let mut ctx = Transaction::new_client(
            key,
            request.clone(),
            self.node.endpoint.inner.clone(),
            Some(connection),
        );
        ctx.destination = Some(destination.clone());
        if let Err(e) = ctx.send().await {
            tracing::info!(error = %e, "forwarded request not sent");
            respond(local(503, "Service Unavailable (transport error)"));
            return Relayed::Final(503);
        }
        let (resp_tx, mut from_downstream) = mpsc::unbounded_channel::<Response>();
        tokio::spawn(async move {
            while let Some(msg) = ctx.receive().await {
                if let SipMessage::Response(resp) = msg {
                    let _ = resp_tx.send(resp);
                }
            }
        });

        let deadline = tokio::time::sleep(self.max_duration);
        tokio::pin!(deadline);
        let mut best = BestResponse::default();
        let mut sent_final: Option<u16> = None;
        let mut upstream_open = true;
        loop {
            tokio::select! {
                resp = from_downstream.recv() => match resp {
                    Some(resp) => {
                        let code = resp.status_code.code();
                        match code {
                            100..=199 => {
                                if sent_final.is_none() && let Some(up) = super::upstream(&resp) {
                                    respond(up);
                                }
                            }
                            // §16.7 step 5: every 2xx to an INVITE goes upstream at once,
                            // retransmissions included.
                            200..=299 => {
                                if let Some(up) = super::upstream(&resp) {
                                    respond(up);
                                }
                                sent_final = Some(code);
                                if !is_invite || !upstream_open {
                                    break;
                                }
                            }
                            _ => {
                                if sent_final.is_some() {
                                    continue;
                                }
                                // One branch: its final response is the best one (§16.7 step 6).
                                best.offer(resp);
                                let chosen = std::mem::take(&mut best).take();
                                let code = chosen.as_ref().map(|r| r.status_code.code()).unwrap_or(code);
                                match chosen.as_ref().and_then(super::upstream) {
                                    Some(up) => respond(up),
                                    None => respond(local(code, "Request Failed")),
                                };
                                sent_final = Some(code);
                                break;
                            }
                        }
                    }
                    None => {
                        if sent_final.is_none() {
                            respond(local(408, "Request Timeout"));
                            sent_final = Some(408);
                        }
                        break;
                    }
                },
                req = from_upstream.recv(), if upstream_open => match req {
                    Some(req) if req.method == Method::Cancel => {
                        // §16.10: CANCEL the pending INVITE downstream (the layer has already
                        // answered the CANCEL itself with 200).
                        if sent_final.is_none() {
                            let cancel = super::cancel_of(&request);
                            let node = self.node.clone();
                            let dest = destination.clone();
                            tokio::spawn(async move {
                                let outcome = node.send(cancel, dest).await;
                                tracing::debug!(outcome = %outcome.label(), "CANCEL forwarded");
                            });
                        }
                    }
                    Some(req) if req.method == Method::Ack => {
                        if let Err(r) = self.forward_ack(req).await {
                            tracing::info!(code = r.code, reason = %r.reason, "ACK not forwarded");
                        }
                        if sent_final.is_some() {
                            break;
                        }
                    }
                    Some(_) => {}
                    None => {
                        upstream_open = false;
                        if sent_final.is_some() {
                            break;
                        }
                    }
                },
                _ = &mut deadline => {
                    if sent_final.is_none() {
                        if is_invite {
                            let _ = self.node.send(super::cancel_of(&request), destination.clone()).await;
                        }
                        respond(local(408, "Request Timeout"));
                        sent_final = Some(408);
                    }
                    break;
                }
            }
        }
        sent_final.map(Relayed::Final).unwrap_or(Relayed::NoFinal)
    }

    /// RFC 3261 §16.11 / §16.4: the ACK of a 2xx, forwarded along its Route headers (ours
    /// popped) with our Via, without a transaction.
    pub async fn forward_ack(&self, mut ack: Request) -> Result<(), Refusal> {
        super::pop_own_routes(&mut ack, |hp| self.is_ours(hp));
        let hop = self.hop(&ack);
        let forwarded = super::forward(&ack, None, false, &hop)?;
        self.send_stateless(forwarded).await
    }

    /// Send a request with no transaction (an ACK for a 2xx).
    pub async fn send_stateless(&self, forwarded: Forwarded) -> Result<(), Refusal> {
        let destination =
            destination_of(&forwarded.next_hop).ok_or_else(|| Refusal::new(400, "Bad next hop"))?;
        self.node
            .send_stateless(forwarded.request, destination)
            .await
            .map_err(|e| Refusal::new(503, e))
    }
}
