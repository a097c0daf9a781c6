//! The DRA and PCRF processes of the DRA tests (issue 10): `diameter-peer server` as a PCRF
//! answering every Gx/Gxx/Rx/S9 request 2001, and (from `labctl::dra`, shared with `labctl demo
//! dra`) `dra` started from a TOML config, its `GET /bindings` and metrics, the real `pcrf`,
//! `pcc-emulator run --scenario`. Shared by dra_bindings.rs, pcc_emulator.rs and
//! dra_embodiments.rs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use corelab_tests::{Backend, postgres_database, until};
use labctl::bin_path;
use tokio::process::{Child, Command};

#[allow(unused_imports)] // each test file uses some
pub use labctl::dra::{
    Dra, DraLab, NODES, Setup, connection_to, dra_config_in, json_array, metric, node_dir,
    run_scenario, start_node, start_pcrf,
};

/// A PCRF: `diameter-peer server` answering every Gx/Gxx/Rx/S9 request 2001.
pub struct Pcrf {
    pub host: String,
    pub addr: String,
    child: Child,
}

impl Pcrf {
    pub async fn start(dir: &Path, host: &str) -> anyhow::Result<Pcrf> {
        Pcrf::start_with(dir, host, &[]).await
    }

    /// With more `diameter-peer server` arguments (`--send-after-answer ...`).
    pub async fn start_with(dir: &Path, host: &str, extra: &[String]) -> anyhow::Result<Pcrf> {
        Pcrf::start_at(dir, host, "127.0.0.1:0", extra).await
    }

    /// Listening on `listen` (a PCRF back on its old address after a crash).
    pub async fn start_at(
        dir: &Path,
        host: &str,
        listen: &str,
        extra: &[String],
    ) -> anyhow::Result<Pcrf> {
        let out = dir.join(format!("{host}.out"));
        let _ = std::fs::remove_file(&out);
        let child = Command::new(bin_path("diameter-peer")?)
            .args([
                "server",
                "--origin-host",
                host,
                "--origin-realm",
                "lab",
                "--listen",
            ])
            .arg(listen)
            .arg("--answers")
            .arg(answers(dir)?)
            .args(extra)
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(dir.join(format!("{host}.log")))?)
            .kill_on_drop(true)
            .spawn()?;
        let addr = until(Duration::from_secs(20), "the PCRF listening", || {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            async move {
                text.lines()
                    .find_map(|l| l.strip_prefix("listening on "))
                    .map(|a| a.trim().to_string())
            }
        })
        .await?;
        Ok(Pcrf {
            host: host.into(),
            addr,
            child,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

pub fn answers(dir: &Path) -> anyhow::Result<PathBuf> {
    let p = dir.join("answers.toml");
    std::fs::write(
        &p,
        "[[answer]]\ncommand = \"Credit-Control\"\nresult_code = 2001\n\
         [[answer]]\ncommand = \"AA\"\nresult_code = 2001\n\
         [[answer]]\ncommand = \"Session-Termination\"\nresult_code = 2001\n\
         [[answer]]\ncommand = \"Re-Auth\"\nresult_code = 2001\n",
    )?;
    Ok(p)
}

pub fn dra_config(
    dir: &Path,
    store_url: &str,
    role: &str,
    mode: &str,
    pcrfs: &[&Pcrf],
    extra: &str,
) -> String {
    let pcrfs: Vec<(&str, &str)> = pcrfs
        .iter()
        .map(|p| (p.host.as_str(), p.addr.as_str()))
        .collect();
    dra_config_in(dir, store_url, role, mode, "lab", &pcrfs, extra)
}

pub async fn store_for(backend: Backend, dir: &Path) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}/dra.db", dir.display())),
        Backend::Postgres => postgres_database().await,
    }
}

/// The options every pcc-emulator subcommand that connects takes.
pub fn connection(dra: &Dra, mode: &str, ordering: &str, pcrfs: &[&Pcrf]) -> Vec<String> {
    let pcrfs: Vec<(&str, &str)> = pcrfs
        .iter()
        .map(|p| (p.host.as_str(), p.addr.as_str()))
        .collect();
    connection_to(dra, mode, ordering, &pcrfs)
}

/// The four-node lab (`labctl::dra::DraLab`) in `dir` on `backend`, one store per node.
pub async fn start_lab(backend: Backend, dir: &Path, setup: Setup) -> anyhow::Result<DraLab> {
    let mut stores = Vec::new();
    for name in NODES {
        stores.push(store_for(backend, &node_dir(dir, name)?).await?);
    }
    let stores: [String; 4] = stores
        .try_into()
        .map_err(|_| anyhow::anyhow!("one store per node"))?;
    DraLab::start(dir, stores, setup).await
}

pub const IMSI: &str = "001010000000001";

/// One request of `diameter-peer client` (a PCC client), as TOML.
pub fn ccr(app: &str, session: &str, request_type: &str, number: u32, extra: &str) -> String {
    format!(
        "[[request]]\ncommand = \"Credit-Control\"\napplication = \"{app}\"\navps = [\n\
         {{ name = \"Session-Id\", value = \"{session}\" }},\n\
         {{ name = \"Destination-Realm\", value = \"lab\" }},\n\
         {{ name = \"CC-Request-Type\", value = \"{request_type}\" }},\n\
         {{ name = \"CC-Request-Number\", value = {number} }},\n{extra}]\n"
    )
}

/// The UE's keys (TS 29.213 §7): NAI, IPv4 address, APN.
pub fn ue_keys(ip: &str) -> String {
    ue_keys_of(IMSI, ip)
}

/// The keys of the UE `imsi`.
pub fn ue_keys_of(imsi: &str, ip: &str) -> String {
    format!(
        "{{ name = \"Subscription-Id\", value = [\n\
           {{ name = \"Subscription-Id-Type\", value = \"END_USER_IMSI\" }},\n\
           {{ name = \"Subscription-Id-Data\", value = \"{imsi}\" }} ] }},\n\
         {{ name = \"Framed-IP-Address\", ip = \"{ip}\" }},\n\
         {{ name = \"Called-Station-Id\", value = \"internet\" }},\n"
    )
}

/// Sends `requests` from a client `origin_host` through the DRA at `dra`; the client's exit
/// status (0: every answer was `expect`, or 2xxx; it follows a 3006 to the PCRF it names).
pub async fn client(
    dir: &Path,
    origin_host: &str,
    dra: &str,
    requests: &str,
    expect: Option<&str>,
) -> anyhow::Result<i32> {
    client_answering(dir, origin_host, dra, requests, expect, 0).await
}

/// As [`client`], and the client also answers `wait` requests the PCRF sends it (RAR) through
/// the DRA.
pub async fn client_answering(
    dir: &Path,
    origin_host: &str,
    dra: &str,
    requests: &str,
    expect: Option<&str>,
    wait: u32,
) -> anyhow::Result<i32> {
    let n = std::fs::read_dir(dir)?.count();
    let file = dir.join(format!("req-{n}.toml"));
    std::fs::write(&file, requests)?;
    let mut cmd = Command::new(bin_path("diameter-peer")?);
    cmd.args([
        "client",
        "--origin-host",
        origin_host,
        "--origin-realm",
        "lab",
        "--connect",
        dra,
    ])
    .arg("--requests")
    .arg(&file)
    .stdout(std::fs::File::create(dir.join(format!("req-{n}.out")))?)
    .stderr(std::fs::File::create(dir.join(format!("req-{n}.log")))?);
    if let Some(e) = expect {
        cmd.args(["--expect", e]);
    }
    if wait > 0 {
        cmd.args(["--wait-requests", &wait.to_string(), "--answers"])
            .arg(answers(dir)?);
    }
    let status = tokio::time::timeout(Duration::from_secs(30), cmd.status()).await??;
    Ok(status.code().unwrap_or(-1))
}
