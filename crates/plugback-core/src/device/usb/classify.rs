//! Which USB devices are phones, and in which USB state: decided from descriptors alone,
//! so it is pure and testable without hardware.

use serde::Serialize;

use super::descriptor::{Autosuspend, InterfaceClass, LinkSpeed, UsbDescriptor};
use super::vendors::{self, APPLE};
use crate::device::model::{Link, Platform};

/// usbmuxd's interface on iPhones, iPads and iPods (vendor-specific class).
pub const USBMUX_INTERFACE: InterfaceClass = InterfaceClass::new(0xFF, 0xFE, 0x02);
/// adbd's interface (AOSP adb: ADB_CLASS, ADB_SUBCLASS, ADB_PROTOCOL).
pub const ADB_INTERFACE: InterfaceClass = InterfaceClass::new(0xFF, 0x42, 0x01);
/// adbd over USB 3 debug capability (DbC), used by some newer phones.
pub const ADB_DBC_INTERFACE: InterfaceClass = InterfaceClass::new(0xDC, 0x02, 0x01);
/// The bootloader's fastboot interface: the phone is not running Android.
pub const FASTBOOT_INTERFACE: InterfaceClass = InterfaceClass::new(0xFF, 0x42, 0x03);
/// Still image capture: MTP and PTP, what a phone shows for file transfer.
pub const STILL_IMAGE_INTERFACE: InterfaceClass = InterfaceClass::new(0x06, 0x01, 0x01);
/// Class code of vendor-specific interfaces (some makers put MTP there).
const VENDOR_SPECIFIC_CLASS: u8 = 0xFF;

/// Below this the link is USB 1 (12 Mbit/s or less): a restore would take many hours.
pub const SLOW_LINK_BELOW_MBPS: u32 = 480;

/// What the phone shows on USB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsbPhoneKind {
    /// An Apple mobile device with its usbmux interface active: usbmuxd can reach it.
    Iphone,
    /// An Apple mobile device whose active configuration has no usbmux interface yet:
    /// usbmuxd switches the configuration when it runs, so it is not running.
    IphoneWithoutUsbmux,
    /// An Android phone with USB debugging on: the adb server can reach it.
    AndroidAdb,
    /// An Android phone in its bootloader (fastboot).
    AndroidFastboot,
    /// A phone of a known Android maker, showing file transfer or vendor interfaces but no
    /// ADB interface: USB debugging is off (or not allowed in this USB mode).
    AndroidDebuggingOff,
}

impl UsbPhoneKind {
    pub fn platform(self) -> Platform {
        match self {
            UsbPhoneKind::Iphone | UsbPhoneKind::IphoneWithoutUsbmux => Platform::Ios,
            UsbPhoneKind::AndroidAdb
            | UsbPhoneKind::AndroidFastboot
            | UsbPhoneKind::AndroidDebuggingOff => Platform::Android,
        }
    }

    /// The explanation catalog's code for a kind that needs the person to act.
    pub fn problem_code(self) -> Option<&'static str> {
        match self {
            UsbPhoneKind::Iphone | UsbPhoneKind::AndroidAdb => None,
            UsbPhoneKind::IphoneWithoutUsbmux => Some("usb-iphone-no-usbmux"),
            UsbPhoneKind::AndroidFastboot => Some("device-bootloader"),
            UsbPhoneKind::AndroidDebuggingOff => Some("usb-debugging-off"),
        }
    }
}

/// A phone seen on USB, with what the bus tells about its link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsbPhone {
    pub kind: UsbPhoneKind,
    /// The maker, from the vendor id ("Apple", "Samsung"); None for unknown Android makers.
    pub maker: Option<&'static str>,
    pub vendor_id: u16,
    pub product_id: u16,
    /// The USB serial number: an iPhone's UDID (without dashes on newer models), an
    /// Android phone's adb serial.
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub speed: Option<LinkSpeed>,
    /// bcdUSB from the device descriptor.
    pub usb_version: Option<u16>,
    pub bus_id: String,
    pub port_chain: Vec<u8>,
    pub autosuspend: Option<Autosuspend>,
    /// Linux: the device's sysfs directory, where its `power/control` lives.
    pub sysfs_path: Option<std::path::PathBuf>,
}

impl UsbPhone {
    pub fn platform(&self) -> Platform {
        self.kind.platform()
    }

    pub fn speed_mbps(&self) -> Option<u32> {
        self.speed.map(LinkSpeed::mbps)
    }

    /// See [`UsbDescriptor::via_hub`]: more than one port number means a hub in between.
    pub fn via_hub(&self) -> Option<bool> {
        if self.port_chain.is_empty() {
            None
        } else {
            Some(self.port_chain.len() > 1)
        }
    }

    pub fn link(&self) -> Link {
        Link {
            speed_mbps: self.speed_mbps(),
            via_hub: self.via_hub(),
        }
    }

    /// Where the phone is plugged in, for people: "bus 001, port 2.4".
    pub fn location(&self) -> String {
        let ports: Vec<String> = self.port_chain.iter().map(u8::to_string).collect();
        if ports.is_empty() {
            format!("bus {}", self.bus_id)
        } else {
            format!("bus {}, port {}", self.bus_id, ports.join("."))
        }
    }

    /// Catalog codes for everything on this link worth telling the person, most serious first.
    pub fn problem_codes(&self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = self.kind.problem_code().into_iter().collect();
        if self
            .speed_mbps()
            .is_some_and(|mbps| mbps < SLOW_LINK_BELOW_MBPS)
        {
            codes.push("usb-slow-link");
        }
        if self.autosuspend == Some(Autosuspend::Auto) {
            codes.push("usb-autosuspend-auto");
        }
        codes
    }
}

#[cfg(test)]
impl UsbPhone {
    /// A phone of `kind` on bus 1, port 1, with nothing else known: tests set what they check.
    pub(crate) fn sample(kind: UsbPhoneKind) -> UsbPhone {
        UsbPhone {
            kind,
            maker: None,
            vendor_id: 0,
            product_id: 0,
            serial: None,
            manufacturer: None,
            product: None,
            speed: None,
            usb_version: None,
            bus_id: "1".into(),
            port_chain: vec![1],
            autosuspend: None,
            sysfs_path: None,
        }
    }
}

/// The phone this USB device is, if it is one.
pub fn classify(device: &UsbDescriptor) -> Option<UsbPhone> {
    let (kind, maker) = kind_of(device)?;
    Some(UsbPhone {
        kind,
        maker,
        vendor_id: device.vendor_id,
        product_id: device.product_id,
        serial: non_empty(&device.serial),
        manufacturer: non_empty(&device.manufacturer),
        product: non_empty(&device.product),
        speed: device.speed,
        usb_version: device.usb_version,
        bus_id: device.bus_id.clone(),
        port_chain: device.port_chain.clone(),
        autosuspend: device.autosuspend,
        sysfs_path: device.sysfs_path.clone(),
    })
}

fn kind_of(device: &UsbDescriptor) -> Option<(UsbPhoneKind, Option<&'static str>)> {
    if device.vendor_id == APPLE {
        let kind = if device.has_interface(USBMUX_INTERFACE) && device.product_id & 0xFF00 == 0x1200
        {
            UsbPhoneKind::Iphone
        } else if USBMUXD_PRODUCTS.contains(&device.product_id) {
            UsbPhoneKind::IphoneWithoutUsbmux
        } else {
            // Keyboards, adapters, and mobile devices in recovery or DFU mode.
            return None;
        };
        return Some((kind, Some("Apple")));
    }
    let maker = vendors::android_vendor(device.vendor_id);
    // The ADB interface alone makes an Android phone, whoever made it.
    if device.has_interface(ADB_INTERFACE) || device.has_interface(ADB_DBC_INTERFACE) {
        return Some((UsbPhoneKind::AndroidAdb, maker));
    }
    if device.has_interface(FASTBOOT_INTERFACE) {
        return Some((UsbPhoneKind::AndroidFastboot, maker));
    }
    let known_maker = maker?;
    if vendors::is_known_non_phone(device.vendor_id, device.product_id) {
        return None;
    }
    let looks_like_a_phone = device
        .interfaces
        .iter()
        .any(|i| *i == STILL_IMAGE_INTERFACE || i.class == VENDOR_SPECIFIC_CLASS);
    looks_like_a_phone.then_some((UsbPhoneKind::AndroidDebuggingOff, Some(known_maker)))
}

/// The Apple products usbmuxd itself takes on (its PID_RANGE_LOW..=PID_RANGE_MAX): iPhones,
/// iPads and iPods in normal mode. Recovery (0x1280..=0x1283) and DFU (0x1222, 0x1227) modes
/// fall outside.
const USBMUXD_PRODUCTS: std::ops::RangeInclusive<u16> = 0x1290..=0x12AF;

fn non_empty(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MTP: InterfaceClass = STILL_IMAGE_INTERFACE;
    const PTP_ONLY_APPLE: InterfaceClass = InterfaceClass::new(0x06, 0x01, 0x01);
    const HID: InterfaceClass = InterfaceClass::new(0x03, 0x01, 0x02);
    const MASS_STORAGE: InterfaceClass = InterfaceClass::new(0x08, 0x06, 0x50);

    fn device(vendor_id: u16, product_id: u16, interfaces: &[InterfaceClass]) -> UsbDescriptor {
        UsbDescriptor {
            vendor_id,
            product_id,
            interfaces: interfaces.to_vec(),
            speed: Some(LinkSpeed::High),
            bus_id: "001".into(),
            port_chain: vec![2],
            serial: Some("SERIAL1".into()),
            ..UsbDescriptor::default()
        }
    }

    fn kind(d: &UsbDescriptor) -> Option<UsbPhoneKind> {
        classify(d).map(|p| p.kind)
    }

    #[test]
    fn iphone_with_usbmux_interface() {
        // An iPhone's usual active configuration: PTP, then usbmux (and often a network
        // interface).
        let d = device(APPLE, 0x12A8, &[PTP_ONLY_APPLE, USBMUX_INTERFACE]);
        let phone = classify(&d).expect("an iPhone");
        assert_eq!(phone.kind, UsbPhoneKind::Iphone);
        assert_eq!(phone.platform(), Platform::Ios);
        assert_eq!(phone.maker, Some("Apple"));
        assert_eq!(phone.serial.as_deref(), Some("SERIAL1"));
        assert!(phone.problem_codes().is_empty());
    }

    #[test]
    fn iphone_without_usbmux_interface_means_usbmuxd_is_not_running() {
        let d = device(APPLE, 0x12A8, &[PTP_ONLY_APPLE]);
        assert_eq!(kind(&d), Some(UsbPhoneKind::IphoneWithoutUsbmux));
        let codes = classify(&d).map(|p| p.problem_codes()).unwrap_or_default();
        assert_eq!(codes, vec!["usb-iphone-no-usbmux"]);
    }

    #[test]
    fn any_apple_0x12xx_product_with_usbmux_is_an_iphone() {
        assert_eq!(
            kind(&device(APPLE, 0x12B5, &[USBMUX_INTERFACE])),
            Some(UsbPhoneKind::Iphone)
        );
        // Outside usbmuxd's range and without usbmux: not a device Plugback can reach.
        assert_eq!(kind(&device(APPLE, 0x12B5, &[PTP_ONLY_APPLE])), None);
    }

    #[test]
    fn apple_devices_outside_the_mobile_range_are_not_phones() {
        // Keyboard, recovery mode, DFU mode.
        assert_eq!(kind(&device(APPLE, 0x024F, &[HID])), None);
        assert_eq!(kind(&device(APPLE, 0x1281, &[])), None);
        assert_eq!(kind(&device(APPLE, 0x1227, &[])), None);
        // Vendor id of another maker with the usbmux triple is not an iPhone either.
        assert_eq!(kind(&device(0x1234, 0x12A8, &[USBMUX_INTERFACE])), None);
    }

    #[test]
    fn android_with_adb_interface() {
        let d = device(0x18D1, 0x4EE2, &[MTP, ADB_INTERFACE]);
        let phone = classify(&d).expect("a Pixel");
        assert_eq!(phone.kind, UsbPhoneKind::AndroidAdb);
        assert_eq!(phone.platform(), Platform::Android);
        assert_eq!(phone.maker, Some("Google"));
        assert!(phone.problem_codes().is_empty());
    }

    #[test]
    fn adb_interface_makes_a_phone_even_from_an_unknown_maker() {
        let phone = classify(&device(0x1D6B, 0x0104, &[ADB_INTERFACE])).expect("adb");
        assert_eq!(phone.kind, UsbPhoneKind::AndroidAdb);
        assert_eq!(phone.maker, None);
    }

    #[test]
    fn adb_over_usb_debug_capability() {
        assert_eq!(
            kind(&device(0x04E8, 0x6860, &[ADB_DBC_INTERFACE])),
            Some(UsbPhoneKind::AndroidAdb)
        );
    }

    #[test]
    fn fastboot_is_the_bootloader() {
        let d = device(0x18D1, 0x4EE0, &[FASTBOOT_INTERFACE]);
        assert_eq!(kind(&d), Some(UsbPhoneKind::AndroidFastboot));
        assert_eq!(
            classify(&d).map(|p| p.problem_codes()),
            Some(vec!["device-bootloader"])
        );
    }

    #[test]
    fn known_maker_with_file_transfer_but_no_adb_means_debugging_off() {
        for vendor in [
            0x04E8, 0x2717, 0x2A70, 0x22B8, 0x12D1, 0x0FCE, 0x1004, 0x0BB4, 0x22D9,
        ] {
            let d = device(vendor, 0x6860, &[MTP]);
            assert_eq!(
                kind(&d),
                Some(UsbPhoneKind::AndroidDebuggingOff),
                "vendor {vendor:04x}"
            );
        }
        let phone = classify(&device(0x04E8, 0x6860, &[MTP])).expect("phone");
        assert_eq!(phone.problem_codes(), vec!["usb-debugging-off"]);
        assert_eq!(phone.maker, Some("Samsung"));
    }

    #[test]
    fn known_maker_with_only_a_vendor_interface_means_debugging_off() {
        let d = device(0x2717, 0xFF40, &[InterfaceClass::new(0xFF, 0xFF, 0x00)]);
        assert_eq!(kind(&d), Some(UsbPhoneKind::AndroidDebuggingOff));
    }

    #[test]
    fn other_gadgets_of_phone_makers_are_not_phones() {
        // A Samsung printer, an ASUS accessory, a Samsung flash drive, a Sony mouse.
        assert_eq!(kind(&device(0x04E8, 0x3301, &[MTP])), None);
        assert_eq!(
            kind(&device(0x0B05, 0x1866, &[InterfaceClass::new(0xFF, 0, 0)])),
            None
        );
        assert_eq!(kind(&device(0x04E8, 0x61F5, &[MASS_STORAGE])), None);
        assert_eq!(kind(&device(0x054C, 0x0001, &[HID])), None);
        assert_eq!(kind(&device(0x18D1, 0x4EE1, &[])), None);
    }

    #[test]
    fn unknown_maker_without_adb_is_not_a_phone() {
        assert_eq!(kind(&device(0x046D, 0xC077, &[HID])), None);
        assert_eq!(kind(&device(0x1234, 0x5678, &[MTP])), None);
    }

    #[test]
    fn blank_strings_become_none() {
        let mut d = device(0x18D1, 0x4EE2, &[ADB_INTERFACE]);
        d.serial = Some("  ".into());
        d.product = Some(" Pixel 8 ".into());
        let phone = classify(&d).expect("phone");
        assert_eq!(phone.serial, None);
        assert_eq!(phone.product.as_deref(), Some("Pixel 8"));
    }

    #[test]
    fn link_reports_speed_and_hub() {
        let mut d = device(0x18D1, 0x4EE2, &[ADB_INTERFACE]);
        d.speed = Some(LinkSpeed::Super);
        d.port_chain = vec![1, 3];
        let phone = classify(&d).expect("phone");
        assert_eq!(
            phone.link(),
            Link {
                speed_mbps: Some(5000),
                via_hub: Some(true)
            }
        );
        assert_eq!(phone.location(), "bus 001, port 1.3");
        d.speed = None;
        d.port_chain.clear();
        let phone = classify(&d).expect("phone");
        assert_eq!(phone.link(), Link::default());
        assert_eq!(phone.location(), "bus 001");
    }

    #[test]
    fn slow_link_and_autosuspend_are_reported() {
        let mut d = device(APPLE, 0x12A8, &[USBMUX_INTERFACE]);
        d.speed = Some(LinkSpeed::Full);
        d.autosuspend = Some(Autosuspend::Auto);
        let phone = classify(&d).expect("phone");
        assert_eq!(
            phone.problem_codes(),
            vec!["usb-slow-link", "usb-autosuspend-auto"]
        );
        d.speed = Some(LinkSpeed::High);
        d.autosuspend = Some(Autosuspend::Off);
        assert!(classify(&d).is_some_and(|p| p.problem_codes().is_empty()));
    }
}
