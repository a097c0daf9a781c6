//! The PoC side of ue-emulator: terminals that join a predefined "join" group session through
//! their participating function (seed 002, fig. 3; docs/ue-emulator.md, docs/poc.md). Each
//! terminal's logic is free of IO ([`terminal::Terminal`]); [`client`] is its async shell.

pub mod cli;
pub mod client;
pub mod control;
pub mod inbound;
pub mod rtp;
pub mod script;
pub mod terminal;
