//! The simulated iPhone: a usbmuxd that one or more simulated iPhones share, and on each
//! phone lockdownd, notification_proxy, AFC and the mobilebackup2 device side.
//!
//! Everything speaks the real wire protocols, byte for byte, and is checked against
//! libimobiledevice's own tools. Each connection runs on a thread of its own with blocking
//! I/O: a simulator serves a handful of connections, and threads keep the code plain.

pub mod afc;
pub mod device_values;
pub mod dispatch;
pub mod link;
pub mod lockdown;
pub mod mobilebackup2;
pub mod notification_proxy;
pub mod pairing;
pub mod phone;
pub mod plist_frame;
pub mod sim;
pub mod socket;
pub mod tls;
pub mod usbmuxd;

pub use mobilebackup2::restore_check;
pub use phone::{IphoneConfig, Phone, ServiceContext, TrustMode};
pub use sim::{SimError, SimIphone, SimUsbmuxd, UsbmuxdAddr, apply_control};
