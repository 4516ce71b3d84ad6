//! The one error type of the device layer. Each variant has a stable code that
//! `crate::explain` turns into words for a person, with the fix for this computer.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// usbmuxd cannot be reached: not installed, not running, or (Windows) the Apple
    /// Mobile Device Service is missing.
    #[error("cannot reach usbmuxd at {address}: {detail}")]
    UsbmuxdUnavailable { address: String, detail: String },
    /// No adb server and no adb program to start one.
    #[error("cannot reach the adb server: {detail}")]
    AdbUnavailable { detail: String },
    /// A phone or a server went quiet for longer than Plugback waits.
    #[error("{what} did not answer within {after:?}")]
    Timeout { what: String, after: Duration },
    /// A reply that does not follow the protocol (a broken or foreign server).
    #[error("unexpected reply from {peer}: {detail}")]
    Protocol { peer: String, detail: String },
    /// The phone asked for is not plugged in (or not seen).
    #[error("no phone {id} is connected")]
    NotFound { id: String },
    /// The phone refused a request, and said why.
    #[error("the phone refused: {detail}")]
    Refused { detail: String },
    /// The phone is locked with its passcode and will not answer until it is unlocked.
    #[error("the phone is locked with its passcode; unlock it")]
    Locked,
    /// The adb key or a pair record could not be read or written.
    #[error("{path}: {source}")]
    Key {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cancelled")]
    Cancelled,
}

impl DeviceError {
    /// Stable, public code: scripts and the explanation catalog depend on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UsbmuxdUnavailable { .. } => "usbmuxd-unavailable",
            Self::AdbUnavailable { .. } => "adb-unavailable",
            Self::Timeout { .. } => "device-timeout",
            Self::Protocol { .. } => "device-protocol",
            Self::NotFound { .. } => "device-not-found",
            Self::Refused { .. } => "device-refused",
            Self::Locked => "device-locked",
            Self::Key { .. } => "device-key",
            Self::Io(_) => "device-io",
            Self::Cancelled => "cancelled",
        }
    }
}
