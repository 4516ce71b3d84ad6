//! Quick and deep verification of iPhone backups.

use crate::backup::verify::{ProgressReporter, VerifyOptions, VerifyReport};
use crate::backup::{BackupError, BackupKind};
use std::path::Path;

pub fn verify(
    root: &Path,
    kind: BackupKind,
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
) -> Result<VerifyReport, BackupError> {
    let _ = (root, progress);
    Ok(VerifyReport::new(kind, options.depth))
}
