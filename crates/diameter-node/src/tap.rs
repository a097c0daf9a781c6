//! Diameter on the wire tap (crates/wire-tap): every message a connection reads (once framed)
//! and every one its writer writes, with the command's abbreviation from the dictionary and the
//! Session-Id. TLS connections carry the plaintext; their local address is not known.

use std::net::SocketAddr;
use std::time::SystemTime;

use corelab_diameter::{Dictionary, Header};
use corelab_wire_tap::{Direction, Ids, Protocol, Transport, WireEvent};

/// What the tap needs to know of a connection's transport, from its read half.
pub(crate) trait TransportInfo {
    /// The local address, when the transport can tell (plain TCP).
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }
    fn transport(&self) -> Transport {
        Transport::Tls
    }
}

impl TransportInfo for tokio::net::tcp::OwnedReadHalf {
    fn local_addr(&self) -> Option<SocketAddr> {
        tokio::net::tcp::OwnedReadHalf::local_addr(self).ok()
    }
    fn transport(&self) -> Transport {
        Transport::Tcp
    }
}

/// TLS (client and server streams are split with `tokio::io::split`).
impl<T> TransportInfo for tokio::io::ReadHalf<T> {}

/// One connection's addresses as the tap shows them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tap {
    pub(crate) local: Option<SocketAddr>,
    pub(crate) remote: SocketAddr,
    pub(crate) transport: Transport,
}

impl Tap {
    pub(crate) fn of(rd: &impl TransportInfo, remote: SocketAddr) -> Tap {
        Tap {
            local: rd.local_addr(),
            remote,
            transport: rd.transport(),
        }
    }

    /// Publish one whole message.
    pub(crate) fn emit(&self, direction: Direction, bytes: &[u8]) {
        corelab_wire_tap::emit(|| WireEvent {
            at: SystemTime::now(),
            direction,
            transport: self.transport,
            protocol: Protocol::Diameter,
            local: self.local,
            remote: Some(self.remote),
            summary: summary(bytes),
            bytes: bytes.to_vec(),
            ids: Ids {
                session_id: crate::conn::session_id(bytes).map(str::to_string),
                ..Ids::default()
            },
        });
    }
}

/// "CCR (Gx) 16777238/272 hbh=7": the command's abbreviation when the dictionary knows it.
fn summary(bytes: &[u8]) -> String {
    let Ok(h) = Header::parse(bytes) else {
        return format!("undecodable ({} bytes)", bytes.len());
    };
    let dict = Dictionary::standard();
    let name = dict
        .command(h.command_code, h.application_id, h.is_request())
        .or_else(|| {
            // Gx, Rx, S9 reuse RFC 4006's and RFC 6733's commands under their own application.
            dict.commands()
                .find(|c| c.code == h.command_code && c.request == h.is_request())
        })
        .map(|c| c.abbrev.clone())
        .unwrap_or_else(|| {
            format!(
                "{}-{}",
                h.command_code,
                if h.is_request() { "R" } else { "A" }
            )
        });
    let app = dict.application(h.application_id).unwrap_or("");
    format!(
        "{name} {app} app={} code={} hbh={}",
        h.application_id, h.command_code, h.hop_by_hop
    )
    .replace("  ", " ")
}
