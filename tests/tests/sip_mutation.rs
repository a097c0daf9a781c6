//! Issue 13 "Proof": a mutation run against the real binaries. presence-server and a watching
//! ue-emulator get thousands of mutants of valid requests (byte flips, truncations, duplicated
//! and removed headers, huge values, CR/LF injection, URI-breaking characters) over UDP and TCP
//! while valid users keep working. Asserted: no process dies; peak RSS (VmHWM) stays under a
//! bound; REGISTER, SUBSCRIBE and NOTIFY round trips of valid users succeed during and after;
//! after a `kill -9` and a restart the valid users' registrations and subscriptions are still
//! in the store and served; and the log grows by at most [`LOG_BYTES_PER_INPUT_BYTE`] bytes
//! per byte of input (issue 13 §5). The numbers are printed (docs/robustness.md records them).
//!
//! A third test sends mutants one by one and asks `corelab_sip::validate::inbound` (the node's
//! own decision, free of IO) what each deserves: every one it answers, and every request it
//! delivers whose answer comes back to us (RFC 3261 §18.2.2: `rport`, or the sent-by port),
//! must be answered by the running server, with the very status line when it is a 400/505.
//!
//! Default: 3,000 mutants (about half a minute). `CORELAB_MUTANTS=N` sends N instead (the
//! heavy variant), `CORELAB_MUTATION_SEED=S` picks another deterministic sequence.

#[path = "support/mutants.rs"]
mod mutants;
#[path = "support/raw_sip.rs"]
mod raw_sip;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use corelab_proto::presence::v1 as ppb;
use corelab_proto::ue::v1 as upb;
use corelab_tests::{Backend, Lab, Ue, until, view};
use mutants::{Rng, mutate, mutate_small};
use raw_sip::{Tcp, Udp};

const LIMIT: Duration = Duration::from_secs(30);
const BOB: &str = "sip:bob@lab.example";

/// Log bytes allowed per byte of hostile input (issue 13 §5: "no input may produce more log
/// than a small multiple of its size"). Measured: docs/robustness.md.
const LOG_BYTES_PER_INPUT_BYTE: u64 = 1;

/// The bound for small malformed requests, the worst case per byte, as a fraction
/// (numerator, denominator): 0.4. Measured with seed 5: 0.47 before the transport decided and
/// logged refusals once per 10 s, 0.32 after (docs/robustness.md).
const SMALL_LOG_PER_INPUT: (u64, u64) = (2, 5);

/// Peak resident memory allowed to each process (debug build; measured: docs/robustness.md).
const MAX_RSS_KIB: u64 = 256 * 1024;

/// What one stream of mutants did.
#[derive(Default, Debug)]
struct Tally {
    sent: usize,
    bytes: u64,
    /// Mutants the socket refused to send (over 65,507 bytes for a datagram).
    unsendable: usize,
    answers: BTreeMap<String, usize>,
}

impl Tally {
    fn answered(&mut self, msg: &str) {
        let status = msg
            .strip_prefix("SIP/2.0 ")
            .and_then(|s| s.get(..3))
            .unwrap_or("other")
            .to_string();
        *self.answers.entry(status).or_default() += 1;
    }

    fn add(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.bytes += other.bytes;
        self.unsendable += other.unsendable;
        for (k, v) in &other.answers {
            *self.answers.entry(k.clone()).or_default() += v;
        }
    }
}

/// Valid requests towards presence-server from `local`: mallory registers and publishes;
/// mallet (never registered) subscribes, asks, messages. `{n}` makes each copy a new
/// transaction.
fn server_bases(local: &str, transport: &str) -> Vec<String> {
    let pidf = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:mallory@lab.example\"><tuple id=\"t1\"><status><basic>open</basic></status><note>here</note></tuple></presence>";
    let req = |method: &str, uri: &str, user: &str, to: &str, extra: &str, body: &str| {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKm{{n}};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@lab.example>;tag=t{{n}}\r\nTo: <{to}>\r\nCall-ID: m{{n}}@{local}\r\nCSeq: 1 {method}\r\nContact: <sip:{user}@{local}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    vec![
        req(
            "REGISTER",
            "sip:lab.example",
            "mallory",
            "sip:mallory@lab.example",
            "Expires: 600\r\n",
            "",
        ),
        req(
            "SUBSCRIBE",
            BOB,
            "mallet",
            BOB,
            "Event: presence\r\nAccept: application/pidf+xml\r\nExpires: 600\r\n",
            "",
        ),
        req(
            "SUBSCRIBE",
            "sip:mallory@lab.example",
            "mallet",
            "sip:mallory@lab.example",
            "Event: reg\r\nExpires: 600\r\n",
            "",
        ),
        req(
            "PUBLISH",
            "sip:mallory@lab.example",
            "mallory",
            "sip:mallory@lab.example",
            "Event: presence\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\n",
            pidf,
        ),
        req(
            "OPTIONS",
            "sip:presence@lab.example",
            "mallet",
            "sip:presence@lab.example",
            "",
            "",
        ),
        req(
            "NOTIFY",
            "sip:presence@lab.example",
            "mallet",
            "sip:presence@lab.example;tag=x",
            "Event: presence\r\nSubscription-State: active\r\n",
            "",
        ),
    ]
}

/// Valid requests towards the watching UE (alice): out-of-dialog NOTIFYs, MESSAGEs, OPTIONS.
fn ue_bases(local: &str) -> Vec<String> {
    let req = |method: &str, extra: &str, body: &str| {
        format!(
            "{method} sip:alice@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKu{{n}}\r\nMax-Forwards: 70\r\nFrom: <sip:mallet@lab.example>;tag=u{{n}}\r\nTo: <sip:alice@lab.example>\r\nCall-ID: u{{n}}@{local}\r\nCSeq: 1 {method}\r\nContact: <sip:mallet@{local}>\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    vec![
        req(
            "NOTIFY",
            "Event: presence\r\nSubscription-State: active;expires=600\r\n",
            "",
        ),
        req("MESSAGE", "Content-Type: text/plain\r\n", "hello"),
        req("OPTIONS", "", ""),
    ]
}

/// Mutant number `i` of `bases`.
fn mutant(rng: &mut Rng, bases: &[String], i: usize, small: bool) -> Vec<u8> {
    let base = rng
        .pick(bases)
        .replace("{n}", &format!("{i}x{}", rng.next() % 1_000_000));
    match small {
        true => mutate_small(rng, base.as_bytes()).1,
        false => mutate(rng, base.as_bytes()).1,
    }
}

/// `count` mutants over UDP to `to` (`small`: no huge values), answers counted until 2 s of
/// silence after the last.
fn udp_run(
    to: &str,
    count: usize,
    seed: u64,
    bases: fn(&str) -> Vec<String>,
    small: bool,
) -> Tally {
    let mut tally = Tally::default();
    let Ok(udp) = Udp::bind() else {
        return tally;
    };
    let bases = bases(&udp.local());
    let mut rng = Rng::new(seed);
    let _ = udp.socket.set_nonblocking(true);
    let mut buf = vec![0u8; 65_535];
    let mut drain = |tally: &mut Tally| {
        while let Ok((n, _)) = udp.socket.recv_from(&mut buf) {
            tally.answered(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    for i in 0..count {
        let m = mutant(&mut rng, &bases, i, small);
        match udp.socket.send_to(&m, to) {
            Ok(_) => {
                tally.sent += 1;
                tally.bytes += m.len() as u64;
            }
            Err(_) => tally.unsendable += 1,
        }
        drain(&mut tally);
        // Paced, as a peer would send: the point is robustness, not a load test.
        if i % 20 == 19 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(2) {
        let before: usize = tally.answers.values().sum();
        drain(&mut tally);
        if tally.answers.values().sum::<usize>() > before {
            quiet_since = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tally
}

/// `count` mutants over TCP to `to`, 25 per connection, answers read until the server closes
/// or 500 ms of silence.
fn tcp_run(to: &str, count: usize, seed: u64) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng::new(seed);
    let mut i = 0;
    while i < count {
        let Ok(mut tcp) = Tcp::connect(to) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let bases = server_bases(&tcp.local(), "TCP");
        for _ in 0..25.min(count - i) {
            let m = mutant(&mut rng, &bases, i, false);
            i += 1;
            if std::io::Write::write_all(&mut tcp.stream, &m).is_err() {
                break;
            }
            tally.sent += 1;
            tally.bytes += m.len() as u64;
        }
        while let Ok(Some(msg)) = tcp.message(Duration::from_millis(500)) {
            tally.answered(&msg);
        }
    }
    tally
}

/// VmHWM (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM for {pid}"))
}

async fn sees(lab: &Lab, ue: &Ue, who: &str, note: &str) -> anyhow::Result<()> {
    until(LIMIT, &format!("{who} with note {note:?}"), || async {
        view(&mut ue.clone())
            .await
            .buddies
            .iter()
            .any(|b| b.uri == who && b.note == note)
            .then_some(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nserver log tail:\n{}", tail(&lab.server_log())))
}

fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    text.get(start..).unwrap_or("").to_string()
}

async fn publish(bob: &Ue, note: &str) -> anyhow::Result<()> {
    bob.clone()
        .publish(upb::PublishRequest {
            basic: "open".into(),
            note: note.into(),
        })
        .await?;
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutants_over_udp_and_tcp_crash_nothing_and_valid_users_keep_working() -> anyhow::Result<()>
{
    let total = env_number("CORELAB_MUTANTS", 3000) as usize;
    let seed = env_number("CORELAB_MUTATION_SEED", 13);
    let mut lab = Lab::start(Backend::Sqlite, "").await?;
    let server_sip = format!("127.0.0.1:{}", lab.sip_port);
    let server_pid = lab
        .server()
        .pid()
        .ok_or_else(|| anyhow::anyhow!("no pid"))?;

    let bob = lab.ue("bob", &["--publish", "open"]).await?;
    let alice = lab.ue("alice", &["--buddy", BOB]).await?;
    let alice_sip = lab.ues[1].sip_addr();
    let alice_pid = lab.ues[1].pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    publish(&bob, "before").await?;
    sees(&lab, &alice, BOB, "before").await?;

    // The mutants, on blocking threads: half to the server over UDP, a third over TCP, the
    // rest to the UE over UDP.
    let log = lab.server_log();
    let log_before = std::fs::metadata(&log)?.len();
    let started = Instant::now();
    let (udp_n, tcp_n) = (total / 2, total / 3);
    let ue_n = total - udp_n - tcp_n;
    let to = server_sip.clone();
    let udp = tokio::task::spawn_blocking(move || {
        udp_run(&to, udp_n, seed, |l| server_bases(l, "UDP"), false)
    });
    let to = server_sip.clone();
    let tcp = tokio::task::spawn_blocking(move || tcp_run(&to, tcp_n, seed + 1));
    let ue =
        tokio::task::spawn_blocking(move || udp_run(&alice_sip, ue_n, seed + 2, ue_bases, false));

    // Valid traffic during the run: a PUBLISH reaches the watcher in a NOTIFY; a REGISTER is
    // answered; a new watcher subscribes and gets its first NOTIFY.
    publish(&bob, "during").await?;
    sees(&lab, &alice, BOB, "during").await?;
    let status = alice
        .clone()
        .register(upb::Empty {})
        .await?
        .into_inner()
        .status;
    assert_eq!(status, 200, "alice's REGISTER during the run");
    let carol = lab.ue("carol", &["--buddy", BOB]).await?;
    sees(&lab, &carol, BOB, "during").await?;

    let (udp, tcp, ue) = (udp.await?, tcp.await?, ue.await?);
    let elapsed = started.elapsed();
    let mut to_server = Tally::default();
    to_server.add(&udp);
    to_server.add(&tcp);
    let log_grown = std::fs::metadata(&log)?.len() - log_before;

    // Nothing died; memory stayed bounded.
    assert!(
        lab.server.as_mut().is_some_and(|s| s.is_running()),
        "presence-server died"
    );
    for ue in lab.ues.iter_mut() {
        assert!(ue.is_running(), "{} died", ue.name);
    }
    let server_rss = peak_rss_kib(server_pid)?;
    let ue_rss = peak_rss_kib(alice_pid)?;
    println!(
        "mutation run (seed {seed}, {:.1} s): to presence-server over UDP {udp:?}\nover TCP {tcp:?}\nto ue-emulator over UDP {ue:?}\npeak RSS: presence-server {server_rss} KiB, ue-emulator {ue_rss} KiB\nserver log: {log_grown} bytes for {} bytes of mutants",
        elapsed.as_secs_f64(),
        to_server.bytes
    );
    assert!(
        server_rss < MAX_RSS_KIB,
        "presence-server peak RSS {server_rss} KiB"
    );
    assert!(ue_rss < MAX_RSS_KIB, "ue-emulator peak RSS {ue_rss} KiB");
    assert!(
        log_grown <= LOG_BYTES_PER_INPUT_BYTE * to_server.bytes,
        "log grew {log_grown} bytes for {} bytes of input",
        to_server.bytes
    );
    assert!(
        to_server.answers.values().sum::<usize>() > 0 && ue.answers.values().sum::<usize>() > 0,
        "nothing answered at all"
    );

    // Valid traffic after the run.
    publish(&bob, "after").await?;
    sees(&lab, &alice, BOB, "after").await?;
    sees(&lab, &carol, BOB, "after").await?;

    // The store is intact after a crash and restart: the valid users' registrations and
    // subscriptions are there, and served.
    if let Some(server) = lab.server.take() {
        server.kill().await?;
    }
    lab.start_server().await?;
    let mut ctl = lab.control().await?;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    for user in ["alice", "bob", "carol"] {
        let aor = format!("sip:{user}@lab.example");
        assert!(regs.iter().any(|r| r.aor == aor), "{aor} lost: {regs:?}");
    }
    let subs = ctl
        .list_subscriptions(ppb::Empty {})
        .await?
        .into_inner()
        .subscriptions;
    for watcher in ["sip:alice@lab.example", "sip:carol@lab.example"] {
        assert!(
            subs.iter()
                .any(|s| s.watcher == watcher && s.resource == BOB),
            "{watcher}'s subscription to bob lost: {subs:?}"
        );
    }
    publish(&bob, "restarted").await?;
    sees(&lab, &alice, BOB, "restarted").await?;
    sees(&lab, &carol, BOB, "restarted").await?;
    Ok(())
}

/// Issue 13 §5: small malformed requests (mutants without huge values, so that no single big
/// input hides the per-message cost) make presence-server log at most
/// [`SMALL_LOG_PER_INPUT`] (0.4) bytes per byte received, at the default level (info).
/// Refusals by the transport are logged once per 10 s with a count; the handlers' own lines
/// per request are bounded by the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_log_less_than_they_weigh() -> anyhow::Result<()> {
    let lab = Lab::start(Backend::Sqlite, "").await?;
    let to = format!("127.0.0.1:{}", lab.sip_port);
    let log = lab.server_log();
    let before = std::fs::metadata(&log)?.len();
    let tally = tokio::task::spawn_blocking(move || {
        udp_run(&to, 1000, 5, |l| server_bases(l, "UDP"), true)
    })
    .await?;
    let grown = std::fs::metadata(&log)?.len() - before;
    println!(
        "{} small mutants, {} bytes: answers {:?}; log grew {grown} bytes ({:.2} per input byte)",
        tally.sent,
        tally.bytes,
        tally.answers,
        grown as f64 / tally.bytes.max(1) as f64
    );
    assert!(tally.sent >= 990, "{tally:?}");
    assert!(
        grown * SMALL_LOG_PER_INPUT.1 <= SMALL_LOG_PER_INPUT.0 * tally.bytes,
        "log grew {grown} bytes for {} bytes of input",
        tally.bytes
    );
    Ok(())
}

/// What the node's own decision says a mutant sent from `src` deserves: `Some(status line)` for
/// a 400/505, `Some("")` for a request delivered to the transaction layer whose answer comes back
/// to `src`, `None` when no answer reaches us (dropped, an ACK, or an answer sent to the port
/// the Via names).
fn expected_answer(m: &[u8], src: std::net::SocketAddr) -> Option<String> {
    use corelab_sip::framing::{Datagram, datagram};
    use corelab_sip::rsipstack::sip::prelude::*;
    use corelab_sip::rsipstack::sip::{Method, Param, SipMessage, Transport};
    use corelab_sip::validate::{Inbound, inbound};
    let first_line = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .split("\r\n")
            .next()
            .unwrap_or("")
            .to_string()
    };
    match datagram(m) {
        Datagram::BadLength { reason, head } => {
            corelab_sip::build::raw_response(head, 400, &reason).map(|b| first_line(&b))
        }
        Datagram::Message(bytes) => match inbound(bytes, src, Transport::Udp) {
            Inbound::Answer { bytes, .. } => Some(first_line(&bytes)),
            Inbound::Deliver(SipMessage::Request(req)) if req.method != Method::Ack => {
                let via = req.via_header().ok()?.typed().ok()?;
                let rport = via
                    .params
                    .iter()
                    .any(|p| matches!(p, Param::Rport(Some(port)) if *port == src.port()));
                let port = via.uri.host_with_port.port.map(u16::from);
                (rport || port == Some(src.port())).then(String::new)
            }
            _ => None,
        },
        Datagram::Ping | Datagram::Empty => None,
    }
}

/// Issue 13 §10 over the wire: no mutant that the decision answers, or delivers with an answer
/// coming back to us, goes unanswered by the running presence-server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutant_that_can_be_answered_is_answered() -> anyhow::Result<()> {
    let lab = Lab::start(Backend::Sqlite, "").await?;
    let to = format!("127.0.0.1:{}", lab.sip_port);
    let count = env_number("CORELAB_MUTANTS", 3000) as usize / 5;
    let seed = env_number("CORELAB_MUTATION_SEED", 13) + 7;
    let (expected, exact) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(usize, usize)> {
            let udp = Udp::bind()?;
            let src = udp.socket.local_addr()?;
            let bases = server_bases(&udp.local(), "UDP");
            let mut rng = Rng::new(seed);
            let (mut expected, mut exact) = (0, 0);
            let mut buf = vec![0u8; 65_535];
            for i in 0..count {
                let m = mutant(&mut rng, &bases, i, true);
                let want = expected_answer(&m, src);
                // Late answers to earlier mutants are not this one's.
                udp.socket.set_nonblocking(true)?;
                while udp.socket.recv_from(&mut buf).is_ok() {}
                udp.socket.set_nonblocking(false)?;
                udp.send(&to, &m)?;
                let Some(want) = want else { continue };
                expected += 1;
                let got = udp.message(Duration::from_secs(3)).map_err(|e| {
                    anyhow::anyhow!(
                        "mutant {i} unanswered ({e}), expected {want:?}:\n{}",
                        String::from_utf8_lossy(&m)
                    )
                })?;
                if !want.is_empty() {
                    exact += 1;
                    anyhow::ensure!(
                        raw_sip::status_line(&got) == want,
                        "mutant {i}: expected {want:?}, got {got:?} for\n{}",
                        String::from_utf8_lossy(&m)
                    );
                }
            }
            Ok((expected, exact))
        })
        .await??;
    println!(
        "{count} mutants one by one: {expected} answered as expected ({exact} with the exact 400/505)"
    );
    assert!(expected > count / 2, "{expected} of {count}");
    Ok(())
}
