//! Apple product types ("iPhone15,2") to the names people know ("iPhone 14 Pro").
//! Hand-written: no maintained crate carries this table.

const MODELS: &[(&str, &str)] = &[
    ("iPhone1,1", "iPhone"),
    ("iPhone1,2", "iPhone 3G"),
    ("iPhone2,1", "iPhone 3GS"),
    ("iPhone3,1", "iPhone 4"),
    ("iPhone3,2", "iPhone 4"),
    ("iPhone3,3", "iPhone 4"),
    ("iPhone4,1", "iPhone 4s"),
    ("iPhone5,1", "iPhone 5"),
    ("iPhone5,2", "iPhone 5"),
    ("iPhone5,3", "iPhone 5c"),
    ("iPhone5,4", "iPhone 5c"),
    ("iPhone6,1", "iPhone 5s"),
    ("iPhone6,2", "iPhone 5s"),
    ("iPhone7,1", "iPhone 6 Plus"),
    ("iPhone7,2", "iPhone 6"),
    ("iPhone8,1", "iPhone 6s"),
    ("iPhone8,2", "iPhone 6s Plus"),
    ("iPhone8,4", "iPhone SE"),
    ("iPhone9,1", "iPhone 7"),
    ("iPhone9,2", "iPhone 7 Plus"),
    ("iPhone9,3", "iPhone 7"),
    ("iPhone9,4", "iPhone 7 Plus"),
    ("iPhone10,1", "iPhone 8"),
    ("iPhone10,2", "iPhone 8 Plus"),
    ("iPhone10,3", "iPhone X"),
    ("iPhone10,4", "iPhone 8"),
    ("iPhone10,5", "iPhone 8 Plus"),
    ("iPhone10,6", "iPhone X"),
    ("iPhone11,2", "iPhone XS"),
    ("iPhone11,4", "iPhone XS Max"),
    ("iPhone11,6", "iPhone XS Max"),
    ("iPhone11,8", "iPhone XR"),
    ("iPhone12,1", "iPhone 11"),
    ("iPhone12,3", "iPhone 11 Pro"),
    ("iPhone12,5", "iPhone 11 Pro Max"),
    ("iPhone12,8", "iPhone SE (2nd generation)"),
    ("iPhone13,1", "iPhone 12 mini"),
    ("iPhone13,2", "iPhone 12"),
    ("iPhone13,3", "iPhone 12 Pro"),
    ("iPhone13,4", "iPhone 12 Pro Max"),
    ("iPhone14,2", "iPhone 13 Pro"),
    ("iPhone14,3", "iPhone 13 Pro Max"),
    ("iPhone14,4", "iPhone 13 mini"),
    ("iPhone14,5", "iPhone 13"),
    ("iPhone14,6", "iPhone SE (3rd generation)"),
    ("iPhone14,7", "iPhone 14"),
    ("iPhone14,8", "iPhone 14 Plus"),
    ("iPhone15,2", "iPhone 14 Pro"),
    ("iPhone15,3", "iPhone 14 Pro Max"),
    ("iPhone15,4", "iPhone 15"),
    ("iPhone15,5", "iPhone 15 Plus"),
    ("iPhone16,1", "iPhone 15 Pro"),
    ("iPhone16,2", "iPhone 15 Pro Max"),
    ("iPhone17,1", "iPhone 16 Pro"),
    ("iPhone17,2", "iPhone 16 Pro Max"),
    ("iPhone17,3", "iPhone 16"),
    ("iPhone17,4", "iPhone 16 Plus"),
    ("iPhone17,5", "iPhone 16e"),
    ("iPhone18,1", "iPhone 17 Pro"),
    ("iPhone18,2", "iPhone 17 Pro Max"),
    ("iPhone18,3", "iPhone 17"),
    ("iPhone18,4", "iPhone Air"),
    ("iPad2,1", "iPad 2"),
    ("iPad2,2", "iPad 2"),
    ("iPad2,3", "iPad 2"),
    ("iPad2,4", "iPad 2"),
    ("iPod7,1", "iPod touch (6th generation)"),
    ("iPod9,1", "iPod touch (7th generation)"),
];

/// The marketing name for an Apple product type, if Plugback knows it.
pub fn marketing_name(product_type: &str) -> Option<&'static str> {
    MODELS
        .iter()
        .find(|(id, _)| *id == product_type)
        .map(|(_, name)| *name)
}

/// The name to show: the marketing name where known, else the product type as given.
pub fn display_model(product_type: &str) -> String {
    marketing_name(product_type)
        .map(str::to_owned)
        .unwrap_or_else(|| product_type.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_models() {
        assert_eq!(marketing_name("iPhone15,2"), Some("iPhone 14 Pro"));
        assert_eq!(marketing_name("iPhone9,3"), Some("iPhone 7"));
        assert_eq!(display_model("iPhone99,9"), "iPhone99,9");
    }
}
