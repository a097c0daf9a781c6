//! tshark (Wireshark's dissectors, Debian `tshark`) decodes every message this crate encodes
//! whose IEs it knows with no expert entry, no malformed packet and no extraneous data.
//! tshark 4.0 knows no Rel-17 MBS container and, of course, not the lab's 0x7C IE: at those it
//! stops with an "Extraneous Data" note, so the samples carrying them are excepted (pycrate
//! checks them, tests/pycrate.rs). Recipe: PEERS.md "tshark" (text2pcap -l 147, user DLT
//! `nas-5gs`). Skipped without tshark/text2pcap, and FAILS then when CORELAB_REQUIRE_PEERS=1.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use corelab_nas::NasMessage;

fn tools_present() -> bool {
    ["tshark", "text2pcap"].iter().all(|tool| {
        Command::new(tool)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

fn skip_unless_present() -> bool {
    if tools_present() {
        return false;
    }
    let required = std::env::var("CORELAB_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "CORELAB_REQUIRE_PEERS=1 and tshark/text2pcap is missing (bash scripts/install-peers.sh)"
    );
    eprintln!("SKIPPED: tshark/text2pcap missing (bash scripts/install-peers.sh)");
    true
}

/// The frame numbers (1-based, in the order of `pdus`) that tshark flags.
fn flagged_frames(test: &str, pdus: &[Vec<u8>]) -> Vec<usize> {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("corelab-nas-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut dump = String::new();
    for pdu in pdus {
        for (at, chunk) in pdu.chunks(16).enumerate() {
            let octets: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            dump.push_str(&format!("{:06x} {}\n", at * 16, octets.join(" ")));
        }
    }
    let (text, pcap) = (dir.join("dump.txt"), dir.join("nas.pcap"));
    std::fs::write(&text, dump).expect("write dump");
    let status = Command::new("timeout")
        .args(["60", "text2pcap", "-q", "-l", "147"])
        .arg(&text)
        .arg(&pcap)
        .status()
        .expect("text2pcap runs");
    assert!(status.success(), "text2pcap failed");
    let output = Command::new("timeout")
        .args(["60", "tshark", "-r"])
        .arg(&pcap)
        .args([
            "-o",
            r#"uat:user_dlts:"User 0 (DLT=147)","nas-5gs","0","","0","""#,
            "-Y",
            "nas_5gs.extraneous_data || _ws.expert || _ws.malformed || !nas-5gs",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .expect("tshark runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

#[test]
fn tshark_decodes_every_message_whose_ies_it_knows_without_expert_entries() {
    if skip_unless_present() {
        return;
    }
    let known: Vec<(&str, Vec<u8>)> = common::samples()
        .into_iter()
        .filter(|(_, message, mbs)| {
            !mbs && !matches!(message, NasMessage::RegistrationRequest(r) if r.qfi_lists.is_some())
        })
        .map(|(name, message, _)| (name, message.encode().expect("sample encodes")))
        .collect();
    assert!(
        known.len() >= 10,
        "too few samples for tshark: {}",
        known.len()
    );
    let pdus: Vec<Vec<u8>> = known.iter().map(|(_, pdu)| pdu.clone()).collect();
    let flagged: Vec<&str> = flagged_frames("samples", &pdus)
        .into_iter()
        .filter_map(|frame| known.get(frame.checked_sub(1)?).map(|(name, _)| *name))
        .collect();
    assert!(flagged.is_empty(), "tshark flags {flagged:?}");
}

/// The check has teeth: a repeated IE and a trailing octet are flagged.
#[test]
fn tshark_check_flags_a_repeated_ie_and_a_trailing_octet() {
    if skip_unless_present() {
        return;
    }
    let repeated = common::hex("7e004172000bf202f839caff80112233445002200050026000");
    let trailing = common::hex("7e00646000");
    assert_eq!(flagged_frames("teeth", &[repeated, trailing]), [1, 2]);
}
