//! `diameter-peer load`: send the requests of a file in a loop over one
//! connection, `--concurrency` outstanding, optionally rate-limited, bounded
//! by `--count` requests or `--duration` seconds; a progress line per second
//! and a summary (requests, answers, errors, pairs/s, latency percentiles).
//!
//! Each of the `--concurrency` workers walks the file's requests in order,
//! waiting for each answer; every pass through the file gets a fresh
//! `${session}` (for a one-request file: a fresh Session-Id per request).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use corelab_diameter::{Dictionary, Message};
use corelab_diameter_node::{Node, NodeError, PeerHandle};
use tracing::warn;

use crate::answers::{is_expected, outcome};
use crate::budget::{Budget, report_until_done};
use crate::cli::{Common, Exit, resolve};
use crate::files::{self, RequestTemplate, SessionIds, Vars};
use crate::print;
use crate::responder::{Handler, Output, Responder};
use crate::stats::Stats;

/// Generate load and report latency.
#[derive(Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    common: Common,
    /// The peer (server or agent) to load.
    #[arg(long, value_name = "HOST:PORT")]
    connect: String,
    /// Requests file; sent in a loop, a fresh `${session}` per pass.
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// Requests outstanding at once.
    #[arg(long, value_name = "N", default_value_t = 100)]
    concurrency: usize,
    /// Stop after sending N requests.
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "duration",
        conflicts_with = "duration"
    )]
    count: Option<u64>,
    /// Stop sending after SECS seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// At most R requests per second (default: as fast as answers come).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Print the summary as one JSON object on stdout (progress lines go to stderr).
    #[arg(long)]
    json: bool,
}

/// State shared by the workers.
struct Run {
    templates: Vec<RequestTemplate>,
    peer: PeerHandle,
    ids: SessionIds,
    origin_host: String,
    origin_realm: String,
    peer_realm: String,
    budget: Budget,
    current: Mutex<Stats>,
}

impl Run {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn worker(self: Arc<Self>) {
        loop {
            let session = self.ids.next_id();
            let vars = Vars {
                session: &session,
                origin_host: &self.origin_host,
                origin_realm: &self.origin_realm,
                peer_host: self.peer.origin_host(),
                peer_realm: &self.peer_realm,
            };
            for t in &self.templates {
                if !self.budget.claim() {
                    return;
                }
                self.budget.pace().await;
                let bytes = match t
                    .build(&vars)
                    .and_then(|b| b.encode().map_err(|e| e.to_string()))
                {
                    Ok(b) => b,
                    Err(e) => {
                        warn!(request = t.index, error = %e, "cannot build; stopping");
                        self.budget.stop();
                        return;
                    }
                };
                self.stats().requests += 1;
                let start = Instant::now();
                match self.peer.request_bytes(bytes).await {
                    Ok(a) => {
                        let ok = Message::decode(&a)
                            .ok()
                            .is_some_and(|m| is_expected(outcome(&m), None));
                        self.stats().record_answer(start.elapsed(), ok);
                    }
                    Err(e) => {
                        self.stats().failures += 1;
                        if matches!(e, NodeError::PeerDown(_)) || !self.peer.is_open() {
                            warn!(error = %e, "peer down: stopping the load");
                            self.budget.stop();
                            return;
                        }
                    }
                }
            }
        }
    }
}

impl LoadArgs {
    /// The options shared by every subcommand.
    pub fn common(&self) -> &Common {
        &self.common
    }
}

/// Runs the load generator.
pub async fn run(args: LoadArgs) -> anyhow::Result<Exit> {
    let templates = files::load_requests(&args.requests, Dictionary::standard())?;
    Budget::check_args(args.concurrency, args.rate, args.duration)?;
    let c = &args.common;
    let mut apps: Vec<u32> = templates.iter().map(|t| t.application_id).collect();
    apps.dedup();
    let cfg = c.node_config(c.application_ids(&apps)?)?;
    let responder = Responder::new(
        Vec::new(),
        Vec::new(),
        &c.origin_host,
        &c.origin_realm,
        if args.json {
            Output::Quiet
        } else {
            Output::Lines
        },
        c.validation(),
    );
    let node = Node::new(cfg, Arc::new(Handler(responder)));
    let addr = resolve(&args.connect).await?;
    let peer = match node.connect(addr).await {
        Ok(p) => p,
        Err(e) => {
            print::out(&format!("!! connection to {addr} failed: {e}"));
            return Ok(Exit::Error);
        }
    };
    let progress_out = |line: &str| {
        if args.json {
            eprintln!("{line}");
        } else {
            print::out(line);
        }
    };
    progress_out(&format!(
        "connected to {} ({addr}); concurrency {}, {}",
        peer.origin_host(),
        args.concurrency,
        match (args.count, args.duration) {
            (Some(n), _) => format!("{n} requests"),
            (None, Some(d)) => format!("{d} s"),
            _ => String::new(),
        }
    ));
    let start = Instant::now();
    let run = Arc::new(Run {
        templates,
        peer: peer.clone(),
        ids: SessionIds::new(&c.origin_host),
        origin_host: c.origin_host.clone(),
        origin_realm: c.origin_realm.clone(),
        peer_realm: peer.origin_realm().to_string(),
        budget: Budget::new(args.count, args.duration, args.rate, start),
        current: Mutex::new(Stats::new()),
    });
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(run.clone().worker()))
        .collect();
    let all_done = async {
        for w in workers {
            let _ = w.await;
        }
    };
    let total = report_until_done(
        start,
        &run.budget,
        all_done,
        || std::mem::take(&mut *run.stats()),
        progress_out,
    )
    .await;
    let elapsed = start.elapsed();
    node.shutdown().await;
    let summary = total.summary(elapsed);
    if args.json {
        print::out(&summary.json());
    } else {
        print::out(&summary.human());
    }
    Ok(if summary.errors == 0 && summary.answers > 0 {
        Exit::Ok
    } else {
        Exit::Failed
    })
}
