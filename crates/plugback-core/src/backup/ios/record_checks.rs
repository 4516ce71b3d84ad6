//! The quick checks of a file list against the folder: every record decodes, names a
//! safe path and its own fileID; every file's data is there with the right size; no data
//! is there that no record names. Reads no file contents, and allocates nothing for a
//! record that passes (real backups hold 100k of them).

use super::crypto::padded_len;
use super::files::{
    EntryKind, FileRecord, Layout, blob_relative_path, is_file_id, unsafe_path_reason,
};
use super::walk::{BlobKind, BlobScan};
use crate::backup::verify::{Problem, ProblemCode, VerifyReport};
use std::collections::HashSet;

/// Below this, a backup is too small for "far smaller than declared" to mean much.
const SUSPICIOUS_MIN_DECLARED: u64 = 1 << 20;

/// A file whose data is present with the right size: what deep verification reads.
#[derive(Clone, Copy, Debug)]
pub struct ReadItem {
    /// Index into the records.
    pub record: usize,
    /// Size on disk.
    pub disk_len: u64,
}

/// How a record is named in problems: `domain/relativePath`, or its fileID.
pub fn shown(record: &FileRecord) -> String {
    let display = record.display_path();
    if display.is_empty() {
        record.file_id.clone()
    } else {
        display
    }
}

/// Where a record's data is, relative to the backup, with `/` separators.
pub fn blob_location(layout: Layout, file_id: &str) -> String {
    blob_relative_path(layout, file_id)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|| file_id.to_owned())
}

/// Runs the quick checks, adding problems and stats to `report`. Returns the files
/// whose data deep verification can read.
pub fn check(
    layout: Layout,
    encrypted: bool,
    records: &[FileRecord],
    scan: &BlobScan,
    report: &mut VerifyReport,
) -> Vec<ReadItem> {
    let mut named: HashSet<&str> = HashSet::with_capacity(records.len());
    let mut readable = Vec::new();
    let mut declared_on_disk: u64 = 0;
    let mut present_on_disk: u64 = 0;

    for (dir, error) in &scan.unreadable {
        report.push(Problem::error(
            ProblemCode::Unreadable,
            dir.as_str(),
            format!("Plugback could not read {dir} in the backup folder ({error}), so the files stored there were not checked. Check that the drive is connected and that your account can read the folder."),
        ));
    }

    for (index, record) in records.iter().enumerate() {
        named.insert(record.file_id.as_str());
        if let Some(why) = &record.invalid {
            let shown = shown(record);
            report.push(Problem::error(
                ProblemCode::RecordInvalid,
                shown.as_str(),
                format!("The file list entry for {shown} cannot be decoded ({why}), so this file cannot be checked. Copy the backup again from its source."),
            ));
            continue;
        }
        if let Some(problem) = unsafe_path_problem(record) {
            report.push(problem);
            continue;
        }
        if !record.file_id_matches() {
            let shown = shown(record);
            report.push(Problem::error(
                ProblemCode::FileidMismatch,
                shown.as_str(),
                format!("{shown} is stored under the name {:?}, but its name should be {}. The file list was edited or damaged; copy the backup again from its source.", record.file_id, record.expected_file_id()),
            ));
            if !is_file_id(&record.file_id) {
                continue;
            }
        }
        match record.kind() {
            EntryKind::File => {}
            EntryKind::Directory | EntryKind::Symlink => continue,
            EntryKind::Unknown => {
                let shown = shown(record);
                report.push(Problem::warning(
                    ProblemCode::RecordInvalid,
                    shown.as_str(),
                    format!("The file list does not say whether {shown} is a file, a folder or a link (flags {}), so it was not checked.", record.flags),
                ));
                continue;
            }
        }
        let Some(meta) = &record.meta else { continue };
        report.stats.files_expected += 1;
        report.stats.bytes_expected += meta.size;

        let has_key = encrypted && meta.encryption_key.is_some();
        if encrypted && !has_key && meta.size > 0 {
            let shown = shown(record);
            report.push(Problem::error(
                ProblemCode::RecordInvalid,
                shown.as_str(),
                format!("{shown} has no encryption key although the backup is encrypted, so its data cannot be read. Copy the backup again from its source."),
            ));
            continue;
        }
        let expected_len = if has_key {
            padded_len(meta.size)
        } else {
            meta.size
        };
        declared_on_disk += expected_len;

        let blob = match scan.blobs.get(&record.file_id) {
            None if scan.folder_unreadable(&record.file_id) => continue,
            None => {
                report.push(missing(
                    layout,
                    record,
                    meta.size,
                    "is not in the backup folder",
                ));
                continue;
            }
            Some(blob) => blob,
        };
        match blob.kind {
            BlobKind::File => {}
            BlobKind::Symlink => {
                let (shown, location) = (shown(record), blob_location(layout, &record.file_id));
                report.push(Problem::error(
                    ProblemCode::UnsafePath,
                    shown.as_str(),
                    format!("The data of {shown} at {location} is a link to somewhere else rather than a file; Plugback does not follow links out of a backup. Do not restore from this copy; use another one."),
                ));
                continue;
            }
            BlobKind::Other => {
                report.push(missing(layout, record, meta.size, "is not a regular file"));
                continue;
            }
        }
        let blob_len = blob.len;
        present_on_disk += blob_len.min(expected_len);
        // An empty file's data may be stored with or without its padding block.
        let size_ok = blob_len == expected_len || (has_key && meta.size == 0 && blob_len == 0);
        if blob_len == 0 && meta.size > 0 {
            let (shown, location) = (shown(record), blob_location(layout, &record.file_id));
            report.push(Problem::error(
                ProblemCode::EmptyFile,
                shown.as_str(),
                format!("{shown} should hold {} bytes but its data at {location} is empty, as if a copy ran out of space. Copy the backup again from its source.", meta.size),
            ));
        } else if !size_ok {
            let (shown, location) = (shown(record), blob_location(layout, &record.file_id));
            report.push(Problem::error(
                ProblemCode::BlobSizeMismatch,
                shown.as_str(),
                format!("{shown} should take {expected_len} bytes but its data at {location} has {blob_len}. The file was cut short or changed; copy the backup again from its source."),
            ));
        } else {
            report.stats.files_checked += 1;
            readable.push(ReadItem {
                record: index,
                disk_len: blob_len,
            });
        }
    }

    report_orphans(layout, scan, &named, report);
    if declared_on_disk >= SUSPICIOUS_MIN_DECLARED && present_on_disk < declared_on_disk / 2 {
        report.push(Problem::warning(
            ProblemCode::SuspiciousSize,
            "",
            format!("The files found take {present_on_disk} bytes, far less than the {declared_on_disk} bytes the backup's file list declares, as if a copy stopped early. Check the disk has space, then copy the backup again from its source."),
        ));
    }
    readable
}

fn missing(layout: Layout, record: &FileRecord, size: u64, what: &str) -> Problem {
    let (shown, location) = (shown(record), blob_location(layout, &record.file_id));
    let message = format!(
        "The data of {shown} ({size} bytes) {what} (expected at {location}). Copy the backup again from its source; a restore would leave this file out."
    );
    // An empty file loses nothing when its data is absent.
    if size == 0 {
        Problem::warning(ProblemCode::BlobMissing, shown, message)
    } else {
        Problem::error(ProblemCode::BlobMissing, shown, message)
    }
}

fn unsafe_path_problem(record: &FileRecord) -> Option<Problem> {
    let (field, value, why) = [("domain", &record.domain), ("path", &record.relative_path)]
        .into_iter()
        .find_map(|(field, value)| unsafe_path_reason(value).map(|why| (field, value, why)))?;
    let shown = shown(record);
    Some(Problem::error(
        ProblemCode::UnsafePath,
        shown.as_str(),
        format!(
            "The file list entry {shown:?} has a {field} ({value:?}) that {why}: it would reach outside the backup. Do not restore from this backup; it may have been tampered with. Use another copy."
        ),
    ))
}

fn report_orphans(
    layout: Layout,
    scan: &BlobScan,
    named: &HashSet<&str>,
    report: &mut VerifyReport,
) {
    let mut orphans: Vec<String> = scan
        .blobs
        .keys()
        .filter(|id| !named.contains(id.as_str()))
        .map(|id| blob_location(layout, id))
        .chain(scan.strays.iter().cloned())
        .collect();
    orphans.sort();
    for orphan in orphans {
        report.push(Problem::warning(
            ProblemCode::BlobOrphan,
            orphan.as_str(),
            format!("{orphan} is in the backup folder but the file list does not name it. It is harmless for a restore; leave the folder as it is."),
        ));
    }
}
