//! The tokio shell around [`corelab_diameter`]'s sans-IO peer state machine:
//! a [`Node`] listens and connects (TCP, or TLS from the first byte), runs one
//! task per connection driving [`corelab_diameter::peer::Peer`], matches
//! answers to requests by Hop-by-Hop id, answers application requests with a
//! [`RequestHandler`], routes requests ([`RoutingTable`]), and acts as a
//! relay, proxy or redirect agent ([`AgentMode`]). An [`Application`] behind
//! [`Validated`] gets requests already validated against the dictionary. See `docs/diameter.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod application;
pub mod avps;
mod clock;
mod config;
mod conn;
mod dispatch;
mod election;
mod error;
mod error_answer;
mod events;
mod handle;
mod node;
mod redirect;
pub mod routing;
mod tap;
mod tls;

pub use application::{Application, Refusal, Request, Validated};
pub use config::{AgentMode, Limits, NodeConfig, TlsConfig};
pub use corelab_diameter::peer::PeerConfig;
pub use error::NodeError;
pub use handle::PeerHandle;
pub use node::{DISCONNECT_REBOOTING, Node, RequestHandler};
pub use redirect::{RedirectHostUsage, RedirectPolicy, parse_diameter_uri};
pub use routing::{Decision, NoPolicy, PeerId, PeerTarget, Policy, Prepared, RoutingTable};
