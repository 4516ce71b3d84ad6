//! Finds the phone backups on this computer and describes each one cheaply.
//!
//! Listing reads plists and headers only: it never opens the file database, walks the
//! blobs or hashes anything, so fifty backups list in well under a second.

use super::summary::BackupStats;
use super::{BackupError, BackupKind, BackupSummary, android, ios};
use rayon::prelude::*;
use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that adds backup folders (a path list, like PATH).
pub const BACKUP_DIRS_ENV: &str = "PLUGBACK_BACKUP_DIRS";

/// Where Finder, iTunes and Plugback itself keep backups on this OS, whether or not the
/// folders exist yet.
pub fn standard_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if cfg!(target_os = "macos") {
        if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
            dirs.push(home.join("Library/Application Support/MobileSync/Backup"));
        }
    } else if cfg!(windows) {
        if let Some(appdata) = std::env::var_os("APPDATA") {
            dirs.push(PathBuf::from(appdata).join(r"Apple Computer\MobileSync\Backup"));
        }
        if let Some(profile) = std::env::var_os("USERPROFILE") {
            dirs.push(PathBuf::from(profile).join(r"Apple\MobileSync\Backup"));
        }
    }
    if let Some(own) = crate::settings::data_dir() {
        dirs.push(own.join("backups"));
    }
    dirs
}

/// Folders named in `PLUGBACK_BACKUP_DIRS`.
pub fn env_dirs() -> Vec<PathBuf> {
    std::env::var_os(BACKUP_DIRS_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Every folder to search, in order, without repeats: the standard places, the folders
/// the person added in settings, the environment, then `extra` (from `--dir`).
pub fn search_dirs(saved: &[PathBuf], extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = Vec::new();
    for dir in standard_dirs()
        .into_iter()
        .chain(saved.iter().cloned())
        .chain(env_dirs())
        .chain(extra.iter().cloned())
    {
        if !all.contains(&dir) {
            all.push(dir);
        }
    }
    all
}

/// The result of a scan: the backups, and the things that looked like backups but could
/// not be read (shown to the person rather than silently dropped).
#[derive(Debug, Default)]
pub struct Scan {
    pub backups: Vec<BackupSummary>,
    pub unreadable: Vec<(PathBuf, BackupError)>,
}

/// Lists the backups in `dirs`: each folder may be a backup itself or hold backups one
/// level down. Missing folders are skipped quietly (most people have only some of them).
/// Sorted most recent first; undated backups last.
pub fn scan(dirs: &[PathBuf]) -> Scan {
    let mut candidates: Vec<(PathBuf, BackupKind)> = Vec::new();
    // The same backup reached twice (a folder listed twice, or through a link) is listed once.
    let mut seen = HashSet::new();
    let mut add = |path: PathBuf, kind: BackupKind| {
        let key = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.insert(key) {
            candidates.push((path, kind));
        }
    };
    for dir in dirs {
        if let Some(kind) = detect_kind(dir) {
            add(dir.clone(), kind);
            continue;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        children.sort();
        for child in children {
            if let Some(kind) = detect_kind(&child) {
                add(child, kind);
            }
        }
    }
    let results: Vec<_> = candidates
        .into_par_iter()
        .map(|(path, kind)| (path.clone(), summarize(&path, kind)))
        .collect();
    let mut scan = Scan::default();
    for (path, result) in results {
        match result {
            Ok(summary) => scan.backups.push(summary),
            Err(err) => scan.unreadable.push((path, err)),
        }
    }
    sort_most_recent_first(&mut scan.backups);
    scan
}

pub fn sort_most_recent_first(backups: &mut [BackupSummary]) {
    backups.sort_by(|a, b| {
        b.date_unix
            .unwrap_or(i64::MIN)
            .cmp(&a.date_unix.unwrap_or(i64::MIN))
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// Describes one backup of a known kind (cheap).
pub fn summarize(path: &Path, kind: BackupKind) -> Result<BackupSummary, BackupError> {
    match kind {
        BackupKind::Ios | BackupKind::IosLegacyMbdb => ios::summarize(path),
        BackupKind::AndroidAb => android::summarize_ab(path),
        BackupKind::AndroidFolder => android::summarize_folder(path),
    }
}

/// Counts files and apps and measures the size on disk (reads manifests: call lazily).
pub fn stats(path: &Path, kind: BackupKind) -> Result<BackupStats, BackupError> {
    match kind {
        BackupKind::Ios | BackupKind::IosLegacyMbdb => ios::stats(path),
        BackupKind::AndroidAb => android::stats_ab(path),
        BackupKind::AndroidFolder => android::stats_folder(path),
    }
}

/// What kind of backup `path` is, from the names of its files and, for a lone file,
/// its first bytes. None when it is not a backup Plugback knows.
pub fn detect_kind(path: &Path) -> Option<BackupKind> {
    let meta = fs::metadata(path).ok()?;
    if meta.is_dir() {
        if path.join(android::FOLDER_MANIFEST).is_file() {
            return Some(BackupKind::AndroidFolder);
        }
        if path.join("Manifest.mbdb").is_file() && !path.join("Manifest.db").exists() {
            return Some(BackupKind::IosLegacyMbdb);
        }
        let ios_marker = [
            "Manifest.db",
            "Manifest.plist",
            "Info.plist",
            "Status.plist",
        ]
        .iter()
        .any(|name| path.join(name).is_file());
        return ios_marker.then_some(BackupKind::Ios);
    }
    if meta.is_file() && starts_with_ab_magic(path) {
        return Some(BackupKind::AndroidAb);
    }
    None
}

fn starts_with_ab_magic(path: &Path) -> bool {
    let mut head = [0u8; 15];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"ANDROID BACKUP\n")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn kinds_are_recognised_by_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("modern/Manifest.db"), b"");
        touch(&root.join("legacy/Manifest.mbdb"), b"mbdb\x05\x00");
        touch(&root.join("plists-only/Info.plist"), b"");
        touch(&root.join("android/plugback-android.json"), b"{}");
        touch(&root.join("phone.ab"), b"ANDROID BACKUP\n5\n1\nnone\n");
        touch(&root.join("notes.txt"), b"ANDROID BACKU");
        fs::create_dir_all(root.join("empty")).unwrap();

        assert_eq!(detect_kind(&root.join("modern")), Some(BackupKind::Ios));
        assert_eq!(
            detect_kind(&root.join("legacy")),
            Some(BackupKind::IosLegacyMbdb)
        );
        assert_eq!(
            detect_kind(&root.join("plists-only")),
            Some(BackupKind::Ios)
        );
        assert_eq!(
            detect_kind(&root.join("android")),
            Some(BackupKind::AndroidFolder)
        );
        assert_eq!(
            detect_kind(&root.join("phone.ab")),
            Some(BackupKind::AndroidAb)
        );
        assert_eq!(detect_kind(&root.join("notes.txt")), None);
        assert_eq!(detect_kind(&root.join("empty")), None);
        assert_eq!(detect_kind(&root.join("absent")), None);
    }

    #[test]
    fn search_dirs_keep_order_without_repeats() {
        let saved = vec![PathBuf::from("/a"), PathBuf::from("/b")];
        let extra = vec![PathBuf::from("/b"), PathBuf::from("/c")];
        let dirs = search_dirs(&saved, &extra);
        let tail: Vec<_> = dirs
            .iter()
            .filter(|d| d.starts_with("/a") || d.starts_with("/b") || d.starts_with("/c"))
            .collect();
        assert_eq!(tail, [Path::new("/a"), Path::new("/b"), Path::new("/c")]);
    }

    #[test]
    fn missing_folders_are_skipped_quietly() {
        let scan = scan(&[PathBuf::from("/definitely/not/here")]);
        assert!(scan.backups.is_empty());
        assert!(scan.unreadable.is_empty());
    }

    #[test]
    fn a_backup_reached_twice_is_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("phone.ab");
        touch(&backup, b"ANDROID BACKUP\n5\n1\nnone\n");
        let found = scan(&[
            dir.path().to_path_buf(),
            backup.clone(),
            dir.path().to_path_buf(),
        ]);
        assert_eq!(found.backups.len() + found.unreadable.len(), 1);
    }

    #[test]
    fn most_recent_first_and_undated_last() {
        let mut list = vec![
            BackupSummary::new("/x/undated".into(), BackupKind::Ios),
            BackupSummary::new("/x/old".into(), BackupKind::Ios),
            BackupSummary::new("/x/new".into(), BackupKind::AndroidAb),
        ];
        list[1].date_unix = Some(10);
        list[2].date_unix = Some(20);
        sort_most_recent_first(&mut list);
        let order: Vec<_> = list.iter().map(|b| b.path.to_str().unwrap()).collect();
        assert_eq!(order, ["/x/new", "/x/old", "/x/undated"]);
    }
}
