//! `plugback-android.json`: the file list of a Plugback Android backup folder. This schema is
//! the contract with the backup writer (and with the simulator that generates test backups):
//!
//! ```json
//! { "format": "plugback-android-backup", "version": 1, "created": "2026-11-25T10:00:00Z",
//!   "device": {"serial": "…", "manufacturer": "Google", "model": "Pixel 7", "product": "panther",
//!              "android_version": "14", "sdk": 34},
//!   "files": [{"path": "/sdcard/DCIM/x.jpg", "size": 123, "mtime": 1700000000, "mode": 33188,
//!              "sha256": "<64 hex>"}],
//!   "apps": [{"package": "com.example.notes", "apks": [{"name": "base.apk", "size": 4096, "sha256": "<64 hex>"}]}] }
//! ```
//!
//! A file's data is at `files/<path without its leading />`, an APK at
//! `apps/<package>/<name>`. Unknown fields are ignored so that newer writers stay readable;
//! a greater `version` is refused with a clear message.

use crate::backup::safe_path;
use crate::backup::verify::{Problem, ProblemCode};
use serde::Deserialize;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "plugback-android-backup";
pub const VERSION: u64 = 1;
/// A list of millions of files is tens of megabytes; past this the file is not a list.
const MAX_MANIFEST_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Device {
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub product: Option<String>,
    pub android_version: Option<String>,
    pub sdk: Option<u32>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    pub mtime: i64,
    pub mode: u32,
    pub sha256: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ApkRecord {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AppRecord {
    pub package: String,
    pub apks: Vec<ApkRecord>,
}

/// The fields read before anything else, so that a newer version is recognised even when
/// the rest of its schema changed.
#[derive(Deserialize)]
struct Head {
    format: Option<serde_json::Value>,
    version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    created: Option<serde_json::Value>,
    #[serde(default)]
    device: Option<serde_json::Value>,
    files: Vec<serde_json::Value>,
    apps: Vec<serde_json::Value>,
}

/// The manifest as written; entries stay raw JSON until [`FolderManifest::expected_blobs`]
/// checks them one by one, so one bad entry does not hide the others.
#[derive(Clone, Debug)]
pub struct FolderManifest {
    pub version: u64,
    /// `created` as written (RFC 3339), and as seconds since the epoch when it parses.
    pub created: Option<String>,
    pub created_unix: Option<i64>,
    pub device: Device,
    /// Problems with the manifest's own fields (a bad date, a bad device record).
    pub field_problems: Vec<Problem>,
    files: Vec<serde_json::Value>,
    apps: Vec<serde_json::Value>,
}

/// Why the manifest cannot be used at all.
#[derive(Debug)]
pub enum ManifestError {
    /// The file could not be read.
    Io(std::io::Error),
    /// Not JSON, not this format, a newer version, or missing its lists.
    Invalid(String),
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(err) => write!(f, "cannot read {}: {err}", super::FOLDER_MANIFEST),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

/// One file the manifest promises: where it is in the folder and what it must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedBlob {
    /// Relative to the backup folder, built from checked plain components.
    pub relative: PathBuf,
    /// The same with `/` separators, for reports.
    pub display: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Reads and checks the top of `<folder>/plugback-android.json`.
pub fn load(folder: &Path) -> Result<FolderManifest, ManifestError> {
    let path = folder.join(super::FOLDER_MANIFEST);
    let file = std::fs::File::open(&path).map_err(ManifestError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ManifestError::Io)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(ManifestError::Invalid(format!(
            "{} is larger than {} MiB, far more than any file list",
            super::FOLDER_MANIFEST,
            MAX_MANIFEST_BYTES >> 20
        )));
    }
    parse(&bytes)
}

/// Parses manifest bytes (see [`load`]).
pub fn parse(bytes: &[u8]) -> Result<FolderManifest, ManifestError> {
    let invalid = |reason: String| ManifestError::Invalid(reason);
    let head: Head = serde_json::from_slice(bytes).map_err(|err| {
        invalid(format!(
            "{} is not valid JSON ({err})",
            super::FOLDER_MANIFEST
        ))
    })?;
    match head.format.as_ref().and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(invalid(format!(
                "{} says its format is {other:?}, not {FORMAT:?}",
                super::FOLDER_MANIFEST
            )));
        }
        None => {
            return Err(invalid(format!(
                "{} has no \"format\" field",
                super::FOLDER_MANIFEST
            )));
        }
    }
    let version = match head.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v @ 1..=VERSION) => v,
        Some(v) if v > VERSION => {
            return Err(invalid(format!(
                "this backup was written by a newer Plugback (file list version {v}; this Plugback \
                 reads version {VERSION})"
            )));
        }
        _ => {
            return Err(invalid(format!(
                "{} has no valid \"version\" (a whole number from 1)",
                super::FOLDER_MANIFEST
            )));
        }
    };
    let body: Body = serde_json::from_slice(bytes)
        .map_err(|err| invalid(format!("{}: {err}", super::FOLDER_MANIFEST)))?;
    let mut field_problems = Vec::new();
    let device = match body.device {
        None | Some(serde_json::Value::Null) => Device::default(),
        Some(value) => serde_json::from_value(value).unwrap_or_else(|err| {
            field_problems.push(record_problem(format!(
                "the \"device\" record is malformed ({err})"
            )));
            Device::default()
        }),
    };
    let created = match body.created {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text),
        Some(other) => {
            field_problems.push(record_problem(format!(
                "\"created\" is not a date text ({other})"
            )));
            None
        }
    };
    let created_unix = created.as_deref().and_then(|text| {
        let parsed = parse_rfc3339(text);
        if parsed.is_none() {
            field_problems.push(record_problem(format!(
                "\"created\" is not an RFC 3339 date ({text:?})"
            )));
        }
        parsed
    });
    Ok(FolderManifest {
        version,
        created,
        created_unix,
        device,
        field_problems,
        files: body.files,
        apps: body.apps,
    })
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.unix_timestamp())
}

fn record_problem(detail: String) -> Problem {
    Problem::warning(
        ProblemCode::RecordInvalid,
        super::FOLDER_MANIFEST,
        format!("In the backup's file list, {detail}. The files themselves can still be checked."),
    )
}

impl FolderManifest {
    pub fn file_count(&self) -> u64 {
        self.files.len() as u64
    }

    pub fn app_count(&self) -> u64 {
        self.apps.len() as u64
    }

    /// Every file the manifest promises, in manifest order, and the problems of the entries
    /// that cannot be checked (malformed: `record-invalid`; names that would leave the
    /// folder: `unsafe-path`).
    pub fn expected_blobs(&self) -> (Vec<ExpectedBlob>, Vec<Problem>) {
        let mut checker = EntryChecker::default();
        for (index, value) in self.files.iter().enumerate() {
            checker.file(index, value);
        }
        for (index, value) in self.apps.iter().enumerate() {
            checker.app(index, value);
        }
        (checker.blobs, checker.problems)
    }
}

#[derive(Default)]
struct EntryChecker {
    blobs: Vec<ExpectedBlob>,
    problems: Vec<Problem>,
    seen: HashSet<PathBuf>,
}

impl EntryChecker {
    fn invalid(&mut self, at: String, detail: String) {
        self.problems.push(Problem::error(
            ProblemCode::RecordInvalid,
            at,
            format!(
                "An entry in the backup's file list is damaged ({detail}), so Plugback cannot \
                 check that file. Copy the backup again from its source; other files may still restore."
            ),
        ));
    }

    fn unsafe_name(&mut self, at: String, what: &str, reason: &str) {
        self.problems.push(Problem::error(
            ProblemCode::UnsafePath,
            at,
            format!(
                "The backup's file list names {what} that {reason}. Plugback refuses names that \
                 could reach outside the backup; do not restore from this copy, it may have been \
                 tampered with."
            ),
        ));
    }

    fn file(&mut self, index: usize, value: &serde_json::Value) {
        let record: FileRecord = match serde_json::from_value(value.clone()) {
            Ok(record) => record,
            Err(err) => {
                return self.invalid(
                    format!("{}#files[{index}]", super::FOLDER_MANIFEST),
                    err.to_string(),
                );
            }
        };
        let display = format!("files{}", record.path);
        if let Some(reason) = safe_path::phone_path_problem(&record.path) {
            return self.unsafe_name(
                format!("{}#files[{index}]", super::FOLDER_MANIFEST),
                &format!("the phone file {:?}", record.path),
                reason,
            );
        }
        const REGULAR_FILE: u32 = 0o100000;
        if record.mode & 0o170000 != REGULAR_FILE {
            return self.invalid(
                display,
                format!("mode {:o} is not a regular file", record.mode),
            );
        }
        let parts = std::iter::once("files").chain(safe_path::phone_path_parts(&record.path));
        self.push(display, parts, record.size, &record.sha256);
    }

    fn app(&mut self, index: usize, value: &serde_json::Value) {
        let at = format!("{}#apps[{index}]", super::FOLDER_MANIFEST);
        let app: AppRecord = match serde_json::from_value(value.clone()) {
            Ok(app) => app,
            Err(err) => return self.invalid(at, err.to_string()),
        };
        if let Some(reason) = safe_path::package_problem(&app.package) {
            return self.unsafe_name(at, &format!("the app {:?}", app.package), reason);
        }
        for apk in &app.apks {
            let display = format!("apps/{}/{}", app.package, apk.name);
            if let Some(reason) = safe_path::file_name_problem(&apk.name) {
                self.unsafe_name(
                    format!("{at}.apks"),
                    &format!("the APK {:?}", apk.name),
                    reason,
                );
                continue;
            }
            let parts = ["apps", app.package.as_str(), apk.name.as_str()];
            self.push(display, parts, apk.size, &apk.sha256);
        }
    }

    fn push<'a>(
        &mut self,
        display: String,
        parts: impl IntoIterator<Item = &'a str>,
        size: u64,
        sha256: &str,
    ) {
        let Some(relative) = safe_path::join_plain(Path::new(""), parts) else {
            return self.unsafe_name(
                display.clone(),
                &format!("{display:?}"),
                "cannot be a plain file name on this computer",
            );
        };
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(sha256, &mut digest).is_err() {
            return self.invalid(
                display,
                format!("its sha256 {sha256:?} is not 64 hex digits"),
            );
        }
        if !self.seen.insert(relative.clone()) {
            return self.invalid(display, "it is listed twice".into());
        }
        self.blobs.push(ExpectedBlob {
            relative,
            display,
            size,
            sha256: digest,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn manifest(files: serde_json::Value, apps: serde_json::Value) -> Vec<u8> {
        json!({
            "format": FORMAT, "version": 1, "created": "2026-11-25T10:00:00Z",
            "device": {"serial": "R5CT1234ABC", "manufacturer": "Google", "model": "Pixel 7",
                       "product": "panther", "android_version": "14", "sdk": 34, "future": true},
            "files": files, "apps": apps, "added_later": {"x": 1}
        })
        .to_string()
        .into_bytes()
    }

    fn file(path: &str) -> serde_json::Value {
        json!({"path": path, "size": 0, "mtime": 1700000000, "mode": 33188, "sha256": SHA})
    }

    #[test]
    fn reads_the_documented_schema_and_ignores_unknown_fields() {
        let bytes = manifest(
            json!([file("/sdcard/DCIM/Camera/IMG_0001.jpg")]),
            json!([{"package": "com.example.notes", "apks": [{"name": "base.apk", "size": 0, "sha256": SHA}]}]),
        );
        let m = parse(&bytes).unwrap();
        assert_eq!(m.device.model.as_deref(), Some("Pixel 7"));
        assert_eq!(m.device.sdk, Some(34));
        assert_eq!(m.created_unix, Some(1_795_600_800));
        assert!(m.field_problems.is_empty());
        let (blobs, problems) = m.expected_blobs();
        assert!(problems.is_empty(), "{problems:?}");
        let shown: Vec<_> = blobs.iter().map(|b| b.display.as_str()).collect();
        assert_eq!(
            shown,
            [
                "files/sdcard/DCIM/Camera/IMG_0001.jpg",
                "apps/com.example.notes/base.apk"
            ]
        );
        assert_eq!(
            blobs[0].relative,
            Path::new("files/sdcard/DCIM/Camera/IMG_0001.jpg")
        );
    }

    fn invalid_reason(bytes: &[u8]) -> String {
        match parse(bytes) {
            Err(ManifestError::Invalid(reason)) => reason,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn unusable_manifests_say_why() {
        assert!(invalid_reason(b"{not json").contains("not valid JSON"));
        assert!(
            invalid_reason(br#"{"format": "other", "version": 1, "files": [], "apps": []}"#)
                .contains("other")
        );
        assert!(invalid_reason(br#"{"version": 1, "files": [], "apps": []}"#).contains("format"));
        let newer = format!(r#"{{"format": "{FORMAT}", "version": 2, "entries": {{}}}}"#);
        assert!(invalid_reason(newer.as_bytes()).contains("newer Plugback"));
        let zero = format!(r#"{{"format": "{FORMAT}", "version": 0, "files": [], "apps": []}}"#);
        assert!(invalid_reason(zero.as_bytes()).contains("version"));
        let no_files = format!(r#"{{"format": "{FORMAT}", "version": 1, "apps": []}}"#);
        assert!(invalid_reason(no_files.as_bytes()).contains("files"));
    }

    #[test]
    fn bad_entries_are_reported_one_by_one() {
        let mut directory = file("/sdcard/dir");
        directory["mode"] = json!(0o40755);
        let mut bad_sha = file("/sdcard/b");
        bad_sha["sha256"] = json!("abc");
        let bytes = manifest(
            json!([
                file("/sdcard/ok"),
                {"path": "/sdcard/no-size", "mtime": 1, "mode": 33188, "sha256": SHA},
                file("/sdcard/../../etc/passwd"),
                file("relative/x"),
                file("/sdcard\\x"),
                directory,
                bad_sha,
                file("/sdcard/ok"),
            ]),
            json!([
                {"package": "../evil", "apks": []},
                {"package": "com.example.a", "apks": [{"name": "../x.apk", "size": 1, "sha256": SHA}]},
                {"package": "com.example.b"},
            ]),
        );
        let m = parse(&bytes).unwrap();
        let (blobs, problems) = m.expected_blobs();
        assert_eq!(blobs.len(), 1);
        let codes: Vec<_> = problems.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "record-invalid",
                "unsafe-path",
                "unsafe-path",
                "unsafe-path",
                "record-invalid",
                "record-invalid",
                "record-invalid",
                "unsafe-path",
                "unsafe-path",
                "record-invalid",
            ]
        );
    }

    #[test]
    fn bad_dates_are_warnings() {
        let mut bytes: serde_json::Value =
            serde_json::from_slice(&manifest(json!([]), json!([]))).unwrap();
        bytes["created"] = json!("yesterday");
        let m = parse(bytes.to_string().as_bytes()).unwrap();
        assert_eq!(m.created_unix, None);
        assert_eq!(m.field_problems.len(), 1);
    }
}
