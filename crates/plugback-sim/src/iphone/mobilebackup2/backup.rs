//! Backup: the phone uploads its contents to the computer as a new, unencrypted, full
//! backup, with the messages a phone sends around the upload.
//!
//! The phone's contents are the files under `restored_dir()` (`<domain>/<relativePath>`),
//! or a small built-in set when nothing was restored yet. The sequence:
//! 1. DownloadFiles `<UDID>/Status.plist` (the previous backup's state; absent is fine);
//! 2. GetFreeDiskSpace, refusing with 105 when the computer is short of space;
//! 3. RemoveItems `<UDID>/Status.plist`, so an interrupted backup never looks finished;
//! 4. CreateDirectory for `<UDID>/Snapshot` and each `<UDID>/xx` blob folder;
//! 5. UploadFiles batches of blobs to `<UDID>/xx/<fileID>`;
//! 6. UploadFiles Manifest.db, Manifest.plist and Status.plist into `<UDID>/Snapshot/`;
//! 7. MoveItems them into `<UDID>/` (Status.plist last), RemoveItems `<UDID>/Snapshot`;
//! 8. the final Response. The computer writes Info.plist itself, before asking.

use super::Mobilebackup2Error;
use super::devicelink::{self, EMPTY_PARAMETER, string};
use super::errors::{self, Refusal};
use super::link::Link;
use super::restore::send_download;
use super::transfer::{self, FileEnd, Receiver};
use crate::iphone::Phone;
use crate::make_backup::manifest_db::ManifestDb;
use crate::make_backup::mbfile;
use crate::make_backup::tree::{Entry, EntryKind};
use plist::{Dictionary, Value};
use sha1::{Digest, Sha1};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Blob batches hold about this much data.
const BATCH_BYTES: u64 = 8 * 1024 * 1024;
const BATCH_FILES: usize = 500;
/// The protection class recorded for uploaded files.
const PROTECTION_CLASS: u32 = 3;

/// Where a file's bytes come from.
enum Source {
    Disk(PathBuf),
    Memory(Vec<u8>),
}

struct Item {
    entry: Entry,
    source: Option<Source>,
}

/// Runs one Backup request to its final Response.
pub(crate) fn run<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    request: &Dictionary,
) -> Result<(), Mobilebackup2Error> {
    let config = phone.config();
    let target = request
        .get("TargetIdentifier")
        .and_then(Value::as_string)
        .unwrap_or(&config.udid)
        .to_string();
    let items = match contents(&phone.restored_dir()) {
        Ok(items) if items.iter().any(|i| i.source.is_some()) => items,
        Ok(_) => default_contents(),
        Err(e) => {
            let refusal = Refusal::new(100, format!("Cannot read the phone's files: {e}"));
            devicelink::send_response(link, refusal.code, Some(&refusal.description), None)?;
            return Ok(());
        }
    };
    let total: u64 = items.iter().map(|i| i.entry.size()).sum();

    // 1. The previous backup's Status.plist (its absence is normal for a first backup).
    send_download(link, phone, &[format!("{target}/Status.plist")], 0.0)?;
    transfer::receive_batch(link, &mut Discard)?;
    devicelink::receive_status(link)?;

    // 2. Room on the computer.
    devicelink::send(
        link,
        vec![string("DLMessageGetFreeDiskSpace"), string(EMPTY_PARAMETER)],
    )?;
    let free = devicelink::receive_status(link)?;
    let free_bytes = free.detail.as_unsigned_integer().unwrap_or(u64::MAX);
    if free.code == 0 && free_bytes < total {
        let refusal = Refusal::new(
            errors::NO_SPACE,
            format!(
                "Not enough free space on the computer: the backup needs {total} bytes and {free_bytes} are free"
            ),
        );
        devicelink::send_response(link, refusal.code, Some(&refusal.description), None)?;
        return Ok(());
    }

    // 3. The old backup is no longer finished.
    remove_items(link, &[format!("{target}/Status.plist")], 0.0)?;

    // 4. Folders.
    let prefixes: BTreeSet<String> = items
        .iter()
        .filter(|i| i.source.is_some())
        .map(|i| i.entry.file_id()[..2].to_string())
        .collect();
    create_directory(link, &format!("{target}/Snapshot"))?;
    for prefix in &prefixes {
        create_directory(link, &format!("{target}/{prefix}"))?;
    }

    // 5. The blobs.
    let mut scratch = Vec::new();
    let files: Vec<&Item> = items.iter().filter(|i| i.source.is_some()).collect();
    let mut sent = 0u64;
    for batch in batches(&files) {
        let progress = if total == 0 {
            50.0
        } else {
            5.0 + 85.0 * sent as f64 / total as f64
        };
        upload_header(link, progress, total)?;
        for item in batch {
            let id = item.entry.file_id();
            let host_path = format!("{target}/{}/{id}", &id[..2]);
            let device_path = format!("/var/mobile/{}/{}", item.entry.domain, item.entry.path);
            let mut reader: Box<dyn Read> = match &item.source {
                Some(Source::Disk(path)) => Box::new(File::open(path)?),
                Some(Source::Memory(bytes)) => Box::new(io::Cursor::new(bytes.as_slice())),
                None => continue,
            };
            sent +=
                transfer::upload_file(link, &device_path, &host_path, &mut reader, &mut scratch)?;
        }
        transfer::end_upload(link)?;
        expect_ok(devicelink::receive_status(link)?, "uploading files")?;
    }

    // 6. The description files, into the snapshot folder.
    let manifest_db = manifest_db(&items)?;
    let manifest_plist = binary(&manifest_plist(phone))?;
    let status_plist = binary(&status_plist(&config.udid))?;
    upload_header(link, 95.0, total)?;
    for (name, bytes) in [
        ("Manifest.db", &manifest_db),
        ("Manifest.plist", &manifest_plist),
        ("Status.plist", &status_plist),
    ] {
        let host_path = format!("{target}/Snapshot/{name}");
        let device_path = format!("/var/mobile/Library/Backup/{name}");
        transfer::upload_file(
            link,
            &device_path,
            &host_path,
            &mut bytes.as_slice(),
            &mut scratch,
        )?;
    }
    transfer::end_upload(link)?;
    expect_ok(
        devicelink::receive_status(link)?,
        "uploading the backup description",
    )?;

    // 7. Into place, Status.plist last, and the snapshot folder away.
    let mut moves = Dictionary::new();
    for name in ["Manifest.db", "Manifest.plist", "Status.plist"] {
        moves.insert(
            format!("{target}/Snapshot/{name}"),
            string(&format!("{target}/{name}")),
        );
    }
    devicelink::send(
        link,
        vec![
            string("DLMessageMoveItems"),
            Value::Dictionary(moves),
            Value::Dictionary(Dictionary::new()),
            Value::Real(98.0),
        ],
    )?;
    expect_ok(
        devicelink::receive_status(link)?,
        "moving the backup into place",
    )?;
    remove_items(link, &[format!("{target}/Snapshot")], 99.0)?;

    devicelink::send_response(link, 0, None, None)?;
    Ok(())
}

fn expect_ok(status: devicelink::StatusResponse, what: &str) -> Result<(), Mobilebackup2Error> {
    if status.code == 0 {
        return Ok(());
    }
    Err(Mobilebackup2Error::Protocol(format!(
        "the computer failed {what}: {} ({})",
        status.code,
        status.message.unwrap_or_default()
    )))
}

fn upload_header<S: Read + Write>(
    link: &mut Link<'_, S>,
    progress: f64,
    total: u64,
) -> io::Result<()> {
    devicelink::send(
        link,
        vec![
            string("DLMessageUploadFiles"),
            Value::Dictionary(Dictionary::new()),
            Value::Real(progress),
            Value::from(total),
        ],
    )
}

fn remove_items<S: Read + Write>(
    link: &mut Link<'_, S>,
    paths: &[String],
    progress: f64,
) -> Result<(), Mobilebackup2Error> {
    devicelink::send(
        link,
        vec![
            string("DLMessageRemoveItems"),
            Value::Array(paths.iter().map(|p| string(p)).collect()),
            Value::Dictionary(Dictionary::new()),
            Value::Real(progress),
        ],
    )?;
    // A path that was not there is fine.
    devicelink::receive_status(link)?;
    Ok(())
}

fn create_directory<S: Read + Write>(
    link: &mut Link<'_, S>,
    path: &str,
) -> Result<(), Mobilebackup2Error> {
    devicelink::send(link, vec![string("DLMessageCreateDirectory"), string(path)])?;
    let status = devicelink::receive_status(link)?;
    // -7 is "already exists".
    if status.code == 0 || status.code == -7 {
        return Ok(());
    }
    expect_ok(status, &format!("creating {path}"))
}

fn batches<'i>(files: &[&'i Item]) -> Vec<Vec<&'i Item>> {
    let mut out: Vec<Vec<&Item>> = Vec::new();
    let mut bytes = 0;
    for &item in files {
        let full = out
            .last()
            .is_none_or(|b| b.len() >= BATCH_FILES || bytes >= BATCH_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        if let Some(batch) = out.last_mut() {
            batch.push(item);
        }
        bytes += item.entry.size();
    }
    out
}

fn unix_seconds(time: io::Result<SystemTime>) -> i64 {
    time.ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Everything under the restored folder, a domain per top-level folder, parents first.
fn contents(root: &Path) -> io::Result<Vec<Item>> {
    let mut items = Vec::new();
    if !root.is_dir() {
        return Ok(items);
    }
    let mut domains: Vec<_> = fs::read_dir(root)?.collect::<Result<_, _>>()?;
    domains.sort_by_key(|d| d.file_name());
    for domain in domains {
        if !domain.file_type()?.is_dir() {
            continue;
        }
        let name = domain.file_name().to_string_lossy().into_owned();
        walk(&domain.path(), &name, "", &mut items)?;
    }
    Ok(items)
}

fn walk(dir: &Path, domain: &str, relative: &str, items: &mut Vec<Item>) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    items.push(item(domain, relative, EntryKind::Dir, &meta, None));
    let mut children: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    children.sort_by_key(|c| c.file_name());
    for child in children {
        let name = child.file_name().to_string_lossy().into_owned();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let meta = fs::symlink_metadata(child.path())?;
        if meta.is_dir() {
            walk(&child.path(), domain, &path, items)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(child.path())?.to_string_lossy().into_owned();
            items.push(item(
                domain,
                &path,
                EntryKind::Symlink { target },
                &meta,
                None,
            ));
        } else if meta.is_file() {
            let kind = EntryKind::File {
                size: meta.len(),
                class: PROTECTION_CLASS,
            };
            items.push(item(
                domain,
                &path,
                kind,
                &meta,
                Some(Source::Disk(child.path())),
            ));
        }
    }
    Ok(())
}

fn item(
    domain: &str,
    path: &str,
    kind: EntryKind,
    meta: &fs::Metadata,
    source: Option<Source>,
) -> Item {
    let mtime = unix_seconds(meta.modified());
    Item {
        entry: Entry {
            domain: domain.to_string(),
            path: path.to_string(),
            kind,
            mtime,
            birth: unix_seconds(meta.created()).min(mtime.max(0)),
            inode: meta.ino(),
        },
        source,
    }
}

/// What a phone that was never restored holds: a few files in two domains.
fn default_contents() -> Vec<Item> {
    let now = unix_seconds(Ok(SystemTime::now()));
    let mut items = Vec::new();
    let mut inode = 200_000;
    let mut push = |domain: &str, path: &str, kind: EntryKind, source: Option<Source>| {
        inode += 1;
        items.push(Item {
            entry: Entry {
                domain: domain.into(),
                path: path.into(),
                kind,
                mtime: now,
                birth: now,
                inode,
            },
            source,
        });
    };
    let file = |bytes: Vec<u8>| {
        (
            EntryKind::File {
                size: bytes.len() as u64,
                class: PROTECTION_CLASS,
            },
            Some(Source::Memory(bytes)),
        )
    };
    push("HomeDomain", "", EntryKind::Dir, None);
    push("HomeDomain", "Library", EntryKind::Dir, None);
    push("HomeDomain", "Library/Preferences", EntryKind::Dir, None);
    let (kind, source) =
        file(b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict/></plist>\n".to_vec());
    push(
        "HomeDomain",
        "Library/Preferences/com.apple.springboard.plist",
        kind,
        source,
    );
    push("HomeDomain", "Library/Notes", EntryKind::Dir, None);
    let (kind, source) = file(b"Plugback simulated note\n".to_vec());
    push("HomeDomain", "Library/Notes/note.txt", kind, source);
    push("CameraRollDomain", "", EntryKind::Dir, None);
    push("CameraRollDomain", "Media", EntryKind::Dir, None);
    let photo: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (kind, source) = file(photo);
    push("CameraRollDomain", "Media/IMG_0001.JPG", kind, source);
    items
}

fn manifest_db(items: &[Item]) -> Result<Vec<u8>, Mobilebackup2Error> {
    let fail = |e: &dyn std::fmt::Display| Mobilebackup2Error::Backup(format!("Manifest.db: {e}"));
    let mut db = ManifestDb::new().map_err(|e| fail(&e))?;
    for item in items {
        let archived = mbfile::archive(&item.entry, None).map_err(|e| fail(&e))?;
        db.insert(&item.entry, &item.entry.file_id(), &archived)
            .map_err(|e| fail(&e))?;
    }
    db.finish().map_err(|e| fail(&e))
}

fn binary(value: &Value) -> Result<Vec<u8>, Mobilebackup2Error> {
    let mut bytes = Vec::new();
    value
        .to_writer_binary(&mut bytes)
        .map_err(|e| Mobilebackup2Error::Backup(e.to_string()))?;
    Ok(bytes)
}

fn now_date() -> Value {
    let secs = unix_seconds(Ok(SystemTime::now())).max(0) as u64;
    Value::Date((UNIX_EPOCH + Duration::from_secs(secs)).into())
}

fn manifest_plist(phone: &Phone) -> Value {
    let config = phone.config();
    let mut lockdown = Dictionary::new();
    for (key, value) in [
        ("ProductVersion", &config.ios_version),
        ("ProductType", &config.product_type),
        ("BuildVersion", &config.build_version),
        ("UniqueDeviceID", &config.udid),
        ("SerialNumber", &config.serial),
        ("DeviceName", &config.name),
    ] {
        lockdown.insert(key.into(), string(value));
    }
    let mut manifest = Dictionary::new();
    manifest.insert("Lockdown".into(), Value::Dictionary(lockdown));
    manifest.insert("SystemDomainsVersion".into(), string("24.0"));
    manifest.insert("Version".into(), string("10.0"));
    manifest.insert("Date".into(), now_date());
    manifest.insert("IsEncrypted".into(), Value::Boolean(false));
    manifest.insert(
        "WasPasscodeSet".into(),
        Value::Boolean(config.passcode_locked),
    );
    manifest.insert("Applications".into(), Value::Dictionary(Dictionary::new()));
    Value::Dictionary(manifest)
}

fn status_plist(udid: &str) -> Value {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Sha1::digest(format!("{udid}-{nanos}").as_bytes());
    let hex = hex::encode_upper(&digest[..16]);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let mut status = Dictionary::new();
    status.insert("IsFullBackup".into(), Value::Boolean(true));
    status.insert("Version".into(), string("3.3"));
    status.insert("UUID".into(), string(&uuid));
    status.insert("Date".into(), now_date());
    status.insert("BackupState".into(), string("new"));
    status.insert("SnapshotState".into(), string("finished"));
    Value::Dictionary(status)
}

/// Throws away what the host sends (the previous backup's Status.plist).
struct Discard;

impl Receiver for Discard {
    fn start(&mut self, _path: &str) {}
    fn data(&mut self, _bytes: &[u8]) {}
    fn end(&mut self, _end: FileEnd) {}
}
