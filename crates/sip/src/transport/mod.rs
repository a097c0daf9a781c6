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
}
