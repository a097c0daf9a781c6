//! A corelab node started as a child process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// Where the workspace's binaries are: `$CORELAB_BIN_DIR`, else next to the running executable
/// (`target/<profile>/` for labctl, its parent for a test in `target/<profile>/deps/`).
pub fn bin_path(name: &str) -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("CORELAB_BIN_DIR") {
        return Ok(PathBuf::from(dir).join(name));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let candidate = d.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
        if d.ends_with("target") {
            break;
        }
    }
    anyhow::bail!(
        "binary {name} not found next to {}: run `cargo build --bins` first",
        exe.display()
    )
}

/// A free loopback port (UDP and TCP), for a node that must keep its port across a restart.
pub fn free_port() -> anyhow::Result<u16> {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
}

pub struct Node {
    pub name: String,
    child: Child,
    /// Bound addresses from the ready file: `sip`, `admin`, `grpc`.
    pub addrs: BTreeMap<String, String>,
}

impl Node {
    /// Start `binary` with `args` (plus `--ready-file`, `--admin-listen`, `--grpc-listen` on
    /// ephemeral ports) and wait until it is ready. Its stdout and stderr go to
    /// `<dir>/<name>.out` and `<dir>/<name>.log`, or are inherited when `inherit_stdout`.
    pub async fn start(
        name: &str,
        binary: &Path,
        args: &[String],
        dir: &Path,
        inherit_stdout: bool,
    ) -> anyhow::Result<Node> {
        Self::start_with_grpc(name, binary, args, dir, inherit_stdout, "127.0.0.1:0").await
    }

    /// [`Node::start`] with the gRPC service on `grpc_listen`: a node that its peers dial
    /// (session-manager's N1 link) keeps its address across a restart.
    pub async fn start_with_grpc(
        name: &str,
        binary: &Path,
        args: &[String],
        dir: &Path,
        inherit_stdout: bool,
        grpc_listen: &str,
    ) -> anyhow::Result<Node> {
        Self::launch(name, binary, args, dir, inherit_stdout, grpc_listen, false).await
    }

    /// [`Node::start`] for a node that outlives labctl (`labctl up`): in a process group of its
    /// own, not killed when the returned `Node` is dropped. Returns the node; its pid is
    /// [`Node::pid`].
    pub async fn start_detached(
        name: &str,
        binary: &Path,
        args: &[String],
        dir: &Path,
    ) -> anyhow::Result<Node> {
        Self::launch(name, binary, args, dir, false, "127.0.0.1:0", true).await
    }

    async fn launch(
        name: &str,
        binary: &Path,
        args: &[String],
        dir: &Path,
        inherit_stdout: bool,
        grpc_listen: &str,
        detached: bool,
    ) -> anyhow::Result<Node> {
        let ready = dir.join(format!("{name}.ready.json"));
        let _ = std::fs::remove_file(&ready);
        let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
        let stdout = if inherit_stdout {
            Stdio::inherit()
        } else {
            Stdio::from(std::fs::File::create(dir.join(format!("{name}.out")))?)
        };
        let mut command = Command::new(binary);
        if detached {
            command.process_group(0);
        }
        let mut child = command
            .args(args)
            .arg("--ready-file")
            .arg(&ready)
            .args([
                "--admin-listen",
                "127.0.0.1:0",
                "--grpc-listen",
                grpc_listen,
            ])
            .stdout(stdout)
            .stderr(Stdio::from(log))
            .kill_on_drop(!detached)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
        for _ in 0..400 {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let addrs: BTreeMap<String, String> = serde_json::from_str(&text)?;
                return Ok(Node {
                    name: name.to_string(),
                    child,
                    addrs,
                });
            }
            if let Some(status) = child.try_wait()? {
                let log =
                    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
                anyhow::bail!("{name} exited with {status} before it was ready:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{name} not ready after 20 s")
    }

    pub fn grpc_uri(&self) -> String {
        format!(
            "http://{}",
            self.addrs.get("grpc").map(String::as_str).unwrap_or("")
        )
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!(
            "http://{}{path}",
            self.addrs.get("admin").map(String::as_str).unwrap_or("")
        )
    }

    /// The process id (for `/proc/<pid>/status`), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still running (it has not exited or crashed).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn sip_addr(&self) -> String {
        self.addrs.get("sip").cloned().unwrap_or_default()
    }

    /// SIGTERM, then wait (SIGKILL after 5 s).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        terminate(&mut self.child).await
    }

    /// SIGKILL: the node dies as in a crash.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// SIGTERM a child process (a node shuts down cleanly on it), then wait for it; SIGKILL after
/// 5 s.
pub async fn terminate(child: &mut tokio::process::Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        child.kill().await?;
    }
    Ok(())
}
