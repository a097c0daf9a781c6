//! What a connection task sends up to the node: the transport never calls
//! routing or the application itself. Each connection has its own bounded
//! queue and dispatch task ([`crate::dispatch::run`]), so events of one
//! connection keep their order, connections do not wait for each other, and a
//! connection whose events are not taken stops reading its socket
//! (backpressure to the peer) instead of growing memory.

use tokio::sync::mpsc;

use crate::handle::{PeerHandle, Waiter};
use crate::node::InFlight;
use crate::routing::PeerId;

/// Events a connection queues before it reads more from its socket.
pub(crate) const EVENT_QUEUE: usize = 1024;

/// An event from a connection task.
pub(crate) enum Event {
    /// A request from the peer (RFC 6733 §6.1): route it, answer it locally,
    /// forward, redirect or reject it.
    /// Counted in flight from the moment it is read, so a shutdown's DPR
    /// waits for its answer ([`crate::Node::shutdown`]).
    Request {
        from: PeerHandle,
        bytes: Vec<u8>,
        in_flight: InFlight,
    },
    /// A request pending on this connection when it went SUSPECT or DOWN,
    /// T flag set: send it to an alternate peer (§5.5.4).
    Failover {
        failed: Option<PeerId>,
        request: Vec<u8>,
        waiter: Waiter,
    },
}

/// The sending side a connection task gets.
pub(crate) type Events = mpsc::Sender<Event>;

#[cfg(test)]
mod tests {
    /// The import circle conn → dispatch → node → conn stays broken: the
    /// transport names neither routing nor dispatch.
    #[test]
    fn the_connection_task_never_calls_dispatch_or_routing() {
        let conn = include_str!("conn.rs");
        for name in ["crate::dispatch", "crate::routing::decide", "dispatch::"] {
            assert!(!conn.contains(name), "conn.rs uses {name}");
        }
    }
}
