//! Android backups: `adb backup` archives (.ab) and Plugback Android backup folders.
//!
//! - `.ab`: [`ab_header`] (the text header), [`ab_crypto`] (password → master key),
//!   [`ab_stream`] (decrypt + inflate as a stream), [`tar_walk`] (the archive inside),
//!   `ab_verify` (summary, counts, verification).
//! - Folders: [`folder_manifest`] (the `plugback-android.json` contract), [`folder`]
//!   (summary, counts), `folder_scan` (what is on disk) and `folder_verify`.
//! - `super::safe_path`: which names may become places on this computer.

pub mod ab_crypto;
pub mod ab_header;
pub mod ab_stream;
mod ab_verify;
pub mod apk_manifest;
mod cbc_reader;
pub mod folder;
pub mod folder_manifest;
mod folder_scan;
mod folder_verify;
pub mod tar_walk;

pub use ab_stream::{AbTarStream, open_tar_stream};
pub use tar_walk::{EntryKind, TarEntryInfo, TarSummary};

use super::summary::BackupStats;
use super::verify::{ProgressReporter, VerifyOptions, VerifyReport};
use super::{BackupError, BackupSummary};
use crate::secret::Password;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The file that marks a Plugback Android backup folder.
pub const FOLDER_MANIFEST: &str = "plugback-android.json";

/// Describes an `.ab` file from its header and file metadata (cheap).
pub fn summarize_ab(path: &Path) -> Result<BackupSummary, BackupError> {
    ab_verify::summarize(path)
}

/// Describes a Plugback Android backup folder from its manifest (never its files).
pub fn summarize_folder(path: &Path) -> Result<BackupSummary, BackupError> {
    folder::summarize(path)
}

/// Counts files and apps by walking the whole archive (none for encrypted files).
pub fn stats_ab(path: &Path) -> Result<BackupStats, BackupError> {
    ab_verify::stats(path)
}

/// Counts from the manifest, bytes from the folder on disk.
pub fn stats_folder(path: &Path) -> Result<BackupStats, BackupError> {
    folder::stats(path)
}

/// Quick: header, password and first archive entry. Deep: the whole stream, every entry.
pub fn verify_ab(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    ab_verify::verify(path, options, progress)
}

/// Quick: the manifest, presence and sizes, orphans, links. Deep: also every SHA-256.
pub fn verify_folder(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    folder_verify::verify(path, options, progress)
}

/// Seconds since the Unix epoch, for file times (None before 1970).
fn unix_seconds(time: SystemTime) -> Option<i64> {
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs()).ok()
}

/// Every entry of the archive inside an `.ab` file, walked to the end (so a damaged or
/// cut-short file is an error), with what the walk counted.
pub fn list_ab_entries(
    path: &Path,
    password: Option<&Password>,
) -> Result<(TarSummary, Vec<TarEntryInfo>), BackupError> {
    let stream = open_tar_stream(path, password)?;
    let mut entries = Vec::new();
    let summary = tar_walk::walk(stream, path, &mut |entry: &TarEntryInfo| {
        entries.push(entry.clone());
        Ok(tar_walk::Flow::Continue)
    })?;
    Ok((summary, entries))
}
