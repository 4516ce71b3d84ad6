//! "Export diagnostics": one zip a person can send to get help, with the job logs, the
//! `doctor` report and what Plugback is, redacted so that it names no phone, no person and
//! no folder of theirs, and holds no password and no key material.
//!
//! Redaction works on the JSON, not on text: each log line is parsed, and every value is
//! looked at with its key. Phone identifiers (UDIDs, serials) become stable pseudonyms
//! (`phone-1`), so one phone can still be followed through the logs; phone names are
//! hidden; the home folder becomes `~`; anything under a key that could hold a secret is
//! dropped. A line that is not JSON is left out and counted, never copied as it is.

use crate::doctor::DoctorReport;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Keys whose values identify a phone; in a phone's own record (an object with a
/// `platform`) also its `id`.
const PHONE_ID_KEYS: [&str; 4] = ["device", "device_id", "udid", "serial"];
/// Keys whose values are a phone's or a person's name; in a phone's record also `name`.
const NAME_KEYS: [&str; 3] = ["device_name", "phone_name", "owner"];
/// Parts of keys whose values are never exported.
const SECRET_KEY_PARTS: [&str; 6] = ["password", "secret", "token", "key", "escrow", "cert"];

/// What goes into the export.
#[derive(Clone, Debug, Default)]
pub struct DiagnosticsInputs {
    /// The folder of job logs (`<data>/logs`); missing is fine.
    pub log_dir: Option<PathBuf>,
    /// The doctor's report, where one was run.
    pub doctor: Option<DoctorReport>,
    /// Plugback's version line.
    pub version: String,
    /// The home folder, written as `~`.
    pub home: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub logs: usize,
    /// Log lines left out because they were not JSON.
    pub lines_left_out: usize,
    pub phones_pseudonymised: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DiagnosticsError {
    #[error("the diagnostics file {path} could not be written: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the diagnostics file {path} could not be written: {detail}")]
    Zip { path: PathBuf, detail: String },
}

impl DiagnosticsError {
    pub fn code(&self) -> &'static str {
        "diagnostics-not-written"
    }
}

/// Writes the redacted zip to `out`.
pub fn export(out: &Path, inputs: &DiagnosticsInputs) -> Result<ExportSummary, DiagnosticsError> {
    let write_err = |source: io::Error| DiagnosticsError::Write {
        path: out.to_path_buf(),
        source,
    };
    let zip_err = |e: zip::result::ZipError| DiagnosticsError::Zip {
        path: out.to_path_buf(),
        detail: e.to_string(),
    };
    let mut redactor = Redactor::new(inputs.home.as_deref());
    let mut zip = zip::ZipWriter::new(File::create(out).map_err(write_err)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut summary = ExportSummary {
        logs: 0,
        lines_left_out: 0,
        phones_pseudonymised: 0,
    };
    for log in job_logs(inputs.log_dir.as_deref()) {
        let Ok(file) = File::open(&log) else { continue };
        // A job's file name carries its phone's identifier: numbered instead.
        summary.logs += 1;
        zip.start_file(format!("logs/job-{}.jsonl", summary.logs), options)
            .map_err(zip_err)?;
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Value>(&line) {
                Ok(value) => {
                    let mut text = redactor.value(value).to_string();
                    text.push('\n');
                    zip.write_all(text.as_bytes()).map_err(write_err)?;
                }
                Err(_) => summary.lines_left_out += 1,
            }
        }
    }
    if let Some(doctor) = &inputs.doctor {
        let value = serde_json::to_value(doctor).unwrap_or(Value::Null);
        zip.start_file("doctor.json", options).map_err(zip_err)?;
        let text = serde_json::to_string_pretty(&redactor.value(value)).unwrap_or_default();
        zip.write_all(text.as_bytes()).map_err(write_err)?;
    }
    zip.start_file("about.txt", options).map_err(zip_err)?;
    let about = format!(
        "Plugback {}\nsystem: {} {}\nlogs: {} (lines left out: {})\nRedacted: phones are numbered (phone-1…), phone and person names are hidden, the home folder is ~, and no password or key is included.\n",
        inputs.version,
        std::env::consts::OS,
        std::env::consts::ARCH,
        summary.logs,
        summary.lines_left_out
    );
    zip.write_all(about.as_bytes()).map_err(write_err)?;
    zip.finish().map_err(zip_err)?;
    summary.phones_pseudonymised = redactor.phones.len();
    Ok(summary)
}

/// The job logs, oldest name first.
fn job_logs(dir: Option<&Path>) -> Vec<PathBuf> {
    let Some(Ok(entries)) = dir.map(std::fs::read_dir) else {
        return Vec::new();
    };
    let mut logs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .collect();
    logs.sort();
    logs
}

/// Replaces what identifies a phone or a person, consistently across the export.
struct Redactor {
    home: Option<String>,
    /// Each phone identifier seen, and its pseudonym.
    phones: BTreeMap<String, String>,
    /// Names seen, hidden wherever they appear in text too.
    names: Vec<String>,
}

impl Redactor {
    fn new(home: Option<&Path>) -> Redactor {
        Redactor {
            home: home
                .map(|h| h.to_string_lossy().trim_end_matches('/').to_owned())
                .filter(|h| h.len() > 1),
            phones: BTreeMap::new(),
            names: Vec::new(),
        }
    }

    fn value(&mut self, value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let phone_record = map.contains_key("platform");
                let kind = |k: &str| {
                    if PHONE_ID_KEYS.contains(&k) || (phone_record && k == "id") {
                        Some(Kind::PhoneId)
                    } else if NAME_KEYS.contains(&k) || (phone_record && k == "name") {
                        Some(Kind::Name)
                    } else {
                        None
                    }
                };
                // Identifiers and names first, so that messages beside them are cleaned of them.
                for (k, v) in &map {
                    match (kind(k), v) {
                        (Some(Kind::PhoneId), Value::String(s)) => {
                            self.pseudonym(s);
                        }
                        (Some(Kind::Name), Value::String(s)) if !s.is_empty() => {
                            self.names.push(s.clone());
                        }
                        _ => {}
                    }
                }
                let mut out = Map::new();
                for (k, v) in map {
                    if is_secret_key(&k) {
                        continue;
                    }
                    let v = match (kind(&k), v) {
                        (Some(Kind::PhoneId), Value::String(s)) => {
                            Value::String(self.pseudonym(&s))
                        }
                        (Some(Kind::Name), Value::String(_)) => Value::String("(hidden)".into()),
                        (_, v) => self.value(v),
                    };
                    out.insert(k, v);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::String(s) => Value::String(self.text(&s)),
            other => other,
        }
    }

    fn pseudonym(&mut self, id: &str) -> String {
        let next = self.phones.len() + 1;
        self.phones
            .entry(id.to_owned())
            .or_insert_with(|| format!("phone-{next}"))
            .clone()
    }

    /// Free text: known identifiers, names and the home folder replaced.
    fn text(&self, s: &str) -> String {
        let mut out = s.to_owned();
        if let Some(home) = &self.home {
            out = out.replace(home.as_str(), "~");
        }
        for (id, pseudonym) in &self.phones {
            if id.len() >= 4 {
                out = out.replace(id.as_str(), pseudonym);
            }
        }
        for name in &self.names {
            if name.len() >= 2 {
                out = out.replace(name.as_str(), "(hidden)");
            }
        }
        out
    }
}

/// What a key's value is, for redaction.
enum Kind {
    PhoneId,
    Name,
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_zip(path: &Path) -> BTreeMap<String, String> {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut files = BTreeMap::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            files.insert(entry.name().unwrap().into_owned(), text);
        }
        files
    }

    #[test]
    fn logs_are_exported_without_phones_names_home_or_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let udid = "00008030-001A2B3C4D5E6F70";
        std::fs::write(
            logs.join(format!("restore-{udid}.jsonl")),
            format!(
                concat!(
                    r#"{{"at":"2026-11-25T10:00:00Z","event":"started","device":"{udid}","device_name":"Anna's iPhone","backup":"/home/anna/Backups/{udid}"}}"#,
                    "\n",
                    r#"{{"at":"2026-11-25T10:01:00Z","event":"lost","what_happened":"Anna's iPhone ({udid}) was unplugged","password":"hunter2","pair_record_key":"AAAA"}}"#,
                    "\n",
                    "not json at all, with /home/anna inside\n",
                    r#"{{"at":"2026-11-25T10:02:00Z","event":"other phone","device":"R58M12345"}}"#,
                    "\n"
                ),
                udid = udid
            ),
        )
        .unwrap();
        let out = dir.path().join("diagnostics.zip");
        let summary = export(
            &out,
            &DiagnosticsInputs {
                log_dir: Some(logs),
                doctor: None,
                version: "0.1.0 (test)".into(),
                home: Some("/home/anna".into()),
            },
        )
        .unwrap();
        assert_eq!(
            summary,
            ExportSummary {
                logs: 1,
                lines_left_out: 1,
                phones_pseudonymised: 2
            }
        );
        let files = read_zip(&out);
        let everything: String = files
            .iter()
            .map(|(name, text)| format!("{name}\n{text}"))
            .collect();
        for secret in [
            udid,
            "Anna",
            "anna",
            "hunter2",
            "AAAA",
            "R58M12345",
            "\"password\"",
        ] {
            assert!(
                !everything.contains(secret),
                "{secret} leaked:\n{everything}"
            );
        }
        let log = &files["logs/job-1.jsonl"];
        let lines: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["device"], "phone-1");
        assert_eq!(lines[0]["device_name"], "(hidden)");
        assert_eq!(lines[0]["backup"], "~/Backups/phone-1");
        assert_eq!(
            lines[1]["what_happened"],
            "(hidden) (phone-1) was unplugged"
        );
        assert_eq!(lines[2]["device"], "phone-2");
        assert!(files["about.txt"].contains("0.1.0 (test)"));
    }

    #[test]
    fn an_export_with_nothing_to_export_still_says_what_plugback_is() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d.zip");
        let summary = export(
            &out,
            &DiagnosticsInputs {
                log_dir: Some(dir.path().join("no-logs-yet")),
                version: "0.1.0".into(),
                ..DiagnosticsInputs::default()
            },
        )
        .unwrap();
        assert_eq!(summary.logs, 0);
        assert!(read_zip(&out)["about.txt"].starts_with("Plugback 0.1.0"));

        let unwritable = dir.path().join("missing-folder").join("d.zip");
        let err = export(&unwritable, &DiagnosticsInputs::default()).unwrap_err();
        assert_eq!(err.code(), "diagnostics-not-written");
        assert!(err.to_string().contains("missing-folder"), "{err}");
    }
}
