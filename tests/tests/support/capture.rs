//! `labctl capture` as a process for tests: started once it has subscribed to every node,
//! stopped with SIGINT; its stdout is one line per message (node, direction, peer, first line).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use labctl::bin_path;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `labctl capture` as a process, once it has subscribed to every node.
pub async fn start_capture(from: &[String], out: &Path, extra: &[&str]) -> anyhow::Result<Child> {
    let mut cmd = Command::new(bin_path("labctl")?);
    cmd.arg("capture").arg("--out").arg(out);
    for f in from {
        cmd.args(["--from", f]);
    }
    cmd.args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut subscribed = 0;
    while subscribed < from.len() {
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await??
            .ok_or_else(|| anyhow::anyhow!("labctl capture ended before subscribing"))?;
        if line.starts_with("capture: subscribed") {
            subscribed += 1;
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(child)
}

/// Stop a capture with SIGINT (as Ctrl-C) and return its stdout.
pub async fn stop_capture(child: Child) -> anyhow::Result<String> {
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("capture gone"))?;
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()?;
    let out = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output()).await??;
    anyhow::ensure!(out.status.success(), "labctl capture: {:?}", out.status);
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
