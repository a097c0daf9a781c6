//! `diameter-peer check`: read request/answer files without connecting, build
//! each message, validate it with the dictionary (endpoint role) and print it
//! decoded by name. For writing and reviewing message files.

use std::path::PathBuf;

use clap::Args;
use corelab_diameter::{Dictionary, Message, Role, validate};

use crate::answers;
use crate::cli::Exit;
use crate::files::{self, Vars};
use crate::print;

/// Build and validate the messages of files without sending them.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Requests file(s) (.toml, .json, .yaml): each request is built and validated.
    #[arg(long, value_name = "FILE")]
    requests: Vec<PathBuf>,
    /// Answers file: parsed, and each answer built for the requests it matches and validated.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Origin-Host used to build the messages.
    #[arg(long, value_name = "H", default_value = "pgw.example.com")]
    origin_host: String,
    /// Origin-Realm used to build the messages.
    #[arg(long, value_name = "R", default_value = "example.com")]
    origin_realm: String,
    /// Print only one line per message.
    #[arg(short, long)]
    quiet: bool,
}

/// Runs the check.
pub fn run(args: CheckArgs) -> anyhow::Result<Exit> {
    if args.requests.is_empty() && args.answers.is_none() {
        anyhow::bail!("check: give --requests FILE and/or --answers FILE");
    }
    let dict = Dictionary::standard();
    let answer_templates = match &args.answers {
        Some(p) => files::load_answers(p, dict)?,
        None => Vec::new(),
    };
    let session = format!("{};1;1", args.origin_host);
    let vars = Vars {
        session: &session,
        origin_host: &args.origin_host,
        origin_realm: &args.origin_realm,
        peer_host: "peer.example.net",
        peer_realm: "example.net",
    };
    let mut all_ok = true;
    for path in &args.requests {
        for t in files::load_requests(path, dict)? {
            let label = format!("{}: request {}", path.display(), t.index);
            let bytes = t
                .build(&vars)
                .and_then(|b| b.encode().map_err(|e| e.to_string()))
                .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
            let msg = Message::decode(&bytes)
                .map_err(|e| anyhow::anyhow!("{label}: does not decode: {e:?}"))?;
            let verdict = match validate(&msg, dict, Role::Endpoint) {
                Ok(()) => "valid".to_string(),
                Err(e) => {
                    all_ok = false;
                    format!("INVALID: {} {}", e.code.0, e.reason)
                }
            };
            print::message(&format!("{label} ({verdict}):"), &bytes, !args.quiet);
            if args.answers.is_some() {
                let t = answers::select(&answer_templates, &msg);
                let a = answers::build(&msg, t, "peer.example.net", "example.net")
                    .map_err(|e| anyhow::anyhow!("{label}: answer: {e}"))?;
                let am = Message::decode(&a)
                    .map_err(|e| anyhow::anyhow!("{label}: answer does not decode: {e:?}"))?;
                let verdict = match validate(&am, dict, Role::Endpoint) {
                    Ok(()) => "valid".to_string(),
                    Err(e) => {
                        all_ok = false;
                        format!("INVALID: {} {}", e.code.0, e.reason)
                    }
                };
                let which = t.map_or("default 2001".to_string(), |t| {
                    format!("answer {}", t.index)
                });
                print::message(
                    &format!("  its answer ({which}, {verdict}):"),
                    &a,
                    !args.quiet,
                );
            }
        }
    }
    if args.requests.is_empty() {
        print::out(&format!("{} answers read", answer_templates.len()));
    }
    Ok(if all_ok { Exit::Ok } else { Exit::Failed })
}
