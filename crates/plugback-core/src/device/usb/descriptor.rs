//! A neutral picture of one USB device, as the operating system describes it without
//! opening the device. Filled from nusb on a real computer and by hand in tests, so the
//! classification never needs hardware.

use std::path::PathBuf;

use serde::Serialize;

/// One interface of the device's active configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InterfaceClass {
    pub class: u8,
    pub subclass: u8,
    pub protocol: u8,
}

impl InterfaceClass {
    pub const fn new(class: u8, subclass: u8, protocol: u8) -> Self {
        Self {
            class,
            subclass,
            protocol,
        }
    }
}

/// The negotiated USB signalling rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkSpeed {
    /// USB 1 low speed, 1.5 Mbit/s.
    Low,
    /// USB 1 full speed, 12 Mbit/s.
    Full,
    /// USB 2 high speed, 480 Mbit/s.
    High,
    /// USB 3 SuperSpeed, 5 Gbit/s.
    Super,
    /// USB 3 SuperSpeed+, 10 Gbit/s.
    SuperPlus,
    /// Any other rate the system reports, in Mbit/s (Linux writes "20000" for 20 Gbit/s).
    OtherMbps(u32),
}

impl LinkSpeed {
    /// Whole Mbit/s, rounded down (low speed's 1.5 becomes 1): the unit of `Link::speed_mbps`.
    pub fn mbps(self) -> u32 {
        match self {
            LinkSpeed::Low => 1,
            LinkSpeed::Full => 12,
            LinkSpeed::High => 480,
            LinkSpeed::Super => 5000,
            LinkSpeed::SuperPlus => 10000,
            LinkSpeed::OtherMbps(mbps) => mbps,
        }
    }

    /// Parses Linux's sysfs `speed` attribute ("1.5", "12", "480", "5000", "10000", "20000").
    pub fn from_sysfs(text: &str) -> Option<LinkSpeed> {
        match text.trim() {
            "1.5" => Some(LinkSpeed::Low),
            "12" => Some(LinkSpeed::Full),
            "480" => Some(LinkSpeed::High),
            "5000" => Some(LinkSpeed::Super),
            "10000" => Some(LinkSpeed::SuperPlus),
            other => other
                .parse::<u32>()
                .ok()
                .filter(|&mbps| mbps > 0)
                .map(LinkSpeed::OtherMbps),
        }
    }
}

/// Power management of the device, from Linux's sysfs `power/control`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Autosuspend {
    /// `on`: the device is kept awake.
    Off,
    /// `auto`: the kernel may suspend the device when it looks idle, which can drop a
    /// phone's connection in the middle of a long transfer.
    Auto,
}

/// What the system tells about one USB device before anyone opens it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsbDescriptor {
    pub vendor_id: u16,
    pub product_id: u16,
    /// Device class triple (0/0/0 for composite devices such as phones).
    pub device_class: Option<InterfaceClass>,
    /// The interfaces of the active configuration.
    pub interfaces: Vec<InterfaceClass>,
    pub speed: Option<LinkSpeed>,
    /// The USB version the device's descriptor declares (bcdUSB: 0x0320 for USB 3.2).
    pub usb_version: Option<u16>,
    /// Bus or host controller identifier, as the system names it.
    pub bus_id: String,
    /// Port numbers from the root hub down to the device; empty where the system does not tell.
    pub port_chain: Vec<u8>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// Linux: the device's sysfs directory.
    pub sysfs_path: Option<PathBuf>,
    /// Linux: the `power/control` setting, where it could be read.
    pub autosuspend: Option<Autosuspend>,
}

impl UsbDescriptor {
    pub fn has_interface(&self, wanted: InterfaceClass) -> bool {
        self.interfaces.contains(&wanted)
    }

    /// True when a hub sits between the device and the computer; None where the system
    /// gives no port chain. A device plugged straight into the computer has one port number
    /// (the root hub's port); every hub in between adds one. Hubs built into a laptop or a
    /// monitor count too: the system cannot tell them from a hub on the desk.
    pub fn via_hub(&self) -> Option<bool> {
        if self.port_chain.is_empty() {
            None
        } else {
            Some(self.port_chain.len() > 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_convert_to_megabits() {
        assert_eq!(LinkSpeed::Low.mbps(), 1);
        assert_eq!(LinkSpeed::Full.mbps(), 12);
        assert_eq!(LinkSpeed::High.mbps(), 480);
        assert_eq!(LinkSpeed::Super.mbps(), 5000);
        assert_eq!(LinkSpeed::SuperPlus.mbps(), 10000);
        assert_eq!(LinkSpeed::OtherMbps(20000).mbps(), 20000);
    }

    #[test]
    fn sysfs_speed_text_parses_including_twenty_gigabit() {
        assert_eq!(LinkSpeed::from_sysfs("1.5\n"), Some(LinkSpeed::Low));
        assert_eq!(LinkSpeed::from_sysfs("12"), Some(LinkSpeed::Full));
        assert_eq!(LinkSpeed::from_sysfs("480\n"), Some(LinkSpeed::High));
        assert_eq!(LinkSpeed::from_sysfs("5000"), Some(LinkSpeed::Super));
        assert_eq!(LinkSpeed::from_sysfs("10000"), Some(LinkSpeed::SuperPlus));
        assert_eq!(
            LinkSpeed::from_sysfs("20000"),
            Some(LinkSpeed::OtherMbps(20000))
        );
        assert_eq!(LinkSpeed::from_sysfs("unknown"), None);
        assert_eq!(LinkSpeed::from_sysfs("0"), None);
        assert_eq!(LinkSpeed::from_sysfs(""), None);
    }

    #[test]
    fn hub_is_decided_from_the_port_chain() {
        let mut d = UsbDescriptor::default();
        assert_eq!(d.via_hub(), None);
        d.port_chain = vec![3];
        assert_eq!(d.via_hub(), Some(false));
        d.port_chain = vec![3, 1];
        assert_eq!(d.via_hub(), Some(true));
        d.port_chain = vec![2, 4, 1];
        assert_eq!(d.via_hub(), Some(true));
    }
}
