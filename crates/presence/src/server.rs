//! The SIP shell: incoming transactions served by the shared serve loop
//! ([`corelab_sip::serve`]: arrival order per dialog and per TCP connection, admission control
//! from `[serve]`), dispatched by method, answered; the answer's follow-up (a NOTIFY) runs after
//! the dialog's next request is let through.

use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::rsipstack::sip::Method;
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use corelab_sip::serve::{self, FollowUp};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Presence;
use crate::metrics as m;
use crate::packages::ALLOW_EVENTS;
use crate::reply::Reply;

const ALLOW: &str = "REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, MESSAGE, OPTIONS";

pub async fn run(ctx: Presence, incoming: TransactionReceiver, cancel: CancellationToken) {
    let config = ctx.cfg.serve.at_least_one();
    serve::serve(incoming, config, cancel, move |tx| handle(ctx.clone(), tx)).await
}

async fn handle(ctx: Presence, mut tx: Transaction) -> Option<FollowUp> {
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
            Method::Ack => return None,
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
            return None;
        }
        // Dropping the transaction hands it to rsipstack's cache of finished transactions,
        // which answers retransmissions of the request.
        drop(tx);
        let then = reply.then?;
        Some(Box::pin(then.instrument(tracing::Span::current())) as FollowUp)
    }
    .instrument(span)
    .await
}
