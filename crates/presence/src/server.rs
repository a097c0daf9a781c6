//! The SIP shell: one task per incoming transaction, dispatched by method, answered, then the
//! answer's follow-up (a NOTIFY) run.

use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::rsipstack::sip::Method;
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Presence;
use crate::metrics as m;
use crate::packages::ALLOW_EVENTS;
use crate::reply::Reply;

const ALLOW: &str = "REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, MESSAGE, OPTIONS";

pub async fn run(ctx: Presence, mut incoming: TransactionReceiver, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            tx = incoming.recv() => match tx {
                Some(tx) => {
                    let ctx = ctx.clone();
                    tokio::spawn(async move { handle(ctx, tx).await });
                }
                None => return,
            }
        }
    }
}

async fn handle(ctx: Presence, mut tx: Transaction) {
    let req = tx.original.clone();
    let call_id = headers::call_id(&req).unwrap_or_default();
    let span = tracing::info_span!("sip", %call_id, method = %req.method);
    async move {
        let reply = match req.method {
            Method::Register => ctx.handle_register(&req).await,
            Method::Subscribe => ctx.handle_subscribe(&req).await,
            Method::Publish => ctx.handle_publish(&req).await,
            Method::Options => Reply::new(200)
                .header("Allow", ALLOW)
                .header("Allow-Events", ALLOW_EVENTS),
            Method::Ack => return,
            _ => Reply::error(405, "Method Not Allowed").header("Allow", ALLOW),
        };
        metrics::counter!(m::SIP_REQUESTS, "method" => req.method.to_string(), "status" => reply.code.to_string())
            .increment(1);
        if reply.code >= 400 {
            tracing::info!(status = reply.code, reason = reply.reason.as_deref().unwrap_or(""), "request refused");
        }
        let headers: Vec<(&str, String)> = reply.headers.iter().map(|(n, v)| (*n, v.clone())).collect();
        let tag = reply.to_tag.clone().unwrap_or_else(|| corelab_sip::random_token(10));
        let response = build::response(&req, reply.code, reply.reason.as_deref(), Some(&tag), &headers, reply.body);
        if let Err(e) = tx.respond(response).await {
            tracing::warn!(error = %e, "response not sent");
            return;
        }
        // Dropping the transaction hands it to rsipstack's cache of finished transactions,
        // which answers retransmissions of the request.
        drop(tx);
        if let Some(then) = reply.then {
            then.await;
        }
    }
    .instrument(span)
    .await
}
