//! diameter-peer: command-line Diameter peer.

fn main() {}
