//! What is on disk in a backup folder: the blobs (one stat each, in parallel per
//! two-hex-digit folder, in a single pass) and the total size. Never follows links.

use super::files::{Layout, is_file_id};
use crate::backup::BackupError;
use crate::cancel::CancelToken;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKind {
    File,
    /// A symbolic link where data should be: never read, it could point anywhere.
    Symlink,
    /// A folder or a device: not data.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    pub len: u64,
    pub kind: BlobKind,
}

/// The blobs of a backup as found on disk.
#[derive(Debug, Default)]
pub struct BlobScan {
    /// By fileID: entries named like a blob, in the place the layout puts them.
    pub blobs: HashMap<String, Blob>,
    /// Other entries of the blob folders (relative paths): not data any record can name.
    pub strays: Vec<String>,
    /// Blob folders that could not be listed, with the error, so their records are not
    /// reported missing.
    pub unreadable: Vec<(String, io::Error)>,
}

impl BlobScan {
    /// True when the place the blob of `file_id` would be could not be listed, so its
    /// absence from `blobs` proves nothing.
    pub fn folder_unreadable(&self, file_id: &str) -> bool {
        self.unreadable.iter().any(|(place, _)| {
            place == file_id
                || place.ends_with(&format!("/{file_id}"))
                || file_id.get(..2) == Some(place.as_str())
        })
    }
}

fn is_blob_folder(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn blob_of(entry: &fs::DirEntry) -> io::Result<Blob> {
    let file_type = entry.file_type()?;
    if file_type.is_symlink() {
        return Ok(Blob {
            len: 0,
            kind: BlobKind::Symlink,
        });
    }
    // DirEntry::metadata does not follow links.
    let meta = entry.metadata()?;
    let kind = if meta.is_file() {
        BlobKind::File
    } else {
        BlobKind::Other
    };
    Ok(Blob {
        len: meta.len(),
        kind,
    })
}

/// The entries of one folder: each name with what it is (or why that is unknown).
type Listing = Vec<(String, io::Result<Blob>)>;

/// Lists one folder, or gives the error that stopped it.
fn list(dir: &Path) -> io::Result<Listing> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, blob_of(&entry)));
    }
    Ok(out)
}

/// Finds every blob of the backup at `root`. Errors only when `root` itself cannot be
/// listed; a blob folder that cannot be listed is recorded in `unreadable`.
pub fn scan_blobs(
    root: &Path,
    layout: Layout,
    cancel: &CancelToken,
) -> Result<BlobScan, BackupError> {
    let top = list(root).map_err(|e| BackupError::io(root, e))?;
    let mut scan = BlobScan::default();
    match layout {
        Layout::Mbdb => {
            for (name, blob) in top {
                match blob {
                    Ok(blob) if is_file_id(&name) => {
                        scan.blobs.insert(name, blob);
                    }
                    Ok(_) => {}
                    Err(e) => scan.unreadable.push((name, e)),
                }
            }
        }
        Layout::ManifestDb => {
            let folders: Vec<String> = top
                .into_iter()
                .filter(|(name, blob)| {
                    is_blob_folder(name)
                        && matches!(
                            blob,
                            Ok(Blob {
                                kind: BlobKind::Other,
                                ..
                            })
                        )
                })
                .map(|(name, _)| name)
                .collect();
            let listed: Vec<(String, io::Result<Listing>)> = folders
                .into_par_iter()
                .map(|folder| {
                    if cancel.is_cancelled() {
                        return (folder, Ok(Vec::new()));
                    }
                    let entries = list(&root.join(&folder));
                    (folder, entries)
                })
                .collect();
            if cancel.is_cancelled() {
                return Err(BackupError::Cancelled);
            }
            for (folder, entries) in listed {
                let entries = match entries {
                    Ok(entries) => entries,
                    Err(e) => {
                        scan.unreadable.push((folder, e));
                        continue;
                    }
                };
                for (name, blob) in entries {
                    let relative = format!("{folder}/{name}");
                    match blob {
                        Ok(blob) if is_file_id(&name) && name.starts_with(&folder) => {
                            scan.blobs.insert(name, blob);
                        }
                        Ok(_) => scan.strays.push(relative),
                        Err(e) => scan.unreadable.push((relative, e)),
                    }
                }
            }
        }
    }
    scan.strays.sort();
    Ok(scan)
}

/// Bytes the backup takes on disk: every regular file under `root`, links not followed.
pub fn total_bytes(root: &Path) -> Result<u64, BackupError> {
    let entries: Vec<fs::DirEntry> = fs::read_dir(root)
        .and_then(|dir| dir.collect::<io::Result<Vec<_>>>())
        .map_err(|e| BackupError::io(root, e))?;
    Ok(entries.par_iter().map(|entry| entry_bytes(entry, 0)).sum())
}

/// Backups nest two levels; deeper trees are not backup data and are not followed far.
const MAX_DEPTH: usize = 8;

fn entry_bytes(entry: &fs::DirEntry, depth: usize) -> u64 {
    let Ok(file_type) = entry.file_type() else {
        return 0;
    };
    if file_type.is_file() {
        return entry.metadata().map(|m| m.len()).unwrap_or(0);
    }
    if !file_type.is_dir() || depth >= MAX_DEPTH {
        return 0;
    }
    fs::read_dir(entry.path())
        .map(|dir| {
            dir.flatten()
                .map(|child| entry_bytes(&child, depth + 1))
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blobs_strays_and_sizes_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let id = "ab".to_owned() + &"0".repeat(38);
        let misplaced = "cd".to_owned() + &"1".repeat(38);
        fs::create_dir_all(root.join("ab")).unwrap();
        fs::write(root.join("ab").join(&id), b"12345").unwrap();
        fs::write(root.join("ab").join(&misplaced), b"x").unwrap();
        fs::write(root.join("ab").join(".DS_Store"), b"xx").unwrap();
        fs::create_dir_all(root.join("not-a-blob-folder")).unwrap();
        fs::write(root.join("not-a-blob-folder/file"), b"123").unwrap();
        fs::write(root.join("Manifest.db"), b"1234567").unwrap();
        #[cfg(unix)]
        {
            let link = "ab".to_owned() + &"2".repeat(38);
            std::os::unix::fs::symlink("/etc/hostname", root.join("ab").join(&link)).unwrap();
        }

        let scan = scan_blobs(root, Layout::ManifestDb, &CancelToken::new()).unwrap();
        assert_eq!(
            scan.blobs[&id],
            Blob {
                len: 5,
                kind: BlobKind::File
            }
        );
        #[cfg(unix)]
        assert_eq!(
            scan.blobs[&("ab".to_owned() + &"2".repeat(38))].kind,
            BlobKind::Symlink
        );
        assert_eq!(
            scan.strays,
            ["ab/.DS_Store".to_owned(), format!("ab/{misplaced}")]
        );
        assert!(scan.unreadable.is_empty());

        assert_eq!(total_bytes(root).unwrap(), 5 + 1 + 2 + 3 + 7);

        let flat = scan_blobs(root, Layout::Mbdb, &CancelToken::new()).unwrap();
        assert!(flat.blobs.is_empty());
    }

    #[test]
    fn cancelled_scan_stops() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("00")).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = scan_blobs(dir.path(), Layout::ManifestDb, &cancel).unwrap_err();
        assert_eq!(err.code(), "cancelled");
    }
}
