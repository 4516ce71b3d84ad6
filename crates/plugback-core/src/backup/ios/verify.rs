//! Quick and deep verification of iPhone backups.
//!
//! Order matters: the plists first (they say whether the backup is encrypted), then the
//! password (before anything that needs it), then the file list, then the data.
//! Everything wrong with the backup is a problem in the report; `Err` is kept for
//! "could not verify at all" (not a backup, cancelled).

use super::deep;
use super::files::{FileRecord, Layout};
use super::folder::IosBackup;
use super::keybag::UnlockedKeys;
use super::manifest_db::{MANIFEST_DB, ManifestDb};
use super::mbdb::{self, MANIFEST_MBDB};
use super::plists::{BackupPlists, INFO_PLIST, MANIFEST_PLIST, PlistFile, STATUS_PLIST};
use super::record_checks;
use super::walk::{self, BlobScan};
use crate::backup::verify::{
    Depth, Problem, ProblemCode, ProgressReporter, VerifyOptions, VerifyReport,
};
use crate::backup::{BackupError, BackupKind};
use crate::cancel::CancelToken;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub fn verify(
    root: &Path,
    kind: BackupKind,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    if !root.is_dir() {
        return Err(BackupError::NotABackup {
            path: root.to_path_buf(),
        });
    }
    let layout = match kind {
        BackupKind::IosLegacyMbdb => Layout::Mbdb,
        _ => Layout::ManifestDb,
    };
    let mut report = VerifyReport::new(kind, options.depth);
    let backup = IosBackup::with_plists(root, layout, BackupPlists::read(root));
    check_plists(backup.plists(), &mut report);
    options.check_cancel()?;

    let encryption = check_encryption(&backup, options, &mut report);
    let encrypted = !matches!(encryption, Encryption::Plain);
    let keys = match encryption {
        Encryption::Unlocked(keys) => Some(keys),
        Encryption::Plain | Encryption::Locked => None,
    };
    report.stats.encrypted = encrypted;
    options.check_cancel()?;

    let Some(list) = open_file_list(&backup, encrypted, keys.as_ref(), &mut report) else {
        return Ok(report);
    };
    options.check_cancel()?;

    let listing = read_list_and_folder(&backup, list, &options.cancel);
    options.check_cancel()?;
    let name = file_list_name(layout);
    if !listing.damage.is_empty() {
        report.push(Problem::error(
            ProblemCode::ManifestDbCorrupt,
            name,
            format!("Manifest.db fails its integrity check ({}). Copy the backup again from its source; without a sound file list the phone may not restore from it.", first_findings(&listing.damage)),
        ));
    }
    let records = match listing.records {
        Ok(records) => records,
        Err(e) => {
            report.push(file_list_problem(&e, name));
            return Ok(report);
        }
    };
    let scan = match listing.scan {
        Ok(scan) => scan,
        Err(BackupError::Cancelled) => return Err(BackupError::Cancelled),
        Err(e) => {
            report.push(Problem::error(
                ProblemCode::Unreadable,
                "",
                format!("Plugback could not list the backup folder ({e}), so no file was checked. Check that the drive is connected and that your account can read the folder."),
            ));
            return Ok(report);
        }
    };
    let readable = record_checks::check(layout, encrypted, &records, &scan, &mut report);
    options.check_cancel()?;

    if options.depth == Depth::Deep {
        let target = deep::Backup {
            root,
            layout,
            encrypted,
            records: &records,
            keys: keys.as_ref(),
        };
        deep::read_all(&target, &readable, options, progress, &mut report)?;
    }
    Ok(report)
}

/// Problems with the three plists. Severity follows what a restore needs:
/// - Manifest.plist is written by the phone and holds the encryption flag and the keys:
///   without it the backup cannot be restored or decrypted, so any fault is an error.
/// - Info.plist is written by the computer and only describes the phone: a fault is a
///   warning (the data is all there).
/// - Status.plist records whether the backup finished. Absent or unreadable, Plugback
///   cannot tell, which is a warning; present and saying "not finished" is an error.
fn check_plists(plists: &BackupPlists, report: &mut VerifyReport) {
    plist_outcome(
        &plists.manifest,
        MANIFEST_PLIST,
        true,
        "It holds the backup's encryption settings and keys: without it the phone cannot restore from this backup.",
        report,
    );
    plist_outcome(
        &plists.info,
        INFO_PLIST,
        false,
        "It only describes the phone, so the data can still be checked and restored.",
        report,
    );
    plist_outcome(
        &plists.status,
        STATUS_PLIST,
        false,
        "It says whether the backup finished; without it Plugback cannot tell.",
        report,
    );

    if let Some(manifest) = plists.manifest.get()
        && manifest.is_encrypted.is_none()
    {
        report.push(Problem::warning(
            ProblemCode::PlistUnreadable,
            MANIFEST_PLIST,
            "Manifest.plist does not say whether the backup is encrypted (it has no IsEncrypted entry), so Plugback treats it as not encrypted. If the phone's data was encrypted, copy the backup again from its source.",
        ));
    }
    if let Some(status) = plists.status.get() {
        match status.snapshot_state.as_deref() {
            Some("finished") => {}
            Some(state) => report.push(Problem::error(
                ProblemCode::SnapshotUnfinished,
                STATUS_PLIST,
                format!("Status.plist says the backup stopped before it finished (state \"{state}\"), so files may be missing. Make a new backup and keep the phone plugged in and unlocked until it finishes."),
            )),
            None => report.push(Problem::warning(
                ProblemCode::SnapshotUnfinished,
                STATUS_PLIST,
                "Status.plist does not say whether the backup finished (it has no SnapshotState). If the backup was interrupted, make a new one and keep the phone plugged in until it finishes.",
            )),
        }
    }
}

fn plist_outcome<T>(
    file: &PlistFile<T>,
    name: &str,
    essential: bool,
    why_it_matters: &str,
    report: &mut VerifyReport,
) {
    let (code, what) = match file {
        PlistFile::Read(_) => return,
        PlistFile::Missing => (
            ProblemCode::MissingFile,
            format!("{name} is missing from the backup folder."),
        ),
        PlistFile::Empty => (
            ProblemCode::EmptyFile,
            format!("{name} is empty (0 bytes), as if a copy ran out of space."),
        ),
        PlistFile::Unreadable(why) => (ProblemCode::PlistUnreadable, format!("{name} {why}.")),
    };
    let message =
        format!("{what} {why_it_matters} Copy the whole backup folder again from its source.");
    report.push(if essential {
        Problem::error(code, name, message)
    } else {
        Problem::warning(code, name, message)
    });
}

/// How the backup's data can be read.
enum Encryption {
    Plain,
    /// Encrypted, and the keys cannot be used (no password, a wrong one, damaged keys).
    Locked,
    Unlocked(UnlockedKeys),
}

/// Checks the keys and the password before anything else that needs them; the problem
/// says why the backup stays locked and what was skipped.
fn check_encryption(
    backup: &IosBackup,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Encryption {
    let Some(manifest) = backup.manifest().filter(|m| m.encrypted()) else {
        return Encryption::Plain;
    };
    let skipped = match backup.layout() {
        Layout::ManifestDb => "Its file list and files were not checked.",
        Layout::Mbdb => "Its files were checked for presence and size, but not decrypted.",
    };
    if manifest.backup_keybag.is_none() {
        // Nothing to decrypt with: whatever Manifest.plist claims, the data can only be
        // checked as it is stored.
        report.push(Problem::error(
            ProblemCode::PlistUnreadable,
            MANIFEST_PLIST,
            "Manifest.plist says the backup is encrypted but holds none of its keys (no BackupKeyBag), so the phone could not restore it. Plugback checked the files as they are stored. Copy the backup again from its source.",
        ));
        return Encryption::Plain;
    }
    let keybag = match backup.keybag() {
        Ok(keybag) => keybag,
        Err(e) => {
            report.push(Problem::error(
                ProblemCode::PlistUnreadable,
                MANIFEST_PLIST,
                format!("The backup's keys in Manifest.plist are damaged ({e}), so no password can open it. {skipped} Copy the backup again from its source."),
            ));
            return Encryption::Locked;
        }
    };
    let Some(password) = &options.password else {
        report.push(Problem::error(
            ProblemCode::PasswordRequired,
            "",
            format!("This backup is encrypted and no password was given. {skipped} Enter the backup password (the one set in Finder or iTunes, not the phone's passcode) to check everything."),
        ));
        return Encryption::Locked;
    };
    match keybag.unlock(password) {
        Ok(keys) => Encryption::Unlocked(keys),
        Err(BackupError::WrongPassword) => {
            report.push(Problem::error(
                ProblemCode::WrongPassword,
                "",
                format!("The password does not open this backup. {skipped} Try again, watching capitals and keyboard layout; it is the backup password, not the phone's passcode."),
            ));
            Encryption::Locked
        }
        Err(e) => {
            report.push(Problem::error(
                ProblemCode::PlistUnreadable,
                MANIFEST_PLIST,
                format!("The backup's keys in Manifest.plist cannot be used ({e}). {skipped} Copy the backup again from its source."),
            ));
            Encryption::Locked
        }
    }
}

/// The file list, opened but not yet read.
enum FileList {
    Db(ManifestDb),
    Mbdb(PathBuf),
}

/// Opens the file list, reporting why not when it cannot be.
fn open_file_list(
    backup: &IosBackup,
    encrypted: bool,
    keys: Option<&UnlockedKeys>,
    report: &mut VerifyReport,
) -> Option<FileList> {
    let path = backup.file_list_path();
    let name = file_list_name(backup.layout());
    let consequence = "it lists every file of the backup, so none could be checked and the phone cannot restore from it. Copy the whole backup folder again from its source.";
    match fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            report.push(Problem::error(
                ProblemCode::MissingFile,
                name,
                format!("{name} is missing: {consequence}"),
            ));
            return None;
        }
        Err(e) => {
            report.push(Problem::error(
                ProblemCode::Unreadable,
                name,
                format!("{name} cannot be read ({e}): {consequence}"),
            ));
            return None;
        }
        Ok(meta) if meta.len() == 0 => {
            report.push(Problem::error(
                ProblemCode::EmptyFile,
                name,
                format!("{name} is empty (0 bytes): {consequence}"),
            ));
            return None;
        }
        Ok(_) => {}
    }
    match backup.layout() {
        Layout::Mbdb => Some(FileList::Mbdb(path)),
        Layout::ManifestDb => match backup.open_manifest_db(keys) {
            Ok(db) => Some(FileList::Db(db)),
            // Already reported as password-required or wrong-password.
            Err(BackupError::PasswordRequired) if encrypted => None,
            Err(e) => {
                report.push(file_list_problem(&e, name));
                None
            }
        },
    }
}

fn file_list_name(layout: Layout) -> &'static str {
    match layout {
        Layout::ManifestDb => MANIFEST_DB,
        Layout::Mbdb => MANIFEST_MBDB,
    }
}

/// What reading the file list and listing the folder found.
struct Listing {
    records: Result<Vec<FileRecord>, BackupError>,
    scan: Result<BlobScan, BackupError>,
    /// What `PRAGMA integrity_check` reported (Manifest.db only).
    damage: Vec<String>,
}

/// The first few of SQLite's findings, and how many more: a damaged index yields one
/// line per row, which would bury the advice.
fn first_findings(findings: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = findings[..findings.len().min(SHOWN)].join("; ");
    if findings.len() > SHOWN {
        text.push_str(&format!("; and {} more", findings.len() - SHOWN));
    }
    text
}

/// Reads the file list, lists the blobs and checks the database's integrity, side by
/// side: on a 100k-file backup each is a sizeable part of a quick verify.
fn read_list_and_folder(backup: &IosBackup, list: FileList, cancel: &CancelToken) -> Listing {
    let (root, layout) = (backup.root(), backup.layout());
    std::thread::scope(|scope| {
        let mut damage = Vec::new();
        let mut integrity = None;
        if let FileList::Db(db) = &list {
            if db.in_memory() {
                damage = db.integrity_problems();
            } else {
                // A second read-only connection, so the check runs alongside the reading.
                let path = db.path().to_path_buf();
                integrity = Some(scope.spawn(move || match ManifestDb::open_plain(&path) {
                    Ok(db) => db.integrity_problems(),
                    Err(e) => vec![e.to_string()],
                }));
            }
        }
        let (records, scan) = rayon::join(
            move || match list {
                FileList::Db(db) => db.records(),
                FileList::Mbdb(path) => mbdb::read(&path),
            },
            || walk::scan_blobs(root, layout, cancel),
        );
        if let Some(handle) = integrity {
            damage = handle
                .join()
                .unwrap_or_else(|_| vec!["the integrity check stopped unexpectedly".to_owned()]);
        }
        Listing {
            records,
            scan,
            damage,
        }
    })
}

fn file_list_problem(error: &BackupError, name: &str) -> Problem {
    let (code, path) = match error {
        BackupError::DecryptFailed { .. } => (ProblemCode::DecryptFailed, name),
        BackupError::PlistUnreadable { .. } | BackupError::Malformed { .. } => {
            (ProblemCode::PlistUnreadable, MANIFEST_PLIST)
        }
        BackupError::Io { .. } => (ProblemCode::Unreadable, name),
        _ => (ProblemCode::ManifestDbCorrupt, name),
    };
    Problem::error(
        code,
        path,
        format!(
            "The backup's file list cannot be read: {error}. No file could be checked. Copy the backup again from its source."
        ),
    )
}
