//! DATA/restore-report.json: what the last `adb restore` did. A real phone tells the
//! host nothing (the stream just closes), so this file is how tests and people see the
//! outcome.

use serde::Serialize;
use std::collections::BTreeSet;
use std::io;
use std::path::Path;

pub(super) const REPORT_FILE: &str = "restore-report.json";
/// Skipped entry names kept in the report; the count covers the rest.
const MAX_SKIPPED_NAMES: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Outcome {
    Ok,
    WrongPassword,
    Corrupt,
    /// The host's stream ended or failed before the archive's end.
    Interrupted,
    Denied,
    TimedOut,
}

/// What was restored, counted as it happens.
#[derive(Debug, Default, Serialize)]
pub(super) struct Tally {
    /// Regular files written, app data and shared storage together.
    pub files_restored: u64,
    pub bytes_restored: u64,
    pub app_files: u64,
    pub shared_files: u64,
    pub packages: BTreeSet<String>,
    /// Entries not restored: unsafe names, other volumes, write failures.
    pub skipped: u64,
    pub skipped_entries: Vec<String>,
}

impl Tally {
    pub(super) fn skip(&mut self, name: &str, why: &str) {
        eprintln!("plugback-sim: restore: skipping {name:?}: {why}");
        self.skipped += 1;
        if self.skipped_entries.len() < MAX_SKIPPED_NAMES {
            self.skipped_entries.push(format!("{name}: {why}"));
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub outcome: Outcome,
    /// Why, when the outcome is not ok.
    pub detail: Option<String>,
    pub version: Option<u32>,
    pub compressed: Option<bool>,
    pub encrypted: Option<bool>,
    #[serde(flatten)]
    pub tally: Tally,
}

impl Report {
    pub(super) fn new(outcome: Outcome) -> Report {
        Report {
            outcome,
            detail: None,
            version: None,
            compressed: None,
            encrypted: None,
            tally: Tally::default(),
        }
    }

    /// Writes the report whole (a temporary file renamed into place).
    pub(super) fn write(&self, data_dir: &Path) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let partial = data_dir.join(format!(".{REPORT_FILE}.partial"));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, data_dir.join(REPORT_FILE))
    }
}
