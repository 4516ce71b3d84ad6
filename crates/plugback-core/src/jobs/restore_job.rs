//! A restore of one backup to one phone, as a job: the platform's restore run as the job's
//! attempts, under the watchdog. The window and the command line both start restores here.

use super::report::JobReport;
use super::runner::{self, AttemptOutcome, JobContext, JobEvent, JobSpec, RetryPolicy};
use crate::cancel::CancelToken;
use crate::device::Device;
use crate::device::android::AdbServer;
use crate::device::ios::Usbmuxd;
use crate::restore::android::{AbSettings, AppPlan, FilePlan};
use crate::restore::ios::IosRestoreOptions;
use crate::restore::{RestoreError, Sink};
use std::path::PathBuf;
use std::sync::Arc;

/// What to send, through which transport.
pub enum RestoreTarget {
    /// An iPhone backup folder (the one holding Manifest.db), through usbmuxd.
    Iphone {
        mux: Usbmuxd,
        options: IosRestoreOptions,
    },
    /// Files, then apps, to an Android phone, through the adb server. Either may be None
    /// (a selective restore of apps only, or of folders only).
    Android {
        server: AdbServer,
        files: Option<FilePlan>,
        apps: Option<AppPlan>,
    },
    /// A legacy `adb backup` archive, through `restore:` (the person confirms on the phone).
    AndroidArchive {
        server: AdbServer,
        settings: AbSettings,
    },
}

pub struct RestoreRequest {
    pub job_id: String,
    /// The phone, as the device layer read it.
    pub device: Device,
    pub backup: PathBuf,
    pub target: RestoreTarget,
    /// None for the platform's policy.
    pub policy: Option<RetryPolicy>,
}

/// Runs the restore to its end on this thread (a worker thread: it blocks). Every event
/// goes to `events`; the report says how it ended.
pub fn run(
    request: &RestoreRequest,
    ctx: &JobContext,
    cancel: &CancelToken,
    events: Arc<dyn Fn(JobEvent) + Send + Sync>,
) -> JobReport {
    let device = &request.device;
    let spec = JobSpec {
        id: request.job_id.clone(),
        device_id: device.id.clone(),
        device_name: device
            .name
            .clone()
            .or_else(|| device.model.clone())
            .unwrap_or_else(|| device.id.clone()),
        backup: request.backup.clone(),
        policy: request
            .policy
            .clone()
            .unwrap_or_else(|| match request.target {
                // An archive cannot carry on half-way: the phone asks again and starts over.
                RestoreTarget::AndroidArchive { .. } => RetryPolicy {
                    after_loss: runner::AfterLoss::RestartAfterConfirm,
                    ..RetryPolicy::for_platform(device.platform)
                },
                _ => RetryPolicy::for_platform(device.platform),
            }),
    };
    let mut attempt = |sink: &Sink, cancel: &CancelToken| match &request.target {
        RestoreTarget::Iphone { mux, options } => {
            iphone_attempt(mux, &device.id, &request.backup, options, sink, cancel)
        }
        RestoreTarget::Android {
            server,
            files,
            apps,
        } => android_attempt(
            server,
            &device.id,
            files.as_ref(),
            apps.as_ref(),
            sink,
            cancel,
        ),
        RestoreTarget::AndroidArchive { server, settings } => {
            let outcome = crate::restore::android::restore_ab(
                server,
                &device.id,
                &request.backup,
                settings,
                sink,
                cancel,
            )?;
            Ok(AttemptOutcome {
                bytes: outcome.archive_bytes,
                files: 1,
            })
        }
    };
    runner::run(&spec, ctx, cancel, events, &mut attempt)
}

fn iphone_attempt(
    mux: &Usbmuxd,
    udid: &str,
    backup: &std::path::Path,
    options: &IosRestoreOptions,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AttemptOutcome, RestoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RestoreError::Device(e.into()))?;
    let outcome = runtime.block_on(crate::restore::ios::restore(
        mux, udid, backup, options, sink, cancel,
    ))?;
    Ok(AttemptOutcome {
        bytes: outcome.bytes_sent,
        files: outcome.files_sent,
    })
}

fn android_attempt(
    server: &AdbServer,
    serial: &str,
    files: Option<&FilePlan>,
    apps: Option<&AppPlan>,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AttemptOutcome, RestoreError> {
    let mut done = AttemptOutcome::default();
    if let Some(plan) = files {
        let outcome = crate::restore::android::restore_files(server, serial, plan, sink, cancel)?;
        if let Some(first) = outcome.failed.first() {
            return Err(RestoreError::Incomplete {
                failed: outcome.failed.len() as u64,
                first: format!("{}: {}", first.phone_path, first.reason),
            });
        }
        done.bytes += outcome.bytes_sent + outcome.bytes_skipped;
        done.files += outcome.sent + outcome.skipped;
    }
    if let Some(plan) = apps.filter(|plan| !plan.apps.is_empty()) {
        let outcome = crate::restore::android::restore_apps(server, serial, plan, sink, cancel)?;
        if let Some(first) = outcome.failed.first() {
            return Err(RestoreError::Incomplete {
                failed: outcome.failed.len() as u64,
                first: format!("{}: {}", first.package, first.phone_says),
            });
        }
        done.bytes += outcome.bytes_sent;
        done.files += outcome.installed.len() as u64;
    }
    Ok(done)
}
