//! `labctl demo mbs` (issue 12 §5): the seed's figure played by the real binaries exits 0 and
//! prints the ladder with each step's verdict, the release with the QFI lists (zero pagings
//! after the registration) and the paging that goes on without them.

use std::time::Duration;

use corelab_tests::labctl_run;

#[tokio::test]
async fn demo_mbs_plays_the_seed_figure_and_passes() -> anyhow::Result<()> {
    let run = labctl_run(
        &["demo", "mbs", "--own-nodes"],
        None,
        Duration::from_secs(120),
    )
    .await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo mbs failed:\n{all}");
    for line in [
        "UE                                  gNB / N1                            session-manager",
        "REGISTRATION REQUEST (mobility updating, 5G-GUTI, PDU session status {1}, QFI lists 0x7C: PSI 1 -> [1])",
        "QFI 5 absent: MBS QoS flows released, TMGI association deleted, paging stopped",
        "UE 0 (qfi_lists on): 0 pagings since its mobility registration",
        "0 failed: PASS",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{all}");
    }
    assert!(!stdout.contains("FAIL "), "a step failed:\n{all}");
    // Without the capability the network pages on: a count above zero.
    let without = (stdout.lines())
        .find(|l| l.starts_with("UE 1 (qfi_lists off): "))
        .unwrap_or_default();
    let pagings: u64 = (without.split_whitespace().nth(4))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(pagings > 0, "no paging without the capability:\n{all}");
    Ok(())
}

#[test]
fn demo_presence_keeps_its_first_spelling() -> anyhow::Result<()> {
    for args in [
        &["demo-presence", "--help"][..],
        &["demo", "presence", "--help"],
    ] {
        let out = std::process::Command::new(labctl::bin_path("labctl")?)
            .args(args)
            .output()?;
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("--t1-ms"));
    }
    Ok(())
}
