//! Info.plist (written by the computer, XML), Manifest.plist and Status.plist (written by
//! the phone, binary), with the keys Finder/iTunes and iOS write.

use super::super::MakeError;
use super::super::content::{content_bytes, crypto_rng, uuid_string};
use super::super::error::IoContext;
use super::device::Device;
use super::tree::APPS;
use plist::{Date, Dictionary, Value};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Which generation of backup the plists describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Era {
    /// iOS 10 and later (Manifest.db).
    Modern,
    /// iOS 9 and earlier (Manifest.mbdb).
    Legacy,
}

/// What encryption puts into Manifest.plist.
pub(crate) struct Encrypted<'a> {
    pub keybag: &'a [u8],
    /// Absent before iOS 10.2 (Manifest.db was not encrypted then).
    pub manifest_key: Option<&'a [u8]>,
}

fn date(unix: i64) -> Value {
    let secs = u64::try_from(unix).unwrap_or(0);
    Value::Date(Date::from(
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
    ))
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

fn dict(pairs: Vec<(&str, Value)>) -> Value {
    let mut d = Dictionary::new();
    for (k, v) in pairs {
        d.insert(k.to_string(), v);
    }
    Value::Dictionary(d)
}

fn write_binary(value: &Value, path: &Path) -> Result<(), MakeError> {
    let mut bytes = Vec::new();
    value.to_writer_binary(&mut bytes)?;
    fs::write(path, bytes).at(path)
}

/// Info.plist, as Finder/iTunes writes it after a backup.
pub(crate) fn write_info(
    out: &Path,
    device: &Device,
    seed: u64,
    date_unix: i64,
) -> Result<(), MakeError> {
    let mut apps = Dictionary::new();
    for (bundle, name, version) in APPS {
        let metadata = dict(vec![
            ("itemName", string(name)),
            ("softwareVersionBundleId", string(bundle)),
            ("bundleShortVersionString", string(version)),
            (
                "softwareVersionExternalIdentifier",
                Value::from(880_000_000u64),
            ),
        ]);
        let mut metadata_bytes = Vec::new();
        metadata.to_writer_binary(&mut metadata_bytes)?;
        let sinf = content_bytes(seed, &format!("sinf-{bundle}"), "sinf.bin", 1_048);
        let icon = content_bytes(seed, &format!("icon-{bundle}"), "icon.bin", 2_400);
        apps.insert(
            bundle.to_string(),
            dict(vec![
                ("ApplicationSINF", Value::Data(sinf)),
                ("iTunesMetadata", Value::Data(metadata_bytes)),
                ("PlaceholderIcon", Value::Data(png(icon))),
            ]),
        );
    }
    let info = dict(vec![
        ("Applications", Value::Dictionary(apps)),
        ("Build Version", string(&device.build_version)),
        ("Device Name", string(&device.name)),
        ("Display Name", string(&device.name)),
        ("GUID", string(&device.guid)),
        ("ICCID", string(&device.iccid)),
        ("IMEI", string(&device.imei)),
        (
            "Installed Applications",
            Value::Array(APPS.iter().map(|(b, _, _)| string(b)).collect()),
        ),
        ("Last Backup Date", date(date_unix)),
        ("Phone Number", string(&device.phone_number)),
        ("Product Name", string(&device.product_name)),
        ("Product Type", string(&device.product_type)),
        ("Product Version", string(&device.product_version)),
        ("Serial Number", string(&device.serial)),
        ("Target Identifier", string(&device.udid)),
        ("Target Type", string("Device")),
        ("Unique Identifier", string(&device.unique_identifier())),
        ("iTunes Version", string("12.13.2")),
    ]);
    let path = out.join("Info.plist");
    let mut bytes = Vec::new();
    info.to_writer_xml(&mut bytes)?;
    bytes.push(b'\n');
    fs::write(&path, bytes).at(&path)
}

/// Gives icon bytes a PNG signature, as the placeholder icons are PNGs.
fn png(mut bytes: Vec<u8>) -> Vec<u8> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let n = SIGNATURE.len().min(bytes.len());
    bytes[..n].copy_from_slice(&SIGNATURE[..n]);
    bytes
}

/// Manifest.plist, as the phone sends it.
pub(crate) fn write_manifest(
    out: &Path,
    device: &Device,
    seed: u64,
    date_unix: i64,
    era: Era,
    encrypted: Option<Encrypted<'_>>,
) -> Result<(), MakeError> {
    let mut rng = crypto_rng(seed, "ios-app-containers");
    let mut apps = Dictionary::new();
    for (bundle, name, version) in APPS {
        let container = uuid_string(&mut rng);
        let app_name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        apps.insert(
            bundle.to_string(),
            dict(vec![
                ("CFBundleIdentifier", string(bundle)),
                ("CFBundleVersion", string(version)),
                ("ContainerContentClass", string("Data/Application")),
                (
                    "Path",
                    string(&format!(
                        "/private/var/containers/Bundle/Application/{container}/{app_name}.app"
                    )),
                ),
            ]),
        );
    }
    let lockdown = dict(vec![
        ("ProductVersion", string(&device.product_version)),
        ("ProductType", string(&device.product_type)),
        ("BuildVersion", string(&device.build_version)),
        ("UniqueDeviceID", string(&device.udid)),
        ("SerialNumber", string(&device.serial)),
        ("DeviceName", string(&device.name)),
        (
            "com.apple.Accessibility",
            dict(
                [
                    "ClosedCaptioningEnabledByiTunes",
                    "InvertDisplayEnabledByiTunes",
                    "MonoAudioEnabledByiTunes",
                    "SpeakAutoCorrectionsEnabledByiTunes",
                    "VoiceOverTouchEnabledByiTunes",
                    "ZoomTouchEnabledByiTunes",
                ]
                .into_iter()
                .map(|k| (k, Value::Boolean(false)))
                .collect(),
            ),
        ),
        ("com.apple.MobileDeviceCrashCopy", dict(vec![])),
        ("com.apple.TerminalFlashr", dict(vec![])),
        (
            "com.apple.mobile.data_sync",
            dict(
                ["Bookmarks", "Calendars", "Contacts", "Notes"]
                    .into_iter()
                    .map(|k| {
                        let icloud = || Value::Array(vec![string("iCloud")]);
                        (
                            k,
                            dict(vec![("AccountNames", icloud()), ("Sources", icloud())]),
                        )
                    })
                    .collect(),
            ),
        ),
        ("com.apple.mobile.iTunes.accessories", dict(vec![])),
        ("com.apple.mobile.wireless_lockdown", dict(vec![])),
    ]);

    let mut manifest = Dictionary::new();
    if let Some(enc) = &encrypted {
        manifest.insert("BackupKeyBag".into(), Value::Data(enc.keybag.to_vec()));
        if let Some(key) = enc.manifest_key {
            manifest.insert("ManifestKey".into(), Value::Data(key.to_vec()));
        }
    }
    let version = match era {
        Era::Modern => "10.0",
        Era::Legacy => "9.1",
    };
    manifest.insert("Lockdown".into(), lockdown);
    manifest.insert("SystemDomainsVersion".into(), string("24.0"));
    manifest.insert("Version".into(), string(version));
    manifest.insert("Date".into(), date(date_unix));
    manifest.insert("IsEncrypted".into(), Value::Boolean(encrypted.is_some()));
    manifest.insert("WasPasscodeSet".into(), Value::Boolean(true));
    manifest.insert("Applications".into(), Value::Dictionary(apps));
    write_binary(&Value::Dictionary(manifest), &out.join("Manifest.plist"))
}

/// The three description files of a backup folder: Info, Manifest and Status.plist.
pub(crate) fn write_all(
    out: &Path,
    device: &Device,
    seed: u64,
    date_unix: i64,
    era: Era,
    encrypted: Option<Encrypted<'_>>,
) -> Result<(), MakeError> {
    write_info(out, device, seed, date_unix)?;
    write_manifest(out, device, seed, date_unix, era, encrypted)?;
    write_status(out, seed, date_unix, era)
}

/// Status.plist of a finished backup.
pub(crate) fn write_status(
    out: &Path,
    seed: u64,
    date_unix: i64,
    era: Era,
) -> Result<(), MakeError> {
    // MobileBackup2 protocol 2.4 wrote the mbdb layout; 3.x writes Manifest.db.
    let version = match era {
        Era::Modern => "3.3",
        Era::Legacy => "2.4",
    };
    let status = dict(vec![
        ("IsFullBackup", Value::Boolean(false)),
        ("Version", string(version)),
        ("UUID", string(&Device::snapshot_uuid(seed))),
        ("Date", date(date_unix)),
        ("BackupState", string("new")),
        ("SnapshotState", string("finished")),
    ]);
    write_binary(&status, &out.join("Status.plist"))
}
