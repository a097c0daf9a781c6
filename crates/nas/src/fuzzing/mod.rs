//! The bodies of the cargo-fuzz targets in `fuzz/fuzz_targets/`, here so that one code runs in
//! two places: under libFuzzer (`cargo fuzz run -s none <target>`) and in a plain `cargo test`
//! that replays every file of `fuzz/corpus/<target>/` (`tests/fuzz_corpus.rs`). Each function
//! panics on a broken invariant and on nothing else. Not an API: hidden from the docs.
//! The pattern is docs/testing.md "Fuzz targets".

mod nas_decode;

pub use nas_decode::nas_decode;

/// A fuzz target's body: the bytes libFuzzer (or a corpus file) gives it.
pub type Body = fn(&[u8]);

/// Every fuzz target of this crate by name (the name of its `fuzz/corpus/` directory).
pub const TARGETS: &[(&str, Body)] = &[("nas_decode", nas_decode)];
