//! `diameter-peer client`: connect, CER/CEA, send each request of a file in
//! order (waiting for each answer, following 3006 redirects), optionally
//! answer N requests from the server (RAR, ASR), then DPR/DPA.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use corelab_diameter::{Dictionary, Message};
use corelab_diameter_node::{Node, NodeError, PeerTarget};
use tracing::{info, warn};

use crate::answers::{is_expected, outcome};
use crate::cli::{Common, Exit, resolve};
use crate::files::{self, SessionIds, Vars};
use crate::print;
use crate::responder::{Handler, Output, Responder};

/// Send the requests of a file and print the answers.
#[derive(Args, Debug)]
pub struct ClientArgs {
    #[command(flatten)]
    common: Common,
    /// The peer (server or agent) to connect to.
    #[arg(long, value_name = "HOST:PORT")]
    connect: String,
    /// Requests file (.toml, .json, .yaml): sent in order, one `${session}` for the file.
    #[arg(long, value_name = "FILE")]
    requests: PathBuf,
    /// Result-Code (number or name) every answer must have; default: any 2xxx.
    #[arg(long, value_name = "RESULT_CODE")]
    expect: Option<String>,
    /// Also answer this many requests from the peer (RAR, ASR) before disconnecting.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "answers")]
    wait_requests: u64,
    /// Answers file for the peer's requests (default answer: 2001).
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// How long to wait for the --wait-requests requests after our last answer.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    wait_secs: u64,
}

/// Parses `--expect`: a number or a Result-Code name.
fn expected_code(s: &str) -> anyhow::Result<u32> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    Dictionary::standard()
        .avp_by_name("Result-Code")
        .and_then(|d| d.enum_value(s))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| anyhow::anyhow!("--expect {s:?}: not a number or a Result-Code name"))
}

impl ClientArgs {
    /// The options shared by every subcommand.
    pub fn common(&self) -> &Common {
        &self.common
    }
}

/// Runs the client.
pub async fn run(args: ClientArgs) -> anyhow::Result<Exit> {
    let dict = Dictionary::standard();
    let requests = files::load_requests(&args.requests, dict)?;
    let answers = match &args.answers {
        Some(p) => files::load_answers(p, dict)?,
        None => Vec::new(),
    };
    let expect = args.expect.as_deref().map(expected_code).transpose()?;
    let mut apps: Vec<u32> = Vec::new();
    for id in requests
        .iter()
        .map(|r| r.application_id)
        .chain(answers.iter().filter_map(|a| a.application_id))
    {
        if !apps.contains(&id) {
            apps.push(id);
        }
    }
    let c = &args.common;
    let mut cfg = c.node_config(c.application_ids(&apps)?)?;
    let addr = resolve(&args.connect).await?;
    // Routed requests go to the peer we connect to; 3006 answers are followed.
    cfg.routes = cfg.routes.default_route(PeerTarget::addr(addr));
    let responder = Responder::new(
        answers,
        Vec::new(),
        &c.origin_host,
        &c.origin_realm,
        Output::Full,
        c.validation(),
    );
    let node = Node::new(cfg, Arc::new(Handler(responder.clone())));

    let peer = match node.connect(addr).await {
        Ok(p) => p,
        Err(e) => {
            print::out(&format!("!! connection to {addr} failed: {e}"));
            return Ok(Exit::Error);
        }
    };
    match peer.cea() {
        Some(cea) => print::message(&format!("<< CEA from {addr}"), cea, true),
        None => print::out(&format!("<< CEA from {addr}: {}", peer.origin_host())),
    }

    let ids = SessionIds::new(&c.origin_host);
    let session = ids.next_id();
    let peer_realm = peer.origin_realm().to_string();
    let vars = Vars {
        session: &session,
        origin_host: &c.origin_host,
        origin_realm: &c.origin_realm,
        peer_host: peer.origin_host(),
        peer_realm: &peer_realm,
    };
    let mut all_ok = true;
    for t in &requests {
        let builder = t.build(&vars).map_err(|e| {
            anyhow::anyhow!("{}: request {}: {e}", args.requests.display(), t.index)
        })?;
        if c.verbose {
            let bytes = builder.encode().map_err(|e| anyhow::anyhow!("{e}"))?;
            print::message(&format!(">> send request {}", t.index), &bytes, true);
        } else {
            print::out(&format!(">> send request {}: {}", t.index, t.name));
        }
        match node.request(builder).await {
            Ok(answer) => {
                print::message(&format!("<< answer {}", t.index), &answer, true);
                let rc = Message::decode(&answer).ok().and_then(|m| outcome(&m));
                if !is_expected(rc, expect) {
                    all_ok = false;
                }
            }
            Err(NodeError::Answer(code)) => {
                print::out(&format!(
                    "!! request {}: not delivered: Result-Code {code} from this node",
                    t.index
                ));
                all_ok = false;
            }
            Err(e) => {
                print::out(&format!("!! request {}: no answer: {e}", t.index));
                all_ok = false;
            }
        }
    }

    if args.wait_requests > 0 {
        let n = args.wait_requests;
        let got = responder
            .wait_until(Duration::from_secs(args.wait_secs), |r| r.answered() >= n)
            .await;
        if got {
            info!(
                answered = responder.answered(),
                "answered the requests we waited for"
            );
        } else {
            warn!(
                answered = responder.answered(),
                wanted = n,
                "fewer requests than --wait-requests"
            );
            print::out(&format!(
                "!! answered {} of {n} requests from the peer within {}s",
                responder.answered(),
                args.wait_secs
            ));
            all_ok = false;
        }
    }
    // Answers counted are queued; the DPR follows them.
    node.shutdown().await;
    print::out("-- DPR sent, disconnected");
    Ok(if all_ok { Exit::Ok } else { Exit::Failed })
}

#[cfg(test)]
mod tests {
    use super::expected_code;

    #[test]
    fn expect_takes_numbers_and_names() {
        assert_eq!(expected_code("5030").unwrap(), 5030);
        assert_eq!(expected_code("DIAMETER_USER_UNKNOWN").unwrap(), 5030);
        assert!(expected_code("NOPE").is_err());
    }
}
