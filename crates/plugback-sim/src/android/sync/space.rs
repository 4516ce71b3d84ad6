//! Free space for pushes.
//!
//! `AndroidConfig::free_bytes` is the room the phone has for the user's files while its
//! shared storage and /data/local/tmp are empty; every file kept there uses its size. A
//! sync connection measures the folders once, when its first SEND arrives, then keeps
//! the figure up to date as files arrive, so a folder push of many files costs one walk.

use std::path::{Path, PathBuf};

pub(super) struct Space {
    available: u64,
}

impl Space {
    /// Measures what is left of `free_bytes` after the files already in `folders`.
    pub(super) fn measure(free_bytes: u64, folders: &[PathBuf]) -> Space {
        let used: u64 = folders.iter().map(|f| bytes_under(f)).sum();
        Space {
            available: free_bytes.saturating_sub(used),
        }
    }

    pub(super) fn available(&self) -> u64 {
        self.available
    }

    /// A file of `new_len` bytes replaced one of `old_len` bytes (0 when it is new).
    pub(super) fn stored(&mut self, new_len: u64, old_len: u64) {
        self.available = (self.available + old_len).saturating_sub(new_len);
    }
}

/// The total size of the regular files under `root`, not following symbolic links.
fn bytes_under(root: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                total += entry.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_files_use_up_the_free_space() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x"), [0u8; 300]).unwrap();
        std::fs::write(dir.path().join("y"), [0u8; 200]).unwrap();
        let mut space = Space::measure(1000, &[dir.path().to_path_buf()]);
        assert_eq!(space.available(), 500);
        space.stored(100, 0);
        assert_eq!(space.available(), 400);
        space.stored(50, 300);
        assert_eq!(space.available(), 650);
        assert_eq!(
            Space::measure(100, &[dir.path().to_path_buf()]).available(),
            0
        );
    }
}
