//! ue-emulator: emulated UEs: the IMS client of the presence scenario (no subcommand), and the
//! 5G UEs behind one gNB on the N1 link (`ue-emulator 5g`), and PoC terminals (`ue-emulator poc`)
//! (docs/ue-emulator.md).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use corelab_proto::ue::v1::ue_control_server::UeControlServer;
use corelab_runtime::{admin, grpc, ready, shutdown};
use corelab_sip::advertise::Advertise;
use corelab_sip::body::pidf::Basic;
use corelab_sip::node::{SipNode, SipNodeConfig, destination_of};
use corelab_sip::rsipstack::sip::{Host, Transport};
use corelab_sip::rsipstack::transport::SipAddr;
use corelab_sip::serve::ServeConfig;
use corelab_ue_emulator::control::parse_fault;
use corelab_ue_emulator::ims::client::ClientConfig;
use corelab_ue_emulator::ims::report_sources::ReportSources;
use corelab_ue_emulator::ims::state::{DialogLimits, Fault};
use corelab_ue_emulator::ims::{ImsClient, inbound};

/// Emulated UE: an IMS client that registers, watches its buddies' presence, answers NOTIFYs
/// (or fails them on purpose), and re-subscribes when the server says a subscription failed.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Args {
    /// Another mode than the IMS client.
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Common node flags. Only --config (for [admin] [grpc] [log] [node]), --admin-listen,
    /// --grpc-listen, --log-format and --ready-file apply: the emulator keeps no store.
    #[command(flatten)]
    node: corelab_runtime::cli::NodeArgs,
    /// Public user identity.
    #[arg(long, default_value = "sip:alice@lab.example")]
    aor: String,
    /// Registrar / outbound proxy (P-CSCF, or the presence server in direct mode).
    #[arg(long, default_value = "sip:127.0.0.1:5060")]
    proxy: String,
    /// Local SIP address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    sip_listen: String,
    /// Where peers reach us, host or host:port (port: the bound one), for Via and Contact.
    #[arg(long, value_name = "HOST[:PORT]", env = "CORELAB_SIP__ADVERTISE")]
    sip_advertise: Option<String>,
    /// udp or tcp.
    #[arg(long, default_value = "udp")]
    transport: String,
    /// A buddy to watch (presence); repeat for several.
    #[arg(long = "buddy")]
    buddies: Vec<String>,
    /// Also watch our own registration state (reg, RFC 3680).
    #[arg(long)]
    watch_reg: bool,
    #[arg(long, default_value_t = 3600)]
    register_expires: u32,
    #[arg(long, default_value_t = 3600)]
    subscribe_expires: u32,
    /// Publish this basic status (open/closed) after registering.
    #[arg(long)]
    publish: Option<String>,
    /// Note to publish with --publish.
    #[arg(long, default_value = "")]
    note: String,
    /// Make the next K NOTIFYs fail.
    #[arg(long, default_value_t = 0)]
    fail_notify: u32,
    /// How they fail: ignore (no answer) or reject.
    #[arg(long, default_value = "ignore")]
    fail_mode: String,
    /// Status for --fail-mode reject.
    #[arg(long, default_value_t = 500)]
    fail_status: u32,
    /// RFC 3261 T1 in ms for our own transactions.
    #[arg(long, default_value_t = 500)]
    t1_ms: u64,
    /// Also accept subscription-failure reports from this address (IP:PORT, or IP for any
    /// port), beside the proxy's: the IMS core, other presence-server replicas. Repeatable.
    #[arg(long = "report-from", value_name = "ADDR")]
    report_from: Vec<String>,
    /// How long a terminated subscription dialog is kept (view, late retransmissions, a copy
    /// of its failure report), in ms.
    #[arg(long, default_value_t = 120_000)]
    dialog_linger_ms: u64,
    /// At most this many terminated dialogs are kept; the oldest go first.
    #[arg(long, default_value_t = 64)]
    max_ended_dialogs: usize,
    /// Incoming requests of one dialog or TCP connection, running and waiting; past it 503.
    #[arg(long, default_value_t = ServeConfig::default().max_per_key)]
    serve_max_per_key: usize,
    /// Incoming requests in all, running and waiting; past it 503.
    #[arg(long, default_value_t = ServeConfig::default().max_total)]
    serve_max_total: usize,
}

#[derive(clap::Subcommand)]
enum Mode {
    /// 5G UEs (NAS-5GS) behind one gNB on the N1 link to session-manager.
    #[command(name = "5g", alias = "fivegs")]
    FiveGs(corelab_ue_emulator::fivegs::cli::FiveGsArgs),
    /// PoC terminals joining group sessions through their participating function.
    Poc(corelab_ue_emulator::poc::cli::PocArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = Args::parse();
    let result = match args.mode.take() {
        Some(Mode::FiveGs(args)) => corelab_ue_emulator::fivegs::cli::run(args).await,
        Some(Mode::Poc(args)) => corelab_ue_emulator::poc::cli::run(args).await,
        None => run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ue-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Some(common) = corelab_ue_emulator::common_config(&args.node)? else {
        return Ok(());
    };
    let prometheus = admin::install_metrics()?;
    let transport = match args.transport.as_str() {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => anyhow::bail!("--transport {other:?}: use udp or tcp"),
    };
    let mut proxy = destination_of(&args.proxy)
        .ok_or_else(|| anyhow::anyhow!("--proxy {:?} is not a SIP URI", args.proxy))?;
    proxy.r#type = Some(transport);
    let fault = match args.fail_notify {
        0 => Fault::default(),
        n => Fault {
            mode: Some(
                parse_fault(&args.fail_mode, args.fail_status)
                    .map_err(|e| anyhow::anyhow!("--fail-mode: {e}"))?,
            ),
            remaining: n,
        },
    };
    let publish = args
        .publish
        .as_deref()
        .map(|b| {
            Basic::parse(b).ok_or_else(|| anyhow::anyhow!("--publish {b:?}: use open or closed"))
        })
        .transpose()?;
    let report_sources = report_sources(&proxy, &args.report_from).await?;
    let serve_config = ServeConfig {
        max_per_key: args.serve_max_per_key.max(1),
        max_total: args.serve_max_total.max(1),
        ..ServeConfig::default()
    };
    let listen = args
        .sip_listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--sip-listen {:?}: {e}", args.sip_listen))?;
    let advertise = args
        .sip_advertise
        .as_deref()
        .map(Advertise::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--sip-advertise: {e}"))?;

    let cancel = shutdown::on_signal();
    let (sip, incoming) = SipNode::start(
        &SipNodeConfig {
            listen,
            advertise,
            tcp: transport == Transport::Tcp,
            t1: Duration::from_millis(args.t1_ms),
            user_agent: format!("corelab ue-emulator {}", env!("CARGO_PKG_VERSION")),
            ..SipNodeConfig::default()
        },
        cancel.child_token(),
    )
    .await?;
    let name = args
        .aor
        .trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or("ue")
        .to_string();
    let client = ImsClient::new(
        ClientConfig {
            aor: args.aor.clone(),
            proxy,
            transport,
            register_expires: args.register_expires,
            subscribe_expires: args.subscribe_expires,
            buddies: args.buddies.clone(),
            watch_reg: args.watch_reg,
            name,
            report_sources,
            dialog_limits: DialogLimits {
                linger: Duration::from_millis(args.dialog_linger_ms),
                max_ended: args.max_ended_dialogs,
            },
        },
        sip.clone(),
    );
    client.state().fault = fault;

    let (admin_addr, admin_fut) = admin::serve(
        common.admin.listen,
        None,
        prometheus,
        axum::Router::new(),
        cancel.clone(),
    )
    .await?;
    let routes = tonic::service::Routes::new(UeControlServer::new(client.clone()));
    let (grpc_addr, grpc_fut) = grpc::serve(common.grpc.listen, routes, cancel.clone()).await?;
    let inbound_task = tokio::spawn(inbound::run(
        client.clone(),
        incoming,
        serve_config,
        cancel.clone(),
    ));

    client.start().await;
    if let Some(basic) = publish {
        client.publish(basic, &args.note).await;
    }
    if let Some(path) = &common.node.ready_file {
        ready::write(
            path,
            &BTreeMap::from([
                ("sip".to_string(), sip.addr.to_string()),
                ("admin".to_string(), admin_addr.to_string()),
                ("grpc".to_string(), grpc_addr.to_string()),
            ]),
        )?;
    }
    tracing::info!(aor = %args.aor, sip = %sip.addr, admin = %admin_addr, grpc = %grpc_addr, "ue-emulator ready");
    let refresher = {
        let client = client.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move { client.refresh_loop(cancel).await })
    };
    tokio::join!(admin_fut, grpc_fut);
    let _ = tokio::join!(inbound_task, refresher);
    Ok(())
}

/// The proxy's addresses (a host name resolved now) plus every `--report-from`.
async fn report_sources(proxy: &SipAddr, extra: &[String]) -> anyhow::Result<ReportSources> {
    let mut sources = ReportSources::default();
    let port = proxy.addr.port.map_or(5060, |p| p.value().to_owned());
    match &proxy.addr.host {
        Host::IpAddr(ip) => sources.addrs.push((*ip, port).into()),
        Host::Domain(name) => {
            let name = name.to_string();
            let addrs = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|e| anyhow::anyhow!("--proxy {name}: cannot resolve ({e}); needed to accept subscription-failure reports only from it"))?;
            sources.addrs.extend(addrs);
        }
    }
    for value in extra {
        sources
            .add(value)
            .map_err(|e| anyhow::anyhow!("--report-from {e}"))?;
    }
    Ok(sources)
}
