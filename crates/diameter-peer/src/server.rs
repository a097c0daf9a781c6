//! `diameter-peer server`: accept any number of peers, answer CER/DWR/DPR
//! (the node does), answer each application request from the answers file,
//! optionally send a request back after an answer (`--send-after-answer`),
//! exit after `--count` requests or on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use corelab_diameter::Dictionary;
use corelab_diameter_node::Node;
use tracing::{info, warn};

use crate::cli::{Common, Exit, SERVER_APPS, resolve, terminated};
use crate::files;
use crate::print;
use crate::responder::{AfterAnswer, Handler, Output, Responder};

/// Answer requests with configured answers.
#[derive(Args, Debug)]
pub struct ServerArgs {
    #[command(flatten)]
    common: Common,
    /// Where to listen (port 0: any free port; the bound address is printed).
    #[arg(long, value_name = "HOST:PORT")]
    listen: String,
    /// Answers file: `[[answer]]` entries by command (default answer: 2001).
    #[arg(long, value_name = "FILE")]
    answers: PathBuf,
    /// After answering CMD (Credit-Control, CCR, CCR-I, AA, 272 ...), send the
    /// requests of FILE to that client over the same connection, with
    /// `${session}` = the answered request's Session-Id; repeatable.
    #[arg(long, value_name = "CMD=FILE")]
    send_after_answer: Vec<String>,
    /// Exit 0 after answering N application requests (and finishing the
    /// --send-after-answer exchanges they started).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Do not print a line per message (for load tests).
    #[arg(short, long, conflicts_with = "verbose")]
    quiet: bool,
}

impl ServerArgs {
    /// The options shared by every subcommand.
    pub fn common(&self) -> &Common {
        &self.common
    }
}

/// Runs the server.
pub async fn run(args: ServerArgs) -> anyhow::Result<Exit> {
    let answers = files::load_answers(&args.answers, Dictionary::standard())?;
    let after = args
        .send_after_answer
        .iter()
        .map(|s| AfterAnswer::parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let c = &args.common;
    let cfg = c.node_config(c.application_ids(&SERVER_APPS)?)?;
    let request_timeout = cfg.request_timeout.unwrap_or(cfg.local.tw);
    let output = if args.quiet {
        Output::Quiet
    } else if c.verbose {
        Output::Full
    } else {
        Output::Lines
    };
    let responder = Responder::new(
        answers,
        after,
        &c.origin_host,
        &c.origin_realm,
        output,
        c.validation(),
    );
    let node = Node::new(cfg, Arc::new(Handler(responder.clone())));
    let addr = resolve(&args.listen).await?;
    let bound = match node.listen(addr).await {
        Ok(a) => a,
        Err(e) => {
            print::out(&format!("!! cannot listen on {addr}: {e}"));
            return Ok(Exit::Error);
        }
    };
    print::out(&format!("listening on {bound}"));

    let done = async {
        match args.count {
            Some(n) => {
                responder
                    .wait_until(Duration::MAX, |r| r.answered() >= n)
                    .await;
                // The exchanges those requests started, bounded by the request timeout.
                let settled = responder
                    .wait_until(request_timeout + Duration::from_secs(1), |r| {
                        r.pending_after() == 0
                    })
                    .await;
                if !settled {
                    warn!("--send-after-answer exchanges still pending at exit");
                }
                info!(answered = responder.answered(), "--count reached");
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = done => {}
        _ = terminated() => info!("signal: stopping"),
    }
    // Answers counted are queued; the DPR follows them.
    node.shutdown().await;
    print::out(&format!(
        "-- stopped after {} answered requests",
        responder.answered()
    ));
    Ok(
        if responder.after_failed() > 0 || responder.pending_after() > 0 {
            Exit::Failed
        } else {
            Exit::Ok
        },
    )
}
