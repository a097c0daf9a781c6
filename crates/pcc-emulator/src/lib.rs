//! pcc-emulator: the PCC clients of seed 003 — PCEF (Gx), BBERF (Gxx) and AF (Rx) — towards
//! a vDRA in redirect, proxy or proxy_variant mode and the PCRFs behind it. The protocol
//! parts (messages, where each message goes, scenario files) are pure modules; the emulator
//! is an async shell over `corelab-diameter-node`, and load mode reuses diameter-peer's
//! budget and statistics. See docs/pcc-emulator.md.
#![forbid(unsafe_code)]

pub mod cli;
pub mod control;
pub mod emulator;
pub mod load;
pub mod messages;
pub mod model;
pub mod plan;
pub mod scenario;
