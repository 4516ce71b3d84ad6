//! Info.plist, Manifest.plist and Status.plist, binary or XML, read into the few fields
//! Plugback uses. Unknown keys are ignored and a key of the wrong type reads as absent:
//! these files describe the backup, and a description with a gap is still useful.

use super::plist_read;
use plist::{Dictionary, Value};
use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub const INFO_PLIST: &str = "Info.plist";
pub const MANIFEST_PLIST: &str = "Manifest.plist";
pub const STATUS_PLIST: &str = "Status.plist";

/// Real Info.plist files carry app icons and metadata and reach tens of megabytes; a
/// plist larger than this is not one the phone or Finder wrote.
const MAX_PLIST_BYTES: u64 = 256 * 1024 * 1024;

/// What became of reading one plist.
#[derive(Clone, Debug)]
pub enum PlistFile<T> {
    Missing,
    /// Zero bytes long: a copy that ran out of space, or the device's error 205.
    Empty,
    /// Present but not readable as a dictionary plist; the detail says why.
    Unreadable(String),
    Read(T),
}

impl<T> PlistFile<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Self::Read(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, Self::Read(_))
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> PlistFile<U> {
        match self {
            Self::Missing => PlistFile::Missing,
            Self::Empty => PlistFile::Empty,
            Self::Unreadable(why) => PlistFile::Unreadable(why),
            Self::Read(value) => PlistFile::Read(f(value)),
        }
    }
}

/// Reads a plist whose top level must be a dictionary.
pub fn read_dictionary(path: &Path) -> PlistFile<Dictionary> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return PlistFile::Missing,
        Err(e) => return PlistFile::Unreadable(format!("cannot be read: {e}")),
    };
    if !meta.is_file() {
        return PlistFile::Unreadable("is not a regular file".into());
    }
    if meta.len() == 0 {
        return PlistFile::Empty;
    }
    if meta.len() > MAX_PLIST_BYTES {
        return PlistFile::Unreadable(format!("is implausibly large ({} bytes)", meta.len()));
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return PlistFile::Unreadable(format!("cannot be read: {e}")),
    };
    if bytes.is_empty() {
        return PlistFile::Empty;
    }
    match plist_read::plist_value(&bytes, plist_read::MAX_PLIST_VALUES) {
        Ok(Value::Dictionary(dict)) => PlistFile::Read(dict),
        Ok(_) => PlistFile::Unreadable("is a property list but not a dictionary".into()),
        Err(why) => PlistFile::Unreadable(format!("cannot be read: {why}")),
    }
}

pub fn string(dict: &Dictionary, key: &str) -> Option<String> {
    dict.get(key)
        .and_then(Value::as_string)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub fn data(dict: &Dictionary, key: &str) -> Option<Vec<u8>> {
    dict.get(key).and_then(Value::as_data).map(<[u8]>::to_vec)
}

pub fn boolean(dict: &Dictionary, key: &str) -> Option<bool> {
    dict.get(key).and_then(Value::as_boolean)
}

/// A plist date as seconds since the Unix epoch (negative before 1970).
pub fn unix_date(dict: &Dictionary, key: &str) -> Option<i64> {
    let time: SystemTime = plist_read::date_of(dict.get(key)?)?.into();
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    }
}

/// Info.plist: written by the computer at backup time, describes the phone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoPlist {
    pub device_name: Option<String>,
    pub product_type: Option<String>,
    pub product_version: Option<String>,
    pub build_version: Option<String>,
    pub serial_number: Option<String>,
    pub unique_identifier: Option<String>,
    pub target_identifier: Option<String>,
    pub last_backup_date: Option<i64>,
    /// Apps the person installed ("Installed Applications").
    pub installed_app_count: Option<u64>,
}

impl InfoPlist {
    pub fn from_dictionary(d: &Dictionary) -> Self {
        Self {
            device_name: string(d, "Device Name").or_else(|| string(d, "Display Name")),
            product_type: string(d, "Product Type"),
            product_version: string(d, "Product Version"),
            build_version: string(d, "Build Version"),
            serial_number: string(d, "Serial Number"),
            unique_identifier: string(d, "Unique Identifier"),
            target_identifier: string(d, "Target Identifier"),
            last_backup_date: unix_date(d, "Last Backup Date"),
            installed_app_count: d
                .get("Installed Applications")
                .and_then(Value::as_array)
                .map(|apps| apps.len() as u64),
        }
    }

    pub fn read(root: &Path) -> PlistFile<Self> {
        read_dictionary(&root.join(INFO_PLIST)).map(|d| Self::from_dictionary(&d))
    }
}

/// Manifest.plist: written by the phone; holds the encryption flag, the keybag and the
/// key of Manifest.db.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ManifestPlist {
    /// None when the key is absent (or not a boolean).
    pub is_encrypted: Option<bool>,
    pub backup_keybag: Option<Vec<u8>>,
    /// 4-byte little-endian protection class + the wrapped key of Manifest.db.
    pub manifest_key: Option<Vec<u8>>,
    pub version: Option<String>,
    pub date: Option<i64>,
    pub was_passcode_set: Option<bool>,
    pub device_name: Option<String>,
    pub product_type: Option<String>,
    pub product_version: Option<String>,
    pub build_version: Option<String>,
    pub unique_device_id: Option<String>,
    pub serial_number: Option<String>,
    /// Entries of "Applications" that are apps (not extensions or shared groups).
    pub app_count: Option<u64>,
    pub has_lockdown: bool,
}

impl std::fmt::Debug for ManifestPlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestPlist")
            .field("is_encrypted", &self.is_encrypted)
            .field("backup_keybag", &self.backup_keybag.as_ref().map(Vec::len))
            .field("manifest_key", &self.manifest_key.as_ref().map(Vec::len))
            .field("product_type", &self.product_type)
            .field("product_version", &self.product_version)
            .finish_non_exhaustive()
    }
}

impl ManifestPlist {
    pub fn from_dictionary(d: &Dictionary) -> Self {
        let lockdown = d.get("Lockdown").and_then(Value::as_dictionary);
        let from_lockdown = |key: &str| lockdown.and_then(|l| string(l, key));
        Self {
            is_encrypted: boolean(d, "IsEncrypted"),
            backup_keybag: data(d, "BackupKeyBag"),
            manifest_key: data(d, "ManifestKey"),
            version: string(d, "Version"),
            date: unix_date(d, "Date"),
            was_passcode_set: boolean(d, "WasPasscodeSet"),
            device_name: from_lockdown("DeviceName"),
            product_type: from_lockdown("ProductType"),
            product_version: from_lockdown("ProductVersion"),
            build_version: from_lockdown("BuildVersion"),
            unique_device_id: from_lockdown("UniqueDeviceID"),
            serial_number: from_lockdown("SerialNumber"),
            app_count: d
                .get("Applications")
                .and_then(Value::as_dictionary)
                .map(count_apps),
            has_lockdown: lockdown.is_some(),
        }
    }

    pub fn read(root: &Path) -> PlistFile<Self> {
        read_dictionary(&root.join(MANIFEST_PLIST)).map(|d| Self::from_dictionary(&d))
    }

    pub fn encrypted(&self) -> bool {
        self.is_encrypted == Some(true)
    }
}

/// Apps proper have the container class "Data/Application"; older manifests without
/// container classes list only apps.
fn count_apps(apps: &Dictionary) -> u64 {
    let classes: Vec<Option<&str>> = apps
        .values()
        .map(|app| {
            app.as_dictionary()
                .and_then(|a| a.get("ContainerContentClass"))
                .and_then(Value::as_string)
        })
        .collect();
    if classes.iter().all(Option::is_none) {
        return apps.len() as u64;
    }
    classes
        .iter()
        .filter(|c| **c == Some("Data/Application"))
        .count() as u64
}

/// Status.plist: written by the phone at the end of a backup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusPlist {
    pub snapshot_state: Option<String>,
    pub backup_state: Option<String>,
    pub is_full_backup: Option<bool>,
    pub date: Option<i64>,
    pub uuid: Option<String>,
    pub version: Option<String>,
}

impl StatusPlist {
    pub fn from_dictionary(d: &Dictionary) -> Self {
        Self {
            snapshot_state: string(d, "SnapshotState"),
            backup_state: string(d, "BackupState"),
            is_full_backup: boolean(d, "IsFullBackup"),
            date: unix_date(d, "Date"),
            uuid: string(d, "UUID"),
            version: string(d, "Version"),
        }
    }

    pub fn read(root: &Path) -> PlistFile<Self> {
        read_dictionary(&root.join(STATUS_PLIST)).map(|d| Self::from_dictionary(&d))
    }

    pub fn finished(&self) -> bool {
        self.snapshot_state.as_deref() == Some("finished")
    }
}

/// The three plists of one backup, each with what became of reading it.
#[derive(Clone, Debug)]
pub struct BackupPlists {
    pub info: PlistFile<InfoPlist>,
    pub manifest: PlistFile<ManifestPlist>,
    pub status: PlistFile<StatusPlist>,
}

impl BackupPlists {
    pub fn read(root: &Path) -> Self {
        Self {
            info: InfoPlist::read(root),
            manifest: ManifestPlist::read(root),
            status: StatusPlist::read(root),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn outcomes_for_missing_empty_garbage_and_wrong_shape() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(matches!(InfoPlist::read(root), PlistFile::Missing));
        write(root, INFO_PLIST, b"");
        assert!(matches!(InfoPlist::read(root), PlistFile::Empty));
        write(root, INFO_PLIST, b"bplist00\x00\x01garbage");
        assert!(matches!(InfoPlist::read(root), PlistFile::Unreadable(_)));
        let mut array = Vec::new();
        Value::Array(vec![]).to_writer_xml(&mut array).unwrap();
        write(root, INFO_PLIST, &array);
        match InfoPlist::read(root) {
            PlistFile::Unreadable(why) => assert!(why.contains("not a dictionary")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_are_read_from_xml_and_binary_and_wrong_types_read_as_absent() {
        let mut d = Dictionary::new();
        d.insert("IsEncrypted".into(), Value::Boolean(true));
        d.insert("ManifestKey".into(), Value::Data(vec![4, 0, 0, 0]));
        d.insert("Version".into(), Value::Integer(10.into())); // wrong type
        let mut lockdown = Dictionary::new();
        lockdown.insert("ProductType".into(), Value::String("iPhone12,1".into()));
        d.insert("Lockdown".into(), Value::Dictionary(lockdown));
        let mut apps = Dictionary::new();
        for (id, class) in [
            ("a", "Data/Application"),
            ("b", "Data/PluginKitPlugin"),
            ("c", "Data/Application"),
        ] {
            let mut app = Dictionary::new();
            app.insert("ContainerContentClass".into(), Value::String(class.into()));
            apps.insert(id.into(), Value::Dictionary(app));
        }
        d.insert("Applications".into(), Value::Dictionary(apps));
        let value = Value::Dictionary(d);

        let dir = tempfile::tempdir().unwrap();
        for binary in [false, true] {
            let path = dir.path().join(MANIFEST_PLIST);
            if binary {
                value.to_file_binary(&path).unwrap();
            } else {
                value.to_file_xml(&path).unwrap();
            }
            let m = ManifestPlist::read(dir.path()).get().cloned().unwrap();
            assert!(m.encrypted());
            assert_eq!(m.manifest_key, Some(vec![4, 0, 0, 0]));
            assert_eq!(m.version, None);
            assert_eq!(m.product_type.as_deref(), Some("iPhone12,1"));
            assert_eq!(m.app_count, Some(2));
            assert!(m.has_lockdown);
        }
    }

    #[test]
    fn dates_become_unix_seconds() {
        let mut d = Dictionary::new();
        let when = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        d.insert("Date".into(), Value::Date(when.into()));
        d.insert("SnapshotState".into(), Value::String("finished".into()));
        let status = StatusPlist::from_dictionary(&d);
        assert_eq!(status.date, Some(1_700_000_000));
        assert!(status.finished());
    }
}
