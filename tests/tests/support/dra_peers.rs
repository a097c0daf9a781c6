//! The DRA and PCRF processes of the DRA tests (issue 10): `dra` started from a TOML config,
//! `diameter-peer server` as a PCRF answering every Gx/Gxx/Rx/S9 request 2001, and reading the
//! DRA's `GET /bindings` and metrics. Shared by dra_bindings.rs and pcc_emulator.rs.

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
    let failpoints = if extra.contains("failpoint") {
        "failpoints = [\"dra.binding_committed\"]\n"
    } else {
        ""
    };
    let mut c = format!(
        "[node]\ndata_dir = \"{}\"\n{failpoints}[store]\nurl = \"{store_url}\"\n\
         [diameter]\nlisten = \"127.0.0.1:0\"\norigin_host = \"{role}dra.lab\"\norigin_realm = \"lab\"\ntw_secs = 30\n\
         [dra]\nrole = \"{role}\"\nmode = \"{mode}\"\nbinding_cleanup = {}\n\
         [audit]\nlifetime_secs = {}\ninterval_ms = 200\n",
        dir.display(),
        !extra.contains("cleanup_off"),
        if extra.contains("audit_fast") { 1 } else { 0 },
    );
    for p in pcrfs {
        c.push_str(&format!(
            "[[pcrf]]\nhost = \"{}\"\naddress = \"{}\"\n",
            p.host, p.addr
        ));
    }
    c
}

impl Dra {
    pub async fn start(dir: &Path, name: &str, config: &str) -> anyhow::Result<Dra> {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config)?;
        let args = vec!["-c".to_string(), path.display().to_string()];
        let node = Node::start(name, &bin_path("dra")?, &args, dir, false).await?;
        Ok(Dra { node })
    }

    pub fn diameter(&self) -> String {
        self.node.addrs.get("diameter").cloned().unwrap_or_default()
    }

    pub async fn bindings(&self, query: &str) -> anyhow::Result<Vec<Value>> {
        let body =
            corelab_tests::http::get_ok(&self.node.admin_url(&format!("/bindings{query}"))).await?;
        match serde_json::from_str(&body)? {
            Value::Array(a) => Ok(a),
            other => anyhow::bail!("GET /bindings: not an array: {other}"),
        }
    }

    pub async fn metric(&self, line_start: &str) -> anyhow::Result<f64> {
        let text = corelab_tests::http::get_ok(&self.node.admin_url("/metrics")).await?;
        Ok(text
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0))
    }
}

pub async fn store_for(backend: Backend, dir: &Path) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}/dra.db", dir.display())),
        Backend::Postgres => postgres_database().await,
    }
}
