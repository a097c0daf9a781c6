//! presence-server against hostile users (issue 13 items 1, 6, 7): nobody publishes for another
//! user, every state a user can grow has a bound with a clear refusal, and a NOTIFY too large for
//! UDP goes over TCP (RFC 3261 §18.1.1). Raw SIP over loopback sockets; the server is the real
//! binary, on SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use corelab_tests::{Backend, Lab, ok_for, on_both_backends};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn next() -> u32 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// A SIP user agent on one UDP socket: sends requests, returns the first final response.
struct Ua {
    socket: UdpSocket,
    server: String,
}

impl Ua {
    fn bind(ip: &str, server: &str) -> anyhow::Result<Ua> {
        let socket = UdpSocket::bind((ip, 0))?;
        socket.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Ua {
            socket,
            server: server.to_string(),
        })
    }

    fn local(&self) -> String {
        self.socket
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// Send `request` (`{local}` replaced) and return the status line and the whole response;
    /// requests that arrive meanwhile (NOTIFYs) are answered 200.
    fn exchange(&self, request: &str) -> anyhow::Result<(u16, String)> {
        let request = request.replace("{local}", &self.local());
        self.socket.send_to(request.as_bytes(), &self.server)?;
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, from) = self.socket.recv_from(&mut buf)?;
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if !text.starts_with("SIP/2.0 ") {
                self.socket.send_to(ok_for(&text).as_bytes(), from)?;
                continue;
            }
            let code: u16 = text[8..11].parse()?;
            if code >= 200 {
                return Ok((code, text));
            }
        }
    }
}

fn register(user: &str, contact: &str, expires: u32) -> String {
    let n = next();
    format!(
        "REGISTER sip:lab.example SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bKr{n}\r\nFrom: <sip:{user}>;tag=f{n}\r\nTo: <sip:{user}>\r\nCall-ID: reg-{n}\r\nCSeq: 1 REGISTER\r\nContact: <{contact}>\r\nExpires: {expires}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn subscribe(watcher: &str, resource: &str) -> String {
    let n = next();
    format!(
        "SUBSCRIBE sip:{resource} SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bKs{n}\r\nFrom: <sip:{watcher}>;tag=f{n}\r\nTo: <sip:{resource}>\r\nCall-ID: sub-{n}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nExpires: 600\r\nContact: <sip:w@{{local}}>\r\nContent-Length: 0\r\n\r\n"
    )
}

fn pidf(entity: &str, tuples: usize, note: &str) -> String {
    let mut doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:{entity}\">"
    );
    for i in 0..tuples {
        doc.push_str(&format!(
            "<tuple id=\"t{i}\"><status><basic>open</basic></status><note>{note}</note></tuple>"
        ));
    }
    doc.push_str("</presence>");
    doc
}

fn publish(from: &str, to: &str, body: &str) -> String {
    let n = next();
    format!(
        "PUBLISH sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {{local}};branch=z9hG4bKp{n}\r\nFrom: <sip:{from}>;tag=f{n}\r\nTo: <sip:{to}>\r\nCall-ID: pub-{n}\r\nCSeq: 1 PUBLISH\r\nEvent: presence\r\nExpires: 600\r\nContent-Type: application/pidf+xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const BOB: &str = "bob@lab.example";

/// Item 1: a PUBLISH for bob is accepted only from bob, registered, from where bob registered.
async fn nobody_publishes_for_another_user(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let server = lab.server().sip_addr();
    let bob = Ua::bind("127.0.0.1", &server)?;
    let stranger = Ua::bind("127.0.0.2", &server)?;
    let doc = pidf(BOB, 1, "here");

    // Not registered yet: refused, whoever sends it.
    let (code, resp) = bob.exchange(&publish(BOB, BOB, &doc))?;
    assert_eq!(code, 403, "{resp}");
    let contact = format!("sip:bob@{}", bob.local());
    assert_eq!(bob.exchange(&register(BOB, &contact, 600))?.0, 200);
    // From = To = bob, but sent from another address than bob registered: refused.
    let (code, resp) = stranger.exchange(&publish(BOB, BOB, &doc))?;
    assert_eq!(code, 403, "{resp}");
    assert!(resp.contains("registered contact"), "{resp}");
    // Another user publishing bob's presence: refused.
    let (code, _) = stranger.exchange(&publish("eve@lab.example", BOB, &doc))?;
    assert_eq!(code, 403);
    // bob himself: accepted.
    let (code, resp) = bob.exchange(&publish(BOB, BOB, &doc))?;
    assert_eq!(code, 200, "{resp}");
    Ok(())
}

/// Items 6 and 7: publications, their size and tuples, subscriptions per watcher and per
/// resource, and registrations are bounded, each refused with its status.
async fn every_user_state_is_bounded(backend: Backend) -> anyhow::Result<()> {
    let extra = "max_per_watcher = 2\nmax_per_resource = 3\n\
                 [publish]\nmax_document_bytes = 2000\nmax_tuples = 4\nmax_per_presentity = 2\n\
                 [registrar]\nmax_registrations = 6\n";
    let lab = Lab::start(backend, extra).await?;
    let server = lab.server().sip_addr();
    let bob = Ua::bind("127.0.0.1", &server)?;
    let contact = format!("sip:bob@{}", bob.local());
    assert_eq!(bob.exchange(&register(BOB, &contact, 600))?.0, 200);

    // Publications: two accepted, the third refused; a document too large or with too many
    // tuples refused before it is stored.
    for _ in 0..2 {
        assert_eq!(bob.exchange(&publish(BOB, BOB, &pidf(BOB, 1, "x")))?.0, 200);
    }
    let (code, resp) = bob.exchange(&publish(BOB, BOB, &pidf(BOB, 1, "x")))?;
    assert_eq!(code, 403, "{resp}");
    let (code, resp) = bob.exchange(&publish(BOB, BOB, &pidf(BOB, 1, &"n".repeat(2500))))?;
    assert_eq!(code, 413, "{resp}");
    let (code, resp) = bob.exchange(&publish(BOB, BOB, &pidf(BOB, 5, "x")))?;
    assert_eq!(code, 413, "{resp}");

    // Subscriptions: a watcher may hold two; a resource may have three watchers.
    let alice = Ua::bind("127.0.0.1", &server)?;
    let a = "alice@lab.example";
    assert_eq!(
        alice
            .exchange(&register(a, &format!("sip:alice@{}", alice.local()), 600))?
            .0,
        200
    );
    assert_eq!(alice.exchange(&subscribe(a, BOB))?.0, 200);
    assert_eq!(alice.exchange(&subscribe(a, BOB))?.0, 200);
    let (code, resp) = alice.exchange(&subscribe(a, BOB))?;
    assert_eq!(code, 403, "{resp}");
    for user in ["carol", "dave"] {
        let ua = Ua::bind("127.0.0.1", &server)?;
        let aor = format!("{user}@lab.example");
        assert_eq!(
            ua.exchange(&register(&aor, &format!("sip:{user}@{}", ua.local()), 600))?
                .0,
            200
        );
        let (code, resp) = ua.exchange(&subscribe(&aor, BOB))?;
        let expected = if user == "carol" { 200 } else { 403 };
        assert_eq!(code, expected, "{user}: {resp}");
    }

    // Registrations: only users of our domain; at most six (bob, alice, carol, dave, two more).
    let other = Ua::bind("127.0.0.1", &server)?;
    let (code, resp) =
        other.exchange(&register("x@elsewhere.example", "sip:x@127.0.0.1:9", 600))?;
    assert_eq!(code, 403, "{resp}");
    for user in ["u1", "u2"] {
        let aor = format!("{user}@lab.example");
        assert_eq!(
            other.exchange(&register(&aor, "sip:u@127.0.0.1:9", 600))?.0,
            200
        );
    }
    let (code, resp) = other.exchange(&register("u3@lab.example", "sip:u@127.0.0.1:9", 600))?;
    assert_eq!(code, 503, "{resp}");
    assert!(resp.contains("Retry-After:"), "{resp}");
    // A refresh of a stored registration is not a new one.
    assert_eq!(
        other
            .exchange(&register("u1@lab.example", "sip:u@127.0.0.1:9", 600))?
            .0,
        200
    );
    Ok(())
}

/// Item 1, third link: a NOTIFY larger than 1300 bytes to a watcher that subscribed over UDP
/// goes over TCP (RFC 3261 §18.1.1), to the same host and port.
async fn a_large_notify_goes_over_tcp(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let server = lab.server().sip_addr();
    let bob = Ua::bind("127.0.0.1", &server)?;
    let contact = format!("sip:bob@{}", bob.local());
    assert_eq!(bob.exchange(&register(BOB, &contact, 600))?.0, 200);
    assert_eq!(
        bob.exchange(&publish(BOB, BOB, &pidf(BOB, 1, &"n".repeat(1500))))?
            .0,
        200
    );

    // alice listens on UDP and TCP on one port.
    let tcp = TcpListener::bind("127.0.0.1:0")?;
    let port = tcp.local_addr()?.port();
    let alice = Ua {
        socket: UdpSocket::bind(("127.0.0.1", port))?,
        server: server.clone(),
    };
    alice
        .socket
        .set_read_timeout(Some(Duration::from_secs(5)))?;
    let a = "alice@lab.example";
    assert_eq!(
        alice
            .exchange(&register(a, &format!("sip:alice@127.0.0.1:{port}"), 600))?
            .0,
        200
    );
    let (code, resp) = alice.exchange(&subscribe(a, BOB))?;
    assert_eq!(code, 200, "{resp}");

    tcp.set_nonblocking(false)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = (|| -> anyhow::Result<String> {
            let (mut stream, _) = tcp.accept()?;
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).contains("</presence>") {
                let n = stream.read(&mut buf)?;
                anyhow::ensure!(n > 0, "connection closed");
                got.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&got).to_string();
            stream.write_all(ok_for(&text).as_bytes())?;
            Ok(text)
        })();
        let _ = tx.send(result);
    });
    let notify = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| anyhow::anyhow!("no NOTIFY over TCP within 10 s"))??;
    assert!(notify.starts_with("NOTIFY "), "{notify}");
    assert!(notify.contains("SIP/2.0/TCP"), "Via names TCP: {notify}");
    assert!(notify.len() > 1300);
    Ok(())
}

on_both_backends! {
    nobody_publishes_for_another_user_and_not_unregistered => nobody_publishes_for_another_user;
    publications_subscriptions_and_registrations_are_bounded => every_user_state_is_bounded;
    a_notify_over_1300_bytes_goes_over_tcp => a_large_notify_goes_over_tcp;
}
