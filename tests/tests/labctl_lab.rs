//! Issue 14 §2: `labctl up` starts every node of the shipped topology (deploy/lab.toml) as
//! local processes that outlive it and serves the console, `labctl status` reports each one ready, a second `up` is
//! refused while the lab runs, and `labctl down` stops them all.

use std::path::Path;
use std::process::Output;

use labctl::bin_path;
use labctl::lab::LabState;

fn labctl(args: &[&str]) -> anyhow::Result<Output> {
    Ok(std::process::Command::new(bin_path("labctl")?)
        .args(args)
        .output()?)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn labctl_up_status_down_on_the_shipped_topology() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let lab_dir = dir.path().join("lab");
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lab.toml"))?;
    let topology = dir.path().join("lab.toml");
    std::fs::write(
        &topology,
        shipped.replace(
            "dir = \"var/lab\"",
            &format!("dir = \"{}\"", lab_dir.display()),
        ),
    )?;
    let up = labctl(&["up", topology.to_str().unwrap_or_default()])?;
    let state = LabState::load(&lab_dir);
    // Whatever happens next, the nodes do not outlive the test.
    let _down = Down(lab_dir.clone());
    assert!(up.status.success(), "labctl up: {}", text(&up));
    let state = state?;
    assert!(state.nodes.len() >= 7, "{}", text(&up));
    for node in &state.nodes {
        assert!(alive(node.pid), "{} is not running", node.name);
        assert!(
            node.addrs.contains_key("admin"),
            "{}: {:?}",
            node.name,
            node.addrs
        );
        assert!(text(&up).contains(&node.name));
    }
    assert!(state.node("vdra")?.addrs.contains_key("diameter"));
    assert!(state.node("presence-server")?.addrs.contains_key("sip"));

    let status = labctl(&["status", "--dir", lab_dir.to_str().unwrap_or_default()])?;
    assert!(status.status.success(), "labctl status: {}", text(&status));
    assert_eq!(
        text(&status).matches(" ready ").count(),
        state.nodes.len(),
        "{}",
        text(&status)
    );
    assert!(text(&status).contains("0 bindings"), "{}", text(&status));

    // `up` serves the console (`[lab] console`): its page and the nodes it reports.
    let url = state
        .console_url()
        .expect("the shipped topology has a console");
    assert!(
        text(&up).contains(&format!("console: {url}")),
        "{}",
        text(&up)
    );
    let page = labctl::http::get_blocking(&url)?;
    assert_eq!(page.status, 200);
    let nodes = labctl::http::get_blocking(&format!("{url}api/nodes"))?;
    let nodes: serde_json::Value = serde_json::from_str(&nodes.body)?;
    assert_eq!(
        nodes.as_array().map(Vec::len),
        Some(state.nodes.len() - 1),
        "{nodes}"
    );

    let again = labctl(&["up", topology.to_str().unwrap_or_default()])?;
    assert!(!again.status.success());
    assert!(text(&again).contains("already up"), "{}", text(&again));

    let down = labctl(&["down", "--dir", lab_dir.to_str().unwrap_or_default()])?;
    assert!(down.status.success(), "labctl down: {}", text(&down));
    for node in &state.nodes {
        assert!(!alive(node.pid), "{} still runs after down", node.name);
    }
    let status = labctl(&["status", "--dir", lab_dir.to_str().unwrap_or_default()])?;
    assert!(!status.status.success());
    Ok(())
}

/// `labctl down` when the test ends, pass or fail (a no-op after a successful down).
struct Down(std::path::PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = labctl(&["down", "--dir", self.0.to_str().unwrap_or_default()]);
    }
}
