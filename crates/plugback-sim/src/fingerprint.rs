//! A fingerprint of a folder, so tests can prove that reading a backup changed nothing.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The sha256 of every regular file under `root`, by path relative to it. Symbolic links
/// are not followed (a backup's links must never lead a reader elsewhere).
pub fn tree_hashes(root: &Path) -> io::Result<BTreeMap<PathBuf, String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let meta = fs::symlink_metadata(&path)?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let digest = hex::encode(Sha256::digest(fs::read(&path)?));
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.insert(relative, digest);
            }
        }
    }
    Ok(out)
}
