//! The IMS client: state ([`state`]), what it sends ([`client`]), what it answers ([`inbound`]).

pub mod client;
pub mod inbound;
pub mod state;

pub use client::ImsClient;
