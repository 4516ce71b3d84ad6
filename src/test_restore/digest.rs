//! SHA-256 of files read in a stream through a fixed buffer, so that a file of any size (a
//! 4 GB video) is checked in little memory, and a cancel is noticed within one buffer.

use super::TestRestoreError;
use plugback_core::cancel::CancelToken;
use plugback_core::restore::RestoreError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

const CHUNK: usize = 64 * 1024;

/// Why something could not be hashed.
#[derive(Debug)]
pub(super) enum Unhashed {
    Cancelled,
    Read(io::Error),
}

impl Unhashed {
    /// As a run's error, a read failure told by `read_failed` (whose fault it is depends
    /// on what was read).
    pub(super) fn into_error(
        self,
        read_failed: impl FnOnce(io::Error) -> TestRestoreError,
    ) -> TestRestoreError {
        match self {
            Unhashed::Cancelled => RestoreError::Cancelled.into(),
            Unhashed::Read(err) => read_failed(err),
        }
    }
}

impl From<io::Error> for Unhashed {
    fn from(err: io::Error) -> Unhashed {
        Unhashed::Read(err)
    }
}

/// The SHA-256 of everything `reader` yields.
pub(super) fn sha256(mut reader: impl Read, cancel: &CancelToken) -> Result<[u8; 32], Unhashed> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        if cancel.is_cancelled() {
            return Err(Unhashed::Cancelled);
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hasher.finalize().into()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.into()),
        }
    }
}

/// The SHA-256 of every regular file under `root`, by path relative to it. Symbolic links
/// are not followed.
pub(super) fn tree(
    root: &Path,
    cancel: &CancelToken,
) -> Result<BTreeMap<PathBuf, [u8; 32]>, Unhashed> {
    files_under(root, Path::new(""))?
        .into_iter()
        .map(|relative| {
            let digest = sha256(File::open(root.join(&relative))?, cancel)?;
            Ok((relative, digest))
        })
        .collect()
}

/// Every regular file under `root`/`folder`, by path relative to `root`; an absent folder
/// has none. Symbolic links are not followed.
pub(super) fn files_under(root: &Path, folder: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(root.join(&relative)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_hashes_as_the_whole_does() {
        let content: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| (i % 251) as u8).collect();
        let whole: [u8; 32] = Sha256::digest(&content).into();
        let cancel = CancelToken::new();
        assert_eq!(sha256(&content[..], &cancel).unwrap(), whole);
        cancel.cancel();
        assert!(matches!(
            sha256(&content[..], &cancel),
            Err(Unhashed::Cancelled)
        ));
    }

    #[test]
    fn a_tree_lists_regular_files_by_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c.txt"), b"c").unwrap();
        std::fs::write(dir.path().join("top"), b"").unwrap();
        let hashes = tree(dir.path(), &CancelToken::new()).unwrap();
        let expected: BTreeMap<PathBuf, [u8; 32]> = [
            (PathBuf::from("a/b/c.txt"), Sha256::digest(b"c").into()),
            (PathBuf::from("top"), Sha256::digest(b"").into()),
        ]
        .into();
        assert_eq!(hashes, expected);
        assert!(
            files_under(dir.path(), Path::new("absent"))
                .unwrap()
                .is_empty()
        );
    }
}
