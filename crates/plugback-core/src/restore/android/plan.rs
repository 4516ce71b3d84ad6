//! What an Android restore sends: every file with its place on the phone, its size, mode
//! and mtime, known before anything is sent (the totals drive progress and preflight).
//!
//! Two sources: a Plugback Android backup folder (its `plugback-android.json` lists the
//! files; their data is under `files/<phone path>`), or any folder a person picks (a copy
//! of a phone's DCIM folder, say), mapped onto a phone folder. A plan can then be narrowed
//! to chosen phone folders.
//!
//! The backup is only ever read. Names are checked with the backup format's own rules
//! (`backup::safe_path`, `folder_manifest`): a backup whose file list names a place outside
//! it is refused as a whole, as it was made wrong or tampered with; a single damaged entry
//! or a missing file is left out and said so.

use crate::backup::android::FOLDER_MANIFEST;
use crate::backup::android::folder_manifest::{self, FileRecord, ManifestError};
use crate::backup::safe_path;
use crate::backup::verify::ProblemCode;
use crate::restore::RestoreError;
use serde::Deserialize;
use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The same bound `folder_manifest::load` applies: a list of millions of files is tens of
/// megabytes, past this the file is not a list. Read here once, so the checks and the
/// file records come from the same bytes.
const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;
const S_IFREG: u32 = 0o100_000;

/// One file to put on the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanItem {
    /// The file's data on this computer (inside the backup or the chosen folder).
    pub local: PathBuf,
    /// Where it goes on the phone ("/sdcard/DCIM/Camera/IMG_0001.jpg").
    pub phone_path: String,
    pub size: u64,
    /// Type and permission bits sent with the file (a regular file).
    pub mode: u32,
    /// Seconds since 1970, as the sync protocol carries them.
    pub mtime: u32,
}

/// A file of the source that will not be sent, and why, in words for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The phone path where known, else the name in the source.
    pub what: String,
    pub phone_path: Option<String>,
    pub reason: String,
}

/// Everything one restore sends, in order.
#[derive(Clone, Debug)]
pub struct FilePlan {
    /// The backup folder or the chosen folder.
    pub source: PathBuf,
    pub items: Vec<PlanItem>,
    /// Files of the source that cannot be sent (damaged entries, links, missing data).
    pub left_out: Vec<LeftOut>,
    /// Ask the phone to look for new photos, videos and music once the files are there.
    pub media_rescan: bool,
}

/// The part of the manifest this module reads beyond what `folder_manifest` exposes: the
/// raw file records, in order.
#[derive(Deserialize)]
struct FileList {
    files: Vec<serde_json::Value>,
}

impl FilePlan {
    /// Every file a Plugback Android backup folder holds, at the phone path its manifest
    /// records, with its mode and mtime.
    pub fn from_backup_folder(root: &Path) -> Result<FilePlan, RestoreError> {
        let manifest_path = root.join(FOLDER_MANIFEST);
        let bytes = read_manifest(&manifest_path)?;
        let invalid = |reason: String| RestoreError::Backup {
            path: manifest_path.clone(),
            source: io::Error::new(io::ErrorKind::InvalidData, reason),
        };
        let manifest = folder_manifest::parse(&bytes).map_err(|err| match err {
            ManifestError::Io(source) => RestoreError::Backup {
                path: manifest_path.clone(),
                source,
            },
            ManifestError::Invalid(reason) => invalid(reason),
        })?;
        let (blobs, problems) = manifest.expected_blobs();
        if let Some(unsafe_name) = problems.iter().find(|p| p.code == ProblemCode::UnsafePath) {
            return Err(RestoreError::UnsafeName {
                path: unsafe_name.path.clone(),
                why: "is named in the backup's file list but would reach outside the backup; \
                      this copy may have been tampered with"
                    .into(),
            });
        }
        let records: FileList =
            serde_json::from_slice(&bytes).map_err(|err| invalid(err.to_string()))?;
        // Entries that passed every check of the format, by their place in the folder.
        let mut accepted: HashSet<PathBuf> = blobs.into_iter().map(|b| b.relative).collect();
        let canonical_root = fs::canonicalize(root).map_err(|source| RestoreError::Backup {
            path: root.to_path_buf(),
            source,
        })?;

        let mut plan = FilePlan::new(root);
        for (index, value) in records.files.iter().enumerate() {
            let Ok(record) = serde_json::from_value::<FileRecord>(value.clone()) else {
                plan.leave_out(
                    format!("{FOLDER_MANIFEST} entry {}", index + 1),
                    None,
                    "its entry in the backup's file list is damaged",
                );
                continue;
            };
            let relative = safe_path::join_plain(
                Path::new(""),
                std::iter::once("files").chain(safe_path::phone_path_parts(&record.path)),
            );
            // Not accepted: damaged (a bad mode or checksum), or listed twice.
            let Some(relative) = relative.filter(|r| accepted.remove(r)) else {
                plan.leave_out(
                    record.path.clone(),
                    Some(record.path.clone()),
                    "its entry in the backup's file list is damaged or repeated",
                );
                continue;
            };
            let local = root.join(&relative);
            match check_backup_file(&local, &canonical_root, record.size) {
                Ok(()) => plan.items.push(PlanItem {
                    local,
                    phone_path: record.path.clone(),
                    size: record.size,
                    mode: record.mode,
                    mtime: clamp_mtime(record.mtime),
                }),
                Err(Check::Escapes) => {
                    return Err(RestoreError::UnsafeName {
                        path: format!("files{}", record.path),
                        why: "is a link that leads outside the backup".into(),
                    });
                }
                Err(Check::Unusable(reason)) => {
                    plan.leave_out(record.path.clone(), Some(record.path), &reason)
                }
            }
        }
        Ok(plan)
    }

    /// Every regular file under `folder`, placed under `phone_folder` with the same
    /// relative names ("DCIM copy/2024/a.jpg" onto "/sdcard/DCIM/Restored" gives
    /// "/sdcard/DCIM/Restored/2024/a.jpg"), with its mtime and permissions. Links are not
    /// followed; names a phone path cannot carry are left out.
    pub fn from_folder(folder: &Path, phone_folder: &str) -> Result<FilePlan, RestoreError> {
        let phone_folder = checked_phone_folder(phone_folder)?;
        let mut plan = FilePlan::new(folder);
        let mut pending = vec![(folder.to_path_buf(), phone_folder.clone())];
        let mut first = true;
        while let Some((dir, phone_dir)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                // The folder itself must be readable; a sub-folder that is not is said.
                Err(source) if first => {
                    return Err(RestoreError::Backup { path: dir, source });
                }
                Err(err) => {
                    plan.leave_out(
                        dir.display().to_string(),
                        None,
                        &format!("cannot be read: {err}"),
                    );
                    continue;
                }
            };
            first = false;
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(err) => {
                        plan.leave_out(
                            dir.display().to_string(),
                            None,
                            &format!("cannot be listed: {err}"),
                        );
                        continue;
                    }
                };
                let local = entry.path();
                let shown = local.display().to_string();
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    plan.leave_out(shown, None, "its name is not valid text for a phone");
                    continue;
                };
                let phone_path = format!("{phone_dir}/{name}");
                if let Some(why) = safe_path::phone_path_problem(&phone_path) {
                    plan.leave_out(shown, None, &format!("its place on the phone {why}"));
                    continue;
                }
                // The entry itself, never what a link points to.
                let meta = match fs::symlink_metadata(&local) {
                    Ok(meta) => meta,
                    Err(err) => {
                        plan.leave_out(shown, Some(phone_path), &format!("cannot be read: {err}"));
                        continue;
                    }
                };
                if meta.is_dir() {
                    pending.push((local, phone_path));
                } else if meta.is_file() {
                    plan.items.push(PlanItem {
                        local,
                        phone_path,
                        size: meta.len(),
                        mode: file_mode(&meta),
                        mtime: meta.modified().map_or(0, seconds_since_1970),
                    });
                } else {
                    plan.leave_out(
                        shown,
                        Some(phone_path),
                        "is a link or a special file; only regular files are restored",
                    );
                }
            }
        }
        plan.items.sort_by(|a, b| a.phone_path.cmp(&b.phone_path));
        Ok(plan)
    }

    /// Only the files under the chosen phone folders ("/sdcard/DCIM"). A folder must be an
    /// absolute phone path; one trailing `/` is accepted.
    pub fn only<S: AsRef<str>>(mut self, folders: &[S]) -> Result<FilePlan, RestoreError> {
        let folders: Vec<String> = folders
            .iter()
            .map(|f| checked_phone_folder(f.as_ref()))
            .collect::<Result<_, _>>()?;
        let chosen = |path: &str| folders.iter().any(|f| is_within(path, f));
        self.items.retain(|item| chosen(&item.phone_path));
        self.left_out
            .retain(|l| l.phone_path.as_deref().is_none_or(&chosen));
        Ok(self)
    }

    pub fn file_count(&self) -> u64 {
        self.items.len() as u64
    }

    /// Bytes the plan sends when nothing is on the phone yet.
    pub fn bytes_total(&self) -> u64 {
        self.items
            .iter()
            .fold(0u64, |sum, item| sum.saturating_add(item.size))
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn new(source: &Path) -> FilePlan {
        FilePlan {
            source: source.to_path_buf(),
            items: Vec::new(),
            left_out: Vec::new(),
            media_rescan: true,
        }
    }

    fn leave_out(&mut self, what: String, phone_path: Option<String>, reason: &str) {
        self.left_out.push(LeftOut {
            what,
            phone_path,
            reason: reason.to_string(),
        });
    }
}

fn read_manifest(path: &Path) -> Result<Vec<u8>, RestoreError> {
    let backup_error = |source| RestoreError::Backup {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(backup_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(backup_error)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(backup_error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, far more than any file list",
                MAX_MANIFEST_BYTES >> 20
            ),
        )));
    }
    Ok(bytes)
}

/// Why a backup's data file cannot be sent.
enum Check {
    /// It (or a folder on its way) is a link out of the backup.
    Escapes,
    /// Missing, not a regular file, or not the size the file list records.
    Unusable(String),
}

fn check_backup_file(local: &Path, canonical_root: &Path, size: u64) -> Result<(), Check> {
    let real = match fs::canonicalize(local) {
        Ok(real) => real,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(Check::Unusable(
                "its data is missing from the backup folder".into(),
            ));
        }
        Err(err) => return Err(Check::Unusable(format!("cannot be read: {err}"))),
    };
    if !real.starts_with(canonical_root) {
        return Err(Check::Escapes);
    }
    let meta =
        fs::metadata(&real).map_err(|err| Check::Unusable(format!("cannot be read: {err}")))?;
    if !meta.is_file() {
        return Err(Check::Unusable(
            "is not a regular file in the backup".into(),
        ));
    }
    if meta.len() != size {
        return Err(Check::Unusable(format!(
            "is {} bytes in the backup folder, but the backup's file list says {size}: it was \
             damaged or changed",
            meta.len()
        )));
    }
    Ok(())
}

/// A phone folder chosen by a person: an absolute phone path, one trailing `/` allowed.
fn checked_phone_folder(folder: &str) -> Result<String, RestoreError> {
    let trimmed = match folder.strip_suffix('/') {
        Some(rest) if !rest.is_empty() => rest,
        _ => folder,
    };
    match safe_path::phone_path_problem(trimmed) {
        None => Ok(trimmed.to_string()),
        Some(why) => Err(RestoreError::UnsafeName {
            path: folder.to_string(),
            why: why.to_string(),
        }),
    }
}

/// True when `path` is `folder` or inside it, component by component.
fn is_within(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The sync protocol carries 32-bit seconds: earlier than 1970 is sent as 1970, later
/// than 2106 as 2106.
fn clamp_mtime(mtime: i64) -> u32 {
    u32::try_from(mtime.max(0)).unwrap_or(u32::MAX)
}

fn seconds_since_1970(time: SystemTime) -> u32 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    (meta.permissions().mode() & 0o7777) | S_IFREG
}

/// Without Unix permissions, what adb gives a file it is told nothing about.
#[cfg(not(unix))]
fn file_mode(_meta: &fs::Metadata) -> u32 {
    crate::device::android::sync::DEFAULT_FILE_MODE
}

#[cfg(test)]
mod tests {
    use super::*;

    const S_IFMT: u32 = 0o170_000;
    const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC_SHA: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn write(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn backup(files: serde_json::Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let manifest = serde_json::json!({
            "format": "plugback-android-backup", "version": 1,
            "files": files, "apps": []
        });
        write(
            &dir.path().join(FOLDER_MANIFEST),
            manifest.to_string().as_bytes(),
        );
        dir
    }

    fn record(path: &str, size: u64, sha: &str) -> serde_json::Value {
        serde_json::json!({"path": path, "size": size, "mtime": 1_700_000_000, "mode": 0o100640, "sha256": sha})
    }

    #[test]
    fn a_backup_folder_gives_its_files_with_size_mode_and_mtime() {
        let dir = backup(serde_json::json!([
            record("/sdcard/DCIM/a.jpg", 3, ABC_SHA),
            record("/sdcard/Music/empty.ogg", 0, EMPTY_SHA),
        ]));
        write(&dir.path().join("files/sdcard/DCIM/a.jpg"), b"abc");
        write(&dir.path().join("files/sdcard/Music/empty.ogg"), b"");
        let plan = FilePlan::from_backup_folder(dir.path()).unwrap();
        assert!(plan.left_out.is_empty(), "{:?}", plan.left_out);
        assert_eq!(plan.file_count(), 2);
        assert_eq!(plan.bytes_total(), 3);
        assert_eq!(
            plan.items[0],
            PlanItem {
                local: dir.path().join("files/sdcard/DCIM/a.jpg"),
                phone_path: "/sdcard/DCIM/a.jpg".into(),
                size: 3,
                mode: 0o100640,
                mtime: 1_700_000_000,
            }
        );
        let only = plan.only(&["/sdcard/Music/"]).unwrap();
        assert_eq!(only.items.len(), 1);
        assert_eq!(only.items[0].phone_path, "/sdcard/Music/empty.ogg");
    }

    #[test]
    fn damaged_or_missing_entries_are_left_out_and_said() {
        let mut directory = record("/sdcard/dir", 0, EMPTY_SHA);
        directory["mode"] = serde_json::json!(0o40755);
        let dir = backup(serde_json::json!([
            record("/sdcard/ok.txt", 3, ABC_SHA),
            record("/sdcard/missing.txt", 3, ABC_SHA),
            record("/sdcard/short.txt", 3, ABC_SHA),
            {"path": "/sdcard/no-size", "mtime": 1, "mode": 33188, "sha256": ABC_SHA},
            directory,
            record("/sdcard/ok.txt", 3, ABC_SHA),
        ]));
        write(&dir.path().join("files/sdcard/ok.txt"), b"abc");
        write(&dir.path().join("files/sdcard/short.txt"), b"ab");
        let plan = FilePlan::from_backup_folder(dir.path()).unwrap();
        let sent: Vec<_> = plan.items.iter().map(|i| i.phone_path.as_str()).collect();
        assert_eq!(sent, ["/sdcard/ok.txt"]);
        let reasons: Vec<_> = plan
            .left_out
            .iter()
            .map(|l| (l.what.as_str(), l.reason.split(':').next().unwrap_or("")))
            .collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(reasons[0].1.contains("missing"), "{reasons:?}");
        assert!(reasons[1].1.contains("2 bytes"), "{reasons:?}");
        assert!(reasons[2].0.contains("entry 4"), "{reasons:?}");
        assert!(reasons[3].1.contains("damaged"), "{reasons:?}");
        assert!(reasons[4].1.contains("repeated"), "{reasons:?}");
    }

    #[test]
    fn a_backup_naming_a_place_outside_itself_is_refused_whole() {
        let dir = backup(serde_json::json!([
            record("/sdcard/ok.txt", 3, ABC_SHA),
            record("/sdcard/../../etc/passwd", 3, ABC_SHA),
        ]));
        write(&dir.path().join("files/sdcard/ok.txt"), b"abc");
        assert!(matches!(
            FilePlan::from_backup_folder(dir.path()),
            Err(RestoreError::UnsafeName { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_data_file_linking_out_of_the_backup_is_refused_whole() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("secret"), b"abc");
        let dir = backup(serde_json::json!([record("/sdcard/a.txt", 3, ABC_SHA)]));
        fs::create_dir_all(dir.path().join("files/sdcard")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("files/sdcard/a.txt"),
        )
        .unwrap();
        match FilePlan::from_backup_folder(dir.path()) {
            Err(RestoreError::UnsafeName { path, .. }) => assert_eq!(path, "files/sdcard/a.txt"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_manifest_that_is_not_one_is_a_backup_error() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join(FOLDER_MANIFEST), b"{not json");
        assert!(matches!(
            FilePlan::from_backup_folder(dir.path()),
            Err(RestoreError::Backup { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            FilePlan::from_backup_folder(empty.path()),
            Err(RestoreError::Backup { .. })
        ));
    }

    #[test]
    fn a_plain_folder_maps_onto_the_phone_folder() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("2024/a.jpg"), b"abc");
        write(&dir.path().join("b c.txt"), b"x");
        let plan = FilePlan::from_folder(dir.path(), "/sdcard/DCIM/Restored/").unwrap();
        let placed: Vec<_> = plan
            .items
            .iter()
            .map(|i| (i.phone_path.as_str(), i.size))
            .collect();
        assert_eq!(
            placed,
            [
                ("/sdcard/DCIM/Restored/2024/a.jpg", 3),
                ("/sdcard/DCIM/Restored/b c.txt", 1)
            ]
        );
        assert!(plan.items.iter().all(|i| i.mode & S_IFMT == S_IFREG));
        assert!(plan.items.iter().all(|i| i.mtime > 1_600_000_000));
        for bad in ["sdcard/x", "/sdcard/../etc", "/sdcard//x", "", "/"] {
            assert!(
                matches!(
                    FilePlan::from_folder(dir.path(), bad),
                    Err(RestoreError::UnsafeName { .. })
                ),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            FilePlan::from_folder(&dir.path().join("nothing"), "/sdcard/x"),
            Err(RestoreError::Backup { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_and_unusable_names_in_a_plain_folder_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("real.txt"), b"abc");
        write(&dir.path().join("back\\slash.txt"), b"abc");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let plan = FilePlan::from_folder(dir.path(), "/sdcard/Download").unwrap();
        assert_eq!(plan.items.len(), 1);
        assert_eq!(plan.items[0].phone_path, "/sdcard/Download/real.txt");
        assert_eq!(plan.left_out.len(), 2, "{:?}", plan.left_out);
    }

    #[test]
    fn only_matches_whole_folder_names() {
        assert!(is_within("/sdcard/DCIM/a.jpg", "/sdcard/DCIM"));
        assert!(is_within("/sdcard/DCIM", "/sdcard/DCIM"));
        assert!(!is_within("/sdcard/DCIMx/a.jpg", "/sdcard/DCIM"));
        assert!(!is_within("/sdcard/Pictures/a.jpg", "/sdcard/DCIM"));
        assert_eq!(clamp_mtime(-5), 0);
        assert_eq!(clamp_mtime(i64::MAX), u32::MAX);
        assert_eq!(clamp_mtime(1_700_000_000), 1_700_000_000);
    }
}
