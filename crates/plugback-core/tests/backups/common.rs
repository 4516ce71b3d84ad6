//! Shared helpers: where the shared fixtures are, and generated backups.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use plugback_sim::peers::shared_fixtures;

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// sha256 of every file under `root`, by relative path.
pub fn tree_hashes(root: &Path) -> BTreeMap<PathBuf, String> {
    plugback_sim::tree_hashes(root).expect("the folder can be read")
}
