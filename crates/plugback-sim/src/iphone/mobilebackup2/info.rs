//! Info and List: the phone reads the last backup's description from the computer and
//! answers with text in the Response's `Content`, which idevicebackup2 prints as is.
//!
//! - Info downloads `<SRC>/Manifest.plist` and `<SRC>/Status.plist` and answers one
//!   `Key: value` line each for the device, iOS version, date, encryption and state.
//! - List downloads `<SRC>/Manifest.plist` and `<SRC>/Manifest.db` and answers CSV:
//!   `Domain,RelativePath,FileID,Flags,Size`, one row per record. An encrypted backup's
//!   database cannot be read without the password (which these requests do not carry):
//!   205, as iOS answers when it cannot read the backup database.

use super::Mobilebackup2Error;
use super::devicelink;
use super::errors::{self, Refusal};
use super::link::Link;
use super::manifest;
use super::restore::{fresh_staging, send_download, source_identifier};
use super::transfer::{self, FileEnd, Receiver};
use super::unlock;
use crate::iphone::Phone;
use plist::{Dictionary, Value};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Query {
    Info,
    List,
}

pub(crate) fn run<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    request: &Dictionary,
    query: Query,
) -> Result<(), Mobilebackup2Error> {
    let source = source_identifier(request, phone);
    let staging = fresh_staging(phone, "info-staging")?;
    let names: &[&str] = match query {
        Query::Info => &["Manifest.plist", "Status.plist"],
        Query::List => &["Manifest.plist", "Manifest.db"],
    };
    let paths: Vec<String> = names.iter().map(|n| format!("{source}/{n}")).collect();
    send_download(link, phone, &paths, 0.0)?;
    let mut receiver = Stage {
        dir: staging.clone(),
        names: paths.iter().cloned().zip(names.iter().copied()).collect(),
        file: None,
    };
    transfer::receive_batch(link, &mut receiver)?;
    let status = devicelink::receive_status(link)?;
    let answer = if status.code != 0 {
        Err(Refusal::new(
            errors::BAD_BACKUP,
            format!(
                "Error reading the backup: the computer could not send its files ({})",
                status.message.unwrap_or_default()
            ),
        ))
    } else {
        match query {
            Query::Info => info(&staging),
            Query::List => list(&staging),
        }
    };
    let _ = fs::remove_dir_all(&staging);
    match answer {
        Ok(content) => devicelink::send_response(link, 0, None, Some(content))?,
        Err(refusal) => {
            devicelink::send_response(link, refusal.code, Some(&refusal.description), None)?
        }
    }
    Ok(())
}

fn read_dict(path: &Path) -> Result<Dictionary, Refusal> {
    Value::from_file(path)
        .ok()
        .and_then(Value::into_dictionary)
        .ok_or_else(|| {
            Refusal::new(
                errors::BAD_BACKUP,
                format!(
                    "Cannot parse {}",
                    path.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
            )
        })
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Boolean(b)) => {
            if *b {
                "Yes".into()
            } else {
                "No".into()
            }
        }
        Some(Value::Date(d)) => d.to_xml_format(),
        Some(other) => format!("{other:?}"),
        None => "(unknown)".into(),
    }
}

fn info(staging: &Path) -> Result<String, Refusal> {
    let manifest = read_dict(&staging.join("Manifest.plist"))?;
    let status = read_dict(&staging.join("Status.plist"))?;
    let lockdown = manifest.get("Lockdown").and_then(Value::as_dictionary);
    let from_lockdown = |key: &str| text(lockdown.and_then(|l| l.get(key)));
    let lines = [
        ("Device Name", from_lockdown("DeviceName")),
        ("Product Type", from_lockdown("ProductType")),
        ("Product Version", from_lockdown("ProductVersion")),
        ("Unique Device ID", from_lockdown("UniqueDeviceID")),
        (
            "Backup Date",
            text(status.get("Date").or_else(|| manifest.get("Date"))),
        ),
        ("Encrypted", text(manifest.get("IsEncrypted"))),
        ("Full Backup", text(status.get("IsFullBackup"))),
        ("Snapshot State", text(status.get("SnapshotState"))),
    ];
    Ok(lines.iter().map(|(k, v)| format!("{k}: {v}\n")).collect())
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn list(staging: &Path) -> Result<String, Refusal> {
    let manifest = read_dict(&staging.join("Manifest.plist"))?;
    if unlock::is_encrypted(&manifest) {
        return Err(errors::unreadable_database(
            "the backup is encrypted".into(),
        ));
    }
    let records = manifest::read_backup_records(&staging.join("Manifest.db"), &manifest, None)
        .map_err(errors::unreadable_database)?;
    let mut out = String::from("Domain,RelativePath,FileID,Flags,Size\n");
    for r in records {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            csv_field(&r.domain),
            csv_field(&r.relative_path),
            r.file_id,
            r.flags,
            r.size
        ));
    }
    Ok(out)
}

/// Keeps the requested files in the phone's staging folder.
struct Stage {
    dir: PathBuf,
    names: HashMap<String, &'static str>,
    file: Option<File>,
}

impl Receiver for Stage {
    fn start(&mut self, path: &str) {
        self.file = self
            .names
            .get(path)
            .and_then(|name| File::create(self.dir.join(name)).ok());
    }
    fn data(&mut self, bytes: &[u8]) {
        if let Some(file) = self.file.as_mut() {
            let _ = file.write_all(bytes);
        }
    }
    fn end(&mut self, _end: FileEnd) {
        self.file = None;
    }
}
