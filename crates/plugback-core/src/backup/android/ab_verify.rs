//! Summary, statistics and verification of `adb backup` files.
//!
//! Quick verification reads the header, checks the password and the first archive entry;
//! deep verification decrypts, inflates and walks the whole archive.

use super::ab_header::AbHeader;
use super::ab_stream;
use super::tar_walk::{self, Flow, TarEntryInfo, TarVisitor};
use super::unix_seconds;
use crate::backup::summary::BackupStats;
use crate::backup::verify::{
    Depth, Problem, ProblemCode, ProgressReporter, Severity, VerifyOptions, VerifyReport,
};
use crate::backup::{BackupError, BackupKind, BackupSummary};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reads the header only.
pub fn summarize(path: &Path) -> Result<BackupSummary, BackupError> {
    let meta = fs::metadata(path).map_err(|err| BackupError::io(path, err))?;
    let (header, _) = ab_stream::read_header(path)?;
    let mut summary = BackupSummary::new(path.to_path_buf(), BackupKind::AndroidAb);
    summary.encrypted = header.encrypted();
    summary.format_version = Some(header.version.to_string());
    summary.date_unix = meta.modified().ok().and_then(unix_seconds);
    summary.total_bytes = Some(meta.len());
    Ok(summary)
}

/// Walks the whole archive to count files and apps; encrypted files cannot be counted
/// without their password.
pub fn stats(path: &Path) -> Result<BackupStats, BackupError> {
    let total_bytes = fs::metadata(path)
        .map_err(|err| BackupError::io(path, err))?
        .len();
    let (header, reader) = ab_stream::read_header(path)?;
    if header.encrypted() {
        return Ok(BackupStats {
            file_count: None,
            app_count: None,
            total_bytes,
        });
    }
    let stream = ab_stream::stream_after_header(path, header, reader, None);
    let summary = tar_walk::walk(stream, path, &mut |_: &TarEntryInfo| Ok(Flow::Continue))?;
    Ok(BackupStats {
        file_count: Some(summary.files),
        app_count: Some(summary.apps.len() as u64),
        total_bytes,
    })
}

pub fn verify(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let mut report = VerifyReport::new(BackupKind::AndroidAb, options.depth);
    let file_len = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) => {
            report.push(problem_for(BackupError::io(path, err))?);
            return Ok(report);
        }
    };
    progress.set_totals(0, file_len);
    let (header, reader) = match ab_stream::read_header(path) {
        Ok(opened) => opened,
        Err(err) => {
            report.push(problem_for(err)?);
            return Ok(report);
        }
    };
    report.stats.encrypted = header.encrypted();
    // Password problems come before anything else: nothing more can be checked without it.
    let key = match ab_stream::unlock(&header, options.password.as_ref()) {
        Ok(key) => key,
        Err(err) => {
            report.push(problem_for(err)?);
            return Ok(report);
        }
    };
    options.check_cancel()?;
    let header_len = header.len;
    if let Some(problem) = size_problem(&header, file_len.saturating_sub(header_len)) {
        let fatal = problem.severity == Severity::Error;
        report.push(problem);
        if fatal {
            return Ok(report);
        }
    }
    let stream = ab_stream::stream_after_header(path, header, reader, key);
    let mut visitor = VerifyVisitor {
        options,
        progress,
        counter: stream.byte_counter(),
        reported: 0,
        problems: Vec::new(),
        files: 0,
        bytes_expected: 0,
    };
    progress.add_bytes(header_len);
    let walked = tar_walk::walk(stream, path, &mut visitor);
    visitor.sync_bytes();
    report.problems.append(&mut visitor.problems);
    report.stats.files_expected = visitor.files;
    report.stats.bytes_expected = visitor.bytes_expected;
    report.stats.bytes_read = header_len + visitor.counter.load(Ordering::Relaxed);
    match walked {
        Ok(summary) => {
            if options.depth == Depth::Deep {
                report.stats.files_checked = summary.files;
            }
        }
        Err(err) => report.push(problem_for(err)?),
    }
    Ok(report)
}

struct VerifyVisitor<'a, 'p> {
    options: &'a VerifyOptions,
    progress: &'a ProgressReporter<'p>,
    counter: Arc<AtomicU64>,
    reported: u64,
    problems: Vec<Problem>,
    files: u64,
    bytes_expected: u64,
}

impl VerifyVisitor<'_, '_> {
    /// Passes the bytes read from the file since the last call on to the progress reporter.
    fn sync_bytes(&mut self) {
        let now = self.counter.load(Ordering::Relaxed);
        self.progress.add_bytes(now.saturating_sub(self.reported));
        self.reported = now;
    }
}

impl TarVisitor for VerifyVisitor<'_, '_> {
    fn entry(&mut self, entry: &TarEntryInfo) -> Result<Flow, BackupError> {
        self.options.check_cancel()?;
        self.sync_bytes();
        self.progress.set_current(&entry.name);
        if let Some(reason) = entry.unsafe_reason {
            self.problems.push(Problem::error(
                ProblemCode::UnsafePath,
                entry.name.clone(),
                format!(
                    "An entry in the archive {reason}, so restoring it could write outside the \
                     restore folder. Plugback will not restore it. This backup may have been \
                     tampered with: use another copy if you have one."
                ),
            ));
        }
        if entry.kind == tar_walk::EntryKind::File {
            self.files += 1;
            self.bytes_expected = self.bytes_expected.saturating_add(entry.size);
            self.progress.file_done();
        }
        Ok(match self.options.depth {
            Depth::Quick => Flow::Stop,
            Depth::Deep => Flow::Continue,
        })
    }

    fn data(&mut self, _bytes: u64) -> Result<(), BackupError> {
        self.options.check_cancel()?;
        self.sync_bytes();
        Ok(())
    }
}

/// A file too short to hold what its header promises, or None.
fn size_problem(header: &AbHeader, body: u64) -> Option<Problem> {
    let cut_short = |what: &str| {
        Some(Problem::error(
            ProblemCode::AbTruncated,
            "",
            format!(
                "{what}: the file was cut short, while being copied or while the phone was backing \
                 up. Copy it again from where it came from, or make a new backup and wait until \
                 the phone says it is done."
            ),
        ))
    };
    if body == 0 {
        return cut_short("The file holds only its header and none of the backup data");
    }
    if header.encrypted() && !body.is_multiple_of(16) {
        return cut_short("The encrypted data stops part-way through a 16-byte block");
    }
    if header.compressed && !header.encrypted() && body < 8 {
        return cut_short("The compressed data is shorter than the smallest possible");
    }
    if !header.compressed && !header.encrypted() {
        if body < 512 {
            return cut_short("The archive is shorter than a single entry");
        }
        if body < 1024 {
            return Some(Problem::warning(
                ProblemCode::SuspiciousSize,
                "",
                "The archive is shorter than even an empty archive (1024 bytes), so it is probably \
                 cut short. A deep check tells for sure; copy the file again if it fails.",
            ));
        }
    }
    None
}

/// The problem a failure means for the person, or the error itself when verification
/// could not run (cancelled).
fn problem_for(err: BackupError) -> Result<Problem, BackupError> {
    let (code, message) = match &err {
        BackupError::AbHeaderInvalid { detail, .. } => (
            ProblemCode::AbHeaderInvalid,
            format!(
                "The first lines of the file, which say how it is compressed and encrypted, are \
                 damaged: {detail}. Make sure this is the file `adb backup` wrote, copied whole; \
                 make a new backup if you can."
            ),
        ),
        BackupError::PasswordRequired => (
            ProblemCode::PasswordRequired,
            "This backup is encrypted. Enter the password that was typed on the phone when the \
             backup was made; without it nothing inside can be checked."
                .to_owned(),
        ),
        BackupError::WrongPassword => (
            ProblemCode::WrongPassword,
            "The password does not open this backup; nothing was changed. Try again, watching \
             capitals and keyboard layout: it is the backup password typed on the phone, not the \
             screen lock."
                .to_owned(),
        ),
        BackupError::AbTruncated { .. } => (
            ProblemCode::AbTruncated,
            "The file ends before its data does: it was cut short, while being copied or while \
             the phone was backing up. Copy it again from where it came from, or make a new \
             backup and wait until the phone says it is done."
                .to_owned(),
        ),
        BackupError::AbStreamCorrupt { detail, .. } => (
            ProblemCode::AbStreamCorrupt,
            format!(
                "The backup's data is damaged: {detail}. Copy the file again from its source, or \
                 make a new backup."
            ),
        ),
        BackupError::TarInvalid { detail, .. } => (
            ProblemCode::TarInvalid,
            format!(
                "The archive inside the backup is damaged: {detail}. Copy the file again from its \
                 source, or make a new backup."
            ),
        ),
        BackupError::Io { source, .. } => (
            ProblemCode::Unreadable,
            format!(
                "The file could not be read ({source}). Check that the drive is connected and that \
                 your account can read the file, then try again."
            ),
        ),
        _ => return Err(err),
    };
    Ok(Problem::error(code, "", message))
}
