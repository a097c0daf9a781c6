//! Requests of one dialog, and of one TCP connection, are handled in arrival order; past the
//! serve loop's bounds a request gets 503 with Retry-After (issue 13 item 12,
//! `crates/sip/src/serve.rs`). Raw SIP from the test over UDP and TCP to a real presence-server.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use corelab_tests::{Backend, Lab, ok_for, on_both_backends};

const LIMIT: Duration = Duration::from_secs(60);

fn register(user: &str, transport: &str, local: &str, call_id: &str, cseq: u32) -> String {
    let contact = match transport {
        "TCP" => format!("sip:{user}@{local};transport=tcp"),
        _ => format!("sip:{user}@{local}"),
    };
    format!(
        "REGISTER sip:lab.example SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKr{call_id}{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@lab.example>;tag=rf{user}\r\nTo: <sip:{user}@lab.example>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <{contact}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
    )
}

/// A SUBSCRIBE from `user` to bob's presence in dialog `call_id`; `to_tag` empty for the first.
fn subscribe(
    user: &str,
    transport: &str,
    local: &str,
    call_id: &str,
    cseq: u32,
    to_tag: &str,
) -> String {
    let contact = match transport {
        "TCP" => format!("sip:{user}@{local};transport=tcp"),
        _ => format!("sip:{user}@{local}"),
    };
    let to_tag = match to_tag {
        "" => String::new(),
        t => format!(";tag={t}"),
    };
    format!(
        "SUBSCRIBE sip:bob@lab.example SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKs{call_id}{cseq}\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@lab.example>;tag=sf{user}\r\nTo: <sip:bob@lab.example>{to_tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} SUBSCRIBE\r\nContact: <{contact}>\r\nEvent: presence\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
    )
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn cseq(msg: &str) -> (u32, String) {
    let v = header(msg, "CSeq").unwrap_or("0 ?");
    let (n, m) = v.split_once(' ').unwrap_or(("0", "?"));
    (n.parse().unwrap_or(0), m.trim().to_string())
}

fn status(msg: &str) -> u16 {
    msg.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Receive on `socket` until `done(responses)` holds or [`LIMIT`] passes; requests from the
/// server are answered 200. Responses are kept by (CSeq number, method), the last one wins.
fn collect_udp(
    socket: &UdpSocket,
    responses: &mut BTreeMap<(u32, String), String>,
    done: impl Fn(&BTreeMap<(u32, String), String>) -> bool,
) -> anyhow::Result<()> {
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let started = Instant::now();
    let mut buf = vec![0u8; 65535];
    while !done(responses) {
        anyhow::ensure!(
            started.elapsed() < LIMIT,
            "gave up waiting; got {} responses",
            responses.len()
        );
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        if text.starts_with("SIP/2.0 ") {
            if status(&text) >= 200 {
                responses.insert(cseq(&text), text);
            }
        } else {
            socket.send_to(ok_for(&text).as_bytes(), from)?;
        }
    }
    Ok(())
}

/// 200 refreshes of one subscription dialog, sent back-to-back over UDP without waiting for
/// answers, in CSeq order: every one is answered 200, none "500 CSeq out of order".
async fn in_order_refreshes_over_udp(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let server = lab.server().sip_addr();
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let local = socket.local_addr()?.to_string();
    let mut responses = BTreeMap::new();

    socket.send_to(
        register("carol", "UDP", &local, "reg-carol", 1).as_bytes(),
        &server,
    )?;
    collect_udp(&socket, &mut responses, |r| {
        r.contains_key(&(1, "REGISTER".into()))
    })?;
    assert_eq!(status(&responses[&(1, "REGISTER".into())]), 200);

    let call_id = "order-udp";
    socket.send_to(
        subscribe("carol", "UDP", &local, call_id, 1, "").as_bytes(),
        &server,
    )?;
    collect_udp(&socket, &mut responses, |r| {
        r.contains_key(&(1, "SUBSCRIBE".into()))
    })?;
    let first = &responses[&(1, "SUBSCRIBE".into())];
    assert_eq!(status(first), 200, "{first}");
    let to_tag = header(first, "To")
        .and_then(|to| to.split(";tag=").nth(1))
        .map(|t| t.split(';').next().unwrap_or(t).to_string())
        .ok_or_else(|| anyhow::anyhow!("no To tag in {first}"))?;

    const REFRESHES: u32 = 200;
    let sender = socket.try_clone()?;
    let (to, server_addr) = (to_tag.clone(), server.clone());
    let send = std::thread::spawn(move || -> std::io::Result<()> {
        for n in 2..2 + REFRESHES {
            let req = subscribe("carol", "UDP", &local, call_id, n, &to);
            sender.send_to(req.as_bytes(), &server_addr)?;
        }
        Ok(())
    });
    collect_udp(&socket, &mut responses, |r| {
        (2..2 + REFRESHES).all(|n| r.contains_key(&(n, "SUBSCRIBE".into())))
    })?;
    send.join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    let not_ok: Vec<String> = (2..2 + REFRESHES)
        .map(|n| &responses[&(n, "SUBSCRIBE".into())])
        .filter(|r| status(r) != 200)
        .map(|r| format!("CSeq {}: {}", cseq(r).0, r.lines().next().unwrap_or("")))
        .collect();
    assert!(not_ok.is_empty(), "refreshes not answered 200: {not_ok:#?}");
    Ok(())
}

/// Read SIP messages framed by Content-Length from a TCP stream (RFC 3261 §18.3).
struct Framer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Framer {
    fn next(&mut self) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end + 4]).to_string();
                let len: usize = header(&head, "Content-Length")
                    .or_else(|| header(&head, "l"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + len {
                    let msg: Vec<u8> = self.buf.drain(..end + 4 + len).collect();
                    return Ok(String::from_utf8_lossy(&msg).to_string());
                }
            }
            anyhow::ensure!(
                started.elapsed() < LIMIT,
                "no complete message on the stream"
            );
            let mut chunk = [0u8; 16384];
            match self.stream.read(&mut chunk) {
                Ok(0) => anyhow::bail!("connection closed"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next `count` final responses in the order they came; requests are answered 200.
    fn responses(&mut self, count: usize) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        while out.len() < count {
            let msg = self.next()?;
            if msg.starts_with("SIP/2.0 ") {
                if status(&msg) >= 200 {
                    out.push(msg);
                }
            } else {
                self.stream.write_all(ok_for(&msg).as_bytes())?;
            }
        }
        Ok(out)
    }
}

fn connect(server: &str) -> anyhow::Result<(Framer, String)> {
    let stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let local = stream.local_addr()?.to_string();
    Ok((
        Framer {
            stream,
            buf: Vec::new(),
        },
        local,
    ))
}

/// A REGISTER and a SUBSCRIBE that needs it, written in one TCP write: the REGISTER is handled
/// first, so both get 200, in that order (before: the SUBSCRIBE often overtook it, 403 "not
/// registered"). Ten such pairs, for ten users, in the one write: twenty answers in write order.
async fn register_then_subscribe_in_one_tcp_write(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "").await?;
    let (mut framer, local) = connect(&lab.server().sip_addr())?;
    let users: Vec<String> = (0..10).map(|i| format!("dave{i}")).collect();
    let mut write = String::new();
    let mut expected = Vec::new();
    for user in &users {
        write.push_str(&register(user, "TCP", &local, &format!("reg-{user}"), 1));
        write.push_str(&subscribe(
            user,
            "TCP",
            &local,
            &format!("sub-{user}"),
            1,
            "",
        ));
        expected.push((format!("reg-{user}"), "REGISTER".to_string(), 200));
        expected.push((format!("sub-{user}"), "SUBSCRIBE".to_string(), 200));
    }
    framer.stream.write_all(write.as_bytes())?;
    let answers = framer.responses(expected.len())?;
    let got: Vec<(String, String, u16)> = answers
        .iter()
        .map(|r| {
            let call_id = header(r, "Call-ID").unwrap_or("").to_string();
            (call_id, cseq(r).1, status(r))
        })
        .collect();
    assert_eq!(got, expected, "{answers:#?}");
    Ok(())
}

/// One client floods one dialog over one TCP connection past `[serve] max_per_key`: what is over
/// the bound gets 503 with Retry-After, the rest 200, every request an answer, and the refusals
/// are counted. (Each REGISTER commits to the store, so 100 parsed from one write arrive far
/// faster than they are handled.)
async fn flood_past_the_bound_gets_503(backend: Backend) -> anyhow::Result<()> {
    let lab = Lab::start(backend, "[serve]\nmax_per_key = 4\nretry_after_s = 7\n").await?;
    let (mut framer, local) = connect(&lab.server().sip_addr())?;
    const FLOOD: u32 = 100;
    let flood: String = (1..=FLOOD)
        .map(|n| register("erin", "TCP", &local, "reg-erin", n))
        .collect();
    framer.stream.write_all(flood.as_bytes())?;
    let answers = framer.responses(FLOOD as usize)?;
    let refused: Vec<&String> = answers.iter().filter(|r| status(r) == 503).collect();
    assert!(
        !refused.is_empty(),
        "no 503 in {FLOOD} REGISTERs past a bound of 4"
    );
    for r in &refused {
        assert_eq!(header(r, "Retry-After"), Some("7"), "{r}");
    }
    let others: Vec<u16> = answers
        .iter()
        .map(|r| status(r))
        .filter(|s| *s != 503)
        .collect();
    assert!(others.iter().all(|s| *s == 200), "{others:?}");

    let metrics = corelab_tests::http::get_blocking(&lab.server().admin_url("/metrics"))?.body;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("corelab_sip_requests_refused_total{limit=\"per_key\"}"))
        .ok_or_else(|| anyhow::anyhow!("no refusal counter in /metrics:\n{metrics}"))?;
    let counted: f64 = line.rsplit(' ').next().unwrap_or("0").parse()?;
    assert_eq!(counted, refused.len() as f64, "{line}");
    Ok(())
}

on_both_backends! {
    two_hundred_in_order_refreshes_over_udp_all_get_200 => in_order_refreshes_over_udp;
    register_and_subscribe_in_one_tcp_write_are_answered_200_200_in_order => register_then_subscribe_in_one_tcp_write;
    a_flood_of_one_dialog_past_max_per_key_gets_503_with_retry_after => flood_past_the_bound_gets_503;
}
