//! `labctl demo all` (issue 14 §2, the README's main job): the four seeds' demos one after the
//! other with the real binaries, a table of their verdicts at the end, exit 0 only when every
//! demo passed.

use std::process::Stdio;
use std::time::Duration;

#[tokio::test]
async fn demo_all_runs_the_four_demos_and_passes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let run = tokio::process::Command::new(labctl::bin_path("labctl")?)
        .args(["demo", "all"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!(
        "{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "labctl demo all failed:\n{all}");
    let table = stdout
        .rsplit("##### labctl demo all")
        .next()
        .unwrap_or_default();
    for demo in ["presence", "dra", "poc", "mbs"] {
        assert!(
            stdout.contains(&format!("##### labctl demo {demo}")),
            "{demo} did not run:\n{all}"
        );
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(demo) && l.ends_with("PASS")),
            "{demo} did not pass:\n{table}"
        );
    }
    Ok(())
}
