//! Gathering the facts the checklist needs: the backup (read only), the phone (as the
//! device layer last read it), Find My, the computer.

use super::checks::{Facts, PlainFolder};
use super::power::PowerSource;
use crate::backup::android::apk_manifest::{self, AppMinSdk};
use crate::backup::catalog;
use crate::backup::verify::{self, ProgressReporter, VerifyOptions};
use crate::device::health::HealthReport;
use crate::device::usb::{UsbPresence, join};
use crate::device::{Device, Platform};
use crate::jobs::KeepAwake;
use crate::restore::android::{AppPlan, FilePlan};
use crate::secret::Password;
use std::path::Path;

/// Reads the facts for restoring `backup` to `device`. `find_my` is what the iPhone said
/// (None for Android or when it did not say); `health` a health check run just before.
pub fn gather(
    backup: &Path,
    password: Option<&Password>,
    device: &Device,
    find_my: Option<bool>,
    health: Option<&HealthReport>,
    awake: &dyn KeepAwake,
) -> Facts {
    let kind = catalog::detect_kind(backup);
    let summary = kind
        .and_then(|kind| catalog::summarize(backup, kind).ok())
        .unwrap_or_else(|| {
            crate::backup::BackupSummary::new(
                backup.to_path_buf(),
                kind.unwrap_or(crate::backup::BackupKind::Ios),
            )
        });
    let plain_folder = (kind.is_none() && device.platform == Platform::Android && backup.is_dir())
        .then(|| plain_folder(backup))
        .flatten();
    let options = VerifyOptions::quick().with_password(password.cloned());
    let verify = match plain_folder {
        // Nothing to verify a folder of files against; its item says so.
        Some(_) => Err("a folder of files, not a backup".to_string()),
        None => {
            verify::verify(backup, &options, &ProgressReporter::silent()).map_err(|e| e.to_string())
        }
    };
    let restore_bytes = match &plain_folder {
        Some(folder) => Some(folder.bytes),
        None => verify
            .as_ref()
            .ok()
            .map(|r| r.stats.bytes_expected)
            .filter(|b| *b > 0)
            .or(summary.total_bytes),
    };
    let presence = UsbPresence::presence();
    Facts {
        backup: summary,
        verify,
        password_given: password.is_some(),
        restore_bytes,
        device: device.clone(),
        find_my,
        usb: join::find(presence.phones(), device).cloned(),
        health: health.map(|h| (h.grade, h.findings.clone())),
        power: PowerSource::current(),
        keep_awake: awake
            .acquire("Plugback checks it can keep this computer awake")
            .map(drop),
        plain_folder,
        app_min_sdk: match kind {
            Some(crate::backup::BackupKind::AndroidFolder) => app_min_sdk(backup),
            _ => Vec::new(),
        },
    }
}

/// The lowest Android each app of an Android backup folder installs on, from its APKs.
/// A backup whose app list cannot be read gives none: the backup's own item says why.
fn app_min_sdk(backup: &Path) -> Vec<AppMinSdk> {
    let Ok(plan) = AppPlan::from_backup_folder(backup) else {
        return Vec::new();
    };
    plan.apps
        .iter()
        .map(|app| {
            let apks: Vec<_> = app.apks.iter().map(|apk| apk.local.clone()).collect();
            apk_manifest::app_min_sdk(&app.package, &apks)
        })
        .collect()
}

/// What a plain folder of files holds, as the restore will plan it (the phone folder it
/// goes to does not change what is sent); None when the folder cannot be read at all.
fn plain_folder(folder: &Path) -> Option<PlainFolder> {
    let plan = FilePlan::from_folder(folder, "/sdcard/Restored").ok()?;
    Some(PlainFolder {
        files: plan.file_count(),
        bytes: plan.bytes_total(),
        left_out: plan.left_out.len() as u64,
    })
}
