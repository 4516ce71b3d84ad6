//! DLMessageDownloadFiles, the bulk of a restore: the phone names files under the backup
//! root, and each is streamed back in DeviceLink's framing:
//!
//! ```text
//! u32be len(path) ‖ path                     the phone's path, echoed
//! u32be (n+1) ‖ 0x0C ‖ n bytes               data, in blocks of 32 KiB
//! u32be 1 ‖ 0x00                             the file is complete
//!    or u32be (len+1) ‖ 0x06 ‖ message       it could not be sent
//! ... and u32be 0 after the last file, then a status reply: 0, or -13 "Multi status"
//! with {path: {DLFileErrorCode, DLFileErrorString}} for the files that failed.
//! ```
//!
//! 32 KiB blocks, as every client sends them: larger ones push the phone's backup agent past
//! its memory limit on big files.

use super::super::RestoreError;
use super::devicelink::{CODE_ERROR_LOCAL, CODE_FILE_DATA, CODE_SUCCESS, Exchange, empty};
use super::file_server::{Refusal, device_code};
use super::wire::{DlMessage, Wire, protocol};
use plist::{Dictionary, Value};
use std::io::{BufReader, Read};

const BLOCK: usize = 32 * 1024;
/// Reads from disk in larger pieces than the blocks sent.
const READ_BUFFER: usize = 1 << 20;
/// The backup's description files: the phone asks for them first, then prepares.
const DESCRIPTION_FILES: [&str; 4] = [
    "Status.plist",
    "Manifest.plist",
    "Manifest.db",
    "Info.plist",
];

impl Exchange<'_> {
    pub(super) async fn download(
        &mut self,
        wire: &mut Wire,
        message: &DlMessage,
    ) -> Result<(), RestoreError> {
        let paths = message
            .item(1)
            .and_then(Value::as_array)
            .ok_or_else(|| protocol("DLMessageDownloadFiles lists no files"))?;
        let mut failures = Dictionary::new();
        let mut block = vec![0u8; 5 + BLOCK];
        for path in paths {
            let path = path.as_string().ok_or_else(|| {
                protocol("DLMessageDownloadFiles lists a file that is not a name")
            })?;
            if !is_description_file(path) {
                self.preparing = false;
            }
            self.send_file(wire, path, &mut failures, &mut block)
                .await?;
        }
        wire.write_all(&0u32.to_be_bytes()).await?;
        if failures.is_empty() {
            wire.send_status(0, None, empty()).await
        } else {
            wire.send_status(
                MULTI_STATUS,
                Some("Multi status"),
                Value::Dictionary(failures),
            )
            .await
        }
    }

    async fn send_file(
        &mut self,
        wire: &mut Wire,
        path: &str,
        failures: &mut Dictionary,
        block: &mut [u8],
    ) -> Result<(), RestoreError> {
        let mut head = Vec::with_capacity(4 + path.len());
        head.extend_from_slice(&length(path.len())?.to_be_bytes());
        head.extend_from_slice(path.as_bytes());
        wire.write_all(&head).await?;
        let file = match self.folder.open_file(path) {
            Ok(file) => file,
            Err(refusal) => {
                let (code, text) = (refusal.device_code(), refusal.describe());
                // The phone can do without Info.plist (the computer's own notes).
                if let Refusal::Unavailable { error, .. } = &refusal
                    && !path.ends_with("/Info.plist")
                {
                    self.backup_unreadable(path, error);
                }
                self.refuse_path("DLMessageDownloadFiles", path, refusal);
                return send_failure(wire, path, code, &text, failures).await;
            }
        };
        self.tracker.start_file(path);
        let mut reader = BufReader::with_capacity(READ_BUFFER, file);
        loop {
            let n = match reader.read(&mut block[5..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let text = e.to_string();
                    self.backup_unreadable(path, &e);
                    return send_failure(wire, path, device_code::IO, &text, failures).await;
                }
            };
            block[..4].copy_from_slice(&length(n + 1)?.to_be_bytes());
            block[4] = CODE_FILE_DATA;
            wire.write_all(&block[..5 + n]).await?;
            self.tracker.add_bytes(n as u64);
        }
        let mut end = 1u32.to_be_bytes().to_vec();
        end.push(CODE_SUCCESS);
        wire.write_all(&end).await?;
        self.tracker.end_file();
        Ok(())
    }

    /// A file the phone asked for, inside the backup, cannot be read: told at once, and
    /// the first one kept to explain a failed restore.
    fn backup_unreadable(&mut self, path: &str, error: &std::io::Error) {
        let inside = path.split_once('/').map_or(path, |(_, rest)| rest);
        let error = RestoreError::Backup {
            path: self.folder.root().join(inside),
            source: std::io::Error::new(error.kind(), error.to_string()),
        };
        self.sink
            .note("restore-backup-unreadable", error.to_string());
        self.unreadable.get_or_insert(error);
    }
}

/// The status DeviceLink uses for a reply that lists failures per file.
const MULTI_STATUS: i64 = -13;

/// Ends a file with an error block and lists it for the status reply.
async fn send_failure(
    wire: &mut Wire,
    path: &str,
    code: i64,
    text: &str,
    failures: &mut Dictionary,
) -> Result<(), RestoreError> {
    let mut block = length(text.len() + 1)?.to_be_bytes().to_vec();
    block.push(CODE_ERROR_LOCAL);
    block.extend_from_slice(text.as_bytes());
    wire.write_all(&block).await?;
    let mut entry = Dictionary::new();
    entry.insert("DLFileErrorCode".into(), Value::Integer(code.into()));
    entry.insert("DLFileErrorString".into(), Value::String(text.to_owned()));
    failures.insert(path.to_owned(), Value::Dictionary(entry));
    Ok(())
}

fn length(n: usize) -> Result<u32, RestoreError> {
    u32::try_from(n).map_err(|_| protocol("a name or block too large for DeviceLink"))
}

fn is_description_file(path: &str) -> bool {
    path.rsplit_once('/')
        .is_some_and(|(_, name)| DESCRIPTION_FILES.contains(&name))
}
