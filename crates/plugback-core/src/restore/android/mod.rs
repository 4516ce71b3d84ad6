//! The Android restore, over Plugback's own adb sync client.
//!
//! - [`plan`]: what to send, from a Plugback Android backup folder or any chosen folder,
//!   narrowed to chosen phone folders; sizes and counts known up front.
//! - [`files`]: the transfer (pipelined, resumable: files already on the phone are
//!   skipped), with progress, and the errors a lost or stalled phone gives.
//! - [`media_scan`]: asking the phone to show what arrived in its gallery and music apps.
//!
//! - [`apps`]: installing the backup's apps from their APKs (single and split), through
//!   the package manager's install sessions.
//! - [`ab`]: `adb restore` of a legacy `.ab` archive, confirmed by the person on the phone.

pub mod ab;
pub mod apps;
pub mod files;
pub mod media_scan;
pub mod plan;

pub use ab::{AbOutcome, AbSettings};
pub use apps::{ApkFile, AppItem, AppPlan, AppsOutcome, FailedApp, InstallFailure};
pub use files::{FailedFile, FilesOutcome, TransferSettings};
pub use media_scan::MediaRescan;
pub use plan::{FilePlan, LeftOut, PlanItem};

use crate::cancel::CancelToken;
use crate::device::android::server::AdbServer;
use crate::restore::{RestoreError, Sink};

/// Puts the files of `plan` on the phone `serial` (blocking; the job layer runs it on a
/// worker thread). Files the phone already has unchanged are skipped, so running the same
/// plan again after an interruption resumes it. Reports phases, progress and notes to
/// `sink`; ends promptly once `cancel` is set.
pub fn restore_files(
    server: &AdbServer,
    serial: &str,
    plan: &FilePlan,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<FilesOutcome, RestoreError> {
    restore_files_with(
        server,
        serial,
        plan,
        &TransferSettings::default(),
        sink,
        cancel,
    )
}

/// [`restore_files`] with explicit transfer settings (how many files may be in flight).
pub fn restore_files_with(
    server: &AdbServer,
    serial: &str,
    plan: &FilePlan,
    settings: &TransferSettings,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<FilesOutcome, RestoreError> {
    files::transfer(server, serial, plan, settings, sink, cancel)
}

/// Installs the apps of `plan` on the phone `serial` (blocking), one install session per
/// app, abandoned on any failure. Narrow the plan with [`AppPlan::only`] to install some
/// of them. An app the phone refuses is reported and the others go on; when the phone
/// refused every app, the first refusal is the error.
pub fn restore_apps(
    server: &AdbServer,
    serial: &str,
    plan: &AppPlan,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AppsOutcome, RestoreError> {
    apps::install(server, serial, plan, sink, cancel)
}

/// Restores the `.ab` archive at `path` through `adb restore`'s `restore:` service
/// (blocking): the person confirms on the phone, and types the password there for an
/// encrypted archive. The archive is only read.
pub fn restore_ab(
    server: &AdbServer,
    serial: &str,
    path: &std::path::Path,
    settings: &AbSettings,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AbOutcome, RestoreError> {
    ab::restore(server, serial, path, settings, sink, cancel)
}
