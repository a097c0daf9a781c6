//! Requests the IMS client answers: NOTIFY (with the injected faults) and MESSAGE (the server's
//! subscription-failure report, which makes it re-subscribe: spec step 6), served by the shared
//! serve loop ([`corelab_sip::serve`]: arrival order per dialog and per TCP connection, bounded).
//!
//! A failure report is acted on only when it comes from the server the client subscribes
//! through ([`ReportSources`]) and is about a dialog the client holds; anything else gets 403
//! and a log line (at most one per interval), and never a SUBSCRIBE. The re-SUBSCRIBE goes to
//! what the failed dialog was subscribed to, at most once per dialog.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use corelab_log_throttle::Throttle;
use corelab_sip::body::failure_report::{self, FailureReport};
use corelab_sip::body::pidf::Presence;
use corelab_sip::body::reginfo::RegInfo;
use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::rsipstack::sip::prelude::HeadersExt;
use corelab_sip::rsipstack::sip::{Method, Request};
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use corelab_sip::rsipstack::transport::connection::SipConnection;
use corelab_sip::serve::{self, FollowUp, ServeConfig};
use tokio_util::sync::CancellationToken;

use super::ImsClient;
use super::printable::printable;
use super::state::{NotifyAnswer, ReportDecision};

pub async fn run(
    client: ImsClient,
    incoming: TransactionReceiver,
    config: ServeConfig,
    cancel: CancellationToken,
) {
    // Refused failure reports are logged once per interval with their count.
    let refusals = Arc::new(Throttle::default());
    serve::serve(incoming, config, cancel, move |tx| {
        handle(client.clone(), refusals.clone(), tx)
    })
    .await
}

async fn answer(tx: &mut Transaction, code: u16, reason: Option<&str>) {
    let resp = build::response(
        &tx.original,
        code,
        reason,
        Some(&corelab_sip::random_token(8)),
        &[],
        None,
    );
    if let Err(e) = tx.respond(resp).await {
        tracing::warn!(error = %e, "answer not sent");
    }
}

async fn handle(
    client: ImsClient,
    refusals: Arc<Throttle>,
    mut tx: Transaction,
) -> Option<FollowUp> {
    client.state().prune(Instant::now());
    let req = tx.original.clone();
    match req.method {
        Method::Notify => on_notify(&client, &mut tx, &req).await,
        Method::Message => return on_message(&client, &refusals, &mut tx, &req).await,
        Method::Options => answer(&mut tx, 200, None).await,
        Method::Ack => {}
        _ => answer(&mut tx, 405, None).await,
    }
    None
}

async fn on_notify(client: &ImsClient, tx: &mut Transaction, req: &Request) {
    let (Ok(call_id), Ok((cseq, _))) = (headers::call_id(req), headers::cseq(req)) else {
        return answer(tx, 400, Some("Missing Call-ID or CSeq")).await;
    };
    let decision = client.state().answer_notify(&call_id, cseq);
    match decision {
        NotifyAnswer::NoDialog => return answer(tx, 481, None).await,
        NotifyAnswer::Ignore => {
            client.say(format!(
                "NOTIFY CSeq {cseq} ignored on purpose (fault injection)"
            ));
            return;
        }
        NotifyAnswer::Reject(code) => {
            client.say(format!(
                "NOTIFY CSeq {cseq} answered {code} on purpose (fault injection)"
            ));
            return answer(tx, code, None).await;
        }
        NotifyAnswer::Accept => {}
    }
    answer(tx, 200, None).await;
    let (state, reason) = headers::subscription_state(req).unwrap_or(("active".into(), None));
    let body = String::from_utf8_lossy(&req.body).to_string();
    let lines = update_view(client, req, &call_id, &state, reason, &body);
    for line in lines {
        client.say(line);
    }
}

/// Apply a NOTIFY to the client's view; returns the lines to print.
fn update_view(
    client: &ImsClient,
    req: &Request,
    call_id: &str,
    state: &str,
    reason: Option<String>,
    body: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    {
        let mut s = client.state();
        let Some(dialog) = s.dialogs.get_mut(call_id) else {
            return lines;
        };
        if dialog.remote_tag.is_none() {
            dialog.remote_tag = headers::value(req, "From").and_then(|f| headers::param(&f, "tag"));
        }
        if let Some(target) = headers::contact_uri(req) {
            dialog.remote_target = Some(target);
        }
        if dialog.state != "terminated" && state != "terminated" {
            dialog.state = "active".into();
            dialog.reason = reason.clone().unwrap_or_default();
        }
        let (event, resource) = (dialog.event.clone(), dialog.resource.clone());
        if state == "terminated" {
            s.end_dialog(call_id, &reason.clone().unwrap_or_default(), Instant::now());
            lines.push(format!(
                "subscription {event} {resource} terminated ({})",
                reason.unwrap_or_default()
            ));
        }
        if !body.is_empty() {
            match event.as_str() {
                "presence" => match Presence::parse(body) {
                    Ok(p) => {
                        let buddy = s.buddies.entry(resource.clone()).or_default();
                        buddy.basic = p.basic().as_str().into();
                        buddy.note = p.note().unwrap_or("").into();
                        lines.push(format!(
                            "buddy {resource} is {} {}",
                            buddy.basic, buddy.note
                        ));
                    }
                    Err(e) => lines.push(format!("bad PIDF from server: {e}")),
                },
                "reg" => {
                    if let Ok(reg) = RegInfo::parse_state(body, &client.cfg.aor) {
                        lines.push(format!("my registration is {reg}"));
                        s.reg_state = reg;
                    }
                }
                _ => {}
            }
        }
    }
    lines
}

async fn on_message(
    client: &ImsClient,
    refusals: &Throttle,
    tx: &mut Transaction,
    req: &Request,
) -> Option<FollowUp> {
    if headers::content_type(req).as_deref() != Some(failure_report::CONTENT_TYPE) {
        answer(tx, 200, None).await;
        client.say(format!("MESSAGE: {}", String::from_utf8_lossy(&req.body)));
        return None;
    }
    let source = source_of(tx);
    let trusted =
        source.is_some_and(|(addr, stream)| client.cfg.report_sources.allows(addr, stream));
    if !trusted {
        client.state().failure_messages_refused += 1;
        refused(refusals, source, "not from the server subscribed through");
        answer(
            tx,
            403,
            Some("Forbidden (not from the server subscribed through)"),
        )
        .await;
        return None;
    }
    let report = match FailureReport::parse(&req.body) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %printable(&e), "subscription-failure report not understood");
            answer(
                tx,
                400,
                Some("Bad Request (subscription-failure report not understood)"),
            )
            .await;
            return None;
        }
    };
    let decision = client
        .state()
        .on_failure_report(&report.call_id, Instant::now());
    match decision {
        ReportDecision::UnknownDialog => {
            refused(refusals, source, "about no subscription of ours");
            answer(tx, 403, Some("Forbidden (no such subscription)")).await;
            None
        }
        ReportDecision::Copy => {
            answer(tx, 200, None).await;
            client.say(format!(
                "subscription-failure MESSAGE for {} again (a copy): already re-subscribed",
                report.call_id
            ));
            None
        }
        ReportDecision::Resubscribe { resource, event } => {
            answer(tx, 200, None).await;
            client.say(format!(
                "subscription-failure MESSAGE: {event} {resource} failed ({}{}), {}/{} — re-subscribing",
                report.reason,
                report.status.map(|c| format!(" {c}")).unwrap_or_default(),
                report.count,
                report.threshold
            ));
            let client = client.clone();
            Some(Box::pin(async move {
                client.subscribe(&resource, &event).await;
            }))
        }
    }
}

/// Where a request came from, and whether over a stream transport: the TCP peer, or the UDP
/// datagram's source (the top Via as the transport rewrote it with `received`/`rport`).
fn source_of(tx: &Transaction) -> Option<(SocketAddr, bool)> {
    if let Some(peer) = serve::stream_peer(tx) {
        return Some((peer, true));
    }
    if tx
        .connection
        .as_ref()
        .is_some_and(SipConnection::is_reliable)
    {
        return None;
    }
    let via = tx.original.via_header().ok()?;
    let (_, host_with_port) = SipConnection::parse_target_from_via(via).ok()?;
    let addr: SocketAddr = host_with_port.try_into().ok()?;
    Some((addr, false))
}

/// One log line per interval about refused reports, with how many.
fn refused(log: &Throttle, source: Option<(SocketAddr, bool)>, why: &str) {
    if let Some(count) = log.hit(Instant::now()) {
        let from = source
            .map(|(a, _)| a.to_string())
            .unwrap_or_else(|| "?".into());
        tracing::warn!(%from, refused = count, "subscription-failure MESSAGE refused (403): {why}");
    }
}
