//! The files a backup holds, as one flat list to browse: where each belongs (an iPhone
//! domain, an Android app or "files"), its path inside that, its size and what it is.
//!
//! Read-only: nothing in the backup is written, and the paths listed are only shown,
//! never joined to a folder on this computer.

use super::android::{self, TarEntryInfo};
use super::ios::{self, IosBackup};
use super::{BackupError, BackupKind};
use crate::secret::Password;
use std::path::Path;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListedKind {
    File,
    Folder,
    Link,
    /// Neither a file, a folder nor a link (a device node in an archive, or an iPhone
    /// record whose type cannot be read).
    Other,
}

impl ListedKind {
    /// A lowercase word for a person.
    pub fn label(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Folder => "folder",
            Self::Link => "link",
            Self::Other => "other",
        }
    }
}

/// One entry of a backup's file list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedFile {
    /// The iPhone domain ("HomeDomain", "AppDomain-com.example"), the Android app package,
    /// "files" for the phone files of a Plugback Android folder, or the first folder of an
    /// `.ab` entry that belongs to no app ("shared").
    pub domain: String,
    /// The path inside the domain, as the backup stores it (empty for a domain's own folder).
    pub path: String,
    /// Bytes of contents (0 for folders and links).
    pub size: u64,
    pub kind: ListedKind,
}

/// Every entry of the backup at `path`, sorted by domain then path. An encrypted backup
/// whose file list is itself encrypted gives `PasswordRequired`: see [`list_unlocked`].
pub fn list(path: &Path, kind: BackupKind) -> Result<Vec<ListedFile>, BackupError> {
    list_unlocked(path, kind, None)
}

/// As [`list`], opening an encrypted file list with `password` (`WrongPassword` when it
/// does not open it). The password is ignored where the list is not encrypted.
pub fn list_unlocked(
    path: &Path,
    kind: BackupKind,
    password: Option<&Password>,
) -> Result<Vec<ListedFile>, BackupError> {
    let mut files = match kind {
        BackupKind::Ios | BackupKind::IosLegacyMbdb => list_ios(path, password)?,
        BackupKind::AndroidFolder => list_android_folder(path)?,
        BackupKind::AndroidAb => list_ab(path, password)?,
    };
    files.sort_unstable_by(|a, b| (&a.domain, &a.path).cmp(&(&b.domain, &b.path)));
    Ok(files)
}

fn list_ios(root: &Path, password: Option<&Password>) -> Result<Vec<ListedFile>, BackupError> {
    let backup = IosBackup::open(root)?;
    // The keys are only needed (and the slow key derivation only paid) when the file list
    // itself is encrypted; an mbdb list and an iOS 10.0/10.1 Manifest.db are plain.
    let records = match backup.records(None) {
        Err(BackupError::PasswordRequired) => {
            let password = password.ok_or(BackupError::PasswordRequired)?;
            let keys = backup.unlock(password)?;
            backup.records(Some(&keys))?
        }
        other => other?,
    };
    Ok(records
        .into_iter()
        .map(|record| ListedFile {
            size: record.size(),
            kind: match record.kind() {
                ios::EntryKind::File => ListedKind::File,
                ios::EntryKind::Directory => ListedKind::Folder,
                ios::EntryKind::Symlink => ListedKind::Link,
                ios::EntryKind::Unknown => ListedKind::Other,
            },
            domain: record.domain,
            path: record.relative_path,
        })
        .collect())
}

/// The files and APKs the folder's manifest promises. Entries the manifest cannot vouch
/// for (damaged, or names that would leave the folder) are left out: verification
/// reports them.
fn list_android_folder(root: &Path) -> Result<Vec<ListedFile>, BackupError> {
    let manifest = android::folder::load_manifest(root)?;
    let (blobs, _problems) = manifest.expected_blobs();
    Ok(blobs
        .into_iter()
        .map(|blob| {
            // `display` is "files/<phone path>" or "apps/<package>/<apk>", built from
            // checked components.
            let (domain, path) = match blob.display.strip_prefix("apps/") {
                Some(rest) => split_first(rest),
                None => (
                    "files".to_owned(),
                    blob.display
                        .strip_prefix("files")
                        .unwrap_or(&blob.display)
                        .to_owned(),
                ),
            };
            ListedFile {
                domain,
                path,
                size: blob.size,
                kind: ListedKind::File,
            }
        })
        .collect())
}

fn list_ab(path: &Path, password: Option<&Password>) -> Result<Vec<ListedFile>, BackupError> {
    let (_summary, entries) = android::list_ab_entries(path, password)?;
    Ok(entries.iter().map(ab_entry).collect())
}

/// `apps/<package>/<rest>` belongs to the app; anything else to its first folder.
fn ab_entry(entry: &TarEntryInfo) -> ListedFile {
    let (domain, path) = match entry.package() {
        Some(package) => {
            let rest = entry.name["apps/".len() + package.len()..].trim_start_matches('/');
            (package.to_owned(), rest.to_owned())
        }
        None => split_first(&entry.name),
    };
    let kind = match entry.kind {
        android::EntryKind::File => ListedKind::File,
        android::EntryKind::Directory => ListedKind::Folder,
        android::EntryKind::Symlink | android::EntryKind::HardLink => ListedKind::Link,
        android::EntryKind::Other(_) => ListedKind::Other,
    };
    let size = if kind == ListedKind::File {
        entry.size
    } else {
        0
    };
    ListedFile {
        domain,
        path: path.trim_end_matches('/').to_owned(),
        size,
        kind,
    }
}

/// "a/b/c" → ("a", "b/c"); a name without a folder has an empty domain.
fn split_first(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest)) => (first.to_owned(), rest.to_owned()),
        None => (String::new(), name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_sim::make_backup::{Kind, Spec, make_backup};

    fn made(kind: Kind, password: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = Spec::new(kind);
        spec.files = 3;
        spec.file_size = 100;
        spec.password = password.map(str::to_owned);
        let out = dir.path().join(match kind {
            Kind::AndroidAb => "phone.ab",
            _ => "backup",
        });
        make_backup(&spec, &out).unwrap();
        (dir, out)
    }

    fn is_sorted(files: &[ListedFile]) -> bool {
        files
            .windows(2)
            .all(|w| (&w[0].domain, &w[0].path) <= (&w[1].domain, &w[1].path))
    }

    fn file_count(files: &[ListedFile]) -> usize {
        files.iter().filter(|f| f.kind == ListedKind::File).count()
    }

    #[test]
    fn iphone_backups_list_every_record_sorted() {
        for kind in [Kind::Ios, Kind::IosMbdb] {
            let dir = tempfile::tempdir().unwrap();
            let mut spec = Spec::new(kind);
            spec.files = 3;
            spec.file_size = 100;
            let made = make_backup(&spec, &dir.path().join("backup")).unwrap();
            let backup_kind = crate::backup::catalog::detect_kind(&made.path).unwrap();
            let files = list(&made.path, backup_kind).unwrap();
            assert_eq!(file_count(&files), made.files, "{kind:?}");
            let bytes: u64 = files.iter().map(|f| f.size).sum();
            assert_eq!(bytes, made.bytes, "{kind:?}");
            assert!(is_sorted(&files), "{kind:?}");
            assert!(
                files.iter().any(|f| f.kind == ListedKind::Folder),
                "{kind:?}"
            );
            assert!(files.iter().all(|f| !f.domain.is_empty()), "{kind:?}");
        }
    }

    #[test]
    fn an_encrypted_iphone_list_needs_its_password() {
        let (_dir, path) = made(Kind::Ios, Some("secret"));
        let (_plain_dir, plain) = made(Kind::Ios, None);
        assert!(matches!(
            list(&path, BackupKind::Ios),
            Err(BackupError::PasswordRequired)
        ));
        assert!(matches!(
            list_unlocked(&path, BackupKind::Ios, Some(&Password::new("nope"))),
            Err(BackupError::WrongPassword)
        ));
        let unlocked =
            list_unlocked(&path, BackupKind::Ios, Some(&Password::new("secret"))).unwrap();
        // The encrypted twin holds the same names and sizes as the plain backup.
        assert_eq!(unlocked, list(&plain, BackupKind::Ios).unwrap());
    }

    #[test]
    fn android_archives_list_by_app_and_need_a_password_when_encrypted() {
        let (_dir, path) = made(Kind::AndroidAb, None);
        let files = list(&path, BackupKind::AndroidAb).unwrap();
        assert!(is_sorted(&files));
        assert!(
            files
                .iter()
                .all(|f| !f.domain.starts_with("apps") && !f.path.starts_with('/')),
            "{files:#?}"
        );
        let (_summary, entries) = android::list_ab_entries(&path, None).unwrap();
        assert_eq!(files.len(), entries.len());

        let (_enc_dir, encrypted) = made(Kind::AndroidAb, Some("secret"));
        assert!(matches!(
            list(&encrypted, BackupKind::AndroidAb),
            Err(BackupError::PasswordRequired)
        ));
        let unlocked = list_unlocked(
            &encrypted,
            BackupKind::AndroidAb,
            Some(&Password::new("secret")),
        )
        .unwrap();
        assert_eq!(unlocked, files);
    }

    #[test]
    fn android_folders_list_phone_files_and_apks() {
        let (_dir, path) = made(Kind::AndroidFolder, None);
        let manifest = android::folder::load_manifest(&path).unwrap();
        let files = list(&path, BackupKind::AndroidFolder).unwrap();
        assert!(is_sorted(&files));
        let phone_files: Vec<_> = files.iter().filter(|f| f.domain == "files").collect();
        assert!(!phone_files.is_empty());
        assert_eq!(phone_files.len() as u64, manifest.file_count());
        assert!(
            files.len() > phone_files.len(),
            "the apps' APKs are listed too"
        );
        assert!(phone_files.iter().all(|f| f.path.starts_with('/')));
        assert!(
            files
                .iter()
                .filter(|f| f.domain != "files")
                .all(|f| f.path.ends_with(".apk") && !f.domain.contains('/')),
            "{files:#?}"
        );
    }

    #[test]
    fn entry_names_split_into_domain_and_path() {
        let entry = |name: &str, kind| TarEntryInfo {
            name: name.to_owned(),
            kind,
            size: 9,
            mode: 0o644,
            mtime: 0,
            link_target: None,
            unsafe_reason: None,
        };
        let file = ab_entry(&entry("apps/com.x/f/a.txt", android::EntryKind::File));
        assert_eq!(
            (file.domain.as_str(), file.path.as_str()),
            ("com.x", "f/a.txt")
        );
        assert_eq!(file.size, 9);
        let folder = ab_entry(&entry("shared/0/DCIM/", android::EntryKind::Directory));
        assert_eq!(
            (folder.domain.as_str(), folder.path.as_str(), folder.size),
            ("shared", "0/DCIM", 0)
        );
        let bare = ab_entry(&entry("loose", android::EntryKind::File));
        assert_eq!((bare.domain.as_str(), bare.path.as_str()), ("", "loose"));
    }

    /// Real backups from other tools, checked against their expected file lists.
    #[test]
    fn real_fixtures_list_as_expected() {
        let Some(fixtures) = plugback_sim::peers::shared_fixtures() else {
            return;
        };
        let sample = fixtures.join("ios/greatvovan_sample_backup");
        let files = list(&sample, BackupKind::Ios).unwrap();
        let expected = std::fs::read_to_string(
            fixtures.join("expected/ios_greatvovan_sample_backup.files.tsv"),
        )
        .unwrap();
        let mut want: Vec<(String, String, u64)> = expected
            .lines()
            .skip(1)
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                (
                    cols[6].to_owned(),
                    cols[7].to_owned(),
                    cols[2].parse().unwrap(),
                )
            })
            .collect();
        want.sort();
        let got: Vec<(String, String, u64)> = files
            .iter()
            .map(|f| (f.domain.clone(), f.path.clone(), f.size))
            .collect();
        assert_eq!(got, want);
        let link = files
            .iter()
            .find(|f| f.path == "timezone/localtime")
            .unwrap();
        assert_eq!(link.kind, ListedKind::Link);

        let encrypted = fixtures.join("ios/generated/encrypted_lowkdf/00008030-001A2B3C4D5E802E");
        let plain = fixtures.join("ios/generated/plain/00008030-001A2B3C4D5E802E");
        let unlocked = list_unlocked(
            &encrypted,
            BackupKind::Ios,
            Some(&Password::new("fixture-pw")),
        )
        .unwrap();
        assert_eq!(unlocked.len(), 22);
        assert_eq!(unlocked, list(&plain, BackupKind::Ios).unwrap());

        let bluec0re = fixtures.join("android/bluec0re/bluec0re_nonenc_compressed.ab");
        let apps = list(&bluec0re, BackupKind::AndroidAb).unwrap();
        assert!(
            apps.iter().any(|f| f.domain == "eu.bluec0re.android-backup"
                && f.path == "db/foo.db"
                && f.size == 8192),
            "{apps:#?}"
        );
    }
}
