//! diameter-peer: a command-line Diameter peer (RFC 6733 over TCP/TLS) for
//! tests and labs: `client`, `server`, `load` and `agent`. See
//! docs/diameter-peer.md.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use diameter_peer::cli::Exit;
use diameter_peer::{agent, check, client, load, server};

/// A command-line Diameter peer: client, server, load generator and agent.
/// Messages are written in TOML/JSON/YAML files with AVP names from the
/// dictionary (base, credit control, Gx/Gxx, Rx, S9); output is decoded by name.
#[derive(Parser, Debug)]
#[command(name = "diameter-peer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Connect, CER/CEA, send each request of a file and print the answers, DPR.
    /// Exit 0: every answer 2xxx (or --expect); 1: otherwise; 2: connection/CER/file error.
    Client(client::ClientArgs),
    /// Listen and answer requests from an answers file; prints `listening on ADDR` when ready.
    Server(server::ServerArgs),
    /// Send the requests of a file in a loop and report pairs/s and latency.
    Load(load::LoadArgs),
    /// Relay, proxy or redirect agent; prints `listening on ADDR` when ready.
    Agent(agent::AgentArgs),
    /// Build and validate the messages of request/answer files without sending
    /// them; print them decoded. Exit 0: all valid; 1: some invalid; 2: file error.
    Check(check::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("diameter-peer: cannot start the runtime: {e}");
            return Exit::Error.into();
        }
    };
    let result = rt.block_on(async move {
        match cli.cmd {
            Cmd::Client(a) => {
                a.common().init_logging();
                client::run(a).await
            }
            Cmd::Server(a) => {
                a.common().init_logging();
                server::run(a).await
            }
            Cmd::Load(a) => {
                a.common().init_logging();
                load::run(a).await
            }
            Cmd::Agent(a) => {
                a.common().init_logging();
                agent::run(a).await
            }
            Cmd::Check(a) => check::run(a),
        }
    });
    rt.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("diameter-peer: error: {e:#}");
            Exit::Error.into()
        }
    }
}
