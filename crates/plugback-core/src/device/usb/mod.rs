//! USB presence: which phones are on the bus, how fast their link is, and whether a hub or
//! power saving stands in the way. Read from the system's USB view without opening any
//! device, so usbmuxd and the adb server keep owning the phones.
//!
//! Where the system gives no USB view (a container without /sys/bus/usb, no permission, an
//! unsupported system), presence is [`Presence::Unavailable`]: everything else in Plugback
//! keeps working from the transports alone, with an unknown link.

pub mod classify;
pub mod descriptor;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
mod enumerate;
pub mod join;
pub mod sysfs;
pub mod vendors;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
pub mod watch;

use serde::Serialize;

pub use classify::{UsbPhone, UsbPhoneKind, classify};
pub use descriptor::{Autosuspend, InterfaceClass, LinkSpeed, UsbDescriptor};
pub use join::{fill_link, fill_links, same_phone};

use super::DeviceError;

/// A phone arrived on or left the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsbEvent {
    Attached(UsbPhone),
    /// The phone as it was last seen.
    Detached(UsbPhone),
}

/// What USB can tell right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Presence {
    /// The phones on the bus (possibly none).
    Available { phones: Vec<UsbPhone> },
    /// This computer gives Plugback no USB view; `reason` says what failed.
    Unavailable { reason: String },
}

impl Presence {
    /// The explanation catalog's code when USB cannot be seen.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Presence::Available { .. } => None,
            Presence::Unavailable { .. } => Some("usb-unavailable"),
        }
    }

    /// The phones seen; none where USB is unavailable.
    pub fn phones(&self) -> &[UsbPhone] {
        match self {
            Presence::Available { phones } => phones,
            Presence::Unavailable { .. } => &[],
        }
    }

    fn from_scan(scan: Result<Vec<UsbPhone>, DeviceError>) -> Presence {
        match scan {
            Ok(phones) => Presence::Available { phones },
            Err(e) => Presence::Unavailable {
                reason: e.to_string(),
            },
        }
    }
}

/// The computer's USB bus, as far as phones go.
#[derive(Clone, Copy, Debug, Default)]
pub struct UsbPresence;

impl UsbPresence {
    /// The phones on the bus now. Fails where the system gives no USB view; most callers
    /// want [`UsbPresence::presence`], which turns that into [`Presence::Unavailable`].
    pub fn scan() -> Result<Vec<UsbPhone>, DeviceError> {
        Ok(list_devices()?.iter().filter_map(classify).collect())
    }

    /// [`UsbPresence::scan`], with a failure reported as a state rather than an error.
    pub fn presence() -> Presence {
        Presence::from_scan(Self::scan())
    }

    /// Follows phones arriving and leaving; see [`watch::watch`].
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    pub fn watch(
        cancel: &crate::cancel::CancelToken,
    ) -> Result<tokio::sync::mpsc::UnboundedReceiver<UsbEvent>, DeviceError> {
        watch::watch(cancel)
    }
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
fn list_devices() -> Result<Vec<UsbDescriptor>, DeviceError> {
    enumerate::list()
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn list_devices() -> Result<Vec<UsbDescriptor>, DeviceError> {
    Err(DeviceError::Io(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "Plugback cannot list USB devices on this system",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_scan_is_unavailable_with_its_reason_and_code() {
        let failed = Presence::from_scan(Err(DeviceError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "/sys/bus/usb/devices/ not found",
        ))));
        assert_eq!(failed.code(), Some("usb-unavailable"));
        assert!(failed.phones().is_empty());
        let Presence::Unavailable { reason } = &failed else {
            panic!("expected Unavailable, got {failed:?}");
        };
        assert!(reason.contains("/sys/bus/usb"), "{reason}");
    }

    #[test]
    fn successful_scan_is_available() {
        let empty = Presence::from_scan(Ok(Vec::new()));
        assert_eq!(empty, Presence::Available { phones: Vec::new() });
        assert_eq!(empty.code(), None);
    }

    /// On any computer, with or without USB: presence never panics, and it is Unavailable
    /// exactly when the scan fails.
    #[test]
    fn presence_matches_scan_on_this_computer() {
        let presence = UsbPresence::presence();
        match UsbPresence::scan() {
            Ok(_) => assert_eq!(presence.code(), None),
            Err(_) => assert_eq!(presence.code(), Some("usb-unavailable")),
        }
        if !std::path::Path::new("/sys/bus/usb/devices").exists() && cfg!(target_os = "linux") {
            assert_eq!(presence.code(), Some("usb-unavailable"));
        }
    }
}
