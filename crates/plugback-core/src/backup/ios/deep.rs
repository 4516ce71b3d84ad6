//! Deep verification: every file's data read through (and decrypted, in an encrypted
//! backup whose password is known), in parallel, through one reused buffer per worker
//! so that memory stays flat and throughput stays close to that of the disk.

use super::crypto::{self, DecryptError};
use super::files::{FileRecord, Layout};
use super::folder::READ_BUFFER;
use super::keybag::{UnlockedKeys, WrappedKey};
use super::record_checks::{ReadItem, blob_location, shown};
use crate::backup::BackupError;
use crate::backup::verify::{Problem, ProblemCode, ProgressReporter, VerifyOptions, VerifyReport};
use crate::cancel::CancelToken;
use rayon::prelude::*;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One file to read, with what its checks need.
struct Item<'a> {
    display: String,
    blob: String,
    /// Plaintext size the record declares.
    size: u64,
    disk_len: u64,
    /// The file's wrapped key and protection class, when its data is encrypted.
    key: Option<(&'a WrappedKey, Option<u32>)>,
}

/// The backup being read, as the quick checks left it.
#[derive(Clone, Copy)]
pub struct Backup<'a> {
    pub root: &'a Path,
    pub layout: Layout,
    /// Whether the data is stored encrypted.
    pub encrypted: bool,
    pub records: &'a [FileRecord],
    /// None when the password is missing or wrong (already reported): encrypted data is
    /// then read through without being decrypted.
    pub keys: Option<&'a UnlockedKeys>,
}

/// Reads every readable file; adds problems and the bytes read to `report`.
pub fn read_all(
    backup: &Backup<'_>,
    readable: &[ReadItem],
    options: &VerifyOptions,
    progress: &ProgressReporter<'_>,
    report: &mut VerifyReport,
) -> Result<(), BackupError> {
    let Backup {
        root,
        layout,
        encrypted,
        records,
        keys,
    } = *backup;
    let mut items: Vec<Item<'_>> = readable
        .iter()
        .filter_map(|read| {
            let record = records.get(read.record)?;
            let meta = record.meta.as_ref()?;
            Some(Item {
                display: shown(record),
                blob: blob_location(layout, &record.file_id),
                size: meta.size,
                disk_len: read.disk_len,
                key: meta
                    .encryption_key
                    .as_ref()
                    .filter(|_| encrypted)
                    .map(|k| (k, meta.protection_class)),
            })
        })
        .collect();
    // In folder order, the order the data most likely sits on disk.
    items.sort_unstable_by(|a, b| a.blob.cmp(&b.blob));
    let total: u64 = items.iter().map(|i| i.disk_len).sum();
    progress.set_totals(items.len() as u64, total);

    let problems = Mutex::new(Vec::new());
    let bytes_read = AtomicU64::new(0);
    let files_read = AtomicU64::new(0);
    let counter = |n: u64| {
        bytes_read.fetch_add(n, Ordering::Relaxed);
        progress.add_bytes(n);
    };
    items.par_iter().try_for_each_init(
        || vec![0u8; READ_BUFFER],
        |buf, item| {
            options.check_cancel()?;
            progress.set_current(&item.display);
            let outcome = read_one(root, item, keys, buf, &options.cancel, &counter)?;
            match outcome {
                None => {
                    files_read.fetch_add(1, Ordering::Relaxed);
                }
                Some(problem) => {
                    if let Ok(mut list) = problems.lock() {
                        list.push(problem);
                    }
                }
            }
            progress.file_done();
            Ok::<(), BackupError>(())
        },
    )?;
    report.stats.bytes_read = bytes_read.into_inner();
    report.stats.files_checked = files_read.into_inner();
    report.problems.extend(
        problems
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    Ok(())
}

/// Reads one file through. Ok(Some(problem)) for a damaged file; Err only when cancelled.
fn read_one(
    root: &Path,
    item: &Item<'_>,
    keys: Option<&UnlockedKeys>,
    buf: &mut [u8],
    cancel: &CancelToken,
    counter: &(dyn Fn(u64) + Sync),
) -> Result<Option<Problem>, BackupError> {
    let path = root.join(&item.blob);
    let unreadable = |e: io::Error| {
        Problem::error(
            ProblemCode::Unreadable,
            item.display.as_str(),
            format!(
                "Plugback could not read {} at {} ({e}). Check that the drive is connected and that your account can read the folder, then try again.",
                item.display, item.blob
            ),
        )
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) => return Ok(Some(unreadable(e))),
    };
    let reader = Counted {
        inner: file,
        cancel,
        counter,
    };

    // Without keys (no or wrong password, already reported) encrypted data is read
    // through as it is: that still proves it readable.
    let file_key = match (item.key, keys) {
        (Some((wrapped, class)), Some(keys)) => match keys.unwrap_file_key(wrapped, class) {
            Ok(key) => Some(key),
            Err(why) => {
                return Ok(Some(damaged(
                    item,
                    &format!("its key cannot be unwrapped: {why}"),
                )));
            }
        },
        _ => None,
    };
    let result = match &file_key {
        Some(key) => {
            crypto::decrypt_stream(key, reader, buf, |_| {}, |_| {}).map(ReadOutcome::Decrypted)
        }
        None => read_through(reader, buf).map(ReadOutcome::Plain),
    };
    if cancel.is_cancelled() {
        return Err(BackupError::Cancelled);
    }
    Ok(match result {
        Err(e) => Some(unreadable(e)),
        Ok(ReadOutcome::Plain(len)) if len == item.disk_len => None,
        // Plain data whose length changed since the folder was listed.
        Ok(ReadOutcome::Plain(len)) => Some(Problem::error(
            ProblemCode::BlobSizeMismatch,
            item.display.as_str(),
            format!(
                "{} changed while it was being checked: its data at {} now has {len} bytes instead of {}. Make sure nothing else is writing to the backup folder, then verify again.",
                item.display, item.blob, item.disk_len
            ),
        )),
        Ok(ReadOutcome::Decrypted(Ok(len))) if len == item.size => None,
        Ok(ReadOutcome::Decrypted(Ok(len))) => Some(damaged(
            item,
            &format!(
                "it decrypts to {len} bytes instead of the {} the file list declares",
                item.size
            ),
        )),
        Ok(ReadOutcome::Decrypted(Err(DecryptError::BadPadding))) => Some(damaged(
            item,
            "its last block does not decrypt to valid padding",
        )),
        Ok(ReadOutcome::Decrypted(Err(e))) => Some(damaged(item, &e.to_string())),
    })
}

/// What reading one file through gave.
enum ReadOutcome {
    /// Plain data: its length.
    Plain(u64),
    /// Encrypted data: the plaintext length, or why it does not decrypt.
    Decrypted(Result<u64, DecryptError>),
}

fn damaged(item: &Item<'_>, why: &str) -> Problem {
    Problem::error(
        ProblemCode::DecryptFailed,
        item.display.as_str(),
        format!(
            "{} does not decrypt cleanly although the password is right ({why}): its data at {} is damaged. Copy the backup again from its source; other files may still restore.",
            item.display, item.blob
        ),
    )
}

/// Reads to the end; returns the count.
fn read_through(mut reader: impl io::Read, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A reader that counts what it reads for progress and stops once cancelled.
struct Counted<'a, R> {
    inner: R,
    cancel: &'a CancelToken,
    counter: &'a (dyn Fn(u64) + Sync),
}

impl<R: io::Read> io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        (self.counter)(n as u64);
        Ok(n)
    }
}
