//! The real `diameter-peer` binary as separate processes over loopback:
//! server + client (Gx CCR-I/U/T), a server-initiated RAR answered by the
//! client, error Result-Codes and exit statuses, bad request files, load mode,
//! relay and redirect agents.

mod common;

use std::time::Duration;

use common::*;

const PCEF: (&str, &str) = ("pgw.example.com", "example.com");
const PCRF: (&str, &str) = ("pcrf.example.net", "epc.mnc001.mcc001.3gppnetwork.org");

fn server(extra: &[&str]) -> Running {
    let mut a = args(&["server"]);
    a.extend(identity(PCRF.0, PCRF.1));
    a.extend(args(&[
        "--listen",
        "127.0.0.1:0",
        "--answers",
        &example("answers.toml"),
    ]));
    a.extend(args(extra));
    Running::start(120, &a)
}

/// An `agent` named `host` in realm example.org, listening on `listen`, in `mode`.
fn agent(host: &str, listen: &str, mode: &str, extra: &[&str]) -> Running {
    let mut a = args(&["agent"]);
    a.extend(identity(host, "example.org"));
    a.extend(args(&["--listen", listen, "--mode", mode]));
    a.extend(args(extra));
    Running::start(60, &a)
}

fn client(connect: &str, requests: &str, extra: &[&str]) -> std::process::Output {
    let mut a = args(&["client"]);
    a.extend(identity(PCEF.0, PCEF.1));
    a.extend(args(&["--connect", connect, "--requests", requests]));
    a.extend(args(extra));
    run(60, &a, None)
}

fn stdout_of(o: &std::process::Output) -> String {
    text(&o.stdout)
}

#[test]
fn server_and_client_exchange_gx_ccr_i_u_t_decoded_by_name() {
    let srv = server(&["-v"]);
    for (file, request_type) in [
        ("gx-ccr-i.toml", "INITIAL_REQUEST (1)"),
        ("gx-ccr-u.toml", "UPDATE_REQUEST (2)"),
        ("gx-ccr-t.toml", "TERMINATION_REQUEST (3)"),
    ] {
        let o = client(&srv.addr, &example(file), &[]);
        let out = stdout_of(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{file}: {out}\n{}",
            text(&o.stderr)
        );
        // CEA and answer decoded by name, grouped AVPs indented.
        assert!(
            out.contains("\"command\": \"Capabilities-Exchange-Answer\""),
            "{out}"
        );
        assert!(
            out.contains("\"command\": \"Credit-Control-Answer\""),
            "{out}"
        );
        assert!(
            out.contains("{\"Result-Code\": \"DIAMETER_SUCCESS (2001)\"}"),
            "{out}"
        );
        assert!(
            out.contains(&format!("{{\"CC-Request-Type\": \"{request_type}\"}}")),
            "{file}: {out}"
        );
        assert!(
            out.contains("{\"Origin-Host\": \"pcrf.example.net\"}"),
            "{out}"
        );
        assert!(out.contains("-- DPR sent, disconnected"), "{out}");
    }
    // The CCA-I carries the configured PCC rule and nested QoS, by name.
    let o = client(&srv.addr, &example("gx-ccr-i.toml"), &[]);
    let out = stdout_of(&o);
    assert!(
        out.contains("{\"Charging-Rule-Base-Name\": \"internet-default\"}"),
        "{out}"
    );
    assert!(
        out.contains("      {\"Allocation-Retention-Priority\": ["),
        "{out}"
    );
    // The server printed the requests it received, decoded (-v).
    let s = srv.stdout_with(&[
        "<< recv Credit-Control-Request (CCR) app=Gx",
        "{\"Framed-IP-Address\": \"0x0a2d0011\"}",
        "{\"RAT-Type\": \"EUTRAN (1004)\"}",
        "{\"Subscription-Id-Data\": \"001010000000001\"}",
    ]);
    assert!(
        s.contains("<< recv Credit-Control-Request (CCR) app=Gx"),
        "{s}"
    );
    assert!(s.contains("{\"Framed-IP-Address\": \"0x0a2d0011\"}"), "{s}");
    assert!(s.contains("{\"RAT-Type\": \"EUTRAN (1004)\"}"), "{s}");
    assert!(
        s.contains("{\"Subscription-Id-Data\": \"001010000000001\"}"),
        "{s}"
    );
}

#[test]
fn other_applications_rx_gxx_s9_get_answers() {
    let srv = server(&[]);
    for file in ["gxx-ccr.toml", "s9-ccr.toml", "rx-aar.toml", "rx-str.toml"] {
        let o = client(&srv.addr, &example(file), &[]);
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stdout_of(&o));
    }
    let s = srv.stdout_with(&[
        "<< recv AA-Request (AAR) app=Rx",
        ">> sent Session-Termination-Answer (STA) app=Rx",
        "<< recv Credit-Control-Request (CCR) app=S9",
        "<< recv Credit-Control-Request (CCR) app=Gxx",
    ]);
    assert!(s.contains("<< recv AA-Request (AAR) app=Rx"), "{s}");
    assert!(
        s.contains(">> sent Session-Termination-Answer (STA) app=Rx"),
        "{s}"
    );
    assert!(
        s.contains("<< recv Credit-Control-Request (CCR) app=S9"),
        "{s}"
    );
    assert!(
        s.contains("<< recv Credit-Control-Request (CCR) app=Gxx"),
        "{s}"
    );
}

#[test]
fn server_sends_rar_after_ccr_i_and_the_client_answers_it() {
    let mut srv = server(&[
        "--send-after-answer",
        &format!("CCR-I={}", example("rar.toml")),
        "--count",
        "1",
    ]);
    let o = client(
        &srv.addr,
        &example("gx-ccr-i.toml"),
        &[
            "--wait-requests",
            "1",
            "--answers",
            &example("answers.toml"),
        ],
    );
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    assert!(
        out.contains("<< recv Re-Auth-Request (RAR) app=Gx"),
        "{out}"
    );
    assert!(
        out.contains("{\"Charging-Rule-Name\": \"0x696d732d7369676e616c6c696e67\"}"),
        "{out}"
    );
    assert!(out.contains(">> sent Re-Auth-Answer (RAA) app=Gx"), "{out}");
    // The RAR went to the client by name, in the CCR's session.
    assert!(
        out.contains("{\"Destination-Host\": \"pgw.example.com\"}"),
        "{out}"
    );
    let code = srv.wait_exit(Duration::from_secs(30));
    let s = srv.stdout_with(&[
        ">> send Re-Auth-Request (RAR)",
        "<< recv Re-Auth-Answer (RAA) app=Gx Session-Id=pgw.example.com;",
        "Result-Code=2001 DIAMETER_SUCCESS",
    ]);
    assert_eq!(code, Some(0), "server: {s}\n{}", srv.stderr());
    assert!(s.contains(">> send Re-Auth-Request (RAR)"), "{s}");
    assert!(
        s.contains("<< recv Re-Auth-Answer (RAA) app=Gx Session-Id=pgw.example.com;"),
        "{s}"
    );
    assert!(s.contains("Result-Code=2001 DIAMETER_SUCCESS"), "{s}");
    let sid = |text: &str, prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split("Session-Id=").nth(1))
            .map(|r| r.split(' ').next().unwrap_or("").to_string())
    };
    assert_eq!(
        sid(&s, "<< recv Credit-Control-Request"),
        sid(&s, ">> send Re-Auth-Request"),
        "{s}"
    );
}

#[test]
fn configured_error_result_code_makes_the_client_exit_1() {
    let answers = write_file(
        "answers.toml",
        "[[answer]]\ncommand = \"Credit-Control\"\nresult_code = \"DIAMETER_USER_UNKNOWN\"\n",
    );
    let answers = answers.display().to_string();
    let mut a = args(&["server", "--listen", "127.0.0.1:0", "--answers", &answers]);
    a.extend(identity(PCRF.0, PCRF.1));
    let srv = Running::start(60, &a);
    let o = client(&srv.addr, &example("gx-ccr-i.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("{\"Result-Code\": \"DIAMETER_USER_UNKNOWN (5030)\"}"),
        "{out}"
    );
    // ... and 0 when that code is the one expected.
    let o = client(&srv.addr, &example("gx-ccr-i.toml"), &["--expect", "5030"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout_of(&o));
    let o = client(
        &srv.addr,
        &example("gx-ccr-i.toml"),
        &["--expect", "DIAMETER_SUCCESS"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout_of(&o));
}

#[test]
fn experimental_result_code_counts_for_the_exit_status() {
    let answers = write_file(
        "answers.yaml",
        "answer:\n  - command: CCA\n    experimental_result_code: 5065\n",
    );
    let answers = answers.display().to_string();
    let mut a = args(&["server", "--listen", "127.0.0.1:0", "--answers", &answers]);
    a.extend(identity(PCRF.0, PCRF.1));
    let srv = Running::start(60, &a);
    let o = client(&srv.addr, &example("gx-ccr-t.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("{\"Experimental-Result-Code\": 5065}"),
        "{out}"
    );
    let o = client(&srv.addr, &example("gx-ccr-t.toml"), &["--expect", "5065"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout_of(&o));
}

#[test]
fn bad_request_file_error_names_file_request_and_avp() {
    let f = write_file(
        "requests.toml",
        r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [{ name = "CC-Request-Type", value = "INITIAL_REQUEST" }]

[[request]]
command = "Credit-Control"
application = "gx"
avps = [{ name = "CC-Request-Typ", value = "INITIAL_REQUEST" }]
"#,
    );
    let dir = f.parent().unwrap();
    let mut a = args(&["client"]);
    a.extend(identity(PCEF.0, PCEF.1));
    a.extend(args(&[
        "--connect",
        "127.0.0.1:9",
        "--requests",
        "requests.toml",
    ]));
    let o = run(30, &a, Some(dir));
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("requests.toml: request 2: AVP 'CC-Request-Typ' is not in the dictionary"),
        "{err}"
    );
    // The file is checked before connecting: nothing was sent.
    assert!(!text(&o.stdout).contains(">> send"), "{}", text(&o.stdout));
}

#[test]
fn connection_failure_exits_2() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = client(&format!("127.0.0.1:{port}"), &example("gx-ccr-i.toml"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout_of(&o));
    assert!(
        stdout_of(&o).contains("!! connection to"),
        "{}",
        stdout_of(&o)
    );
}

#[test]
fn load_2000_requests_with_concurrency_100_prints_a_summary() {
    let srv = server(&["--quiet"]);
    let mut a = args(&["load"]);
    a.extend(identity(PCEF.0, PCEF.1));
    a.extend(args(&[
        "--connect",
        &srv.addr,
        "--requests",
        &example("gx-ccr-i.toml"),
        "--concurrency",
        "100",
        "--count",
        "2000",
        "--json",
    ]));
    let o = run(120, &a, None);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    let last = out.lines().last().unwrap_or("");
    let j: serde_json::Value = serde_json::from_str(last).expect("JSON summary");
    assert_eq!(j["requests"], 2000, "{j}");
    assert_eq!(j["answers"], 2000, "{j}");
    assert_eq!(j["errors"], 0, "{j}");
    assert!(j["pairs_per_sec"].as_f64().unwrap() > 0.0, "{j}");
    let lat = &j["latency_us"];
    let (p50, p99, max) = (
        lat["p50"].as_u64().unwrap(),
        lat["p99"].as_u64().unwrap(),
        lat["max"].as_u64().unwrap(),
    );
    assert!(0 < p50 && p50 <= p99 && p99 <= max, "{j}");
    // Human form, bounded by duration, rate-limited.
    let mut a = args(&["load"]);
    a.extend(identity(PCEF.0, PCEF.1));
    a.extend(args(&[
        "--connect",
        &srv.addr,
        "--requests",
        &example("rx-aar.toml"),
        "--concurrency",
        "4",
        "--duration",
        "1.5",
        "--rate",
        "200",
    ]));
    let o = run(60, &a, None);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("progress: t=1s"), "{out}");
    assert!(out.contains("summary: requests="), "{out}");
    assert!(out.contains("latency us: p50="), "{out}");
}

#[test]
fn relay_agent_forwards_with_route_record() {
    let srv = server(&["-v"]);
    let route = format!("{}={}", PCRF.1, srv.addr);
    let agent = agent(
        "dra.example.org",
        "127.0.0.1:0",
        "relay",
        &["--route", &route],
    );
    let o = client(&agent.addr, &example("gx-ccr-i.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    // CER/CEA with the agent, the answer from the server behind it.
    assert!(
        out.contains("{\"Origin-Host\": \"dra.example.org\"}"),
        "{out}"
    );
    assert!(
        out.contains("{\"Auth-Application-Id\": 4294967295}"),
        "{out}"
    );
    assert!(
        out.contains("{\"Origin-Host\": \"pcrf.example.net\"}"),
        "{out}"
    );
    // RFC 6733 §6.1.9: the relay added the Route-Record of the client.
    let s = srv.stdout_with(&["{\"Route-Record\": \"pgw.example.com\"}"]);
    assert!(s.contains("{\"Route-Record\": \"pgw.example.com\"}"), "{s}");
    // A realm the agent has no route for: 3003 from the agent.
    let f = write_file(
        "other.toml",
        r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "nowhere.example" },
  { name = "CC-Request-Type", value = "INITIAL_REQUEST" },
  { name = "CC-Request-Number", value = 0 },
]
"#,
    );
    let o = client(&agent.addr, &f.display().to_string(), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("DIAMETER_REALM_NOT_SERVED (3003)"), "{out}");
}

#[test]
fn redirect_agent_answers_3006_and_the_client_follows_it() {
    let srv = server(&[]);
    let agent = agent(
        "redirect.example.org",
        "127.0.0.1:0",
        "redirect",
        &["--default-route", &srv.addr],
    );
    let o = client(&agent.addr, &example("gx-ccr-i.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    assert!(
        out.contains("{\"Origin-Host\": \"redirect.example.org\"}"),
        "{out}"
    );
    // The answer came from the server the redirect named.
    assert!(
        out.contains("<< answer 1 Credit-Control-Answer (CCA) app=Gx"),
        "{out}"
    );
    assert!(
        out.contains("{\"Origin-Host\": \"pcrf.example.net\"}"),
        "{out}"
    );
    assert!(
        srv.wait_stdout(
            "<< recv Credit-Control-Request (CCR)",
            Duration::from_secs(5)
        ),
        "{}",
        srv.stdout()
    );
    assert!(
        text(&o.stderr).contains("following redirect"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["client", "server", "load", "agent"] {
        let o = run(30, &args(&[sub, "--help"]), None);
        assert_eq!(o.status.code(), Some(0), "{sub}");
        let h = text(&o.stdout);
        assert!(h.contains("--origin-host"), "{sub}: {h}");
        assert!(h.contains("--log-format"), "{sub}: {h}");
    }
    let o = run(30, &args(&["--help"]), None);
    let h = text(&o.stdout);
    for sub in ["client", "server", "load", "agent"] {
        assert!(h.contains(sub), "{h}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let mut a = args(&["client"]);
    a.extend(identity(PCEF.0, PCEF.1));
    let srv = server(&["--log-format", "json"]);
    a.extend(args(&[
        "--connect",
        &srv.addr,
        "--requests",
        &example("rx-str.toml"),
        "--log-format",
        "json",
    ]));
    let o = run(30, &a, None);
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(!err.trim().is_empty());
    for line in err.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
}

#[test]
fn server_sends_asr_after_an_rx_aar() {
    let mut srv = server(&[
        "--send-after-answer",
        &format!("AA={}", example("asr.toml")),
        "--count",
        "1",
    ]);
    let o = client(
        &srv.addr,
        &example("rx-aar.toml"),
        &[
            "--wait-requests",
            "1",
            "--answers",
            &example("answers.toml"),
        ],
    );
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("<< recv Abort-Session-Request (ASR) app=Rx"),
        "{out}"
    );
    assert!(
        out.contains("{\"Abort-Cause\": \"BEARER_RELEASED (0)\"}"),
        "{out}"
    );
    assert_eq!(
        srv.wait_exit(Duration::from_secs(30)),
        Some(0),
        "{}",
        srv.stdout()
    );
    assert!(
        srv.stdout_with(&["<< recv Abort-Session-Answer (ASA)"])
            .contains("<< recv Abort-Session-Answer (ASA)"),
        "{}",
        srv.stdout()
    );
}

#[test]
fn client_that_refuses_the_rar_makes_the_server_exit_1() {
    // The client answers the server's RAR with 5012: the exchange the
    // server started failed. (The RAR follows the CCA on the wire, so a
    // client still connected always gets it before its own DPR.)
    let refuse = write_file(
        "refuse-rar.toml",
        "[[answer]]\ncommand = \"Re-Auth\"\nresult_code = 5012\n",
    );
    let mut srv = server(&[
        "--send-after-answer",
        &format!("CCR-I={}", example("rar.toml")),
        "--count",
        "1",
        "--request-timeout-secs",
        "2",
    ]);
    let refuse = refuse.to_string_lossy();
    let o = client(
        &srv.addr,
        &example("gx-ccr-i.toml"),
        &["--wait-requests", "1", "--answers", &refuse],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout_of(&o));
    assert_eq!(
        srv.wait_exit(Duration::from_secs(30)),
        Some(1),
        "{}",
        srv.stdout()
    );
}

#[test]
fn two_relays_routing_to_each_other_detect_the_loop_3005() {
    // Agent A forwards the realm to B, B back to A: A finds its own
    // identity in Route-Record (RFC 6733 §6.1.3) and answers 3005.
    let port_b = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let realm = "loop.example";
    let to_b = format!("{realm}=127.0.0.1:{port_b}");
    let agent_a = agent(
        "dra-a.example.org",
        "127.0.0.1:0",
        "relay",
        &["--route", &to_b],
    );
    let to_a = format!("{realm}={}", agent_a.addr);
    let _agent_b = agent(
        "dra-b.example.org",
        &format!("127.0.0.1:{port_b}"),
        "relay",
        &["--route", &to_a],
    );
    let f = write_file(
        "loop.toml",
        &format!(
            r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [
  {{ name = "Session-Id", value = "${{session}}" }},
  {{ name = "Destination-Realm", value = "{realm}" }},
  {{ name = "CC-Request-Type", value = "INITIAL_REQUEST" }},
  {{ name = "CC-Request-Number", value = 0 }},
]
"#
        ),
    );
    let o = client(&agent_a.addr, &f.display().to_string(), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("DIAMETER_LOOP_DETECTED (3005)"), "{out}");
}

#[test]
fn proxy_agent_advertises_its_applications_and_forwards() {
    let srv = server(&[]);
    let agent = agent(
        "proxy.example.org",
        "127.0.0.1:0",
        "proxy",
        &["--app", "gx,rx", "--default-route", &srv.addr],
    );
    let o = client(&agent.addr, &example("rx-aar.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("{\"Auth-Application-Id\": 16777236}"), "{out}");
    assert!(
        !out.contains("{\"Auth-Application-Id\": 4294967295}"),
        "{out}"
    );
    assert!(out.contains("<< answer 1 AA-Answer (AAA) app=Rx"), "{out}");
    assert!(
        out.contains("{\"Origin-Host\": \"pcrf.example.net\"}"),
        "{out}"
    );
}

#[test]
fn cer_without_a_common_application_exits_2_and_vendor_specific_is_advertised() {
    let mut a = args(&["server"]);
    a.extend(identity(PCRF.0, PCRF.1));
    a.extend(args(&[
        "--listen",
        "127.0.0.1:0",
        "--answers",
        &example("answers.toml"),
        "--app",
        "gx",
        "--vendor-specific",
    ]));
    let srv = Running::start(60, &a);
    // rx-aar.toml makes the client advertise Rx only: CEA 5010.
    let o = client(&srv.addr, &example("rx-aar.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("!! connection to"), "{out}");
    assert!(out.contains("5010"), "{out}");
    let o = client(&srv.addr, &example("gx-ccr-t.toml"), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("{\"Supported-Vendor-Id\": 10415}"), "{out}");
}

#[test]
fn server_with_validate_answers_invalid_requests_with_their_rfc_6733_error() {
    let srv = server(&["-v", "--validate"]);
    // An unknown AVP with the M bit: 5001 DIAMETER_AVP_UNSUPPORTED with Failed-AVP.
    let unknown = write_file(
        "unknown.toml",
        r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "example.net" },
  { name = "CC-Request-Type", value = "INITIAL_REQUEST" },
  { name = "CC-Request-Number", value = 0 },
  { code = 99999, mandatory = true, hex = "01" },
]
"#,
    );
    let o = client(&srv.addr, &unknown.display().to_string(), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("{\"Result-Code\": \"DIAMETER_AVP_UNSUPPORTED (5001)\"}"),
        "{out}"
    );
    assert!(out.contains("{\"Failed-AVP\": ["), "{out}");
    assert!(out.contains("{\"AVP 99999/0\": \"0x01\"}"), "{out}");
    // CC-Request-Type missing: 5005 DIAMETER_MISSING_AVP.
    let missing = write_file(
        "missing.toml",
        r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "example.net" },
  { name = "CC-Request-Number", value = 0 },
]
"#,
    );
    let o = client(&srv.addr, &missing.display().to_string(), &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("DIAMETER_MISSING_AVP (5005)"), "{out}");
    assert!(
        srv.stderr_with(&["invalid request"])
            .contains("invalid request"),
        "{}",
        srv.stderr()
    );
    // Without --validate it is answered as configured.
    let lax = server(&[]);
    let o = client(&lax.addr, &missing.display().to_string(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout_of(&o));
}

#[test]
fn with_validate_an_m_bit_against_the_rule_is_tolerated_unless_strict_flags() {
    // python-diameter sends Destination-Host (M must) without the M bit.
    let f = write_file(
        "flags.toml",
        r#"[[request]]
command = "Credit-Control"
application = "gx"
avps = [
  { name = "Session-Id", value = "${session}" },
  { name = "Destination-Realm", value = "example.net" },
  { name = "Destination-Host", value = "pcrf.example.net", mandatory = false },
  { name = "CC-Request-Type", value = "INITIAL_REQUEST" },
  { name = "CC-Request-Number", value = 0 },
]
"#,
    );
    let f = f.display().to_string();
    let srv = server(&["--validate"]);
    let o = client(&srv.addr, &f, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout_of(&o));
    assert!(
        srv.stderr_with(&["tolerated"]).contains("tolerated"),
        "{}",
        srv.stderr()
    );
    let strict = server(&["--strict-flags"]);
    let o = client(&strict.addr, &f, &[]);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("DIAMETER_INVALID_AVP_BITS (3009)"), "{out}");
    assert!(out.contains("Destination-Host: M bit must be set"), "{out}");
}

#[test]
fn check_builds_and_validates_files_without_sending() {
    let mut a = args(&["check", "--answers", &example("answers.toml")]);
    for f in [
        "gx-ccr-i.toml",
        "gx-ccr-u.toml",
        "gx-ccr-t.toml",
        "gxx-ccr.toml",
        "s9-ccr.toml",
        "rx-aar.toml",
        "rx-str.toml",
        "rar.toml",
        "asr.toml",
    ] {
        a.push("--requests".into());
        a.push(example(f));
    }
    let o = run(30, &a, None);
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out.matches("(valid):").count(), 9, "{out}");
    assert!(out.contains("{\"Subsession-Enforcement-Info\": ["), "{out}");
    let bad = write_file(
        "bad.json",
        r#"{"request": [{"command": "CCR", "application": "gx",
            "avps": [{"name": "Session-Id", "value": "${session}"}]}]}"#,
    );
    let o = run(
        30,
        &args(&["check", "-q", "--requests", &bad.display().to_string()]),
        None,
    );
    let out = stdout_of(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("INVALID: 5005 missing required AVP Destination-Realm"),
        "{out}"
    );
}
