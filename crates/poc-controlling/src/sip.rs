//! The SIP shell: join INVITEs (the rule is [`crate::join`]), re-INVITE, ACK, BYE, CANCEL and
//! OPTIONS, served by the shared serve loop ([`corelab_sip::serve`]). Each participant's dialog
//! is a [`InviteServerDialog`] (no IO); this file does what it says. The INVITE server
//! transaction is kept until the ACK (rsipstack retransmits the 2xx meanwhile, docs/sip.md);
//! no ACK within 64·T1: BYE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corelab_sip::body::BodyError;
use corelab_sip::dialog::{Action, Event, InviteServerDialog};
use corelab_sip::headers;
use corelab_sip::node::{self, SipNode};
use corelab_sip::rsipstack::sip::{Method, Request, SipMessage};
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use corelab_sip::serve::{self, FollowUp};
use corelab_sip::{build, random_token};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::PocControllingConfig;
use crate::join::{self, JoinRequest, Refusal, Rules};
use crate::metrics as m;
use crate::request;
use crate::rtp::Leg;
use crate::sessions::{DialogKey, Participant, Sessions};
use crate::store::SessionStore;
use crate::xcap_client::{Fetched, XcapClient};

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS";
/// RFC 3261 T2.
const T2: Duration = Duration::from_secs(4);

/// Everything the handlers share.
pub struct Cf {
    pub cfg: PocControllingConfig,
    pub node: SipNode,
    pub xcap: XcapClient,
    pub store: SessionStore,
    pub sessions: Sessions,
}

pub async fn run(ctx: Arc<Cf>, incoming: TransactionReceiver, cancel: CancellationToken) {
    tokio::spawn(expire_silent(ctx.clone(), cancel.clone()));
    let config = corelab_sip::serve::ServeConfig::default();
    serve::serve(incoming, config, cancel, move |tx| handle(ctx.clone(), tx)).await
}

async fn handle(ctx: Arc<Cf>, tx: Transaction) -> Option<FollowUp> {
    let req = tx.original.clone();
    let call_id = headers::call_id(&req).unwrap_or_default();
    let span = tracing::info_span!("sip", %call_id, method = %req.method);
    async move {
        match req.method {
            Method::Invite => invite(ctx, tx).await,
            Method::Bye => {
                bye(&ctx, tx).await;
                None
            }
            Method::Ack => {
                // An ACK that no INVITE transaction took (it ended): still confirms the dialog.
                if let (Ok(key), Ok((cseq, _))) = (dialog_key(&req), headers::cseq(&req)) {
                    ctx.sessions
                        .with(&key, |p| p.dialog.handle(Instant::now(), Event::Ack(cseq)));
                }
                None
            }
            Method::Options => {
                answer(tx, 200, None, None, &[("Allow", ALLOW.into())], None).await;
                None
            }
            // A CANCEL matching a live INVITE is taken by its transaction; this one matches none.
            Method::Cancel => {
                answer(tx, 481, None, None, &[], None).await;
                None
            }
            _ => {
                answer(tx, 405, None, None, &[("Allow", ALLOW.into())], None).await;
                None
            }
        }
    }
    .instrument(span)
    .await
}

/// Answer a request, counting it; the transaction is dropped (rsipstack answers
/// retransmissions). Returns the transaction back for a 2xx to an INVITE (kept until the ACK).
async fn answer(
    mut tx: Transaction,
    code: u16,
    reason: Option<&str>,
    to_tag: Option<&str>,
    extra: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Option<Transaction> {
    let req = &tx.original;
    metrics::counter!(m::SIP_REQUESTS, "method" => req.method.to_string(), "status" => code.to_string())
        .increment(1);
    if code >= 400 {
        tracing::info!(
            status = code,
            reason = reason.unwrap_or(""),
            "request refused"
        );
    }
    let tag = to_tag
        .map(str::to_string)
        .unwrap_or_else(|| random_token(10));
    let response = build::response(req, code, reason, Some(&tag), extra, body);
    if let Err(e) = tx.respond(response).await {
        tracing::warn!(error = %e, "response not sent");
        return None;
    }
    Some(tx)
}

fn dialog_key(req: &Request) -> Result<DialogKey, headers::BadRequest> {
    Ok(DialogKey {
        call_id: headers::call_id(req)?,
        remote_tag: headers::from_uri_and_tag(req)?.1,
    })
}

/// The joining user: the P-Asserted-Identity the participating function put (RFC 3325;
/// trusted: the CF sits in the operator's trust domain), else the From URI.
fn joining_user(req: &Request, from_uri: &str) -> String {
    headers::value(req, "P-Asserted-Identity")
        .and_then(|v| headers::uri_of(&v))
        .unwrap_or_else(|| from_uri.to_string())
}

async fn invite(ctx: Arc<Cf>, tx: Transaction) -> Option<FollowUp> {
    let req = tx.original.clone();
    let parsed = (|| {
        let (from_uri, _) = headers::from_uri_and_tag(&req)?;
        let (_, to_tag) = headers::to_uri_and_tag(&req)?;
        let (cseq, _) = headers::cseq(&req)?;
        Ok::<_, headers::BadRequest>((from_uri, to_tag, cseq, dialog_key(&req)?))
    })();
    let (from_uri, to_tag, cseq, key) = match parsed {
        Ok(p) => p,
        Err(e) => {
            answer(tx, 400, Some(&e.0), None, &[], None).await;
            return None;
        }
    };
    if to_tag.is_some() {
        return reinvite(ctx, tx, key, cseq).await;
    }
    let group_uri = headers::aor(&req.uri.to_string());
    let user = joining_user(&req, &from_uri);
    // 301: the body, read before anything else is looked at: a malformed one changes nothing.
    let ct = headers::value(&req, "Content-Type");
    let body = match request::parse(ct.as_deref(), &req.body) {
        Ok(b) => b,
        Err(e) => return refuse_body(tx, &e).await,
    };
    let join_req = JoinRequest {
        group_uri: group_uri.clone(),
        user: user.clone(),
        ids: body.ids.clone(),
    };
    // The rule runs in a task of its own so that a CANCEL can be answered meanwhile; a join
    // that completes after its CANCEL gives its place back (its ids, authorized, stay).
    let job = {
        let ctx = ctx.clone();
        let join_req = join_req.clone();
        tokio::spawn(async move {
            let cfg = &ctx.cfg;
            let serves = |g: &str| cfg.serves(g);
            let rules = Rules {
                serves: &serves,
                prearranged: cfg.groups.prearranged,
                default_max: cfg.media.max_participants,
            };
            let g = join_req.group_uri.clone();
            join::join(
                &rules,
                &ctx.xcap,
                &ctx.store,
                |limit| ctx.sessions.reserve(&g, limit),
                || ctx.sessions.release(&g),
                &join_req,
            )
            .await
        })
    };
    let mut dialog = InviteServerDialog::new(cseq, ctx.node_t1(), T2);
    let mut tx = tx;
    let mut job = job;
    let joined = loop {
        tokio::select! {
            r = &mut job => break r,
            msg = tx.receive() => match msg {
                Some(SipMessage::Request(r)) if r.method == Method::Cancel => {
                    if dialog.handle(Instant::now(), Event::Cancel).contains(&Action::Answer487) {
                        let ctx2 = ctx.clone();
                        let g = group_uri.clone();
                        tokio::spawn(async move {
                            if let Ok(Ok(_)) = job.await {
                                ctx2.sessions.release(&g);
                            }
                        });
                        metrics::counter!(m::JOINS, "outcome" => "cancelled").increment(1);
                        answer(tx, 487, None, None, &[], None).await;
                        return None;
                    }
                }
                Some(_) => {}
                None => break job.await,
            },
        }
    };
    let joined = match joined {
        Ok(Ok(j)) => j,
        Ok(Err(refusal)) => {
            let (code, reason) = refusal.status();
            metrics::counter!(m::JOINS, "outcome" => refusal_label(&refusal)).increment(1);
            answer(tx, code, Some(&reason), None, &[], None).await;
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "join task failed");
            answer(tx, 500, Some("Join failed"), None, &[], None).await;
            return None;
        }
    };
    metrics::counter!(m::XCAP_FETCHES, "result" => match joined.fetched {
        Fetched::Fresh => "fetched",
        Fetched::NotModified => "not_modified",
        Fetched::Cached => "cached",
    })
    .increment(1);
    // Media: one relay port for this participant.
    let remote_rtp = SocketAddr::new(body.sdp.address, body.sdp.port);
    let leg = match Leg::bind(ctx.cfg.media.address, remote_rtp).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "no RTP port");
            ctx.sessions.release(&group_uri);
            answer(tx, 500, Some("No media port"), None, &[], None).await;
            return None;
        }
    };
    let sdp = match body
        .sdp
        .answer(ctx.cfg.media.address, leg.port, &body.sdp.formats)
    {
        Ok(a) => a.write(u64::from(leg.port), 1),
        Err(e) => {
            ctx.sessions.release(&group_uri);
            return refuse_body(tx, &e).await;
        }
    };
    let local_tag = random_token(10);
    let transport = node::request_transport(&req);
    let contact = format!("<{}>", ctx.node.contact("poc-controlling", transport));
    let (ct, body_bytes) = request::answer_body(&sdp, &joined.ids, &group_uri, &user);
    let to_value = headers::value(&req, "To").unwrap_or_default();
    ctx.sessions.insert(
        key.clone(),
        Participant {
            group_uri: group_uri.clone(),
            user: user.clone(),
            local_tag: local_tag.clone(),
            remote_from: headers::value(&req, "From").unwrap_or_default(),
            remote_target: headers::contact_uri(&req).unwrap_or_else(|| from_uri.clone()),
            route_set: headers::all_values(&req, "Record-Route"),
            transport_tcp: transport == corelab_sip::rsipstack::sip::Transport::Tcp,
            local_to: format!("{to_value};tag={local_tag}"),
            dialog,
            leg: leg.clone(),
            answer_sdp: sdp,
            last_request: Instant::now(),
        },
    );
    {
        let sessions = ctx.sessions.clone();
        let g = group_uri.clone();
        tokio::spawn(leg.run(move || sessions.legs(&g)));
    }
    metrics::counter!(m::JOINS, "outcome" => "joined").increment(1);
    tracing::info!(group = %group_uri, %user, conversation_id = %joined.ids.conversation_id,
        contribution_id = %joined.ids.contribution_id, "joined");
    // RFC 3261 §12.1.1: `build::response` copies the INVITE's Record-Route values into this 2xx,
    // in order, so that the joiner's route set runs through its participating function (ACK,
    // BYE, re-INVITE).
    let extra = [("Contact", contact), ("Allow", ALLOW.into())];
    let Some(tx) = answer(
        tx,
        200,
        None,
        Some(&local_tag),
        &extra,
        Some((&ct, body_bytes)),
    )
    .await
    else {
        ctx.sessions.remove(&key);
        return None;
    };
    ctx.sessions.with(&key, |p| {
        p.dialog.handle(Instant::now(), Event::Answered(200))
    });
    update_gauge(&ctx);
    Some(Box::pin(wait_for_ack(ctx, tx, key).in_current_span()) as FollowUp)
}

fn refusal_label(r: &Refusal) -> &'static str {
    match r {
        Refusal::NotServed => "not_served",
        Refusal::NoSuchGroup => "no_such_group",
        Refusal::NotJoinGroup => "not_join_group",
        Refusal::NotMember => "not_member",
        Refusal::Full => "full",
        Refusal::Unavailable(_) => "unavailable",
    }
}

async fn refuse_body(tx: Transaction, e: &BodyError) -> Option<FollowUp> {
    metrics::counter!(m::JOINS, "outcome" => "bad_body").increment(1);
    answer(tx, e.status(), Some(&e.reason), None, &[], None).await;
    None
}

/// Keep the INVITE transaction (its 2xx retransmissions) until the ACK; without one by the
/// dialog's deadline (64·T1), BYE.
async fn wait_for_ack(ctx: Arc<Cf>, mut tx: Transaction, key: DialogKey) {
    let mut tx_open = true;
    loop {
        let Some(deadline) = ctx
            .sessions
            .with(&key, |p| p.dialog.next_deadline())
            .flatten()
        else {
            return;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        tokio::select! {
            msg = tx.receive(), if tx_open => match msg {
                Some(SipMessage::Request(r)) if r.method == Method::Ack => {
                    let cseq = headers::cseq(&r).map(|c| c.0).unwrap_or(0);
                    ctx.sessions.with(&key, |p| p.dialog.handle(Instant::now(), Event::Ack(cseq)));
                }
                Some(_) => {}
                None => tx_open = false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                let actions = ctx.sessions.with(&key, |p| p.dialog.poll(Instant::now())).unwrap_or_default();
                // Retransmit2xx: rsipstack's transaction does it (Timer G in Accepted).
                if actions.contains(&Action::SendBye) {
                    tracing::info!("no ACK within 64*T1: BYE");
                    send_bye(&ctx, &key).await;
                    return;
                }
            }
        }
    }
}

async fn reinvite(ctx: Arc<Cf>, tx: Transaction, key: DialogKey, cseq: u32) -> Option<FollowUp> {
    let req = tx.original.clone();
    let decided = ctx.sessions.with(&key, |p| {
        p.last_request = Instant::now();
        let actions = p.dialog.handle(Instant::now(), Event::ReInvite(cseq));
        (
            actions,
            p.group_uri.clone(),
            p.user.clone(),
            p.answer_sdp.clone(),
            p.local_tag.clone(),
            p.leg.clone(),
        )
    });
    let Some((actions, group_uri, user, sdp, local_tag, leg)) = decided else {
        answer(tx, 481, None, None, &[], None).await;
        return None;
    };
    if !actions.contains(&Action::AcceptReInvite) {
        let retry = actions.contains(&Action::RefuseReInvite { retry_after: true });
        let extra: Vec<(&str, String)> = match retry {
            true => vec![("Retry-After", "1".into())],
            false => vec![],
        };
        answer(tx, 500, None, Some(&local_tag), &extra, None).await;
        return None;
    }
    // A new offer may move the participant's media; an absent or unreadable one keeps it.
    let ct = headers::value(&req, "Content-Type");
    if let Ok(b) = request::parse(ct.as_deref(), &req.body) {
        leg.set_remote(SocketAddr::new(b.sdp.address, b.sdp.port));
    }
    let ids = match ctx.store.get(&group_uri).await {
        Ok(Some(ids)) => ids,
        _ => {
            ctx.sessions.with(&key, |p| {
                p.dialog.handle(Instant::now(), Event::Answered(500))
            });
            answer(
                tx,
                500,
                Some("Group session ids unavailable"),
                Some(&local_tag),
                &[],
                None,
            )
            .await;
            return None;
        }
    };
    let (ct, body) = request::answer_body(&sdp, &ids, &group_uri, &user);
    let contact = format!(
        "<{}>",
        ctx.node
            .contact("poc-controlling", node::request_transport(&req))
    );
    let tx = answer(
        tx,
        200,
        None,
        Some(&local_tag),
        &[("Contact", contact)],
        Some((&ct, body)),
    )
    .await?;
    ctx.sessions.with(&key, |p| {
        p.dialog.handle(Instant::now(), Event::Answered(200))
    });
    Some(Box::pin(wait_for_ack(ctx, tx, key).in_current_span()) as FollowUp)
}

async fn bye(ctx: &Arc<Cf>, tx: Transaction) {
    let req = tx.original.clone();
    let Ok(key) = dialog_key(&req) else {
        answer(tx, 400, Some("Bad From header"), None, &[], None).await;
        return;
    };
    let actions = ctx
        .sessions
        .with(&key, |p| p.dialog.handle(Instant::now(), Event::Bye));
    match actions {
        Some(a) if a.contains(&Action::AnswerBye) => {
            ctx.sessions.remove(&key);
            update_gauge(ctx);
            tracing::info!("participant left");
            answer(tx, 200, None, None, &[], None).await;
        }
        _ => {
            answer(tx, 481, None, None, &[], None).await;
        }
    }
}

/// End a participant's session from our side (no ACK, silent participant): BYE along the
/// dialog's route set (RFC 3261 §12.2.1.1, §15.1.1), the participant removed.
pub async fn send_bye(ctx: &Arc<Cf>, key: &DialogKey) {
    let Some(p) = ctx.sessions.remove(key) else {
        return;
    };
    update_gauge(ctx);
    let mut dialog = p.dialog;
    let cseq = dialog.next_local_cseq();
    let transport = match p.transport_tcp {
        true => corelab_sip::rsipstack::sip::Transport::Tcp,
        false => corelab_sip::rsipstack::sip::Transport::Udp,
    };
    let mut builder = build::request("BYE", &p.remote_target)
        .header("From", p.local_to.clone())
        .header("To", p.remote_from.clone())
        .header("Call-ID", key.call_id.clone())
        .header("CSeq", format!("{cseq} BYE"));
    for route in &p.route_set {
        builder = builder.header("Route", route.clone());
    }
    let first_hop = p
        .route_set
        .first()
        .and_then(|r| headers::uri_of(r))
        .unwrap_or_else(|| p.remote_target.clone());
    let (Ok(bye), Some(dest)) = (
        builder.build(&ctx.node.via(transport)),
        node::destination_of(&first_hop),
    ) else {
        tracing::warn!(target = %p.remote_target, "BYE not sendable");
        return;
    };
    let outcome = ctx.node.send(bye, dest).await;
    tracing::info!(outcome = %outcome.label(), "BYE sent");
}

/// Every few seconds: participants with no RTP and no request for `media.participant_timeout_s`
/// are sent a BYE and removed.
async fn expire_silent(ctx: Arc<Cf>, cancel: CancellationToken) {
    let timeout = Duration::from_secs(ctx.cfg.media.participant_timeout_s);
    let period = (timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let now = Instant::now();
        let Some(before) = now.checked_sub(timeout) else {
            continue;
        };
        let before_ms = corelab_runtime::now_ms() - timeout.as_millis() as i64;
        for key in ctx.sessions.silent(before_ms, before) {
            tracing::info!(call_id = %key.call_id, "participant silent: BYE");
            metrics::counter!(m::EXPIRED).increment(1);
            send_bye(&ctx, &key).await;
        }
    }
}

fn update_gauge(ctx: &Cf) {
    // A count, not `view()`: the admin view clones and sorts every participant, which on every
    // join and leave made the cost of a join grow with the number of participants.
    metrics::gauge!(m::PARTICIPANTS).set(ctx.sessions.len() as f64);
}

impl Cf {
    fn node_t1(&self) -> Duration {
        Duration::from_millis(self.cfg.sip.t1_ms)
    }
}
