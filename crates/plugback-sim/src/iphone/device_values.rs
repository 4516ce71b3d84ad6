//! The values lockdownd answers `GetValue` with: the general domain and the few named
//! domains a backup tool reads.
//!
//! | domain | keys |
//! |---|---|
//! | (none) | DeviceName, ProductType, ProductVersion, BuildVersion, UniqueDeviceID, SerialNumber, DeviceClass, DevicePublicKey, WiFiAddress, BluetoothAddress, HardwareModel, CPUArchitecture, ActivationState, PasswordProtected, TimeZone, … |
//! | `com.apple.mobile.battery` | BatteryCurrentCapacity (%), BatteryIsCharging, ExternalChargeCapable, ExternalConnected, FullyCharged, GasGaugeCapability, HasBattery, **Temperature** (hundredths of a °C, as the battery gauge reports it: 30.0 °C is 3000) |
//! | `com.apple.disk_usage` | TotalDiskCapacity, TotalSystemCapacity, TotalSystemAvailable, TotalDataCapacity, TotalDataAvailable, AmountDataAvailable, AmountDataReserved (all in bytes) |
//! | `com.apple.mobile.backup` | WillEncrypt, RequiresEncrypt |
//! | `com.apple.fmip` | IsAssociated (Find My) |
//!
//! Other domains answer an empty dictionary, and any key in them `MissingValue`, as a real
//! phone does for domains it does not fill.
//!
//! Before a session only [`PRE_SESSION_KEYS`] of the general domain are readable; the rest
//! answer `GetProhibited`.

use crate::iphone::IphoneConfig;
use plist::{Dictionary, Value};
use sha2::Digest;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a phone tells a host it has no session with: enough to name it and to pair.
pub const PRE_SESSION_KEYS: &[&str] = &[
    "ActivationState",
    "BasebandVersion",
    "BuildVersion",
    "DeviceClass",
    "DeviceColor",
    "DeviceName",
    "DevicePublicKey",
    "FirmwareVersion",
    "HardwareModel",
    "HostAttached",
    "ProductName",
    "ProductType",
    "ProductVersion",
    "ProtocolVersion",
    "TelephonyCapability",
    "UniqueChipID",
    "UniqueDeviceID",
    "WiFiAddress",
];

/// The system partition of the simulated phone; the rest of the disk is data.
const SYSTEM_BYTES: u64 = 12_000_000_000;

/// Hardware facts of a product type; unknown types get the iPhone 14 Pro's.
struct Hardware {
    model: &'static str,
    platform: &'static str,
    chip_id: u64,
}

fn hardware(product_type: &str) -> Hardware {
    let (model, platform, chip_id) = match product_type {
        "iPhone12,1" => ("N104AP", "t8030", 0x8030),
        "iPhone13,2" => ("D53gAP", "t8101", 0x8101),
        "iPhone14,5" => ("D17AP", "t8110", 0x8110),
        "iPhone14,2" => ("D63AP", "t8110", 0x8110),
        "iPhone15,3" => ("D74AP", "t8120", 0x8120),
        "iPhone16,1" => ("D83AP", "t8130", 0x8130),
        _ => ("D73AP", "t8120", 0x8120),
    };
    Hardware {
        model,
        platform,
        chip_id,
    }
}

/// Six bytes derived from the UDID, so each phone has stable addresses of its own.
fn mac(udid: &str, salt: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{salt}{udid}").as_bytes());
    // A locally administered unicast address.
    let first = (digest[0] & 0xfc) | 0x02;
    let rest: Vec<String> = digest[1..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{first:02x}:{}", rest.join(":"))
}

fn unique_chip_id(udid: &str) -> u64 {
    udid.split_once('-')
        .and_then(|(_, ecid)| u64::from_str_radix(ecid, 16).ok())
        .unwrap_or_else(|| {
            let digest = sha2::Sha256::digest(udid.as_bytes());
            u64::from_be_bytes([
                0, 0, digest[0], digest[1], digest[2], digest[3], digest[4], digest[5],
            ])
        })
}

fn int(n: u64) -> Value {
    Value::Integer(n.into())
}

/// The general domain: what `GetValue` without a domain answers.
pub fn general_domain(config: &IphoneConfig, device_public_key: Option<&[u8]>) -> Dictionary {
    let hw = hardware(&config.product_type);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut d = Dictionary::new();
    let mut put = |key: &str, value: Value| {
        d.insert(key.to_string(), value);
    };
    put("ActivationState", "Activated".into());
    put("ActivationStateAcknowledged", true.into());
    put("BasebandVersion", "2.60.02".into());
    put("BluetoothAddress", mac(&config.udid, "bt").into());
    put("BoardId", int(14));
    put("BuildVersion", config.build_version.clone().into());
    put("CPUArchitecture", "arm64e".into());
    put("ChipID", int(hw.chip_id));
    put("DeviceClass", "iPhone".into());
    put("DeviceColor", "1".into());
    put("DeviceName", config.name.clone().into());
    if let Some(key) = device_public_key {
        put("DevicePublicKey", Value::Data(key.to_vec()));
    }
    put("EthernetAddress", mac(&config.udid, "en").into());
    put("FirmwareVersion", "iBoot-10151.120.3".into());
    put("HardwareModel", hw.model.into());
    put("HardwarePlatform", hw.platform.into());
    put("HasSiDP", true.into());
    put("HostAttached", true.into());
    put("ModelNumber", "MQ0G3".into());
    put("PasswordProtected", config.passcode_locked.into());
    put("ProductName", "iPhone OS".into());
    put("ProductType", config.product_type.clone().into());
    put("ProductVersion", config.ios_version.clone().into());
    put("ProductionSOC", true.into());
    put("ProtocolVersion", "2".into());
    put("RegionInfo", "LL/A".into());
    put("SerialNumber", config.serial.clone().into());
    put("TelephonyCapability", true.into());
    put("TimeIntervalSince1970", Value::Real(now));
    put("TimeZone", "Europe/London".into());
    put("TimeZoneOffsetFromUTC", Value::Real(0.0));
    put("UniqueChipID", int(unique_chip_id(&config.udid)));
    put("UniqueDeviceID", config.udid.clone().into());
    put("Uses24HourClock", true.into());
    put("WiFiAddress", mac(&config.udid, "wifi").into());
    d
}

/// The general-domain values a host may read before it has a session.
pub fn pre_session_values(general: &Dictionary) -> Dictionary {
    general
        .iter()
        .filter(|(key, _)| PRE_SESSION_KEYS.contains(&key.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A named domain; None for domains the phone does not fill.
pub fn named_domain(config: &IphoneConfig, will_encrypt: bool, domain: &str) -> Option<Dictionary> {
    let mut d = Dictionary::new();
    let mut put = |key: &str, value: Value| {
        d.insert(key.to_string(), value);
    };
    match domain {
        "com.apple.mobile.battery" => {
            put(
                "BatteryCurrentCapacity",
                int(u64::from(config.battery_percent)),
            );
            put("BatteryIsCharging", config.charging.into());
            put("ExternalChargeCapable", true.into());
            put("ExternalConnected", true.into());
            put("FullyCharged", (config.battery_percent >= 100).into());
            put("GasGaugeCapability", true.into());
            put("HasBattery", true.into());
            let centi = (f64::from(config.temperature_c) * 100.0).round() as i64;
            put("Temperature", Value::Integer(centi.into()));
        }
        "com.apple.disk_usage" | "com.apple.disk_usage.factory" => {
            let total = config.total_bytes;
            let data_capacity = total.saturating_sub(SYSTEM_BYTES);
            let free = config.free_bytes.min(data_capacity);
            put("TotalDiskCapacity", int(total));
            put("TotalSystemCapacity", int(total - data_capacity));
            put("TotalSystemAvailable", int(0));
            put("TotalDataCapacity", int(data_capacity));
            put("TotalDataAvailable", int(free));
            put("AmountDataAvailable", int(free));
            put("AmountDataReserved", int(200_000_000.min(free)));
        }
        "com.apple.mobile.backup" => {
            put("WillEncrypt", will_encrypt.into());
            put("RequiresEncrypt", false.into());
        }
        "com.apple.fmip" => {
            put("IsAssociated", config.find_my.into());
        }
        _ => return None,
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_and_disk_reflect_the_configuration() {
        let mut config = IphoneConfig::new("/nonexistent");
        config.battery_percent = 42;
        config.temperature_c = 36.55;
        let battery = named_domain(&config, false, "com.apple.mobile.battery").unwrap();
        assert_eq!(battery["BatteryCurrentCapacity"], int(42));
        assert_eq!(battery["Temperature"], Value::Integer(3655.into()));
        let disk = named_domain(&config, false, "com.apple.disk_usage").unwrap();
        assert_eq!(disk["TotalDiskCapacity"], int(128_000_000_000));
        assert_eq!(disk["TotalDataAvailable"], int(64_000_000_000));
        assert!(named_domain(&config, false, "com.apple.unknown").is_none());
    }

    #[test]
    fn before_a_session_only_the_public_keys_show() {
        let config = IphoneConfig::new("/nonexistent");
        let general = general_domain(&config, Some(b"KEY"));
        let public = pre_session_values(&general);
        assert!(public.contains_key("ProductVersion"));
        assert!(public.contains_key("DevicePublicKey"));
        assert!(!public.contains_key("SerialNumber"));
        assert_eq!(general["UniqueChipID"], int(0x001D35093EF2402E));
        assert_eq!(general["WiFiAddress"], mac(&config.udid, "wifi").into());
    }
}
