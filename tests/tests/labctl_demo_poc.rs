//! `labctl demo poc` (issue 11 §5): the seed's figure played by the real binaries (group server,
//! CF, PF-A, PF-B, two `ue-emulator poc` terminals) exits 0 and prints the ladder with each
//! step's verdict: B is given A's ids and replaces its own, RTP from A reaches B, A's rejoin
//! gets the same ids.

use std::time::Duration;

use corelab_tests::labctl_run;

#[tokio::test]
async fn demo_poc_plays_the_seed_figure_and_passes() -> anyhow::Result<()> {
    let run = labctl_run(
        &["demo", "poc", "--own-nodes"],
        None,
        Duration::from_secs(120),
    )
    .await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo poc failed:\n{all}");
    for line in [
        "A (alice@a.lab)",
        "[308-313] B joins with its own ids and is given A's",
        "(B: 313: replaces its own ids with the received ones)",
        "(replaced: true); XCAP revalidated: 304",
        "PASS A sent 20, B received",
        "5 steps passed, 0 failed: PASS",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{all}");
    }
    assert!(!stdout.contains("FAIL "), "a step failed:\n{all}");
    // The ids A was given on its rejoin are the ones it stored first.
    let first = (stdout.lines())
        .find(|l| l.contains("PASS A: 200"))
        .and_then(|l| l.split("CF stored ").nth(1))
        .unwrap_or("?")
        .to_string();
    let rejoin = (stdout.lines())
        .find(|l| l.contains("rejoin 200"))
        .and_then(|l| l.split("given ").nth(1))
        .unwrap_or("")
        .to_string();
    assert_eq!(first, rejoin, "{all}");
    Ok(())
}
