//! Raw SIP over UDP and TCP sockets, for tests that check the bytes a node puts on the wire.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// One SIP message read off a stream: header section plus `Content-Length` body.
pub struct Tcp {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Tcp {
    pub fn connect(addr: &str) -> anyhow::Result<Tcp> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Tcp {
            stream,
            buf: Vec::new(),
        })
    }

    /// An accepted connection (a test playing a server).
    pub fn from_stream(stream: TcpStream) -> anyhow::Result<Tcp> {
        stream.set_nodelay(true)?;
        Ok(Tcp {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn local(&self) -> String {
        self.stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    pub fn send(&mut self, text: &str) -> anyhow::Result<()> {
        self.stream.write_all(text.as_bytes())?;
        Ok(())
    }

    /// The next whole message, `Ok(None)` when the peer closed the connection first.
    pub fn message(&mut self, timeout: Duration) -> anyhow::Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let length = header(&head, "Content-Length")
                    .or_else(|| header(&head, "l"))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let total = end + 4 + length;
                if self.buf.len() >= total {
                    let msg: Vec<u8> = self.buf.drain(..total).collect();
                    return Ok(Some(String::from_utf8_lossy(&msg).to_string()));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            anyhow::ensure!(!left.is_zero(), "no whole SIP message within {timeout:?}");
            self.stream.set_read_timeout(Some(left))?;
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the peer has closed the connection (waits up to `timeout` for the close).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(timeout));
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        }
    }
}

/// A UDP socket that sends requests and reads whatever comes back.
pub struct Udp {
    pub socket: UdpSocket,
}

impl Udp {
    pub fn bind() -> anyhow::Result<Udp> {
        Ok(Udp {
            socket: UdpSocket::bind("127.0.0.1:0")?,
        })
    }

    pub fn local(&self) -> String {
        self.socket
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    pub fn send(&self, to: &str, text: &[u8]) -> anyhow::Result<()> {
        self.socket.send_to(text, to)?;
        Ok(())
    }

    /// The next datagram as text, skipping provisional responses.
    pub fn message(&self, timeout: Duration) -> anyhow::Result<String> {
        self.socket.set_read_timeout(Some(timeout))?;
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf)?;
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if !text.starts_with("SIP/2.0 1") {
                return Ok(text);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first value of header `name` (case-insensitive), trimmed.
pub fn header(msg: &str, name: &str) -> Option<String> {
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

pub fn status_line(msg: &str) -> &str {
    msg.split("\r\n").next().unwrap_or("")
}

/// A request from `user` at `local` over `transport` ("UDP"/"TCP"), with a fresh branch.
pub fn request(
    method: &str,
    uri: &str,
    user: &str,
    local: &str,
    transport: &str,
    extra: &str,
    body: &str,
) -> String {
    let from = format!("sip:{user}@lab.example");
    request_as(method, uri, &from, local, transport, extra, body)
}

/// [`request`] from the public identity `from` (`sip:alice@a.lab`).
pub fn request_as(
    method: &str,
    uri: &str,
    from: &str,
    local: &str,
    transport: &str,
    extra: &str,
    body: &str,
) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let user = from
        .trim_start_matches("sip:")
        .split('@')
        .next()
        .unwrap_or("ue");
    let to = match method {
        "REGISTER" => from.to_string(),
        _ => uri.to_string(),
    };
    let contact = match transport {
        "TCP" => format!("<sip:{user}@{local};transport=tcp>"),
        _ => format!("<sip:{user}@{local}>"),
    };
    format!(
        "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bKraw{n}x{}\r\nMax-Forwards: 70\r\nFrom: <{from}>;tag=f{n}\r\nTo: <{to}>\r\nCall-ID: raw-{n}-{}@{local}\r\nCSeq: 1 {method}\r\nContact: {contact}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        std::process::id(),
        std::process::id(),
        body.len()
    )
}
