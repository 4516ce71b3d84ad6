//! Restore: the phone pulls the backup from the computer, checks it as an iPhone does, and
//! writes each file to `restored_dir()/<domain>/<relativePath>` while it streams in.
//!
//! Order, as a phone goes: one DownloadFiles batch for Status.plist, Manifest.plist,
//! Manifest.db and Info.plist; then the checks (plists, Find My, iOS version, password,
//! lock state, database, free space); then the blobs `<SRC>/<id[0..2]>/<id>` in batches of
//! about a twentieth of the data, each announced with the overall progress.
//!
//! The restored folder is emptied when the blobs start (a restore replaces the phone's
//! data). Symbolic links are restored as real links, after every file, so no file is ever
//! written through one. A failed restore leaves what it wrote so far.

use super::Mobilebackup2Error;
use super::devicelink::{self, string};
use super::errors::{self, Refusal};
use super::hostile;
use super::link::Link;
use super::manifest::{self, FLAG_DIR, FLAG_FILE, FLAG_SYMLINK, Record};
use super::transfer::{self, FileEnd, Receiver};
use super::unlock::{self, CbcDecryptor, ClassKeys, UnlockError};
use crate::iphone::{Phone, ServiceContext};
use plist::{Dictionary, Value};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Blob batches carry about this share of the data each (and at most `MAX_BATCH_FILES`).
const BATCHES: u64 = 20;
const MIN_BATCH_BYTES: u64 = 256 * 1024;
const MAX_BATCH_FILES: usize = 1000;
/// Writes reach the disk in pieces of this size.
const WRITE_BUFFER: usize = 1024 * 1024;

pub(crate) const FIRST_FILES: [&str; 4] = [
    "Status.plist",
    "Manifest.plist",
    "Manifest.db",
    "Info.plist",
];

/// What the connection does after a restore request.
pub(crate) struct Outcome {
    /// The restore succeeded and the host did not turn the reboot off.
    pub reboot: bool,
    /// The hostile run desynchronised the stream on purpose: close it.
    pub close: bool,
}

/// Runs one Restore request to its final Response.
pub(crate) fn run<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    ctx: &ServiceContext,
    request: &Dictionary,
) -> Result<Outcome, Mobilebackup2Error> {
    let source = source_identifier(request, phone);
    let empty = Dictionary::new();
    let options = request
        .get("Options")
        .and_then(Value::as_dictionary)
        .unwrap_or(&empty);
    // libimobiledevice, pymobiledevice3 and idevice put the password in Options; ios-core
    // puts it at the top level.
    let password = options
        .get("Password")
        .or_else(|| request.get("Password"))
        .and_then(Value::as_string)
        .map(str::to_string);
    let should_reboot = options
        .get("RestoreShouldReboot")
        .and_then(Value::as_boolean)
        .unwrap_or(true);

    let staging = fresh_staging(phone, "restore-staging")?;

    // The first batch: the description files, plus the hostile requests when asked to.
    let mut first: Vec<String> = FIRST_FILES
        .iter()
        .map(|f| format!("{source}/{f}"))
        .collect();
    let hostile_requests = if phone.hostile_paths() {
        hostile::requests(&source)
    } else {
        Vec::new()
    };
    first.extend(hostile_requests.iter().map(|r| r.path.clone()));
    send_download(link, phone, &first, 0.0)?;
    let mut receiver = StagingReceiver::new(&staging, &source, &hostile_requests);
    let batch = transfer::receive_batch(link, &mut receiver);
    if !hostile_requests.is_empty() {
        // Whatever happened, record what the host did with each hostile request.
        let status = match batch {
            Ok(_) => devicelink::receive_status(link).ok(),
            Err(_) => None,
        };
        hostile::finish(link, phone, &receiver.hostile, status.as_ref())?;
        return Ok(Outcome {
            reboot: false,
            close: true,
        });
    }
    batch?;
    let status = devicelink::receive_status(link)?;

    let result = check_and_restore(
        link,
        phone,
        ctx,
        &source,
        password.as_deref(),
        &staging,
        &status,
    );
    let _ = fs::remove_dir_all(&staging);
    match result? {
        Ok(()) => {
            devicelink::send_response(link, 0, None, None)?;
            Ok(Outcome {
                reboot: should_reboot,
                close: false,
            })
        }
        Err(refusal) => {
            eprintln!("plugback-sim: restore refused: {}", refusal.description);
            devicelink::send_response(link, refusal.code, Some(&refusal.description), None)?;
            Ok(Outcome {
                reboot: false,
                close: false,
            })
        }
    }
}

/// The backup a request names: its SourceIdentifier, else its TargetIdentifier, else
/// this phone's own UDID.
pub(crate) fn source_identifier(request: &Dictionary, phone: &Phone) -> String {
    request
        .get("SourceIdentifier")
        .or_else(|| request.get("TargetIdentifier"))
        .and_then(Value::as_string)
        .map_or_else(|| phone.config().udid.clone(), str::to_string)
}

/// An empty folder of the phone's own, `name` under its data folder, for the files a
/// request downloads before it reads them.
pub(crate) fn fresh_staging(phone: &Phone, name: &str) -> std::io::Result<PathBuf> {
    let staging = phone.data_dir().join(name);
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)?;
    Ok(staging)
}

/// `["DLMessageDownloadFiles", [paths], {DLDeviceIOCallbacks}, progress, 0]`.
pub(crate) fn send_download<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    paths: &[String],
    progress: f64,
) -> std::io::Result<()> {
    let mut callbacks = Dictionary::new();
    callbacks.insert("DLDeviceIOCallbacks".into(), Value::from(0u64));
    devicelink::send(
        link,
        vec![
            string("DLMessageDownloadFiles"),
            Value::Array(paths.iter().map(|p| string(p)).collect()),
            Value::Dictionary(callbacks),
            Value::Real(progress),
            Value::from(0u64),
        ],
    )?;
    phone.report_restore_progress(progress);
    Ok(())
}

/// The host's failures from a Multi status reply, as "path (reason)".
fn multi_status_failures(status: &devicelink::StatusResponse) -> Vec<(String, String)> {
    match status.detail.as_dictionary() {
        Some(failures) => failures
            .iter()
            .map(|(path, detail)| {
                let why = detail
                    .as_dictionary()
                    .and_then(|d| d.get("DLFileErrorString"))
                    .and_then(Value::as_string)
                    .unwrap_or("no reason given");
                (path.clone(), why.to_string())
            })
            .collect(),
        None => Vec::new(),
    }
}

fn multiple_errors(failures: &[(String, String)]) -> Refusal {
    let listed: Vec<String> = failures
        .iter()
        .take(5)
        .map(|(path, why)| format!("{path} ({why})"))
        .collect();
    let more = failures.len().saturating_sub(5);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Refusal::new(
        errors::BAD_BACKUP,
        format!(
            "Multiple errors downloading files: the computer could not send {}{tail}",
            listed.join(", ")
        ),
    )
}

type Checked<T> = Result<T, Refusal>;

/// Everything after the first batch. The outer error is the connection; the inner one
/// the phone's refusal.
fn check_and_restore<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    ctx: &ServiceContext,
    source: &str,
    password: Option<&str>,
    staging: &Path,
    status: &devicelink::StatusResponse,
) -> Result<Checked<()>, Mobilebackup2Error> {
    if status.code != 0 {
        let failures: Vec<(String, String)> = multi_status_failures(status)
            .into_iter()
            // Info.plist is the computer's own description; the phone can do without it.
            .filter(|(path, _)| !path.ends_with("/Info.plist"))
            .collect();
        if !failures.is_empty() || status.detail.as_dictionary().is_none() {
            return Ok(Err(multiple_errors(&failures)));
        }
    }
    let backup = match check_description(phone, ctx, password, staging) {
        Ok(backup) => backup,
        Err(refusal) => return Ok(Err(refusal)),
    };
    restore_blobs(link, phone, source, &backup)
}

/// What the checks learnt about the backup.
struct CheckedBackup {
    records: Vec<Record>,
    keys: Option<ClassKeys>,
}

fn read_plist_file(path: &Path, name: &str) -> Checked<Dictionary> {
    let bytes = fs::read(path).unwrap_or_default();
    if bytes.is_empty() {
        return Err(Refusal::new(
            errors::BAD_BACKUP,
            format!("Cannot parse a NULL or zero-length data ({name})"),
        ));
    }
    Value::from_reader(std::io::Cursor::new(bytes))
        .ok()
        .and_then(Value::into_dictionary)
        .ok_or_else(|| Refusal::new(errors::BAD_BACKUP, format!("Cannot parse {name}")))
}

/// "17.5.1" → [17, 5, 1]; missing parts count as 0.
fn version(text: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = text
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect();
    while parts.len() < 3 {
        parts.push(0);
    }
    parts
}

fn check_description(
    phone: &Phone,
    ctx: &ServiceContext,
    password: Option<&str>,
    staging: &Path,
) -> Checked<CheckedBackup> {
    let config = phone.config();
    let status = read_plist_file(&staging.join("Status.plist"), "Status.plist")?;
    let manifest = read_plist_file(&staging.join("Manifest.plist"), "Manifest.plist")?;
    match status.get("SnapshotState").and_then(Value::as_string) {
        Some("finished") => {}
        state => {
            return Err(Refusal::new(
                errors::BAD_BACKUP,
                format!(
                    "The backup is not complete: its SnapshotState is {}",
                    state.map_or("missing".to_string(), |s| format!("{s:?}"))
                ),
            ));
        }
    }
    if config.find_my {
        return Err(Refusal::new(
            errors::FIND_MY,
            "Find My iPhone must be disabled before restoring",
        ));
    }
    let backup_version = manifest
        .get("Lockdown")
        .and_then(Value::as_dictionary)
        .and_then(|l| l.get("ProductVersion"))
        .and_then(Value::as_string)
        .unwrap_or("0");
    if version(backup_version) > version(&config.ios_version) {
        return Err(Refusal::new(
            errors::NEWER_IOS,
            format!(
                "This backup was made with iOS {backup_version}, newer than this iPhone's iOS {}",
                config.ios_version
            ),
        ));
    }

    let keys = if unlock::is_encrypted(&manifest) {
        let Some(password) = password.filter(|p| !p.is_empty()) else {
            return Err(Refusal::new(
                errors::BAD_PASSWORD,
                "A password is required to restore this encrypted backup",
            ));
        };
        let keys = match unlock::unlock_manifest(&manifest, password) {
            Ok(keys) => keys,
            Err(UnlockError::WrongPassword) => {
                return Err(Refusal::new(errors::BAD_PASSWORD, "Invalid password"));
            }
            Err(UnlockError::Damaged(why)) => {
                return Err(Refusal::new(
                    errors::BAD_BACKUP,
                    format!("Cannot read the backup keybag: {why}"),
                ));
            }
        };
        if config.passcode_locked || !ctx.escrow_bag_given {
            return Err(Refusal::new(
                errors::LOCKED,
                "fcntl permission error setting protection class (device locked?)",
            ));
        }
        Some(keys)
    } else {
        None
    };

    let records =
        manifest::read_backup_records(&staging.join("Manifest.db"), &manifest, keys.as_ref())
            .map_err(errors::unreadable_database)?;
    if let Some(why) = records.iter().find_map(manifest::unsafe_name) {
        return Err(Refusal::new(errors::BAD_BACKUP, why));
    }
    if keys.is_some()
        && let Some(record) = records
            .iter()
            .find(|r| r.flags == FLAG_FILE && r.size > 0 && r.encryption_key.is_none())
    {
        return Err(Refusal::new(
            errors::BAD_BACKUP,
            format!(
                "{}/{} has no encryption key",
                record.domain, record.relative_path
            ),
        ));
    }
    let needed: u64 = records
        .iter()
        .filter(|r| r.flags == FLAG_FILE)
        .map(|r| r.size)
        .sum();
    if needed > config.free_bytes {
        return Err(Refusal::new(
            errors::NO_SPACE,
            format!(
                "Not enough free space on the iPhone: the backup needs {needed} bytes and {} are free",
                config.free_bytes
            ),
        ));
    }
    Ok(CheckedBackup { records, keys })
}

fn restore_blobs<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    source: &str,
    backup: &CheckedBackup,
) -> Result<Checked<()>, Mobilebackup2Error> {
    let root = phone.restored_dir();
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    fs::create_dir_all(&root)?;
    for record in &backup.records {
        let dir = match record.flags {
            FLAG_DIR => root.join(&record.domain).join(&record.relative_path),
            _ => root.join(&record.domain),
        };
        fs::create_dir_all(&dir)?;
    }

    let files: Vec<usize> = (0..backup.records.len())
        .filter(|&i| backup.records[i].flags == FLAG_FILE)
        .collect();
    let total: u64 = files.iter().map(|&i| backup.records[i].size).sum();
    let batch_bytes = (total / BATCHES).max(MIN_BATCH_BYTES);
    let mut receiver = BlobReceiver::new(&root, &backup.records, backup.keys.as_ref());
    let mut done_bytes = 0u64;
    let mut next = 0;
    while next < files.len() {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while next < files.len()
            && batch.len() < MAX_BATCH_FILES
            && (batch.is_empty() || bytes < batch_bytes)
        {
            let record = &backup.records[files[next]];
            let path = format!(
                "{source}/{}/{}",
                record.file_id.get(..2).unwrap_or("00"),
                record.file_id
            );
            receiver.expect(path.clone(), files[next]);
            batch.push(path);
            bytes += record.size;
            next += 1;
        }
        let progress = if total == 0 {
            100.0
        } else {
            done_bytes as f64 * 100.0 / total as f64
        };
        send_download(link, phone, &batch, progress.max(0.1))?;
        transfer::receive_batch(link, &mut receiver)?;
        let status = devicelink::receive_status(link)?;
        if let Some(refusal) = receiver.failure.take() {
            return Ok(Err(refusal));
        }
        if status.code != 0 {
            return Ok(Err(multiple_errors(&multi_status_failures(&status))));
        }
        if let Some(missing) = receiver.unanswered() {
            return Ok(Err(Refusal::new(
                errors::BAD_BACKUP,
                format!("The computer did not send {missing}"),
            )));
        }
        done_bytes += bytes;
    }

    for record in backup.records.iter().filter(|r| r.flags == FLAG_SYMLINK) {
        let path = root.join(&record.domain).join(&record.relative_path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let _ = fs::remove_file(&path);
        std::os::unix::fs::symlink(record.target.as_deref().unwrap_or(""), &path)?;
    }
    Ok(Ok(()))
}

/// Stores the first batch (the description files) in the phone's staging folder, and
/// records what the host did with any hostile request.
struct StagingReceiver {
    dir: PathBuf,
    names: HashMap<String, &'static str>,
    hostile: Vec<hostile::Observed>,
    current: Option<Current>,
}

enum Current {
    Staged(File),
    Hostile(usize),
    Ignored,
}

impl StagingReceiver {
    fn new(dir: &Path, source: &str, hostile_requests: &[hostile::Request]) -> Self {
        StagingReceiver {
            dir: dir.to_path_buf(),
            names: FIRST_FILES
                .iter()
                .map(|f| (format!("{source}/{f}"), *f))
                .collect(),
            hostile: hostile_requests
                .iter()
                .map(hostile::Observed::new)
                .collect(),
            current: None,
        }
    }
}

impl Receiver for StagingReceiver {
    fn start(&mut self, path: &str) {
        self.current = if let Some(name) = self.names.get(path) {
            File::create(self.dir.join(name)).ok().map(Current::Staged)
        } else if let Some(i) = self.hostile.iter().position(|h| h.request.path == path) {
            self.hostile[i].answered = true;
            Some(Current::Hostile(i))
        } else {
            eprintln!("plugback-sim: restore: the host sent {path:?}, which was not asked for");
            Some(Current::Ignored)
        };
    }

    fn data(&mut self, bytes: &[u8]) {
        match &mut self.current {
            Some(Current::Staged(file)) => {
                let _ = file.write_all(bytes);
            }
            Some(Current::Hostile(i)) => self.hostile[*i].bytes += bytes.len() as u64,
            _ => {}
        }
    }

    fn end(&mut self, end: FileEnd) {
        if let (Some(Current::Hostile(i)), FileEnd::HostError(text)) = (&self.current, &end) {
            self.hostile[*i].host_error = Some(text.clone());
        }
        self.current = None;
    }
}

/// Writes each blob to its place as it streams in, decrypting when the backup is
/// encrypted, and checks it against its record.
struct BlobReceiver<'r> {
    root: PathBuf,
    records: &'r [Record],
    keys: Option<&'r ClassKeys>,
    expected: HashMap<String, usize>,
    current: Option<Incoming>,
    out: Vec<u8>,
    failure: Option<Refusal>,
}

struct Incoming {
    record: usize,
    path: PathBuf,
    file: Option<File>,
    decryptor: Option<CbcDecryptor>,
    written: u64,
    error: Option<String>,
}

impl<'r> BlobReceiver<'r> {
    fn new(root: &Path, records: &'r [Record], keys: Option<&'r ClassKeys>) -> Self {
        BlobReceiver {
            root: root.to_path_buf(),
            records,
            keys,
            expected: HashMap::new(),
            current: None,
            out: Vec::with_capacity(WRITE_BUFFER),
            failure: None,
        }
    }

    fn expect(&mut self, path: String, record: usize) {
        self.expected.insert(path, record);
    }

    /// A requested file the host never mentioned.
    fn unanswered(&self) -> Option<String> {
        self.expected.keys().next().cloned()
    }

    fn fail(&mut self, refusal: Refusal) {
        if self.failure.is_none() {
            self.failure = Some(refusal);
        }
    }

    fn shown(&self, record: usize) -> String {
        let r = &self.records[record];
        format!("{}/{}", r.domain, r.relative_path)
    }

    /// Writes plaintext through the shared buffer.
    fn write_plain(out: &mut Vec<u8>, incoming: &mut Incoming, bytes: &[u8]) {
        incoming.written += bytes.len() as u64;
        let Some(file) = incoming.file.as_mut() else {
            return;
        };
        if out.len() + bytes.len() > WRITE_BUFFER {
            if let Err(e) = file.write_all(out) {
                incoming.error.get_or_insert(e.to_string());
            }
            out.clear();
        }
        if bytes.len() >= WRITE_BUFFER / 2 {
            if let Err(e) = file.write_all(bytes) {
                incoming.error.get_or_insert(e.to_string());
            }
        } else {
            out.extend_from_slice(bytes);
        }
    }
}

impl Receiver for BlobReceiver<'_> {
    fn start(&mut self, path: &str) {
        let Some(record) = self.expected.remove(path) else {
            self.fail(Refusal::new(
                errors::BAD_BACKUP,
                format!("The computer sent {path:?}, which was not asked for"),
            ));
            self.current = None;
            return;
        };
        let r = &self.records[record];
        let target = self.root.join(&r.domain).join(&r.relative_path);
        let mut incoming = Incoming {
            record,
            path: target.clone(),
            file: None,
            decryptor: None,
            written: 0,
            error: None,
        };
        if let Some(keys) = self.keys {
            match r
                .encryption_key
                .as_deref()
                .and_then(|k| keys.unwrap_file_key(k))
            {
                Some(key) => incoming.decryptor = Some(CbcDecryptor::new(&key)),
                None if r.size == 0 => {}
                None => incoming.error = Some("its encryption key cannot be unwrapped".into()),
            }
        }
        let opened = target
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| File::create(&target));
        match opened {
            Ok(file) => incoming.file = Some(file),
            Err(e) => {
                incoming
                    .error
                    .get_or_insert(format!("it cannot be written: {e}"));
            }
        }
        self.out.clear();
        self.current = Some(incoming);
    }

    fn data(&mut self, bytes: &[u8]) {
        let Some(incoming) = self.current.as_mut() else {
            return;
        };
        if incoming.error.is_some() {
            return;
        }
        let out = &mut self.out;
        match incoming.decryptor.take() {
            Some(mut decryptor) => {
                decryptor.update(bytes, &mut |plain| Self::write_plain(out, incoming, plain));
                incoming.decryptor = Some(decryptor);
            }
            None => Self::write_plain(out, incoming, bytes),
        }
    }

    fn end(&mut self, end: FileEnd) {
        let Some(mut incoming) = self.current.take() else {
            return;
        };
        let shown = self.shown(incoming.record);
        let expected = self.records[incoming.record].size;
        if let FileEnd::HostError(text) = end {
            // The host lists it in its Multi status reply too; that is what the phone reports.
            eprintln!("plugback-sim: restore: the computer could not send {shown}: {text}");
            let _ = fs::remove_file(&incoming.path);
            return;
        }
        if incoming.error.is_none()
            && let Some(decryptor) = incoming.decryptor.take()
        {
            let out = &mut self.out;
            if decryptor
                .finish(&mut |plain| Self::write_plain(out, &mut incoming, plain))
                .is_none()
            {
                incoming.error = Some("it cannot be decrypted: bad length or padding".into());
            }
        }
        if let Some(file) = incoming.file.as_mut()
            && !self.out.is_empty()
            && let Err(e) = file.write_all(&self.out)
        {
            incoming.error.get_or_insert(e.to_string());
        }
        self.out.clear();
        if incoming.error.is_none() && incoming.written != expected {
            incoming.error = Some(format!(
                "it holds {} bytes but the backup database says {expected}",
                incoming.written
            ));
        }
        if let Some(why) = incoming.error {
            let _ = fs::remove_file(&incoming.path);
            self.fail(Refusal::new(
                errors::BAD_BACKUP,
                format!("{shown} does not match the backup ({why})"),
            ));
        }
    }
}
