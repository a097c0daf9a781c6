//! `labctl up | down | status`: the lab of a topology file (deploy/lab.toml; docs/lab.md) as
//! local processes on loopback, each node on its own embedded SQLite store, that outlive labctl.
//! `up` writes `<dir>/lab.json` (each node's pid and addresses); `down` and `status` read it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::{Node, bin_path, free_port};

/// A topology file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub lab: LabSection,
    #[serde(rename = "node")]
    pub nodes: Vec<NodeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSection {
    /// Where the configs, stores, logs and `lab.json` go (relative: to the working directory).
    pub dir: PathBuf,
    /// Where `up` serves the lab console (`labctl console`, docs/console.md) once every node is
    /// ready; `{port:NAME}` allowed; absent: no console.
    #[serde(default)]
    pub console: Option<String>,
}

/// One node of the topology.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    pub binary: String,
    /// Admin path whose JSON list `labctl status` counts ("" for none).
    #[serde(default)]
    pub status: String,
    /// The node's own config (written to `<dir>/<name>.toml`); `{port:NAME}` placeholders.
    #[serde(default)]
    pub config: toml::Table,
}

/// A node `up` started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub name: String,
    pub binary: String,
    pub pid: u32,
    /// From the node's ready file: `admin`, `grpc`, `sip`, `diameter`, `xcap`, ...
    pub addrs: BTreeMap<String, String>,
    pub status: String,
}

/// What `up` leaves in `<dir>/lab.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LabState {
    pub dir: PathBuf,
    pub nodes: Vec<Running>,
}

impl LabState {
    fn path(dir: &Path) -> PathBuf {
        dir.join("lab.json")
    }

    /// The lab `up` left in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<LabState> {
        let path = LabState::path(dir);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("no lab is up in {} ({e})", dir.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// The console's URL, when `up` serves one.
    pub fn console_url(&self) -> Option<String> {
        let console = self.nodes.iter().find(|n| n.name == CONSOLE)?;
        Some(format!("http://{}/", console.addrs.get("admin")?))
    }

    /// No node runs any more.
    pub fn is_down(&self) -> bool {
        !self.nodes.iter().any(|n| alive(n.pid, &n.binary))
    }

    /// Every node still runs.
    pub fn is_up(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(|n| alive(n.pid, &n.binary))
    }

    /// The running node named `name`.
    pub fn node(&self, name: &str) -> anyhow::Result<&Running> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| anyhow::anyhow!("the lab has no node {name}"))
    }
}

/// Read a topology file; errors name the file and the key.
pub fn topology(path: &Path) -> anyhow::Result<Topology> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Replace every `{port:NAME}` in `text` with NAME's port, picking a free one the first time.
fn with_ports(text: &str, ports: &mut BTreeMap<String, u16>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{port:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let end = after
            .find('}')
            .ok_or_else(|| anyhow::anyhow!("unclosed {{port:…}} in {text}"))?;
        let name = &after[..end];
        let port = match ports.get(name) {
            Some(p) => *p,
            None => {
                let p = free_port()?;
                ports.insert(name.to_string(), p);
                p
            }
        };
        out.push_str(&port.to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn alive(pid: u32, binary: &str) -> bool {
    // The pid is ours only while /proc says it runs our binary (pids are reused).
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let argv0 = c.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(argv0).ends_with(binary)
        })
        .unwrap_or(false)
}

/// Start every node of `file`, in order, each waited for; print where each listens.
pub async fn up(file: &Path) -> anyhow::Result<LabState> {
    let topo = topology(file)?;
    let dir = std::path::absolute(&topo.lab.dir)?;
    if let Ok(state) = LabState::load(&dir)
        && state.nodes.iter().any(|n| alive(n.pid, &n.binary))
    {
        anyhow::bail!(
            "a lab is already up in {} (labctl down first)",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)?;
    // Every config rendered first, so a node may name a port of a node started after it.
    let mut ports = BTreeMap::new();
    let mut configs = Vec::new();
    for spec in &topo.nodes {
        let mut config = spec.config.clone();
        let data_dir = dir.join(&spec.name);
        std::fs::create_dir_all(&data_dir)?;
        let node = config
            .entry("node")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(t) = node.as_table_mut() {
            t.insert("data_dir".into(), data_dir.display().to_string().into());
        }
        let store = config
            .entry("store")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(t) = store.as_table_mut() {
            t.entry("url").or_insert_with(|| {
                format!("sqlite://{}/{}.db", data_dir.display(), spec.name).into()
            });
        }
        let text = with_ports(&toml::to_string(&config)?, &mut ports)?;
        let path = dir.join(format!("{}.toml", spec.name));
        std::fs::write(&path, text)?;
        configs.push(path);
    }
    let mut started: Vec<Running> = Vec::new();
    for (spec, config) in topo.nodes.iter().zip(&configs) {
        let binary = bin_path(&spec.binary)?;
        let args = vec!["--config".to_string(), config.display().to_string()];
        match Node::start_detached(&spec.name, &binary, &args, &dir).await {
            Ok(node) => {
                println!("up: {:<16} ({}) ready", spec.name, spec.binary);
                started.push(Running {
                    name: spec.name.clone(),
                    binary: spec.binary.clone(),
                    pid: node.pid().unwrap_or(0),
                    addrs: node.addrs.clone(),
                    status: spec.status.clone(),
                });
            }
            Err(e) => {
                stop_all(&started).await;
                anyhow::bail!("{}: {e:#}", spec.name);
            }
        }
    }
    let mut state = LabState {
        dir: dir.clone(),
        nodes: started,
    };
    std::fs::write(LabState::path(&dir), serde_json::to_string_pretty(&state)?)?;
    if let Some(listen) = &topo.lab.console {
        // The console reads lab.json as written so far: the nodes it watches.
        match start_console(&dir, &with_ports(listen, &mut ports)?).await {
            Ok(console) => state.nodes.push(console),
            Err(e) => {
                stop_all(&state.nodes).await;
                let _ = std::fs::remove_file(LabState::path(&dir));
                anyhow::bail!("console: {e:#}");
            }
        }
        std::fs::write(LabState::path(&dir), serde_json::to_string_pretty(&state)?)?;
    }
    print_table(&state);
    println!(
        "lab up: {} nodes; logs and configs in {}; `labctl status`, `labctl down`",
        state.nodes.len(),
        dir.display()
    );
    if let Some(url) = state.console_url() {
        println!("console: {url}");
    }
    Ok(state)
}

/// The node name of the console `up` serves.
pub const CONSOLE: &str = "console";

/// Start `labctl console` for the lab in `dir` on `listen`, detached like the nodes; wait for
/// its ready file.
async fn start_console(dir: &Path, listen: &str) -> anyhow::Result<Running> {
    let ready = dir.join("console.ready.json");
    let _ = std::fs::remove_file(&ready);
    let log = std::fs::File::create(dir.join("console.log"))?;
    let mut child = tokio::process::Command::new(bin_path("labctl")?)
        .args(["console", "--dir"])
        .arg(dir)
        .args(["--listen", listen, "--ready-file"])
        .arg(&ready)
        .process_group(0)
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(false)
        .spawn()?;
    let addrs = crate::wait::until(Duration::from_secs(20), "the console's ready file", || {
        let ready = ready.clone();
        async move {
            let text = std::fs::read_to_string(&ready).ok()?;
            serde_json::from_str::<BTreeMap<String, String>>(&text).ok()
        }
    })
    .await;
    match addrs {
        Ok(addrs) => {
            println!("up: {CONSOLE:<16} (labctl console) ready");
            Ok(Running {
                name: CONSOLE.into(),
                binary: "labctl".into(),
                pid: child.id().unwrap_or(0),
                addrs,
                status: String::new(),
            })
        }
        Err(e) => {
            let _ = child.kill().await;
            let log = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
            anyhow::bail!("{e}: {log}")
        }
    }
}

fn print_table(state: &LabState) {
    println!("\n{:<16} {:<16} {:>7}  listens on", "node", "binary", "pid");
    for n in &state.nodes {
        let addrs: Vec<String> = n.addrs.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "{:<16} {:<16} {:>7}  {}",
            n.name,
            n.binary,
            n.pid,
            addrs.join(", ")
        );
    }
}

async fn stop_all(nodes: &[Running]) {
    for n in nodes.iter().rev() {
        if alive(n.pid, &n.binary) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &n.pid.to_string()])
                .status();
        }
    }
    for n in nodes {
        for _ in 0..100 {
            if !alive(n.pid, &n.binary) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if alive(n.pid, &n.binary) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &n.pid.to_string()])
                .status();
        }
    }
}

/// Stop every node of the lab in `dir` (SIGTERM, SIGKILL after 5 s), last started first.
pub async fn down(dir: &Path) -> anyhow::Result<()> {
    let state = LabState::load(&std::path::absolute(dir)?)?;
    stop_all(&state.nodes).await;
    std::fs::remove_file(LabState::path(&state.dir))?;
    println!("lab down: {} nodes stopped", state.nodes.len());
    Ok(())
}

/// One node's health as `labctl status` and the console show it.
#[derive(Debug, Serialize)]
pub struct NodeHealth {
    pub name: String,
    pub binary: String,
    pub pid: u32,
    pub addrs: BTreeMap<String, String>,
    pub running: bool,
    /// "ready", "down", or the status code `/readyz` answered.
    pub ready: String,
    /// The size of the node's list ("3 bindings"), where the topology names one.
    pub count: String,
}

/// Each node's process, `/readyz` and (where the topology names one) the size of its list.
pub async fn health(state: &LabState) -> Vec<NodeHealth> {
    let mut all = Vec::new();
    for n in &state.nodes {
        let running = alive(n.pid, &n.binary);
        let admin = n.addrs.get("admin").cloned().unwrap_or_default();
        let ready = match crate::http::get(&format!("http://{admin}/readyz")).await {
            Ok(r) if r.status == 200 => "ready".to_string(),
            Ok(r) => format!("{}", r.status),
            Err(_) => "down".to_string(),
        };
        let count = if n.status.is_empty() || !running {
            String::new()
        } else {
            match crate::http::get_ok(&format!("http://{admin}{}", n.status)).await {
                Ok(body) => match serde_json::from_str::<serde_json::Value>(&body) {
                    Ok(serde_json::Value::Array(a)) => format!("{} {}", a.len(), &n.status[1..]),
                    _ => format!("{}: not a list", n.status),
                },
                Err(e) => format!("{e}"),
            }
        };
        all.push(NodeHealth {
            name: n.name.clone(),
            binary: n.binary.clone(),
            pid: n.pid,
            addrs: n.addrs.clone(),
            running,
            ready,
            count,
        });
    }
    all
}

/// Print each node's health; false when a node is not ready.
pub async fn status(dir: &Path) -> anyhow::Result<bool> {
    let state = LabState::load(&std::path::absolute(dir)?)?;
    println!(
        "{:<16} {:>7}  {:<8} {:<10} counts",
        "node", "pid", "process", "readyz"
    );
    let mut healthy = true;
    for h in health(&state).await {
        healthy &= h.running && h.ready == "ready";
        println!(
            "{:<16} {:>7}  {:<8} {:<10} {}",
            h.name,
            h.pid,
            if h.running { "running" } else { "gone" },
            h.ready,
            h.count
        );
    }
    Ok(healthy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_port_per_name_everywhere_it_appears() {
        let mut ports = BTreeMap::new();
        let a = with_ports("listen = \"127.0.0.1:{port:x.d}\"", &mut ports).unwrap();
        let b = with_ports(
            "peer = \"127.0.0.1:{port:x.d}\" other = {port:y}",
            &mut ports,
        )
        .unwrap();
        let x = ports["x.d"].to_string();
        assert_eq!(a, format!("listen = \"127.0.0.1:{x}\""));
        assert!(b.starts_with(&format!("peer = \"127.0.0.1:{x}\" other = ")));
        assert_ne!(ports["x.d"], ports["y"]);
        assert!(with_ports("{port:open", &mut ports).is_err());
    }

    #[test]
    fn the_shipped_topology_parses() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/lab.toml");
        let topo = topology(&file).unwrap();
        assert!(topo.nodes.len() >= 7);
    }
}
