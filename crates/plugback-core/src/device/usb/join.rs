//! Joins what USB tells about a phone (link speed, hub) to what its transport tells
//! (usbmuxd or the adb server), by the serial number both report.

use super::classify::UsbPhone;
use crate::device::model::{Device, Platform};

/// True when `phone` on USB is the same phone as `device` from its transport.
///
/// iPhone: the USB serial is the UDID without its dash ("00008030-001A…" is served as
/// "00008030001A…"), in either case. Android: the adb server names a USB phone by its USB
/// serial, exactly.
pub fn same_phone(phone: &UsbPhone, device: &Device) -> bool {
    if phone.platform() != device.platform {
        return false;
    }
    let Some(serial) = phone.serial.as_deref() else {
        return false;
    };
    match device.platform {
        Platform::Ios => {
            let udid: String = device.id.chars().filter(|c| *c != '-').collect();
            !udid.is_empty() && udid.eq_ignore_ascii_case(serial)
        }
        Platform::Android => !device.id.is_empty() && device.id == serial,
    }
}

/// The USB phone that is `device`, if any.
pub fn find<'a>(phones: &'a [UsbPhone], device: &Device) -> Option<&'a UsbPhone> {
    phones.iter().find(|phone| same_phone(phone, device))
}

/// Fills `device.link` from its USB presence; what USB does not know stays as it was.
/// Returns whether a USB phone matched.
pub fn fill_link(device: &mut Device, phones: &[UsbPhone]) -> bool {
    let Some(phone) = find(phones, device) else {
        return false;
    };
    let link = phone.link();
    if link.speed_mbps.is_some() {
        device.link.speed_mbps = link.speed_mbps;
    }
    if link.via_hub.is_some() {
        device.link.via_hub = link.via_hub;
    }
    true
}

/// [`fill_link`] for every device.
pub fn fill_links(devices: &mut [Device], phones: &[UsbPhone]) {
    for device in devices {
        fill_link(device, phones);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::model::Link;
    use crate::device::usb::classify::UsbPhoneKind;
    use crate::device::usb::descriptor::LinkSpeed;

    fn device(platform: Platform, id: &str) -> Device {
        Device::sample(platform, id)
    }

    fn phone(kind: UsbPhoneKind, serial: Option<&str>, speed: LinkSpeed, ports: &[u8]) -> UsbPhone {
        UsbPhone {
            serial: serial.map(str::to_owned),
            speed: Some(speed),
            bus_id: "001".into(),
            port_chain: ports.to_vec(),
            ..UsbPhone::sample(kind)
        }
    }

    #[test]
    fn iphone_matches_udid_without_dash_in_any_case() {
        let usb = phone(
            UsbPhoneKind::Iphone,
            Some("00008030001a35e23c02802e"),
            LinkSpeed::High,
            &[2],
        );
        let mut iphone = device(Platform::Ios, "00008030-001A35E23C02802E");
        assert!(same_phone(&usb, &iphone));
        assert!(fill_link(&mut iphone, std::slice::from_ref(&usb)));
        assert_eq!(
            iphone.link,
            Link {
                speed_mbps: Some(480),
                via_hub: Some(false)
            }
        );
    }

    #[test]
    fn older_iphone_udid_has_no_dash() {
        let udid = "2f7a7ba3b1c8d3e4f5a6b7c8d9e0f1a2b3c4d5e6";
        let usb = phone(UsbPhoneKind::Iphone, Some(udid), LinkSpeed::High, &[1]);
        assert!(same_phone(&usb, &device(Platform::Ios, udid)));
        assert!(same_phone(
            &usb,
            &device(Platform::Ios, &udid.to_ascii_uppercase())
        ));
    }

    #[test]
    fn android_matches_adb_serial_exactly() {
        let usb = phone(
            UsbPhoneKind::AndroidAdb,
            Some("R58M12ABCDE"),
            LinkSpeed::Super,
            &[3, 1],
        );
        let mut android = device(Platform::Android, "R58M12ABCDE");
        assert!(fill_link(&mut android, std::slice::from_ref(&usb)));
        assert_eq!(android.link.speed_mbps, Some(5000));
        assert_eq!(android.link.via_hub, Some(true));
        assert!(!same_phone(&usb, &device(Platform::Android, "r58m12abcde")));
        assert!(!same_phone(
            &usb,
            &device(Platform::Android, "192.168.1.5:5555")
        ));
    }

    #[test]
    fn platforms_and_missing_serials_never_match() {
        let android = phone(UsbPhoneKind::AndroidAdb, Some("ABC"), LinkSpeed::High, &[1]);
        assert!(!same_phone(&android, &device(Platform::Ios, "ABC")));
        let no_serial = phone(UsbPhoneKind::Iphone, None, LinkSpeed::High, &[1]);
        assert!(!same_phone(&no_serial, &device(Platform::Ios, "")));
        let empty = phone(UsbPhoneKind::Iphone, Some(""), LinkSpeed::High, &[1]);
        assert!(!same_phone(&empty, &device(Platform::Ios, "-")));
    }

    #[test]
    fn unmatched_devices_keep_their_link() {
        let phones = [
            phone(UsbPhoneKind::AndroidAdb, Some("ONE"), LinkSpeed::High, &[1]),
            phone(UsbPhoneKind::AndroidAdb, Some("TWO"), LinkSpeed::Full, &[]),
        ];
        let mut devices = vec![
            device(Platform::Android, "TWO"),
            device(Platform::Android, "THREE"),
        ];
        devices[0].link.via_hub = Some(true);
        devices[1].link.speed_mbps = Some(480);
        fill_links(&mut devices, &phones);
        assert_eq!(
            devices[0].link,
            Link {
                speed_mbps: Some(12),
                via_hub: Some(true)
            },
            "USB gave no port chain, so the hub answer stays"
        );
        assert_eq!(devices[1].link.speed_mbps, Some(480));
        assert_eq!(find(&phones, &devices[1]), None);
    }
}
