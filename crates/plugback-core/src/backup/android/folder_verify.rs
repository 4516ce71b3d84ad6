//! Verification of Plugback Android backup folders: does the folder hold exactly what its
//! `plugback-android.json` lists? Quick checks presence and sizes; deep also hashes every
//! file (SHA-256, in parallel). Files are only ever opened for reading.

use super::folder_manifest::{self, ExpectedBlob, ManifestError};
use super::folder_scan::{self, FolderScan};
use crate::backup::verify::{
    Depth, Problem, ProblemCode, ProgressReporter, VerifyOptions, VerifyReport,
};
use crate::backup::{BackupError, BackupKind};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

const CHUNK: usize = 256 * 1024;

pub fn verify(
    root: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let mut report = VerifyReport::new(BackupKind::AndroidFolder, options.depth);
    let manifest = match folder_manifest::load(root) {
        Ok(manifest) => manifest,
        Err(ManifestError::Io(err)) => {
            report.push(unreadable(super::FOLDER_MANIFEST.into(), &err));
            return Ok(report);
        }
        Err(ManifestError::Invalid(reason)) => {
            report.push(Problem::error(
                ProblemCode::ManifestUnreadable,
                super::FOLDER_MANIFEST,
                format!(
                    "The backup's file list cannot be used: {reason}. If it was written by a newer \
                     Plugback, update Plugback; otherwise copy the backup folder again from its source."
                ),
            ));
            return Ok(report);
        }
    };
    report
        .problems
        .extend(manifest.field_problems.iter().cloned());
    let (blobs, entry_problems) = manifest.expected_blobs();
    report.problems.extend(entry_problems);
    let deep = options.depth == Depth::Deep;
    report.stats.files_expected = blobs.len() as u64;
    // Sizes come from the file: add without overflowing.
    report.stats.bytes_expected = blobs.iter().fold(0u64, |sum, b| sum.saturating_add(b.size));
    progress.set_totals(
        blobs.len() as u64,
        if deep { report.stats.bytes_expected } else { 0 },
    );

    let canonical_root = fs::canonicalize(root).map_err(|err| BackupError::io(root, err))?;
    let scan = folder_scan::scan(root, &canonical_root);
    report_scan(&mut report, &scan, &blobs);

    let mut present = Vec::new();
    for blob in &blobs {
        options.check_cancel()?;
        progress.set_current(&blob.display);
        match locate(root, &canonical_root, blob, &scan) {
            Ok(local) => present.push((blob, local)),
            Err(Some(problem)) => report.push(problem),
            Err(None) => {}
        }
        if !deep {
            progress.file_done();
        }
    }
    if !deep {
        report.stats.files_checked = present.len() as u64;
        return Ok(report);
    }

    let outcomes: Vec<Result<(bool, u64), HashFailure>> = present
        .par_iter()
        .map(|(blob, local)| {
            progress.set_current(&blob.display);
            let outcome = hash_file(local, options, progress)
                .map(|(digest, read)| (digest == blob.sha256, read));
            progress.file_done();
            outcome
        })
        .collect();
    for ((blob, _), outcome) in present.iter().zip(outcomes) {
        match outcome {
            Ok((matches, read)) => {
                report.stats.files_checked += 1;
                report.stats.bytes_read += read;
                if !matches {
                    report.push(Problem::error(
                        ProblemCode::ChecksumMismatch,
                        blob.display.clone(),
                        "This file's contents changed since the backup was made: its checksum does \
                         not match the file list. Copy the backup again from its source; this file \
                         would restore damaged.",
                    ));
                }
            }
            Err(HashFailure::Cancelled) => return Err(BackupError::Cancelled),
            Err(HashFailure::Io(err)) => report.push(unreadable(blob.display.clone(), &err)),
        }
    }
    Ok(report)
}

/// Orphans, links that leave the folder, and places that could not be listed.
fn report_scan(report: &mut VerifyReport, scan: &FolderScan, blobs: &[ExpectedBlob]) {
    for (relative, err) in &scan.unreadable {
        report.push(unreadable(folder_scan::display(relative), err));
    }
    for link in &scan.escaping_links {
        report.push(Problem::error(
            ProblemCode::UnsafePath,
            folder_scan::display(link),
            "This is a link that leads outside the backup folder. Plugback does not follow it and \
             will not restore through it; the folder may have been tampered with, so use another \
             copy if you have one.",
        ));
    }
    let listed: HashSet<&Path> = blobs.iter().map(|b| b.relative.as_path()).collect();
    let escaping: HashSet<&PathBuf> = scan.escaping_links.iter().collect();
    for file in &scan.data_files {
        if !listed.contains(file.as_path()) && !escaping.contains(file) {
            report.push(Problem::warning(
                ProblemCode::BlobOrphan,
                folder_scan::display(file),
                "This file is in the backup folder but not in its file list. It is harmless for a \
                 restore; if you did not put it there, the folder may mix two backups.",
            ));
        }
    }
}

/// Where a listed file's data is, after checking it is there, inside the folder, a file and
/// of the listed size. `Err(None)` when the problem was already reported by the scan.
fn locate(
    root: &Path,
    canonical_root: &Path,
    blob: &ExpectedBlob,
    scan: &FolderScan,
) -> Result<PathBuf, Option<Problem>> {
    let local = root.join(&blob.relative);
    let missing = |why: &str| {
        Some(Problem::error(
            ProblemCode::BlobMissing,
            blob.display.clone(),
            format!(
                "This file {why}. Copy the backup again from its source; a restore would leave it out."
            ),
        ))
    };
    if let Err(err) = fs::symlink_metadata(&local) {
        return Err(match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => {
                missing("is missing from the backup folder")
            }
            _ => Some(unreadable(blob.display.clone(), &err)),
        });
    }
    let resolved = match fs::canonicalize(&local) {
        Ok(resolved) => resolved,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(missing("is a link to nothing"));
        }
        Err(err) => return Err(Some(unreadable(blob.display.clone(), &err))),
    };
    if !resolved.starts_with(canonical_root) {
        if scan.escaping_links.contains(&blob.relative) {
            return Err(None);
        }
        return Err(Some(Problem::error(
            ProblemCode::UnsafePath,
            blob.display.clone(),
            "This file is reached through a link that leads outside the backup folder. Plugback \
             does not read it; the folder may have been tampered with, so use another copy if you \
             have one.",
        )));
    }
    let meta =
        fs::metadata(&resolved).map_err(|err| Some(unreadable(blob.display.clone(), &err)))?;
    if !meta.is_file() {
        return Err(missing(
            "is a folder or a special file, not the file's data",
        ));
    }
    if meta.len() != blob.size {
        return Err(Some(if meta.len() == 0 {
            Problem::error(
                ProblemCode::EmptyFile,
                blob.display.clone(),
                format!(
                    "This file is empty but should hold {} bytes, as if a copy or a full disk \
                     stopped. Copy the backup again from its source, and keep this copy until the \
                     new one verifies.",
                    blob.size
                ),
            )
        } else {
            Problem::error(
                ProblemCode::BlobSizeMismatch,
                blob.display.clone(),
                format!(
                    "This file is {} bytes but the file list says {}: it was cut short or changed. \
                     Copy the backup again from its source; restoring would give the phone a \
                     damaged file.",
                    meta.len(),
                    blob.size
                ),
            )
        }));
    }
    Ok(resolved)
}

enum HashFailure {
    Cancelled,
    Io(io::Error),
}

fn hash_file(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<([u8; 32], u64), HashFailure> {
    if options.cancel.is_cancelled() {
        return Err(HashFailure::Cancelled);
    }
    let mut file = File::open(path).map_err(HashFailure::Io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        if options.cancel.is_cancelled() {
            return Err(HashFailure::Cancelled);
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(HashFailure::Io(err)),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.add_bytes(n as u64);
    }
    Ok((hasher.finalize().into(), total))
}

fn unreadable(at: String, err: &io::Error) -> Problem {
    Problem::error(
        ProblemCode::Unreadable,
        at,
        format!(
            "Plugback could not read this ({err}). Check that the drive is connected and that your \
             account can read the folder, then try again."
        ),
    )
}
