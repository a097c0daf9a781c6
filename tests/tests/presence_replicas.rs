//! Two presence-server processes on one PostgreSQL are each correct (issue 9 §4): what one
//! writes, the other's caches and filters learn at once, and a dialog's NOTIFYs stay in order.
//! On SQLite, a second process on one store file is refused at start.

use std::time::Duration;

use corelab_proto::ue::v1 as upb;
use corelab_tests::{Backend, Lab, Ue, buddy, config, sip_udp_exchange, until, view};
use labctl::{Node, free_port};

const LIMIT: Duration = Duration::from_secs(25);
const BOB: &str = "sip:bob@lab.example";

/// A second presence-server on the lab's store, SIP on its own port.
async fn second_replica(lab: &Lab) -> anyhow::Result<(Node, u16)> {
    let port = free_port()?;
    let node = lab.start_replica("presence-b", &config(port, "")).await?;
    Ok((node, port))
}

async fn sees(ue: &Ue, who: &str, basic: &str) -> anyhow::Result<()> {
    until(LIMIT, &format!("{who} {basic}"), || {
        let mut u = ue.clone();
        async move { (buddy(&view(&mut u).await, who) == basic).then_some(()) }
    })
    .await
}

fn register(user: &str, call: &str, contact: &str, expires: u32) -> String {
    format!(
        "REGISTER sip:lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bK{call}{expires}\r\nFrom: <sip:{user}@lab.example>;tag=f1\r\nTo: <sip:{user}@lab.example>\r\nCall-ID: {call}\r\nCSeq: {n} REGISTER\r\nContact: <{contact}>\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n",
        n = 10 + expires % 7
    )
}

fn subscribe(user: &str, call: &str) -> String {
    format!(
        "SUBSCRIBE sip:bob@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bK{call}\r\nFrom: <sip:{user}@lab.example>;tag=f2\r\nTo: <sip:bob@lab.example>\r\nCall-ID: {call}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nExpires: 0\r\nContact: <sip:{user}@{{local}}>\r\nContent-Length: 0\r\n\r\n"
    )
}

fn status(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

/// The lab on PostgreSQL (these tests are ignored unless run with `--include-ignored`, and
/// then fail without `CORELAB_TEST_PG_URL`: see `corelab_tests`).
async fn pg_lab() -> anyhow::Result<Lab> {
    Lab::start(Backend::Postgres, "").await
}

/// A watcher subscribed through one replica sees a PUBLISH made through the other, and a
/// watcher that subscribes through the first afterwards gets the new state, not the first
/// replica's cached copy of the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn publish_through_one_replica_reaches_watchers_of_the_other() -> anyhow::Result<()> {
    let mut lab = pg_lab().await?;
    let (_b, b_port) = second_replica(&lab).await?;
    let a_port = lab.sip_port;
    let mut bob = lab.ue_via("bob", b_port, &["--publish", "open"]).await?;
    let alice = lab.ue_via("alice", a_port, &["--buddy", BOB]).await?;
    sees(&alice, BOB, "open").await?;

    bob.publish(upb::PublishRequest {
        basic: "closed".into(),
        note: String::new(),
    })
    .await?;
    sees(&alice, BOB, "closed")
        .await
        .map_err(|e| anyhow::anyhow!("{e}\nalice:\n{}", lab.transcript("alice")))?;
    // carol subscribes through A, which had cached bob's publications when they said "open".
    let carol = lab.ue_via("carol", a_port, &["--buddy", BOB]).await?;
    sees(&carol, BOB, "closed")
        .await
        .map_err(|e| anyhow::anyhow!("{e}\ncarol:\n{}", lab.transcript("carol")))?;
    Ok(())
}

/// A user signed out through one replica is refused by the other, which had cached the
/// registration a moment before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn a_user_signed_out_by_one_replica_is_refused_by_the_other() -> anyhow::Result<()> {
    let lab = pg_lab().await?;
    let (b, _) = second_replica(&lab).await?;
    let (a, b) = (lab.server().sip_addr(), b.sip_addr());
    let from = "127.0.0.1:0";
    let contact = "sip:dave@127.0.0.1:9";
    let ok = sip_udp_exchange(from, &a, &register("dave", "reg-dave", contact, 600))?;
    assert_eq!(status(&ok), "SIP/2.0 200 OK", "{ok}");
    // A fetch (Expires: 0) through A: A now has dave's registration in memory.
    let fetched = sip_udp_exchange(from, &a, &subscribe("dave", "fetch-1"))?;
    assert_eq!(status(&fetched), "SIP/2.0 200 OK", "{fetched}");

    let out = sip_udp_exchange(from, &b, &register("dave", "reg-dave", contact, 0))?;
    assert_eq!(status(&out), "SIP/2.0 200 OK", "{out}");
    let refused = until(LIMIT, "A refuses the signed-out user", || {
        let a = a.clone();
        async move {
            let resp = sip_udp_exchange(from, &a, &subscribe("dave", "fetch-2")).ok()?;
            status(&resp).starts_with("SIP/2.0 403").then_some(resp)
        }
    })
    .await;
    // No waiting for the cache to age: the invalidation arrives within milliseconds, and the
    // first try after the sign-out is already refused (the until above is only a bound).
    refused?;
    Ok(())
}

/// A `reg` watcher subscribed through one replica hears a registration made through the
/// other, which started before the subscription existed (its watcher filter must learn it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: CORELAB_TEST_PG_URL, run with --include-ignored"]
async fn reg_watchers_of_one_replica_hear_a_registration_made_through_the_other()
-> anyhow::Result<()> {
    let mut lab = pg_lab().await?;
    let (b, _) = second_replica(&lab).await?;
    let a_port = lab.sip_port;
    let alice = lab.ue_via("alice", a_port, &["--watch-reg"]).await?;
    let before = until(LIMIT, "alice's reg subscription active", || {
        let mut a = alice.clone();
        async move {
            let v = view(&mut a).await;
            v.subscriptions
                .iter()
                .any(|s| s.event == "reg" && s.state == "active")
                .then_some(v.notifies_received)
        }
    })
    .await?;
    // Another contact of alice's registers through B.
    let resp = sip_udp_exchange(
        "127.0.0.1:0",
        &b.sip_addr(),
        &register("alice", "reg-alice-2", "sip:alice@127.0.0.1:9", 600),
    )?;
    assert_eq!(status(&resp), "SIP/2.0 200 OK", "{resp}");
    until(LIMIT, "alice hears the registration made through B", || {
        let mut a = alice.clone();
        async move { (view(&mut a).await.notifies_received > before).then_some(()) }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nalice:\n{}", lab.transcript("alice")))?;
    Ok(())
}

/// SQLite has no replicas: a second process on one store file is refused at start, naming
/// the key, and the first keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_one_sqlite_store_is_refused() -> anyhow::Result<()> {
    let lab = Lab::start(Backend::Sqlite, "").await?;
    let err = match second_replica(&lab).await {
        Ok(_) => anyhow::bail!("a second presence-server started on one SQLite file"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("store.url") && err.contains("PostgreSQL"),
        "{err}"
    );
    let ok = sip_udp_exchange(
        "127.0.0.1:0",
        &lab.server().sip_addr(),
        &register("erin", "reg-erin", "sip:erin@127.0.0.1:9", 600),
    )?;
    assert_eq!(status(&ok), "SIP/2.0 200 OK", "{ok}");
    Ok(())
}
