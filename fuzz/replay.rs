//! Replays every file of the cargo-fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz
//! targets' bodies: included (`#[path]`) by each protocol crate's `tests/fuzz_corpus.rs`, so a
//! plain `cargo test` (seconds) fails when an input that once passed, or a crash reproducer added
//! to the corpus, panics now. An empty or missing corpus fails too.

use std::path::{Path, PathBuf};

/// A fuzz target by name (its `fuzz/corpus/` directory) and its body.
pub type Target<'a> = (&'a str, fn(&[u8]));

/// Replay `fuzz/corpus/<name>/` through `body` for every `(name, body)` of `targets`;
/// `manifest_dir` is the crate's `CARGO_MANIFEST_DIR` (two levels under the workspace root).
pub fn replay(manifest_dir: &str, targets: &[Target<'_>]) {
    for &(target, body) in targets {
        let dir = Path::new(manifest_dir)
            .join("../../fuzz/corpus")
            .join(target);
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
