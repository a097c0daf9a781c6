//! The presence procedure (seed 001) played with two `ue-emulator` clients: bob publishes,
//! alice watches bob. `labctl demo presence` runs it against its own presence-server;
//! `labctl probe presence --target` runs the client side against any presence server (another
//! vendor's too) and reports, step by step, which of the seed's behaviours it shows.

use std::path::Path;
use std::time::Duration;

use corelab_proto::presence::v1 as ppb;
use corelab_proto::presence::v1::presence_control_client::PresenceControlClient;
use corelab_proto::ue::v1 as upb;
use corelab_proto::ue::v1::ue_control_client::UeControlClient;
use tonic::transport::Channel;

use crate::node::{Node, bin_path, free_port};
use crate::probe::{Report, Verdict, run_tag};
use crate::wait::until;

const LIMIT: Duration = Duration::from_secs(60);

/// bob (publisher) and alice (watcher of bob, and of her own registration) as ue-emulator
/// processes registered through `proxy`.
pub struct Watchers {
    pub alice_node: Node,
    pub bob_node: Node,
    pub alice: UeControlClient<Channel>,
    pub bob: UeControlClient<Channel>,
}

impl Watchers {
    /// `tag` is added to both user names (`alice{tag}`, `bob{tag}`): a run against a server that
    /// keeps state (a long-lived lab, another vendor's node) starts with users it has not seen.
    pub async fn start(
        proxy: &str,
        dir: &Path,
        inherit_stdout: bool,
        tag: &str,
    ) -> anyhow::Result<Watchers> {
        let ue = |user: &str, extra: &[&str]| {
            let mut args: Vec<String> = [
                "--aor",
                &format!("sip:{user}@lab.example"),
                "--proxy",
                proxy,
                "--t1-ms",
                "100",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        };
        let bin = bin_path("ue-emulator")?;
        let bob_node = Node::start(
            "bob",
            &bin,
            &ue(
                &format!("bob{tag}"),
                &["--publish", "open", "--note", "at desk"],
            ),
            dir,
            inherit_stdout,
        )
        .await?;
        let alice_node = Node::start(
            "alice",
            &bin,
            &ue(
                &format!("alice{tag}"),
                &[
                    "--buddy",
                    &format!("sip:bob{tag}@lab.example"),
                    "--watch-reg",
                ],
            ),
            dir,
            inherit_stdout,
        )
        .await?;
        Ok(Watchers {
            alice: UeControlClient::connect(alice_node.grpc_uri()).await?,
            bob: UeControlClient::connect(bob_node.grpc_uri()).await?,
            alice_node,
            bob_node,
        })
    }

    /// alice's view once she sees bob `basic` with an active subscription and at least
    /// `messages` subscription-failure MESSAGEs received; `None` after `limit`.
    pub async fn sees(&self, basic: &str, messages: u32, limit: Duration) -> Option<upb::View> {
        let what = format!("alice to see bob {basic}");
        until(limit, &what, || {
            let mut alice = self.alice.clone();
            async move {
                let v = alice.get_view(upb::Empty {}).await.ok()?.into_inner();
                let ok = v.buddies.iter().any(|b| b.basic == basic)
                    && v.failure_messages_received >= messages
                    && v.subscriptions
                        .iter()
                        .any(|s| s.event == "presence" && s.state == "active");
                ok.then_some(v)
            }
        })
        .await
        .ok()
    }

    /// alice's view now.
    pub async fn view(&self) -> anyhow::Result<upb::View> {
        Ok(self
            .alice
            .clone()
            .get_view(upb::Empty {})
            .await?
            .into_inner())
    }

    /// alice answers her next `count` NOTIFYs wrongly: `ignore` (no answer: Timer F) or
    /// `reject` with `status`.
    pub async fn fail_notifies(&self, mode: &str, status: u32, count: u32) -> anyhow::Result<()> {
        self.alice
            .clone()
            .inject_notify_fault(upb::NotifyFault {
                mode: mode.into(),
                status,
                count,
            })
            .await?;
        Ok(())
    }

    pub async fn publish(&self, basic: &str, note: &str) -> anyhow::Result<()> {
        self.bob
            .clone()
            .publish(upb::PublishRequest {
                basic: basic.into(),
                note: note.into(),
            })
            .await?;
        Ok(())
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.alice_node.stop().await?;
        self.bob_node.stop().await
    }
}

fn step(text: &str) {
    println!("\n=== {text}");
}

/// `labctl demo presence`: presence-server on `store_url` (SQLite under var/ by default) and the
/// two clients; a failed NOTIFY restored, then failures past the threshold: sign-out and alarm.
pub async fn demo(store_url: Option<String>, t1_ms: u64) -> anyhow::Result<()> {
    let dir = std::env::current_dir()?
        .join("var")
        .join(format!("demo-presence-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store_url = store_url.unwrap_or_else(|| format!("sqlite://{}/presence.db", dir.display()));
    let port = free_port()?;
    let config = dir.join("presence.toml");
    std::fs::write(
        &config,
        format!(
            "[sip]\nlisten = \"127.0.0.1:{port}\"\nt1_ms = {t1_ms}\n[recovery]\nthreshold = 2\non_threshold = \"deregister\"\n"
        ),
    )?;
    step(&format!(
        "presence-server on udp/tcp 127.0.0.1:{port}, store {store_url}, Timer F {} ms, threshold 2 MESSAGEs",
        64 * t1_ms
    ));
    let server = Node::start(
        "presence-server",
        &bin_path("presence-server")?,
        &[
            "--config".into(),
            config.display().to_string(),
            "--store-url".into(),
            store_url,
        ],
        &dir,
        false,
    )
    .await?;
    let mut ctl = PresenceControlClient::connect(server.grpc_uri()).await?;
    step(
        "bob registers and publishes 'open'; alice registers and watches bob (presence) and herself (reg)",
    );
    let ues = Watchers::start(&format!("sip:127.0.0.1:{port}"), &dir, true, "").await?;
    ues.sees("open", 0, LIMIT)
        .await
        .ok_or_else(|| anyhow::anyhow!("alice does not see bob open"))?;

    step(
        "alice will ignore her next NOTIFY; bob publishes 'closed' (the server's Timer F will fire)",
    );
    ues.fail_notifies("ignore", 0, 1).await?;
    ues.publish("closed", "").await?;
    let v = ues
        .sees("closed", 1, LIMIT)
        .await
        .ok_or_else(|| anyhow::anyhow!("alice did not re-subscribe and see bob closed"))?;
    step(&format!(
        "restored: alice got {} subscription-failure MESSAGE, re-subscribed, and sees bob {}",
        v.failure_messages_received,
        v.buddies.first().map(|b| b.basic.as_str()).unwrap_or("?")
    ));

    step(
        "alice now answers every NOTIFY with 500; bob publishes 'open' — failures until the threshold",
    );
    ues.fail_notifies("reject", 500, 100).await?;
    ues.publish("open", "back").await?;
    let alarms = until(LIMIT, "an alarm", || {
        let mut c = ctl.clone();
        async move {
            let a = c.list_alarms(ppb::Empty {}).await.ok()?.into_inner().alarms;
            (!a.is_empty()).then_some(a)
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    step("summary");
    println!(
        "registrations now: {:?}",
        regs.iter().map(|r| r.aor.as_str()).collect::<Vec<_>>()
    );
    for a in &alarms {
        println!("ALARM #{} {} for {}: {}", a.id, a.kind, a.aor, a.detail);
    }
    println!(
        "alarms are also at {} ; logs and store in {}",
        server.admin_url("/alarms"),
        dir.display()
    );
    ues.stop().await?;
    server.stop().await
}

/// `labctl probe presence --target`: the seed's client side against the presence server at
/// `target` (a SIP URI: the server, or the P-CSCF in front of it). `wait` bounds each step; it
/// must exceed the target's Timer F (64·T1, 32 s with the default T1). Returns the verdicts.
pub async fn probe(target: &str, wait: Duration) -> anyhow::Result<Vec<(String, Verdict)>> {
    let dir = tempfile::tempdir()?;
    let mut report = Report::default();
    println!("probe presence --target {target} (each step waits up to {wait:?})");
    let tag = format!("-{}", run_tag());
    let ues = Watchers::start(target, dir.path(), false, &tag).await?;
    println!(
        "   at {}: alice{tag}@lab.example (watcher)",
        ues.alice_node.sip_addr()
    );
    println!(
        "   at {}: bob{tag}@lab.example (presentity)",
        ues.bob_node.sip_addr()
    );

    let basics =
        "REGISTER, PUBLISH and SUBSCRIBE accepted; the watcher is NOTIFYed of the presentity";
    let Some(_) = ues.sees("open", 0, wait).await else {
        let v = ues.view().await?;
        report.record(
            basics,
            Verdict::Lacks,
            format!(
                "registered {}, subscriptions {:?}, buddies {:?}: the rest cannot be probed",
                v.registered,
                v.subscriptions.iter().map(|s| &s.state).collect::<Vec<_>>(),
                v.buddies.iter().map(|b| &b.basic).collect::<Vec<_>>()
            ),
        );
        ues.stop().await?;
        return Ok(report.into_steps());
    };
    report.record(basics, Verdict::Shows, "alice sees bob 'open'");

    ues.fail_notifies("ignore", 0, 1).await?;
    ues.publish("closed", "").await?;
    let told = "a NOTIFY the watcher leaves unanswered (Timer F) is followed by a subscription-failure MESSAGE";
    let got = until(wait, "a subscription-failure MESSAGE", || async {
        let v = ues.view().await.ok()?;
        (v.failure_messages_received >= 1).then_some(v)
    })
    .await
    .ok();
    match &got {
        Some(v) => report.record(
            told,
            Verdict::Shows,
            format!("{} MESSAGE received", v.failure_messages_received),
        ),
        None => report.record(told, Verdict::Lacks, format!("no MESSAGE within {wait:?}")),
    }
    let restored = "the watcher's view is restored (it re-subscribes and sees the latest state)";
    match ues
        .sees(
            "closed",
            0,
            if got.is_some() {
                wait
            } else {
                Duration::from_secs(2)
            },
        )
        .await
    {
        Some(_) => report.record(restored, Verdict::Shows, "alice sees bob 'closed'"),
        None => {
            let v = ues.view().await?;
            report.record(
                restored,
                Verdict::Lacks,
                format!(
                    "bob is 'closed', alice still sees {:?}: her view is frozen until her next refresh",
                    v.buddies.iter().map(|b| &b.basic).collect::<Vec<_>>()
                ),
            )
        }
    }

    let before = ues.view().await?.failure_messages_received;
    ues.fail_notifies("reject", 500, 1).await?;
    ues.publish("open", "back").await?;
    let rejected = "a NOTIFY answered 500 is treated the same way (another MESSAGE)";
    match until(wait, "another MESSAGE", || async {
        let v = ues.view().await.ok()?;
        (v.failure_messages_received > before).then_some(v)
    })
    .await
    {
        Ok(_) => report.record(rejected, Verdict::Shows, "MESSAGE received"),
        Err(_) => report.record(
            rejected,
            Verdict::Lacks,
            format!("no MESSAGE within {wait:?}"),
        ),
    }
    println!(
        "   not probed: sign-out and the administrator's alarm past the threshold (they show only on the server's own interfaces)"
    );
    let shown = report.shown();
    println!(
        "verdict: {target} shows {shown} of the {} probed behaviours of seed 001",
        report.len()
    );
    ues.stop().await?;
    Ok(report.into_steps())
}
