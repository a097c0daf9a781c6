//! Issue 9 §3: a SIP node bound to `0.0.0.0` with `sip.advertise` puts exactly the advertised
//! address on the wire (Via sent-by and Contact of what it sends, over UDP and TCP), and a
//! watcher (ue-emulator) still gets its NOTIFYs.

#[path = "support/raw_sip.rs"]
mod raw_sip;

use std::time::Duration;

use corelab_proto::ue::v1 as upb;
use corelab_tests::ok_for;
use corelab_tests::{Backend, Lab, store_url, until};
use raw_sip::{Tcp, Udp, header, request, status_line};

const WAIT: Duration = Duration::from_secs(5);

/// presence-server bound to 0.0.0.0:<port>, advertising 127.0.0.2:<port>.
async fn lab_bound_to_any() -> anyhow::Result<(Lab, u16)> {
    let dir = tempfile::tempdir()?;
    let store = store_url(Backend::Sqlite, dir.path()).await?;
    let port = labctl::free_port()?;
    let config = corelab_tests::config(port, "").replace(
        &format!("listen = \"127.0.0.1:{port}\""),
        &format!("listen = \"0.0.0.0:{port}\"\nadvertise = \"127.0.0.2:{port}\""),
    );
    let mut lab = Lab {
        dir,
        server: None,
        sip_port: port,
        store_url: store,
        config,
        ues: Vec::new(),
    };
    lab.start_server().await?;
    Ok((lab, port))
}

/// The 200 of a SUBSCRIBE and the NOTIFY that follows, in either order.
fn subscribe_answers(
    mut next: impl FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<(String, String)> {
    let (mut ok, mut notify) = (None, None);
    while ok.is_none() || notify.is_none() {
        let msg = next()?;
        if msg.starts_with("NOTIFY ") {
            notify = Some(msg);
        } else if msg.starts_with("SIP/2.0 ")
            && header(&msg, "CSeq").is_some_and(|c| c.ends_with("SUBSCRIBE"))
        {
            ok = Some(msg);
        }
    }
    Ok((ok.unwrap_or_default(), notify.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unspecified_bind_puts_the_advertised_address_in_via_and_contact() -> anyhow::Result<()> {
    let (mut lab, port) = lab_bound_to_any().await?;
    let server = format!("127.0.0.1:{port}");
    let advertised = format!("127.0.0.2:{port}");

    // UDP: a raw watcher registers and subscribes to its own presence.
    let udp = Udp::bind()?;
    let me = udp.local();
    udp.send(
        &server,
        request(
            "REGISTER",
            "sip:lab.example",
            "dave",
            &me,
            "UDP",
            "Expires: 600\r\n",
            "",
        )
        .as_bytes(),
    )?;
    let reg = udp.message(WAIT)?;
    assert_eq!(status_line(&reg), "SIP/2.0 200 OK", "{reg}");
    udp.send(
        &server,
        request(
            "SUBSCRIBE",
            "sip:dave@lab.example",
            "dave",
            &me,
            "UDP",
            "Event: presence\r\nExpires: 600\r\n",
            "",
        )
        .as_bytes(),
    )?;
    let (ok, notify) = subscribe_answers(|| udp.message(WAIT))?;
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}");
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some(format!("<sip:presence@{advertised}>").as_str()),
        "{ok}"
    );
    let via = header(&notify, "Via").unwrap_or_default();
    assert!(
        via.starts_with(&format!("SIP/2.0/UDP {advertised};")),
        "NOTIFY Via: {via}\n{notify}"
    );
    assert_eq!(
        header(&notify, "Contact").as_deref(),
        Some(format!("<sip:presence@{advertised}>").as_str()),
        "{notify}"
    );
    udp.send(&server, ok_for(&notify).as_bytes())?;

    // TCP: the same over one connection.
    let server_tcp = server.clone();
    let (ok, notify) = tokio::task::spawn_blocking(move || -> anyhow::Result<(String, String)> {
        let mut tcp = Tcp::connect(&server_tcp)?;
        let me = tcp.local();
        tcp.send(&request(
            "REGISTER",
            "sip:lab.example",
            "erin",
            &me,
            "TCP",
            "Expires: 600\r\n",
            "",
        ))?;
        let reg = tcp.message(WAIT)?.unwrap_or_default();
        anyhow::ensure!(status_line(&reg) == "SIP/2.0 200 OK", "{reg}");
        tcp.send(&request(
            "SUBSCRIBE",
            "sip:erin@lab.example",
            "erin",
            &me,
            "TCP",
            "Event: presence\r\nExpires: 600\r\n",
            "",
        ))?;
        let answers =
            subscribe_answers(|| tcp.message(WAIT)?.ok_or_else(|| anyhow::anyhow!("closed")))?;
        tcp.send(&ok_for(&answers.1))?;
        Ok(answers)
    })
    .await??;
    assert_eq!(
        header(&ok, "Contact").as_deref(),
        Some(format!("<sip:presence@{advertised};transport=tcp>").as_str()),
        "{ok}"
    );
    let via = header(&notify, "Via").unwrap_or_default();
    assert!(
        via.starts_with(&format!("SIP/2.0/TCP {advertised};")),
        "NOTIFY Via: {via}\n{notify}"
    );
    assert_eq!(
        header(&notify, "Contact").as_deref(),
        Some(format!("<sip:presence@{advertised};transport=tcp>").as_str()),
        "{notify}"
    );

    // A watcher (ue-emulator) still gets its NOTIFYs: alice sees bob's publication.
    lab.ue("bob", &["--publish", "open"]).await?;
    let alice = lab.ue("alice", &["--buddy", "sip:bob@lab.example"]).await?;
    until(Duration::from_secs(20), "alice sees bob open", || {
        let mut a = alice.clone();
        async move {
            let v = a.get_view(upb::Empty {}).await.ok()?.into_inner();
            v.buddies
                .iter()
                .any(|b| b.uri == "sip:bob@lab.example" && b.basic == "open")
                .then_some(())
        }
    })
    .await?;
    Ok(())
}
