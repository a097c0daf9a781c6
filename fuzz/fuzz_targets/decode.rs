//! Arbitrary bytes through everything a node does with a received message:
//! framing, decode, routing view, validation (both roles), rendering, error
//! answers, relay helpers, and a re-encode round trip. Must never panic.
//! The body is `corelab_diameter::fuzzing::decode`, which `cargo test`
//! replays on `corpus/decode/` too (crates/diameter/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| corelab_diameter::fuzzing::decode(data));
