//! The device layer: phones plugged into this computer, seen through their transports
//! (usbmuxd and lockdown for iPhones, the adb server for Android phones) and, where the
//! computer allows it, their USB presence.

pub mod android;
pub mod error;
pub mod health;
pub mod ios;
pub mod model;
pub mod snapshot;
pub mod usb;
pub mod watcher;

pub use error::DeviceError;
pub use model::{Battery, Device, DeviceEvent, DeviceState, Link, Platform, Storage};
