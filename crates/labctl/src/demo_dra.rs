//! `labctl demo dra` (issue 10 §4): embodiments 1, 4, 7 and 10 of specs/dra-roaming.md played
//! over TCP by separate processes — `pcc-emulator serve` as the BBERF (and PCEF), vDRA, vPCRF,
//! hDRA, hPCRF (`labctl::dra::DraLab`, each on its own SQLite store in a temporary directory) —
//! printed as a ladder (client | vDRA | vPCRF | hDRA | hPCRF) with the bindings of both DRAs
//! before, during and after.
//!
//! **Where the messages come from**: every process logs each Diameter message it writes to a
//! connection (corelab-diameter-node's `diameter message` debug line, `dir = "sent"`, in JSON:
//! command, application, CC-Request-Type, Result-Code, Session-Id, and the peer's Origin-Host in
//! the connection's span), just before the write. The ladder is those lines of the five
//! processes' logs, sender to peer, in timestamp order (one clock: one machine); nothing is
//! inferred. CER/CEA and watchdogs are left out. The verdicts come from the nodes' state: each
//! procedure's Result-Code from pcc-emulator's control service, `GET /bindings` of both DRAs,
//! `GET /sessions` of both PCRFs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use corelab_proto::pcc::v1 as pb;
use labctl::dra::{DraLab, HPCRF_HOST, NODES, Setup, VPCRF_HOST, sqlite_store};
use labctl::ladder::{Ladder, Lane};
use labctl::pcc::PccClient;
use serde_json::Value;

const CLIENT: Lane = Lane(0);
const VDRA: Lane = Lane(1);
const VPCRF: Lane = Lane(2);
const HDRA: Lane = Lane(3);
const HPCRF: Lane = Lane(4);

/// The processes' log filter: the per-message debug line of the Diameter node, else info.
const LOG_FILTER: &str = "info,corelab_diameter_node::conn=debug";

/// The roaming UE.
const NAI: &str = "001010000000001";
const IP: &str = "10.45.10.1";

/// One embodiment of the spec's table.
struct Embodiment {
    number: &'static str,
    title: &'static str,
    vdra: &'static str,
    hdra: &'static str,
    /// The termination ordering of the client towards a redirect vDRA and of the vPCRF's S9
    /// towards a redirect hDRA.
    ordering: &'static str,
    /// Established in this order, terminated in this order.
    clients: &'static [&'static str],
}

const EMBODIMENTS: [Embodiment; 4] = [
    Embodiment {
        number: "1",
        title: "BBERF; redirect vDRA, redirect hDRA; each termination to the DRA and the PCRF at once",
        vdra: "redirect",
        hdra: "redirect",
        ordering: "at_once",
        clients: &["bberf"],
    },
    Embodiment {
        number: "4",
        title: "BBERF; redirect vDRA, proxy hDRA (deletes, then forwards)",
        vdra: "redirect",
        hdra: "proxy",
        ordering: "after_redirect",
        clients: &["bberf"],
    },
    Embodiment {
        number: "7",
        title: "BBERF; proxy vDRA (deletes when the answer passes back), redirect hDRA",
        vdra: "proxy",
        hdra: "redirect",
        ordering: "after_redirect",
        clients: &["bberf"],
    },
    Embodiment {
        number: "10",
        title: "BBERF then PCEF on one S9 session; redirect vDRA, redirect hDRA, at once",
        vdra: "redirect",
        hdra: "redirect",
        ordering: "at_once",
        clients: &["bberf", "pcef"],
    },
];

/// Run the demo; `Ok(false)` when a step failed.
pub async fn demo_dra() -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    println!(
        "vDRA, vPCRF, hDRA, hPCRF (each on SQLite) and pcc-emulator as separate processes over TCP; \
         files in {}",
        dir.path().display()
    );
    println!(
        "messages: each process's own log line for every Diameter message it sent, in time order"
    );
    let mut ladder = Ladder::new(
        &[
            ("client", "client"),
            ("vDRA", "vDRA"),
            ("vPCRF", "vPCRF"),
            ("hDRA", "hDRA"),
            ("hPCRF", "hPCRF"),
        ],
        24,
    );
    let mut stopped = Vec::new();
    for e in &EMBODIMENTS {
        let sub = dir.path().join(format!("embodiment-{}", e.number));
        if let Err(err) = embodiment(&mut ladder, &sub, e).await {
            println!("    FAIL embodiment {} stopped: {err:#}", e.number);
            ladder.failed += 1;
            stopped.push(e.number);
        }
    }
    println!();
    let ok = ladder.failed == 0;
    println!(
        "{} steps passed, {} failed: {}",
        ladder.passed,
        ladder.failed,
        if ok { "PASS" } else { "FAIL" }
    );
    if !ok {
        // Keep the logs for a look.
        let kept = dir.keep();
        println!("logs and stores kept in {}", kept.display());
    }
    Ok(ok)
}

async fn embodiment(ladder: &mut Ladder, dir: &Path, e: &Embodiment) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut stores = Vec::new();
    for name in NODES {
        stores.push(sqlite_store(dir, name)?);
    }
    let stores: [String; 4] = stores
        .try_into()
        .map_err(|_| anyhow::anyhow!("one store per node"))?;
    let setup = Setup {
        s9_termination: e.ordering.into(),
        tail: format!("[log]\nlevel = \"{LOG_FILTER}\"\nformat = \"json\"\n"),
        ..Setup::new(e.vdra, e.hdra)
    };
    let lab = DraLab::start(dir, stores, setup).await?;
    let mut args = lab.client_args(&lab.vdra, e.ordering);
    args.extend(["--log-format".to_string(), "json".to_string()]);
    let client = PccClient::start(dir, &args, Some(LOG_FILTER)).await;
    let result = match client {
        Ok(mut client) => {
            let r = play(ladder, &lab, &mut client, dir, e).await;
            client.stop().await;
            r
        }
        Err(err) => Err(err),
    };
    lab.stop().await?;
    result
}

async fn play(
    ladder: &mut Ladder,
    lab: &DraLab,
    client: &mut PccClient,
    dir: &Path,
    e: &Embodiment,
) -> anyhow::Result<()> {
    ladder.head(&format!("embodiment {}: {}", e.number, e.title));
    let mut wire = Wire::new(dir);

    ladder.step("a", "bindings before");
    let (v, h) = bindings(ladder, lab).await?;
    ladder.verdict(
        v.is_empty() && h.is_empty(),
        &format!("vDRA {} bindings, hDRA {} bindings", v.len(), h.len()),
    );

    let mut sessions = Vec::new();
    for (i, role) in e.clients.iter().enumerate() {
        ladder.step(&format!("b{}", i + 1), &format!("{role} establishes"));
        let (session_id, result_code) = client.establish(role, NAI, IP).await?;
        wire.print_new(ladder).await;
        ladder.verdict(
            result_code == 2001,
            &format!("{role} {}: {result_code}", wire.alias(&session_id)),
        );
        sessions.push((role, session_id));
    }

    ladder.step("c", "bindings after the establishment");
    let (v, h) = bindings(ladder, lab).await?;
    let recorded = |b: &[Value]| {
        b.first()
            .and_then(|b| b["sessions"].as_array())
            .map(Vec::len)
            .unwrap_or(0)
    };
    ladder.verdict(
        v.len() == 1 && h.len() == 1 && recorded(&v) == e.clients.len(),
        &format!(
            "one binding at each DRA; the vDRA's records {} sessions, the hDRA's {}",
            recorded(&v),
            recorded(&h)
        ),
    );

    for (i, (role, session_id)) in sessions.iter().enumerate() {
        ladder.step(
            &format!("d{}", i + 1),
            &format!("{role} terminates {}", wire.alias(session_id)),
        );
        let reply = client
            .control
            .terminate(pb::SessionRequest {
                session_id: session_id.clone(),
                target: String::new(),
                ordering: String::new(),
            })
            .await?
            .into_inner();
        wire.print_new(ladder).await;
        ladder.verdict(
            reply.result_code == 2001,
            &format!("{role} termination: {}", reply.result_code),
        );
    }

    ladder.step("e", "bindings and sessions after the termination");
    let (v, h) = bindings(ladder, lab).await?;
    let mut left = Vec::new();
    for (what, items) in lab.stores_now().await? {
        if !items.is_empty() {
            left.push(format!("{what}: {}", items.len()));
        }
    }
    ladder.verdict(
        v.is_empty() && h.is_empty() && left.is_empty(),
        &if left.is_empty() {
            "no binding at either DRA, no session at either PCRF".to_string()
        } else {
            format!("left: {}", left.join(", "))
        },
    );
    wire.legend(ladder);
    Ok(())
}

/// `GET /bindings` of both DRAs, printed one line per binding.
async fn bindings(ladder: &Ladder, lab: &DraLab) -> anyhow::Result<(Vec<Value>, Vec<Value>)> {
    let v = lab.vdra.bindings("").await?;
    let h = lab.hdra.bindings("").await?;
    for (who, list) in [("vDRA", &v), ("hDRA", &h)] {
        if list.is_empty() {
            ladder.text(&format!("{who} GET /bindings: []"));
        }
        for b in list {
            let sessions: Vec<String> = (b["sessions"].as_array().into_iter().flatten())
                .map(|s| {
                    format!(
                        "{} {}",
                        s["interface"].as_str().unwrap_or("?"),
                        s["session_id"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            ladder.text(&format!(
                "{who} binding {}: nai {} ip {} apn {} -> {}; sessions: {}",
                b["binding_id"],
                b["nai"].as_str().unwrap_or("-"),
                b["ipv4"].as_str().unwrap_or("-"),
                b["apn"].as_str().unwrap_or("-"),
                b["pcrf_host"].as_str().unwrap_or("?"),
                sessions.join(", ")
            ));
        }
    }
    Ok((v, h))
}

/// One message a process wrote, from its log.
#[derive(Debug, Clone)]
struct Sent {
    timestamp: String,
    from: Lane,
    to: Lane,
    command_code: u64,
    application_id: u64,
    request: bool,
    cc_request_type: u64,
    result_code: u64,
    session_id: String,
}

/// The five processes' logs, read again after each procedure; what was printed is counted.
struct Wire {
    logs: Vec<(Lane, PathBuf)>,
    printed: usize,
    /// Session-Id → `S1`, `S2`, … in the order they first appear.
    aliases: BTreeMap<String, String>,
}

impl Wire {
    fn new(dir: &Path) -> Wire {
        Wire {
            logs: vec![
                (CLIENT, dir.join("client.log")),
                (VDRA, dir.join("vdra/vdra.log")),
                (VPCRF, dir.join("vpcrf/vpcrf.log")),
                (HDRA, dir.join("hdra/hdra.log")),
                (HPCRF, dir.join("hpcrf/hpcrf.log")),
            ],
            printed: 0,
            aliases: BTreeMap::new(),
        }
    }

    fn alias(&mut self, session_id: &str) -> String {
        let n = self.aliases.len() + 1;
        self.aliases
            .entry(session_id.to_string())
            .or_insert_with(|| format!("S{n}"))
            .clone()
    }

    /// Every message sent so far by the five processes, in time order.
    fn read(&self) -> Vec<Sent> {
        let mut all = Vec::new();
        for (lane, path) in &self.logs {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            all.extend(text.lines().filter_map(|l| sent(*lane, l)));
        }
        all.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        all
    }

    /// Print the messages logged since the last call. The procedure's answer has reached the
    /// client when this is called, and every process logs a message before writing it, so the
    /// procedure's messages are in the logs; the logs are read until they stop growing (up to
    /// 2 s) for a message sent after the last answer (none is expected).
    async fn print_new(&mut self, ladder: &Ladder) {
        let start = Instant::now();
        let mut seen = self.read();
        while start.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let again = self.read();
            if again.len() == seen.len() {
                break;
            }
            seen = again;
        }
        for m in seen.iter().skip(self.printed) {
            let label = self.label(m);
            ladder.message(m.from, m.to, &label);
        }
        self.printed = seen.len();
    }

    fn label(&mut self, m: &Sent) -> String {
        let command = match (m.command_code, m.request) {
            (272, true) => "CCR",
            (272, false) => "CCA",
            (265, true) => "AAR",
            (265, false) => "AAA",
            (275, true) => "STR",
            (275, false) => "STA",
            (258, true) => "RAR",
            (258, false) => "RAA",
            (274, true) => "ASR",
            (274, false) => "ASA",
            _ => "?",
        };
        let kind = match m.cc_request_type {
            1 => "-I",
            2 => "-U",
            3 => "-T",
            _ => "",
        };
        let app = match m.application_id {
            16_777_238 => "Gx",
            16_777_266 => "Gxx",
            16_777_236 => "Rx",
            16_777_267 => "S9",
            _ => "",
        };
        let command = if command == "?" {
            format!("cmd {}", m.command_code)
        } else {
            command.to_string()
        };
        let alias = self.alias(&m.session_id);
        if m.request {
            format!("{command}{kind} {app} {alias}")
        } else {
            format!("{command}{kind} {} {alias}", m.result_code)
        }
    }

    /// The Session-Ids behind the aliases.
    fn legend(&self, ladder: &Ladder) {
        let mut by_alias: Vec<(&String, &String)> =
            self.aliases.iter().map(|(id, a)| (a, id)).collect();
        by_alias.sort_by_key(|(a, _)| a[1..].parse::<usize>().unwrap_or(0));
        for (alias, id) in by_alias {
            ladder.text(&format!("{alias} = {id}"));
        }
    }
}

/// The lane of a peer, by its Diameter identity.
fn lane_of(host: &str) -> Option<Lane> {
    match host {
        "pcc.lab" => Some(CLIENT),
        "visiteddra.lab" => Some(VDRA),
        VPCRF_HOST => Some(VPCRF),
        "homedra.home.lab" => Some(HDRA),
        HPCRF_HOST => Some(HPCRF),
        _ => None,
    }
}

/// A `diameter message` line with `dir = "sent"` of an application message, written by the
/// process of `from`. The runtime's JSON lines carry the event's fields at the top level,
/// diameter-peer's (pcc-emulator's) under `fields`.
fn sent(from: Lane, line: &str) -> Option<Sent> {
    let v: Value = serde_json::from_str(line).ok()?;
    let fields = v.get("fields").unwrap_or(&v);
    if fields["message"] != "diameter message" || fields["dir"] != "sent" {
        return None;
    }
    let command_code = fields["command_code"].as_u64()?;
    if matches!(command_code, 257 | 280 | 282) {
        return None; // CER/CEA, DWR/DWA, DPR/DPA
    }
    let peer = std::iter::once(&v["span"])
        .chain(v["spans"].as_array().into_iter().flatten())
        .find_map(|s| s["origin_host"].as_str())?;
    Some(Sent {
        timestamp: v["timestamp"].as_str()?.to_string(),
        from,
        to: lane_of(peer)?,
        command_code,
        application_id: fields["application_id"].as_u64().unwrap_or(0),
        request: fields["request"].as_bool().unwrap_or(false),
        cc_request_type: fields["cc_request_type"].as_u64().unwrap_or(0),
        result_code: fields["result_code"].as_u64().unwrap_or(0),
        session_id: fields["session_id"].as_str().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE_LINE: &str = r#"{"timestamp":"2026-11-30T06:55:35.000002Z","level":"DEBUG","message":"diameter message","dir":"sent","command_code":272,"application_id":16777267,"request":false,"flags":0,"hop_by_hop":7,"end_to_end":9,"session_id":"vpcrf.lab;1;2;s9","cc_request_type":1,"result_code":3006,"len":200,"target":"corelab_diameter_node::conn","span":{"remote":"127.0.0.1:4000","origin_host":"vpcrf.lab","name":"diameter_conn"},"spans":[{"remote":"127.0.0.1:4000","origin_host":"vpcrf.lab","name":"diameter_conn"}]}"#;
    const CLIENT_LINE: &str = r#"{"timestamp":"2026-11-30T06:55:35.000001Z","level":"DEBUG","fields":{"message":"diameter message","dir":"sent","command_code":272,"application_id":16777266,"request":true,"session_id":"pcc.lab;1;1","cc_request_type":3,"result_code":0},"target":"corelab_diameter_node::conn","spans":[{"remote":"127.0.0.1:3868","origin_host":"visiteddra.lab","name":"diameter_conn"}]}"#;

    #[test]
    fn a_sent_line_of_either_log_format_is_a_message_to_the_peer_of_its_connection() {
        let answer = sent(HDRA, NODE_LINE).expect("the hDRA's answer");
        assert_eq!((answer.from, answer.to), (HDRA, VPCRF));
        assert!(!answer.request);
        assert_eq!((answer.cc_request_type, answer.result_code), (1, 3006));
        let request = sent(CLIENT, CLIENT_LINE).expect("the client's request");
        assert_eq!((request.from, request.to), (CLIENT, VDRA));
        let mut wire = Wire::new(Path::new("."));
        assert_eq!(wire.label(&request), "CCR-T Gxx S1");
        assert_eq!(wire.label(&answer), "CCA-I 3006 S2");
    }

    #[test]
    fn received_lines_capabilities_and_unknown_peers_are_left_out() {
        assert!(
            sent(
                HDRA,
                &NODE_LINE.replace(r#""dir":"sent""#, r#""dir":"recv""#)
            )
            .is_none()
        );
        let cer = NODE_LINE.replace(r#""command_code":272"#, r#""command_code":257"#);
        assert!(sent(HDRA, &cer).is_none());
        let stranger = CLIENT_LINE.replace("visiteddra.lab", "someone.else");
        assert!(sent(CLIENT, &stranger).is_none());
        assert!(sent(CLIENT, "not json").is_none());
    }
}
