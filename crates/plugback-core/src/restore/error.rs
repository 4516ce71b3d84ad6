//! The restore engine's one error type. Each variant has a stable code that
//! `crate::explain` turns into words for a person, with what to do.

use crate::device::DeviceError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The phone went away (unplugged, rebooted, the cable dropped) mid-restore.
    #[error("the phone was disconnected during the restore: {detail}")]
    PhoneLost { detail: String },
    /// Connected, but no progress for too long.
    #[error("the restore made no progress for {after:?}")]
    Stalled { after: Duration },
    /// The iPhone ended the restore with an MBErrorDomain code (102, 105, 205, 207, 208,
    /// 211 …); the code names the explanation (`mb-211`).
    #[error("the iPhone refused the restore (error {code}): {message}")]
    PhoneRefused { code: i64, message: String },
    /// The phone asked for a path outside the backup (`..`, absolute, a link out): refused.
    #[error("the phone asked for {path:?}, which {why}; refused")]
    UnsafePath { path: String, why: String },
    /// The backup, or a folder the person chose, names a place outside itself (`..`, an
    /// absolute name where a relative one belongs, a link out): nothing is sent.
    #[error("{path:?} {why}; nothing was sent")]
    UnsafeName { path: String, why: String },
    /// The backup could not be read (a file missing or unreadable mid-restore).
    #[error("cannot read the backup: {path}: {source}")]
    Backup {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The restore ended but some files did not arrive (the phone refused them).
    #[error("{failed} file(s) did not reach the phone; the first: {first}")]
    Incomplete { failed: u64, first: String },
    /// The backup is encrypted and the password is missing or wrong.
    #[error("the backup's password is missing or wrong")]
    WrongPassword,
    /// The Android package manager refused an app; the failure sorts its code
    /// (`INSTALL_FAILED_…`) by what a person can do.
    #[error("the phone did not install {package}: {phone_says}")]
    AppNotInstalled {
        package: String,
        failure: crate::restore::android::apps::InstallFailure,
        phone_says: String,
    },
    /// Nobody tapped "Restore my data" on the phone in time (Android waits 60 s).
    #[error("the restore was not confirmed on the phone within {window:?}")]
    NotConfirmed { window: Duration },
    /// The phone ended an `adb restore` before it took the whole archive.
    #[error("the phone ended the restore after taking {sent} of {total} bytes: {detail}")]
    EndedEarly {
        sent: u64,
        total: u64,
        detail: String,
    },
    /// The backup is not one this phone can take (an iPhone backup for an Android phone,
    /// or a folder that is no iPhone backup for an iPhone).
    #[error("{backup} {why}")]
    WrongBackup {
        backup: std::path::PathBuf,
        why: String,
    },
    /// A transport problem (no usbmuxd, a refused service, a protocol error).
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("cancelled")]
    Cancelled,
}

impl RestoreError {
    /// Stable, public code: scripts and the explanation catalog depend on it.
    pub fn code(&self) -> String {
        match self {
            Self::PhoneLost { .. } => "restore-phone-lost".into(),
            Self::Stalled { .. } => "restore-stalled".into(),
            Self::PhoneRefused { code, .. } => format!("mb-{code}"),
            Self::UnsafePath { .. } => "restore-unsafe-path".into(),
            Self::UnsafeName { .. } => "unsafe-path".into(),
            Self::Backup { .. } => "restore-backup-unreadable".into(),
            Self::Incomplete { .. } => "restore-incomplete".into(),
            Self::WrongPassword => "wrong-password".into(),
            Self::WrongBackup { .. } => "restore-wrong-backup".into(),
            Self::AppNotInstalled { failure, .. } => failure.code().into(),
            Self::NotConfirmed { .. } => "android-restore-not-confirmed".into(),
            Self::EndedEarly { .. } => "android-restore-ended-early".into(),
            Self::Device(e) => e.code().into(),
            Self::Cancelled => "cancelled".into(),
        }
    }
}
