//! SIP on the wire tap (crates/wire-tap): what our sockets read (every framed message, before
//! validation, so refused ones are seen too) and what the endpoint sends (through rsipstack's
//! `MessageInspector::before_send`), plus the 400s our sockets answer by themselves.
//!
//! Addresses: the remote one is exact for what we read and for requests we send; for a response
//! rsipstack does not say where it goes, so it is taken from the top Via (`received`/`rport`,
//! else its sent-by; RFC 3261 §18.2.2). The local one is the node's SIP address (for TCP the
//! listening port, not a connection's ephemeral one).

use std::net::SocketAddr;
use std::time::SystemTime;

use corelab_wire_tap::{Direction, Ids, Protocol, Transport, WireEvent};
use rsipstack::sip::SipMessage;
use rsipstack::transaction::endpoint::MessageInspector;
use rsipstack::transport::SipAddr;

/// Publish one message seen on a socket.
pub(crate) fn on_wire(
    direction: Direction,
    transport: Transport,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    bytes: &[u8],
) {
    corelab_wire_tap::emit(|| WireEvent {
        at: SystemTime::now(),
        direction,
        transport,
        protocol: Protocol::Sip,
        local: Some(local),
        remote,
        summary: first_line(bytes),
        bytes: bytes.to_vec(),
        ids: Ids {
            call_id: header(bytes, &["call-id", "i"]),
            ..Ids::default()
        },
    });
}

/// The endpoint's outgoing messages, on the tap.
pub(crate) struct Inspector {
    pub(crate) local: SocketAddr,
}

impl MessageInspector for Inspector {
    fn before_send(&self, msg: SipMessage, dest: Option<&SipAddr>) -> SipMessage {
        if corelab_wire_tap::active() {
            let bytes = msg.to_string().into_bytes();
            let (transport, remote) = match dest {
                Some(d) => (
                    transport_of(d.r#type.map(|t| t.to_string())),
                    d.get_socketaddr().ok(),
                ),
                None => match via_target(&bytes) {
                    Some((t, addr)) => (transport_of(Some(t)), addr),
                    None => (Transport::Udp, None),
                },
            };
            on_wire(Direction::Sent, transport, self.local, remote, &bytes);
        }
        msg
    }

    fn after_received(&self, msg: SipMessage, _from: Option<&SipAddr>) -> SipMessage {
        // Tapped where our sockets read it (transport::udp, transport::tcp).
        msg
    }
}

fn transport_of(name: Option<String>) -> Transport {
    match name.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("TCP") => Transport::Tcp,
        Some("TLS") => Transport::Tls,
        _ => Transport::Udp,
    }
}

/// The request or status line.
fn first_line(bytes: &[u8]) -> String {
    let end = memchr::memchr(b'\r', bytes)
        .or_else(|| memchr::memchr(b'\n', bytes))
        .unwrap_or(bytes.len().min(200));
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The header lines of a message, up to the blank line.
fn header_lines(bytes: &[u8]) -> impl Iterator<Item = &str> {
    let head = memchr::memmem::find(bytes, b"\r\n\r\n").map_or(bytes, |i| &bytes[..i]);
    std::str::from_utf8(head)
        .unwrap_or("")
        .split("\r\n")
        .skip(1)
}

/// The value of the first header named one of `names` (lower case; compact forms included).
fn header(bytes: &[u8], names: &[&str]) -> Option<String> {
    header_lines(bytes).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        names
            .contains(&name.trim().to_ascii_lowercase().as_str())
            .then(|| value.trim().to_string())
    })
}

/// Where a response goes by its top Via: transport, and `received`/`rport` or the sent-by.
fn via_target(bytes: &[u8]) -> Option<(String, Option<SocketAddr>)> {
    let via = header(bytes, &["via", "v"])?;
    let via = via.split(',').next()?.trim();
    let (protocol, rest) = via.split_once(char::is_whitespace)?;
    let transport = protocol.rsplit('/').next()?.to_string();
    let mut params = rest.split(';');
    let sent_by = params.next()?.trim();
    let (mut host, mut port) = match sent_by.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || sent_by.starts_with('[') => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse().unwrap_or(5060),
        ),
        _ => (sent_by.trim_matches(['[', ']']).to_string(), 5060),
    };
    for p in params {
        match p.trim().split_once('=') {
            Some(("received", v)) => host = v.to_string(),
            Some(("rport", v)) => port = v.parse().unwrap_or(port),
            _ => {}
        }
    }
    let addr = host.parse().ok().map(|ip| SocketAddr::new(ip, port));
    Some((transport, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP host.example:5070;branch=z9hG4bK1;received=10.0.0.7;rport=40001, SIP/2.0/UDP p:5060\r\ni: abc@x\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn summary_call_id_and_where_a_response_goes() {
        assert_eq!(first_line(RESPONSE), "SIP/2.0 200 OK");
        assert_eq!(
            header(RESPONSE, &["call-id", "i"]).as_deref(),
            Some("abc@x")
        );
        let (t, addr) = via_target(RESPONSE).unwrap();
        assert_eq!(t, "TCP");
        assert_eq!(addr, Some("10.0.0.7:40001".parse().unwrap()));
        let plain = b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9\r\n\r\n";
        assert_eq!(
            via_target(plain).unwrap().1,
            Some("127.0.0.1:5099".parse().unwrap())
        );
        let no_port = b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9\r\n\r\n";
        assert_eq!(
            via_target(no_port).unwrap().1,
            Some("127.0.0.1:5060".parse().unwrap())
        );
    }
}
