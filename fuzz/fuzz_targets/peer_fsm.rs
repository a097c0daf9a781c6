//! A sequence of inputs derived from the fuzz data fed to the sans-IO peer
//! state machine (`Peer::handle`), outputs drained with `poll` after each.
//! Must never panic (invariants in the body). The body is
//! `corelab_diameter::fuzzing::peer_fsm`, which `cargo test` replays on
//! `corpus/peer_fsm/` too (crates/diameter/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| corelab_diameter::fuzzing::peer_fsm(data));
