//! Helpers for the scenario tests: a presence lab (presence-server plus UEs as real processes)
//! on SQLite or on a throwaway PostgreSQL, and raw SIP over UDP for the bad-input paths.

use std::path::PathBuf;
use std::time::Duration;

use corelab_proto::presence::v1::presence_control_client::PresenceControlClient;
use corelab_proto::ue::v1::ue_control_client::UeControlClient;
use labctl::{Node, bin_path};
use tonic::transport::Channel;

pub use labctl::wait::until;

pub use labctl::http;
pub mod mbs_lab;
pub mod poc_lab;

/// The store a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store URL for one test: a SQLite file in `dir`, or a fresh database on the PostgreSQL
/// server named by `CORELAB_TEST_PG_URL`. Asking for PostgreSQL without that variable is an
/// error, never a silent pass: every PostgreSQL test is `#[ignore = "needs PostgreSQL: …"]`, so
/// a plain `cargo test` reports it "ignored", and running it (`--include-ignored`, as
/// `scripts/test.sh` does after starting a throwaway server) means asking for PostgreSQL.
pub async fn store_url(backend: Backend, dir: &std::path::Path) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}/presence.db", dir.display())),
        Backend::Postgres => postgres_database().await,
    }
}

/// A fresh, empty database on the server of `CORELAB_TEST_PG_URL`; its URL.
pub async fn postgres_database() -> anyhow::Result<String> {
    let Ok(base) = std::env::var("CORELAB_TEST_PG_URL") else {
        anyhow::bail!(
            "CORELAB_TEST_PG_URL is not set: this test runs on PostgreSQL \
             (bash scripts/test.sh starts a throwaway server and sets it)"
        );
    };
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!(
        "corelab_t_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let mut conn = sqlx::AnyConnection::connect(&base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let (prefix, _) = base.rsplit_once('/').unwrap_or((&base, ""));
    Ok(format!("{prefix}/{name}"))
}

/// A running presence lab.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub server: Option<Node>,
    pub sip_port: u16,
    pub store_url: String,
    pub config: String,
    pub ues: Vec<Node>,
}

/// presence-server config for tests: fast timers (T1 50 ms: Timer F after 3.2 s).
pub fn config(sip_port: u16, extra: &str) -> String {
    format!(
        "[sip]\nlisten = \"127.0.0.1:{sip_port}\"\nt1_ms = 50\n[subscription]\nmin_expires = 2\nsweep_interval_ms = 200\n{extra}\n"
    )
}

impl Lab {
    /// Start presence-server with `extra` TOML (e.g. a `[recovery]` section) on a new store
    /// (see [`store_url`]).
    pub async fn start(backend: Backend, extra: &str) -> anyhow::Result<Lab> {
        let dir = tempfile::tempdir()?;
        let store_url = store_url(backend, dir.path()).await?;
        Lab::start_on(dir, store_url, extra).await
    }

    /// Start presence-server with `extra` TOML on the store at `store_url` (which other nodes
    /// may share), keeping its files in `dir`.
    pub async fn start_on(
        dir: tempfile::TempDir,
        store_url: String,
        extra: &str,
    ) -> anyhow::Result<Lab> {
        let sip_port = labctl::free_port()?;
        let mut lab = Lab {
            dir,
            server: None,
            sip_port,
            store_url,
            config: config(sip_port, extra),
            ues: Vec::new(),
        };
        lab.start_server().await?;
        Ok(lab)
    }

    pub async fn start_server(&mut self) -> anyhow::Result<()> {
        let node = self
            .start_replica("presence-server", &self.config.clone())
            .await?;
        self.server = Some(node);
        Ok(())
    }

    /// Another presence-server process named `name` on the lab's store, with `config` (e.g.
    /// [`config`] with another SIP port): a replica.
    pub async fn start_replica(&self, name: &str, config: &str) -> anyhow::Result<Node> {
        let cfg = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&cfg, config)?;
        Node::start(
            name,
            &bin_path("presence-server")?,
            &[
                "--config".into(),
                cfg.display().to_string(),
                "--store-url".into(),
                self.store_url.clone(),
            ],
            self.dir.path(),
            false,
        )
        .await
    }

    pub fn server(&self) -> &Node {
        self.server.as_ref().expect("server running")
    }

    pub async fn control(&self) -> anyhow::Result<PresenceControlClient<Channel>> {
        Ok(PresenceControlClient::connect(self.server().grpc_uri()).await?)
    }

    /// Start a UE (`ue-emulator`) registering directly with the server.
    pub async fn ue(&mut self, user: &str, args: &[&str]) -> anyhow::Result<Ue> {
        self.ue_via(user, self.sip_port, args).await
    }

    /// Start a UE whose proxy is the presence-server (or replica) on SIP port `port`.
    pub async fn ue_via(&mut self, user: &str, port: u16, args: &[&str]) -> anyhow::Result<Ue> {
        let mut all: Vec<String> = vec![
            "--aor".into(),
            format!("sip:{user}@lab.example"),
            "--proxy".into(),
            format!("sip:127.0.0.1:{port}"),
            "--t1-ms".into(),
            "50".into(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let node = Node::start(
            user,
            &bin_path("ue-emulator")?,
            &all,
            self.dir.path(),
            false,
        )
        .await?;
        let client = UeControlClient::connect(node.grpc_uri()).await?;
        self.ues.push(node);
        Ok(client)
    }

    /// What a UE printed on stdout so far (for failure messages).
    pub fn transcript(&self, user: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{user}.out"))).unwrap_or_default()
    }

    pub fn server_log(&self) -> PathBuf {
        self.dir.path().join("presence-server.log")
    }
}

/// A UE's control client.
pub type Ue = UeControlClient<Channel>;

/// What a UE sees now (its gRPC `GetView`).
pub async fn view(ue: &mut Ue) -> corelab_proto::ue::v1::View {
    ue.get_view(corelab_proto::ue::v1::Empty {})
        .await
        .expect("GetView")
        .into_inner()
}

/// The basic status a view shows for buddy `uri` (`""` when it has none).
pub fn buddy(view: &corelab_proto::ue::v1::View, uri: &str) -> String {
    view.buddies
        .iter()
        .find(|b| b.uri == uri)
        .map(|b| b.basic.clone())
        .unwrap_or_default()
}

/// A 200 OK to a request a node sent us (NOTIFY, MESSAGE): its Via, From, To, Call-ID and CSeq
/// copied, compact forms included (RFC 3261 §8.2.6, §7.3.3).
pub fn ok_for(request: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    let head = request.split("\r\n\r\n").next().unwrap_or("");
    for line in head.lines().skip(1) {
        let name = line.split(':').next().unwrap_or("").trim();
        let name = name.to_ascii_lowercase();
        if ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"].contains(&name.as_str()) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// Send one raw SIP request over UDP from `from` to `to` and return the first response's text.
pub fn sip_udp_exchange(from: &str, to: &str, request: &str) -> anyhow::Result<String> {
    let socket = std::net::UdpSocket::bind(from)?;
    socket.set_read_timeout(Some(Duration::from_secs(3)))?;
    let local = socket.local_addr()?;
    let request = request.replace("{local}", &local.to_string());
    socket.send_to(request.as_bytes(), to)?;
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, _) = socket.recv_from(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with("SIP/2.0 1") {
            continue; // provisional
        }
        return Ok(text);
    }
}

/// Defines each `name => body` test twice, in modules `sqlite` and `postgres`: every
/// store-touching scenario runs on both backends (`body(Backend) -> anyhow::Result<()>`). The
/// PostgreSQL variant is `#[ignore]`d (see [`store_url`]): reported "ignored" by a plain
/// `cargo test`, run (and failing without `CORELAB_TEST_PG_URL`) with `--include-ignored`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() -> anyhow::Result<()> { $body($crate::Backend::Sqlite).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
            async fn $name() -> anyhow::Result<()> { $body($crate::Backend::Postgres).await })*
        }
    };
}

/// What a `labctl` run printed.
pub struct LabctlRun {
    pub success: bool,
    pub stdout: String,
    /// stdout and stderr together, for failure messages.
    pub all: String,
}

/// Run `labctl args` (in `dir` when given) to its end, killed after `limit`.
pub async fn labctl_run(
    args: &[&str],
    dir: Option<&std::path::Path>,
    limit: Duration,
) -> anyhow::Result<LabctlRun> {
    let mut cmd = tokio::process::Command::new(bin_path("labctl")?);
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .map_err(|_| anyhow::anyhow!("labctl {args:?} still running after {limit:?}"))??;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!(
        "{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(LabctlRun {
        success: out.status.success(),
        stdout,
        all,
    })
}

/// The verdict word of step `n` of a `labctl probe` report ("SHOWS" or "LACKS").
pub fn probe_step(report: &str, n: usize) -> &str {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(&format!("{n} ")))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("")
}
