//! The recovery procedure never blames the client for the server's faults, and a crash does not
//! lose the MESSAGE it owes (issue 9 §1). The real presence-server and ue-emulator processes, on
//! SQLite and on PostgreSQL; store faults injected by hiding a table from a second connection.

use std::time::Duration;

use corelab_proto::presence::v1 as ppb;
use corelab_proto::ue::v1 as upb;
use corelab_tests::{Backend, Lab, Ue, on_both_backends, until, view};
use sqlx::Connection;

const LIMIT: Duration = Duration::from_secs(25);
const ALICE: &str = "sip:alice@lab.example";
const BOB: &str = "sip:bob@lab.example";
/// Never publishes: its publications are read from the store at the first NOTIFY about it.
const CAROL: &str = "sip:carol@lab.example";

fn dialog_state(view: &upb::View, event: &str, resource: &str) -> Option<(String, String)> {
    view.subscriptions
        .iter()
        .find(|s| s.event == event && s.resource == resource)
        .map(|s| (s.call_id.clone(), s.state.clone()))
}

/// Run one statement on the lab's store from a connection of the test's own (the fault
/// injection): the server sees the change at its next statement.
async fn sql(lab: &Lab, statement: &str) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&lab.store_url).await?;
    if lab.store_url.starts_with("postgres") {
        // Each node kind may live in a schema of its own.
        sqlx::query("SET search_path TO presence, public")
            .execute(&mut conn)
            .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

async fn server_log_has(lab: &Lab, text: &str) -> bool {
    tokio::fs::read_to_string(lab.server_log())
        .await
        .is_ok_and(|log| log.contains(text))
}

async fn registered_alice(lab: &mut Lab) -> anyhow::Result<Ue> {
    let alice = lab.ue("alice", &[]).await?;
    until(LIMIT, "alice registered", || {
        let mut a = alice.clone();
        async move { view(&mut a).await.registered.then_some(()) }
    })
    .await?;
    Ok(alice)
}

/// The store fault: hide the publications table from the server, then let alice subscribe to
/// carol, whose publications the first NOTIFY must read.
async fn subscribe_while_publications_are_hidden(lab: &Lab, alice: &mut Ue) -> anyhow::Result<()> {
    sql(
        lab,
        "ALTER TABLE presence_publications RENAME TO presence_publications_hidden",
    )
    .await?;
    alice
        .subscribe(upb::SubscribeRequest {
            resource: CAROL.into(),
            event: "presence".into(),
        })
        .await?;
    Ok(())
}

async fn server_state(lab: &Lab) -> anyhow::Result<(Vec<ppb::Subscription>, i64, Vec<ppb::Alarm>)> {
    let mut ctl = lab.control().await?;
    let subs = ctl
        .list_subscriptions(ppb::Empty {})
        .await?
        .into_inner()
        .subscriptions;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    let count = regs
        .iter()
        .find(|r| r.aor == ALICE)
        .map(|r| r.message_count as i64)
        .unwrap_or(-1);
    let alarms = ctl.list_alarms(ppb::Empty {}).await?.into_inner().alarms;
    Ok((subs, count, alarms))
}

/// The store fails while the first NOTIFY's body is built (the presentity's publications
/// cannot be read). Before: a "timeout" that deleted the subscription and sent a MESSAGE. Now:
/// the subscription is kept, nothing is counted, and once the store is back a retry delivers
/// the NOTIFY in the same dialog.
async fn store_fault_keeps_subscription_and_retries(backend: Backend) -> anyhow::Result<()> {
    let extra = "[recovery]\nlocal_retries = 6\nlocal_retry_ms = 300\n";
    let mut lab = Lab::start(backend, extra).await?;
    let mut alice = registered_alice(&mut lab).await?;
    subscribe_while_publications_are_hidden(&lab, &mut alice).await?;
    until(LIMIT, "a local NOTIFY failure in the server's log", || {
        let lab = &lab;
        async move {
            server_log_has(lab, "NOTIFY not sent (local failure)")
                .await
                .then_some(())
        }
    })
    .await?;
    let (subs, count, alarms) = server_state(&lab).await?;
    let kept: Vec<_> = subs
        .iter()
        .filter(|s| s.watcher == ALICE && s.resource == CAROL)
        .collect();
    assert_eq!(kept.len(), 1, "the subscription is kept: {subs:?}");
    assert_eq!(count, 0, "nothing counted against alice");
    assert!(alarms.is_empty(), "{alarms:?}");

    sql(
        &lab,
        "ALTER TABLE presence_publications_hidden RENAME TO presence_publications",
    )
    .await?;
    let call_id = kept[0].call_id.clone();
    let v = until(LIMIT, "the retried NOTIFY reaches alice", || {
        let mut a = alice.clone();
        let call_id = call_id.clone();
        async move {
            let v = view(&mut a).await;
            (dialog_state(&v, "presence", CAROL) == Some((call_id, "active".into()))).then_some(v)
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nalice:\n{}", lab.transcript("alice")))?;
    assert_eq!(v.failure_messages_received, 0, "no MESSAGE for our fault");
    assert_eq!(v.resubscriptions, 0);
    let (_, count, alarms) = server_state(&lab).await?;
    assert_eq!(count, 0);
    assert!(alarms.is_empty(), "{alarms:?}");
    Ok(())
}

/// A store fault that persists: after the tries, one `server_fault` alarm; the client keeps its
/// registration and subscription, gets no MESSAGE and is not counted.
async fn lasting_store_fault_raises_server_fault_alarm(backend: Backend) -> anyhow::Result<()> {
    let extra = "[recovery]\nlocal_retries = 2\nlocal_retry_ms = 100\n";
    let mut lab = Lab::start(backend, extra).await?;
    let mut alice = registered_alice(&mut lab).await?;
    subscribe_while_publications_are_hidden(&lab, &mut alice).await?;
    let alarms = until(LIMIT, "a server_fault alarm", || {
        let lab = &lab;
        async move {
            let (_, _, alarms) = server_state(lab).await.ok()?;
            (!alarms.is_empty()).then_some(alarms)
        }
    })
    .await?;
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].kind, "server_fault");
    let (subs, count, _) = server_state(&lab).await?;
    assert!(
        subs.iter()
            .any(|s| s.watcher == ALICE && s.resource == CAROL),
        "subscription kept: {subs:?}"
    );
    assert_eq!(count, 0, "alice is registered and nothing is counted");
    let v = view(&mut alice).await;
    assert_eq!(v.failure_messages_received, 0);
    assert!(v.registered);
    Ok(())
}

/// Killed (`kill -9`) after step 5's transaction committed (subscription deleted, MESSAGE owed)
/// and before the MESSAGE left: the restarted server sends the MESSAGE it owed, and alice
/// re-subscribes.
async fn killed_after_deletion_sends_owed_message_after_restart(
    backend: Backend,
) -> anyhow::Result<()> {
    let failpoint = "[node]\nfailpoints = [\"recovery.after_owe\"]\n";
    let mut lab = Lab::start(backend, failpoint).await?;
    let mut bob = lab.ue("bob", &["--publish", "open"]).await?;
    let mut alice = lab.ue("alice", &["--buddy", BOB]).await?;
    let old_call_id = until(LIMIT, "alice watches bob", || {
        let mut a = alice.clone();
        async move {
            let v = view(&mut a).await;
            dialog_state(&v, "presence", BOB)
                .filter(|(_, state)| state == "active")
                .map(|(call_id, _)| call_id)
        }
    })
    .await?;
    alice
        .inject_notify_fault(upb::NotifyFault {
            mode: "reject".into(),
            status: 500,
            count: 1,
        })
        .await?;
    bob.publish(upb::PublishRequest {
        basic: "closed".into(),
        note: String::new(),
    })
    .await?;
    until(LIMIT, "the server stops at the failpoint", || {
        let lab = &lab;
        async move { server_log_has(lab, "failpoint reached").await.then_some(()) }
    })
    .await?;
    let (subs, count, _) = server_state(&lab).await?;
    assert!(
        !subs.iter().any(|s| s.call_id == old_call_id),
        "step 5 committed: the subscription is deleted"
    );
    assert_eq!(count, 1, "and the MESSAGE counted");
    assert_eq!(view(&mut alice).await.failure_messages_received, 0);

    lab.server.take().expect("server").kill().await?;
    lab.config = lab.config.replace(failpoint, "");
    lab.start_server().await?;
    let v = until(
        LIMIT,
        "alice gets the owed MESSAGE and re-subscribes",
        || {
            let mut a = alice.clone();
            let old = old_call_id.clone();
            async move {
                let v = view(&mut a).await;
                let renewed = dialog_state(&v, "presence", BOB)
                    .is_some_and(|(call_id, state)| call_id != old && state == "active");
                (renewed && v.failure_messages_received >= 1).then_some(v)
            }
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\nalice:\n{}", lab.transcript("alice")))?;
    assert_eq!(v.resubscriptions, 1);
    let (_, count, alarms) = server_state(&lab).await?;
    assert_eq!(count, 1, "the owed MESSAGE was counted once");
    assert!(alarms.is_empty(), "{alarms:?}");
    Ok(())
}

on_both_backends! {
    store_fault_while_building_a_notify_keeps_the_subscription_and_retries => store_fault_keeps_subscription_and_retries;
    lasting_store_fault_raises_one_server_fault_alarm_and_blames_nobody => lasting_store_fault_raises_server_fault_alarm;
    kill_9_after_the_deletion_still_sends_the_owed_message_after_restart => killed_after_deletion_sends_owed_message_after_restart;
}
