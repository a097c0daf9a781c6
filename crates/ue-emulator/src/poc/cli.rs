//! `ue-emulator poc`: PoC terminals (one per `--user`) joining group sessions through their
//! participating function, driven by `--step` flags and by the gRPC control service
//! (`corelab.ue.v1.PocControl`).

use std::time::Duration;

use corelab_proto::ue::v1::poc_control_server::PocControlServer;
use corelab_runtime::boot;
use corelab_sip::advertise::Advertise;
use corelab_sip::node::{SipNode, SipNodeConfig, destination_of};
use corelab_sip::rsipstack::sip::Transport;
use corelab_sip::serve::ServeConfig;

use super::client::{PocClient, TerminalConfig};
use super::script::{self, Step};

/// The PoC mode's flags.
#[derive(Debug, clap::Args)]
pub struct PocArgs {
    /// Common node flags: --config (for [admin] [grpc] [log] [node]), --admin-listen,
    /// --grpc-listen, --log-format and --ready-file apply (no store).
    #[command(flatten)]
    pub node: corelab_runtime::cli::NodeArgs,
    /// The participating function (outbound proxy) the join INVITEs go to.
    #[arg(long, value_name = "URI", default_value = "sip:127.0.0.1:5080")]
    pub proxy: String,
    /// udp or tcp (SIP; RTP is UDP).
    #[arg(long, default_value = "udp")]
    pub transport: String,
    /// A terminal's public user identity (From, P-Asserted-Identity); repeat for several
    /// terminals in this process (terminal K is the K-th, 0-based).
    #[arg(long = "user", value_name = "URI", required = true)]
    pub users: Vec<String>,
    /// The group a join goes to when its step or command names none.
    #[arg(long, value_name = "URI", default_value = "sip:team@lab.example")]
    pub group: String,
    /// Local SIP address (port 0: any free port), shared by the terminals.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub sip_listen: String,
    /// Where peers reach us, host or host:port, for Via and Contact.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub sip_advertise: Option<String>,
    /// The address the terminals' RTP sockets bind (one free port each) and put in their SDP.
    #[arg(long, default_value = "127.0.0.1")]
    pub rtp_address: std::net::IpAddr,
    /// RFC 3261 T1 in ms for our transactions.
    #[arg(long, default_value_t = 500)]
    pub t1_ms: u64,
    /// A step, e.g. "join", "join group=sip:team@lab.example new_ids=true", "rtp packets=50",
    /// "wait-rtp min=1", "leave", "wait ms=200"; `ue=K` for one terminal (default: all at once),
    /// `expect=ok|fail|any|<status>`. Repeatable, run in order after start-up.
    #[arg(long = "step", value_name = "STEP")]
    pub steps: Vec<String>,
    /// Exit after the steps (status 1 if one did not end as expected) instead of serving.
    #[arg(long)]
    pub exit_after_steps: bool,
}

/// Run the PoC mode.
pub async fn run(args: PocArgs) -> anyhow::Result<()> {
    let Some(common) = crate::common_config(&args.node)? else {
        return Ok(());
    };
    let steps = (args.steps.iter())
        .map(|s| Step::parse_flag(s).map_err(|e| anyhow::anyhow!("--step: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let transport = match args.transport.as_str() {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => anyhow::bail!("--transport {other:?}: use udp or tcp"),
    };
    let mut proxy = destination_of(&args.proxy)
        .ok_or_else(|| anyhow::anyhow!("--proxy {:?} is not a SIP URI", args.proxy))?;
    proxy.r#type = Some(transport);
    for user in &args.users {
        anyhow::ensure!(
            corelab_sip::headers::uri_of(user).is_some_and(|u| u.contains('@')),
            "--user {user:?}: a SIP URI with a user part, e.g. sip:alice@a.lab"
        );
    }
    let listen = args
        .sip_listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--sip-listen {:?}: {e}", args.sip_listen))?;
    let advertise = (args.sip_advertise.as_deref())
        .map(Advertise::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--sip-advertise: {e}"))?;

    let boot = boot::start(|| {})?;
    let cancel = boot.cancel.clone();
    let (sip, incoming) = SipNode::start(
        &SipNodeConfig {
            listen,
            advertise,
            tcp: transport == Transport::Tcp,
            t1: Duration::from_millis(args.t1_ms),
            user_agent: format!("corelab ue-emulator {}", env!("CARGO_PKG_VERSION")),
            // The terminal owns its dialogs: it ACKs the 2xx itself, along the route set.
            auto_ack_2xx: false,
            ..SipNodeConfig::default()
        },
        cancel.child_token(),
    )
    .await?;
    let sip_addr = sip.addr;
    let terminals = (args.users.iter())
        .map(|user| TerminalConfig {
            user: user.clone(),
            group: args.group.clone(),
        })
        .collect();
    let client = PocClient::new(
        sip,
        proxy,
        transport,
        terminals,
        args.rtp_address,
        cancel.clone(),
    )
    .await?;
    let control = boot
        .serve_control(
            &common,
            None,
            axum::Router::new(),
            tonic::service::Routes::new(PocControlServer::new(client.clone())),
        )
        .await?;
    let inbound = tokio::spawn(super::inbound::run(
        client.clone(),
        incoming,
        ServeConfig::default(),
        cancel.clone(),
    ));
    boot::write_ready(
        common.node.ready_file.as_deref(),
        &[
            ("sip", sip_addr),
            ("admin", control.admin),
            ("grpc", control.grpc),
        ],
    )?;
    tracing::info!(sip = %sip_addr, admin = %control.admin, grpc = %control.grpc,
        terminals = client.len(), proxy = %args.proxy, "ue-emulator (PoC) ready");

    let script = async {
        let mut failure = None;
        if let Err(e) = script::run(&client, &steps).await {
            tracing::error!("{e}");
            failure = Some(e);
        }
        if args.exit_after_steps {
            cancel.cancel();
        }
        failure
    };
    let ((), failure) = tokio::join!(control.serve, script);
    let _ = inbound.await;
    match failure {
        Some(e) => anyhow::bail!(e),
        None => Ok(()),
    }
}
