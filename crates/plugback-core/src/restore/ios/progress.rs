//! What has been sent so far, told to the sink: bytes and files, the file being sent as a
//! person would name it, and the phone's own percentage.
//!
//! The phone asks for files batch by batch and never says how many are left, so the totals
//! are the backup folder's own (every file in it): the phone asks for all of them but the
//! rare leftovers, so they are a close estimate.

use super::super::{Progress, Sink};
use crate::backup::ios::IosBackup;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// At most this often a progress event while a file streams (every file end reports too).
const EVERY: Duration = Duration::from_millis(250);
/// The backup's description files, named as they are.
const DESCRIPTION_FILES: [&str; 4] = [
    "Status.plist",
    "Manifest.plist",
    "Manifest.db",
    "Info.plist",
];

pub(super) struct Tracker {
    sink: Sink,
    progress: Progress,
    /// fileID → "domain/relativePath", for a plain backup.
    names: HashMap<String, String>,
    last_sent: Option<Instant>,
}

impl Tracker {
    pub(super) fn new(sink: &Sink, backup_dir: &Path) -> Tracker {
        let (files, bytes) = folder_totals(backup_dir);
        Tracker {
            sink: sink.clone(),
            progress: Progress {
                bytes_total: Some(bytes),
                files_total: Some(files),
                ..Progress::default()
            },
            names: plain_names(backup_dir),
            last_sent: None,
        }
    }

    pub(super) fn bytes(&self) -> u64 {
        self.progress.bytes_done
    }

    pub(super) fn files(&self) -> u64 {
        self.progress.files_done
    }

    pub(super) fn phone_percent(&mut self, percent: f64) {
        if percent.is_finite() && (0.0..=100.0).contains(&percent) {
            self.progress.phone_percent = Some(percent);
        }
    }

    /// A file starts streaming.
    pub(super) fn start_file(&mut self, phone_path: &str) {
        let last = phone_path.rsplit('/').next().unwrap_or(phone_path);
        self.progress.current = Some(if DESCRIPTION_FILES.contains(&last) {
            last.to_owned()
        } else {
            self.names
                .get(last)
                .cloned()
                .unwrap_or_else(|| phone_path.to_owned())
        });
        self.send(false);
    }

    pub(super) fn add_bytes(&mut self, n: u64) {
        self.progress.bytes_done += n;
        self.send(false);
    }

    pub(super) fn end_file(&mut self) {
        self.progress.files_done += 1;
        self.send(true);
    }

    fn send(&mut self, always: bool) {
        let due = self.last_sent.is_none_or(|at| at.elapsed() >= EVERY);
        if always || due {
            self.last_sent = Some(Instant::now());
            self.sink.progress(self.progress.clone());
        }
    }
}

/// Every regular file under the backup folder: how many, how many bytes.
fn folder_totals(dir: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.path().symlink_metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) if meta.is_file() => {
                    files += 1;
                    bytes += meta.len();
                }
                _ => {}
            }
        }
    }
    (files, bytes)
}

/// The names of a plain backup's files. An encrypted backup's file list needs the password
/// and seconds of key derivation; its files are shown by their place in the backup.
fn plain_names(dir: &Path) -> HashMap<String, String> {
    let Ok(backup) = IosBackup::open(dir) else {
        return HashMap::new();
    };
    if backup.is_encrypted() {
        return HashMap::new();
    }
    backup
        .records(None)
        .map(|records| {
            records
                .into_iter()
                .filter(|r| r.is_file())
                .map(|r| {
                    let name = r.display_path();
                    (r.file_id, name)
                })
                .collect()
        })
        .unwrap_or_default()
}
