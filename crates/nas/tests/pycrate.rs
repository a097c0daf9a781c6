//! pycrate (an independent NAS-5GS decoder, PyPI) parses every message this crate encodes:
//! `crates/nas/tests/pycrate_check.py` says what it checks. Skipped (with a line saying so) when
//! python3 or pycrate is missing, and FAILS then when CORELAB_REQUIRE_PEERS=1 (scripts/test.sh).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn pycrate_present() -> bool {
    Command::new("python3")
        .args(["-c", "import pycrate_mobile.NAS5G"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[test]
fn pycrate_parses_every_message_we_encode_to_the_same_octets() {
    if !pycrate_present() {
        let required = std::env::var("CORELAB_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CORELAB_REQUIRE_PEERS=1 and python3 with pycrate is missing (bash scripts/install-peers.sh)"
        );
        eprintln!("SKIPPED: python3 with pycrate is missing (bash scripts/install-peers.sh)");
        return;
    }
    let mut lines = String::new();
    for (name, message, mbs) in common::samples() {
        let octets = message.encode().expect("sample encodes");
        let mut flags = vec!["-"];
        if mbs {
            flags.push("mbs");
        }
        if matches!(&message, corelab_nas::NasMessage::RegistrationRequest(r) if r.qfi_lists.is_some())
        {
            flags.push("qfi-lists");
        }
        let hex: String = octets.iter().map(|b| format!("{b:02x}")).collect();
        lines.push_str(&format!("{name}\t{}\t{hex}\n", flags.join(",")));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pycrate_check.py");
    let mut child = Command::new("timeout")
        .args(["60", "python3", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write PDUs");
    let output = child.wait_with_output().expect("pycrate_check.py ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "pycrate disagrees:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        common::samples().len()
    );
}

/// The checker has teeth: trailing octets (which pycrate's parse_NAS5G returns 0 for) and an
/// unknown IE where none is expected make it fail.
#[test]
fn pycrate_check_refuses_trailing_octets_and_unknown_ies() {
    if !pycrate_present() {
        let required = std::env::var("CORELAB_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CORELAB_REQUIRE_PEERS=1 and python3 with pycrate is missing"
        );
        eprintln!("SKIPPED: python3 with pycrate is missing");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pycrate_check.py");
    // 5GMM STATUS #96, then one octet too many; REGISTRATION COMPLETE with an unknown IE.
    let input = "trailing\t-\t7e00646000\nunknown\t-\t7e00437d000101\n";
    let mut child = Command::new("timeout")
        .args(["60", "python3", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write PDUs");
    let output = child.wait_with_output().expect("pycrate_check.py ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("FAIL")).count(),
        2,
        "{stdout}"
    );
}
