//! Our own transport under rsipstack's transaction layer (issue 9 §3, issue 13 §4, §8, §9).
//!
//! rsipstack's UDP loop reads 8 KiB per datagram, its TCP listener neither sets `TCP_NODELAY`
//! nor caps connections nor backs off when `accept` fails, and its stream loop drops the whole
//! connection on the first message it cannot parse. So the sockets are ours: [`udp`] and [`tcp`]
//! read and frame the bytes ([`crate::framing`]) and hand each parsed message to the endpoint as
//! a `TransportEvent::Incoming` carrying an rsipstack `UdpConnection` / `TcpConnection` over the
//! same socket, on which the transaction layer writes its answers. The events reach the
//! endpoint through one rsipstack `ChannelConnection` (the only way in from outside the crate);
//! requests we send name their connection explicitly ([`crate::node::SipNode::send`]), so
//! rsipstack's own connection lookup and listeners are never used.

pub mod tcp;
pub mod throttle;
pub mod udp;

/// Reason phrase of the 400 for a message that is framed but does not parse.
pub const MALFORMED: &str = "Malformed message";

/// Longest header value that may still grow by folding: past it rsipstack's parser logs a
/// warning for every further continuation line (issue 13 §5: 20 messages of 65 kB gave 282,720
/// lines), so such a message is refused before it reaches the parser.
pub const MAX_FOLDED_VALUE_BYTES: usize = 4096;

/// Parse one framed message from `src` and add `received`/`rport` to its top Via (RFC 3261
/// §18.2.1, RFC 3581); the reason of a 400 when it cannot be used.
pub fn parse(
    bytes: &[u8],
    src: std::net::SocketAddr,
    transport: rsipstack::sip::Transport,
) -> Result<rsipstack::sip::SipMessage, &'static str> {
    if folds_past_limit(head_of(bytes)) {
        return Err("Folded header value too long");
    }
    let msg = rsipstack::sip::SipMessage::try_from(bytes).map_err(|_| MALFORMED)?;
    rsipstack::transport::SipConnection::update_msg_received(msg, src, transport)
        .map_err(|_| "Bad Via header")
}

/// Whether a continuation line (RFC 3261 §7.3.1) extends a header value already longer than
/// [`MAX_FOLDED_VALUE_BYTES`].
fn folds_past_limit(head: &[u8]) -> bool {
    let mut value_len = 0usize;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if value_len > MAX_FOLDED_VALUE_BYTES {
                return true;
            }
            value_len += 1 + line.trim_ascii().len();
        } else {
            value_len = line.len();
        }
    }
    false
}

/// The header section of a message (up to and including the empty line), or all of it.
pub fn head_of(bytes: &[u8]) -> &[u8] {
    match memchr::memmem::find(bytes, b"\r\n\r\n") {
        Some(end) => &bytes[..end + 4],
        None => bytes,
    }
}

#[cfg(test)]
mod tests {
    use rsipstack::sip::SipMessage;

    #[test]
    fn the_parser_refuses_a_bad_request_uri_and_we_can_answer_it() {
        let msg = "OPTIONS sip:x@h:65536 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKbad\r\nFrom: <sip:a@lab>;tag=1\r\nTo: <sip:x@lab>\r\nCall-ID: bad\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        assert!(SipMessage::try_from(msg.as_bytes()).is_err());
        let head = super::head_of(msg.as_bytes());
        assert!(crate::build::raw_response(head, 400, super::MALFORMED).is_some());
    }

    #[test]
    fn long_folded_values_are_refused_before_the_parser() {
        let src = "127.0.0.1:9".parse().unwrap();
        let mut msg = String::from(
            "OPTIONS sip:x@lab SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\nSubject: a\r\n",
        );
        for _ in 0..100 {
            msg.push_str(" continued continued continued continued continued continued\r\n");
        }
        msg.push_str("Content-Length: 0\r\n\r\n");
        assert_eq!(
            super::parse(msg.as_bytes(), src, rsipstack::sip::Transport::Udp).err(),
            Some("Folded header value too long")
        );
        let short = "OPTIONS sip:x@lab SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\nSubject: a\r\n b\r\nContent-Length: 0\r\n\r\n";
        assert!(super::parse(short.as_bytes(), src, rsipstack::sip::Transport::Udp).is_ok());
    }
}
