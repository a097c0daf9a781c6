//! pcc-emulator over the wire (issue 10 §3): separate processes — `pcc-emulator` as the PCEF,
//! BBERF and AF, the real `dra` as the vDRA (redirect, proxy, proxy_variant), and
//! `diameter-peer server` as the PCRFs (until `pcrf` lands) — over TCP on loopback. The
//! assertions read the vDRA's `GET /bindings`: establishment then termination leaves no
//! binding, in every mode and both of the seed's orderings.
//!
//! Needs `cargo build -p pcc-emulator -p corelab-dra -p diameter-peer`.

use std::path::Path;
use std::time::Duration;

use corelab_proto::pcc::v1 as pb;
use corelab_proto::pcc::v1::pcc_control_client::PccControlClient;
use corelab_tests::{Backend, on_both_backends, until};
use labctl::bin_path;
use serde_json::Value;
use tokio::process::{Child, Command};

#[path = "support/dra_peers.rs"]
mod dra_peers;
use dra_peers::{Dra, Pcrf, connection, dra_config, run_scenario, store_for};

/// A vDRA in `mode` in front of two PCRFs.
async fn network(
    dir: &Path,
    backend: Backend,
    mode: &str,
    extra: &[String],
) -> anyhow::Result<(Dra, Pcrf, Pcrf)> {
    let p1 = Pcrf::start_with(dir, "vpcrf1.lab", extra).await?;
    let p2 = Pcrf::start_with(dir, "vpcrf2.lab", extra).await?;
    let url = store_for(backend, dir).await?;
    let dra = Dra::start(
        dir,
        "vdra",
        &dra_config(dir, &url, "visited", mode, &[&p1, &p2], ""),
    )
    .await?;
    Ok((dra, p1, p2))
}

/// `pcc-emulator serve`: its control service's URL.
struct Serve {
    url: String,
    _child: Child,
}

impl Serve {
    async fn start(dir: &Path, args: Vec<String>) -> anyhow::Result<Serve> {
        let out = dir.join("serve.out");
        let child = Command::new(bin_path("pcc-emulator")?)
            .arg("serve")
            .args(args)
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(dir.join("serve.log"))?)
            .kill_on_drop(true)
            .spawn()?;
        let addr = until(Duration::from_secs(20), "pcc-emulator serving", || {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            async move {
                text.lines()
                    .find_map(|l| l.strip_prefix("control listening on "))
                    .map(|a| a.trim().to_string())
            }
        })
        .await?;
        Ok(Serve {
            url: format!("http://{addr}"),
            _child: child,
        })
    }

    async fn client(&self) -> anyhow::Result<PccControlClient<tonic::transport::Channel>> {
        Ok(PccControlClient::connect(self.url.clone()).await?)
    }
}

fn ue(ip: &str) -> pb::Ue {
    pb::Ue {
        nai: "001010000000001".into(),
        ip: ip.into(),
        apn: "internet".into(),
    }
}

/// Establishes a PCEF, a BBERF and an AF session of one UE through the control service, checks
/// the vDRA holds one binding with three sessions and every session remembers (redirect,
/// proxy_variant) or not (proxy) its PCRF, terminates the three, and checks no binding is left.
async fn establish_then_terminate(
    backend: Backend,
    mode: &str,
    ordering: &str,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (dra, p1, p2) = network(dir.path(), backend, mode, &[]).await?;
    let emu = Serve::start(dir.path(), connection(&dra, mode, ordering, &[&p1, &p2])).await?;
    let mut c = emu.client().await?;
    let mut ids = Vec::new();
    for role in ["bberf", "pcef", "af"] {
        let r = c
            .establish(pb::EstablishRequest {
                role: role.into(),
                ue: Some(ue("10.45.1.1")),
                target: String::new(),
            })
            .await?
            .into_inner();
        assert_eq!(r.result_code, 2001, "{role} establishment in {mode}");
        ids.push(r.session_id);
    }
    let b = dra.bindings("").await?;
    assert_eq!(b.len(), 1, "one binding for the UE's IP-CAN session: {b:?}");
    assert_eq!(b[0]["sessions"].as_array().map(Vec::len), Some(3), "{b:?}");
    let bound = b[0]["pcrf_host"].as_str().unwrap_or_default().to_string();
    let sessions = c.list_sessions(pb::Empty {}).await?.into_inner().sessions;
    assert_eq!(sessions.len(), 3);
    for s in &sessions {
        let want = if mode == "proxy" { "" } else { bound.as_str() };
        assert_eq!(
            s.pcrf_host, want,
            "{mode}: the PCRF remembered for {}",
            s.role
        );
    }
    if mode != "proxy" {
        let r = c
            .modify(pb::SessionRequest {
                session_id: ids[1].clone(),
                target: String::new(),
                ordering: String::new(),
            })
            .await?
            .into_inner();
        assert_eq!(r.result_code, 2001, "CCR-U straight to the PCRF");
    }
    let redirects_before = dra.metric("corelab_dra_redirects_total").await?;
    for id in ids.iter().rev() {
        let r = c
            .terminate(pb::SessionRequest {
                session_id: id.clone(),
                target: String::new(),
                ordering: String::new(),
            })
            .await?
            .into_inner();
        assert_eq!(
            r.result_code, 2001,
            "termination of {id} in {mode} {ordering}"
        );
    }
    assert!(
        c.list_sessions(pb::Empty {})
            .await?
            .into_inner()
            .sessions
            .is_empty()
    );
    // The orderings differ on the wire: after_redirect follows the vDRA's 3006 for each
    // termination; at_once addresses the vDRA itself (acknowledged 2001) and the PCRF at once.
    let redirected = dra.metric("corelab_dra_redirects_total").await? - redirects_before;
    let want = if mode == "redirect" && ordering == "after_redirect" {
        3.0
    } else {
        0.0
    };
    assert_eq!(
        redirected, want,
        "{mode} {ordering}: 3006 answers to the terminations"
    );
    let left = dra.bindings("").await?;
    assert!(
        left.is_empty(),
        "{mode} {ordering}: bindings left: {left:?}"
    );
    Ok(())
}

/// Rows 1-3, the seed's sequential ordering: termination to the vDRA, then to the PCRF its
/// 3006 names.
async fn redirect_after_redirect(backend: Backend) -> anyhow::Result<()> {
    establish_then_terminate(backend, "redirect", "after_redirect").await
}

/// Rows 1-3, "at once": termination to the vDRA (addressed to it) and to the PCRF in parallel.
async fn redirect_at_once(backend: Backend) -> anyhow::Result<()> {
    establish_then_terminate(backend, "redirect", "at_once").await
}

/// Rows 7-9: everything through the proxy vDRA.
async fn proxy(backend: Backend) -> anyhow::Result<()> {
    establish_then_terminate(backend, "proxy", "after_redirect").await
}

/// Proxy variant: establishment and termination via the vDRA, the modification direct.
async fn proxy_variant(backend: Backend) -> anyhow::Result<()> {
    establish_then_terminate(backend, "proxy_variant", "after_redirect").await
}

/// Embodiments 1, 2 and 3's client side from a scenario file (BBERF, AF, PCEF in redirect
/// mode, both orderings mixed by step); every message printed; a wrong expectation exits 1.
async fn scenario_file(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (dra, p1, p2) = network(dir.path(), backend, "redirect", &[]).await?;
    let ue = "ue = { nai = \"001010000000002\", ip = \"10.45.2.1\", apn = \"internet\" }";
    let scenario = format!(
        "mode = \"redirect\"\nordering = \"after_redirect\"\n\
         [[step]]\nrole = \"bberf\"\n{ue}\naction = \"establish\"\nexpect = 2001\n\
         [[step]]\nrole = \"pcef\"\n{ue}\naction = \"establish\"\n\
         [[step]]\nrole = \"af\"\n{ue}\naction = \"establish\"\n\
         [[step]]\nsession = \"pcef\"\naction = \"modify\"\n\
         [[step]]\nsession = \"bberf\"\naction = \"terminate\"\nordering = \"at_once\"\n\
         [[step]]\nsession = \"af\"\naction = \"terminate\"\n\
         [[step]]\nsession = \"pcef\"\naction = \"terminate\"\nexpect = 2001\n"
    );
    let args = connection(&dra, "redirect", "after_redirect", &[&p1, &p2]);
    let (code, out) = run_scenario(dir.path(), "embodiments-1-3", args.clone(), &scenario).await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(">> bberf CCR-I to visiteddra.lab"), "{out}");
    assert!(out.contains("Result-Code=3006"), "{out}");
    assert!(out.contains(">> af STR to visiteddra.lab"), "{out}");
    assert!(out.contains("-- 7 steps, 0 mismatches"), "{out}");
    assert!(dra.bindings("").await?.is_empty());

    let wrong = format!("[[step]]\nrole = \"pcef\"\n{ue}\naction = \"establish\"\nexpect = 5030\n");
    let (code, out) = run_scenario(dir.path(), "mismatch", args, &wrong).await?;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("step 1: establish pcef: Result-Code 2001, expected 5030"),
        "{out}"
    );
    Ok(())
}

/// The PCRF's RAR (after the CCA-I) is answered RAA 2001; its ASR to the AF (after the AAA) is
/// answered ASA, and the AF then sends STR, which ends its session and its record at the vDRA.
async fn rar_and_asr_answered(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let rar = dir.path().join("rar.toml");
    std::fs::write(
        &rar,
        "[[request]]\ncommand = \"Re-Auth\"\napplication = \"gx\"\navps = [\n\
         { name = \"Session-Id\", value = \"${session}\" },\n\
         { name = \"Destination-Realm\", value = \"${peer_realm}\" },\n\
         { name = \"Destination-Host\", value = \"${peer_host}\" },\n\
         { name = \"Re-Auth-Request-Type\", value = \"AUTHORIZE_ONLY\" },\n]\n",
    )?;
    let asr = dir.path().join("asr.toml");
    std::fs::write(
        &asr,
        "[[request]]\ncommand = \"Abort-Session\"\napplication = \"rx\"\navps = [\n\
         { name = \"Session-Id\", value = \"${session}\" },\n\
         { name = \"Destination-Realm\", value = \"${peer_realm}\" },\n\
         { name = \"Destination-Host\", value = \"${peer_host}\" },\n\
         { name = \"Abort-Cause\", value = \"BEARER_RELEASED\" },\n]\n",
    )?;
    let after = vec![
        "--send-after-answer".to_string(),
        format!("CCR-I={}", rar.display()),
        "--send-after-answer".to_string(),
        format!("AA={}", asr.display()),
    ];
    let (dra, p1, p2) = network(dir.path(), backend, "redirect", &after).await?;
    let ue = "ue = { nai = \"001010000000003\", ip = \"10.45.3.1\" }";
    let scenario = format!(
        "[[step]]\nrole = \"pcef\"\n{ue}\naction = \"establish\"\n\
         [[step]]\naction = \"await_requests\"\ncount = 1\n\
         [[step]]\nrole = \"af\"\n{ue}\naction = \"establish\"\n\
         [[step]]\nsession = \"af\"\naction = \"await_end\"\n\
         [[step]]\nsession = \"pcef\"\naction = \"terminate\"\n"
    );
    let args = connection(&dra, "redirect", "after_redirect", &[&p1, &p2]);
    let (code, out) = run_scenario(dir.path(), "rar", args, &scenario).await?;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Re-Auth-Answer (RAA) app=Gx"), "{out}");
    assert!(out.contains("Result-Code=2001"), "{out}");
    assert!(out.contains("Abort-Session-Answer (ASA) app=Rx"), "{out}");
    assert!(
        out.contains(">> af STR to visiteddra.lab"),
        "the AF's STR after the ASR: {out}"
    );
    assert!(
        dra.bindings("").await?.is_empty(),
        "every session ended, no binding"
    );
    Ok(())
}

/// Load mode, small and bounded: 3 UEs, 12 PCEF sessions (CCR-I, CCR-U, CCR-T) through a proxy
/// vDRA; the JSON summary has every procedure and no error, and no binding is left.
async fn load_smoke(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (dra, p1, p2) = network(dir.path(), backend, "proxy", &["--quiet".to_string()]).await?;
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(bin_path("pcc-emulator")?)
            .arg("load")
            .args(connection(&dra, "proxy", "after_redirect", &[&p1, &p2]))
            .args(["--ues", "3", "--sessions", "12", "--modify", "--json"])
            .output(),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_str(stdout.trim())?;
    assert_eq!(j["sessions_ok"], 12, "{j}");
    assert_eq!(j["sessions_failed"], 0, "{j}");
    for p in ["CCR-I", "CCR-U", "CCR-T"] {
        assert_eq!(j["procedures"][p]["answers"], 12, "{p}: {j}");
        assert!(
            j["procedures"][p]["latency_us"]["p99"].as_u64().is_some(),
            "{j}"
        );
    }
    assert!(dra.bindings("").await?.is_empty());
    Ok(())
}

/// The one-shot subcommands drive a running `serve`: `establish` prints the Session-Id and
/// 2001, `list` shows the session with its PCRF, `terminate` ends it and the binding goes.
async fn subcommands_drive_serve(backend: Backend) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (dra, p1, p2) = network(dir.path(), backend, "redirect", &[]).await?;
    let emu = Serve::start(
        dir.path(),
        connection(&dra, "redirect", "at_once", &[&p1, &p2]),
    )
    .await?;
    let cli = |args: &[&str]| {
        let mut c = Command::new(bin_path("pcc-emulator").unwrap_or_default());
        c.args(args).args(["--control", &emu.url]);
        async move {
            let o = tokio::time::timeout(Duration::from_secs(30), c.output()).await??;
            anyhow::Ok((
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).to_string(),
            ))
        }
    };
    let (code, out) = cli(&[
        "establish",
        "--role",
        "pcef",
        "--nai",
        "001010000000004",
        "--ip",
        "10.45.4.1",
    ])
    .await?;
    assert_eq!(code, Some(0), "{out}");
    let (sid, rc) = out.trim().rsplit_once(' ').unwrap_or_default();
    assert_eq!(rc, "2001", "{out}");
    let (_, listed) = cli(&["list"]).await?;
    assert!(
        listed.contains(sid) && listed.contains("pcrf=vpcrf"),
        "{listed}"
    );
    assert_eq!(dra.bindings("").await?.len(), 1);
    let (code, out) = cli(&["terminate", "--session-id", sid]).await?;
    assert_eq!(code, Some(0), "{out}");
    assert!(dra.bindings("").await?.is_empty());
    Ok(())
}

on_both_backends! {
    the_subcommands_drive_a_running_serve => subcommands_drive_serve;
    redirect_after_the_redirect_leaves_no_binding => redirect_after_redirect;
    redirect_at_once_leaves_no_binding => redirect_at_once;
    proxy_leaves_no_binding => proxy;
    proxy_variant_leaves_no_binding => proxy_variant;
    a_scenario_file_plays_embodiments_1_to_3_and_a_mismatch_exits_1 => scenario_file;
    the_pcrfs_rar_and_asr_are_answered_and_the_af_sends_str => rar_and_asr_answered;
    load_mode_smoke_run => load_smoke;
}
