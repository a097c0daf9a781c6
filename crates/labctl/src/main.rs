//! labctl: runs the lab's demo scenarios with real processes and prints what happened.

mod demo_mbs;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use corelab_proto::presence::v1 as ppb;
use corelab_proto::presence::v1::presence_control_client::PresenceControlClient;
use corelab_proto::ue::v1 as upb;
use corelab_proto::ue::v1::ue_control_client::UeControlClient;
use labctl::wait::until;
use labctl::{Node, bin_path, free_port};

#[derive(Parser)]
#[command(
    version,
    about = "Runs corelab's demo scenarios with the real node binaries"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A demo scenario: `labctl demo presence`, `labctl demo mbs`.
    #[command(subcommand)]
    Demo(Demo),
    /// The same as `labctl demo presence` (its first spelling).
    DemoPresence(PresenceArgs),
    /// Start every node of a topology file (default deploy/lab.toml) as local processes on the
    /// embedded store, wait for each, and print where each listens (docs/lab.md).
    Up {
        #[arg(default_value = "deploy/lab.toml")]
        topology: PathBuf,
    },
    /// Stop the lab `up` started.
    Down {
        /// The lab's directory (`[lab] dir` of the topology).
        #[arg(long, default_value = "var/lab")]
        dir: PathBuf,
    },
    /// Each node's process, readiness and counts; exits 1 when a node is not ready.
    Status {
        /// The lab's directory (`[lab] dir` of the topology).
        #[arg(long, default_value = "var/lab")]
        dir: PathBuf,
    },
    /// Capture the protocol messages of running nodes (their wire tap) into a pcapng file,
    /// optionally one flow (Call-ID, Session-Id or SUPI): docs/capture.md.
    Capture(labctl::capture::CaptureArgs),
}

#[derive(Subcommand)]
enum Demo {
    /// IMS presence: a failed NOTIFY is restored by a MESSAGE and a re-SUBSCRIBE; repeated
    /// failures past the threshold sign the watcher out and alarm the administrator.
    Presence(PresenceArgs),
    /// 5G MBS (issue 12, seed 000): a UE that closed its MBS app out of coverage lists its
    /// remaining QFIs at mobility registration; session-manager releases the MBS QoS flows and
    /// the TMGI and stops paging. Then the same with the capability off: paging goes on.
    /// Exits 1 when a step fails.
    Mbs {
        /// session-manager's store URL (default: SQLite in a temporary directory).
        #[arg(long)]
        store_url: Option<String>,
    },
}

#[derive(clap::Args)]
struct PresenceArgs {
    /// Store URL (default: SQLite in a fresh directory under var/).
    #[arg(long)]
    store_url: Option<String>,
    /// RFC 3261 T1 in ms (Timer F = 64·T1).
    #[arg(long, default_value_t = 100)]
    t1_ms: u64,
}

const LIMIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Demo(Demo::Presence(a)) | Command::DemoPresence(a) => {
            demo_presence(a.store_url, a.t1_ms).await
        }
        Command::Up { topology } => labctl::lab::up(&topology).await.map(|_| ()),
        Command::Down { dir } => labctl::lab::down(&dir).await,
        Command::Status { dir } => {
            if labctl::lab::status(&dir).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Capture(args) => labctl::capture::capture(args).await.map(|_| ()),
        Command::Demo(Demo::Mbs { store_url }) => {
            if demo_mbs::demo_mbs(store_url).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}

fn step(text: &str) {
    println!("\n=== {text}");
}

async fn demo_presence(store_url: Option<String>, t1_ms: u64) -> anyhow::Result<()> {
    let dir = std::env::current_dir()?
        .join("var")
        .join(format!("demo-presence-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store_url = store_url.unwrap_or_else(|| format!("sqlite://{}/presence.db", dir.display()));
    let port = free_port()?;
    let config = dir.join("presence.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nlisten = \"127.0.0.1:{port}\"\nt1_ms = {t1_ms}\n[recovery]\nthreshold = 2\non_threshold = \"deregister\"\n"
        ),
    )?;
    step(&format!(
        "presence-server on udp/tcp 127.0.0.1:{port}, store {store_url}, Timer F {} ms, threshold 2 MESSAGEs",
        64 * t1_ms
    ));
    let server = Node::start(
        "presence-server",
        &bin_path("presence-server")?,
        &[
            "--config".into(),
            config.display().to_string(),
            "--store-url".into(),
            store_url,
        ],
        &dir,
        false,
    )
    .await?;
    let mut ctl = PresenceControlClient::connect(server.grpc_uri()).await?;
    let proxy = format!("sip:127.0.0.1:{port}");
    let ue = |user: &str, extra: &[&str]| {
        let mut args: Vec<String> = [
            "--aor",
            &format!("sip:{user}@lab.example"),
            "--proxy",
            &proxy,
            "--t1-ms",
            "100",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    step(
        "bob registers and publishes 'open'; alice registers and watches bob (presence) and herself (reg)",
    );
    let bob_node = Node::start(
        "bob",
        &bin_path("ue-emulator")?,
        &ue("bob", &["--publish", "open", "--note", "at desk"]),
        &dir,
        true,
    )
    .await?;
    let alice_node = Node::start(
        "alice",
        &bin_path("ue-emulator")?,
        &ue("alice", &["--buddy", "sip:bob@lab.example", "--watch-reg"]),
        &dir,
        true,
    )
    .await?;
    let mut bob = UeControlClient::connect(bob_node.grpc_uri()).await?;
    let mut alice = UeControlClient::connect(alice_node.grpc_uri()).await?;
    let watcher = alice.clone();
    let sees = |basic: &'static str, messages: u32| {
        let alice = watcher.clone();
        move || {
            let mut a = alice.clone();
            async move {
                let v = a.get_view(upb::Empty {}).await.ok()?.into_inner();
                let ok = v.buddies.iter().any(|b| b.basic == basic)
                    && v.failure_messages_received >= messages
                    && v.subscriptions
                        .iter()
                        .any(|s| s.event == "presence" && s.state == "active");
                ok.then_some(v)
            }
        }
    };
    until(LIMIT, "alice to see bob open", sees("open", 0)).await?;

    step(
        "alice will ignore her next NOTIFY; bob publishes 'closed' (the server's Timer F will fire)",
    );
    alice
        .inject_notify_fault(upb::NotifyFault {
            mode: "ignore".into(),
            status: 0,
            count: 1,
        })
        .await?;
    bob.publish(upb::PublishRequest {
        basic: "closed".into(),
        note: String::new(),
    })
    .await?;
    let v = until(
        LIMIT,
        "alice to re-subscribe and see bob closed",
        sees("closed", 1),
    )
    .await?;
    step(&format!(
        "restored: alice got {} subscription-failure MESSAGE, re-subscribed, and sees bob {}",
        v.failure_messages_received,
        v.buddies.first().map(|b| b.basic.as_str()).unwrap_or("?")
    ));

    step(
        "alice now answers every NOTIFY with 500; bob publishes 'open' — failures until the threshold",
    );
    alice
        .inject_notify_fault(upb::NotifyFault {
            mode: "reject".into(),
            status: 500,
            count: 100,
        })
        .await?;
    bob.publish(upb::PublishRequest {
        basic: "open".into(),
        note: "back".into(),
    })
    .await?;
    let alarms = until(LIMIT, "an alarm", || {
        let mut c = ctl.clone();
        async move {
            let a = c.list_alarms(ppb::Empty {}).await.ok()?.into_inner().alarms;
            (!a.is_empty()).then_some(a)
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    step("summary");
    println!(
        "registrations now: {:?}",
        regs.iter().map(|r| r.aor.as_str()).collect::<Vec<_>>()
    );
    for a in &alarms {
        println!("ALARM #{} {} for {}: {}", a.id, a.kind, a.aor, a.detail);
    }
    println!(
        "alarms are also at {} ; logs and store in {}",
        server.admin_url("/alarms"),
        dir.display()
    );
    for node in [alice_node, bob_node, server] {
        node.stop().await?;
    }
    Ok(())
}
