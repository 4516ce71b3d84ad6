//! The phones plugged into this computer as the window knows them: kept up to date from
//! the engine's watcher events, which the worker forwards. Pure logic: no I/O.

use plugback_core::device::usb::{UsbEvent, UsbPhone};
use plugback_core::device::watcher::WatchEvent;
use plugback_core::device::{Device, DeviceEvent, Platform};

/// A phone service (usbmuxd for iPhones, the adb server for Android phones) that does not
/// answer: its phones cannot be seen until it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDown {
    pub platform: Platform,
    /// The device error's stable code, for the plain-language catalog.
    pub code: &'static str,
    pub message: String,
}

/// The phones plugged into this computer, as the watcher reports them.
#[derive(Debug, Default)]
pub struct Phones {
    /// Whether the window watches for phones at all.
    pub watching: bool,
    /// Phones a service can reach, in the order they arrived.
    pub devices: Vec<Device>,
    /// Phones seen on USB that no service can reach (USB debugging off, usbmuxd not
    /// running): each has a problem code, which says what to do.
    pub unreachable: Vec<UsbPhone>,
    /// Services that do not answer, at most one entry each.
    pub sources_down: Vec<SourceDown>,
    /// Why watching could not start or stopped, if it did.
    pub problem: Option<String>,
}

impl Phones {
    pub fn apply(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::Device(DeviceEvent::Attached(device) | DeviceEvent::Changed(device)) => {
                match self.devices.iter_mut().find(|d| d.id == device.id) {
                    Some(known) => *known = device,
                    None => self.devices.push(device),
                }
            }
            WatchEvent::Device(DeviceEvent::Detached { id, .. }) => {
                self.devices.retain(|d| d.id != id);
            }
            WatchEvent::Usb(UsbEvent::Attached(phone)) => {
                if phone.kind.problem_code().is_some() && !self.unreachable.contains(&phone) {
                    self.unreachable.push(phone);
                }
            }
            WatchEvent::Usb(UsbEvent::Detached(phone)) => {
                self.unreachable.retain(|p| *p != phone);
            }
            WatchEvent::SourceDown { platform, error } => {
                let down = SourceDown {
                    platform,
                    code: error.code(),
                    message: error.to_string(),
                };
                self.sources_down.retain(|s| s.platform != platform);
                self.sources_down.push(down);
            }
            WatchEvent::SourceUp { platform } => {
                self.sources_down.retain(|s| s.platform != platform);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty() && self.unreachable.is_empty()
    }
}
