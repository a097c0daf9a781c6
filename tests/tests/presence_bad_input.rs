//! Bad input over the wire gets the protocol's own error and never hurts the server or its
//! store: 400 with a reason, 489 with Allow-Events, 423 with Min-Expires, 481, 403, and a
//! datagram that is not SIP is dropped.

use corelab_proto::presence::v1 as ppb;
use corelab_tests::{Backend, Lab, on_both_backends, sip_udp_exchange};

/// A REGISTER with a fresh branch (a reused branch would be answered from the transaction
/// layer's cache of finished transactions).
fn register(user: &str, extra: &str) -> String {
    static BRANCH: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = BRANCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "REGISTER sip:lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bK{user}r{n}\r\nFrom: <sip:{user}@lab.example>;tag=f1\r\nTo: <sip:{user}@lab.example>\r\nCall-ID: reg-{user}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@{{local}}>\r\nExpires: 600\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn subscribe(user: &str, branch: &str, to_tag: &str, headers: &str) -> String {
    format!(
        "SUBSCRIBE sip:bob@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bK{branch}\r\nFrom: <sip:{user}@lab.example>;tag=f2\r\nTo: <sip:bob@lab.example>{to_tag}\r\nCall-ID: sub-{branch}\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:{user}@{{local}}>\r\n{headers}Content-Length: 0\r\n\r\n"
    )
}

fn status_line(resp: &str) -> &str {
    resp.lines().next().unwrap_or("")
}

async fn bad_requests_get_their_sip_errors(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let server = lab.server().sip_addr();
    let from = "127.0.0.1:0";

    let ok = sip_udp_exchange(from, &server, &register("carol", ""))?;
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}");

    // Malformed: a CSeq whose method is not the request's → 400 with the reason.
    let bad_cseq = register("carol", "").replace("CSeq: 1 REGISTER", "CSeq: 1 INVITE");
    let resp = sip_udp_exchange(from, &server, &bad_cseq)?;
    assert!(
        status_line(&resp).starts_with("SIP/2.0 400 CSeq method INVITE does not match REGISTER"),
        "{resp}"
    );
    // Malformed: no From tag → 400.
    let no_tag = register("carol", "").replace(";tag=f1", "");
    let resp = sip_udp_exchange(from, &server, &no_tag)?;
    assert!(
        status_line(&resp).starts_with("SIP/2.0 400 Missing From tag"),
        "{resp}"
    );
    // Malformed header value the handler reads → 400 naming it.
    let bad_expires = register("carol", "").replace("Expires: 600", "Expires: soon");
    let resp = sip_udp_exchange(from, &server, &bad_expires)?;
    assert!(
        status_line(&resp).starts_with("SIP/2.0 400 Bad Expires header"),
        "{resp}"
    );

    // Unknown event package → 489 with Allow-Events.
    let resp = sip_udp_exchange(
        from,
        &server,
        &subscribe("carol", "e1", "", "Event: dialog\r\n"),
    )?;
    assert!(status_line(&resp).starts_with("SIP/2.0 489"), "{resp}");
    assert!(
        resp.contains("Allow-Events: presence, reg, presence.winfo"),
        "{resp}"
    );
    // Missing Event → 400.
    let resp = sip_udp_exchange(from, &server, &subscribe("carol", "e2", "", ""))?;
    assert!(
        status_line(&resp).starts_with("SIP/2.0 400 Missing Event header"),
        "{resp}"
    );
    // Expires too short → 423 with Min-Expires (the lab config says 2 s).
    let resp = sip_udp_exchange(
        from,
        &server,
        &subscribe("carol", "e3", "", "Event: presence\r\nExpires: 1\r\n"),
    )?;
    assert!(status_line(&resp).starts_with("SIP/2.0 423"), "{resp}");
    assert!(resp.contains("Min-Expires: 2"), "{resp}");
    // An in-dialog SUBSCRIBE for a dialog we never made → 481.
    let resp = sip_udp_exchange(
        from,
        &server,
        &subscribe("carol", "e4", ";tag=nosuch", "Event: presence\r\n"),
    )?;
    assert!(status_line(&resp).starts_with("SIP/2.0 481"), "{resp}");
    // Not registered → 403.
    let resp = sip_udp_exchange(
        from,
        &server,
        &subscribe("dave", "e5", "", "Event: presence\r\n"),
    )?;
    assert!(
        status_line(&resp)
            .starts_with("SIP/2.0 403 Forbidden (sip:dave@lab.example is not registered)"),
        "{resp}"
    );

    // A datagram that is not SIP is dropped: no answer, and the server still serves.
    let junk = std::net::UdpSocket::bind(from)?;
    junk.send_to(b"\x00\x01garbage that is not SIP\r\n\r\n", &server)?;
    junk.set_read_timeout(Some(std::time::Duration::from_millis(500)))?;
    let mut buf = [0u8; 1024];
    assert!(junk.recv_from(&mut buf).is_err(), "no answer to junk");

    // None of it touched the store: carol's registration is still there, nothing else is.
    let mut ctl = lab.control().await?;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    assert_eq!(
        regs.iter().map(|r| r.aor.as_str()).collect::<Vec<_>>(),
        vec!["sip:carol@lab.example"]
    );
    assert!(
        ctl.list_subscriptions(ppb::Empty {})
            .await?
            .into_inner()
            .subscriptions
            .is_empty()
    );
    let health = ctl.health(ppb::Empty {}).await?.into_inner();
    assert!(health.store_ok);
    Ok(())
}

async fn third_party_register_only_from_trusted_core(backend: Backend) -> anyhow::Result<()> {
    let extra = "[registrar]\nmode = \"third_party\"\ntrusted_cores = [\"127.0.0.2\"]\ncore_uri = \"sip:127.0.0.2:5060\"\n";
    let lab = Lab::start(backend, extra).await?;
    let server = lab.server().sip_addr();
    let resp = sip_udp_exchange("127.0.0.1:0", &server, &register("erin", ""))?;
    assert!(
        status_line(&resp)
            .starts_with("SIP/2.0 403 Forbidden (REGISTER accepted only from the IMS core)"),
        "{resp}"
    );
    let resp = sip_udp_exchange("127.0.0.2:0", &server, &register("erin", ""))?;
    assert_eq!(status_line(&resp), "SIP/2.0 200 OK", "{resp}");
    let mut ctl = lab.control().await?;
    let regs = ctl
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].via, "third_party");
    Ok(())
}

/// Issue 9 (item 9 of issue 13): a REGISTER with several Contacts is refused 403 "one Contact
/// per registration", whether they come as a list in one header or as several headers, and the
/// binding stored before stays as it was (no Contact of the refused request is stored).
async fn register_with_several_contacts_is_refused(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let server = lab.server().sip_addr();
    let from = "127.0.0.1:0";
    let ok = sip_udp_exchange(from, &server, &register("carol", ""))?;
    assert_eq!(status_line(&ok), "SIP/2.0 200 OK", "{ok}");
    let list = register("carol", "").replace(
        "Contact: <sip:carol@{local}>",
        "Contact: <sip:carol@127.0.0.9:5060>, <sip:carol@127.0.0.8:5060>",
    );
    let headers = register("carol", "").replace(
        "Contact: <sip:carol@{local}>",
        "Contact: <sip:carol@127.0.0.9:5060>\r\nContact: <sip:carol@127.0.0.8:5060>",
    );
    for two in [list, headers] {
        let resp = sip_udp_exchange(from, &server, &two)?;
        assert_eq!(
            status_line(&resp),
            "SIP/2.0 403 Forbidden (one Contact per registration)",
            "{two}\n-> {resp}"
        );
    }
    let regs = lab
        .control()
        .await?
        .list_registrations(ppb::Empty {})
        .await?
        .into_inner()
        .registrations;
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert!(
        regs[0].contact.starts_with("sip:carol@127.0.0.1:"),
        "{regs:?}"
    );
    Ok(())
}

on_both_backends! {
    bad_requests_get_their_sip_errors_and_the_store_survives => bad_requests_get_their_sip_errors;
    register_with_several_contacts_is_refused_and_nothing_stored => register_with_several_contacts_is_refused;
    third_party_register_only_from_the_trusted_core => third_party_register_only_from_trusted_core;
}
