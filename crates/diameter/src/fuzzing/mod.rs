//! The bodies of the cargo-fuzz targets in `fuzz/fuzz_targets/`, here so that one code runs in
//! two places: under libFuzzer (`cargo fuzz run -s none <target>`) and in a plain `cargo test`
//! that replays every file of `fuzz/corpus/<target>/` (`tests/fuzz_corpus.rs`), so the corpora
//! are checked on every test run without cargo-fuzz. Each function panics on a broken
//! invariant and on nothing else. Not an API: hidden from the docs.
//!
//! The pattern for any protocol crate (docs/testing.md "Fuzz targets"): the body in
//! `<crate>::fuzzing::<target>(data: &[u8])`, the fuzz target a one-line `fuzz_target!` calling
//! it, and a test that replays `fuzz/corpus/<target>/`.

mod decode;
mod peer_fsm;

pub use decode::decode;
pub use peer_fsm::peer_fsm;

/// A fuzz target's body: the bytes libFuzzer (or a corpus file) gives it.
pub type Body = fn(&[u8]);

/// Every fuzz target of this crate by name (the name of its `fuzz/corpus/` directory).
pub const TARGETS: &[(&str, Body)] = &[("decode", decode), ("peer_fsm", peer_fsm)];
