//! diameter-peer: a command-line Diameter peer (client, server, load generator,
//! agent). The IO-free parts (request/answer files, templating, answer
//! building, latency statistics) live in this library so they are unit-tested;
//! the subcommands are thin async shells over `corelab-diameter-node`.
#![forbid(unsafe_code)]

pub mod answers;
pub mod files;
pub mod stats;
pub mod values;
