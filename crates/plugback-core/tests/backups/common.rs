//! Shared helpers: where the shared fixtures are, and generated backups.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `../shared/fixtures` seen from the workspace root. None (with a printed notice) where it
/// is absent; a failure instead when `PLUGBACK_REQUIRE_SHARED=1`, so CI cannot skip them.
pub fn shared_fixtures() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if root.join("README.txt").is_file() {
        return Some(root);
    }
    if std::env::var("PLUGBACK_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "PLUGBACK_REQUIRE_SHARED=1 but the shared fixtures are not at {}",
            root.display()
        );
    }
    eprintln!(
        "notice: shared fixtures not found at {}; skipping this test",
        root.display()
    );
    None
}

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// sha256 of every file under `root`, by relative path.
pub fn tree_hashes(root: &Path) -> BTreeMap<PathBuf, String> {
    plugback_sim::tree_hashes(root).expect("the folder can be read")
}
