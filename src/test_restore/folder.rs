//! A Plugback Android backup folder restored into a simulated Android phone, as
//! `plugback restore` does it: the files through the sync restore, then the apps through
//! the package manager. Then every file on the phone is checked against the SHA-256 the
//! backup's file list promises (the restore itself checks sizes, not contents, so a file
//! damaged inside the backup is caught here), and every app's installed APKs against the
//! backup's.

use super::android::AttachedPhone;
use super::digest;
use super::{LISTED, TestRestoreError, TestRestoreReport, push};
use plugback_core::backup::android::folder_manifest::{self, ManifestError};
use plugback_core::cancel::CancelToken;
use plugback_core::restore::android::{AppPlan, FilePlan, LeftOut, restore_apps, restore_files};
use plugback_core::restore::{RestoreError, Sink};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

const COMPARED: &str = "every file of the backup with the SHA-256 its file list records, on the \
                        simulated Android phone's storage; every app's installed APKs with the \
                        backup's";

/// Fingerprints of the phone's storage: path relative to DATA → SHA-256.
type Fingerprints = BTreeMap<PathBuf, [u8; 32]>;

pub(super) fn run(
    backup: &Path,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    // The plans as `plugback restore` builds them for a whole backup, and what the file
    // list promises, before any phone starts: a backup refused as a whole is told first.
    let files = FilePlan::from_backup_folder(backup)?;
    let apps = AppPlan::from_backup_folder(backup)?;
    let promised = promised_files(backup)?;

    let needed = files.bytes_total().saturating_add(apps.bytes_total());
    let phone = AttachedPhone::start(
        |config| {
            config.free_bytes = config.free_bytes.max(needed.saturating_mul(2));
            config.total_bytes = config.total_bytes.max(config.free_bytes.saturating_mul(2));
        },
        cancel,
    )?;
    let sent = restore_files(phone.server(), phone.serial(), &files, sink, cancel)?;
    let mut bytes = sent.bytes_sent;
    if !apps.is_empty() {
        match restore_apps(phone.server(), phone.serial(), &apps, sink, cancel) {
            Ok(outcome) => bytes += outcome.bytes_sent,
            // Every app refused: the comparison names them all.
            Err(RestoreError::AppNotInstalled { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }

    let on_phone = digest::tree(phone.data_dir(), cancel)
        .map_err(|err| err.into_error(TestRestoreError::simulator))?;
    let mut report = TestRestoreReport::new(COMPARED);
    report.bytes = bytes;
    let claimed = compare_files(&phone, backup, &files, &promised, &on_phone, &mut report);
    compare_apps(&apps, &on_phone, &mut report);
    for path in on_phone.keys() {
        if path.starts_with("sdcard") && !claimed.contains(path) {
            push(&mut report.unexpected, &phone_name(path));
        }
    }
    report.settle();
    Ok(report)
}

/// The SHA-256 the backup's file list records for each of its data files, by their place
/// in the backup folder.
fn promised_files(backup: &Path) -> Result<HashMap<PathBuf, [u8; 32]>, RestoreError> {
    let manifest = folder_manifest::load(backup).map_err(|err| RestoreError::Backup {
        path: backup.join(plugback_core::backup::android::FOLDER_MANIFEST),
        source: match err {
            ManifestError::Io(source) => source,
            ManifestError::Invalid(reason) => {
                std::io::Error::new(std::io::ErrorKind::InvalidData, reason)
            }
        },
    })?;
    let (blobs, _) = manifest.expected_blobs();
    Ok(blobs
        .into_iter()
        .map(|blob| (blob.relative, blob.sha256))
        .collect())
}

/// Each file of the plan against the phone; the files it left out are missing. Returns
/// the places on the phone the backup's files account for.
fn compare_files(
    phone: &AttachedPhone,
    backup: &Path,
    files: &FilePlan,
    promised: &HashMap<PathBuf, [u8; 32]>,
    on_phone: &Fingerprints,
    report: &mut TestRestoreReport,
) -> HashSet<PathBuf> {
    let mut claimed = HashSet::new();
    report.files_expected = files.items.len() as u64 + files.left_out.len() as u64;
    for item in &files.items {
        let promise = item
            .local
            .strip_prefix(backup)
            .ok()
            .and_then(|relative| promised.get(relative));
        let place = phone.place_of(&item.phone_path);
        let arrived = place.as_ref().and_then(|place| on_phone.get(place));
        match (arrived, promise) {
            (None, _) => push(&mut report.missing, &item.phone_path),
            (Some(got), Some(promise)) if got == promise => report.files_intact += 1,
            (Some(_), _) => push(&mut report.different, &item.phone_path),
        }
        claimed.extend(place);
    }
    for left in &files.left_out {
        push(
            &mut report.missing,
            left.phone_path.as_deref().unwrap_or(&left.what),
        );
        note_left_out(report, left);
    }
    claimed
}

/// Each app of the plan: installed, with exactly the backup's APKs (a split app's APKs
/// are matched as a set, as the phone names them its own way). Apps the plan left out
/// are missing.
fn compare_apps(apps: &AppPlan, on_phone: &Fingerprints, report: &mut TestRestoreReport) {
    report.apps_expected = apps.apps.len() as u64 + apps.left_out.len() as u64;
    for app in &apps.apps {
        let folder = Path::new("data/app").join(&app.package);
        let mut installed: Vec<Option<&[u8; 32]>> = on_phone
            .iter()
            .filter(|(path, _)| path.starts_with(&folder))
            .map(|(_, hash)| Some(hash))
            .collect();
        // An APK whose digest the plan does not know matches nothing installed.
        let mut expected: Vec<Option<&[u8; 32]>> =
            app.apks.iter().map(|apk| apk.sha256.as_ref()).collect();
        installed.sort();
        expected.sort();
        let name = format!("app {}", app.package);
        if installed.is_empty() {
            push(&mut report.missing, &name);
        } else if installed == expected {
            report.apps_intact += 1;
        } else {
            push(&mut report.different, &name);
        }
    }
    for left in &apps.left_out {
        push(&mut report.missing, &format!("app {}", left.what));
        note_left_out(report, left);
    }
}

fn note_left_out(report: &mut TestRestoreReport, left: &LeftOut) {
    if report.left_out.len() < LISTED {
        report
            .left_out
            .push(format!("{}: {}", left.what, left.reason));
    }
}

/// The phone path of a place in the shared storage ("sdcard/DCIM/a.jpg" →
/// "/sdcard/DCIM/a.jpg").
fn phone_name(place: &Path) -> String {
    let parts: Vec<String> = place
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("/{}", parts.join("/"))
}
