//! The Logs window's state, and reading restore job logs for it: each job's JSON-lines
//! file summed up for the list (when, which phone, how it ended), and its events turned
//! into readable lines. The reading functions run on worker threads only.

use super::format;
use super::state::{AppState, Failure, Job};
use plugback_core::diagnostics::{DiagnosticsInputs, ExportSummary};
use serde_json::Value;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The most lines of one log the window shows: its end, where a restore failed.
pub const MAX_LINES: usize = 2_000;
/// The most of one log's end that is read. A log line is a few hundred bytes, so this
/// holds the last lines shown while never loading a runaway file whole.
const TAIL_BYTES: u64 = 4 * 1024 * 1024;
/// How much of a log's end is read to tell how it ended, for the list.
const SUMMARY_TAIL_BYTES: u64 = 64 * 1024;

/// How a job ended, as its log tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogOutcome {
    Succeeded,
    Failed(String),
    /// No "finished" line: still running, or Plugback stopped before the end.
    Unfinished,
}

/// One job log, as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSummary {
    pub path: PathBuf,
    /// The file's name without `.jsonl`.
    pub name: String,
    /// When the job started: its first line's time.
    pub started_at: Option<OffsetDateTime>,
    /// The phone as the log names it (its pseudonym, name or identifier).
    pub phone: Option<String>,
    pub outcome: LogOutcome,
}

impl LogSummary {
    /// "25 Nov 2026, 10:00 · phone-1 · ended well".
    pub fn describe(&self) -> String {
        let when = self.started_at.map_or_else(
            || "date not known".to_owned(),
            |at| format::local_date(Some(at.unix_timestamp())),
        );
        let phone = self.phone.as_deref().unwrap_or("phone not named");
        let outcome = match &self.outcome {
            LogOutcome::Succeeded => "ended well",
            LogOutcome::Failed(_) => "failed",
            LogOutcome::Unfinished => "did not finish",
        };
        format!("{when} · {phone} · {outcome}")
    }
}

/// One event of a log, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub time: String,
    pub event: String,
    pub message: String,
}

impl LogLine {
    pub fn text(&self) -> String {
        format!("{}  {}  {}", self.time, self.event, self.message)
    }
}

/// The end of one log, as readable lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogLines {
    pub lines: Vec<LogLine>,
    /// Earlier lines were left out (the log is longer than what is shown).
    pub earlier_left_out: bool,
    /// Lines that were not JSON, left out.
    pub unreadable: usize,
}

/// A diagnostics zip written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    pub summary: ExportSummary,
}

impl Exported {
    /// Where it went and what it holds, in plain words.
    pub fn words(&self) -> String {
        let logs = match self.summary.logs {
            1 => "1 log".to_owned(),
            n => format!("{n} logs"),
        };
        format!(
            "Saved to {}: {logs}, phones numbered, names and passwords left out. Send this file when you ask for help.",
            self.path.display()
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    Loading,
    Ready(Vec<LogSummary>),
    Failed(Failure),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    Loading,
    Ready(LogLines),
    Failed(Failure),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportNote {
    Exporting,
    Done(Exported),
    /// The dialog was closed without a file, or could not open.
    NotSaved,
    Failed(Failure),
}

/// The Logs window: the list, the log shown, and Export diagnostics.
#[derive(Debug)]
pub struct LogsView {
    dir: Option<PathBuf>,
    pub open: bool,
    pub listing: Listing,
    pub selected: Option<PathBuf>,
    pub reading: Option<Reading>,
    pub export: Option<ExportNote>,
    /// An export asked for with its file already chosen, started at the next frame.
    requested_export: Option<PathBuf>,
}

impl LogsView {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            open: false,
            listing: Listing::Loading,
            selected: None,
            reading: None,
            export: None,
            requested_export: None,
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn is_exporting(&self) -> bool {
        matches!(self.export, Some(ExportNote::Exporting))
    }

    pub(super) fn exported(&mut self, result: Result<Option<Exported>, Failure>) {
        self.export = match result {
            Ok(Some(done)) => Some(ExportNote::Done(done)),
            Ok(None) => Some(ExportNote::NotSaved),
            Err(failure) => Some(ExportNote::Failed(failure)),
        };
    }
}

impl AppState {
    /// Opens the Logs window and lists the logs afresh.
    pub fn open_logs(&mut self) -> Vec<Job> {
        self.logs.open = true;
        self.refresh_logs()
    }

    pub fn refresh_logs(&mut self) -> Vec<Job> {
        self.logs.listing = Listing::Loading;
        vec![Job::ListLogs {
            dir: self.logs.dir.clone(),
        }]
    }

    pub(super) fn logs_listed(&mut self, result: Result<Vec<LogSummary>, Failure>) -> Vec<Job> {
        self.logs.listing = match result {
            Ok(logs) => Listing::Ready(logs),
            Err(failure) => Listing::Failed(failure),
        };
        // The log shown may have gone meanwhile.
        if let (Some(selected), Listing::Ready(logs)) = (&self.logs.selected, &self.logs.listing)
            && !logs.iter().any(|l| &l.path == selected)
        {
            self.logs.selected = None;
            self.logs.reading = None;
        }
        Vec::new()
    }

    /// Shows the log at `path`: its end is read in the background.
    pub fn select_log(&mut self, path: &Path) -> Vec<Job> {
        if self.logs.selected.as_deref() == Some(path) {
            return Vec::new();
        }
        self.logs.selected = Some(path.to_path_buf());
        self.logs.reading = Some(Reading::Loading);
        vec![Job::ReadLog {
            path: path.to_path_buf(),
        }]
    }

    pub(super) fn log_read(&mut self, path: &Path, result: Result<LogLines, Failure>) {
        if self.logs.selected.as_deref() != Some(path) {
            return; // another log was picked meanwhile
        }
        self.logs.reading = Some(match result {
            Ok(lines) => Reading::Ready(lines),
            Err(failure) => Reading::Failed(failure),
        });
    }

    /// "Export diagnostics…": asks where to save in the system's dialog, then writes.
    pub fn export_diagnostics(&mut self) -> Vec<Job> {
        self.export_job(None)
    }

    /// Exports diagnostics to `out` without a dialog, from the next frame on (for tests
    /// and callers that already know where).
    pub fn export_diagnostics_to(&mut self, out: PathBuf) {
        self.logs.requested_export = Some(out);
    }

    /// The export asked for with [`Self::export_diagnostics_to`], if any.
    pub fn take_requested_export(&mut self) -> Vec<Job> {
        match self.logs.requested_export.take() {
            Some(out) => self.export_job(Some(out)),
            None => Vec::new(),
        }
    }

    fn export_job(&mut self, out: Option<PathBuf>) -> Vec<Job> {
        if self.logs.is_exporting() {
            return Vec::new();
        }
        self.logs.export = Some(ExportNote::Exporting);
        vec![Job::ExportDiagnostics {
            out,
            inputs: DiagnosticsInputs {
                log_dir: self.logs.dir.clone(),
                doctor: self.first_run.report().cloned(),
                version: crate::build_info::VERSION_LINE.to_owned(),
                // Found on the worker: it reads the account database.
                home: None,
            },
        }]
    }
}

/// The job logs in `dir`, newest first. No folder (nothing ran yet) is an empty list.
pub fn list(dir: Option<&Path>) -> Result<Vec<LogSummary>, Failure> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(Failure::new(format!(
                "The log folder {} cannot be read: {err}.",
                dir.display()
            )));
        }
    };
    let mut logs: Vec<LogSummary> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
        .filter_map(|path| summarize(&path).ok())
        .collect();
    logs.sort_by(|a, b| (b.started_at, &b.name).cmp(&(a.started_at, &a.name)));
    Ok(logs)
}

/// Sums up one log from its first line and its end.
pub fn summarize(path: &Path) -> io::Result<LogSummary> {
    let mut file = File::open(path)?;
    let mut first = String::new();
    BufReader::new((&mut file).take(SUMMARY_TAIL_BYTES)).read_line(&mut first)?;
    let head: Option<Value> = serde_json::from_str(first.trim()).ok();
    let (tail, _) = read_tail(&mut file, SUMMARY_TAIL_BYTES)?;
    let values: Vec<Value> = head
        .into_iter()
        .chain(tail.lines().filter_map(|l| serde_json::from_str(l).ok()))
        .collect();
    Ok(summary_of(path, &values))
}

/// The summary of a log whose lines (its first, then its end) are `values`.
pub fn summary_of(path: &Path, values: &[Value]) -> LogSummary {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let started_at = values
        .first()
        .and_then(|v| v.get("at"))
        .and_then(Value::as_str)
        .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
    let finished = values
        .iter()
        .rev()
        .find(|v| v.get("event").and_then(Value::as_str) == Some("finished"));
    let report = finished.and_then(|v| v.get("report"));
    let outcome = match report {
        Some(r) if r.get("ok").and_then(Value::as_bool) == Some(true) => LogOutcome::Succeeded,
        Some(r) => LogOutcome::Failed(
            r.pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the restore did not complete")
                .to_owned(),
        ),
        None => LogOutcome::Unfinished,
    };
    // The phone as the log names it: a name where one is kept, else its identifier.
    let phone = [
        "/report/device_name",
        "/device_name",
        "/report/device",
        "/device",
    ]
    .iter()
    .find_map(|pointer| {
        values
            .iter()
            .rev()
            .find_map(|v| v.pointer(pointer).and_then(Value::as_str))
    })
    .filter(|s| !s.is_empty())
    .map(str::to_owned);
    LogSummary {
        path: path.to_path_buf(),
        name,
        started_at,
        phone,
        outcome,
    }
}

/// The last [`MAX_LINES`] events of the log at `path`, in words.
pub fn read(path: &Path) -> Result<LogLines, Failure> {
    let cannot =
        |err: io::Error| Failure::new(format!("The log {} cannot be read: {err}.", path.display()));
    let mut file = File::open(path).map_err(cannot)?;
    let (text, cut) = read_tail(&mut file, TAIL_BYTES).map_err(cannot)?;
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = all.len().saturating_sub(MAX_LINES);
    let mut lines = LogLines {
        earlier_left_out: cut || start > 0,
        ..LogLines::default()
    };
    for raw in &all[start..] {
        match serde_json::from_str::<Value>(raw) {
            Ok(value) => lines.lines.push(readable(&value)),
            Err(_) => lines.unreadable += 1,
        }
    }
    Ok(lines)
}

/// The last `max` bytes of `file` as text, starting at a whole line; true when the file
/// was longer (its start left out).
fn read_tail(file: &mut File, max: u64) -> io::Result<(String, bool)> {
    let len = file.metadata()?.len();
    let cut = len > max;
    file.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if cut {
        // The first line was cut in the middle: drop it.
        text = text
            .split_once('\n')
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default();
    }
    Ok((text, cut))
}

/// One log event as a person reads it: its time, what kind of event, what it says.
pub fn readable(value: &Value) -> LogLine {
    let time = value
        .get("at")
        .and_then(Value::as_str)
        .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
        .map_or_else(|| "--:--:--".to_owned(), clock);
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("entry")
        .to_owned();
    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
    let number = |key: &str| value.get(key).and_then(Value::as_u64);
    let message = match event.as_str() {
        "phase" => text("phase").replace('-', " "),
        "progress" => {
            let mut parts = vec![format!(
                "{} sent",
                format::bytes(number("bytes_done").unwrap_or(0))
            )];
            if let Some(files) = number("files_done") {
                parts.push(format!("{files} files"));
            }
            if let Some(current) = value.get("current").and_then(Value::as_str) {
                parts.push(current.to_owned());
            }
            parts.join(", ")
        }
        "note" => format!("{} ({})", text("message"), text("code")),
        "lost" => format!("{} {}", text("what_happened"), text("what_next")),
        "back" if value.get("resumed").and_then(Value::as_bool) == Some(true) => {
            "The phone is back: the restore carries on.".to_owned()
        }
        "back" => "The phone is back: the restore starts again.".to_owned(),
        "finished" => match value.get("report") {
            Some(r) if r.get("ok").and_then(Value::as_bool) == Some(true) => format!(
                "Restore done: {} files, {}.",
                r.get("files").and_then(Value::as_u64).unwrap_or(0),
                format::bytes(r.get("bytes").and_then(Value::as_u64).unwrap_or(0))
            ),
            Some(r) => format!(
                "Restore failed: {}",
                r.pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
            ),
            None => "Finished.".to_owned(),
        },
        _ => other_fields(value),
    };
    LogLine {
        time,
        event,
        message,
    }
}

/// The fields of an event this window has no words for, compactly.
fn other_fields(value: &Value) -> String {
    let Value::Object(map) = value else {
        return value.to_string();
    };
    let mut rest = map.clone();
    rest.remove("at");
    rest.remove("event");
    let mut text = Value::Object(rest).to_string();
    if text.len() > 300 {
        let end = (0..=300)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(end);
        text.push('…');
    }
    text
}

/// "18:20:31" in this computer's time zone, or with "UTC" when the zone cannot be told.
fn clock(at: OffsetDateTime) -> String {
    match time::UtcOffset::local_offset_at(at) {
        Ok(offset) => {
            let t = at.to_offset(offset);
            format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
        }
        Err(_) => format!("{:02}:{:02}:{:02} UTC", at.hour(), at.minute(), at.second()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::jobs::log::JobLog;
    use serde_json::json;

    #[test]
    fn logs_are_listed_newest_first_with_how_they_ended() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let mut old = JobLog::create(&logs, "restore-old").unwrap();
        old.write(&json!({"event": "phase", "phase": "preparing"}));
        old.write(
            &json!({"event": "finished", "report": {"ok": false, "device": "udid-1",
            "error": {"code": "phone-lost", "message": "the phone was lost"}}}),
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut new = JobLog::create(&logs, "restore-new").unwrap();
        new.write(&json!({"event": "phase", "phase": "transferring"}));
        std::fs::write(logs.join("notes.txt"), "not a log").unwrap();

        let listed = list(Some(&logs)).unwrap();
        let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["restore-new", "restore-old"]);
        assert_eq!(listed[0].outcome, LogOutcome::Unfinished);
        assert_eq!(
            listed[1].outcome,
            LogOutcome::Failed("the phone was lost".into())
        );
        assert_eq!(listed[1].phone.as_deref(), Some("udid-1"));
        assert!(listed[1].describe().ends_with("· udid-1 · failed"));
        assert!(list(Some(&dir.path().join("none"))).unwrap().is_empty());
        assert!(list(None).unwrap().is_empty());
    }

    #[test]
    fn only_the_end_of_a_long_log_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = JobLog::create(dir.path(), "long").unwrap();
        for n in 0..(MAX_LINES + 10) {
            log.write(&json!({"event": "note", "code": "n", "message": format!("line {n}")}));
        }
        let path = dir.path().join("long.jsonl");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"not json\n"))
            .unwrap();
        let read = read(&path).unwrap();
        assert_eq!(read.lines.len(), MAX_LINES - 1);
        assert_eq!(read.unreadable, 1);
        assert!(read.earlier_left_out);
        let last = read.lines.last().unwrap();
        assert_eq!(last.event, "note");
        assert_eq!(last.message, format!("line {} (n)", MAX_LINES + 9));
    }

    #[test]
    fn events_read_as_words() {
        let line = readable(&json!({"at": "2026-11-25T18:20:31Z", "event": "finished",
            "report": {"ok": true, "files": 12, "bytes": 2048}}));
        assert_eq!(line.event, "finished");
        assert_eq!(line.message, "Restore done: 12 files, 2.0 KB.");
        assert!(line.time.contains(':'));
        let other = readable(&json!({"event": "custom", "value": 3}));
        assert_eq!(other.message, r#"{"value":3}"#);
        assert_eq!(other.time, "--:--:--");
    }
}
