//! Replays every file of the cargo-fuzz corpus (`fuzz/corpus/nas_decode/`) through the fuzz
//! target's body (`corelab_nas::fuzzing`): a plain `cargo test` (seconds) fails when an input
//! that once passed, or a crash reproducer added to the corpus, panics now.

#[path = "../../../fuzz/replay.rs"]
mod replay;

#[test]
fn every_corpus_file_replays_without_panic() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), corelab_nas::fuzzing::TARGETS);
}
