//! The phone's read-only view of one backup folder: the folder named by the
//! SourceIdentifier under the backup root. Every path comes from the phone and is checked
//! strictly before anything is opened; an unsafe one is refused, never normalised:
//!
//! - it must start with `<SourceIdentifier>/` (a sibling backup is outside too);
//! - no `..`, no absolute path, no drive prefix, no backslash, no NUL, no empty or `.`
//!   component, nothing longer than any name a backup holds;
//! - its real location, through symbolic links, must stay inside the backup folder.
//!
//! Files are only ever opened for reading. Nothing here writes, creates or removes.
//! (A path is checked, then opened: a local program swapping a folder for a link in
//! between could still redirect one read. The threat here is the phone, which cannot touch
//! this computer's folders.)

use crate::backup::safe_path::{join_plain, relative_name_problem};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Longest path a phone may ask for: a backup's own names are under 100 bytes
/// (`<UDID>/ab/<40 hex digits>`).
const MAX_PATH: usize = 1024;

/// The errno-style codes DeviceLink carries in its replies (negative, as the phone reads
/// them).
pub(super) mod device_code {
    pub const GENERIC: i64 = -1;
    pub const NOT_FOUND: i64 = -6;
    pub const IS_DIRECTORY: i64 = -9;
    pub const IO: i64 = -11;
}

/// Why a phone's path is not served.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The path could reach outside the backup: refused, and worth telling the person.
    Unsafe(&'static str),
    /// A safe path that cannot be served (missing, a folder, unreadable).
    Unavailable { code: i64, error: io::Error },
}

impl Refusal {
    pub(super) fn device_code(&self) -> i64 {
        match self {
            Refusal::Unsafe(_) => device_code::GENERIC,
            Refusal::Unavailable { code, .. } => *code,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Refusal::Unsafe(why) => format!("refused: the path {why}"),
            Refusal::Unavailable { error, .. } => error.to_string(),
        }
    }
}

/// One entry of a folder listing.
pub(super) struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EntryKind {
    Directory,
    Regular,
    /// Links and anything else: listed, never followed.
    Other,
}

pub(super) struct BackupFolder {
    /// The backup folder, canonical.
    root: PathBuf,
    source: String,
}

impl BackupFolder {
    /// The folder `backup_dir`, which the phone knows as `source`.
    pub(super) fn open(backup_dir: &Path, source: &str) -> io::Result<BackupFolder> {
        let root = fs::canonicalize(backup_dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "the backup is not a folder",
            ));
        }
        Ok(BackupFolder {
            root,
            source: source.to_owned(),
        })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the file the phone names, read-only.
    pub(super) fn open_file(&self, phone_path: &str) -> Result<File, Refusal> {
        let path = self.resolve(phone_path, false)?;
        let file = File::open(&path).map_err(unavailable)?;
        let meta = file.metadata().map_err(unavailable)?;
        if meta.is_dir() {
            return Err(Refusal::Unavailable {
                code: device_code::IS_DIRECTORY,
                error: io::Error::new(io::ErrorKind::IsADirectory, "it is a folder"),
            });
        }
        if !meta.is_file() {
            return Err(Refusal::Unavailable {
                code: device_code::GENERIC,
                error: io::Error::other("it is not a regular file"),
            });
        }
        Ok(file)
    }

    /// The entries of the folder the phone names. Links are listed as `Other`, not
    /// followed.
    pub(super) fn list(&self, phone_path: &str) -> Result<Vec<Entry>, Refusal> {
        // A folder may be named with one trailing slash ("<SRC>/").
        let trimmed = phone_path.strip_suffix('/').unwrap_or(phone_path);
        let dir = self.resolve(trimmed, true)?;
        let mut entries = Vec::new();
        for entry in fs::read_dir(&dir).map_err(unavailable)? {
            let entry = entry.map_err(unavailable)?;
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            let kind = if meta.is_dir() {
                EntryKind::Directory
            } else if meta.is_file() {
                EntryKind::Regular
            } else {
                EntryKind::Other
            };
            entries.push(Entry {
                name: entry.file_name().to_string_lossy().into_owned(),
                kind,
                size: meta.len(),
                modified: meta.modified().ok(),
            });
        }
        Ok(entries)
    }

    /// The real location of a phone path, checked. `folder_itself` allows the path to be
    /// just `<SourceIdentifier>` (a listing of the backup folder).
    fn resolve(&self, phone_path: &str, folder_itself: bool) -> Result<PathBuf, Refusal> {
        if let Some(why) = path_problem(phone_path) {
            return Err(Refusal::Unsafe(why));
        }
        let rest = match phone_path.strip_prefix(self.source.as_str()) {
            Some("") if folder_itself => "",
            Some(rest) => match rest.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest,
                _ => return Err(Refusal::Unsafe(OUTSIDE)),
            },
            None => return Err(Refusal::Unsafe(OUTSIDE)),
        };
        let parts = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let joined = join_plain(&self.root, parts).ok_or(Refusal::Unsafe(
            "has a part this computer would not read as a plain name",
        ))?;
        match fs::canonicalize(&joined) {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(_) => Err(Refusal::Unsafe(LINK_OUT)),
            Err(error) => {
                // Missing: say so, unless the part that exists already leads out (a
                // link to a folder elsewhere), which must not even reveal what exists.
                if self.existing_part_leaves(&joined) {
                    Err(Refusal::Unsafe(LINK_OUT))
                } else {
                    Err(unavailable(error))
                }
            }
        }
    }

    fn existing_part_leaves(&self, path: &Path) -> bool {
        path.ancestors()
            .skip(1)
            .find_map(|ancestor| fs::canonicalize(ancestor).ok())
            .is_some_and(|real| !real.starts_with(&self.root))
    }
}

const OUTSIDE: &str = "is outside the backup being restored";
const LINK_OUT: &str = "leads outside the backup through a symbolic link";

/// Why a phone path is unsafe as written, before any look at the disk.
pub(super) fn path_problem(path: &str) -> Option<&'static str> {
    if path.len() > MAX_PATH {
        return Some("is longer than any name in a backup");
    }
    if let Some(why) = relative_name_problem(path.as_bytes()) {
        return Some(why);
    }
    if path.split('/').any(|part| part.is_empty() || part == ".") {
        return Some("has an empty or `.` part");
    }
    None
}

fn unavailable(error: io::Error) -> Refusal {
    let code = match error.kind() {
        io::ErrorKind::NotFound => device_code::NOT_FOUND,
        io::ErrorKind::IsADirectory => device_code::IS_DIRECTORY,
        _ => device_code::IO,
    };
    Refusal::Unavailable { code, error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        folder: BackupFolder,
    }

    /// `root/SRC` with a file and a subfolder, a sibling backup `root/OTHER`, and a secret
    /// beside both.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("backups");
        fs::create_dir_all(root.join("SRC/ab")).unwrap();
        fs::create_dir_all(root.join("OTHER")).unwrap();
        fs::write(root.join("SRC/Manifest.db"), b"db").unwrap();
        fs::write(root.join("SRC/ab/ab01"), b"blob").unwrap();
        fs::write(root.join("OTHER/Manifest.db"), b"other").unwrap();
        fs::write(dir.path().join("secret"), b"secret").unwrap();
        let folder = BackupFolder::open(&root.join("SRC"), "SRC").unwrap();
        Fixture {
            _dir: dir,
            root,
            folder,
        }
    }

    fn read(folder: &BackupFolder, path: &str) -> Result<Vec<u8>, Refusal> {
        let mut bytes = Vec::new();
        folder.open_file(path)?.read_to_end(&mut bytes).unwrap();
        Ok(bytes)
    }

    fn is_unsafe(result: Result<Vec<u8>, Refusal>) -> bool {
        matches!(result, Err(Refusal::Unsafe(_)))
    }

    #[test]
    fn files_of_the_backup_are_served() {
        let f = fixture();
        assert_eq!(read(&f.folder, "SRC/Manifest.db").unwrap(), b"db");
        assert_eq!(read(&f.folder, "SRC/ab/ab01").unwrap(), b"blob");
        let missing = read(&f.folder, "SRC/ab/ab02").err().unwrap();
        assert_eq!(missing.device_code(), device_code::NOT_FOUND);
        let folder = read(&f.folder, "SRC/ab").err().unwrap();
        assert_eq!(folder.device_code(), device_code::IS_DIRECTORY);
    }

    #[test]
    fn every_unsafe_path_is_refused() {
        let f = fixture();
        for path in [
            "SRC/../secret",
            "SRC/../../secret",
            "SRC/ab/../Manifest.db",
            "../secret",
            "/etc/hostname",
            "C:/Windows/win.ini",
            "SRC\\Manifest.db",
            "SRC/Manifest.db\0",
            "SRC//Manifest.db",
            "SRC/./Manifest.db",
            "OTHER/Manifest.db",
            "SRCX/Manifest.db",
            "SRC",
            "SRC/",
            "",
        ] {
            assert!(is_unsafe(read(&f.folder, path)), "{path:?} was not refused");
        }
        let long = format!("SRC/{}", "A".repeat(5000));
        assert!(is_unsafe(read(&f.folder, &long)));
    }

    #[cfg(unix)]
    #[test]
    fn links_that_leave_the_backup_are_refused_and_links_inside_are_served() {
        let f = fixture();
        let src = f.root.join("SRC");
        std::os::unix::fs::symlink(f.root.parent().unwrap().join("secret"), src.join("out"))
            .unwrap();
        std::os::unix::fs::symlink(f.root.join("OTHER"), src.join("sibling")).unwrap();
        std::os::unix::fs::symlink("Manifest.db", src.join("inside")).unwrap();
        assert!(is_unsafe(read(&f.folder, "SRC/out")));
        assert!(is_unsafe(read(&f.folder, "SRC/sibling/Manifest.db")));
        // Even whether a file exists behind a link out is not revealed.
        assert!(is_unsafe(read(&f.folder, "SRC/sibling/nothing-here")));
        assert_eq!(read(&f.folder, "SRC/inside").unwrap(), b"db");
    }

    #[test]
    fn listings_are_confined_too() {
        let f = fixture();
        let mut names: Vec<_> = f
            .folder
            .list("SRC/")
            .ok()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            names,
            [
                ("Manifest.db".to_owned(), EntryKind::Regular),
                ("ab".to_owned(), EntryKind::Directory)
            ]
        );
        assert!(matches!(f.folder.list("SRC/.."), Err(Refusal::Unsafe(_))));
        assert!(matches!(f.folder.list("OTHER"), Err(Refusal::Unsafe(_))));
    }
}
