//! The DRA and PCRF processes of the DRA tests (issue 10): `dra` started from a TOML config,
//! `diameter-peer server` as a PCRF answering every Gx/Gxx/Rx/S9 request 2001, and reading the
//! DRA's `GET /bindings` and metrics; the real `pcrf`; `pcc-emulator run --scenario`. Shared by
//! dra_bindings.rs, pcc_emulator.rs and dra_embodiments.rs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use corelab_tests::{Backend, postgres_database, until};
use labctl::{Node, bin_path};
use serde_json::Value;
use tokio::process::{Child, Command};

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
        let out = dir.join(format!("{host}.out"));
        let child = Command::new(bin_path("diameter-peer")?)
            .args([
                "server",
                "--origin-host",
                host,
                "--origin-realm",
                "lab",
                "--listen",
            ])
            .arg("127.0.0.1:0")
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

pub struct Dra {
    pub node: Node,
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

/// [`dra_config`] in `realm` (origin_host `{role}dra.{realm}`), in front of PCRFs given as
/// (host, address): the real `pcrf` as well as `diameter-peer`.
pub fn dra_config_in(
    dir: &Path,
    store_url: &str,
    role: &str,
    mode: &str,
    realm: &str,
    pcrfs: &[(&str, &str)],
    extra: &str,
) -> String {
    let failpoints = if extra.contains("failpoint") {
        "failpoints = [\"dra.binding_committed\"]\n"
    } else {
        ""
    };
    let mut c = format!(
        "[node]\ndata_dir = \"{}\"\n{failpoints}[store]\nurl = \"{store_url}\"\n\
         [diameter]\nlisten = \"127.0.0.1:0\"\norigin_host = \"{role}dra.{realm}\"\norigin_realm = \"{realm}\"\ntw_secs = 30\n\
         [dra]\nrole = \"{role}\"\nmode = \"{mode}\"\nbinding_cleanup = {}\n\
         [audit]\nlifetime_secs = {}\ninterval_ms = 200\n",
        dir.display(),
        !extra.contains("cleanup_off"),
        if extra.contains("audit_fast") { 1 } else { 0 },
    );
    for (host, addr) in pcrfs {
        c.push_str(&format!(
            "[[pcrf]]\nhost = \"{host}\"\naddress = \"{addr}\"\n"
        ));
    }
    c
}

impl Dra {
    pub async fn start(dir: &Path, name: &str, config: &str) -> anyhow::Result<Dra> {
        Ok(Dra {
            node: start_node(dir, name, "dra", config).await?,
        })
    }

    pub fn diameter(&self) -> String {
        self.node.addrs.get("diameter").cloned().unwrap_or_default()
    }

    pub async fn bindings(&self, query: &str) -> anyhow::Result<Vec<Value>> {
        json_array(&self.node, &format!("/bindings{query}")).await
    }

    pub async fn metric(&self, line_start: &str) -> anyhow::Result<f64> {
        metric(&self.node, line_start).await
    }
}

/// `binary -c <dir>/<name>.toml` with this config, as a [`Node`] (its admin and Diameter addresses).
pub async fn start_node(
    dir: &Path,
    name: &str,
    binary: &str,
    config: &str,
) -> anyhow::Result<Node> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config)?;
    let args = vec!["-c".to_string(), path.display().to_string()];
    Node::start(name, &bin_path(binary)?, &args, dir, false).await
}

/// The real `pcrf` in `role` (visited: with `[s9]` towards the hDRA at `hdra`).
pub async fn start_pcrf(
    dir: &Path,
    name: &str,
    store_url: &str,
    host: &str,
    realm: &str,
    role: &str,
    s9: &str,
) -> anyhow::Result<Node> {
    let config = format!(
        "[node]\ndata_dir = \"{}\"\n[store]\nurl = \"{store_url}\"\n\
         [diameter]\nlisten = \"127.0.0.1:0\"\norigin_host = \"{host}\"\norigin_realm = \"{realm}\"\n\
         [pcrf]\nrole = \"{role}\"\n{s9}",
        dir.display()
    );
    start_node(dir, name, "pcrf", &config).await
}

/// `GET path` of a node's admin API, a JSON array (`/bindings`, `/sessions`).
pub async fn json_array(node: &Node, path: &str) -> anyhow::Result<Vec<Value>> {
    match serde_json::from_str(&corelab_tests::http::get_ok(&node.admin_url(path)).await?)? {
        Value::Array(a) => Ok(a),
        other => anyhow::bail!("GET {path}: not an array: {other}"),
    }
}

/// The value of the first `/metrics` line of a node starting with `line_start` (0 if none).
pub async fn metric(node: &Node, line_start: &str) -> anyhow::Result<f64> {
    let text = corelab_tests::http::get_ok(&node.admin_url("/metrics")).await?;
    Ok(text
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0))
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

/// [`connection`] with the PCRFs (for the redirects) given as (host, address).
pub fn connection_to(dra: &Dra, mode: &str, ordering: &str, pcrfs: &[(&str, &str)]) -> Vec<String> {
    let mut a: Vec<String> = [
        "--origin-host",
        "pcc.lab",
        "--origin-realm",
        "lab",
        "--dra",
        &dra.diameter(),
        "--mode",
        mode,
        "--ordering",
        ordering,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (host, addr) in pcrfs {
        a.push("--pcrf".into());
        a.push(format!("{host}={addr}"));
    }
    a
}

/// `pcc-emulator run --scenario`: exit status and stdout.
pub async fn run_scenario(
    dir: &Path,
    name: &str,
    args: Vec<String>,
    scenario: &str,
) -> anyhow::Result<(i32, String)> {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, scenario)?;
    let out = dir.join(format!("{name}.out"));
    let status = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(bin_path("pcc-emulator")?)
            .arg("run")
            .args(args)
            .arg("--scenario")
            .arg(&file)
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(dir.join(format!("{name}.log")))?)
            .status(),
    )
    .await??;
    Ok((status.code().unwrap_or(-1), std::fs::read_to_string(&out)?))
}
