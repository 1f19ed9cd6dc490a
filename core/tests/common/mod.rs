//! What the vector runners share: finding the files and replaying them all.

// Each test binary uses only some of what is here.
#[allow(dead_code)]
pub mod breaker_vectors;

use std::path::{Path, PathBuf};

/// Replays every `*.json` in `tests/vectors/<subdir>` (sorted), requiring at least
/// `minimum` of them, and reports every failing file at once.
pub fn replay_all(subdir: &str, minimum: usize, replay: fn(&Path)) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(subdir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= minimum,
        "expected at least {minimum} vectors in {}, found {}",
        dir.display(),
        paths.len()
    );
    let failed: Vec<_> = paths
        .iter()
        .filter(|p| std::panic::catch_unwind(|| replay(p)).is_err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} vectors failed: {failed:?}",
        failed.len(),
        paths.len()
    );
}
