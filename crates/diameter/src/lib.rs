//! IO-free Diameter (RFC 6733) for corelab: a borrowing codec, an owned
//! builder, a dictionary loaded from text files, message validation that maps
//! every malformed input to its RFC 6733 Result-Code, relay helpers for agents.
//!
//! ```
//! use corelab_diameter::{AvpBuf, Message, MessageBuilder, RoutingView, codes};
//! let bytes = MessageBuilder::request(codes::cmd::CREDIT_CONTROL, codes::app::GX)
//!     .proxiable()
//!     .avp(AvpBuf::utf8(codes::avp::SESSION_ID, "pgw.example;1;1").mandatory())
//!     .avp(AvpBuf::identity(codes::avp::DESTINATION_REALM, "home.example").mandatory())
//!     .encode()
//!     .unwrap();
//! let view = RoutingView::decode(&bytes).unwrap();
//! assert_eq!(view.destination_realm_str(), Some("home.example"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod answer;
pub mod avp;
pub mod builder;
pub mod codes;
pub mod dictionary;
pub mod duplicates;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod message;
pub mod peer;
pub mod relay;
pub mod render;
pub mod types;
pub mod validate;

pub use answer::error_answer;
pub use avp::{Avp, Avps};
pub use builder::{AvpBuf, AvpValue, MessageBuilder};
pub use dictionary::{
    AvpDef, AvpRule, AvpType, CommandDef, Dictionary, FlagRule, Grammar, RuleKind,
};
pub use error::{DiameterError, EncodeError, ResultCode};
pub use header::{Header, frame_length};
pub use message::{Message, RoutingView};
pub use render::render;
pub use types::{Address, Time};
pub use validate::{Role, validate};
