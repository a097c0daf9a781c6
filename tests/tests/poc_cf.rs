//! Issue 11 §3: poc-controlling against a real group-server, both as separate processes, with
//! join INVITEs sent straight to the controlling function over UDP by a small UAC here (no
//! participating function needed), on SQLite and PostgreSQL: the seed's rule (first joiner's
//! ids stored, every later joiner, rejoiner, re-initiator and restart gets them), the
//! refusals (403, 404, 400) leaving the store unchanged, twenty simultaneous first joins ending
//! with one pair, and RTP from A reaching B through the relay.

use std::time::Duration;

use corelab_sip::body::cpim::Cpim;
use corelab_sip::body::multipart::{self, Part};
use corelab_sip::body::sdp::AudioSdp;
use corelab_tests::{Backend, on_both_backends, postgres_database};
use labctl::poc::start_cf_node;
use labctl::{Node, bin_path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

const GROUPS: &str = r#"
[[group]]
uri = "sip:team@lab.example"
owner = "sip:alice@lab.example"
join_type = "join"
members = ["sip:alice@lab.example", "sip:bob@lab.example", "sip:carol@lab.example"]

[[group]]
uri = "sip:fresh@lab.example"
owner = "sip:alice@lab.example"
join_type = "join"
members = ["sip:alice@lab.example"]

[[group]]
uri = "sip:fixed@lab.example"
owner = "sip:alice@lab.example"
join_type = "join"
members = ["sip:alice@lab.example", "sip:bob@lab.example"]
conversation_id = "fixed-conversation"
contribution_id = "fixed-contribution"

[[group]]
uri = "sip:pre@lab.example"
owner = "sip:alice@lab.example"
join_type = "prearranged"
members = ["sip:alice@lab.example"]

[[group]]
uri = "sip:pair@lab.example"
owner = "sip:alice@lab.example"
join_type = "join"
max_participants = 1
members = ["sip:alice@lab.example", "sip:bob@lab.example"]
"#;

struct Lab {
    dir: tempfile::TempDir,
    store_url: String,
    group_server: Node,
    cf: Option<Node>,
    /// More poc-controlling config (TOML sections).
    cf_extra: String,
}

impl Lab {
    async fn start(backend: Backend) -> anyhow::Result<Lab> {
        Lab::start_with(backend, "").await
    }

    async fn start_with(backend: Backend, cf_extra: &str) -> anyhow::Result<Lab> {
        let dir = tempfile::tempdir()?;
        // SQLite: a file per node; PostgreSQL: one database, a schema per node kind.
        let (gs_url, store_url) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}/group_server.db", dir.path().display()),
                format!("sqlite://{}/poc_controlling.db", dir.path().display()),
            ),
            Backend::Postgres => {
                let url = postgres_database().await?;
                (url.clone(), url)
            }
        };
        // The crowd group: twenty members joining at once.
        let crowd: Vec<String> = (0..20)
            .map(|i| format!("\"sip:u{i}@lab.example\""))
            .collect();
        let groups = format!(
            "{GROUPS}\n[[group]]\nuri = \"sip:crowd@lab.example\"\nowner = \"sip:u0@lab.example\"\njoin_type = \"join\"\nmembers = [{}]\n",
            crowd.join(", ")
        );
        let groups_file = dir.path().join("groups.toml");
        std::fs::write(&groups_file, groups)?;
        let gs_cfg = dir.path().join("group-server.toml");
        std::fs::write(
            &gs_cfg,
            "[xcap]\nreaders = [\"sip:poc-controlling@lab.example\"]\n",
        )?;
        let gs_args = |extra: &[&str]| -> Vec<String> {
            let mut a: Vec<String> = vec![
                "--config".into(),
                gs_cfg.display().to_string(),
                "--store-url".into(),
                gs_url.clone(),
            ];
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };
        let status = tokio::process::Command::new(bin_path("group-server")?)
            .args(gs_args(&["provision", &groups_file.display().to_string()]))
            .stdout(std::process::Stdio::null())
            .status()
            .await?;
        anyhow::ensure!(status.success(), "provisioning failed");
        let group_server = Node::start(
            "group-server",
            &bin_path("group-server")?,
            &gs_args(&["--xcap-listen", "127.0.0.1:0"]),
            dir.path(),
            false,
        )
        .await?;
        let mut lab = Lab {
            dir,
            store_url,
            group_server,
            cf: None,
            cf_extra: cf_extra.to_string(),
        };
        lab.restart_cf().await?;
        Ok(lab)
    }

    async fn restart_cf(&mut self) -> anyhow::Result<()> {
        if let Some(cf) = self.cf.take() {
            cf.stop().await?;
        }
        let xcap = self
            .group_server
            .addrs
            .get("xcap")
            .cloned()
            .unwrap_or_default();
        self.cf = Some(
            start_cf_node(
                self.dir.path(),
                &format!(
                    "[groups]\nserved = [\"lab.example\"]\n[sip]\nt1_ms = 100\n{}",
                    self.cf_extra
                ),
                &self.store_url,
                "127.0.0.1:0",
                &["--xcap-root".into(), format!("http://{xcap}/xcap")],
            )
            .await?,
        );
        Ok(())
    }

    fn cf(&self) -> &Node {
        self.cf.as_ref().expect("poc-controlling running")
    }

    /// `GET path` on the controlling function's listener `which`; the body.
    async fn http_get(&self, which: &str, path: &str) -> anyhow::Result<String> {
        let addr = self.cf().addrs.get(which).cloned().unwrap_or_default();
        corelab_tests::http::get_ok(&format!("http://{addr}{path}")).await
    }

    /// `GET /group-sessions` of the controlling function.
    async fn group_sessions(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(
            &self.http_get("admin", "/group-sessions").await?,
        )?)
    }

    async fn stored_ids(&self, group: &str) -> anyhow::Result<Option<(String, String)>> {
        let all = self.group_sessions().await?;
        Ok(all.as_array().into_iter().flatten().find_map(|g| {
            (g["group_uri"] == group && !g["conversation_id"].is_null()).then(|| {
                (
                    g["conversation_id"].as_str().unwrap_or("").to_string(),
                    g["contribution_id"].as_str().unwrap_or("").to_string(),
                )
            })
        }))
    }
}

/// A terminal: one UDP socket for SIP, one for RTP.
struct Terminal {
    user: String,
    sip: UdpSocket,
    rtp: UdpSocket,
    cf: String,
}

/// The outcome of a join.
#[derive(Debug, Default)]
struct Answer {
    status: u16,
    ids: Option<(String, String)>,
    media_port: u16,
    call_id: String,
    from_tag: String,
    to: String,
}

fn header(msg: &str, name: &str) -> Option<String> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
}

fn unique() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

const BAD_CPIM: &str = "this line has no colon\r\n\r\n";

impl Terminal {
    async fn new(user: &str, cf: &str) -> anyhow::Result<Terminal> {
        Ok(Terminal {
            user: user.into(),
            sip: UdpSocket::bind("127.0.0.1:0").await?,
            rtp: UdpSocket::bind("127.0.0.1:0").await?,
            cf: cf.into(),
        })
    }

    fn join_body(
        &self,
        ids: (&str, &str),
        cpim: Option<&str>,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        let port = self.rtp.local_addr()?.port();
        let sdp = format!(
            "v=0\r\no={} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
            self.user
        );
        let cpim = cpim.map(str::to_string).unwrap_or_else(|| {
            format!(
                "From: <sip:{}@lab.example>\r\nTo: <sip:group@lab.example>\r\nNS: cpm <http://www.openmobilealliance.org/cpm/>\r\ncpm.Conversation-ID: {}\r\ncpm.Contribution-ID: {}\r\n\r\n",
                self.user, ids.0, ids.1
            )
        });
        Ok(multipart::write(&[
            Part::new("application/sdp", sdp),
            Part::new("message/cpim", cpim),
        ]))
    }

    /// INVITE `group` with `ids` (and an optional raw body), ACK a 2xx; the answer.
    async fn join_with(&self, group: &str, body: (String, Vec<u8>)) -> anyhow::Result<Answer> {
        let n = unique();
        let local = self.sip.local_addr()?;
        let call_id = format!("join-{n}@{local}");
        let from_tag = format!("t{n}");
        let (ct, body) = body;
        let mut req = format!(
            "INVITE {group} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKj{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{u}@lab.example>;tag={from_tag}\r\nTo: <{group}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:{u}@{local}>\r\nP-Asserted-Identity: <sip:{u}@lab.example>\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len(),
            u = self.user,
        )
        .into_bytes();
        req.extend_from_slice(&body);
        self.sip.send_to(&req, &self.cf).await?;
        let msg = self.final_response().await?;
        let status: u16 = msg.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut answer = Answer {
            status,
            call_id: call_id.clone(),
            from_tag: from_tag.clone(),
            to: header(&msg, "To").unwrap_or_default(),
            ..Answer::default()
        };
        if (200..300).contains(&status) {
            let ack = format!(
                "ACK {group} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKa{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{u}@lab.example>;tag={from_tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                u = self.user,
                to = answer.to,
            );
            self.sip.send_to(ack.as_bytes(), &self.cf).await?;
            let ct = header(&msg, "Content-Type").unwrap_or_default();
            let body = msg.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
            let parts = multipart::parse(&ct, body.as_bytes())?;
            for p in parts {
                match p.media_type().as_str() {
                    "application/sdp" => answer.media_port = AudioSdp::parse(&p.content)?.port,
                    "message/cpim" => {
                        let c = Cpim::parse(&p.content)?;
                        answer.ids = Some((
                            c.header("Conversation-ID").unwrap_or("").into(),
                            c.header("Contribution-ID").unwrap_or("").into(),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(answer)
    }

    async fn join(&self, group: &str, ids: (&str, &str)) -> anyhow::Result<Answer> {
        let body = self.join_body(ids, None)?;
        self.join_with(group, body).await
    }

    async fn bye(&self, group: &str, a: &Answer) -> anyhow::Result<u16> {
        let n = unique();
        let local = self.sip.local_addr()?;
        let bye = format!(
            "BYE {group} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKb{n}\r\nMax-Forwards: 70\r\nFrom: <sip:{u}@lab.example>;tag={}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
            a.from_tag,
            a.to,
            a.call_id,
            u = self.user,
        );
        self.sip.send_to(bye.as_bytes(), &self.cf).await?;
        let msg = self.final_response().await?;
        Ok(msg.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// The next final response (2xx retransmissions of an earlier INVITE skipped by CSeq).
    async fn final_response(&self) -> anyhow::Result<String> {
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, _) =
                tokio::time::timeout(Duration::from_secs(10), self.sip.recv_from(&mut buf))
                    .await??;
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
                return Ok(text);
            }
        }
    }
}

fn ids_of(a: &Answer) -> (String, String) {
    a.ids.clone().unwrap_or_default()
}

async fn join_rule_over_the_wire(backend: Backend) -> anyhow::Result<()> {
    let mut lab = Lab::start(backend).await?;
    let cf = lab.cf().sip_addr();
    const TEAM: &str = "sip:team@lab.example";
    let alice = Terminal::new("alice", &cf).await?;
    let bob = Terminal::new("bob", &cf).await?;

    // 301-307: A joins first: its ids become the group session's, echoed in its 200 OK.
    let a1 = alice.join(TEAM, ("conv-A", "contrib-A")).await?;
    assert_eq!(a1.status, 200);
    let a_ids = ("conv-A".to_string(), "contrib-A".to_string());
    assert_eq!(ids_of(&a1), a_ids);
    assert_eq!(lab.stored_ids(TEAM).await?, Some(a_ids.clone()));
    // 308-313: B joins with its own new ids and is given A's.
    let b1 = bob.join(TEAM, ("conv-B", "contrib-B")).await?;
    assert_eq!((b1.status, ids_of(&b1)), (200, a_ids.clone()));
    let sessions = lab.group_sessions().await?;
    let team = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group_uri"] == TEAM)
        .unwrap()
        .clone();
    assert_eq!(
        team["participants"].as_array().map(Vec::len),
        Some(2),
        "{team}"
    );
    // Step 310-311: B's join used the cached document, revalidated (If-None-Match, 304) or
    // validated less than xcap.revalidate_ms before (no request); it was not fetched again.
    let metrics = lab.http_get("admin", "/metrics").await?;
    assert!(
        metrics.contains("corelab_poc_controlling_xcap_fetches_total{result=\"not_modified\"}")
            || metrics.contains("corelab_poc_controlling_xcap_fetches_total{result=\"cached\"}"),
        "{metrics}"
    );
    // A leaves and rejoins: the same ids.
    assert_eq!(alice.bye(TEAM, &a1).await?, 200);
    assert_eq!(alice.bye(TEAM, &a1).await?, 481, "the dialog is gone");
    let a2 = alice.join(TEAM, ("conv-A2", "contrib-A2")).await?;
    assert_eq!((a2.status, ids_of(&a2)), (200, a_ids.clone()));
    // Everyone leaves; a re-initiated session has the same ids.
    assert_eq!(alice.bye(TEAM, &a2).await?, 200);
    assert_eq!(bob.bye(TEAM, &b1).await?, 200);
    let b2 = bob.join(TEAM, ("conv-B2", "contrib-B2")).await?;
    assert_eq!((b2.status, ids_of(&b2)), (200, a_ids.clone()));
    // And after a restart of the controlling function.
    lab.restart_cf().await?;
    let cf = lab.cf().sip_addr();
    let alice = Terminal::new("alice", &cf).await?;
    let carol = Terminal::new("carol", &cf).await?;
    let a3 = alice.join(TEAM, ("conv-A3", "contrib-A3")).await?;
    assert_eq!((a3.status, ids_of(&a3)), (200, a_ids.clone()));
    let c1 = carol.join(TEAM, ("conv-C", "contrib-C")).await?;
    assert_eq!((c1.status, ids_of(&c1)), (200, a_ids.clone()));

    // Refusals change nothing stored.
    let eve = Terminal::new("eve", &cf).await?;
    assert_eq!(
        eve.join(TEAM, ("conv-E", "contrib-E")).await?.status,
        403,
        "non-member"
    );
    assert_eq!(
        eve.join("sip:team@other.example", ("c", "k")).await?.status,
        404,
        "group not served"
    );
    assert_eq!(
        alice
            .join("sip:nobody@lab.example", ("c", "k"))
            .await?
            .status,
        404,
        "no such group"
    );
    assert_eq!(
        alice.join("sip:pre@lab.example", ("c", "k")).await?.status,
        403,
        "prearranged refused"
    );
    let bad_cpim = alice.join_body(("c", "k"), Some(BAD_CPIM))?;
    assert_eq!(
        alice
            .join_with("sip:fresh@lab.example", bad_cpim)
            .await?
            .status,
        400,
        "malformed CPIM"
    );
    let no_ids = alice.join_body(("c", "k"), Some("From: <sip:alice@lab.example>\r\n\r\n"))?;
    assert_eq!(
        alice
            .join_with("sip:fresh@lab.example", no_ids)
            .await?
            .status,
        400,
        "CPIM without ids"
    );
    let (ct, mut body) = alice.join_body(("c", "k"), None)?;
    body.truncate(body.len() - 10); // the close delimiter cut off
    assert_eq!(
        alice
            .join_with("sip:fresh@lab.example", (ct, body))
            .await?
            .status,
        400,
        "malformed multipart"
    );
    assert_eq!(
        eve.join("sip:fresh@lab.example", ("conv-E", "contrib-E"))
            .await?
            .status,
        403,
        "non-member of a group with no ids yet"
    );
    assert_eq!(
        lab.stored_ids("sip:fresh@lab.example").await?,
        None,
        "nothing stored"
    );
    assert_eq!(lab.stored_ids("sip:team@other.example").await?, None);
    assert_eq!(lab.stored_ids("sip:pre@lab.example").await?, None);
    assert_eq!(lab.stored_ids(TEAM).await?, Some(a_ids.clone()));
    // A full group (max 1): 486, and the first one's ids stay.
    let p1 = alice
        .join("sip:pair@lab.example", ("conv-P", "contrib-P"))
        .await?;
    assert_eq!(p1.status, 200);
    let bob = Terminal::new("bob", &cf).await?;
    assert_eq!(
        bob.join("sip:pair@lab.example", ("x", "y")).await?.status,
        486
    );
    // Pre-provisioned ids win, for the first joiner too.
    let f1 = alice
        .join("sip:fixed@lab.example", ("mine", "mine"))
        .await?;
    assert_eq!(
        ids_of(&f1),
        ("fixed-conversation".into(), "fixed-contribution".into())
    );
    Ok(())
}

/// Docs/poc.md "Freshness of the group document": a cached document is used for
/// `xcap.revalidate_ms` after its last validation was sent, so a member removed over XCAP is
/// refused by every join that starts more than that bound after the removal. The bound here is
/// 1 s; the rejoin waits out the bound after the DELETE's 200 (no timing is asserted: the
/// refusal is certain once the bound has passed, however slow the machine).
async fn member_removed_over_xcap_is_refused_after_the_bound(
    backend: Backend,
) -> anyhow::Result<()> {
    const BOUND_MS: u64 = 1_000;
    let lab = Lab::start_with(backend, &format!("[xcap]\nrevalidate_ms = {BOUND_MS}\n")).await?;
    let cf = lab.cf().sip_addr();
    const TEAM: &str = "sip:team@lab.example";
    let alice = Terminal::new("alice", &cf).await?;
    let carol = Terminal::new("carol", &cf).await?;
    let a1 = alice.join(TEAM, ("conv-A", "contrib-A")).await?;
    assert_eq!(a1.status, 200);
    let c1 = carol.join(TEAM, ("conv-C", "contrib-C")).await?;
    assert_eq!(c1.status, 200, "carol is a member");
    assert_eq!(carol.bye(TEAM, &c1).await?, 200);
    // The owner removes carol from the group over XCAP (RFC 4825 §8.4, an element by node
    // selector).
    let xcap = lab
        .group_server
        .addrs
        .get("xcap")
        .cloned()
        .unwrap_or_default();
    let removed = corelab_tests::http::send(
        "DELETE",
        &format!(
            "http://{xcap}/xcap/org.openmobilealliance.poc-groups/users/{TEAM}/index/~~/group/list-service/list/entry%5b@uri=%22sip:carol@lab.example%22%5d"
        ),
        &[("X-XCAP-Asserted-Identity", "sip:alice@lab.example")],
        "",
    )
    .await?;
    assert_eq!(removed.status, 200, "{}", removed.body);
    tokio::time::sleep(Duration::from_millis(BOUND_MS + 100)).await;
    let c2 = carol.join(TEAM, ("conv-C2", "contrib-C2")).await?;
    assert_eq!(
        c2.status, 403,
        "a removed member is refused after the bound"
    );
    // Members still in the group join as before, with the group's ids.
    let bob = Terminal::new("bob", &cf).await?;
    let b1 = bob.join(TEAM, ("conv-B", "contrib-B")).await?;
    assert_eq!(
        (b1.status, ids_of(&b1)),
        (200, ("conv-A".to_string(), "contrib-A".to_string()))
    );
    Ok(())
}

async fn twenty_concurrent_first_joins_end_with_one_pair(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let cf = lab.cf().sip_addr();
    let mut joins = Vec::new();
    for i in 0..20 {
        let t = Terminal::new(&format!("u{i}"), &cf).await?;
        joins.push(tokio::spawn(async move {
            t.join(
                "sip:crowd@lab.example",
                (&format!("conv-{i}"), &format!("contrib-{i}")),
            )
            .await
        }));
    }
    let mut got = Vec::new();
    for j in joins {
        let a = j.await??;
        assert_eq!(a.status, 200);
        got.push(ids_of(&a));
    }
    assert!(got.iter().all(|ids| ids == &got[0]), "{got:?}");
    let (conv, contrib) = &got[0];
    assert_eq!(
        conv.strip_prefix("conv-"),
        contrib.strip_prefix("contrib-"),
        "one joiner's pair"
    );
    assert_eq!(
        lab.stored_ids("sip:crowd@lab.example").await?,
        Some(got[0].clone())
    );
    Ok(())
}

async fn rtp_from_a_reaches_b(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let cf = lab.cf().sip_addr();
    let alice = Terminal::new("alice", &cf).await?;
    let bob = Terminal::new("bob", &cf).await?;
    let carol = Terminal::new("carol", &cf).await?;
    let a = alice.join("sip:team@lab.example", ("c", "k")).await?;
    let b = bob.join("sip:team@lab.example", ("c2", "k2")).await?;
    let c = carol.join("sip:team@lab.example", ("c3", "k3")).await?;
    assert!(a.media_port != 0 && b.media_port != 0 && a.media_port != b.media_port);
    // An RTP packet (version 2, PCMU, seq 1) from A to its relay port.
    let mut packet = vec![0x80u8, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 42];
    packet.extend_from_slice(&[0xffu8; 160]);
    let mut buf = vec![0u8; 2048];
    for receiver in [&bob, &carol] {
        // Resend until it comes (UDP); bounded.
        let mut got = None;
        for _ in 0..20 {
            alice
                .rtp
                .send_to(&packet, ("127.0.0.1", a.media_port))
                .await?;
            if let Ok(r) =
                tokio::time::timeout(Duration::from_millis(250), receiver.rtp.recv_from(&mut buf))
                    .await
            {
                got = Some(r?);
                break;
            }
        }
        let (n, from) = got.ok_or_else(|| anyhow::anyhow!("{} got no RTP", receiver.user))?;
        assert_eq!(&buf[..n], &packet[..]);
        let expected = if receiver.user == "bob" {
            b.media_port
        } else {
            c.media_port
        };
        assert_eq!(
            from.port(),
            expected,
            "sent from the receiver's own relay port"
        );
    }
    // A does not hear itself.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), alice.rtp.recv_from(&mut buf))
            .await
            .is_err()
    );
    Ok(())
}

on_both_backends! {
    seed_rule_first_joiner_ids_for_everyone_and_refusals_store_nothing => join_rule_over_the_wire;
    twenty_simultaneous_first_joins => twenty_concurrent_first_joins_end_with_one_pair;
    rtp_relay => rtp_from_a_reaches_b;
    removed_member_refused_after_revalidate_bound => member_removed_over_xcap_is_refused_after_the_bound;
}

/// The UAS dialog over the wire (RFC 3261 §13.3.1.4, §14): a 200 not ACKed is retransmitted,
/// then the session is ended with a BYE to the Contact after 64·T1 (T1 = 100 ms here); a
/// re-INVITE is answered with the same ids; a BYE outside any dialog gets 481.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialog_two_xx_until_ack_then_bye_and_reinvite() -> anyhow::Result<()> {
    let lab = Lab::start(Backend::Sqlite).await?;
    let cf = lab.cf().sip_addr();
    let alice = Terminal::new("alice", &cf).await?;
    let bob = Terminal::new("bob", &cf).await?;
    let a = alice
        .join("sip:team@lab.example", ("conv-A", "contrib-A"))
        .await?;
    assert_eq!(a.status, 200);
    // re-INVITE in A's dialog: 200, the same ids.
    let local = alice.sip.local_addr()?;
    let (ct, body) = alice.join_body(("other", "other"), None)?;
    let mut reinvite = format!(
        "INVITE sip:poc-controlling@{cf} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKre{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@lab.example>;tag={}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 INVITE\r\nContact: <sip:alice@{local}>\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        a.from_tag,
        a.to,
        a.call_id,
        body.len(),
        n = unique(),
    )
    .into_bytes();
    reinvite.extend_from_slice(&body);
    alice.sip.send_to(&reinvite, &cf).await?;
    let ok = alice.final_response().await?;
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(ok.contains("cpm.Conversation-ID: conv-A"), "{ok}");
    let ack = format!(
        "ACK sip:poc-controlling@{cf} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKra{n}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@lab.example>;tag={}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n",
        a.from_tag,
        a.to,
        a.call_id,
        n = unique(),
    );
    alice.sip.send_to(ack.as_bytes(), &cf).await?;
    assert_eq!(alice.bye("sip:team@lab.example", &a).await?, 200);

    // Bob's INVITE is never ACKed: the 200 comes again, then a BYE.
    let n = unique();
    let local = bob.sip.local_addr()?;
    let (ct, body) = bob.join_body(("conv-B", "contrib-B"), None)?;
    let mut invite = format!(
        "INVITE sip:team@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKna{n}\r\nMax-Forwards: 70\r\nFrom: <sip:bob@lab.example>;tag=nb{n}\r\nTo: <sip:team@lab.example>\r\nCall-ID: noack-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@{local}>\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    invite.extend_from_slice(&body);
    bob.sip.send_to(&invite, &cf).await?;
    let mut oks = 0;
    let mut buf = vec![0u8; 65535];
    let bye = loop {
        let (len, from) =
            tokio::time::timeout(Duration::from_secs(15), bob.sip.recv_from(&mut buf)).await??;
        let text = String::from_utf8_lossy(&buf[..len]).to_string();
        if text.starts_with("SIP/2.0 200") {
            oks += 1;
        } else if text.starts_with("BYE ") {
            break (text, from);
        }
    };
    assert!(oks >= 2, "the 200 was retransmitted ({oks})");
    assert_eq!(
        header(&bye.0, "Call-ID").as_deref(),
        Some(format!("noack-{n}").as_str())
    );
    assert!(
        header(&bye.0, "To")
            .unwrap_or_default()
            .contains(&format!("tag=nb{n}"))
    );
    // Answer the BYE; the participant is gone.
    let via = header(&bye.0, "Via").unwrap_or_default();
    let answer = format!(
        "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
        header(&bye.0, "From").unwrap_or_default(),
        header(&bye.0, "To").unwrap_or_default(),
        header(&bye.0, "Call-ID").unwrap_or_default(),
        header(&bye.0, "CSeq").unwrap_or_default(),
    );
    bob.sip.send_to(answer.as_bytes(), bye.1).await?;
    let sessions = lab.group_sessions().await?;
    let team = sessions
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["group_uri"] == "sip:team@lab.example")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        team["participants"].as_array().map(Vec::len),
        Some(0),
        "{team}"
    );
    Ok(())
}

/// A participant with no RTP and no request for `media.participant_timeout_s` is sent a BYE and
/// removed; its ids stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_participant_gets_a_bye() -> anyhow::Result<()> {
    let lab = Lab::start_with(Backend::Sqlite, "[media]\nparticipant_timeout_s = 1\n").await?;
    let alice = Terminal::new("alice", &lab.cf().sip_addr()).await?;
    let a = alice
        .join("sip:team@lab.example", ("conv-A", "contrib-A"))
        .await?;
    assert_eq!(a.status, 200);
    let mut buf = vec![0u8; 65535];
    let bye = loop {
        let (n, _) =
            tokio::time::timeout(Duration::from_secs(10), alice.sip.recv_from(&mut buf)).await??;
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with("BYE ") {
            break text;
        }
    };
    assert_eq!(header(&bye, "Call-ID"), Some(a.call_id.clone()));
    let sessions = lab.group_sessions().await?;
    let team = sessions
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["group_uri"] == "sip:team@lab.example")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        team["participants"].as_array().map(Vec::len),
        Some(0),
        "{team}"
    );
    assert_eq!(team["conversation_id"], "conv-A");
    Ok(())
}

/// CANCEL before the final answer (RFC 3261 §9.2): the group server never answers here (a
/// listener that accepts and stays silent), so the join is still being decided when the CANCEL
/// comes: 200 to the CANCEL, 487 to the INVITE, nothing stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_the_join_is_decided_is_487() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hole_addr = hole.local_addr()?;
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = hole.accept().await {
            conns.push(c);
        }
    });
    let cf = start_cf_node(
        dir.path(),
        &format!(
            "[groups]\nserved = [\"lab.example\"]\n[xcap]\nroot = \"http://{hole_addr}/xcap\"\ntimeout_ms = 5000\n[sip]\nt1_ms = 100\n"
        ),
        &format!("sqlite://{}/poc_controlling.db", dir.path().display()),
        "127.0.0.1:0",
        &[],
    )
    .await?;
    let cf_addr = cf.sip_addr();
    let alice = Terminal::new("alice", &cf_addr).await?;
    let local = alice.sip.local_addr()?;
    let (ct, body) = alice.join_body(("conv-A", "contrib-A"), None)?;
    let head = |method: &str| {
        format!(
            "{method} sip:team@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKcancel1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@lab.example>;tag=c1\r\nTo: <sip:team@lab.example>\r\nCall-ID: cancel-1@{local}\r\nCSeq: 1 {method}\r\n"
        )
    };
    let mut invite = format!(
        "{}Contact: <sip:alice@{local}>\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        head("INVITE"),
        body.len()
    )
    .into_bytes();
    invite.extend_from_slice(&body);
    alice.sip.send_to(&invite, &cf_addr).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancel = format!("{}Content-Length: 0\r\n\r\n", head("CANCEL"));
    alice.sip.send_to(cancel.as_bytes(), &cf_addr).await?;
    let (mut cancel_ok, mut invite_487, mut cancels) = (false, false, 1);
    while !(cancel_ok && invite_487) {
        let msg = alice.final_response().await?;
        let cseq = header(&msg, "CSeq").unwrap_or_default();
        if msg.starts_with("SIP/2.0 200") && cseq.ends_with("CANCEL") {
            cancel_ok = true;
        } else if msg.starts_with("SIP/2.0 487") && cseq.ends_with("INVITE") {
            invite_487 = true;
        } else if msg.starts_with("SIP/2.0 481") && cseq.ends_with("CANCEL") && cancels < 10 {
            // On a loaded machine the CANCEL can overtake the INVITE's processing (no
            // transaction to cancel yet): a client sends it again, as after a 481 to any CANCEL.
            tokio::time::sleep(Duration::from_millis(200)).await;
            alice.sip.send_to(cancel.as_bytes(), &cf_addr).await?;
            cancels += 1;
        } else {
            anyhow::bail!("unexpected answer: {msg}");
        }
    }
    let addr = cf.addrs.get("admin").cloned().unwrap_or_default();
    let mut s = tokio::net::TcpStream::connect(&addr).await?;
    s.write_all(
        format!("GET /group-sessions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut text = String::new();
    s.read_to_string(&mut text).await?;
    assert!(
        text.ends_with("[]"),
        "nothing stored, nobody joined: {text}"
    );
    held.abort();
    Ok(())
}

/// One SIP message from a TCP stream (framed by Content-Length).
async fn read_tcp_message(
    stream: &mut tokio::net::TcpStream,
    pending: &mut Vec<u8>,
) -> anyhow::Result<String> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_string();
            let len: usize = header(&format!("{head}\r\n\r\n"), "Content-Length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if pending.len() >= end + 4 + len {
                let msg: Vec<u8> = pending.drain(..end + 4 + len).collect();
                return Ok(String::from_utf8_lossy(&msg).to_string());
            }
        }
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await??;
        anyhow::ensure!(n > 0, "connection closed");
        pending.extend_from_slice(&buf[..n]);
    }
}

/// The join over TCP: 200 with the ids on the same connection, a Contact with
/// `transport=tcp`, ACK and BYE in the dialog on that connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_over_tcp() -> anyhow::Result<()> {
    let lab = Lab::start(Backend::Sqlite).await?;
    let cf = lab.cf().sip_addr();
    let alice = Terminal::new("alice", &cf).await?;
    let mut tcp = tokio::net::TcpStream::connect(&cf).await?;
    let local = tcp.local_addr()?;
    let (ct, body) = alice.join_body(("conv-T", "contrib-T"), None)?;
    let mut invite = format!(
        "INVITE sip:team@lab.example SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\nFrom: <sip:alice@lab.example>;tag=tc1\r\nTo: <sip:team@lab.example>\r\nCall-ID: tcp-1@{local}\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@{local};transport=tcp>\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    invite.extend_from_slice(&body);
    tcp.write_all(&invite).await?;
    let mut pending = Vec::new();
    let ok = loop {
        let msg = read_tcp_message(&mut tcp, &mut pending).await?;
        if !msg.starts_with("SIP/2.0 1") {
            break msg;
        }
    };
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    assert!(ok.contains("cpm.Conversation-ID: conv-T"), "{ok}");
    assert!(
        header(&ok, "Contact")
            .unwrap_or_default()
            .contains("transport=tcp"),
        "{ok}"
    );
    let to = header(&ok, "To").unwrap_or_default();
    let in_dialog = |method: &str, cseq: u32, branch: &str| {
        format!(
            "{method} sip:poc-controlling@{cf};transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@lab.example>;tag=tc1\r\nTo: {to}\r\nCall-ID: tcp-1@{local}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    tcp.write_all(in_dialog("ACK", 1, "tcpack").as_bytes())
        .await?;
    tcp.write_all(in_dialog("BYE", 2, "tcpbye").as_bytes())
        .await?;
    let bye_ok = read_tcp_message(&mut tcp, &mut pending).await?;
    assert!(bye_ok.starts_with("SIP/2.0 200"), "{bye_ok}");
    assert_eq!(
        lab.stored_ids("sip:team@lab.example").await?,
        Some(("conv-T".into(), "contrib-T".into()))
    );
    Ok(())
}
