//! The roaming DRA lab (issue 10 §4): vDRA (`dra`, role visited) → vPCRF (`pcrf`, visited) →
//! hDRA (`dra`, home) → hPCRF (`pcrf`, home) as real processes over TCP on loopback, each with its
//! own store, and `pcc-emulator` as the BBERF/PCEF/AF in front of the vDRA. The four-node tests
//! (`tests/tests/dra_embodiments.rs`, through `tests/tests/support/dra_peers.rs`) and `labctl
//! demo dra` use it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::node::{Node, bin_path};

/// The lab's nodes, in the order they start (each needs the address of the one before) and the
/// order of [`DraLab::start`]'s store URLs.
pub const NODES: [&str; 4] = ["hpcrf", "hdra", "vpcrf", "vdra"];

/// The visited PCRF's and the home PCRF's Diameter identities.
pub const VPCRF_HOST: &str = "vpcrf.lab";
pub const HPCRF_HOST: &str = "hpcrf.home.lab";

/// A `dra` process.
pub struct Dra {
    pub node: Node,
}

impl Dra {
    pub async fn start(dir: &Path, name: &str, config: &str) -> anyhow::Result<Dra> {
        Ok(Dra {
            node: start_node(dir, name, "dra", config).await?,
        })
    }

    /// Its Diameter listen address (`ip:port`).
    pub fn diameter(&self) -> String {
        self.node.addrs.get("diameter").cloned().unwrap_or_default()
    }

    /// `GET /bindings{query}`.
    pub async fn bindings(&self, query: &str) -> anyhow::Result<Vec<Value>> {
        json_array(&self.node, &format!("/bindings{query}")).await
    }

    pub async fn metric(&self, line_start: &str) -> anyhow::Result<f64> {
        metric(&self.node, line_start).await
    }
}

/// A `dra` config in `realm` (origin_host `{role}dra.{realm}`), in front of PCRFs given as
/// (host, address). `extra` holds switches: `cleanup_off` (`binding_cleanup = false`),
/// `audit_fast` (lifetime 1 s), `failpoint` (arms `dra.binding_committed`).
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

/// The real `pcrf` in `role` (visited: with `[s9]` towards the hDRA, in `tail`; `tail` is
/// appended to the config and may add other tables), listening on an ephemeral port.
pub async fn start_pcrf(
    dir: &Path,
    name: &str,
    store_url: &str,
    host: &str,
    realm: &str,
    role: &str,
    tail: &str,
) -> anyhow::Result<Node> {
    let config = pcrf_config_in(dir, store_url, host, realm, role, "127.0.0.1:0", tail);
    start_node(dir, name, "pcrf", &config).await
}

/// A `pcrf` config: identity `host` in `realm`, Diameter on `listen`, `tail` appended.
pub fn pcrf_config_in(
    dir: &Path,
    store_url: &str,
    host: &str,
    realm: &str,
    role: &str,
    listen: &str,
    tail: &str,
) -> String {
    format!(
        "[node]\ndata_dir = \"{}\"\n[store]\nurl = \"{store_url}\"\n\
         [diameter]\nlisten = \"{listen}\"\norigin_host = \"{host}\"\norigin_realm = \"{realm}\"\n\
         [pcrf]\nrole = \"{role}\"\n{tail}",
        dir.display()
    )
}

/// `GET path` of a node's admin API, a JSON array (`/bindings`, `/sessions`).
pub async fn json_array(node: &Node, path: &str) -> anyhow::Result<Vec<Value>> {
    match serde_json::from_str(&crate::http::get_ok(&node.admin_url(path)).await?)? {
        Value::Array(a) => Ok(a),
        other => anyhow::bail!("GET {path}: not an array: {other}"),
    }
}

/// The value of the first `/metrics` line of a node starting with `line_start` (0 if none).
pub async fn metric(node: &Node, line_start: &str) -> anyhow::Result<f64> {
    let text = crate::http::get_ok(&node.admin_url("/metrics")).await?;
    Ok(text
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0))
}

/// The options of every pcc-emulator subcommand that connects: to the vDRA `dra` in `mode`, the
/// termination `ordering`, the PCRFs (for proxy_variant) as (host, address).
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

/// How the lab's DRAs run.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The vDRA's mode (`redirect`, `proxy`, `proxy_variant`).
    pub vdra: String,
    /// The hDRA's mode.
    pub hdra: String,
    /// `binding_cleanup` on both DRAs.
    pub cleanup: bool,
    /// The vPCRF's `s9.termination`: `after_redirect` or `at_once` (to the hDRA and the hPCRF
    /// in parallel, the seed's "∥", when the hDRA redirected).
    pub s9_termination: String,
    /// Appended to every node's config (e.g. a `[log]` table).
    pub tail: String,
}

impl Setup {
    pub fn new(vdra: &str, hdra: &str) -> Setup {
        Setup {
            vdra: vdra.into(),
            hdra: hdra.into(),
            cleanup: true,
            s9_termination: "after_redirect".into(),
            tail: String::new(),
        }
    }
}

/// The four nodes, each in its own directory `<dir>/<name>` (its own SQLite file, or
/// PostgreSQL database).
pub struct DraLab {
    pub dir: PathBuf,
    pub setup: Setup,
    pub vdra: Dra,
    pub vpcrf: Node,
    pub hdra: Dra,
    pub hpcrf: Node,
    /// The store URLs, by [`NODES`].
    pub stores: [String; 4],
}

/// `<dir>/<name>`, created.
pub fn node_dir(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// A SQLite store for node `name` of a lab in `dir`.
pub fn sqlite_store(dir: &Path, name: &str) -> anyhow::Result<String> {
    Ok(format!(
        "sqlite://{}/dra.db",
        node_dir(dir, name)?.display()
    ))
}

/// The vDRA's config in `setup`, in front of the vPCRF at `vpcrf`.
fn vdra_config(setup: &Setup, dir: &Path, store: &str, vpcrf: &str) -> String {
    let mut config = dra_config_in(
        dir,
        store,
        "visited",
        &setup.vdra,
        "lab",
        &[(VPCRF_HOST, vpcrf)],
        if setup.cleanup { "" } else { "cleanup_off" },
    );
    config.push_str(&setup.tail);
    config
}

impl DraLab {
    /// Start the four nodes in `dir` on `stores` (by [`NODES`]).
    pub async fn start(dir: &Path, stores: [String; 4], setup: Setup) -> anyhow::Result<DraLab> {
        let [hpcrf_store, hdra_store, vpcrf_store, vdra_store] = &stores;
        let d = node_dir(dir, "hpcrf")?;
        let hpcrf = start_pcrf(
            &d,
            "hpcrf",
            hpcrf_store,
            HPCRF_HOST,
            "home.lab",
            "home",
            &setup.tail,
        )
        .await?;
        let d = node_dir(dir, "hdra")?;
        let mut config = dra_config_in(
            &d,
            hdra_store,
            "home",
            &setup.hdra,
            "home.lab",
            &[(HPCRF_HOST, &hpcrf.addrs["diameter"])],
            if setup.cleanup { "" } else { "cleanup_off" },
        );
        config.push_str(&setup.tail);
        let hdra = Dra::start(&d, "hdra", &config).await?;
        let d = node_dir(dir, "vpcrf")?;
        let vpcrf = start_pcrf(
            &d,
            "vpcrf",
            vpcrf_store,
            VPCRF_HOST,
            "lab",
            "visited",
            &format!(
                "[s9]\nhome_realm = \"home.lab\"\nhdra = \"{}\"\ntermination = \"{}\"\n{}",
                hdra.diameter(),
                setup.s9_termination,
                setup.tail
            ),
        )
        .await?;
        let d = node_dir(dir, "vdra")?;
        let config = vdra_config(&setup, &d, vdra_store, &vpcrf.addrs["diameter"]);
        let vdra = Dra::start(&d, "vdra", &config).await?;
        Ok(DraLab {
            dir: dir.to_path_buf(),
            vdra,
            vpcrf,
            hdra,
            hpcrf,
            stores: stores.clone(),
            setup,
        })
    }

    /// A vDRA of the lab's setup named `name` in `dir` on `store` (a mate of the lab's vDRA when
    /// `store` is the same PostgreSQL database).
    pub async fn start_vdra(&self, dir: &Path, name: &str, store: &str) -> anyhow::Result<Dra> {
        let config = vdra_config(&self.setup, dir, store, &self.vpcrf.addrs["diameter"]);
        Dra::start(dir, name, &config).await
    }

    /// pcc-emulator's connection options towards `vdra` (the lab's vDRA or a mate) with the
    /// termination `ordering`.
    pub fn client_args(&self, vdra: &Dra, ordering: &str) -> Vec<String> {
        connection_to(
            vdra,
            &self.setup.vdra,
            ordering,
            &[(VPCRF_HOST, &self.vpcrf.addrs["diameter"])],
        )
    }

    /// `GET /sessions` of both PCRFs and `GET /bindings` of both DRAs: (what, the JSON array).
    pub async fn stores_now(&self) -> anyhow::Result<Vec<(&'static str, Vec<Value>)>> {
        Ok(vec![
            ("vDRA bindings", self.vdra.bindings("").await?),
            ("hDRA bindings", self.hdra.bindings("").await?),
            (
                "vPCRF sessions",
                json_array(&self.vpcrf, "/sessions").await?,
            ),
            (
                "hPCRF sessions",
                json_array(&self.hpcrf, "/sessions").await?,
            ),
        ])
    }

    /// Stop the four nodes (SIGTERM).
    pub async fn stop(self) -> anyhow::Result<()> {
        for node in [self.vdra.node, self.vpcrf, self.hdra.node, self.hpcrf] {
            node.stop().await?;
        }
        Ok(())
    }
}
