//! One entry of an iPhone backup's file list, whichever layout it came from, and the
//! rules that tie an entry to its data: the fileID is SHA-1 of `domain-relativePath`,
//! and the data lives at `xx/<fileID>` (Manifest.db layout) or `<fileID>` (Manifest.mbdb).

use super::keybag::WrappedKey;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// Which file list the backup has, and so where its data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// iOS 10 and later: Manifest.db, data in two-hex-digit folders.
    ManifestDb,
    /// Up to iOS 9: Manifest.mbdb, data flat in the backup folder.
    Mbdb,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    /// Neither the flags nor the mode say what it is.
    Unknown,
}

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

impl EntryKind {
    /// The Manifest.db `flags` value: 1 file, 2 directory, 4 symlink.
    pub fn from_flags(flags: i64) -> Option<Self> {
        match flags {
            1 => Some(Self::File),
            2 => Some(Self::Directory),
            4 => Some(Self::Symlink),
            _ => None,
        }
    }

    pub fn from_mode(mode: u32) -> Self {
        match mode & S_IFMT {
            S_IFREG => Self::File,
            S_IFDIR => Self::Directory,
            S_IFLNK => Self::Symlink,
            _ => Self::Unknown,
        }
    }

    pub fn flags(self) -> i64 {
        match self {
            Self::File => 1,
            Self::Directory => 2,
            Self::Symlink => 4,
            Self::Unknown => 0,
        }
    }
}

/// What the backup records about one entry (MBFile in Manifest.db, a record in
/// Manifest.mbdb). Times are seconds since the Unix epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileMeta {
    /// Size of the file's plaintext.
    pub size: u64,
    /// Unix mode, type bits included.
    pub mode: u32,
    pub last_modified: Option<i64>,
    pub birth: Option<i64>,
    pub last_status_change: Option<i64>,
    pub protection_class: Option<u32>,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub inode: Option<u64>,
    /// Present for files of encrypted backups (and kept by some unencrypted ones).
    pub encryption_key: Option<WrappedKey>,
    /// Where a symlink points, on the phone.
    pub target: Option<String>,
    pub relative_path: Option<String>,
}

/// One entry of the file list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    pub file_id: String,
    pub domain: String,
    pub relative_path: String,
    /// The `flags` column as stored (Manifest.db), or derived from the mode (mbdb).
    pub flags: i64,
    /// None when the record could not be decoded; `invalid` says why.
    pub meta: Option<FileMeta>,
    pub invalid: Option<String>,
}

impl FileRecord {
    /// File, directory or symlink: the flags say, and where they do not (some tools
    /// write 0) the mode does.
    pub fn kind(&self) -> EntryKind {
        EntryKind::from_flags(self.flags).unwrap_or_else(|| {
            self.meta
                .as_ref()
                .map_or(EntryKind::Unknown, |m| EntryKind::from_mode(m.mode))
        })
    }

    pub fn is_file(&self) -> bool {
        self.kind() == EntryKind::File
    }

    /// Plaintext size; 0 when the record could not be decoded.
    pub fn size(&self) -> u64 {
        self.meta.as_ref().map_or(0, |m| m.size)
    }

    /// `domain/relativePath`, the way a person can find the file again.
    pub fn display_path(&self) -> String {
        if self.relative_path.is_empty() {
            self.domain.clone()
        } else {
            format!("{}/{}", self.domain, self.relative_path)
        }
    }

    /// The fileID this record should have.
    pub fn expected_file_id(&self) -> String {
        file_id(&self.domain, &self.relative_path)
    }

    /// True when the stored fileID is the one its domain and path give (checked without
    /// allocating: verification does this for every record).
    pub fn file_id_matches(&self) -> bool {
        let mut expected = [0u8; 40];
        hex::encode_to_slice(
            file_id_digest(&self.domain, &self.relative_path),
            &mut expected,
        )
        .is_ok_and(|()| expected == self.file_id.as_bytes())
    }
}

fn file_id_digest(domain: &str, relative_path: &str) -> [u8; 20] {
    let mut hasher = Sha1::new();
    hasher.update(domain.as_bytes());
    hasher.update(b"-");
    hasher.update(relative_path.as_bytes());
    hasher.finalize().into()
}

/// `hex(SHA1(domain + "-" + relativePath))`.
pub fn file_id(domain: &str, relative_path: &str) -> String {
    hex::encode(file_id_digest(domain, relative_path))
}

/// 40 lowercase hex digits: the only fileIDs Plugback turns into a path, so that a
/// damaged or hostile file list cannot name a file outside the backup.
pub fn is_file_id(id: &str) -> bool {
    id.len() == 40
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where the data of `file_id` lives, relative to the backup folder. None for a fileID
/// that is not 40 hex digits.
pub fn blob_relative_path(layout: Layout, file_id: &str) -> Option<PathBuf> {
    if !is_file_id(file_id) {
        return None;
    }
    Some(match layout {
        Layout::ManifestDb => PathBuf::from(&file_id[..2]).join(file_id),
        Layout::Mbdb => PathBuf::from(file_id),
    })
}

/// Why a domain or relative path could reach outside the place it is restored to
/// (the rules shared with the Android formats). Rejected, never normalised: a backup the
/// phone wrote never contains these.
pub fn unsafe_path_reason(path: &str) -> Option<&'static str> {
    crate::backup::safe_path::relative_name_problem(path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_are_sha1_of_domain_dash_path() {
        assert_eq!(
            file_id("HomeDomain", "Library/SMS/sms.db"),
            "3d0d7e5fb2ce288813306e4d4636395e047a3d28"
        );
        assert_eq!(
            file_id("MyTestDomain", "Media/Test.txt"),
            "5727bd1c5fa1055e15d8b4a75a74793c84b5ffdc"
        );
        let mut record = FileRecord {
            file_id: "5727bd1c5fa1055e15d8b4a75a74793c84b5ffdc".into(),
            domain: "MyTestDomain".into(),
            relative_path: "Media/Test.txt".into(),
            flags: 1,
            meta: None,
            invalid: None,
        };
        assert!(record.file_id_matches());
        record.file_id = record.file_id.to_uppercase();
        assert!(!record.file_id_matches());
        record.file_id.truncate(10);
        assert!(!record.file_id_matches());
    }

    #[test]
    fn only_hex_ids_become_paths() {
        let id = "3d0d7e5fb2ce288813306e4d4636395e047a3d28";
        assert_eq!(
            blob_relative_path(Layout::ManifestDb, id),
            Some(PathBuf::from("3d").join(id))
        );
        assert_eq!(
            blob_relative_path(Layout::Mbdb, id),
            Some(PathBuf::from(id))
        );
        for bad in [
            "../../../../etc/passwd",
            "",
            "3D0D7E5FB2CE288813306E4D4636395E047A3D28",
            &id[..39],
        ] {
            assert_eq!(blob_relative_path(Layout::ManifestDb, bad), None, "{bad}");
        }
    }

    #[test]
    fn unsafe_paths_are_named() {
        for (path, why) in [
            ("../x", "`..`"),
            ("a/../../x", "`..`"),
            ("..", "`..`"),
            ("/etc/passwd", "absolute"),
            ("a\\b", "backslash"),
            ("C:x", "drive"),
            ("a\0b", "NUL"),
        ] {
            assert!(unsafe_path_reason(path).unwrap().contains(why), "{path}");
        }
        for ok in [
            "",
            "Library/..hidden",
            "a/b.c",
            "naïve café 日本.txt",
            "x..y",
        ] {
            assert_eq!(unsafe_path_reason(ok), None, "{ok}");
        }
    }

    #[test]
    fn kind_comes_from_flags_then_mode() {
        let mut record = FileRecord {
            file_id: String::new(),
            domain: "D".into(),
            relative_path: String::new(),
            flags: 0,
            meta: Some(FileMeta {
                mode: 0o100755,
                ..FileMeta::default()
            }),
            invalid: None,
        };
        assert_eq!(record.kind(), EntryKind::File);
        assert_eq!(record.display_path(), "D");
        record.flags = 2;
        assert_eq!(record.kind(), EntryKind::Directory);
        record.flags = 9;
        record.meta = None;
        assert_eq!(record.kind(), EntryKind::Unknown);
    }
}
