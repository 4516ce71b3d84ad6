//! How a job ended, for the window's done screen, the CLI's last JSON line and the log.

use crate::explain;
use crate::restore::RestoreError;
use serde::Serialize;
use std::path::PathBuf;

/// The error a job ended with, in the words a person and a script need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
    /// What to do, from the explanation catalog.
    pub fix: Option<String>,
}

impl From<&RestoreError> for JobError {
    fn from(err: &RestoreError) -> Self {
        let code = err.code();
        JobError {
            fix: explain::explain(&code).map(|e| e.what_to_do.to_owned()),
            message: err.to_string(),
            code,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobReport {
    pub job: String,
    pub device: String,
    pub backup: PathBuf,
    pub ok: bool,
    /// iPhone: times the restore was started again from the beginning after a loss.
    pub restarts: u32,
    /// Android: times the restore carried on after a loss, skipping what had arrived.
    pub resumes: u32,
    pub bytes: u64,
    pub files: u64,
    pub error: Option<JobError>,
    pub seconds: f64,
    /// Whether the computer was kept awake for the job.
    pub kept_awake: bool,
    pub log: Option<PathBuf>,
}
