//! The IMS client: state ([`state`]), what it sends ([`client`]), what it answers ([`inbound`]),
//! whom it believes ([`report_sources`]) and how it prints what it got ([`printable`]).

pub mod client;
pub mod inbound;
pub mod printable;
pub mod report_sources;
pub mod state;

pub use client::ImsClient;
