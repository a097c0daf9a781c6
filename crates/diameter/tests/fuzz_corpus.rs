//! Replays every file of the cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz
//! targets' bodies (`corelab_diameter::fuzzing`): a plain `cargo test` (seconds) fails when an
//! input that once passed, or a crash reproducer added to the corpus, panics now.

use std::path::{Path, PathBuf};

use corelab_diameter::fuzzing::TARGETS;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_corpus_file_replays_without_panic() {
    for &(target, body) in TARGETS {
        let dir = corpus(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus of {target} at {}: {e}", dir.display()))
            .map(|entry| entry.expect("corpus entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(
            !files.is_empty(),
            "no corpus for {target} in {}",
            dir.display()
        );
        for file in &files {
            let data = std::fs::read(file).expect("corpus file");
            if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                panic!("fuzz target {target} panics on {}: {what}", file.display());
            }
        }
        println!("{target}: {} corpus files replayed", files.len());
    }
}
