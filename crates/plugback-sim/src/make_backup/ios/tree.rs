//! The files, folders and symlinks of the simulated iPhone, by domain, as a backup lists
//! them: every folder has its own row (domain roots included), parents before children.

use super::super::Spec;
use sha1::{Digest, Sha1};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    /// `class` is the data protection class (1–4 for files).
    File {
        size: u64,
        class: u32,
    },
    Symlink {
        target: String,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub domain: String,
    pub path: String,
    pub kind: EntryKind,
    pub mtime: i64,
    pub birth: i64,
    pub inode: u64,
}

pub(crate) const MODE_DIR: u16 = 0o040755;
pub(crate) const MODE_FILE: u16 = 0o100644;
pub(crate) const MODE_SYMLINK: u16 = 0o120755;
/// The "mobile" user and group that own everything in a backup.
pub(crate) const MOBILE_ID: u32 = 501;

impl Entry {
    /// `SHA1(domain + "-" + relativePath)` in lowercase hex.
    pub(crate) fn file_id(&self) -> String {
        let mut hasher = Sha1::new();
        hasher.update(self.domain.as_bytes());
        hasher.update(b"-");
        hasher.update(self.path.as_bytes());
        hex::encode(hasher.finalize())
    }

    /// The name content is generated under: the same for plain and encrypted twins.
    pub(crate) fn identity(&self) -> String {
        format!("{}-{}", self.domain, self.path)
    }

    pub(crate) fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    pub(crate) fn mode(&self) -> u16 {
        match self.kind {
            EntryKind::Dir => MODE_DIR,
            EntryKind::File { .. } => MODE_FILE,
            EntryKind::Symlink { .. } => MODE_SYMLINK,
        }
    }

    /// `Files.flags` in Manifest.db.
    pub(crate) fn flags(&self) -> i64 {
        match self.kind {
            EntryKind::File { .. } => 1,
            EntryKind::Dir => 2,
            EntryKind::Symlink { .. } => 4,
        }
    }

    pub(crate) fn size(&self) -> u64 {
        match self.kind {
            EntryKind::File { size, .. } => size,
            _ => 0,
        }
    }

    pub(crate) fn protection_class(&self) -> u32 {
        match self.kind {
            EntryKind::File { class, .. } => class,
            _ => 0,
        }
    }
}

const HOME: &str = "HomeDomain";
const CAMERA: &str = "CameraRollDomain";
const NOTES: &str = "AppDomain-com.example.notes";
const PHOTOS: &str = "AppDomain-com.example.photos";
const SHARED: &str = "AppDomainGroup-group.com.example.shared";

/// The apps whose containers appear in the backup: (bundle id, display name, version).
pub(crate) const APPS: [(&str, &str, &str); 2] = [
    ("com.example.notes", "Notes Example", "412"),
    ("com.example.photos", "Photo Box", "2024.11"),
];

/// The standard set (every edge size, unicode names, symlinks), then `spec.files` extra
/// files spread over four domains in folders of at most 1000.
pub(crate) fn entries(spec: &Spec) -> Vec<Entry> {
    let mut tree = Tree::new(spec.date_unix);
    const MIB: u64 = 1024 * 1024;
    tree.file(HOME, "Library/SMS/sms.db", 65537, 4);
    tree.file(HOME, "Library/SMS/sms.db-wal", 0, 4);
    tree.file(HOME, "Library/AddressBook/AddressBook.sqlitedb", 16, 3);
    tree.file(HOME, "Library/Recordings/Recording 1.m4a", 300_000, 3);
    tree.file("KeychainDomain", "keychain-backup.plist", 17, 1);
    tree.symlink(
        "DatabaseDomain",
        "timezone/localtime",
        "/var/db/timezone/zoneinfo/Europe/Berlin",
    );
    tree.file(CAMERA, "Media/DCIM/100APPLE/IMG_0001.HEIC", MIB, 3);
    tree.file(CAMERA, "Media/DCIM/100APPLE/IMG_0002.JPG", 4096, 3);
    tree.file(NOTES, "Library/Preferences/.launched", 1, 3);
    tree.file(NOTES, "Documents/Fotos/Caf\u{e9} \u{2615}.jpg", 4096, 2);
    tree.file(
        NOTES,
        "Documents/\u{30e1}\u{30e2}/\u{65e5}\u{8a18}.txt",
        15,
        2,
    );
    tree.symlink(
        NOTES,
        "Documents/latest.jpg",
        "Fotos/Caf\u{e9} \u{2615}.jpg",
    );
    tree.dir(NOTES, "Library/Caches");
    tree.file(PHOTOS, "Library/Application Support/index.db", 65537, 3);
    tree.file(SHARED, "Library/Shared.sqlite", 16, 3);

    for i in 0..spec.files {
        let n = i / 4;
        let bucket = n / 1000;
        let class = (i % 4) as u32 + 1;
        let (domain, path) = match i % 4 {
            0 => (
                CAMERA,
                format!("Media/DCIM/{}APPLE/IMG_{:04}.JPG", 101 + bucket, n % 10_000),
            ),
            1 => (
                NOTES,
                format!("Documents/Archive/{bucket:03}/note {n:06}.txt"),
            ),
            2 => (
                PHOTOS,
                format!("Library/Originals/{bucket:03}/photo-{n:06}.jpg"),
            ),
            _ => (
                HOME,
                format!("Library/Mail/Attachments/{bucket:03}/part-{n:06}.bin"),
            ),
        };
        tree.file(domain, &path, spec.file_size, class);
    }
    tree.entries
}

struct Tree {
    entries: Vec<Entry>,
    dirs: HashSet<(String, String)>,
    date: i64,
}

impl Tree {
    fn new(date: i64) -> Tree {
        Tree {
            entries: Vec::new(),
            dirs: HashSet::new(),
            date,
        }
    }

    fn push(&mut self, domain: &str, path: &str, kind: EntryKind) {
        let index = self.entries.len() as i64;
        // Spread over the two months before the backup; born up to a year earlier.
        let mtime = (self.date - (index * 7_919) % (60 * 86_400)).max(0);
        let birth = (mtime - (index * 104_729) % (365 * 86_400)).max(0);
        self.entries.push(Entry {
            domain: domain.to_string(),
            path: path.to_string(),
            kind,
            mtime,
            birth,
            inode: 100_000 + index as u64,
        });
    }

    /// Adds `path` and any missing parent folders, down to the domain root ("").
    fn dir(&mut self, domain: &str, path: &str) {
        if self.dirs.contains(&(domain.to_string(), path.to_string())) {
            return;
        }
        if !path.is_empty() {
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            self.dir(domain, parent);
        }
        self.dirs.insert((domain.to_string(), path.to_string()));
        self.push(domain, path, EntryKind::Dir);
    }

    fn parent_of(&mut self, domain: &str, path: &str) {
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        self.dir(domain, parent);
    }

    fn file(&mut self, domain: &str, path: &str, size: u64, class: u32) {
        self.parent_of(domain, path);
        self.push(domain, path, EntryKind::File { size, class });
    }

    fn symlink(&mut self, domain: &str, path: &str, target: &str) {
        self.parent_of(domain, path);
        let target = target.to_string();
        self.push(domain, path, EntryKind::Symlink { target });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::make_backup::Kind;

    #[test]
    fn every_parent_folder_is_listed_before_its_children() {
        let mut spec = Spec::new(Kind::Ios);
        spec.files = 4005;
        let all = entries(&spec);
        let mut seen = HashSet::new();
        for entry in &all {
            if !entry.path.is_empty() {
                let parent = entry.path.rsplit_once('/').map_or("", |(p, _)| p);
                assert!(
                    seen.contains(&(entry.domain.clone(), parent.to_string())),
                    "{entry:?}"
                );
            }
            if entry.kind == EntryKind::Dir {
                seen.insert((entry.domain.clone(), entry.path.clone()));
            }
        }
        let ids: HashSet<_> = all.iter().map(Entry::file_id).collect();
        assert_eq!(ids.len(), all.len(), "fileIDs are unique");
        let files = all
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }));
        assert_eq!(files.count(), 12 + 4005);
    }

    #[test]
    fn file_id_is_sha1_of_domain_dash_path() {
        let entry = Entry {
            domain: "HomeDomain".into(),
            path: "Library/SMS/sms.db".into(),
            kind: EntryKind::Dir,
            mtime: 0,
            birth: 0,
            inode: 0,
        };
        // The well-known fileID of the Messages database.
        assert_eq!(entry.file_id(), "3d0d7e5fb2ce288813306e4d4636395e047a3d28");
    }
}
