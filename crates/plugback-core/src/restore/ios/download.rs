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
use std::io::Read;

const BLOCK: usize = 32 * 1024;
/// Blocks gathered into one write: the file is read straight into place behind each
/// block's header, so its bytes are copied once on their way out, not twice, and the
/// connection sees a write per 256 KiB instead of per block.
const BATCH_BLOCKS: usize = 8;
/// Bytes sent zero-copy between two progress reports.
#[cfg(target_os = "linux")]
const ZERO_COPY_RUN: u64 = 1 << 20;
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
        let mut batch = vec![0u8; BATCH_BLOCKS * (5 + BLOCK)];
        for path in paths {
            let path = path.as_string().ok_or_else(|| {
                protocol("DLMessageDownloadFiles lists a file that is not a name")
            })?;
            if !is_description_file(path) {
                self.preparing = false;
            }
            self.send_file(wire, path, &mut failures, &mut batch)
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
        batch: &mut [u8],
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
        #[cfg(target_os = "linux")]
        if wire.zero_copy.is_some() {
            return self.send_zero_copy(wire, path, file, failures).await;
        }
        let mut file = file;
        loop {
            let filled = fill_batch(&mut file, batch);
            if filled.used > 0 {
                wire.write_all(&batch[..filled.used]).await?;
                self.tracker.add_bytes(filled.read);
            }
            match filled.end {
                None => {}
                Some(Ok(())) => break,
                Some(Err(e)) => {
                    let text = e.to_string();
                    self.backup_unreadable(path, &e);
                    return send_failure(wire, path, device_code::IO, &text, failures).await;
                }
            }
        }
        let mut end = 1u32.to_be_bytes().to_vec();
        end.push(CODE_SUCCESS);
        wire.write_all(&end).await?;
        self.tracker.end_file();
        Ok(())
    }

    /// The rest of [`Self::send_file`] over the zero-copy pipe: the file's bytes go from
    /// the disk cache to the connection without passing through Plugback.
    #[cfg(target_os = "linux")]
    async fn send_zero_copy(
        &mut self,
        wire: &mut Wire,
        path: &str,
        file: std::fs::File,
        failures: &mut Dictionary,
    ) -> Result<(), RestoreError> {
        let size = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(e) => {
                let text = e.to_string();
                self.backup_unreadable(path, &e);
                return send_failure(wire, path, device_code::IO, &text, failures).await;
            }
        };
        let mut offset = 0;
        while offset < size {
            let run = (size - offset).min(ZERO_COPY_RUN);
            match wire
                .send_blocks_zero_copy(&file, offset, run, BLOCK, CODE_FILE_DATA)
                .await
            {
                Ok(()) => {}
                Err(Err(connection)) => return Err(connection),
                Err(Ok(unreadable)) => {
                    // The phone was promised bytes that cannot come: nothing sent after
                    // this would be understood, so the restore ends here, naming the file.
                    self.backup_unreadable(path, &unreadable);
                    return Err(self
                        .unreadable
                        .take()
                        .unwrap_or_else(|| protocol("a backup file could not be read")));
                }
            }
            offset += run;
            self.tracker.add_bytes(run);
        }
        wire.write_all(&[0, 0, 0, 1, CODE_SUCCESS]).await?;
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

/// What [`fill_batch`] put in the batch.
struct Filled {
    /// Bytes of the batch to send.
    used: usize,
    /// The file's bytes among them.
    read: u64,
    /// Some once the file has ended: Ok at its end, Err when it could not be read
    /// (after the blocks read before that).
    end: Option<std::io::Result<()>>,
}

/// Fills `batch` with data blocks read from `file`, each behind its header, until the
/// batch has no room for another block or the file ends.
fn fill_batch(file: &mut dyn Read, batch: &mut [u8]) -> Filled {
    let mut filled = Filled {
        used: 0,
        read: 0,
        end: None,
    };
    while filled.used + 5 + BLOCK <= batch.len() {
        let at = filled.used;
        let n = match file.read(&mut batch[at + 5..at + 5 + BLOCK]) {
            Ok(0) => {
                filled.end = Some(Ok(()));
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                filled.end = Some(Err(e));
                break;
            }
        };
        // n + 1 fits in u32: a block is at most 32 KiB.
        batch[at..at + 4].copy_from_slice(&((n + 1) as u32).to_be_bytes());
        batch[at + 4] = CODE_FILE_DATA;
        filled.used += 5 + n;
        filled.read += n as u64;
    }
    filled
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes a read, then fails with `error` where set.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
        error_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.data.len() && self.error_at_end {
                return Err(std::io::Error::other("disk went away"));
            }
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Decodes DeviceLink data blocks back into the file's bytes.
    fn unframe(mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            assert_eq!(bytes[4], CODE_FILE_DATA);
            assert!(len - 1 <= BLOCK, "a block of {} bytes", len - 1);
            out.extend_from_slice(&bytes[5..4 + len]);
            bytes = &bytes[4 + len..];
        }
        out
    }

    fn send_all(reader: &mut Trickle) -> (Vec<u8>, Option<std::io::Error>) {
        let mut batch = vec![0u8; BATCH_BLOCKS * (5 + BLOCK)];
        let mut sent = Vec::new();
        loop {
            let filled = fill_batch(reader, &mut batch);
            assert_eq!(unframe(&batch[..filled.used]).len() as u64, filled.read);
            sent.extend_from_slice(&batch[..filled.used]);
            match filled.end {
                None => {}
                Some(Ok(())) => return (sent, None),
                Some(Err(e)) => return (sent, Some(e)),
            }
        }
    }

    #[test]
    fn files_of_every_size_and_short_reads_are_framed_whole() {
        let whole = BATCH_BLOCKS * BLOCK;
        for (size, step) in [
            (0, BLOCK),
            (1, BLOCK),
            (BLOCK, BLOCK),
            (whole, BLOCK),
            (whole + 1, BLOCK),
            (3 * whole + 77, 1000),
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut reader = Trickle {
                data: data.clone(),
                at: 0,
                step,
                error_at_end: false,
            };
            let (sent, error) = send_all(&mut reader);
            assert!(error.is_none());
            assert_eq!(unframe(&sent), data, "size {size}, reads of {step}");
        }
    }

    #[test]
    fn a_read_error_keeps_the_blocks_read_before_it() {
        let data = vec![7u8; BLOCK + 10];
        let mut reader = Trickle {
            data: data.clone(),
            at: 0,
            step: BLOCK,
            error_at_end: true,
        };
        let (sent, error) = send_all(&mut reader);
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("disk went away")
        );
        assert_eq!(unframe(&sent), data);
    }
}
