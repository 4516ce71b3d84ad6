//! The iPhone restore, host side of mobilebackup2: the phone pulls the backup from this
//! computer, file by file, and applies it.
//!
//! - `options`: what the person chose, and the timeouts.
//! - `handshake`: DeviceLink's version exchange, Hello, the Restore request.
//! - `wire`: DeviceLink messages and the file stream, bounded in size and time.
//! - `devicelink`, `download`: the phone's requests, answered until its final answer.
//! - `file_server`: the phone's confined, read-only view of the backup folder.
//! - `sync_lock`: the sync lock Finder takes, released on every path.
//! - `apps`: the list of apps the phone reinstalls afterwards.
//! - `progress`, `presence`: what the sink hears, and whether the phone is still there.
//!
//! The backup is only ever read: nothing in this module opens a file of it for writing.

mod apps;
mod devicelink;
mod download;
mod file_server;
mod handshake;
mod options;
mod presence;
mod progress;
mod sync_lock;
mod wire;

pub use options::{Confirmed, IosRestoreOptions, RestoreTimeouts};

use super::{Phase, RestoreError, Sink};
use crate::backup::safe_path::file_name_problem;
use crate::cancel::CancelToken;
use crate::device::ios::Usbmuxd;
use crate::device::ios::session;
use crate::device::ios::wait::cancelled;
use devicelink::Exchange;
use file_server::BackupFolder;
use idevice::afc::AfcClient;
use idevice::notification_proxy::NotificationProxyClient;
use presence::Presence;
use progress::Tracker;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;
use sync_lock::{SyncLock, device};
use wire::Wire;

const NOTIFICATION_PROXY: &str = "com.apple.mobile.notification_proxy";
const AFC: &str = "com.apple.afc";
const MOBILEBACKUP2: &str = "com.apple.mobilebackup2";
/// Each step of letting go of the phone (unlock, close, notify, goodbye) waits at most
/// this long: a phone answers in milliseconds, and a lost one must not hold the result up.
const CLEANUP_STEP: Duration = Duration::from_secs(2);

/// What a finished restore did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IosRestoreOutcome {
    /// Bytes of files sent (the backup's description files included).
    pub bytes_sent: u64,
    /// Files sent whole.
    pub files_sent: u64,
    /// The phone went away within the reboot wait after it reported success: the reboot
    /// in which it moves the restored files into place.
    pub rebooted: bool,
    /// Requests of the phone that were refused, in order.
    pub refused: Vec<RefusedRequest>,
}

/// A request of the phone that Plugback did not carry out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedRequest {
    /// The DeviceLink message (`DLMessageDownloadFiles`, `DLMessageRemoveFiles` …).
    pub request: String,
    /// The path it named (very long ones shortened).
    pub path: String,
    pub why: String,
    /// True when the path could reach outside the backup; false for a request to change
    /// files, which a restore never does.
    pub unsafe_path: bool,
}

/// Restores the backup in `backup_dir` (the folder holding Manifest.db) onto the paired
/// iPhone `udid`.
///
/// The phone knows the backup by its source identifier: `options.source_identifier`, else
/// the folder's name (Finder names it after the phone's UDID). Whatever the identifier,
/// the phone's paths `<identifier>/…` are served from `backup_dir` only.
///
/// Events go to `sink` (Preparing, Transferring, Finishing; progress; notes); the caller
/// reports Done or Failed from the result. `cancel` ends every wait promptly, and the
/// phone's sync lock is let go on every path.
pub async fn restore(
    mux: &Usbmuxd,
    udid: &str,
    backup_dir: &Path,
    options: &IosRestoreOptions,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<IosRestoreOutcome, RestoreError> {
    sink.phase(Phase::Preparing);
    let source = source_identifier(backup_dir, options)?;
    let folder = BackupFolder::open(backup_dir, &source).map_err(|e| RestoreError::Backup {
        path: backup_dir.to_path_buf(),
        source: e,
    })?;
    let (tracker, apps) = read_backup(backup_dir, options.skip_apps, sink).await;
    let mut presence = tokio::select! {
        presence = Presence::watch(mux, udid) => presence,
        () = cancelled(cancel) => return Err(RestoreError::Cancelled),
    };

    let mut exchange = Exchange::new(&folder, tracker, sink, options.timeouts);
    let steps = Steps {
        mux,
        udid,
        source: &source,
        options,
        apps: apps.as_deref(),
        cancel,
    };
    let mut open = Open::default();
    let result = tokio::select! {
        result = steps.run(&mut open, &mut exchange) => result,
        () = presence.gone() => Err(RestoreError::PhoneLost {
            detail: "usbmuxd reports the phone unplugged".to_owned(),
        }),
    };

    // Let go of the phone on every path, as libimobiledevice does: a failed restore's app
    // list is removed, the lock undone, and only then the session closed.
    if result.is_ok() {
        sink.phase(Phase::Finishing);
    }
    if let Some(lock) = open.lock.as_mut() {
        if result.is_err() && open.apps_written {
            apps::remove(&mut lock.afc, CLEANUP_STEP).await;
        }
        lock.release(CLEANUP_STEP).await;
    }
    if let Some(wire) = open.wire.as_mut()
        && result.is_ok()
    {
        wire.stall_limit = CLEANUP_STEP;
        let _ = wire.say_goodbye().await;
    }
    drop(open);

    let refused = std::mem::take(&mut exchange.refused);
    if let Err(error) = result {
        return Err(explained(error, &refused, exchange.unreadable.take()));
    }
    let rebooted = options.reboot && watch_reboot(&mut presence, options, cancel).await;
    Ok(IosRestoreOutcome {
        bytes_sent: exchange.tracker.bytes(),
        files_sent: exchange.tracker.files(),
        rebooted,
        refused,
    })
}

/// What the restore needs from its caller.
struct Steps<'a> {
    mux: &'a Usbmuxd,
    udid: &'a str,
    source: &'a str,
    options: &'a IosRestoreOptions,
    apps: Option<&'a [u8]>,
    cancel: &'a CancelToken,
}

/// What is open on the phone, for the cleanup whatever ended the steps.
#[derive(Default)]
struct Open {
    lock: Option<SyncLock>,
    wire: Option<Wire>,
    apps_written: bool,
}

impl Steps<'_> {
    /// Connects (notification_proxy, AFC, mobilebackup2 with the escrow bag, as
    /// libimobiledevice orders them), takes the lock, writes the apps list, asks for the
    /// restore and answers the phone until its final answer.
    async fn run(&self, open: &mut Open, exchange: &mut Exchange<'_>) -> Result<(), RestoreError> {
        let (mux, udid, cancel) = (self.mux, self.udid, self.cancel);
        let step = mux.reply_timeout;
        let notifications = session::start_service(mux, udid, NOTIFICATION_PROXY, cancel)
            .await
            .map_err(device)?;
        let afc = session::start_service(mux, udid, AFC, cancel)
            .await
            .map_err(device)?;
        let lock = open.lock.insert(SyncLock::new(
            AfcClient::new(afc),
            NotificationProxyClient::new(notifications),
            step,
        ));
        let (service, zero_copy) =
            session::start_service_with_escrow(mux, udid, MOBILEBACKUP2, cancel)
                .await
                .map_err(device)?;
        let stream = service
            .get_socket()
            .ok_or_else(|| wire::protocol("the mobilebackup2 connection has no socket"))?;
        let mut wire = Wire::new(stream, self.options.timeouts.stall_limit, cancel);
        wire.zero_copy = zero_copy;
        let wire = open.wire.insert(wire);

        handshake::handshake(wire, step).await?;
        lock.acquire(cancel).await?;
        if let Some(xml) = self.apps {
            open.apps_written = true;
            apps::write(&mut lock.afc, xml, step, cancel).await?;
        }
        handshake::request_restore(wire, udid, self.source, self.options).await?;
        exchange.run(wire).await
    }
}

/// The backup's identifier as the phone knows it: a plain folder name.
fn source_identifier(
    backup_dir: &Path,
    options: &IosRestoreOptions,
) -> Result<String, RestoreError> {
    let source = match &options.source_identifier {
        Some(source) => source.clone(),
        None => backup_dir
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_owned(),
    };
    match file_name_problem(&source) {
        None => Ok(source),
        Some(why) => Err(RestoreError::Backup {
            path: backup_dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the backup's identifier {source:?} {why}"),
            ),
        }),
    }
}

/// Reads what the restore needs from the backup itself (its size, its files' names, its
/// apps) off the async thread: a large backup takes a moment.
async fn read_backup(
    backup_dir: &Path,
    skip_apps: bool,
    sink: &Sink,
) -> (Tracker, Option<Vec<u8>>) {
    let (dir, sink) = (backup_dir.to_path_buf(), sink.clone());
    let read = move || {
        let apps = if skip_apps {
            None
        } else {
            apps::applications_xml(&dir, &sink)
        };
        (Tracker::new(&sink, &dir), apps)
    };
    match tokio::task::spawn_blocking(read.clone()).await {
        Ok(read) => read,
        // Only a panic ends the task early; read here instead.
        Err(_) => read(),
    }
}

/// The error a person should see. A phone that asked for paths outside the backup is the
/// story whatever ended the restore next; a phone that refused after files of the backup
/// could not be read refused because of them.
fn explained(
    error: RestoreError,
    refused: &[RefusedRequest],
    unreadable: Option<RestoreError>,
) -> RestoreError {
    if matches!(error, RestoreError::Cancelled) {
        return error;
    }
    if let Some(first) = refused.iter().find(|r| r.unsafe_path) {
        tracing::info!("restore: ended by {error}, after refusing unsafe paths");
        return RestoreError::UnsafePath {
            path: first.path.clone(),
            why: first.why.clone(),
        };
    }
    match (error, unreadable) {
        (error @ RestoreError::PhoneRefused { .. }, Some(unreadable)) => {
            tracing::info!("restore: {error}");
            unreadable
        }
        (error, _) => error,
    }
}

/// After a success: whether the phone goes away to reboot within the reboot wait.
async fn watch_reboot(
    presence: &mut Presence,
    options: &IosRestoreOptions,
    cancel: &CancelToken,
) -> bool {
    tokio::select! {
        () = presence.gone() => true,
        () = tokio::time::sleep(options.timeouts.reboot_wait) => false,
        () = cancelled(cancel) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_a_restore_reports_is_explained() {
        let codes = [
            "mb-102",
            "mb-105",
            "mb-205",
            "mb-207",
            "mb-208",
            "mb-209",
            "mb-211",
            "mb-unknown",
            "restore-phone-lost",
            "restore-stalled",
            "restore-unsafe-path",
            "restore-backup-unreadable",
            "restore-request-refused",
            "restore-apps-skipped",
            "cancelled",
        ];
        for code in codes {
            assert!(
                crate::explain::explain(code).is_some(),
                "{code} is not explained"
            );
        }
    }

    #[test]
    fn unsafe_paths_explain_a_failure_and_unreadable_files_a_refusal() {
        let unsafe_request = RefusedRequest {
            request: "DLMessageDownloadFiles".into(),
            path: "/etc/hostname".into(),
            why: "is an absolute path".into(),
            unsafe_path: true,
        };
        let lost = || RestoreError::PhoneLost {
            detail: "gone".into(),
        };
        let refused = || RestoreError::PhoneRefused {
            code: 205,
            message: "Multiple errors downloading files".into(),
        };
        let unreadable = || RestoreError::Backup {
            path: "b/ab/ab01".into(),
            source: std::io::ErrorKind::NotFound.into(),
        };
        let explain = |e, r: &[RefusedRequest], u| explained(e, r, u).code();
        assert_eq!(
            explain(lost(), std::slice::from_ref(&unsafe_request), None),
            "restore-unsafe-path"
        );
        assert_eq!(
            explain(RestoreError::Cancelled, &[unsafe_request], None),
            "cancelled"
        );
        assert_eq!(
            explain(refused(), &[], Some(unreadable())),
            "restore-backup-unreadable"
        );
        assert_eq!(
            explain(lost(), &[], Some(unreadable())),
            "restore-phone-lost"
        );
        assert_eq!(explain(refused(), &[], None), "mb-205");
    }

    #[test]
    fn the_source_identifier_is_a_plain_folder_name() {
        let dir = Path::new("/backups/00008110-001A2B3C4D5E6F70");
        let options = IosRestoreOptions::default();
        assert_eq!(
            source_identifier(dir, &options).unwrap(),
            "00008110-001A2B3C4D5E6F70"
        );
        let other = IosRestoreOptions {
            source_identifier: Some("OLDPHONE".into()),
            ..Default::default()
        };
        assert_eq!(source_identifier(dir, &other).unwrap(), "OLDPHONE");
        for bad in ["", "..", "a/b", "a\\b"] {
            let options = IosRestoreOptions {
                source_identifier: Some(bad.into()),
                ..Default::default()
            };
            assert!(source_identifier(dir, &options).is_err(), "{bad:?}");
        }
    }
}
