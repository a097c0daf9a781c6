use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;

use corelab_diameter::{Message, Role, validate};

use super::*;
use crate::answers;

fn dict() -> &'static Dictionary {
    Dictionary::standard()
}

/// A file written for one test, removed (with its directory) when dropped.
struct TestFile {
    path: PathBuf,
}

impl std::ops::Deref for TestFile {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes `text` to a fresh directory as `name`.
fn write(name: &str, text: &str) -> TestFile {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "diameter-peer-files-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    TestFile { path }
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

const VARS: Vars<'static> = Vars {
    session: "pgw.example;1795392000;1",
    origin_host: "pgw.example",
    origin_realm: "example",
    peer_host: "pcrf.example.net",
    peer_realm: "example.net",
};

fn encode_first(path: &std::path::Path) -> Vec<u8> {
    let reqs = load_requests(path, dict()).unwrap();
    reqs[0].build(&VARS).unwrap().encode().unwrap()
}

#[test]
fn every_example_request_parses_encodes_and_validates() {
    let names = [
        "gx-ccr-i.toml",
        "gx-ccr-u.toml",
        "gx-ccr-t.toml",
        "gxx-ccr.toml",
        "s9-ccr.toml",
        "rx-aar.toml",
        "rx-str.toml",
        "rar.toml",
        "asr.toml",
    ];
    let answer_file = load_answers(&examples().join("answers.toml"), dict()).unwrap();
    assert!(answer_file.len() >= 5);
    for name in names {
        let reqs =
            load_requests(&examples().join(name), dict()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for r in reqs {
            let bytes = r.build(&VARS).unwrap().encode().unwrap();
            let msg = Message::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            validate(&msg, dict(), Role::Endpoint).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(msg.session_id(), Some(VARS.session), "{name}");
            // The answer the server would send validates too (answers.toml).
            let t = answers::select(&answer_file, &msg);
            assert!(t.is_some(), "{name}: no answer in answers.toml");
            let a = answers::build(&msg, t, "pcrf.example.net", "example.net").unwrap();
            let am = Message::decode(&a).unwrap();
            validate(&am, dict(), Role::Endpoint)
                .unwrap_or_else(|e| panic!("answer to {name}: {e:?}"));
            assert_eq!(answers::outcome(&am), Some(2001), "{name}");
        }
    }
}

#[test]
fn gx_ccr_i_example_has_the_ts_29_212_avps() {
    let bytes = encode_first(&examples().join("gx-ccr-i.toml"));
    let msg = Message::decode(&bytes).unwrap();
    let h = msg.header();
    assert_eq!((h.command_code, h.application_id), (272, 16_777_238));
    assert!(h.is_request() && h.is_proxiable());
    let names: Vec<String> = msg
        .avps()
        .map(|a| {
            dict()
                .avp(a.code(), a.vendor_id())
                .map_or(format!("{}/{}", a.code(), a.vendor_id()), |d| {
                    d.name.clone()
                })
        })
        .collect();
    // Filled after Session-Id, in the CCF's order.
    assert_eq!(
        &names[..4],
        [
            "Session-Id",
            "Auth-Application-Id",
            "Origin-Host",
            "Origin-Realm"
        ]
    );
    for want in [
        "Subscription-Id",
        "Framed-IP-Address",
        "IP-CAN-Type",
        "RAT-Type",
        "Called-Station-Id",
        "18/10415",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let fip = msg.find(8, 0).unwrap();
    assert_eq!(fip.data(), [10, 45, 0, 17]);
    let raw = msg.find(18, 10415).unwrap();
    assert!(!raw.is_mandatory());
    assert_eq!(raw.data(), b"00101");
    // RAT-Type has an `m` rule: sent without M.
    assert!(!msg.find(1032, 10415).unwrap().is_mandatory());
    assert!(msg.find(1027, 10415).unwrap().is_mandatory());
}

#[test]
fn toml_json_and_yaml_give_the_same_bytes() {
    let toml = r#"
[[request]]
command = "CCR"
application = 16777238
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "example.net" },
  { name = "CC-Request-Type", value = 1 },
  { name = "CC-Request-Number", value = 0 },
  { name = "Subscription-Id", value = [
      { name = "Subscription-Id-Type", value = "END_USER_IMSI" },
      { name = "Subscription-Id-Data", value = "001010000000001" } ] },
  { code = 99999, vendor = 10415, mandatory = false, hex = "0001" },
]
"#;
    let json = r#"{"request": [{"command": "CCR", "application": 16777238, "avps": [
  {"name": "Session-Id", "value": "${session}"},
  {"name": "Destination-Realm", "value": "example.net"},
  {"name": "CC-Request-Type", "value": 1},
  {"name": "CC-Request-Number", "value": 0},
  {"name": "Subscription-Id", "value": [
    {"name": "Subscription-Id-Type", "value": "END_USER_IMSI"},
    {"name": "Subscription-Id-Data", "value": "001010000000001"}]},
  {"code": 99999, "vendor": 10415, "mandatory": false, "hex": "0001"}]}]}"#;
    let yaml = r#"
request:
  - command: CCR
    application: 16777238
    avps:
      - { name: Session-Id, value: "${session}" }
      - { name: Destination-Realm, value: example.net }
      - { name: CC-Request-Type, value: 1 }
      - { name: CC-Request-Number, value: 0 }
      - name: Subscription-Id
        value:
          - { name: Subscription-Id-Type, value: END_USER_IMSI }
          - { name: Subscription-Id-Data, value: "001010000000001" }
      - { code: 99999, vendor: 10415, mandatory: false, hex: "0001" }
"#;
    let a = encode_first(&write("r.toml", toml));
    let b = encode_first(&write("r.json", json));
    let c = encode_first(&write("r.yaml", yaml));
    assert_eq!(a, b);
    assert_eq!(a, c);
    let msg = Message::decode(&a).unwrap();
    validate(&msg, dict(), Role::Endpoint).unwrap();
    let raw = msg.find(99999, 10415).unwrap();
    assert_eq!(raw.data(), [0, 1]);
    assert!(raw.is_vendor_specific() && !raw.is_mandatory());
}

fn err(name: &str, text: &str) -> String {
    let p = write(name, text);
    let e = load_requests(&p, dict()).unwrap_err().0;
    let prefix = format!("{}: ", p.display());
    assert!(e.starts_with(&prefix), "{e}");
    e[prefix.len()..].to_string()
}

#[test]
fn errors_name_the_request_and_the_avp() {
    let text = r#"
[[request]]
command = "Credit-Control"
application = "gx"
avps = [{ name = "CC-Request-Type", value = "INITIAL_REQUEST" }]

[[request]]
command = "Credit-Control"
application = "gx"
avps = [{ name = "CC-Request-Typ", value = "INITIAL_REQUEST" }]
"#;
    assert_eq!(
        err("requests.toml", text),
        "request 2: AVP 'CC-Request-Typ' is not in the dictionary"
    );
    let nested = r#"
[[request]]
command = "Credit-Control"
application = "gx"
avps = [{ name = "Subscription-Id", value = [{ name = "Subscription-Id-Type", value = "IMSI" }] }]
"#;
    let e = err("n.toml", nested);
    assert!(
        e.starts_with("request 1: AVP 'Subscription-Id-Type' in 'Subscription-Id': \"IMSI\" is not a value of Subscription-Id-Type (one of: END_USER_E164, END_USER_IMSI"),
        "{e}"
    );
}

#[test]
fn errors_for_bad_shapes() {
    let cases = [
        (
            r#"[[request]]
command = "Credit-Control"
avps = []"#,
            "request 1: missing key `application` (command 272 exists in applications",
        ),
        (
            r#"[[request]]
command = "Credit-Controll"
application = "gx""#,
            "request 1: command \"Credit-Controll\" is not in the dictionary",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gy""#,
            "request 1: unknown application \"gy\"",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ name = "CC-Request-Number", valeu = 1 }]"#,
            "request 1: AVP 'CC-Request-Number': unknown key `valeu`",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ name = "CC-Request-Number", value = "one" }]"#,
            "request 1: AVP 'CC-Request-Number': \"one\" is not a number",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ name = "Session-Id", value = "${sesion}" }]"#,
            "request 1: AVP 'Session-Id': unknown variable `${sesion}`",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ code = 5555, value = 3 }]"#,
            "request 1: AVP '5555/0' is not in the dictionary: give its data as `hex",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ name = "Framed-IP-Address", ip = "10.0.0.300" }]"#,
            "request 1: AVP 'Framed-IP-Address': `ip` \"10.0.0.300\" is not",
        ),
        (
            r#"[[request]]
command = "CCR"
application = "gx"
avps = [{ code = 5555, value = "${session}" }]"#,
            "request 1: AVP '5555/0' is not in the dictionary: `${...}` variables work only",
        ),
        ("[[answer]]\ncommand = \"CCA\"", "no [[request]]"),
        ("[[request]\n", "TOML parse error"),
    ];
    for (text, want) in cases {
        let e = err("bad.toml", text);
        assert!(e.starts_with(want), "want {want:?}, got {e:?}");
    }
    // The first `avps` error at top level names the key it did not know.
    let e = err(
        "k.toml",
        "[[request]]\ncommand = \"CCR\"\napplication = \"gx\"\navps = [{ name = \"Session-Id\", valeu = \"x\" }]",
    );
    assert!(e.contains("unknown key `valeu`"), "{e}");
    let p = write("r.txt", "");
    assert!(
        load_requests(&p, dict())
            .unwrap_err()
            .0
            .contains("unknown file type")
    );
}

#[test]
fn commands_by_name_abbreviation_or_code_and_application_inferred() {
    for cmd in ["\"AA\"", "\"AA-Request\"", "\"AAR\"", "265"] {
        let p = write("c.toml", &format!("[[request]]\ncommand = {cmd}\n"));
        let r = load_requests(&p, dict()).unwrap();
        // AA is only in Rx: the application is inferred.
        assert_eq!(
            (r[0].command_code, r[0].application_id),
            (265, 16_777_236),
            "{cmd}"
        );
        assert_eq!(r[0].name, "AA-Request");
        assert!(r[0].proxiable);
    }
}

#[test]
fn session_and_peer_variables_are_substituted_and_origin_kept_when_given() {
    let p = write(
        "v.toml",
        r#"[[request]]
command = "Re-Auth"
application = "gx"
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Origin-Host", value = "custom.example" },
  { name = "Destination-Host", value = "${peer_host}" },
  { name = "Destination-Realm", value = "${peer_realm}" },
  { name = "Re-Auth-Request-Type", value = "AUTHORIZE_ONLY" },
  { name = "Proxy-Info", value = [
      { name = "Proxy-Host", value = "${origin_host}" },
      { name = "Proxy-State", value = "s-${session}" } ] },
]
"#,
    );
    let r = load_requests(&p, dict()).unwrap();
    let bytes = r[0].build(&VARS).unwrap().encode().unwrap();
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(msg.session_id(), Some(VARS.session));
    let s = |c: u32| msg.find(c, 0).unwrap().as_utf8().unwrap().to_string();
    assert_eq!(s(264), "custom.example");
    assert_eq!(msg.avps().get_all(264, 0).count(), 1);
    assert_eq!(s(293), "pcrf.example.net");
    assert_eq!(s(283), "example.net");
    assert_eq!(s(296), "example");
    let pi: Vec<_> = msg.find(284, 0).unwrap().as_grouped().unwrap().collect();
    assert_eq!(pi[0].as_utf8().unwrap(), "pgw.example");
    assert_eq!(pi[1].data(), format!("s-{}", VARS.session).as_bytes());
    validate(&msg, dict(), Role::Endpoint).unwrap();
}

#[test]
fn grouped_nests_to_any_depth_and_types_encode() {
    let p = write(
        "g.yaml",
        r#"
request:
  - command: Credit-Control
    application: gx
    avps:
      - name: Charging-Rule-Install
        value:
          - name: Charging-Rule-Definition
            value:
              - { name: Charging-Rule-Name, value: r1 }
              - name: QoS-Information
                value:
                  - name: Allocation-Retention-Priority
                    value:
                      - { name: Priority-Level, value: 2 }
      - { name: Revalidation-Time, value: "2026-11-23T00:00:00Z" }
      - { name: CoA-IP-Address, value: "2001:db8::5" }
      - { name: CC-Input-Octets, value: 5000000000 }
      - { name: Value-Digits, value: -5 }
"#,
    );
    let bytes = encode_first(&p);
    let msg = Message::decode(&bytes).unwrap();
    let cri = msg.find(1001, 10415).unwrap();
    let crd = cri.as_grouped().unwrap().get(1003, 10415).unwrap();
    let qos = crd.as_grouped().unwrap().get(1016, 10415).unwrap();
    let arp = qos.as_grouped().unwrap().get(1034, 10415).unwrap();
    let pl = arp.as_grouped().unwrap().get(1046, 10415).unwrap();
    assert_eq!(pl.as_u32().unwrap(), 2);
    assert_eq!(
        msg.find(1042, 10415).unwrap().as_time().unwrap().to_unix(),
        1_795_392_000
    );
    assert_eq!(msg.find(1035, 10415).unwrap().data().len(), 18);
    assert_eq!(msg.find(412, 0).unwrap().as_u64().unwrap(), 5_000_000_000);
    assert_eq!(msg.find(447, 0).unwrap().as_i64().unwrap(), -5);
}

#[test]
fn answers_file_reads_result_codes_by_name_and_request_type() {
    let p = write(
        "a.toml",
        r#"
[[answer]]
command = "Credit-Control"
cc_request_type = "UPDATE_REQUEST"
result_code = "DIAMETER_USER_UNKNOWN"

[[answer]]
command = "CCA"
application = "gx"
experimental_result_code = 5065
avps = [{ name = "Error-Message", value = "for ${session}" }]
"#,
    );
    let a = load_answers(&p, dict()).unwrap();
    assert_eq!(a[0].result_code, Some(5030));
    assert_eq!(a[0].cc_request_type, Some(2));
    assert_eq!(a[1].application_id, Some(16_777_238));
    assert_eq!(a[1].experimental_result_code, Some(5065));
    let bad = write(
        "b.toml",
        "[[answer]]\ncommand = \"CCA\"\nresult_code = \"DIAMETER_SUCESS\"\n",
    );
    let e = load_answers(&bad, dict()).unwrap_err().0;
    assert!(
        e.contains("answer 1: `result_code`: \"DIAMETER_SUCESS\" is not a value of Result-Code"),
        "{e}"
    );
}

#[test]
fn session_ids_are_fresh_and_rfc_6733_shaped() {
    let ids = SessionIds::new("pgw.example");
    let a = ids.next_id();
    let b = ids.next_id();
    assert_ne!(a, b);
    let parts: Vec<&str> = a.split(';').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "pgw.example");
    assert!(parts[1].parse::<u32>().is_ok() && parts[2].parse::<u32>().is_ok());
}
