//! Summary and statistics of Plugback Android backup folders.

use super::folder_manifest::{self, FolderManifest, ManifestError};
use super::folder_scan;
use crate::backup::summary::BackupStats;
use crate::backup::{BackupError, BackupKind, BackupSummary};
use std::fs;
use std::path::Path;

/// The manifest, or the error a listing shows for it.
pub fn load_manifest(root: &Path) -> Result<FolderManifest, BackupError> {
    let manifest_path = root.join(super::FOLDER_MANIFEST);
    folder_manifest::load(root).map_err(|err| match err {
        ManifestError::Io(source) => BackupError::io(manifest_path, source),
        ManifestError::Invalid(detail) => BackupError::Malformed {
            path: manifest_path,
            detail,
        },
    })
}

/// Reads the manifest (never the files) to describe the backup.
pub fn summarize(root: &Path) -> Result<BackupSummary, BackupError> {
    let manifest = load_manifest(root)?;
    let device = &manifest.device;
    let mut summary = BackupSummary::new(root.to_path_buf(), BackupKind::AndroidFolder);
    summary.model = display_model(device.manufacturer.as_deref(), device.model.as_deref());
    summary.product_type = device.model.clone();
    summary.device_id = device.serial.clone();
    summary.os_version = device.android_version.clone();
    summary.format_version = Some(manifest.version.to_string());
    summary.date_unix = manifest.created_unix.or_else(|| {
        let meta = fs::metadata(root.join(super::FOLDER_MANIFEST)).ok()?;
        super::unix_seconds(meta.modified().ok()?)
    });
    summary.file_count = Some(manifest.file_count());
    summary.app_count = Some(manifest.app_count());
    Ok(summary)
}

/// "Google Pixel 7"; the model alone when it already names its maker ("Samsung Galaxy S23"
/// from "samsung" + "Samsung Galaxy S23").
fn display_model(manufacturer: Option<&str>, model: Option<&str>) -> Option<String> {
    let manufacturer = manufacturer.map(str::trim).filter(|m| !m.is_empty());
    let model = model.map(str::trim).filter(|m| !m.is_empty());
    match (manufacturer, model) {
        (Some(maker), Some(model)) if model.to_lowercase().starts_with(&maker.to_lowercase()) => {
            Some(model.to_owned())
        }
        (Some(maker), Some(model)) => Some(format!("{maker} {model}")),
        (None, Some(model)) => Some(model.to_owned()),
        (Some(_), None) | (None, None) => None,
    }
}

/// Counts from the manifest; bytes from the folder on disk.
pub fn stats(root: &Path) -> Result<BackupStats, BackupError> {
    let manifest = load_manifest(root)?;
    let canonical_root = fs::canonicalize(root).map_err(|err| BackupError::io(root, err))?;
    let scan = folder_scan::scan(root, &canonical_root);
    Ok(BackupStats {
        file_count: Some(manifest.file_count()),
        app_count: Some(manifest.app_count()),
        total_bytes: scan.total_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_read_naturally() {
        assert_eq!(
            display_model(Some("Google"), Some("Pixel 7")).as_deref(),
            Some("Google Pixel 7")
        );
        assert_eq!(
            display_model(Some("samsung"), Some("Samsung Galaxy S23")).as_deref(),
            Some("Samsung Galaxy S23")
        );
        assert_eq!(
            display_model(None, Some("Pixel 7")).as_deref(),
            Some("Pixel 7")
        );
        assert_eq!(display_model(Some("Google"), Some(" ")), None);
    }
}
