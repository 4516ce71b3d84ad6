//! The simulated iPhone's identity: identifiers shaped like Apple's, derived from the seed.

use super::super::Spec;
use super::super::content::{alphanumerics, crypto_rng, digits, random_bytes, uuid_string};

pub(crate) struct Device {
    pub name: String,
    pub product_type: String,
    pub product_name: String,
    pub product_version: String,
    pub build_version: String,
    pub serial: String,
    /// As lockdown reports it: "00008110-…" on A12 and later, 40 lowercase hex before.
    pub udid: String,
    pub guid: String,
    pub iccid: String,
    pub imei: String,
    pub phone_number: String,
}

impl Device {
    pub(crate) fn new(spec: &Spec) -> Device {
        let mut rng = crypto_rng(spec.seed, "ios-device");
        let udid = match chip_id(&spec.product_type) {
            Some(chip) => {
                let ecid: [u8; 8] = random_bytes(&mut rng);
                format!("{chip:08X}-{}", hex::encode_upper(ecid))
            }
            None => hex::encode(random_bytes::<20>(&mut rng)),
        };
        let guid = hex::encode_upper(random_bytes::<16>(&mut rng));
        Device {
            name: spec.device_name.clone(),
            product_type: spec.product_type.clone(),
            product_name: marketing_name(&spec.product_type),
            product_version: spec.os_version.clone(),
            build_version: build_for(&spec.os_version),
            serial: alphanumerics(&mut rng, 12),
            udid,
            guid,
            iccid: format!("8949{}", digits(&mut rng, 15)),
            imei: format!("35{}", digits(&mut rng, 13)),
            // 555-01xx numbers are reserved for fiction.
            phone_number: format!("+1 (555) 010-{}", digits(&mut rng, 2)),
        }
    }

    /// Finder writes the identifier uppercase in "Unique Identifier".
    pub(crate) fn unique_identifier(&self) -> String {
        self.udid.to_uppercase()
    }

    /// A fresh uppercase UUID for this backup run (Status.plist), from the seed.
    pub(crate) fn snapshot_uuid(seed: u64) -> String {
        uuid_string(&mut crypto_rng(seed, "ios-status-uuid"))
    }
}

/// The model number ("iPhone14,5") split into family and major generation.
fn generation(product_type: &str) -> Option<u32> {
    let digits = product_type.strip_prefix("iPhone")?;
    digits.split(',').next()?.parse().ok()
}

/// The SoC chip id that prefixes the UDID of A12 (iPhone11,x) and later phones.
fn chip_id(product_type: &str) -> Option<u32> {
    let chip = match generation(product_type)? {
        11 => 0x8020,
        12 => 0x8030,
        13 => 0x8101,
        14 => 0x8110,
        15 => 0x8120,
        16 => 0x8130,
        g if g >= 17 => 0x8140,
        _ => return None,
    };
    Some(chip)
}

fn marketing_name(product_type: &str) -> String {
    let name = match product_type {
        "iPhone8,1" => "iPhone 6s",
        "iPhone9,3" => "iPhone 7",
        "iPhone10,4" => "iPhone 8",
        "iPhone11,8" => "iPhone XR",
        "iPhone12,1" => "iPhone 11",
        "iPhone13,2" => "iPhone 12",
        "iPhone14,5" => "iPhone 13",
        "iPhone14,2" => "iPhone 13 Pro",
        "iPhone15,2" => "iPhone 14 Pro",
        "iPhone15,4" => "iPhone 15",
        "iPhone16,1" => "iPhone 15 Pro",
        "iPhone17,3" => "iPhone 16",
        _ if product_type.starts_with("iPad") => "iPad",
        _ => "iPhone",
    };
    name.to_string()
}

/// Apple's build number for an iOS version; a plausible one for versions not listed.
fn build_for(version: &str) -> String {
    let known = [
        ("9.3", "13E233"),
        ("9.3.5", "13G36"),
        ("10.2", "14C92"),
        ("12.5.7", "16H81"),
        ("14.3", "18C66"),
        ("15.8", "19H370"),
        ("16.7.2", "20H115"),
        ("17.1.1", "21B91"),
        ("17.5.1", "21F90"),
        ("18.1", "22B83"),
    ];
    if let Some((_, build)) = known.iter().find(|(v, _)| *v == version) {
        return build.to_string();
    }
    // iOS N builds are numbered N+4 (iOS 17 => 21…); the letter counts minor releases.
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(17);
    let minor = parts.next().unwrap_or(0).min(25);
    let letter = char::from(b'A' + minor as u8);
    format!("{}{letter}{}", major + 4, 50 + parts.next().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_the_model_generation() {
        let mut spec = Spec::new(crate::make_backup::Kind::Ios);
        let modern = Device::new(&spec);
        assert!(modern.udid.starts_with("00008110-"), "{}", modern.udid);
        assert_eq!(modern.udid.len(), 25);
        spec.product_type = "iPhone8,1".into();
        let old = Device::new(&spec);
        assert_eq!(old.udid.len(), 40);
        assert_eq!(old.udid, old.udid.to_lowercase());
        assert_eq!(build_for("17.5.1"), "21F90");
        assert_eq!(build_for("19.2"), "23C50");
    }
}
