//! The wire tap: every protocol message a node sends or receives, as an event with its time,
//! addresses, protocol, a one-line summary, the raw bytes and the ids that tie a flow together
//! (Call-ID, Session-Id, SUPI). Transports call [`emit`]; the node's control service streams the
//! events (`corelab.events.v1.WireTap`, served by `corelab-runtime`), and `labctl capture` turns
//! them into a pcapng file ([`pcapng`]) that Wireshark and tshark decode.
//!
//! The tap is process-wide, like the `metrics` recorder: transports deep in `crates/sip` and
//! `crates/diameter-node` emit without plumbing. It costs one atomic load per message while nobody
//! listens (the event is built only when there is a subscriber); it is a bounded broadcast channel,
//! so a slow subscriber loses the oldest events (it is told how many) and never slows the node.

pub mod pcapng;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use tokio::sync::broadcast;

/// Events buffered per subscriber before the oldest are dropped for it.
pub const CAPACITY: usize = 8_192;

/// Which way the message went, seen from the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// The transport the message travelled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// TCP with TLS: the bytes are the plaintext.
    Tls,
    /// The N1 link's gRPC stream (docs/n1.md): the bytes are the NAS PDU.
    Grpc,
}

/// The protocol of the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Sip,
    Diameter,
    Nas5gs,
}

/// The ids that tie a message to its flow; each is set when the protocol carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub call_id: Option<String>,
    pub session_id: Option<String>,
    pub supi: Option<String>,
}

/// One protocol message on the wire.
#[derive(Clone, Debug)]
pub struct WireEvent {
    pub at: SystemTime,
    pub direction: Direction,
    pub transport: Transport,
    pub protocol: Protocol,
    /// The node's address of the exchange, when the transport knows it.
    pub local: Option<SocketAddr>,
    /// The peer's address, when the transport knows it.
    pub remote: Option<SocketAddr>,
    /// One line: a SIP request or status line, a Diameter command, a NAS message type.
    pub summary: String,
    pub bytes: Vec<u8>,
    pub ids: Ids,
}

fn sender() -> &'static broadcast::Sender<Arc<WireEvent>> {
    static TAP: OnceLock<broadcast::Sender<Arc<WireEvent>>> = OnceLock::new();
    TAP.get_or_init(|| broadcast::channel(CAPACITY).0)
}

/// Is anybody listening? Transports may skip work (parsing ids) when not.
pub fn active() -> bool {
    sender().receiver_count() > 0
}

/// Publish the event `build` makes, if anybody listens.
pub fn emit(build: impl FnOnce() -> WireEvent) {
    let tx = sender();
    if tx.receiver_count() > 0 {
        // Err only when the last subscriber left meanwhile.
        let _ = tx.send(Arc::new(build()));
    }
}

/// Every event from now on (bounded: a subscriber that falls behind by [`CAPACITY`] events gets
/// `RecvError::Lagged(n)` and continues with the newest).
pub fn subscribe() -> broadcast::Receiver<Arc<WireEvent>> {
    sender().subscribe()
}

impl WireEvent {
    /// Does the event belong to the flow `filter` names (every id the filter sets must match)?
    pub fn matches(&self, filter: &Ids) -> bool {
        fn ok(want: &Option<String>, have: &Option<String>) -> bool {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        }
        ok(&filter.call_id, &self.ids.call_id)
            && ok(&filter.session_id, &self.ids.session_id)
            && ok(&filter.supi, &self.ids.supi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(call_id: &str) -> WireEvent {
        WireEvent {
            at: SystemTime::now(),
            direction: Direction::Received,
            transport: Transport::Udp,
            protocol: Protocol::Sip,
            local: None,
            remote: None,
            summary: "OPTIONS sip:a SIP/2.0".into(),
            bytes: b"OPTIONS".to_vec(),
            ids: Ids {
                call_id: Some(call_id.into()),
                ..Ids::default()
            },
        }
    }

    #[test]
    fn nothing_is_built_without_a_subscriber_and_everything_with_one() {
        let mut built = false;
        emit(|| {
            built = true;
            event("x")
        });
        assert!(!built && !active());
        let mut rx = subscribe();
        assert!(active());
        emit(|| event("y"));
        let got = rx.try_recv().unwrap();
        assert_eq!(got.ids.call_id.as_deref(), Some("y"));
    }

    #[test]
    fn a_filter_matches_on_every_id_it_sets() {
        let e = event("c1");
        assert!(e.matches(&Ids::default()));
        assert!(e.matches(&Ids {
            call_id: Some("c1".into()),
            ..Ids::default()
        }));
        assert!(!e.matches(&Ids {
            call_id: Some("c2".into()),
            ..Ids::default()
        }));
        assert!(!e.matches(&Ids {
            supi: Some("imsi-1".into()),
            ..Ids::default()
        }));
    }
}
