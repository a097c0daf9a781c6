//! Replays every file of the cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz
//! targets' bodies (`corelab_diameter::fuzzing`): a plain `cargo test` (seconds) fails when an
//! input that once passed, or a crash reproducer added to the corpus, panics now.

#[path = "../../../fuzz/replay.rs"]
mod replay;

#[test]
fn every_corpus_file_replays_without_panic() {
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        corelab_diameter::fuzzing::TARGETS,
    );
}
