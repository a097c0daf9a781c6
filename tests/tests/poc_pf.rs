//! Issue 11 §2: poc-participating, the real binary, between a test UAC (terminal A) and a test
//! UAS (playing the controlling server), over real UDP and TCP sockets, on SQLite and
//! PostgreSQL: an INVITE of a provisioned user is relayed to the configured controlling server
//! with Record-Route and Via, the 200 comes back, ACK and BYE follow the Record-Route; unknown
//! and barred asserted identities get 403 and nothing is forwarded; Max-Forwards 0 gets 483; a
//! request towards a user not served here is refused; a CANCEL is relayed.

#[path = "support/raw_sip.rs"]
mod raw_sip;

use std::time::Duration;

use corelab_proto::poc::v1 as pb;
use corelab_proto::poc::v1::participating_control_client::ParticipatingControlClient;
use corelab_tests::{Backend, on_both_backends, postgres_database};
use labctl::{Node, bin_path};
use raw_sip::{Tcp, Udp, header, status_line};

const WAIT: Duration = Duration::from_secs(5);
/// How long we listen for something that must not come.
const QUIET: Duration = Duration::from_millis(700);

struct Lab {
    _dir: tempfile::TempDir,
    pf: Node,
    /// Terminal A (alice) over UDP.
    uac: Udp,
    /// The controlling server, as a plain UAS over UDP.
    cf: Udp,
}

impl Lab {
    async fn start(backend: Backend) -> anyhow::Result<Lab> {
        Lab::start_trusting(backend, r#"["127.0.0.1"]"#).await
    }

    /// With `participating.trusted_sources = trusted` (a TOML list).
    async fn start_trusting(backend: Backend, trusted: &str) -> anyhow::Result<Lab> {
        Lab::start_configured(backend, trusted, 64).await
    }

    /// With `participating.trusted_sources = trusted` and `proxy.max_pending`.
    async fn start_configured(
        backend: Backend,
        trusted: &str,
        max_pending: usize,
    ) -> anyhow::Result<Lab> {
        let dir = tempfile::tempdir()?;
        let store_url = match backend {
            Backend::Sqlite => format!("sqlite://{}/poc_participating.db", dir.path().display()),
            Backend::Postgres => postgres_database().await?,
        };
        let uac = Udp::bind()?;
        let cf = Udp::bind()?;
        let config = format!(
            r#"[sip]
listen = "127.0.0.1:0"
advertise = "127.0.0.1"
tcp = true
max_connections = 64
tcp_idle_timeout_ms = 60000
tcp_message_timeout_ms = 10000
t1_ms = 200

[proxy]
max_pending = {max_pending}
max_transaction_ms = 30000

[participating]
trusted_sources = {trusted}
controlling = [{{ domain = "groups.a.lab", uri = "sip:{cf}" }},
               {{ domain = "tcp-groups.a.lab", uri = "sip:{cf};transport=tcp" }}]
users = [{{ uri = "sip:alice@a.lab", contact = "sip:alice@{uac}" }},
         {{ uri = "sip:carol@a.lab", contact = "sip:carol@{uac}", barred = true }}]
"#,
            cf = cf.local(),
            uac = uac.local()
        );
        let cfg = dir.path().join("pf.toml");
        std::fs::write(&cfg, config)?;
        // Bob comes from the provision subcommand, not the config.
        let users = dir.path().join("users.toml");
        std::fs::write(
            &users,
            format!(
                "[[user]]\nuri = \"sip:bob@a.lab\"\ncontact = \"sip:bob@{}\"\n",
                uac.local()
            ),
        )?;
        let out = tokio::process::Command::new(bin_path("poc-participating")?)
            .args([
                "--config",
                &cfg.display().to_string(),
                "--store-url",
                &store_url,
            ])
            .arg("provision")
            .arg(&users)
            .output()
            .await?;
        anyhow::ensure!(
            out.status.success(),
            "provision failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pf = Node::start(
            "poc-participating",
            &bin_path("poc-participating")?,
            &[
                "--config".into(),
                cfg.display().to_string(),
                "--store-url".into(),
                store_url,
            ],
            dir.path(),
            false,
        )
        .await?;
        Ok(Lab {
            _dir: dir,
            pf,
            uac,
            cf,
        })
    }

    fn pf_addr(&self) -> String {
        self.pf.sip_addr()
    }

    /// An INVITE of `user` (asserted as `asserted`) to `uri`, from the UAC.
    fn invite(&self, uri: &str, asserted: &str, call: &str, extra: &str) -> String {
        let local = self.uac.local();
        format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call}i\r\n\
             Max-Forwards: 70\r\nFrom: <{asserted}>;tag={call}f\r\nTo: <{uri}>\r\n\
             Call-ID: {call}@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@{local}>\r\n\
             P-Asserted-Identity: <{asserted}>\r\n{extra}Content-Length: 0\r\n\r\n"
        )
    }

    async fn metrics(&self) -> anyhow::Result<String> {
        corelab_tests::http::get_ok(&self.pf.admin_url("/metrics")).await
    }
}

/// Every value of header `name`, one per line or comma-separated entry.
fn all(msg: &str, name: &str) -> Vec<String> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .flat_map(|v| v.split(", ").map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn method(msg: &str) -> &str {
    msg.split(' ').next().unwrap_or("")
}

/// The next message on `sock` that satisfies `want` (retransmissions and others skipped).
fn next(sock: &Udp, want: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + WAIT;
    sock.socket
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut buf = vec![0u8; 65535];
    loop {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no matching message within {WAIT:?}"
        );
        if let Ok((n, _)) = sock.socket.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if want(&text) {
                return Ok(text);
            }
        }
    }
}

/// Anything received on `sock` within [`QUIET`].
fn silence(sock: &Udp) -> anyhow::Result<Option<String>> {
    sock.socket.set_read_timeout(Some(QUIET))?;
    let mut buf = vec![0u8; 65535];
    match sock.socket.recv_from(&mut buf) {
        Ok((n, _)) => Ok(Some(String::from_utf8_lossy(&buf[..n]).to_string())),
        Err(_) => Ok(None),
    }
}

/// A response to `req` written by a UA: every Via, From, To (with `to_tag` if it had none),
/// Call-ID, CSeq and Record-Route copied.
fn answer(req: &str, code: u16, reason: &str, to_tag: &str, extra: &str) -> String {
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for v in all(req, "Via") {
        out.push_str(&format!("Via: {v}\r\n"));
    }
    out.push_str(&format!(
        "From: {}\r\n",
        header(req, "From").unwrap_or_default()
    ));
    let to = header(req, "To").unwrap_or_default();
    match to.contains("tag=") {
        true => out.push_str(&format!("To: {to}\r\n")),
        false => out.push_str(&format!("To: {to};tag={to_tag}\r\n")),
    }
    out.push_str(&format!(
        "Call-ID: {}\r\n",
        header(req, "Call-ID").unwrap_or_default()
    ));
    out.push_str(&format!(
        "CSeq: {}\r\n",
        header(req, "CSeq").unwrap_or_default()
    ));
    for rr in all(req, "Record-Route") {
        out.push_str(&format!("Record-Route: {rr}\r\n"));
    }
    out.push_str(extra);
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// Where a message's top Via says to answer (sent-by).
fn top_via_addr(msg: &str) -> String {
    let via = all(msg, "Via").into_iter().next().unwrap_or_default();
    via.split_whitespace()
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or("")
        .to_string()
}

async fn invite_relayed_with_record_route_then_ack_and_bye_follow(
    backend: Backend,
) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let pf = lab.pf_addr();
    let invite = lab.invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "c1", "");
    lab.uac.send(&pf, invite.as_bytes())?;

    // At the controlling server: the group URI kept, routed to it, our Via and Record-Route.
    let got = next(&lab.cf, |m| method(m) == "INVITE")?;
    assert_eq!(
        got.split("\r\n").next().unwrap(),
        "INVITE sip:chat@groups.a.lab SIP/2.0"
    );
    let vias = all(&got, "Via");
    assert_eq!(vias.len(), 2, "{got}");
    assert!(
        vias[0].starts_with(&format!("SIP/2.0/UDP {pf};branch=z9hG4bK")),
        "{got}"
    );
    assert!(vias[1].contains(&lab.uac.local()), "{got}");
    assert_eq!(
        all(&got, "Record-Route"),
        vec![format!("<sip:{pf};lr>")],
        "{got}"
    );
    assert_eq!(
        all(&got, "Route"),
        vec![format!("<sip:{};lr>", lab.cf.local())],
        "{got}"
    );
    assert_eq!(header(&got, "Max-Forwards").as_deref(), Some("69"));
    assert_eq!(
        header(&got, "P-Asserted-Identity").as_deref(),
        Some("<sip:alice@a.lab>")
    );

    // 180 and 200 relayed back, our Via gone.
    let cf_contact = format!("Contact: <sip:cf@{}>\r\n", lab.cf.local());
    lab.cf.send(
        &top_via_addr(&got),
        answer(&got, 180, "Ringing", "cf1", &cf_contact).as_bytes(),
    )?;
    let ringing = next(&lab.uac, |m| m.starts_with("SIP/2.0 180"))?;
    assert_eq!(all(&ringing, "Via").len(), 1, "{ringing}");
    lab.cf.send(
        &top_via_addr(&got),
        answer(&got, 200, "OK", "cf1", &cf_contact).as_bytes(),
    )?;
    let ok = next(&lab.uac, |m| m.starts_with("SIP/2.0 200"))?;
    assert_eq!(all(&ok, "Via").len(), 1, "{ok}");
    assert!(all(&ok, "Via")[0].contains(&lab.uac.local()));
    assert_eq!(all(&ok, "Record-Route"), vec![format!("<sip:{pf};lr>")]);

    // ACK and BYE follow the Record-Route: sent to the PF with Route, arrive at the CF.
    let to = header(&ok, "To").unwrap();
    let local = lab.uac.local();
    let in_dialog = |m: &str, cseq: u32, branch: &str| {
        format!(
            "{m} sip:cf@{cf} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\nRoute: <sip:{pf};lr>\r\nFrom: <sip:alice@a.lab>;tag=c1f\r\n\
             To: {to}\r\nCall-ID: c1@test\r\nCSeq: {cseq} {m}\r\nContent-Length: 0\r\n\r\n",
            cf = lab.cf.local()
        )
    };
    lab.uac.send(&pf, in_dialog("ACK", 1, "c1ack").as_bytes())?;
    let ack = next(&lab.cf, |m| method(m) == "ACK")?;
    assert_eq!(all(&ack, "Via").len(), 2, "{ack}");
    assert!(all(&ack, "Via")[0].contains(&pf), "{ack}");
    assert!(all(&ack, "Route").is_empty(), "our Route popped: {ack}");
    lab.uac.send(&pf, in_dialog("BYE", 2, "c1bye").as_bytes())?;
    let bye = next(&lab.cf, |m| method(m) == "BYE")?;
    assert!(all(&bye, "Via")[0].contains(&pf), "{bye}");
    lab.cf.send(
        &top_via_addr(&bye),
        answer(&bye, 200, "OK", "cf1", "").as_bytes(),
    )?;
    let bye_ok = next(&lab.uac, |m| {
        m.starts_with("SIP/2.0 200") && m.contains("BYE")
    })?;
    assert_eq!(all(&bye_ok, "Via").len(), 1);

    // A request the user receives in the dialog follows the Record-Route too: the CF's BYE
    // (route set = the Record-Route) reaches alice's contact through the PF.
    let cf_bye = format!(
        "BYE sip:a@{local} SIP/2.0\r\nVia: SIP/2.0/UDP {cf};branch=z9hG4bKcfbye\r\n\
         Max-Forwards: 70\r\nRoute: <sip:{pf};lr>\r\nFrom: {to}\r\n\
         To: <sip:alice@a.lab>;tag=c1f\r\nCall-ID: c1@test\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n",
        cf = lab.cf.local()
    );
    lab.cf.send(&pf, cf_bye.as_bytes())?;
    let bye = next(&lab.uac, |m| method(m) == "BYE")?;
    assert!(all(&bye, "Via")[0].contains(&pf), "{bye}");
    assert!(all(&bye, "Route").is_empty(), "{bye}");
    lab.uac.send(
        &top_via_addr(&bye),
        answer(&bye, 200, "OK", "x", "").as_bytes(),
    )?;
    next(&lab.cf, |m| {
        m.starts_with("SIP/2.0 200") && m.contains("7 BYE")
    })?;

    let metrics = lab.metrics().await?;
    assert!(
        metrics.contains(
            r#"corelab_poc_participating_requests_relayed_total{method="INVITE",status="200"} 1"#
        ),
        "{metrics}"
    );
    let mut control = ParticipatingControlClient::connect(lab.pf.grpc_uri()).await?;
    let users = control.list_users(pb::Empty {}).await?.into_inner().users;
    let uris: Vec<_> = users.iter().map(|u| u.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["sip:alice@a.lab", "sip:bob@a.lab", "sip:carol@a.lab"]
    );
    assert!(users[2].barred);
    Ok(())
}

async fn unknown_and_barred_identities_get_403_and_nothing_is_forwarded(
    backend: Backend,
) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let pf = lab.pf_addr();
    for (who, call) in [("sip:mallory@a.lab", "u1"), ("sip:carol@a.lab", "u2")] {
        let invite = lab.invite("sip:chat@groups.a.lab", who, call, "");
        lab.uac.send(&pf, invite.as_bytes())?;
        let answer = next(&lab.uac, |m| m.starts_with("SIP/2.0 4"))?;
        assert!(
            status_line(&answer).starts_with("SIP/2.0 403"),
            "{who}: {answer}"
        );
        // The 403's ACK (hop by hop).
        let ack = format!(
            "ACK sip:chat@groups.a.lab SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK{call}i\r\n\
             Max-Forwards: 70\r\nFrom: <{who}>;tag={call}f\r\nTo: {}\r\nCall-ID: {call}@test\r\n\
             CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            lab.uac.local(),
            header(&answer, "To").unwrap_or_default()
        );
        lab.uac.send(&pf, ack.as_bytes())?;
    }
    assert_eq!(
        silence(&lab.cf)?,
        None,
        "nothing reaches the controlling server"
    );
    let metrics = lab.metrics().await?;
    assert!(metrics.contains(r#"cause="barred"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"cause="unknown_identity"} 1"#),
        "{metrics}"
    );
    Ok(())
}

async fn max_forwards_zero_gets_483(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let invite = lab
        .invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "m1", "")
        .replace("Max-Forwards: 70", "Max-Forwards: 0");
    lab.uac.send(&lab.pf_addr(), invite.as_bytes())?;
    let answer = next(&lab.uac, |m| m.starts_with("SIP/2.0 4"))?;
    assert!(status_line(&answer).starts_with("SIP/2.0 483"), "{answer}");
    assert_eq!(silence(&lab.cf)?, None);
    Ok(())
}

async fn requests_towards_users_not_served_here_are_refused(
    backend: Backend,
) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let pf = lab.pf_addr();
    // From the controlling server (a trusted source) towards someone we do not serve: 403.
    let invite = lab.invite("sip:zed@b.lab", "sip:chat@groups.a.lab", "n1", "");
    lab.cf.send(
        &pf,
        invite.replace(&lab.uac.local(), &lab.cf.local()).as_bytes(),
    )?;
    let answer = next(&lab.cf, |m| m.starts_with("SIP/2.0 4"))?;
    assert!(status_line(&answer).starts_with("SIP/2.0 403"), "{answer}");
    // From our user towards an unknown user of our domain: 404.
    let invite = lab.invite("sip:zed@a.lab", "sip:alice@a.lab", "n2", "");
    lab.uac.send(&pf, invite.as_bytes())?;
    let answer = next(&lab.uac, |m| m.starts_with("SIP/2.0 4"))?;
    assert!(status_line(&answer).starts_with("SIP/2.0 404"), "{answer}");
    // Towards a served user (bob, provisioned by the subcommand): relayed to bob's contact.
    let invite = lab.invite("sip:bob@a.lab", "sip:chat@groups.a.lab", "n3", "");
    lab.cf.send(
        &pf,
        invite.replace(&lab.uac.local(), &lab.cf.local()).as_bytes(),
    )?;
    let got = next(&lab.uac, |m| method(m) == "INVITE")?;
    assert!(
        got.starts_with(&format!("INVITE sip:bob@{} SIP/2.0", lab.uac.local())),
        "{got}"
    );
    Ok(())
}

async fn cancel_is_relayed_and_the_invite_ends_487(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let pf = lab.pf_addr();
    let invite = lab.invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "k1", "");
    lab.uac.send(&pf, invite.as_bytes())?;
    let got = next(&lab.cf, |m| method(m) == "INVITE")?;
    lab.cf.send(
        &top_via_addr(&got),
        answer(&got, 180, "Ringing", "cf2", "").as_bytes(),
    )?;
    next(&lab.uac, |m| m.starts_with("SIP/2.0 180"))?;
    let cancel = format!(
        "CANCEL sip:chat@groups.a.lab SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKk1i\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@a.lab>;tag=k1f\r\nTo: <sip:chat@groups.a.lab>\r\n\
         Call-ID: k1@test\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
        lab.uac.local()
    );
    lab.uac.send(&pf, cancel.as_bytes())?;
    next(&lab.uac, |m| {
        m.starts_with("SIP/2.0 200") && m.contains("CANCEL")
    })?;
    // The CANCEL downstream matches the INVITE we forwarded (same branch, same Request-URI).
    let cancelled = next(&lab.cf, |m| method(m) == "CANCEL")?;
    assert_eq!(all(&cancelled, "Via"), vec![all(&got, "Via")[0].clone()]);
    lab.cf.send(
        &top_via_addr(&cancelled),
        answer(&cancelled, 200, "OK", "cf2", "").as_bytes(),
    )?;
    lab.cf.send(
        &top_via_addr(&got),
        answer(&got, 487, "Request Terminated", "cf2", "").as_bytes(),
    )?;
    let terminated = next(&lab.uac, |m| m.starts_with("SIP/2.0 487"))?;
    assert_eq!(all(&terminated, "Via").len(), 1, "{terminated}");
    Ok(())
}

async fn invite_over_tcp_to_a_tcp_controlling_server(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend).await?;
    let pf = lab.pf_addr();
    // The controlling server of tcp-groups.a.lab listens on TCP at the CF socket's address.
    let listener = std::net::TcpListener::bind(lab.cf.local())?;
    let mut uac = Tcp::connect(&pf)?;
    let local = uac.local();
    let invite = format!(
        "INVITE sip:chat@tcp-groups.a.lab SIP/2.0\r\nVia: SIP/2.0/TCP {local};branch=z9hG4bKt1i\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@a.lab>;tag=t1f\r\nTo: <sip:chat@tcp-groups.a.lab>\r\n\
         Call-ID: t1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@{local};transport=tcp>\r\n\
         P-Asserted-Identity: <sip:alice@a.lab>\r\nContent-Length: 0\r\n\r\n"
    );
    uac.send(&invite)?;
    listener.set_nonblocking(false)?;
    let (stream, _) = listener.accept()?;
    let mut cf = Tcp::from_stream(stream)?;
    let got = loop {
        let m = cf
            .message(WAIT)?
            .ok_or_else(|| anyhow::anyhow!("CF connection closed"))?;
        if method(&m) == "INVITE" {
            break m;
        }
    };
    assert!(
        all(&got, "Via")[0].starts_with(&format!("SIP/2.0/TCP {pf};branch=")),
        "{got}"
    );
    assert_eq!(
        all(&got, "Record-Route"),
        vec![format!("<sip:{pf};transport=tcp;lr>")],
        "{got}"
    );
    cf.send(&answer(
        &got,
        200,
        "OK",
        "cf3",
        &format!("Contact: <sip:cf@{};transport=tcp>\r\n", lab.cf.local()),
    ))?;
    let ok = loop {
        let m = uac
            .message(WAIT)?
            .ok_or_else(|| anyhow::anyhow!("PF connection closed"))?;
        if m.starts_with("SIP/2.0 200") {
            break m;
        }
    };
    assert_eq!(all(&ok, "Via").len(), 1, "{ok}");
    Ok(())
}

async fn untrusted_source_is_its_from_and_the_pf_asserts_it(
    backend: Backend,
) -> anyhow::Result<()> {
    // Nobody is trusted: alice is who her From says, sending from her contact's host.
    let lab = Lab::start_trusting(backend, "[]").await?;
    let pf = lab.pf_addr();
    let invite = lab
        .invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "w1", "")
        .replace("P-Asserted-Identity: <sip:alice@a.lab>\r\n", "");
    lab.uac.send(&pf, invite.as_bytes())?;
    let got = next(&lab.cf, |m| method(m) == "INVITE")?;
    assert_eq!(
        all(&got, "P-Asserted-Identity"),
        vec!["<sip:alice@a.lab>"],
        "{got}"
    );
    // A P-Asserted-Identity of someone else from an untrusted source: 403, not forwarded.
    let invite = lab
        .invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "w2", "")
        .replace(
            "P-Asserted-Identity: <sip:alice@a.lab>",
            "P-Asserted-Identity: <sip:bob@a.lab>",
        );
    lab.uac.send(&pf, invite.as_bytes())?;
    let answer = next(&lab.uac, |m| m.starts_with("SIP/2.0 4"))?;
    assert!(status_line(&answer).starts_with("SIP/2.0 403"), "{answer}");
    assert!(next(&lab.cf, |m| m.contains("w2@test") && method(m) == "INVITE").is_err());
    Ok(())
}

async fn pending_transactions_are_bounded(backend: Backend) -> anyhow::Result<()> {
    // One forwarded transaction at a time: while the CF leaves an INVITE unanswered, the next
    // one gets 503 and is not forwarded.
    let lab = Lab::start_configured(backend, r#"["127.0.0.1"]"#, 1).await?;
    let pf = lab.pf_addr();
    lab.uac.send(
        &pf,
        lab.invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "p1", "")
            .as_bytes(),
    )?;
    next(&lab.cf, |m| method(m) == "INVITE")?;
    lab.uac.send(
        &pf,
        lab.invite("sip:chat@groups.a.lab", "sip:alice@a.lab", "p2", "")
            .as_bytes(),
    )?;
    let answer = next(&lab.uac, |m| m.starts_with("SIP/2.0 5"))?;
    assert!(status_line(&answer).starts_with("SIP/2.0 503"), "{answer}");
    assert_eq!(header(&answer, "Call-ID").as_deref(), Some("p2@test"));
    assert!(lab.metrics().await?.contains(r#"cause="overload"} 1"#));
    Ok(())
}

on_both_backends! {
    pending_transactions_are_bounded_503_beyond => pending_transactions_are_bounded;
    an_untrusted_source_is_its_from_and_the_pf_asserts_it => untrusted_source_is_its_from_and_the_pf_asserts_it;
    invite_from_a_provisioned_user_is_relayed_with_record_route_and_ack_and_bye_follow => invite_relayed_with_record_route_then_ack_and_bye_follow;
    unknown_or_barred_asserted_identity_gets_403_and_nothing_is_forwarded => unknown_and_barred_identities_get_403_and_nothing_is_forwarded;
    max_forwards_zero_gets_483_and_nothing_is_forwarded => max_forwards_zero_gets_483;
    a_request_towards_a_user_not_served_here_is_refused => requests_towards_users_not_served_here_are_refused;
    cancel_is_relayed_and_the_invite_ends_with_487 => cancel_is_relayed_and_the_invite_ends_487;
    invite_over_tcp_reaches_a_tcp_controlling_server_with_a_tcp_record_route => invite_over_tcp_to_a_tcp_controlling_server;
}
