//! Requests the IMS client answers: NOTIFY (with the injected faults) and MESSAGE (the server's
//! subscription-failure report, which makes it re-subscribe: spec step 6).

use corelab_sip::body::failure_report::{self, FailureReport};
use corelab_sip::body::pidf::Presence;
use corelab_sip::body::reginfo::RegInfo;
use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::rsipstack::sip::{Method, Request};
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use tokio_util::sync::CancellationToken;

use super::ImsClient;
use super::state::NotifyAnswer;

pub async fn run(client: ImsClient, mut incoming: TransactionReceiver, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            tx = incoming.recv() => match tx {
                Some(tx) => {
                    let client = client.clone();
                    tokio::spawn(async move { handle(client, tx).await });
                }
                None => return,
            }
        }
    }
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

async fn handle(client: ImsClient, mut tx: Transaction) {
    let req = tx.original.clone();
    match req.method {
        Method::Notify => on_notify(&client, &mut tx, &req).await,
        Method::Message => on_message(&client, &mut tx, &req).await,
        Method::Options => answer(&mut tx, 200, None).await,
        Method::Ack => {}
        _ => answer(&mut tx, 405, None).await,
    }
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
        dialog.state = if state == "terminated" {
            "terminated".into()
        } else {
            "active".into()
        };
        dialog.reason = reason.clone().unwrap_or_default();
        let (event, resource) = (dialog.event.clone(), dialog.resource.clone());
        if state == "terminated" {
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

async fn on_message(client: &ImsClient, tx: &mut Transaction, req: &Request) {
    if headers::content_type(req).as_deref() != Some(failure_report::CONTENT_TYPE) {
        answer(tx, 200, None).await;
        client.say(format!("MESSAGE: {}", String::from_utf8_lossy(&req.body)));
        return;
    }
    let report = match FailureReport::parse(&req.body) {
        Ok(r) => r,
        Err(e) => return answer(tx, 400, Some(&e)).await,
    };
    answer(tx, 200, None).await;
    if !client.state().first_report_of(&report.call_id) {
        client.say(format!(
            "subscription-failure MESSAGE for {} again (a copy): already re-subscribed",
            report.call_id
        ));
        return;
    }
    {
        let mut s = client.state();
        s.failure_messages_received += 1;
        if let Some(d) = s.dialogs.get_mut(&report.call_id) {
            d.state = "terminated".into();
            d.reason = format!("server deleted it ({})", report.reason);
        }
        s.dialogs.remove(&report.call_id);
    }
    client.say(format!(
        "subscription-failure MESSAGE: {} {} failed ({}{}), {}/{} — re-subscribing",
        report.event,
        report.resource,
        report.reason,
        report.status.map(|c| format!(" {c}")).unwrap_or_default(),
        report.count,
        report.threshold
    ));
    client.state().resubscriptions += 1;
    client.subscribe(&report.resource, &report.event).await;
}
