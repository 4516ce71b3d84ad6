//! iPhone backups as Finder and iTunes write them (modern Manifest.db layout, and the
//! legacy Manifest.mbdb layout), plain or encrypted.

pub mod verify;

use super::summary::BackupStats;
use super::{BackupError, BackupSummary};
use std::path::Path;

/// Reads the plists (never the file database, never a blob) to describe the backup.
pub fn summarize(root: &Path) -> Result<BackupSummary, BackupError> {
    Err(BackupError::NotABackup {
        path: root.to_path_buf(),
    })
}

/// Counts files and apps and sums sizes: reads the file database, so call it lazily.
pub fn stats(root: &Path) -> Result<BackupStats, BackupError> {
    let _ = root;
    Ok(BackupStats::default())
}
