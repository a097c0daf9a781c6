//! diameter-peer: a command-line Diameter peer (client, server, load generator,
//! agent). The IO-free parts (request/answer files, templating, answer
//! building, latency statistics) are unit-tested modules; the subcommands are
//! thin async shells over `corelab-diameter-node`. See docs/diameter-peer.md.
#![forbid(unsafe_code)]

pub mod agent;
pub mod answers;
pub mod budget;
pub mod check;
pub mod checks;
pub mod cli;
pub mod client;
pub mod files;
pub mod load;
pub mod print;
pub mod responder;
pub mod server;
pub mod stats;
pub mod values;
