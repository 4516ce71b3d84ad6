//! USB vendor ids of Android phone makers, for labels and for telling a phone with USB
//! debugging off from any other USB gadget. Ids as listed in the public Android udev rules
//! (github.com/M0Rf30/android-udev-rules, file 51-android.rules); whether a phone speaks
//! ADB is decided from its interfaces, never from this list.

/// Apple's USB vendor id (iPhones, iPads, and also keyboards, mice and adapters).
pub const APPLE: u16 = 0x05AC;

const ANDROID_VENDORS: &[(u16, &str)] = &[
    (0x0502, "Acer"),
    (0x0B05, "ASUS"),
    (0x0BB4, "HTC"),
    (0x0E8D, "MediaTek"),
    (0x0FCE, "Sony"),
    (0x054C, "Sony"),
    (0x04E8, "Samsung"),
    (0x05C6, "Qualcomm"),
    (0x1004, "LG"),
    (0x12D1, "Huawei"),
    (0x17EF, "Lenovo"),
    (0x18D1, "Google"),
    (0x1949, "Amazon"),
    (0x19D2, "ZTE"),
    (0x22B8, "Motorola"),
    (0x22D9, "Oppo"),
    (0x2717, "Xiaomi"),
    (0x2A45, "Meizu"),
    (0x2A70, "OnePlus"),
    (0x2AE5, "Fairphone"),
    (0x2B4C, "ZUK"),
    (0x2E04, "Nokia"),
    (0x2E17, "Essential"),
];

/// The maker's name, when `vendor_id` belongs to a known Android phone maker.
pub fn android_vendor(vendor_id: u16) -> Option<&'static str> {
    ANDROID_VENDORS
        .iter()
        .find(|(id, _)| *id == vendor_id)
        .map(|(_, name)| *name)
}

/// Products of Android makers that are not phones, per the same udev rules (Samsung
/// printers 0x3xxx, ASUS accessories 0x1xxx).
pub fn is_known_non_phone(vendor_id: u16, product_id: u16) -> bool {
    matches!(
        (vendor_id, product_id & 0xF000),
        (0x04E8, 0x3000) | (0x0B05, 0x1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_makers_have_labels() {
        assert_eq!(android_vendor(0x18D1), Some("Google"));
        assert_eq!(android_vendor(0x04E8), Some("Samsung"));
        assert_eq!(android_vendor(0x2717), Some("Xiaomi"));
        assert_eq!(android_vendor(0x2A70), Some("OnePlus"));
        assert_eq!(android_vendor(0x22B8), Some("Motorola"));
        assert_eq!(android_vendor(0x12D1), Some("Huawei"));
        assert_eq!(android_vendor(0x0FCE), Some("Sony"));
        assert_eq!(android_vendor(0x1004), Some("LG"));
        assert_eq!(android_vendor(0x0BB4), Some("HTC"));
        assert_eq!(android_vendor(0x22D9), Some("Oppo"));
        assert_eq!(android_vendor(APPLE), None);
        assert_eq!(
            android_vendor(0x046D),
            None,
            "a Logitech mouse is no phone maker"
        );
    }

    #[test]
    fn vendor_table_has_no_duplicate_ids() {
        let mut ids: Vec<u16> = ANDROID_VENDORS.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
    }

    #[test]
    fn printers_and_accessories_are_not_phones() {
        assert!(is_known_non_phone(0x04E8, 0x3301));
        assert!(is_known_non_phone(0x0B05, 0x1866));
        assert!(!is_known_non_phone(0x04E8, 0x6860));
        assert!(!is_known_non_phone(0x18D1, 0x3000));
    }
}
