//! Issue 14 §5: `labctl probe dra --target` plays seed 003's client side (the PCEF and the AF of
//! four UEs, pcc-emulator) against a DRA, with the two PCRFs behind it started by the probe, and
//! prints which of the seed's behaviours it shows. Against our `dra` (visited, SQLite) in proxy
//! and in redirect mode every step shows (exit 0); with `binding_cleanup = false` (the plain
//! TS 29.213 DRA the seed improves on) the stale-binding step lacks (exit 2): the probe can fail.
//! freeDiameter's verdict is tests/interop/dra-probe-freediameter.sh's.
//!
//! Needs `cargo build -p labctl -p corelab-dra -p corelab-pcrf -p pcc-emulator`.

use corelab_tests::probe_step;
use labctl::dra::{Dra, dra_config_in};
use labctl::{bin_path, free_port};

/// Our `dra` in `mode` (`extra`: dra_config_in's switches) in front of two PCRF identities on
/// free ports, then the probe: its exit status and report.
async fn probe_our_dra(mode: &str, extra: &str) -> anyhow::Result<(Option<i32>, String)> {
    let dir = tempfile::tempdir()?;
    let pcrfs = [
        (
            "pcrf1.lab".to_string(),
            format!("127.0.0.1:{}", free_port()?),
        ),
        (
            "pcrf2.lab".to_string(),
            format!("127.0.0.1:{}", free_port()?),
        ),
    ];
    let config = dra_config_in(
        dir.path(),
        &format!("sqlite://{}/dra.db", dir.path().display()),
        "visited",
        mode,
        "lab",
        &pcrfs
            .iter()
            .map(|(h, a)| (h.as_str(), a.as_str()))
            .collect::<Vec<_>>(),
        extra,
    );
    let dra = Dra::start(dir.path(), "vdra", &config).await?;
    let mut command = std::process::Command::new(bin_path("labctl")?);
    command.args([
        "probe",
        "dra",
        "--target",
        &dra.diameter(),
        "--target-realm",
        "lab",
        "--mode",
        mode,
        "--wait-s",
        "5",
    ]);
    for (h, a) in &pcrfs {
        command.arg("--pcrf").arg(format!("{h}={a}"));
    }
    let out = tokio::task::spawn_blocking(move || command.output()).await??;
    dra.node.stop().await?;
    Ok((
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

async fn every_step_shows(mode: &str) -> anyhow::Result<()> {
    let (code, report) = probe_our_dra(mode, "").await?;
    println!("{report}");
    for n in 1..=4 {
        assert_eq!(
            probe_step(&report, n),
            "SHOWS",
            "{mode} step {n}:\n{report}"
        );
    }
    assert!(report.contains("shows 4 of the 4"), "{report}");
    assert_eq!(code, Some(0), "{report}");
    Ok(())
}

async fn cleanup_off_lacks_the_stale_step(mode: &str) -> anyhow::Result<()> {
    let (code, report) = probe_our_dra(mode, "cleanup_off").await?;
    println!("{report}");
    for n in 1..=3 {
        assert_eq!(
            probe_step(&report, n),
            "SHOWS",
            "{mode} step {n}:\n{report}"
        );
    }
    assert_eq!(probe_step(&report, 4), "LACKS", "{mode} step 4:\n{report}");
    assert_eq!(code, Some(2), "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn our_proxy_dra_shows_every_step() -> anyhow::Result<()> {
    every_step_shows("proxy").await
}

#[tokio::test(flavor = "multi_thread")]
async fn our_redirect_dra_shows_every_step() -> anyhow::Result<()> {
    every_step_shows("redirect").await
}

#[tokio::test(flavor = "multi_thread")]
async fn our_proxy_dra_without_binding_cleanup_sends_the_new_session_to_the_stale_pcrf()
-> anyhow::Result<()> {
    cleanup_off_lacks_the_stale_step("proxy").await
}

#[tokio::test(flavor = "multi_thread")]
async fn our_redirect_dra_without_binding_cleanup_names_the_stale_pcrf() -> anyhow::Result<()> {
    cleanup_off_lacks_the_stale_step("redirect").await
}
