//! `labctl demo` (issue 14 §2, the README's main job) against the lab of the shipped topology
//! (deploy/lab.toml, in a temporary directory):
//! - with no lab up, `demo all` brings it up, plays the four seeds' procedures against it, draws
//!   each one's messages as the nodes' wire taps saw them with each check's verdict, prints a
//!   table, exits 0, and takes the lab down again;
//! - with a lab up (`labctl up`), `demo poc` plays against it and leaves it running;
//! - `demo all --own-nodes` still plays the self-contained versions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use corelab_tests::labctl_run;
use labctl::lab::LabState;

/// The shipped topology with its lab in `dir/lab`.
fn topology(dir: &Path) -> anyhow::Result<PathBuf> {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lab.toml"))?;
    let lab = dir.join("lab");
    let path = dir.join("lab.toml");
    std::fs::write(
        &path,
        shipped.replace("dir = \"var/lab\"", &format!("dir = \"{}\"", lab.display())),
    )?;
    Ok(path)
}

fn verdict_table(stdout: &str) -> &str {
    stdout
        .rsplit("##### labctl demo all")
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn demo_all_brings_the_lab_up_plays_every_demo_against_it_and_takes_it_down()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let topo = topology(dir.path())?;
    let topo = topo.to_str().unwrap_or_default();
    let run = labctl_run(
        &["demo", "all", "--topology", topo],
        None,
        Duration::from_secs(400),
    )
    .await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo all failed:\n{all}");
    assert!(stdout.contains("no lab is up in"), "{all}");
    assert!(stdout.contains("lab down: "), "{all}");
    assert!(
        LabState::load(&dir.path().join("lab")).is_err(),
        "the lab is still up"
    );
    for demo in ["presence", "dra", "poc", "mbs"] {
        assert!(
            stdout.contains(&format!("##### labctl demo {demo}")),
            "{demo} did not run:\n{all}"
        );
        assert!(
            verdict_table(stdout)
                .lines()
                .any(|l| l.starts_with(demo) && l.ends_with("PASS")),
            "{demo} did not pass:\n{all}"
        );
    }
    assert!(!stdout.contains("    FAIL "), "a check failed:\n{all}");
    // The ladders are the wire taps': lanes named by lab node, each demo's messages on them.
    for (demo, lane, message) in [
        ("presence", "presence-server", "MESSAGE sip:alice"),
        ("dra", "vdra", "CCR Gxx"),
        ("poc", "poc-controlling", "INVITE sip:demo"),
        ("mbs", "session-manager", "REGISTRATION REQUEST"),
    ] {
        let ladder = stdout
            .split(&format!("=== {demo}: "))
            .nth(1)
            .and_then(|s| s.split("#####").next())
            .unwrap_or_default();
        let heads = ladder.lines().nth(2).unwrap_or_default();
        assert!(
            heads.contains(lane),
            "{demo}: no lane {lane} in {heads:?}:\n{all}"
        );
        assert!(
            ladder
                .lines()
                .any(|l| l.starts_with('|') && l.contains(message)),
            "{demo}: no arrow {message}:\n{all}"
        );
    }
    assert!(stdout.contains("PASS paging stopped"), "{all}");
    assert!(stdout.contains("given conv"), "{all}");
    Ok(())
}

#[tokio::test]
async fn demo_poc_plays_against_a_running_lab_and_leaves_it_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let topo = topology(dir.path())?;
    let topo = topo.to_str().unwrap_or_default();
    let lab = dir.path().join("lab");
    let up = labctl_run(&["up", topo], None, Duration::from_secs(120)).await?;
    let _down = Down(lab.clone());
    assert!(up.success, "labctl up:\n{}", up.all);
    let before = LabState::load(&lab)?;
    for round in 0..2 {
        // Twice: the second run must not be given the first run's group ids.
        let run = labctl_run(
            &["demo", "poc", "--topology", topo],
            None,
            Duration::from_secs(120),
        )
        .await?;
        assert!(run.success, "round {round}:\n{}", run.all);
        assert!(run.stdout.contains("the lab up in"), "{}", run.all);
        assert!(
            run.stdout.contains("5 checks passed, 0 failed: PASS"),
            "{}",
            run.all
        );
        assert!(!run.stdout.contains("lab down"), "{}", run.all);
    }
    let after = LabState::load(&lab)?;
    assert!(after.is_up(), "the lab is down after the demo");
    assert_eq!(
        before.nodes.iter().map(|n| n.pid).collect::<Vec<_>>(),
        after.nodes.iter().map(|n| n.pid).collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test]
async fn demo_all_own_nodes_plays_the_self_contained_versions() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let run = labctl_run(
        &["demo", "all", "--own-nodes"],
        Some(dir.path()),
        Duration::from_secs(300),
    )
    .await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo all --own-nodes failed:\n{all}");
    for demo in ["presence", "dra", "poc", "mbs"] {
        assert!(
            verdict_table(stdout)
                .lines()
                .any(|l| l.starts_with(demo) && l.ends_with("PASS")),
            "{demo} did not pass:\n{all}"
        );
    }
    Ok(())
}

/// `labctl down` when the test ends, pass or fail.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if let Ok(bin) = labctl::bin_path("labctl") {
            let _ = std::process::Command::new(bin)
                .args(["down", "--dir", self.0.to_str().unwrap_or_default()])
                .output();
        }
    }
}
