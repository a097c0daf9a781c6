//! `labctl capture`: subscribe to the wire tap of one or more running nodes (their gRPC control
//! port, `corelab.events.v1.WireTap`), print each message as one line, and write them as a
//! pcapng file that Wireshark or tshark opens (crates/wire-tap's `pcapng`; docs/capture.md).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use corelab_proto::events::v1 as pb;
use corelab_proto::events::v1::wire_tap_client::WireTapClient;
use corelab_wire_tap::pcapng;
use tokio::sync::mpsc;

/// What to capture, from where, and when to stop.
#[derive(clap::Args, Debug)]
pub struct CaptureArgs {
    /// A node's gRPC control address, `NAME=HOST:PORT` or `HOST:PORT` (repeat for several nodes).
    #[arg(long = "from", required = true)]
    pub from: Vec<String>,
    /// The pcapng file to write.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Only the SIP dialog / transaction with this Call-ID.
    #[arg(long)]
    pub call_id: Option<String>,
    /// Only the Diameter session with this Session-Id.
    #[arg(long)]
    pub session_id: Option<String>,
    /// Only the NAS messages of this UE (e.g. imsi-001010000000001).
    #[arg(long)]
    pub supi: Option<String>,
    /// Stop after this many seconds (default: at Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Stop after this many messages.
    #[arg(long)]
    pub count: Option<u64>,
    /// Print nothing per message (only the summary).
    #[arg(long)]
    pub quiet: bool,
}

fn target(spec: &str) -> (String, String) {
    match spec.split_once('=') {
        Some((name, addr)) => (name.to_string(), format!("http://{addr}")),
        None => (spec.to_string(), format!("http://{spec}")),
    }
}

/// Run a capture; returns the number of messages written.
pub async fn capture(args: CaptureArgs) -> anyhow::Result<u64> {
    let request = pb::SubscribeRequest {
        call_id: args.call_id.clone().unwrap_or_default(),
        session_id: args.session_id.clone().unwrap_or_default(),
        supi: args.supi.clone().unwrap_or_default(),
    };
    let (tx, mut rx) = mpsc::channel::<(String, pb::WireEvent)>(1024);
    for spec in &args.from {
        let (name, uri) = target(spec);
        let mut client = WireTapClient::connect(uri.clone())
            .await
            .map_err(|e| anyhow::anyhow!("--from {spec}: cannot reach {uri}: {e}"))?;
        let mut stream = client
            .subscribe(request.clone())
            .await
            .map_err(|e| anyhow::anyhow!("--from {spec}: {}", e.message()))?
            .into_inner();
        eprintln!("capture: subscribed to {name} ({uri})");
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(Some(event)) = stream.message().await {
                if tx.send((name.clone(), event)).await.is_err() {
                    return;
                }
            }
            eprintln!("capture: {name} ended its stream");
        });
    }
    drop(tx);
    let file = std::fs::File::create(&args.out)
        .map_err(|e| anyhow::anyhow!("--out {}: {e}", args.out.display()))?;
    let mut writer = pcapng::Writer::new(std::io::BufWriter::new(file))?;
    let deadline = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let stop = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    let mut written = 0u64;
    let mut lost = 0u64;
    let started = std::time::Instant::now();
    loop {
        let (node, event) = tokio::select! {
            () = &mut stop => break,
            next = rx.recv() => match next {
                Some(next) => next,
                None => break,
            },
        };
        lost += event.lost;
        let e = corelab_runtime::wire_tap::from_proto(&event);
        writer.push(&e)?;
        written += 1;
        if !args.quiet {
            let arrow = if event.direction() == pb::Direction::Sent {
                "->"
            } else {
                "<-"
            };
            let peer = if event.remote.is_empty() {
                "-"
            } else {
                &event.remote
            };
            println!(
                "{:>8.3}s {node:<16} {arrow} {peer:<22} {}",
                started.elapsed().as_secs_f64(),
                e.summary
            );
        }
        if args.count.is_some_and(|n| written >= n) {
            break;
        }
    }
    let packets = writer.packets();
    writer.finish()?.flush()?;
    println!(
        "capture: {written} messages ({packets} packets) from {} node(s) written to {}{}",
        args.from.len(),
        args.out.display(),
        if lost > 0 {
            format!("; {lost} lost (the capture fell behind)")
        } else {
            String::new()
        }
    );
    Ok(written)
}
