//! Arbitrary octets through the NAS-5GS receive path of corelab-nas: decode with TS 24.501
//! clause 7, the answer of a refusal, re-encoding. Must never panic. The body is
//! `corelab_nas::fuzzing::nas_decode`, which `cargo test` replays on `corpus/nas_decode/` too
//! (crates/nas/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| corelab_nas::fuzzing::nas_decode(data));
