//! Requests the PoC terminals answer, through the shared serve loop ([`corelab_sip::serve`]):
//! BYE in one of their dialogs (the controlling function ending a participant: 200, the
//! terminal has left; unknown dialog: 481, RFC 3261 §15.1.2), OPTIONS (200), ACK (nothing);
//! anything else 405 (a terminal does not take calls here).

use corelab_sip::build;
use corelab_sip::headers;
use corelab_sip::rsipstack::sip::Method;
use corelab_sip::rsipstack::transaction::{Transaction, TransactionReceiver};
use corelab_sip::serve::{self, FollowUp, ServeConfig};
use tokio_util::sync::CancellationToken;

use super::client::PocClient;

pub async fn run(
    client: PocClient,
    incoming: TransactionReceiver,
    config: ServeConfig,
    cancel: CancellationToken,
) {
    serve::serve(incoming, config, cancel, move |tx| {
        handle(client.clone(), tx)
    })
    .await
}

async fn answer(tx: &mut Transaction, code: u16, allow: bool) {
    let extra = match allow {
        true => vec![("Allow", "BYE, ACK, OPTIONS".to_string())],
        false => vec![],
    };
    let resp = build::response(&tx.original, code, None, None, &extra, None);
    if let Err(e) = tx.respond(resp).await {
        tracing::warn!(error = %e, "answer not sent");
    }
}

async fn handle(client: PocClient, mut tx: Transaction) -> Option<FollowUp> {
    match tx.original.method {
        Method::Bye => {
            let ended = headers::call_id(&tx.original)
                .map(|id| client.on_bye(&id))
                .unwrap_or(false);
            tracing::info!(ended, "BYE from the network");
            answer(&mut tx, if ended { 200 } else { 481 }, false).await;
        }
        Method::Options => answer(&mut tx, 200, true).await,
        Method::Ack => {}
        _ => answer(&mut tx, 405, true).await,
    }
    None
}
