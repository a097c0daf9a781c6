//! Issue 14 §1: every node streams the protocol messages it sends and receives (the wire tap on
//! its gRPC control port), and `labctl capture` writes them as pcapng that tshark decodes.
//!
//! Real processes: presence-server (SIP over UDP from a raw socket), pcrf (Diameter from
//! `diameter-peer client`), session-manager with a `ue-emulator 5g` gNB (NAS-5GS on N1). One
//! `labctl capture` subscribes to all three, a second one only to the REGISTER's Call-ID; tshark
//! (an independent decoder) then reads both files: SIP, Diameter and NAS-5GS dissected, no
//! malformed frame and no expert error. Without tshark the test fails when
//! `CORELAB_REQUIRE_PEERS=1` (scripts/test.sh) and is skipped with a message otherwise.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/dra_peers.rs"]
mod dra_peers;
#[path = "support/raw_sip.rs"]
mod raw_sip;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use capture::{start_capture, stop_capture};
use corelab_tests::mbs_lab::{MbsLab, register_and_establish};
use corelab_tests::{Backend, Lab};
use labctl::bin_path;
use raw_sip::{Udp, header, request, status_line};
use tokio::process::Command;

fn tshark_present() -> bool {
    let present = std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        let required = std::env::var("CORELAB_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CORELAB_REQUIRE_PEERS=1 and tshark is missing (bash scripts/install-peers.sh)"
        );
        eprintln!("SKIPPED: tshark missing (bash scripts/install-peers.sh)");
    }
    present
}

/// tshark's one-line-per-frame protocol stacks and its expert errors for `file`.
fn tshark(file: &Path, decode_as: &[String]) -> anyhow::Result<(Vec<String>, String)> {
    let mut args: Vec<String> = vec![
        "-r".into(),
        file.display().to_string(),
        "-o".into(),
        r#"uat:user_dlts:"User 0 (DLT=147)","nas-5gs","0","","0","""#.into(),
    ];
    for d in decode_as {
        args.extend(["-d".into(), d.clone()]);
    }
    let stacks = std::process::Command::new("tshark")
        .args(&args)
        .args(["-T", "fields", "-e", "frame.protocols"])
        .output()?;
    anyhow::ensure!(
        stacks.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&stacks.stderr)
    );
    let expert = std::process::Command::new("tshark")
        .args(&args)
        .args(["-q", "-z", "expert,error"])
        .output()?;
    Ok((
        String::from_utf8_lossy(&stacks.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        String::from_utf8_lossy(&expert.stdout).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn labctl_capture_writes_sip_diameter_and_nas_that_tshark_decodes() -> anyhow::Result<()> {
    if !tshark_present() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;

    // The three nodes.
    let presence = Lab::start(Backend::Sqlite, "").await?;
    let pcrf = dra_peers::start_pcrf(
        dir.path(),
        "pcrf",
        &format!("sqlite://{}/pcrf.db", dir.path().display()),
        "pcrf.lab",
        "lab",
        "visited",
        "",
    )
    .await?;
    let mbs_dir = tempfile::tempdir()?;
    let mbs_url = format!("sqlite://{}/sm.db", mbs_dir.path().display());
    let mut mbs = MbsLab::start_on(mbs_dir, mbs_url, "", &[]).await?;
    let sm = mbs
        .session_manager
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no session-manager"))?;
    let from = vec![
        format!("presence={}", presence.server().addrs["grpc"]),
        format!("pcrf={}", pcrf.addrs["grpc"]),
        format!("session-manager={}", sm.addrs["grpc"]),
    ];

    // A REGISTER we know the Call-ID of, for the filtered capture.
    let ue = Udp::bind()?;
    let register = request(
        "REGISTER",
        "sip:lab.example",
        "alice",
        &ue.local(),
        "UDP",
        "Expires: 60\r\n",
        "",
    );
    let call_id = header(&register, "Call-ID").expect("Call-ID");

    let all_path = dir.path().join("all.pcapng");
    let one_path = dir.path().join("register.pcapng");
    let all = start_capture(&from, &all_path, &[]).await?;
    let one = start_capture(&from[..1], &one_path, &["--call-id", &call_id]).await?;

    // SIP: REGISTER and an OPTIONS (another Call-ID), each answered.
    let sip = presence.server().sip_addr();
    ue.send(&sip, register.as_bytes())?;
    let answer = ue.message(Duration::from_secs(5))?;
    assert_eq!(status_line(&answer), "SIP/2.0 200 OK", "{answer}");
    let options = request(
        "OPTIONS",
        "sip:lab.example",
        "alice",
        &ue.local(),
        "UDP",
        "",
        "",
    );
    ue.send(&sip, options.as_bytes())?;
    ue.message(Duration::from_secs(5))?;

    // Diameter: a Gx CCR-I answered by the PCRF (with CER/CEA and DPR/DPA around it).
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/diameter-peer/examples");
    let status = Command::new(bin_path("diameter-peer")?)
        .args([
            "client",
            "--origin-host",
            "pcef.lab",
            "--origin-realm",
            "lab",
            "--connect",
            &pcrf.addrs["diameter"],
            "--expect",
            "2001",
            "--requests",
        ])
        .arg(examples.join("gx-ccr-i.toml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    assert!(status.success(), "diameter-peer client: {status:?}");

    // NAS: a UE registers and establishes a PDU session.
    let mut gnb = mbs.gnb("gnb-1", &["--ues", "1"]).await?;
    register_and_establish(&mut gnb, 0, 1).await?;

    let all_out = stop_capture(all).await?;
    let one_out = stop_capture(one).await?;
    for line in [
        "REGISTER sip:lab.example SIP/2.0",
        "SIP/2.0 200 OK",
        "OPTIONS sip:lab.example SIP/2.0",
        "CER",
        "CCR",
        "CCA",
        "REGISTRATION REQUEST",
        "REGISTRATION ACCEPT",
        "UL NAS TRANSPORT",
        "DL NAS TRANSPORT",
    ] {
        assert!(
            all_out.to_uppercase().contains(&line.to_uppercase()),
            "`{line}` not in the capture's lines:\n{all_out}"
        );
    }
    assert!(all_out.contains("from 3 node(s)"), "{all_out}");

    // tshark over the whole capture.
    let sip_port = sip.rsplit(':').next().unwrap_or_default().to_string();
    let diameter_port = pcrf.addrs["diameter"]
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let decode_as = [
        format!("udp.port=={sip_port},sip"),
        format!("tcp.port=={diameter_port},diameter"),
    ];
    let (stacks, expert) = tshark(&all_path, &decode_as)?;
    let count = |proto: &str| {
        stacks
            .iter()
            .filter(|s| s.split(':').any(|p| p == proto))
            .count()
    };
    assert!(count("sip") >= 4, "SIP frames: {stacks:?}");
    assert!(count("diameter") >= 4, "Diameter frames: {stacks:?}");
    assert!(count("nas-5gs") >= 4, "NAS-5GS frames: {stacks:?}");
    assert!(
        stacks.iter().all(|s| !s.contains("malformed")),
        "malformed frames: {stacks:?}"
    );
    assert!(!expert.contains("Error"), "tshark expert errors:\n{expert}");

    // The filtered capture holds the REGISTER's transaction only.
    let (stacks, _) = tshark(&one_path, &decode_as)?;
    assert_eq!(stacks.len(), 2, "REGISTER and its 200 only: {one_out}");
    assert!(
        one_out.contains("REGISTER") && !one_out.contains("OPTIONS"),
        "{one_out}"
    );
    Ok(())
}
