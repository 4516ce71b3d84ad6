//! Every job writes what happened to a JSON-lines file in Plugback's data folder: one
//! object a line, each with the time, so a diagnostics export (redacted) and a person
//! reading it later can follow the restore. Events never carry a password.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct JobLog {
    path: PathBuf,
    file: Option<File>,
}

impl JobLog {
    /// Creates `<dir>/<job_id>.jsonl` (and `dir`). Fails when the folder cannot be written.
    pub fn create(dir: &Path, job_id: &str) -> io::Result<JobLog> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{job_id}.jsonl"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(JobLog {
            path,
            file: Some(file),
        })
    }

    /// A log that keeps nothing, for jobs whose caller asked for none.
    pub fn none() -> JobLog {
        JobLog {
            path: PathBuf::new(),
            file: None,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|_| self.path.as_path())
    }

    /// Appends one line: `{"at": "<RFC 3339>", ...entry}`. A log that cannot be written
    /// stops logging (with a warning) rather than stopping the restore.
    pub fn write(&mut self, entry: &impl Serialize) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut line = match serde_json::to_value(entry) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(other) => {
                let mut map = serde_json::Map::new();
                map.insert("value".into(), other);
                map
            }
            Err(e) => {
                tracing::warn!("a job log entry could not be encoded: {e}");
                return;
            }
        };
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        line.insert("at".into(), at.into());
        let text = serde_json::Value::Object(line).to_string();
        if let Err(e) = writeln!(file, "{text}").and_then(|_| file.flush()) {
            tracing::warn!("the job log {} cannot be written: {e}", self.path.display());
            self.file = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_timed_json_object_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = JobLog::create(&dir.path().join("logs"), "job-1").unwrap();
        log.write(&json!({"event": "phase", "phase": "preparing"}));
        log.write(&json!({"event": "progress", "bytes_done": 10}));
        let text = std::fs::read_to_string(log.path().unwrap()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["phase"], "preparing");
        assert_eq!(lines[1]["bytes_done"], 10);
        assert!(lines[1]["at"].as_str().unwrap().contains('T'));
        JobLog::none().write(&json!({"ignored": true}));
    }
}
