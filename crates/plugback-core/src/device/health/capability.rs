//! What link a phone can do at best, so that a slow link can be told from a slow phone.

use crate::device::usb::UsbPhone;
use crate::device::{Device, Platform};

/// iPhones with a USB 3 port (10 Gb/s over a USB 3 cable). The other USB-C iPhones (15,
/// 15 Plus, 16, 16 Plus, 16e, 17, Air) are USB 2 like every Lightning iPhone. By product
/// type and by the name people know, since a phone is known by either.
const USB3_IPHONES: &[(&str, &str)] = &[
    ("iPhone16,1", "iPhone 15 Pro"),
    ("iPhone16,2", "iPhone 15 Pro Max"),
    ("iPhone17,1", "iPhone 16 Pro"),
    ("iPhone17,2", "iPhone 16 Pro Max"),
    ("iPhone18,1", "iPhone 17 Pro"),
    ("iPhone18,2", "iPhone 17 Pro Max"),
];

/// The fastest link the phone can do, in Mb/s, where Plugback knows it.
///
/// An Android phone counts as USB 3 when its USB descriptor declares 3.0 or later. A USB 3
/// phone that came up on a USB 2 cable usually declares 2.1, so Plugback cannot always tell
/// it from a USB 2 phone; then it says nothing rather than guess.
pub fn best_link_mbps(device: &Device, usb: Option<&UsbPhone>) -> Option<u32> {
    match device.platform {
        Platform::Ios => {
            let model = device.model.as_deref()?;
            if USB3_IPHONES
                .iter()
                .any(|(product, name)| model == *product || model == *name)
            {
                Some(10_000)
            } else {
                Some(480)
            }
        }
        Platform::Android => match usb?.usb_version? {
            version if version >= 0x0310 => Some(10_000),
            version if version >= 0x0300 => Some(5_000),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::usb::UsbPhoneKind;

    fn phone(platform: Platform, model: &str) -> Device {
        Device {
            model: Some(model.into()),
            ..Device::sample(platform, "x")
        }
    }

    fn usb(version: Option<u16>) -> UsbPhone {
        UsbPhone {
            usb_version: version,
            ..UsbPhone::sample(UsbPhoneKind::AndroidAdb)
        }
    }

    #[test]
    fn usb3_iphones_by_name_or_product_type() {
        for model in ["iPhone 15 Pro", "iPhone16,2", "iPhone 17 Pro Max"] {
            assert_eq!(
                best_link_mbps(&phone(Platform::Ios, model), None),
                Some(10_000),
                "{model}"
            );
        }
        for model in ["iPhone 15", "iPhone 14 Pro", "iPhone Air", "iPhone 16e"] {
            assert_eq!(
                best_link_mbps(&phone(Platform::Ios, model), None),
                Some(480),
                "{model}"
            );
        }
        let mut unknown = phone(Platform::Ios, "");
        unknown.model = None;
        assert_eq!(best_link_mbps(&unknown, None), None);
    }

    #[test]
    fn android_from_the_usb_descriptor_only() {
        let pixel = phone(Platform::Android, "Pixel 8");
        assert_eq!(
            best_link_mbps(&pixel, Some(&usb(Some(0x0320)))),
            Some(10_000)
        );
        assert_eq!(
            best_link_mbps(&pixel, Some(&usb(Some(0x0300)))),
            Some(5_000)
        );
        assert_eq!(best_link_mbps(&pixel, Some(&usb(Some(0x0210)))), None);
        assert_eq!(best_link_mbps(&pixel, None), None);
    }
}
