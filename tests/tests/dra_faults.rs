//! dra under faults (issue 10 §5), separate processes over TCP: `dra`, `diameter-peer server`
//! as the PCRF, `pcc-emulator load --hold` as many PCEFs/BBERFs at once.
//!
//! - `kill -9` of a vDRA under load loses no binding whose CCA-I was sent: every Session-Id the
//!   client holds (CCA-I received) is in the restarted vDRA's `GET /bindings`.
//! - The bound PCRF down: 3002, the binding kept (no re-selection: docs/dra.md, "Bound PCRF
//!   down"); the client's retry once the PCRF is back reaches it on the same binding.
//! - Two first establishments of one UE at the same instant, through the two DRAs of a mated
//!   pair, make one binding (binding creation is atomic per UE key: docs/dra.md, "Bindings").
//!
//! Needs `cargo build -p corelab-dra -p diameter-peer -p pcc-emulator`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use corelab_tests::{Backend, on_both_backends, postgres_database, until};
use labctl::bin_path;
use serde_json::Value;
use tokio::process::{Child, Command};

#[path = "support/dra_peers.rs"]
mod dra_peers;
use dra_peers::{Dra, Pcrf, ccr, client, connection, dra_config, store_for, ue_keys};

/// `pcc-emulator load --hold --json` of `role` through `dra` (in `mode`) towards `pcrf`, with
/// `extra` arguments, started. Its Origin-Host is `<name>.lab` (Session-Ids start with it, so
/// two loads never share one).
fn load(
    dir: &Path,
    name: &str,
    dra: &Dra,
    mode: &str,
    pcrf: &Pcrf,
    role: &str,
    extra: &[&str],
) -> anyhow::Result<Child> {
    let origin = format!("{name}.lab");
    let args = connection(dra, mode, "after_redirect", &[pcrf])
        .into_iter()
        .map(|a| if a == "pcc.lab" { origin.clone() } else { a });
    Ok(Command::new(bin_path("pcc-emulator")?)
        .arg("load")
        .args(args)
        .args(["--role", role, "--hold", "--json", "-q"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log")))?)
        .kill_on_drop(true)
        .spawn()?)
}

/// The load's `--json` summary once it has exited (within 60 s).
async fn summary(child: Child) -> anyhow::Result<Value> {
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await??;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rfind(|l| l.starts_with('{'))
        .ok_or_else(|| anyhow::anyhow!("no JSON summary ({}): {text}", out.status))?;
    Ok(serde_json::from_str(line)?)
}

/// The Session-Ids of the summary's held sessions.
fn held(summary: &Value) -> BTreeSet<String> {
    (summary["held"].as_array().into_iter().flatten())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Every Session-Id recorded in `bindings`.
fn recorded(bindings: &[Value]) -> BTreeSet<String> {
    (bindings.iter())
        .flat_map(|b| b["sessions"].as_array().into_iter().flatten())
        .filter_map(|s| s["session_id"].as_str().map(str::to_string))
        .collect()
}

/// A vDRA in `mode` is killed (SIGKILL) while `pcc-emulator load --hold` establishes sessions
/// through it; restarted on the same store, it has the binding of every session whose CCA-I the
/// client received (the binding is committed before the CCR-I is forwarded, or redirected, so
/// before any CCA-I can come back).
async fn kill_under_load(backend: Backend, mode: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pcrf = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let store = store_for(backend, dir.path()).await?;
    let cfg = dra_config(dir.path(), &store, "visited", mode, &[&pcrf], "");
    let dra = Dra::start(dir.path(), "vdra", &cfg).await?;
    let client = load(
        dir.path(),
        "load",
        &dra,
        mode,
        &pcrf,
        "pcef",
        &[
            "--ues",
            "20",
            "--sessions",
            "100000",
            "--duration",
            "4",
            "--rate",
            "300",
            "--request-timeout-secs",
            "2",
        ],
    )?;
    until(Duration::from_secs(30), "bindings under load", || {
        let dra = &dra;
        async move {
            let n = dra
                .metric("corelab_dra_bindings_created_total")
                .await
                .ok()?;
            // Sessions of a UE after its first join its binding: 20 UEs, 20 bindings.
            let proxied = dra
                .metric("corelab_dra_proxied_requests_total")
                .await
                .ok()?;
            let redirected = dra.metric("corelab_dra_redirects_total").await.ok()?;
            (n >= 20.0 && proxied + redirected >= 60.0).then_some(())
        }
    })
    .await?;
    dra.node.kill().await?;
    let s = summary(client).await?;
    let held = held(&s);
    assert!(!held.is_empty(), "sessions were established: {s}");

    let dra = Dra::start(dir.path(), "vdra", &cfg).await?;
    let bindings = dra.bindings("").await?;
    let recorded = recorded(&bindings);
    let lost: Vec<&String> = held.difference(&recorded).collect();
    let failovers: Vec<String> = std::fs::read_to_string(dir.path().join("load.log"))?
        .lines()
        .filter(|l| l.contains("failover"))
        .map(str::to_string)
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} sessions whose CCA-I was received have no binding after the restart: {lost:?}\n\
         the client's failovers: {failovers:#?}",
        lost.len(),
        held.len()
    );
    println!(
        "{mode}: {} sessions held by the client, {} recorded after the restart, load: ok {} failed {}",
        held.len(),
        recorded.len(),
        s["sessions_ok"],
        s["sessions_failed"]
    );
    Ok(())
}

/// The PCRF a new binding chose is down: the proxy vDRA answers 3002 DIAMETER_UNABLE_TO_DELIVER
/// and keeps the binding (it does not re-select: the CCR-I may have reached the PCRF before the
/// connection failed). The same CCR-I again once the PCRF is back on its address is forwarded to
/// it on the same binding and answered 2001.
async fn bound_pcrf_down(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pcrf = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let (host, addr) = (pcrf.host.clone(), pcrf.addr.clone());
    let store = store_for(backend, dir.path()).await?;
    let cfg = dra_config(dir.path(), &store, "visited", "proxy", &[&pcrf], "");
    let dra = Dra::start(dir.path(), "vdra", &cfg).await?;
    pcrf.stop().await?;

    let ccr_i = ccr(
        "gx",
        "pcef.lab;1;1",
        "INITIAL_REQUEST",
        0,
        &ue_keys("10.45.0.40"),
    );
    let code = client(
        dir.path(),
        "pcef.lab",
        &dra.diameter(),
        &ccr_i,
        Some("3002"),
    )
    .await?;
    assert_eq!(code, 0, "the PCRF down: 3002");
    let bindings = dra.bindings("").await?;
    assert_eq!(bindings.len(), 1, "the binding is kept: {bindings:?}");
    assert_eq!(bindings[0]["pcrf_host"], host.as_str());

    let _pcrf = Pcrf::start_at(dir.path(), &host, &addr, &[]).await?;
    let code = client(dir.path(), "pcef.lab", &dra.diameter(), &ccr_i, None).await?;
    assert_eq!(code, 0, "the PCRF back: the retried CCR-I answered 2001");
    let after = dra.bindings("").await?;
    assert_eq!(after.len(), 1, "still one binding: {after:?}");
    assert_eq!(after[0]["binding_id"], bindings[0]["binding_id"]);
    assert_eq!(dra.metric("corelab_dra_bindings_created_total").await?, 1.0);
    Ok(())
}

/// Requests the DRA cannot serve get the base protocol's answers from the DRA itself: another
/// application (Diameter Credit-Control, 4) 3007 DIAMETER_APPLICATION_UNSUPPORTED; a realm with no
/// route 3003 DIAMETER_REALM_NOT_SERVED; and nothing is bound.
async fn unserved_requests(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pcrf = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let store = store_for(backend, dir.path()).await?;
    let cfg = dra_config(dir.path(), &store, "visited", "proxy", &[&pcrf], "");
    let dra = Dra::start(dir.path(), "vdra", &cfg).await?;
    let keys = ue_keys("10.45.0.41");
    // The client advertises Gx too, so that the capabilities exchange finds a common
    // application (with Credit-Control alone the CER fails: 5010, RFC 6733 §5.3).
    let gy = dir.path().join("gy.toml");
    std::fs::write(&gy, ccr("4", "pcef.lab;1;gy", "INITIAL_REQUEST", 0, &keys))?;
    let status = Command::new(bin_path("diameter-peer")?)
        .args([
            "client",
            "--origin-host",
            "pcef.lab",
            "--origin-realm",
            "lab",
        ])
        .args(["--app", "gx", "--app", "4", "--expect", "3007", "--connect"])
        .arg(dra.diameter())
        .arg("--requests")
        .arg(&gy)
        .stdout(std::fs::File::create(dir.path().join("gy.out"))?)
        .stderr(Stdio::null())
        .status();
    let status = tokio::time::timeout(Duration::from_secs(30), status).await??;
    assert_eq!(
        status.code(),
        Some(0),
        "application 4: 3007; {}",
        std::fs::read_to_string(dir.path().join("gy.out"))?
    );
    let elsewhere = ccr("gx", "pcef.lab;1;gx", "INITIAL_REQUEST", 0, &keys)
        .replace("value = \"lab\"", "value = \"nowhere.example\"");
    let code = client(
        dir.path(),
        "pcef.lab",
        &dra.diameter(),
        &elsewhere,
        Some("3003"),
    )
    .await?;
    assert_eq!(code, 0, "a realm with no route: 3003");
    assert_eq!(dra.bindings("").await?, Vec::<Value>::new());
    Ok(())
}

async fn kill_proxy_under_load(backend: Backend) -> anyhow::Result<()> {
    kill_under_load(backend, "proxy").await
}

async fn kill_redirect_under_load(backend: Backend) -> anyhow::Result<()> {
    kill_under_load(backend, "redirect").await
}

on_both_backends! {
    unknown_application_is_3007_and_a_realm_without_route_3003 => unserved_requests;
    kill_9_of_a_dra_under_load_loses_no_binding_whose_cca_i_was_sent => kill_proxy_under_load;
    kill_9_of_a_redirect_dra_under_load_loses_no_binding_whose_cca_i_was_received => kill_redirect_under_load;
    the_bound_pcrf_down_is_3002_and_the_retry_reaches_it_when_back => bound_pcrf_down;
}

/// Two vDRAs of a mated pair (redirect, one PostgreSQL store) receive the first establishments
/// of the same 150 UEs at the same time: the BBERFs' Gxx CCR-Is through one, the PCEFs' Gx
/// CCR-Is through the other. Each UE ends with one binding holding its sessions; before the
/// creation was atomic per UE key, some UEs got two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn simultaneous_first_establishments_of_one_ue_make_one_binding() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pcrf = Pcrf::start(dir.path(), "vpcrf1.lab").await?;
    let url = postgres_database().await?;
    let cfg = dra_config(dir.path(), &url, "visited", "redirect", &[&pcrf], "");
    let a = Dra::start(dir.path(), "vdra-a", &cfg).await?;
    let b = Dra::start(dir.path(), "vdra-b", &cfg).await?;
    let ues = ["--ues", "150", "--sessions", "150"];
    let bberf = load(dir.path(), "bberf", &a, "redirect", &pcrf, "bberf", &ues)?;
    let pcef = load(dir.path(), "pcef", &b, "redirect", &pcrf, "pcef", &ues)?;
    let (bberf, pcef) = (summary(bberf).await?, summary(pcef).await?);
    let mut sessions = held(&bberf);
    sessions.extend(held(&pcef));
    let warnings: Vec<String> = ["vdra-a", "vdra-b"]
        .iter()
        .flat_map(|n| {
            let log = std::fs::read_to_string(dir.path().join(format!("{n}.log")));
            let lines: Vec<String> = log
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            lines
        })
        .filter(|l| l.contains("WARN"))
        .collect();
    assert_eq!(
        sessions.len(),
        300,
        "every establishment answered: {bberf} {pcef}\nDRA warnings: {warnings:#?}"
    );

    let bindings = a.bindings("").await?;
    assert_eq!(b.bindings("").await?, bindings, "one store");
    let mut per_ue: BTreeMap<&str, usize> = BTreeMap::new();
    for binding in &bindings {
        *per_ue
            .entry(binding["nai"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    let doubled: Vec<_> = per_ue.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "UEs with more than one binding: {doubled:?}"
    );
    assert_eq!(recorded(&bindings), sessions, "every session recorded");
    Ok(())
}
