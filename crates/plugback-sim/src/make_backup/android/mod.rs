//! Android backups: `adb backup` archives and Plugback's own backup folders.

pub(crate) mod ab;
mod apk;
mod axml;
pub(crate) mod folder;
mod tar;

use super::Spec;
use super::content::{alphanumerics, crypto_rng};

/// The simulated Android phone, as `adb shell getprop` would describe it.
pub(crate) struct Device {
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    pub product: String,
    pub android_version: String,
    pub sdk: u32,
}

impl Device {
    pub(crate) fn new(spec: &Spec) -> Device {
        let model = spec.product_type.clone();
        let manufacturer = if model.starts_with("Pixel") {
            "Google"
        } else if model.starts_with("SM-") {
            "samsung"
        } else {
            "Generic"
        };
        let product = match model.as_str() {
            "Pixel 6" => "oriole".to_string(),
            "Pixel 7" => "panther".to_string(),
            "Pixel 7 Pro" => "cheetah".to_string(),
            "Pixel 8" => "shiba".to_string(),
            "Pixel 8 Pro" => "husky".to_string(),
            "Pixel 9" => "tokay".to_string(),
            other => other.to_lowercase().replace(' ', "_"),
        };
        let mut rng = crypto_rng(spec.seed, "android-device");
        Device {
            serial: format!("R5CT{}", alphanumerics(&mut rng, 7)),
            manufacturer: manufacturer.to_string(),
            model,
            product,
            android_version: spec.os_version.clone(),
            sdk: sdk_for(&spec.os_version),
        }
    }
}

/// The API level of an Android release ("14" => 34).
pub(crate) fn sdk_for(release: &str) -> u32 {
    let mut parts = release.split('.');
    let major = parts
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(14);
    let minor = parts
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    match (major, minor) {
        (8, 0) => 26,
        (8, _) => 27,
        (9, _) => 28,
        (10, _) => 29,
        (11, _) => 30,
        (12, 0) => 31,
        (12, _) => 32,
        (m, _) if m >= 13 => 20 + m,
        _ => 25,
    }
}

/// The apps in the backups: (package, versionCode, Linux uid).
pub(crate) const APPS: [(&str, u32, u32); 2] = [
    ("com.example.notes", 412, 10_123),
    ("com.example.photos", 2_024_110, 10_145),
];

/// A modification time spread over the two months before the backup, by index.
pub(crate) fn spread_mtime(date: i64, index: usize) -> i64 {
    (date - (index as i64 * 7_919) % (60 * 86_400)).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_levels_match_releases() {
        assert_eq!(sdk_for("14"), 34);
        assert_eq!(sdk_for("12.1"), 32);
        assert_eq!(sdk_for("10"), 29);
        assert_eq!(sdk_for("16"), 36);
    }
}
