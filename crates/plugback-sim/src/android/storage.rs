//! The phone's file system, kept in a host folder (DATA). Every path a host names goes
//! through [`Storage::resolve`], so no request can reach a file outside DATA.
//!
//! | phone path | host path |
//! |---|---|
//! | `/sdcard/x`, `/storage/emulated/0/x`, `/storage/self/primary/x` | `DATA/sdcard/x` |
//! | `/data/local/tmp/x` | `DATA/data/local/tmp/x` |
//! | any other `/x` | `DATA/x` (read-only) |

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a phone path was refused.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0:?}: not an absolute path")]
    Relative(String),
    #[error("path contains a NUL byte")]
    Nul,
    #[error("{0:?}: leaves the phone's storage")]
    Escapes(String),
    #[error("{0:?}: a symbolic link leads out of the phone's storage")]
    SymlinkEscapes(String),
    #[error("{path:?}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The phone's storage, rooted at DATA.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    /// `root` with every symbolic link resolved, to compare link targets against.
    canonical_root: PathBuf,
}

/// The phone prefixes that all lead to the shared storage (`DATA/sdcard`).
const SHARED_STORAGE_ALIASES: [&[&str]; 3] = [
    &["sdcard"],
    &["storage", "emulated", "0"],
    &["storage", "self", "primary"],
];

/// Shared-storage folders every Android phone starts with.
const SHARED_STORAGE_FOLDERS: [&str; 9] = [
    "Alarms",
    "DCIM",
    "Documents",
    "Download",
    "Movies",
    "Music",
    "Notifications",
    "Pictures",
    "Ringtones",
];

impl Storage {
    /// Opens (and creates) the storage under `data_dir`.
    pub fn new(data_dir: &Path) -> io::Result<Storage> {
        // The folders a fresh Android 14 phone has in shared storage: `adb push f
        // /sdcard/Download/` relies on them being there, as on a real phone.
        for folder in SHARED_STORAGE_FOLDERS {
            std::fs::create_dir_all(data_dir.join("sdcard").join(folder))?;
        }
        std::fs::create_dir_all(data_dir.join("data/local/tmp"))?;
        let canonical_root = data_dir.canonicalize()?;
        Ok(Storage {
            root: data_dir.to_path_buf(),
            canonical_root,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a phone path to the host path inside DATA. Refuses relative paths, NUL bytes,
    /// `..` that would climb above `/`, and symbolic links on disk that lead out of DATA.
    pub fn resolve(&self, phone_path: &str) -> Result<PathBuf, StorageError> {
        let parts = phone_components(phone_path)?;
        let mut host = self.root.clone();
        let rest = match SHARED_STORAGE_ALIASES
            .iter()
            .find(|alias| parts.len() >= alias.len() && parts[..alias.len()] == alias[..])
        {
            Some(alias) => {
                host.push("sdcard");
                &parts[alias.len()..]
            }
            None => &parts[..],
        };
        for part in rest {
            host.push(part);
        }
        self.check_links(&host, phone_path)?;
        Ok(host)
    }

    /// True when the phone lets adb write there: the shared storage and /data/local/tmp.
    pub fn is_writable(&self, phone_path: &str) -> bool {
        let Ok(parts) = phone_components(phone_path) else {
            return false;
        };
        SHARED_STORAGE_ALIASES
            .iter()
            .chain([&["data", "local", "tmp"][..]].iter())
            .any(|prefix| parts.len() >= prefix.len() && parts[..prefix.len()] == prefix[..])
    }

    /// Walks every existing prefix of `host` below the root: a symbolic link must resolve
    /// to somewhere inside DATA (a dangling one is refused, as its target is unknown).
    fn check_links(&self, host: &Path, phone_path: &str) -> Result<(), StorageError> {
        let Ok(relative) = host.strip_prefix(&self.root) else {
            return Err(StorageError::Escapes(phone_path.to_string()));
        };
        let mut walked = self.root.clone();
        for part in relative.components() {
            walked.push(part);
            let Ok(meta) = std::fs::symlink_metadata(&walked) else {
                // Nothing further exists yet, so no link can follow.
                return Ok(());
            };
            if meta.file_type().is_symlink() {
                let target = walked
                    .canonicalize()
                    .map_err(|_| StorageError::SymlinkEscapes(phone_path.to_string()))?;
                if !target.starts_with(&self.canonical_root) {
                    return Err(StorageError::SymlinkEscapes(phone_path.to_string()));
                }
            }
        }
        Ok(())
    }
}

/// The normal components of an absolute phone path, with `.` dropped and `..` applied.
/// A `..` above `/` is an escape and is refused rather than clamped.
fn phone_components(phone_path: &str) -> Result<Vec<String>, StorageError> {
    if phone_path.contains('\0') {
        return Err(StorageError::Nul);
    }
    if !phone_path.starts_with('/') {
        return Err(StorageError::Relative(phone_path.to_string()));
    }
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(phone_path).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(StorageError::Escapes(phone_path.to_string()));
                }
            }
            Component::Normal(name) => match name.to_str() {
                Some(name) => parts.push(name.to_string()),
                None => return Err(StorageError::Escapes(phone_path.to_string())),
            },
            Component::Prefix(_) => return Err(StorageError::Escapes(phone_path.to_string())),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::new(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn phone_paths_map_into_data() {
        let (dir, s) = storage();
        let root = dir.path();
        assert_eq!(s.resolve("/sdcard/a/b").unwrap(), root.join("sdcard/a/b"));
        assert_eq!(
            s.resolve("/storage/emulated/0/DCIM").unwrap(),
            root.join("sdcard/DCIM")
        );
        assert_eq!(s.resolve("/sdcard").unwrap(), root.join("sdcard"));
        assert_eq!(
            s.resolve("/data/local/tmp/x.apk").unwrap(),
            root.join("data/local/tmp/x.apk")
        );
        assert_eq!(s.resolve("/system/etc").unwrap(), root.join("system/etc"));
        assert_eq!(
            s.resolve("/sdcard/./a/../b").unwrap(),
            root.join("sdcard/b")
        );
        assert_eq!(s.resolve("/").unwrap(), root.to_path_buf());
        assert!(root.join("sdcard").is_dir() && root.join("data/local/tmp").is_dir());
    }

    #[test]
    fn escapes_are_refused() {
        let (_dir, s) = storage();
        assert!(matches!(
            s.resolve("sdcard/a"),
            Err(StorageError::Relative(_))
        ));
        assert!(matches!(s.resolve("/sdcard/a\0b"), Err(StorageError::Nul)));
        assert!(matches!(
            s.resolve("/../etc"),
            Err(StorageError::Escapes(_))
        ));
        assert!(matches!(
            s.resolve("/sdcard/../../etc/passwd"),
            Err(StorageError::Escapes(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_data_are_refused() {
        let (dir, s) = storage();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("sdcard/out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("data"), dir.path().join("sdcard/in")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", dir.path().join("sdcard/dangling")).unwrap();
        assert!(matches!(
            s.resolve("/sdcard/out/file"),
            Err(StorageError::SymlinkEscapes(_))
        ));
        assert!(matches!(
            s.resolve("/sdcard/dangling"),
            Err(StorageError::SymlinkEscapes(_))
        ));
        assert!(s.resolve("/sdcard/in/local").is_ok());
    }

    #[test]
    fn only_shared_storage_and_tmp_are_writable() {
        let (_dir, s) = storage();
        assert!(s.is_writable("/sdcard/Music/a.mp3"));
        assert!(s.is_writable("/storage/emulated/0"));
        assert!(s.is_writable("/data/local/tmp/x"));
        assert!(!s.is_writable("/data/local"));
        assert!(!s.is_writable("/system/app"));
        assert!(!s.is_writable("/sdcardx/a"));
        assert!(!s.is_writable("/sdcard/../system"));
        assert!(!s.is_writable("relative"));
    }
}
