//! `labctl demo all` (issue 14 §2, the README's main job): the four seeds' demos one after the
//! other with the real binaries, a table of their verdicts at the end, exit 0 only when every
//! demo passed.

use std::time::Duration;

use corelab_tests::labctl_run;

#[tokio::test]
async fn demo_all_runs_the_four_demos_and_passes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let run = labctl_run(&["demo", "all"], Some(dir.path()), Duration::from_secs(300)).await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo all failed:\n{all}");
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
