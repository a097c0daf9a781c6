//! Replays every file of the SIP fuzz corpus (`fuzz/corpus/sip_message/`) through the fuzz
//! target's body (`corelab_sip::fuzzing::message`): a plain `cargo test` (seconds) fails when an
//! input that once passed, or a crash reproducer added to the corpus, panics now.

#[path = "../../../fuzz/replay.rs"]
mod replay;

#[test]
fn every_corpus_file_replays_without_panic() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), corelab_sip::fuzzing::TARGETS);
}
