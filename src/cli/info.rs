//! `plugback info PATH`: everything Plugback can tell about one backup without a password.

use super::output::{human_bytes, human_date, outln, print_error, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK};
use plugback_core::backup::{BackupError, catalog};
use serde_json::json;
use std::path::Path;

pub fn run(path: &Path, json: bool) -> i32 {
    let Some(kind) = catalog::detect_kind(path) else {
        let err = BackupError::NotABackup {
            path: path.to_path_buf(),
        };
        print_error(err.code(), &err.to_string());
        return EXIT_CANNOT_RUN;
    };
    let mut summary = match catalog::summarize(path, kind) {
        Ok(s) => s,
        Err(err) => {
            print_error(err.code(), &err.to_string());
            return EXIT_CANNOT_RUN;
        }
    };
    let stats_error = match catalog::stats(path, kind) {
        Ok(stats) => {
            summary.file_count = stats.file_count;
            summary.app_count = stats.app_count;
            summary.total_bytes = Some(stats.total_bytes);
            None
        }
        Err(err) => Some(err),
    };
    if json {
        let mut doc = serde_json::to_value(&summary).unwrap_or_else(|_| json!({}));
        if let Some(err) = &stats_error {
            doc["stats_error"] = json!({"code": err.code(), "message": err.to_string()});
        }
        print_json(&doc);
        return EXIT_OK;
    }
    let unknown = || "unknown".to_owned();
    outln!("Path:       {}", summary.path.display());
    outln!("Kind:       {}", summary.kind.as_str());
    outln!(
        "Device:     {}",
        summary.device_name.clone().unwrap_or_else(unknown)
    );
    outln!(
        "Model:      {}",
        summary.model.clone().unwrap_or_else(unknown)
    );
    outln!(
        "OS version: {}",
        summary.os_version.clone().unwrap_or_else(unknown)
    );
    outln!("Date:       {}", human_date(summary.date_unix));
    outln!(
        "Encrypted:  {}",
        if summary.encrypted { "yes" } else { "no" }
    );
    outln!("Snapshot:   {:?}", summary.snapshot);
    if let Some(id) = &summary.device_id {
        outln!("Device ID:  {id}");
    }
    match summary.file_count {
        Some(n) => outln!("Files:      {n}"),
        None => outln!("Files:      unknown (encrypted: needs the password)"),
    }
    if let Some(n) = summary.app_count {
        outln!("Apps:       {n}");
    }
    if let Some(bytes) = summary.total_bytes {
        outln!("Size:       {}", human_bytes(bytes));
    }
    if let Some(err) = stats_error {
        outln!("Note:       could not count files: {err}");
    }
    EXIT_OK
}
