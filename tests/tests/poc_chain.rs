//! Issue 11 §5, the proof over the wire: the seed's figure (WO2010115322A1 fig. 3) played by PoC
//! terminals (`ue-emulator poc`) through two participating functions (PF-A for `a.lab`, PF-B
//! for `b.lab`) to the controlling function and the group server, every node a separate process
//! on its own store, on SQLite and PostgreSQL (`tests/poc_lab.rs`, shared with `labctl demo poc`).
//!
//! A joins through PF-A and its ids become the group session's; B joins through PF-B (over TCP)
//! with its own new ids and is given A's, replacing its own (step 313); RTP from A reaches B; A
//! leaves and rejoins with new ids and gets the same ones; after everyone left, and after the CF
//! and both PFs were killed (SIGKILL) and restarted on their stores, a new join still gets them.
//! Refusals: a non-member 403 (CF), an unknown group 404 (CF), an identity no PF serves 403 (PF),
//! a malformed CPIM or multipart body 400 with nothing stored. Twenty terminals joining a group at
//! once end with one id pair.

#[path = "support/capture.rs"]
mod capture;
#[path = "support/raw_sip.rs"]
mod raw_sip;

use std::time::Duration;

use corelab_sip::body::multipart::{self, Part};
use corelab_tests::poc_lab::{self, *};
use corelab_tests::{Backend, on_both_backends};
use raw_sip::{Udp, status_line};

const SDP: &str = "v=0\r\no=raw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";

async fn seed_figure(backend: Backend) -> anyhow::Result<()> {
    let mut lab = poc_lab::start(backend).await?;
    let mut a = lab
        .terminals(
            "terminals-a",
            Side::A,
            &[ALICE.into(), EVE.into()],
            "udp",
            true,
        )
        .await?;
    let mut b = lab
        .terminals(
            "terminals-b",
            Side::B,
            &[BOB.into(), CAROL.into()],
            "tcp",
            true,
        )
        .await?;
    let (alice, eve, bob, carol) = (0, 1, 0, 1);

    // 301-307: A joins through PF-A; its own ids become the group session's.
    let a1 = join(&mut a, alice, "", false).await?;
    assert_eq!(
        (a1.ok, a1.status),
        (true, 200),
        "{a1:?}\n{}",
        lab.log("pf-a")
    );
    assert!(!a1.ids_replaced, "{a1:?}");
    let group_ids = ids(&a1);
    assert_eq!(group_ids, sent_ids(&a1));
    assert_eq!(lab.stored_ids(GROUP).await?, Some(group_ids.clone()));

    // 308-313: B joins through PF-B with its own new ids and is given A's.
    let b1 = join(&mut b, bob, "", false).await?;
    assert_eq!(
        (b1.ok, b1.status),
        (true, 200),
        "{b1:?}\n{}",
        lab.log("pf-b")
    );
    assert_ne!(sent_ids(&b1), group_ids, "B sent its own ids");
    assert!(b1.ids_replaced);
    assert_eq!(ids(&b1), group_ids);
    assert_eq!(
        (status(&mut b, bob).await?.conversation_id),
        group_ids.0,
        "B kept the received ids"
    );

    // Both dialogs confirmed at the CF (the ACKs went through the PFs).
    let sessions = lab.group_sessions().await?;
    let team = sessions
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["group_uri"] == GROUP)
        .cloned()
        .unwrap_or_default();
    let participants = team["participants"].as_array().cloned().unwrap_or_default();
    assert_eq!(participants.len(), 2, "{team}");
    for p in &participants {
        crate_wait_confirmed(&lab, p["call_id"].as_str().unwrap_or("")).await?;
    }

    // Media: RTP from A reaches B (counted by B's terminal), not A itself.
    let sent = send_rtp(&mut a, alice, 20).await?;
    assert!(sent.ok, "{sent:?}");
    rtp_received(&mut b, bob, 1).await?;
    assert_eq!(status(&mut a, alice).await?.rtp_received, 0);

    // A leaves and rejoins with new ids: the same group ids.
    assert_eq!(leave(&mut a, alice).await?.status, 200);
    let a2 = join(&mut a, alice, "", true).await?;
    assert_ne!(sent_ids(&a2), group_ids);
    assert_eq!((a2.status, ids(&a2)), (200, group_ids.clone()));

    // Everyone leaves; a new join re-initiates the session with the same ids.
    assert_eq!(leave(&mut a, alice).await?.status, 200);
    assert_eq!(leave(&mut b, bob).await?.status, 200);
    let c1 = join(&mut b, carol, "", false).await?;
    assert_eq!((c1.status, ids(&c1)), (200, group_ids.clone()));
    assert_eq!(leave(&mut b, carol).await?.status, 200);

    // The CF and both PFs killed and restarted on their stores: still the same ids.
    lab.crash_and_restart_cf().await?;
    lab.crash_and_restart_pf(Side::A).await?;
    lab.crash_and_restart_pf(Side::B).await?;
    let b2 = join(&mut b, bob, "", true).await?;
    assert_eq!((b2.status, ids(&b2)), (200, group_ids.clone()), "{b2:?}");
    let a3 = join(&mut a, alice, "", true).await?;
    assert_eq!((a3.status, ids(&a3)), (200, group_ids.clone()), "{a3:?}");
    send_rtp(&mut b, bob, 20).await?;
    rtp_received(&mut a, alice, 1).await?;

    // Refusals, each changing nothing stored.
    let before = lab.group_sessions().await?;
    let e = join(&mut a, eve, "", false).await?;
    assert_eq!((e.ok, e.status), (false, 403), "non-member: {e:?}");
    assert_eq!(
        ids(&e).0,
        sent_ids(&e).0,
        "a refused terminal keeps its ids"
    );
    let n = join(&mut b, carol, NO_SUCH_GROUP, false).await?;
    assert_eq!(n.status, 404, "unknown group: {n:?}");
    let mut m = lab
        .terminals("terminal-mallory", Side::A, &[MALLORY.into()], "udp", false)
        .await?;
    let refused = join(&mut m, 0, "", false).await?;
    // Mallory is a member of the group: only PF-A's check stops him.
    assert_eq!(refused.status, 403, "identity no PF serves: {refused:?}");
    let pf_metrics = corelab_tests::http::get_ok(
        &lab.pfs[0]
            .as_ref()
            .map(|n| n.admin_url("/metrics"))
            .unwrap_or_default(),
    )
    .await?;
    assert!(
        pf_metrics.contains(
            "corelab_poc_participating_requests_refused_total{cause=\"unknown_identity\"}"
        ),
        "PF-A refused it: {pf_metrics}"
    );
    assert_eq!(lab.group_sessions().await?, before, "nothing stored");
    Ok(())
}

/// Wait until the CF shows the participant with `call_id` confirmed (its ACK arrived).
async fn crate_wait_confirmed(lab: &PocLab, call_id: &str) -> anyhow::Result<()> {
    corelab_tests::until(Duration::from_secs(5), "the ACK at the CF", || async {
        let all = lab.group_sessions().await.ok()?;
        let confirmed = all
            .as_array()?
            .iter()
            .flat_map(|g| g["participants"].as_array().cloned().unwrap_or_default())
            .any(|p| p["call_id"] == call_id && p["confirmed"] == true);
        confirmed.then_some(())
    })
    .await
}

async fn malformed_bodies_are_400_and_store_nothing(backend: Backend) -> anyhow::Result<()> {
    let lab = poc_lab::start(backend).await?;
    // A raw terminal of PF-A: u0, provisioned with this socket's address as contact.
    let raw = Udp::bind()?;
    let user = crowd()[0].clone();
    lab.provision(Side::A, std::slice::from_ref(&user), &raw.local())
        .await?;
    let before = lab.group_sessions().await?;
    let cpim_ok = format!(
        "From: <{user}>\r\nTo: <{CROWD}>\r\nNS: cpm <http://www.openmobilealliance.org/cpm/>\r\ncpm.Conversation-ID: c-raw\r\ncpm.Contribution-ID: k-raw\r\n\r\n"
    );
    let bodies = [
        (
            "malformed CPIM",
            "this line has no colon\r\n\r\n".to_string(),
            false,
        ),
        ("CPIM without ids", format!("From: <{user}>\r\n\r\n"), false),
        ("cut multipart", cpim_ok.clone(), true),
    ];
    for (what, cpim, cut) in bodies {
        let (ct, mut body) = multipart::write(&[
            Part::new("application/sdp", SDP),
            Part::new("message/cpim", cpim),
        ]);
        if cut {
            body.truncate(body.len() - 10);
        }
        let invite = raw_sip::request_as(
            "INVITE",
            CROWD,
            &user,
            &raw.local(),
            "UDP",
            &format!("P-Asserted-Identity: <{user}>\r\nContent-Type: {ct}\r\n"),
            &String::from_utf8(body)?,
        );
        raw.send(&lab.pf_addr(Side::A), invite.as_bytes())?;
        let answer = raw.message(Duration::from_secs(10))?;
        assert!(
            status_line(&answer).starts_with("SIP/2.0 400"),
            "{what}: {answer}\n{}",
            lab.log("poc-controlling")
        );
    }
    assert_eq!(lab.group_sessions().await?, before, "nothing stored");
    assert_eq!(lab.stored_ids(CROWD).await?, None);
    Ok(())
}

async fn twenty_concurrent_first_joins(backend: Backend) -> anyhow::Result<()> {
    let mut lab = poc_lab::start(backend).await?;
    let users = crowd();
    let t = lab
        .terminals("terminals-crowd", Side::A, &users, "udp", true)
        .await?;
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..users.len() as u32 {
        let mut t = t.clone();
        joins.spawn(async move { (i, join(&mut t, i, CROWD, false).await) });
    }
    let mut got = Vec::new();
    for (i, r) in joins.join_all().await {
        let r = r?;
        assert_eq!((r.ok, r.status), (true, 200), "terminal {i}: {r:?}");
        got.push((ids(&r), sent_ids(&r)));
    }
    let pair = got[0].0.clone();
    assert!(got.iter().all(|(ids, _)| ids == &pair), "{got:?}");
    let first: Vec<_> = got.iter().filter(|(ids, sent)| ids == sent).collect();
    assert_eq!(
        first.len(),
        1,
        "exactly one joiner kept its own ids: {got:?}"
    );
    assert_eq!(lab.stored_ids(CROWD).await?, Some(pair));
    Ok(())
}

/// `ue-emulator poc` as a one-shot run: `--step` flags, each outcome a line on stdout, exit 0;
/// a step that does not end as expected: exit 1 naming it.
async fn one_shot_steps(backend: Backend) -> anyhow::Result<()> {
    let mut lab = poc_lab::start(backend).await?;
    let mut a = lab
        .terminals("terminals-a", Side::A, &[ALICE.into()], "udp", true)
        .await?;
    let a1 = join(&mut a, 0, "", false).await?;
    assert_eq!(a1.status, 200, "{a1:?}");
    // Carol's one-shot process on a port provisioned beforehand (the PF checks her host).
    let port = labctl::free_port()?;
    lab.provision(Side::B, &[CAROL.into()], &format!("127.0.0.1:{port}"))
        .await?;
    let run = |steps: &[&str]| {
        let mut cmd = tokio::process::Command::new(labctl::bin_path("ue-emulator").unwrap());
        cmd.args([
            "poc",
            "--proxy",
            &format!("sip:{}", lab.pf_addr(Side::B)),
            "--user",
            CAROL,
            "--group",
            GROUP,
            "--sip-listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
            "--exit-after-steps",
        ]);
        for step in steps {
            cmd.args(["--step", step]);
        }
        cmd.kill_on_drop(true).output()
    };
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run(&[
            "join",
            "rtp packets=3 interval_ms=5",
            "leave",
            "join new_ids=true",
            "leave",
        ]),
    )
    .await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let all = format!(
        "{stdout}
{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    let joined = format!(
        "join ok 200 conversation-id={} contribution-id={} replaced",
        a1.conversation_id, a1.contribution_id
    );
    assert!(stdout.contains(&format!("step 1 ue 0 {joined}")), "{all}");
    assert!(stdout.contains(&format!("step 4 ue 0 {joined}")), "{all}");
    assert!(stdout.contains("step 5 ue 0 leave ok 200"), "{all}");

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        run(&[
            "join expect=200",
            "leave",
            &format!("join group={NO_SUCH_GROUP} expect=200"),
        ]),
    )
    .await??;
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("step 1 ue 0 join ok 200"), "{all}");
    assert!(
        all.contains("step 3 (join) on terminal 0: failed 404"),
        "{all}"
    );
    Ok(())
}

/// The ACK of the 2xx is sent without a transaction (by the terminal, and forwarded by the PF):
/// it is on both nodes' wire tap (`labctl capture`) like every other message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acks_sent_without_a_transaction_are_on_the_wire_tap() -> anyhow::Result<()> {
    let mut lab = poc_lab::start(Backend::Sqlite).await?;
    let mut a = lab
        .terminals("terminals-a", Side::A, &[ALICE.into()], "udp", true)
        .await?;
    let grpc = |n: &labctl::Node| n.addrs.get("grpc").cloned().unwrap_or_default();
    let from = vec![
        format!("terminal={}", grpc(&lab.terminals[0])),
        format!("pf-a={}", lab.pfs[0].as_ref().map(grpc).unwrap_or_default()),
    ];
    let sent_ack = |out: &str, node: &str| {
        out.lines().any(|l| {
            let mut w = l.split_whitespace().skip(1);
            w.next() == Some(node) && w.next() == Some("->") && w.nth(1) == Some("ACK")
        })
    };
    // A capture's subscription settles asynchronously: a join and a leave inside a capture, a
    // few times if the capture missed them (an ACK not tapped is missing every time).
    let mut out = String::new();
    for attempt in 0..3 {
        let file = lab.dir.path().join(format!("acks-{attempt}.pcapng"));
        let cap = capture::start_capture(&from, &file, &[]).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let a1 = join(&mut a, 0, "", true).await?;
        assert_eq!(a1.status, 200, "{a1:?}");
        let call_id = status(&mut a, 0).await?.call_id;
        crate_wait_confirmed(&lab, &call_id).await?;
        assert_eq!(leave(&mut a, 0).await?.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        out = capture::stop_capture(cap).await?;
        if sent_ack(&out, "terminal") && sent_ack(&out, "pf-a") {
            break;
        }
    }
    assert!(sent_ack(&out, "terminal"), "the terminal's ACK:\n{out}");
    assert!(sent_ack(&out, "pf-a"), "PF-A's forwarded ACK:\n{out}");
    Ok(())
}

on_both_backends! {
    one_shot_steps_exit_status => one_shot_steps;
    seed_figure_through_two_participating_functions => seed_figure;
    malformed_cpim_or_multipart_400_nothing_stored => malformed_bodies_are_400_and_store_nothing;
    twenty_simultaneous_first_joins_one_pair => twenty_concurrent_first_joins;
}
