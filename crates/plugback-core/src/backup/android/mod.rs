//! Android backups: `adb backup` archives (.ab) and Plugback Android backup folders.

use super::summary::BackupStats;
use super::verify::{ProgressReporter, VerifyOptions, VerifyReport};
use super::{BackupError, BackupKind, BackupSummary};
use std::path::Path;

/// The file that marks a Plugback Android backup folder.
pub const FOLDER_MANIFEST: &str = "plugback-android.json";

pub fn summarize_ab(path: &Path) -> Result<BackupSummary, BackupError> {
    Err(BackupError::NotABackup {
        path: path.to_path_buf(),
    })
}

pub fn summarize_folder(path: &Path) -> Result<BackupSummary, BackupError> {
    Err(BackupError::NotABackup {
        path: path.to_path_buf(),
    })
}

pub fn stats_ab(path: &Path) -> Result<BackupStats, BackupError> {
    let _ = path;
    Ok(BackupStats::default())
}

pub fn stats_folder(path: &Path) -> Result<BackupStats, BackupError> {
    let _ = path;
    Ok(BackupStats::default())
}

pub fn verify_ab(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let _ = (path, progress);
    Ok(VerifyReport::new(BackupKind::AndroidAb, options.depth))
}

pub fn verify_folder(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let _ = (path, progress);
    Ok(VerifyReport::new(BackupKind::AndroidFolder, options.depth))
}
