//! Offline verification: does this backup hold what its own manifest says?
//!
//! Quick verification reads no file contents; deep verification reads (and decrypts)
//! everything. Neither ever writes inside the backup.

mod problem;
mod progress;

pub use problem::{Problem, ProblemCode, Severity};
pub use progress::{ProgressReporter, VerifyProgress};

use super::{BackupError, BackupKind, catalog};
use crate::cancel::CancelToken;
use crate::secret::Password;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    Quick,
    Deep,
}

#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub depth: Depth,
    pub password: Option<Password>,
    pub cancel: CancelToken,
}

impl VerifyOptions {
    pub fn quick() -> Self {
        Self {
            depth: Depth::Quick,
            password: None,
            cancel: CancelToken::new(),
        }
    }

    pub fn deep() -> Self {
        Self {
            depth: Depth::Deep,
            ..Self::quick()
        }
    }

    pub fn with_password(mut self, password: Option<Password>) -> Self {
        self.password = password;
        self
    }

    /// Err(Cancelled) once someone asked to stop; workers call it between units of work.
    pub fn check_cancel(&self) -> Result<(), BackupError> {
        if self.cancel.is_cancelled() {
            Err(BackupError::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct VerifyStats {
    /// Files the manifest lists (directories and symlinks excluded).
    pub files_expected: u64,
    /// Files whose data was found (quick) or read through (deep).
    pub files_checked: u64,
    /// Bytes the manifest declares for those files.
    pub bytes_expected: u64,
    /// Bytes read from disk (deep only).
    pub bytes_read: u64,
    pub encrypted: bool,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub kind: BackupKind,
    pub depth: Depth,
    pub problems: Vec<Problem>,
    pub stats: VerifyStats,
}

impl VerifyReport {
    pub fn new(kind: BackupKind, depth: Depth) -> Self {
        Self {
            kind,
            depth,
            problems: Vec::new(),
            stats: VerifyStats::default(),
        }
    }

    /// True when nothing of `error` severity was found (warnings allowed).
    pub fn ok(&self) -> bool {
        !self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    pub fn has(&self, code: ProblemCode) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }

    pub fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
}

/// Verifies the backup at `path`, whatever its kind. `Err` means verification could not
/// run at all (not a backup, cancelled); everything wrong *with* the backup is a problem in
/// the report.
pub fn verify(
    path: &Path,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let started = Instant::now();
    let kind = catalog::detect_kind(path).ok_or_else(|| BackupError::NotABackup {
        path: path.to_path_buf(),
    })?;
    let mut report = match kind {
        BackupKind::Ios | BackupKind::IosLegacyMbdb => {
            super::ios::verify::verify(path, kind, options, progress)?
        }
        BackupKind::AndroidAb => super::android::verify_ab(path, options, progress)?,
        BackupKind::AndroidFolder => super::android::verify_folder(path, options, progress)?,
    };
    // Errors first, then by code and path, so that reports read the same run after run
    // even though deep verification checks files in parallel.
    report
        .problems
        .sort_by(|a, b| (b.severity, a.code, &a.path).cmp(&(a.severity, b.code, &b.path)));
    report.stats.elapsed_ms = started.elapsed().as_millis() as u64;
    progress.finish();
    Ok(report)
}
