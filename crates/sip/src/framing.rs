//! Where a SIP message starts and ends on the wire (RFC 3261 §7.5, §18.3), free of IO.
//!
//! - Over a stream (TCP) the header section ends at the first empty line and the body is exactly
//!   `Content-Length` bytes: [`StreamFramer`] cuts a byte stream into whole messages. A message it
//!   can frame but that does not parse is still a message (answerable with 400); only a header
//!   section without an end in sight or an unreadable `Content-Length` loses the framing.
//! - Over UDP a datagram is one message: [`datagram`] applies `Content-Length` to it — bytes past
//!   the body are dropped, and a body shorter than `Content-Length` is an error (a request gets
//!   400, a response is discarded).
//! - CRLF keep-alives (RFC 5626 §3.5.1): a double CRLF ("ping") is answered with a single CRLF
//!   ("pong"); CRLFs between messages are skipped (RFC 3261 §7.5).

use memchr::memmem;

/// Largest message we frame over a stream, headers and body (the same bound as a UDP datagram).
pub const MAX_MESSAGE_BYTES: usize = 65_535;

/// A whole datagram: the largest UDP payload over IPv4 is 65,507 bytes.
pub const MAX_DATAGRAM_BYTES: usize = 65_535;

/// What the framer found next on a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One whole message: its header section and `Content-Length` bytes of body.
    Message(Vec<u8>),
    /// A double-CRLF keep-alive ping: answer with a single CRLF.
    Ping,
    /// The stream can no longer be cut into messages. `head` is the header section when there is
    /// one to address a 400 to.
    Lost {
        reason: String,
        head: Option<Vec<u8>>,
    },
}

/// Cuts a byte stream into SIP messages.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    lost: bool,
}

impl StreamFramer {
    pub fn new() -> StreamFramer {
        StreamFramer::default()
    }

    /// Bytes just read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if !self.lost {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Whether part of a message is waiting for the rest (anything but CRLFs buffered).
    pub fn is_mid_message(&self) -> bool {
        self.buf.iter().any(|&b| b != b'\r' && b != b'\n')
    }

    /// The next frame, or `None` until more bytes arrive. After [`Frame::Lost`] always `None`.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.lost {
            return None;
        }
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.drain(..4);
                return Some(Frame::Ping);
            }
            // A lone CRLF (a pong, or a CRLF before a start line): skip it once we know it is
            // not the start of a ping.
            let lone_crlf = self.buf.starts_with(b"\r\n")
                && (self.buf.len() >= 4 || (self.buf.len() == 3 && self.buf[2] != b'\r'));
            if lone_crlf {
                self.buf.drain(..2);
                continue;
            }
            if self.buf.starts_with(b"\n") {
                self.buf.drain(..1);
                continue;
            }
            break;
        }
        let Some(end) = memmem::find(&self.buf, b"\r\n\r\n") else {
            if self.buf.len() > MAX_MESSAGE_BYTES {
                return Some(self.lose(
                    format!("header section longer than {MAX_MESSAGE_BYTES} bytes"),
                    None,
                ));
            }
            return None;
        };
        let head_len = end + 4;
        let length = match content_length(&self.buf[..head_len]) {
            Ok(n) => n.unwrap_or(0),
            Err(reason) => {
                let head = self.buf[..head_len].to_vec();
                return Some(self.lose(reason, Some(head)));
            }
        };
        let total = head_len.saturating_add(length);
        if total > MAX_MESSAGE_BYTES {
            let head = self.buf[..head_len].to_vec();
            return Some(self.lose(
                format!("message of {total} bytes exceeds {MAX_MESSAGE_BYTES}"),
                Some(head),
            ));
        }
        if self.buf.len() < total {
            return None;
        }
        let rest = self.buf.split_off(total);
        Some(Frame::Message(std::mem::replace(&mut self.buf, rest)))
    }

    fn lose(&mut self, reason: String, head: Option<Vec<u8>>) -> Frame {
        self.lost = true;
        self.buf = Vec::new();
        Frame::Lost { reason, head }
    }
}

/// What a datagram holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// A message cut to its `Content-Length`.
    Message(&'a [u8]),
    /// A double-CRLF ping: answer with a single CRLF.
    Ping,
    /// Only whitespace (a pong, or noise): ignore.
    Empty,
    /// A message whose `Content-Length` is unreadable or larger than its body.
    BadLength { reason: String, head: &'a [u8] },
}

/// Apply RFC 3261 §18.3 to one datagram.
pub fn datagram(packet: &[u8]) -> Datagram<'_> {
    if packet == b"\r\n\r\n" {
        return Datagram::Ping;
    }
    if packet.iter().all(|b| b.is_ascii_whitespace()) {
        return Datagram::Empty;
    }
    let Some(end) = memmem::find(packet, b"\r\n\r\n") else {
        // No empty line: the parser decides (it refuses a message without one).
        return Datagram::Message(packet);
    };
    let head = &packet[..end + 4];
    let body = packet.len() - head.len();
    match content_length(head) {
        Ok(None) => Datagram::Message(packet),
        Ok(Some(n)) if n <= body => Datagram::Message(&packet[..head.len() + n]),
        Ok(Some(n)) => Datagram::BadLength {
            reason: format!("Content-Length {n} exceeds the body's {body} bytes"),
            head,
        },
        Err(reason) => Datagram::BadLength { reason, head },
    }
}

/// The `Content-Length` (or compact `l`) of a header section: `Ok(None)` when absent; an error
/// when unreadable or given twice with different values.
pub fn content_length(head: &[u8]) -> Result<Option<usize>, String> {
    let mut found: Option<usize> = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = line[colon + 1..].trim_ascii();
        let n = std::str::from_utf8(value)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| "Bad Content-Length header".to_string())?;
        if found.is_some_and(|f| f != n) {
            return Err("Conflicting Content-Length headers".into());
        }
        found = Some(n);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(n: u32, body: &str) -> Vec<u8> {
        format!(
            "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{n}\r\nl: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn stream_cuts_back_to_back_messages_and_waits_for_the_rest() {
        let mut f = StreamFramer::new();
        let mut bytes = options(1, "");
        bytes.extend(options(2, "hello"));
        let (first, second) = bytes.split_at(bytes.len() - 3);
        f.push(first);
        assert_eq!(f.next_frame(), Some(Frame::Message(options(1, ""))));
        assert_eq!(f.next_frame(), None);
        assert!(f.is_mid_message());
        f.push(second);
        assert_eq!(f.next_frame(), Some(Frame::Message(options(2, "hello"))));
        assert_eq!(f.next_frame(), None);
        assert!(!f.is_mid_message());
    }

    #[test]
    fn stream_keepalives() {
        let mut f = StreamFramer::new();
        f.push(b"\r\n\r\n\r\n");
        assert_eq!(f.next_frame(), Some(Frame::Ping));
        assert_eq!(
            f.next_frame(),
            None,
            "a lone CRLF could still become a ping"
        );
        f.push(&options(3, ""));
        assert_eq!(f.next_frame(), Some(Frame::Message(options(3, ""))));
    }

    #[test]
    fn stream_loses_framing_only_on_length_or_endless_headers() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: ten\r\n\r\n");
        assert!(matches!(
            f.next_frame(),
            Some(Frame::Lost { head: Some(_), .. })
        ));
        f.push(&options(4, ""));
        assert_eq!(f.next_frame(), None);

        let mut f = StreamFramer::new();
        f.push(&vec![b'A'; MAX_MESSAGE_BYTES + 1]);
        assert!(matches!(
            f.next_frame(),
            Some(Frame::Lost { head: None, .. })
        ));

        // Garbage with a proper end is still a frame: the parser refuses it, we answer it.
        let mut f = StreamFramer::new();
        f.push(b"garbage\r\n\r\n");
        assert_eq!(
            f.next_frame(),
            Some(Frame::Message(b"garbage\r\n\r\n".to_vec()))
        );
    }

    #[test]
    fn datagram_applies_content_length() {
        let msg = options(5, "body");
        assert_eq!(datagram(&msg), Datagram::Message(&msg[..]));
        let mut longer = msg.clone();
        longer.extend_from_slice(b"junk");
        assert_eq!(datagram(&longer), Datagram::Message(&msg[..]));
        let short = &msg[..msg.len() - 1];
        assert!(matches!(datagram(short), Datagram::BadLength { .. }));
        assert_eq!(datagram(b"\r\n\r\n"), Datagram::Ping);
        assert_eq!(datagram(b"\r\n"), Datagram::Empty);
    }
}
