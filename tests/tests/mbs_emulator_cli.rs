//! ue-emulator's 5G mode driven from its command line against a real session-manager: a
//! scenario file (the seed's steps), a step that does not end as expected, and the load mode's
//! JSON summary (docs/ue-emulator.md).

use std::time::Duration;

use corelab_proto::session::v1 as sm;
use corelab_tests::mbs_lab::*;
use corelab_tests::{Backend, on_both_backends};

on_both_backends! {
    scenario_file_plays_the_seed_and_a_failed_expectation_exits_non_zero => scenario_file;
    load_mode_runs_n_ues_and_prints_a_json_summary => load_mode;
}

/// Run `ue-emulator 5g` attached to the lab with `args` until it exits (bounded).
async fn emulator(lab: &MbsLab, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let mut command = tokio::process::Command::new(labctl::bin_path("ue-emulator")?);
    command
        .args(["5g", "--n1", &format!("http://{}", lab.grpc_listen)])
        .args([
            "--admin-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .kill_on_drop(true);
    Ok(tokio::time::timeout(Duration::from_secs(60), command.output()).await??)
}

async fn scenario_file(backend: Backend) -> anyhow::Result<()> {
    let lab = MbsLab::start(backend, &[]).await?;
    let path = lab.dir.path().join("seed.toml");
    std::fs::write(
        &path,
        r#"
ues = 1
qfi_lists = true
[[step]]
do = "register"
[[step]]
do = "establish"
psi = 1
[[step]]
do = "join"
tmgi = "000001"
psi = 1
[[step]]
do = "lose_coverage"
[[step]]
do = "close_mbs_app"
[[step]]
do = "regain_coverage"
"#,
    )?;
    let path = path.display().to_string();
    let out = emulator(&lab, &["--scenario", &path, "--exit-after-steps"]).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("step 3 ue 0 join ok"), "{stdout}");
    assert!(
        stdout.contains("step 6 ue 0 regain_coverage ok"),
        "{stdout}"
    );
    let mut net = lab.control().await?;
    let ue = network_ue(&mut net, 0).await?;
    assert_eq!(network_qfis(&ue, 1), [1]);
    assert!(ue.tmgis.is_empty());

    // A join the network rejects, where the step expects it accepted: exit status 1.
    let out = emulator(
        &lab,
        &[
            "--first-msin",
            "0000000002",
            "--step",
            "register",
            "--step",
            "establish psi=1",
            "--step",
            "join tmgi=0000ff psi=1",
            "--exit-after-steps",
        ],
    )
    .await?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("step 3"));
    // The same with expect=fail passes.
    let out = emulator(
        &lab,
        &[
            "--first-msin",
            "0000000003",
            "--step",
            "register",
            "--step",
            "establish psi=1",
            "--step",
            "join tmgi=0000ff psi=1 expect=fail",
            "--exit-after-steps",
        ],
    )
    .await?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

async fn load_mode(backend: Backend) -> anyhow::Result<()> {
    let lab = MbsLab::start(backend, &[]).await?;
    let out = emulator(
        &lab,
        &[
            "--ues",
            "20",
            "--rate",
            "0",
            "--load",
            "--load-join",
            "000001",
            "--json",
        ],
    )
    .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("20/20 UEs done"),
        "progress on stderr: {stderr}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(summary["ues"], 20);
    assert_eq!(summary["ues_completed"], 20);
    for procedure in ["register", "establish", "join"] {
        let stats = &summary["procedures"][procedure];
        assert_eq!(stats["ok"], 20, "{procedure}: {summary}");
        assert_eq!(stats["failed"], 0);
        let (p50, p99) = (stats["p50_ms"].as_f64(), stats["p99_ms"].as_f64());
        assert!(p50.is_some() && p50 <= p99, "{procedure}: {stats}");
    }
    // Per UE: REGISTRATION REQUEST/ACCEPT/COMPLETE, ESTABLISHMENT REQUEST/ACCEPT, MODIFICATION
    // REQUEST/COMMAND/COMPLETE.
    assert_eq!(summary["nas_messages"], 20 * 8, "{summary}");
    let mut net = lab.control().await?;
    let ues = net.list_ues(sm::Empty {}).await?.into_inner().ues;
    assert_eq!(ues.len(), 20);
    assert!(ues.iter().all(|ue| ue.tmgis.len() == 1));
    Ok(())
}

/// Bad flags are refused before anything starts, each error naming its flag.
#[tokio::test]
async fn bad_5g_flags_name_the_flag_and_exit_non_zero() -> anyhow::Result<()> {
    let cases: [(&[&str], &str); 5] = [
        (&["--plmn", "1-2"], "--plmn"),
        (&["--step", "fly"], "--step"),
        (&["--step", "join psi=1"], "tmgi"),
        (&["--load", "--load-join", "zz"], "--load-join"),
        (&["--scenario", "/nonexistent/seed.toml"], "--scenario"),
    ];
    for (args, named) in cases {
        let out = tokio::process::Command::new(labctl::bin_path("ue-emulator")?)
            .args(["5g", "--n1", "http://127.0.0.1:1"])
            .args(args)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(20), out).await??;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    Ok(())
}
