//! iPhone backups as Finder and iTunes write them (modern Manifest.db layout, and the
//! legacy Manifest.mbdb layout), plain or encrypted.
//!
//! - `plists`: Info.plist, Manifest.plist, Status.plist.
//! - `manifest_db`, `mbfile`: the iOS 10+ file list and its NSKeyedArchiver records.
//! - `mbdb`: the file list of iOS 9 and earlier.
//! - `keybag`, `crypto`: passwords, class keys and decryption.
//! - `files`: one entry of a file list, its fileID and where its data lives.
//! - `folder`: `IosBackup`, a backup folder opened for reading.
//! - `verify`: quick and deep verification.

mod bplist;
pub mod crypto;
mod deep;
pub mod files;
pub mod folder;
pub mod keybag;
pub mod manifest_db;
pub mod mbdb;
pub mod mbfile;
pub mod plist_read;
pub mod plists;
mod record_checks;
pub mod verify;
mod walk;

pub use files::{EntryKind, FileMeta, FileRecord, Layout};
pub use folder::IosBackup;
pub use keybag::{Keybag, UnlockedKeys};

use super::summary::BackupStats;
use super::{BackupError, BackupKind, BackupSummary, SnapshotState, models};
use plists::{BackupPlists, INFO_PLIST, MANIFEST_PLIST, PlistFile, STATUS_PLIST};
use std::path::Path;

/// Reads the plists (never the file database, never a blob) to describe the backup.
/// A folder whose plists are all unreadable is still described if it has a file list.
pub fn summarize(root: &Path) -> Result<BackupSummary, BackupError> {
    let layout = folder::layout_of(root);
    let plists = BackupPlists::read(root);
    let has_file_list =
        root.join(manifest_db::MANIFEST_DB).is_file() || root.join(mbdb::MANIFEST_MBDB).is_file();
    if !has_file_list
        && !plists.info.is_read()
        && !plists.manifest.is_read()
        && !plists.status.is_read()
    {
        return Err(nothing_readable(root, &plists));
    }
    let kind = match layout {
        Layout::ManifestDb => BackupKind::Ios,
        Layout::Mbdb => BackupKind::IosLegacyMbdb,
    };
    let mut summary = BackupSummary::new(root.to_path_buf(), kind);
    let info = plists.info.get();
    let manifest = plists.manifest.get();
    let status = plists.status.get();

    summary.device_name = info
        .and_then(|i| i.device_name.clone())
        .or_else(|| manifest.and_then(|m| m.device_name.clone()));
    summary.product_type = info
        .and_then(|i| i.product_type.clone())
        .or_else(|| manifest.and_then(|m| m.product_type.clone()));
    summary.model = summary.product_type.as_deref().map(models::display_model);
    summary.os_version = info
        .and_then(|i| i.product_version.clone())
        .or_else(|| manifest.and_then(|m| m.product_version.clone()));
    summary.date_unix = status
        .and_then(|s| s.date)
        .or_else(|| info.and_then(|i| i.last_backup_date))
        .or_else(|| manifest.and_then(|m| m.date));
    summary.encrypted = manifest.is_some_and(|m| m.encrypted());
    summary.snapshot = match status.and_then(|s| s.snapshot_state.as_deref()) {
        Some("finished") => SnapshotState::Finished,
        Some(_) => SnapshotState::Unfinished,
        None => SnapshotState::Unknown,
    };
    summary.device_id = info
        .and_then(|i| {
            i.unique_identifier
                .clone()
                .or_else(|| i.target_identifier.clone())
        })
        .or_else(|| manifest.and_then(|m| m.unique_device_id.clone()));
    summary.app_count = app_count(&plists);
    Ok(summary)
}

/// Apps the person installed, per Info.plist, else the apps Manifest.plist lists.
fn app_count(plists: &BackupPlists) -> Option<u64> {
    plists
        .info
        .get()
        .and_then(|i| i.installed_app_count)
        .or_else(|| plists.manifest.get().and_then(|m| m.app_count))
}

fn nothing_readable(root: &Path, plists: &BackupPlists) -> BackupError {
    let outcomes: [(&str, Option<String>); 3] = [
        (MANIFEST_PLIST, why_unread(&plists.manifest)),
        (INFO_PLIST, why_unread(&plists.info)),
        (STATUS_PLIST, why_unread(&plists.status)),
    ];
    match outcomes
        .into_iter()
        .find_map(|(name, why)| why.map(|w| (name, w)))
    {
        Some((name, why)) => BackupError::PlistUnreadable {
            path: root.join(name),
            detail: format!("{name} {why}, and the backup has no file list"),
        },
        None => BackupError::NotABackup {
            path: root.to_path_buf(),
        },
    }
}

/// Why a plist that is present could not be read; None when absent (or read).
fn why_unread<T>(file: &PlistFile<T>) -> Option<String> {
    match file {
        PlistFile::Empty => Some("is empty".into()),
        PlistFile::Unreadable(why) => Some(why.clone()),
        PlistFile::Missing | PlistFile::Read(_) => None,
    }
}

/// Counts files and apps and sums sizes: reads the file database, so call it lazily.
/// The file count is None when the file list needs a password or cannot be read.
pub fn stats(root: &Path) -> Result<BackupStats, BackupError> {
    let backup = IosBackup::open(root)?;
    let file_count = backup
        .records(None)
        .ok()
        .map(|records| records.iter().filter(|r| r.is_file()).count() as u64);
    Ok(BackupStats {
        file_count,
        app_count: app_count(backup.plists()),
        total_bytes: walk::total_bytes(root)?,
    })
}
