//! Strangers cannot steer the UE (issue 13 item 3): ue-emulator acts on a subscription-failure
//! MESSAGE only from the server it subscribes through and only about a dialog it holds, at most
//! once per dialog, re-subscribing to that dialog's own resource; it prints what it receives
//! escaped; its terminated dialogs do not pile up. Real ue-emulator processes, raw SIP over UDP
//! from the test.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corelab_proto::presence::v1 as ppb;
use corelab_proto::ue::v1 as upb;
use corelab_tests::{Backend, Lab, Ue, on_both_backends, sip_udp_exchange, until, view};
use labctl::{Node, bin_path};

const LIMIT: Duration = Duration::from_secs(25);
const BOB: &str = "sip:bob@lab.example";
const ALICE: &str = "sip:alice@lab.example";

fn active(view: &upb::View, resource: &str) -> Option<String> {
    view.subscriptions
        .iter()
        .find(|s| s.event == "presence" && s.resource == resource && s.state == "active")
        .map(|s| s.call_id.clone())
}

fn status_line(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

/// A subscription-failure report (crates/sip/src/body/failure_report.rs) about dialog
/// `dialog`, naming `resource`, sent as a MESSAGE whose Via names `via` (`{local}`: the sender).
fn report(via: &str, ue: &str, n: u32, dialog: &str, resource: &str) -> String {
    let body = format!(
        r#"{{"version":1,"action":"resubscribe","event":"presence","event_id":null,"resource":"{resource}","call_id":"{dialog}","reason":"timeout","status":null,"count":1,"threshold":3}}"#
    );
    format!(
        "MESSAGE sip:ue@{ue} SIP/2.0\r\nVia: SIP/2.0/UDP {via};branch=z9hG4bKrep{n}\r\nMax-Forwards: 70\r\nFrom: <sip:presence@lab.example>;tag=p{n}\r\nTo: <sip:ue@lab.example>\r\nCall-ID: report-{n}\r\nCSeq: 1 MESSAGE\r\nContent-Type: application/vnd.corelab.subscription-failure+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn ue_sip_addr(lab: &Lab, name: &str) -> String {
    lab.ues
        .iter()
        .find(|n| n.name == name)
        .map(Node::sip_addr)
        .unwrap_or_default()
}

/// alice watches bob; strangers (raw UDP from the test, each from its own port) send 200 forged
/// reports, half about alice's real dialog: every one gets 403, none makes her SUBSCRIBE, the
/// refusals are counted and logged only once per interval.
async fn forged_reports_from_strangers(backend: Backend) -> anyhow::Result<()> {
    let mut lab = Lab::start(backend, "").await?;
    let _bob = lab.ue("bob", &["--publish", "open"]).await?;
    let mut alice = lab.ue("alice", &["--buddy", BOB]).await?;
    let dialog = until(LIMIT, "alice subscribed to bob", || {
        let mut a = alice.clone();
        async move { active(&view(&mut a).await, BOB) }
    })
    .await?;
    let before = view(&mut alice).await;
    let ue = ue_sip_addr(&lab, "alice");

    const FORGED: u32 = 200;
    for n in 0..FORGED {
        let about = if n % 2 == 0 {
            dialog.clone()
        } else {
            format!("guess-{n}")
        };
        let resp = sip_udp_exchange("127.0.0.1:0", &ue, &report("{local}", &ue, n, &about, BOB))?;
        assert!(
            status_line(&resp).starts_with("SIP/2.0 403 Forbidden (not from the server"),
            "{resp}"
        );
    }
    // One that also forges its Via to name the server: the source is still the test's.
    let server = lab.server().sip_addr();
    let resp = sip_udp_exchange(
        "127.0.0.1:0",
        &ue,
        &report(&server, &ue, FORGED, &dialog, BOB),
    )?;
    assert!(status_line(&resp).starts_with("SIP/2.0 403"), "{resp}");

    let after = view(&mut alice).await;
    assert_eq!(after.failure_messages_refused, FORGED + 1);
    assert_eq!(
        (after.failure_messages_received, after.resubscriptions),
        (0, 0)
    );
    assert_eq!(active(&after, BOB), Some(dialog.clone()), "same dialog");
    assert_eq!(after.subscriptions.len(), before.subscriptions.len());
    let subs = lab
        .control()
        .await?
        .list_subscriptions(ppb::Empty {})
        .await?
        .into_inner()
        .subscriptions;
    let alices: Vec<_> = subs.iter().filter(|s| s.watcher == ALICE).collect();
    assert_eq!(alices.len(), 1, "no SUBSCRIBE from alice: {subs:?}");
    assert_eq!(alices[0].call_id, dialog);

    let log = std::fs::read_to_string(lab.dir.path().join("alice.log"))?;
    let lines = log.matches("subscription-failure MESSAGE refused").count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} log lines for {FORGED} refusals"
    );
    Ok(())
}

/// A MESSAGE body with terminal escape sequences is printed escaped on the UE's stdout.
async fn escape_sequences_printed_escaped(backend: Backend) -> anyhow::Result<()> {
    let mut lab = Lab::start(backend, "").await?;
    let _alice = lab.ue("alice", &[]).await?;
    let ue = ue_sip_addr(&lab, "alice");
    let body = "hello \x1b[2J\x1b]0;owned\x07\x1b[31mred\r\nX-Fake: line";
    let message = format!(
        "MESSAGE sip:alice@{ue} SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bKesc1\r\nMax-Forwards: 70\r\nFrom: <sip:mallory@evil.example>;tag=m1\r\nTo: <sip:alice@lab.example>\r\nCall-ID: esc-1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = sip_udp_exchange("127.0.0.1:0", &ue, &message)?;
    assert!(status_line(&resp).starts_with("SIP/2.0 200"), "{resp}");
    let expected = "MESSAGE: hello \\x1b[2J\\x1b]0;owned\\x07\\x1b[31mred\\x0d\\x0aX-Fake: line";
    until(LIMIT, "the MESSAGE in alice's transcript", || {
        let text = lab.transcript("alice");
        async move { text.contains(expected).then_some(()) }
    })
    .await?;
    let raw = std::fs::read(lab.dir.path().join("alice.out"))?;
    assert!(
        !raw.iter().any(|b| *b == 0x1b || *b == 0x07 || *b == b'\r'),
        "a control byte reached the terminal: {:?}",
        String::from_utf8_lossy(&raw)
    );
    Ok(())
}

/// Dialogs that end (here: SUBSCRIBEs the server refuses, 489) are kept at most
/// `--max-ended-dialogs` (64 by default) and at most `--dialog-linger-ms`.
async fn dialogs_stay_bounded(backend: Backend) -> anyhow::Result<()> {
    let mut lab = Lab::start(backend, "").await?;
    let mut carol = lab.ue("carol", &[]).await?;
    for n in 0..100 {
        let refused = carol
            .subscribe(upb::SubscribeRequest {
                resource: format!("sip:x{n}@lab.example"),
                event: "dialog".into(),
            })
            .await;
        assert!(refused.is_err(), "489 expected");
    }
    let v = view(&mut carol).await;
    assert!(
        v.subscriptions.len() <= 64,
        "{} dialogs kept",
        v.subscriptions.len()
    );
    assert!(v.subscriptions.iter().all(|s| s.state == "terminated"));
    let mut dave = lab.ue("dave", &["--dialog-linger-ms", "1000"]).await?;
    for n in 0..10 {
        let _ = dave
            .subscribe(upb::SubscribeRequest {
                resource: format!("sip:y{n}@lab.example"),
                event: "dialog".into(),
            })
            .await;
    }
    until(
        LIMIT,
        "dave's ended dialogs dropped after the linger",
        || {
            let mut d = dave.clone();
            async move { view(&mut d).await.subscriptions.is_empty().then_some(()) }
        },
    )
    .await?;
    Ok(())
}

/// A SIP peer on one UDP socket that plays the UE's proxy: it answers every request 200 (with a
/// To tag and a Contact) and records every message it gets.
struct FakeProxy {
    socket: UdpSocket,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start() -> anyhow::Result<FakeProxy> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let (reader, log) = (socket.try_clone()?, seen.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65535];
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(120) {
                let Ok((n, from)) = reader.recv_from(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if !text.starts_with("SIP/2.0 ") {
                    let _ = reader.send_to(ok_with_tag(&text, &reader).as_bytes(), from);
                }
                log.lock().unwrap_or_else(|p| p.into_inner()).push(text);
            }
        });
        Ok(FakeProxy { socket, seen })
    }

    fn addr(&self) -> String {
        self.socket
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    fn seen(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter().filter(|m| pred(m)).cloned().collect()
    }

    /// Send `msg` from the proxy's own socket; wait for the final response with `call_id`.
    async fn exchange(&self, ue: &str, msg: &str, call_id: &str) -> anyhow::Result<String> {
        self.socket.send_to(msg.as_bytes(), ue)?;
        let header = format!("Call-ID: {call_id}\r\n");
        until(LIMIT, &format!("the answer to {call_id}"), || {
            let found = self
                .seen(|m| {
                    m.starts_with("SIP/2.0 ") && !m.starts_with("SIP/2.0 1") && m.contains(&header)
                })
                .pop();
            async move { found }
        })
        .await
    }
}

/// 200 OK to `req` with a To tag and a Contact at `socket` (RFC 3261 §8.2.6).
fn ok_with_tag(req: &str, socket: &UdpSocket) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for line in req.split("\r\n\r\n").next().unwrap_or("").lines().skip(1) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match name.as_str() {
            "to" if !line.contains(";tag=") => out.push_str(&format!("{line};tag=fp1\r\n")),
            "via" | "from" | "to" | "call-id" | "cseq" => out.push_str(&format!("{line}\r\n")),
            _ => {}
        }
    }
    let me = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    out.push_str(&format!(
        "Contact: <sip:bob@{me}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
    ));
    out
}

/// With the test as its proxy: a report from the proxy about no dialog of the UE's gets 403; the
/// first about its dialog gets 200 and exactly one re-SUBSCRIBE, to the dialog's own resource
/// (not the one the report names); a copy gets 200 and nothing more; the same report from a
/// stranger gets 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_from_the_proxy_about_our_dialog_resubscribe_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let proxy = FakeProxy::start()?;
    let node = Node::start(
        "frank",
        &bin_path("ue-emulator")?,
        &[
            "--aor".into(),
            "sip:frank@lab.example".into(),
            "--proxy".into(),
            format!("sip:{}", proxy.addr()),
            "--t1-ms".into(),
            "50".into(),
        ],
        dir.path(),
        false,
    )
    .await?;
    let ue = node.sip_addr();
    let mut frank = Ue::connect(node.grpc_uri()).await?;
    frank
        .subscribe(upb::SubscribeRequest {
            resource: BOB.into(),
            event: "presence".into(),
        })
        .await?;
    let dialog = active(&view(&mut frank).await, BOB)
        .ok_or_else(|| anyhow::anyhow!("no active dialog after a 200"))?;
    let subscribes_to_bob = || proxy.seen(|m| m.starts_with(&format!("SUBSCRIBE {BOB} ")));
    assert_eq!(subscribes_to_bob().len(), 1);

    let resp = proxy
        .exchange(
            &ue,
            &report(&proxy.addr(), &ue, 1, "nosuch", BOB),
            "report-1",
        )
        .await?;
    assert!(
        status_line(&resp).starts_with("SIP/2.0 403 Forbidden (no such subscription)"),
        "{resp}"
    );

    let stranger = sip_udp_exchange("127.0.0.1:0", &ue, &report("{local}", &ue, 2, &dialog, BOB))?;
    assert!(
        status_line(&stranger).starts_with("SIP/2.0 403"),
        "{stranger}"
    );

    let mallory = "sip:mallory@evil.example";
    let resp = proxy
        .exchange(
            &ue,
            &report(&proxy.addr(), &ue, 3, &dialog, mallory),
            "report-3",
        )
        .await?;
    assert!(status_line(&resp).starts_with("SIP/2.0 200"), "{resp}");
    until(LIMIT, "frank's new dialog to bob", || {
        let mut f = frank.clone();
        let old = dialog.clone();
        async move { active(&view(&mut f).await, BOB).filter(|c| *c != old) }
    })
    .await?;

    let resp = proxy
        .exchange(
            &ue,
            &report(&proxy.addr(), &ue, 4, &dialog, BOB),
            "report-4",
        )
        .await?;
    assert!(status_line(&resp).starts_with("SIP/2.0 200"), "{resp}");

    let v = view(&mut frank).await;
    assert_eq!(
        (
            v.failure_messages_received,
            v.resubscriptions,
            v.failure_messages_refused
        ),
        (1, 1, 2)
    );
    assert_eq!(subscribes_to_bob().len(), 2, "one re-SUBSCRIBE, to bob");
    assert!(
        proxy
            .seen(|m| m.starts_with(&format!("SUBSCRIBE {mallory}")))
            .is_empty()
    );
    node.stop().await?;
    Ok(())
}

on_both_backends! {
    forged_failure_reports_from_strangers_get_403_and_no_subscribe => forged_reports_from_strangers;
    a_message_with_escape_sequences_is_printed_escaped => escape_sequences_printed_escaped;
    ended_dialogs_are_capped_and_dropped_after_the_linger => dialogs_stay_bounded;
}
