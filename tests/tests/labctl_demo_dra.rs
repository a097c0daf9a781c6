//! `labctl demo dra` (issue 10 §4): embodiments 1, 4, 7 and 10 played by the real binaries
//! (pcc-emulator, vDRA, vPCRF, hDRA, hPCRF) exit 0 and print each message on the ladder, read from
//! the processes' own logs, and the DRAs' bindings before, during and after (none left).
//!
//! Needs `cargo build -p labctl -p pcc-emulator -p corelab-dra -p corelab-pcrf`.

use std::time::Duration;

use corelab_tests::labctl_run;

#[tokio::test]
async fn demo_dra_plays_embodiments_1_4_7_10_and_leaves_no_binding() -> anyhow::Result<()> {
    let run = labctl_run(
        &["demo", "dra", "--own-nodes"],
        None,
        Duration::from_secs(180),
    )
    .await?;
    let (stdout, all) = (&run.stdout, &run.all);
    assert!(run.success, "labctl demo dra failed:\n{all}");
    let lanes = "client                  vDRA                    vPCRF                   hDRA                    hPCRF";
    assert_eq!(stdout.matches(lanes).count(), 4, "four ladders:\n{all}");
    for line in [
        "=== embodiment 1: ",
        "=== embodiment 4: ",
        "=== embodiment 7: ",
        "=== embodiment 10: ",
        // The client's CCR-I to the vDRA, redirected in embodiment 1.
        "|-- CCR-I Gxx S1 ------>|",
        "|<-- CCA 3006 S1 -------|",
        // The vPCRF's S9 towards the hDRA.
        "|                       |                       |-- CCR-I S9 S2 ------->|",
        // Embodiment 4: the proxy hDRA forwards the S9 termination to the hPCRF.
        "|                       |                       |                       |-- CCR-T S9 S2 ------->|",
        // Embodiment 7: the proxy vDRA forwards the client's termination to the vPCRF.
        "|                       |-- CCR-T Gxx S1 ------>|",
        // Embodiment 10: the BBERF's end is an S9 modification; the PCEF's (S3) ends the S9.
        "[d2] pcef terminates S3",
        "|                       |                       |-- CCR-U S9 S2 ------->|",
        // Bindings during and after.
        "vDRA binding ",
        "hDRA binding ",
        "vDRA GET /bindings: []",
        "PASS no binding at either DRA, no session at either PCRF",
        " 0 failed: PASS",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{all}");
    }
    assert_eq!(
        stdout
            .matches("PASS no binding at either DRA, no session at either PCRF")
            .count(),
        4,
        "every embodiment ends with nothing left:\n{all}"
    );
    assert!(!stdout.contains("FAIL "), "a step failed:\n{all}");
    Ok(())
}
