//! Arbitrary bytes through everything a SIP node does with a received message before the
//! application: framing (datagram and stream), the one decision (rsipstack's parser, its typed
//! headers, our readers), and the 400/505 and handler answers, each of which must parse back.
//! Must never panic (invariants in the body). The body is `corelab_sip::fuzzing::message`,
//! which `cargo test` replays on `corpus/sip_message/` too (crates/sip/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| corelab_sip::fuzzing::message(data));
