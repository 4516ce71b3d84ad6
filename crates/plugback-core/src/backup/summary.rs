//! What the catalog shows about one backup, read cheaply (plists and headers only).

use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum BackupKind {
    #[serde(rename = "ios")]
    Ios,
    #[serde(rename = "ios-legacy-mbdb")]
    IosLegacyMbdb,
    #[serde(rename = "android-ab")]
    AndroidAb,
    #[serde(rename = "android-folder")]
    AndroidFolder,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::IosLegacyMbdb => "ios-legacy-mbdb",
            Self::AndroidAb => "android-ab",
            Self::AndroidFolder => "android-folder",
        }
    }

    pub fn is_ios(self) -> bool {
        matches!(self, Self::Ios | Self::IosLegacyMbdb)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotState {
    Finished,
    /// The phone stopped part-way: the backup may be missing files.
    Unfinished,
    /// The format has no such notion (Android), or the status file is absent.
    Unknown,
}

/// One backup as listed. Counts and sizes are `None` until computed (lazily: listing
/// never walks or hashes the files).
#[derive(Clone, Debug, Serialize)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub kind: BackupKind,
    pub device_name: Option<String>,
    /// Marketing name where known ("iPhone 14 Pro"), else the raw product type.
    pub model: Option<String>,
    /// Raw product type or `ro.product.model` ("iPhone15,2", "Pixel 7").
    pub product_type: Option<String>,
    pub os_version: Option<String>,
    /// Seconds since the Unix epoch, UTC.
    pub date_unix: Option<i64>,
    pub encrypted: bool,
    pub snapshot: SnapshotState,
    /// Identifies the phone (UDID for iPhones, serial for Android) where the backup says.
    pub device_id: Option<String>,
    /// The backup format's own version where it states one (the `.ab` header's version
    /// line, the Plugback Android folder's `version`).
    pub format_version: Option<String>,
    pub file_count: Option<u64>,
    pub app_count: Option<u64>,
    pub total_bytes: Option<u64>,
}

impl BackupSummary {
    pub fn new(path: PathBuf, kind: BackupKind) -> Self {
        Self {
            path,
            kind,
            device_name: None,
            model: None,
            product_type: None,
            os_version: None,
            date_unix: None,
            encrypted: false,
            snapshot: SnapshotState::Unknown,
            device_id: None,
            format_version: None,
            file_count: None,
            app_count: None,
            total_bytes: None,
        }
    }
}

/// Counts computed on demand (they need the manifest or a walk of the folder).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct BackupStats {
    /// None where the file list cannot be read without the password.
    pub file_count: Option<u64>,
    pub app_count: Option<u64>,
    /// Bytes the backup takes on this computer.
    pub total_bytes: u64,
}
