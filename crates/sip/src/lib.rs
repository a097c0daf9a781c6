//! Thin SIP helpers around rsipstack.
//!
//! rsipstack gives us the parser, the RFC 3261/6026 transaction layer (Timer E/F with our T1) and
//! the UDP/TCP transports. What this crate adds, and every corelab SIP node shares:
//! - [`headers`]: reading the headers the event framework needs (Event, Expires, name-addr URIs
//!   and tags, Subscription-State), each failure a [`headers::BadRequest`] that becomes a 400.
//! - [`validate`]: the one decision on every received message — deliver it, answer it `400`
//!   with a reason (or `505`), or drop it — so that nothing after it drops a request silently.
//! - [`node`]: the endpoint shell — listen on UDP and TCP, hand out incoming transactions, send a
//!   request and wait for its final response or Timer F; [`advertise`]: the address we put in
//!   Via, Contact and Record-Route.
//! - [`transport`] and [`framing`]: our own UDP and TCP sockets under rsipstack's transaction
//!   layer (whole datagrams, `Content-Length`, `TCP_NODELAY`, connection limits, 400 for what
//!   the parser refuses). docs/sip.md says what the layer guarantees.
//! - [`serve`]: the serve loop — incoming requests handed to the node's handler in arrival order
//!   per dialog and per TCP connection, bounded, 503 with Retry-After past the bound.
//! - [`proxy`]: the RFC 3261 §16 stateful proxy — the copy of a request we forward, the
//!   responses we relay, CANCEL and the ACK of a 2xx — as pure functions, and their shell.
//! - [`build`]: requests and responses written as text and parsed back, so what we send reads
//!   like the RFCs' examples.
//! - [`body`]: message bodies (event packages; multipart/mixed, message/cpim, SDP).
//! - [`dialog`]: the UAS side of an INVITE dialog, free of IO (2xx until ACK, CANCEL, BYE,
//!   re-INVITE).

pub mod advertise;
pub mod body;
pub mod build;
pub mod dialog;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod headers;
pub mod node;
pub mod proxy;
pub mod serve;
mod tap;
pub mod transport;
pub mod validate;

pub use rsipstack;
pub use rsipstack::sip::{Method, Request, Response, SipMessage, StatusCode};

/// A fresh random token for tags, branches and Call-IDs.
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
