//! The restore's message loop: after the Restore request the phone drives, asking for
//! files, free space and folder listings, until its final answer. Each request gets its
//! answer from the read-only file server; requests that would change this computer's
//! files are refused.
//!
//! Why refuse rather than serve them from a scratch folder: a restore only reads (every
//! restore libimobiledevice and pymobiledevice3 log shows only DownloadFiles, free space
//! and listings), and a phone that asks to create, move or remove files during a restore
//! is broken or hostile. Pretending to succeed in a scratch folder would hide that; a
//! refusal is logged, shown, and lets the phone decide.

use super::super::{Phase, RestoreError, Sink};
use super::RefusedRequest;
use super::file_server::{BackupFolder, EntryKind, Refusal, device_code};
use super::handshake::error_code;
use super::options::RestoreTimeouts;
use super::progress::Tracker;
use super::wire::{DlMessage, Wire, protocol};
use idevice::mobilebackup2::{BackupDelegate, FsBackupDelegate};
use plist::{Dictionary, Value};

/// What DeviceLink's file-transfer stream says after each block's length.
pub(super) const CODE_SUCCESS: u8 = 0x00;
pub(super) const CODE_ERROR_LOCAL: u8 = 0x06;
pub(super) const CODE_FILE_DATA: u8 = 0x0C;
/// An upload's names are paths on the phone (libimobiledevice refuses longer ones).
const MAX_UPLOAD_NAME: u32 = 4096;
/// An upload's blocks are 64 KiB or so; anything near this is not DeviceLink.
const MAX_UPLOAD_BLOCK: u32 = 32 << 20;
const NOT_CHANGED: &str = "Plugback does not change the backup during a restore";

/// One restore's exchange with the phone, and what it learnt on the way.
pub(super) struct Exchange<'a> {
    pub folder: &'a BackupFolder,
    pub tracker: Tracker,
    pub sink: Sink,
    pub timeouts: RestoreTimeouts,
    /// Requests refused, in order.
    pub refused: Vec<RefusedRequest>,
    /// The first file of the backup that could not be read.
    pub unreadable: Option<RestoreError>,
    /// The phone is still preparing: it has not asked for a file beyond the description
    /// files yet, and may be silent for minutes.
    pub(super) preparing: bool,
    transferring: bool,
}

impl<'a> Exchange<'a> {
    pub(super) fn new(
        folder: &'a BackupFolder,
        tracker: Tracker,
        sink: &Sink,
        timeouts: RestoreTimeouts,
    ) -> Exchange<'a> {
        Exchange {
            folder,
            tracker,
            sink: sink.clone(),
            timeouts,
            refused: Vec::new(),
            unreadable: None,
            preparing: true,
            transferring: false,
        }
    }

    /// Answers the phone until its final answer: Ok when it says the restore succeeded.
    pub(super) async fn run(&mut self, wire: &mut Wire) -> Result<(), RestoreError> {
        loop {
            let wait = if self.preparing {
                self.timeouts.preparing
            } else {
                self.timeouts.stall_limit
            };
            let message = wire.receive(wait).await?;
            self.note_phone_progress(&message);
            match message.name.as_str() {
                "DLMessageDownloadFiles" => {
                    if !self.transferring {
                        self.transferring = true;
                        self.sink.phase(Phase::Transferring);
                    }
                    self.download(wire, &message).await?;
                }
                "DLMessageGetFreeDiskSpace" => {
                    let free = FsBackupDelegate.get_free_disk_space(self.folder.root());
                    wire.send_status(0, None, Value::Integer(free.into()))
                        .await?;
                }
                "DLContentsOfDirectory" => self.list(wire, &message).await?,
                "DLMessageUploadFiles" => {
                    drain_upload(wire).await?;
                    self.refuse_change(&message, "");
                    wire.send_status(device_code::GENERIC, Some(NOT_CHANGED), empty())
                        .await?;
                }
                "DLMessageCreateDirectory"
                | "DLMessageMoveFiles"
                | "DLMessageMoveItems"
                | "DLMessageRemoveFiles"
                | "DLMessageRemoveItems"
                | "DLMessageCopyItem" => {
                    let target = first_path(&message);
                    self.refuse_change(&message, &target);
                    wire.send_status(device_code::GENERIC, Some(NOT_CHANGED), empty())
                        .await?;
                }
                "DLMessageProcessMessage" => return final_answer(&message),
                "DLMessageDisconnect" => {
                    return Err(protocol(
                        "the phone ended the restore without saying how it went",
                    ));
                }
                other => {
                    tracing::warn!(
                        "mobilebackup2: the phone sent {other}, which Plugback does not know"
                    );
                    wire.send_status(
                        device_code::GENERIC,
                        Some("Operation not supported"),
                        empty(),
                    )
                    .await?;
                }
            }
        }
    }

    /// The phone's overall percentage, where the message carries one.
    fn note_phone_progress(&mut self, message: &DlMessage) {
        let index = match message.name.as_str() {
            "DLMessageUploadFiles" => 2,
            "DLMessageDownloadFiles"
            | "DLMessageMoveFiles"
            | "DLMessageMoveItems"
            | "DLMessageRemoveFiles"
            | "DLMessageRemoveItems" => 3,
            _ => return,
        };
        if let Some(percent) = message.item(index).and_then(Value::as_real) {
            self.tracker.phone_percent(percent);
        }
    }

    /// DLContentsOfDirectory: a read-only listing of a folder of the backup.
    async fn list(&mut self, wire: &mut Wire, message: &DlMessage) -> Result<(), RestoreError> {
        let path = message
            .item(1)
            .and_then(Value::as_string)
            .ok_or_else(|| protocol("DLContentsOfDirectory names no folder"))?;
        match self.folder.list(path) {
            Ok(entries) => {
                let mut listing = Dictionary::new();
                for entry in entries {
                    let mut meta = Dictionary::new();
                    let kind = match entry.kind {
                        EntryKind::Directory => "DLFileTypeDirectory",
                        EntryKind::Regular => "DLFileTypeRegular",
                        EntryKind::Other => "DLFileTypeUnknown",
                    };
                    meta.insert("DLFileType".into(), Value::String(kind.into()));
                    meta.insert("DLFileSize".into(), Value::Integer(entry.size.into()));
                    if let Some(modified) = entry.modified {
                        meta.insert(
                            "DLFileModificationDate".into(),
                            Value::Date(modified.into()),
                        );
                    }
                    listing.insert(entry.name, Value::Dictionary(meta));
                }
                wire.send_status(0, None, Value::Dictionary(listing)).await
            }
            // A folder that is not there is an empty listing, as libimobiledevice answers.
            Err(Refusal::Unavailable { .. }) => wire.send_status(0, None, empty()).await,
            Err(refusal) => {
                let text = refusal.describe();
                self.refuse_path(&message.name, path, refusal);
                wire.send_status(device_code::GENERIC, Some(&text), empty())
                    .await
            }
        }
    }

    /// Records a path refused because it is unsafe, and tells the person.
    pub(super) fn refuse_path(&mut self, request: &str, path: &str, refusal: Refusal) {
        let Refusal::Unsafe(why) = refusal else {
            return;
        };
        let shown = shorten(path);
        let error = RestoreError::UnsafePath {
            path: shown.clone(),
            why: why.to_owned(),
        };
        self.sink.note("restore-unsafe-path", error.to_string());
        tracing::warn!("restore: {error}");
        self.refused.push(RefusedRequest {
            request: request.to_owned(),
            path: shown,
            why: why.to_owned(),
            unsafe_path: true,
        });
    }

    fn refuse_change(&mut self, message: &DlMessage, path: &str) {
        let shown = shorten(path);
        self.sink.note(
            "restore-request-refused",
            format!(
                "The phone asked to change files on this computer ({} {shown:?}); {}.",
                message.name,
                NOT_CHANGED.to_lowercase()
            ),
        );
        self.refused.push(RefusedRequest {
            request: message.name.clone(),
            path: shown,
            why: NOT_CHANGED.to_owned(),
            unsafe_path: false,
        });
    }
}

/// The phone's final answer: ErrorCode 0 (or none, as libimobiledevice reads it) is
/// success; anything else is the phone's refusal, with its own words.
fn final_answer(message: &DlMessage) -> Result<(), RestoreError> {
    let dict = message
        .item(1)
        .and_then(Value::as_dictionary)
        .ok_or_else(|| protocol("the phone's final answer carries no dictionary"))?;
    match error_code(dict) {
        None | Some(0) => Ok(()),
        Some(code) => Err(RestoreError::PhoneRefused {
            code,
            message: dict
                .get("ErrorDescription")
                .and_then(Value::as_string)
                .unwrap_or("the phone gave no reason")
                .to_owned(),
        }),
    }
}

/// Reads and discards an upload, so the stream stays in step; nothing is written.
async fn drain_upload(wire: &mut Wire) -> Result<(), RestoreError> {
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let dir_len = wire.read_u32().await?;
        if dir_len == 0 {
            return Ok(());
        }
        skip_name(wire, dir_len, &mut scratch).await?;
        let file_len = wire.read_u32().await?;
        skip_name(wire, file_len, &mut scratch).await?;
        loop {
            let block = wire.read_u32().await?;
            if block == 0 || block > MAX_UPLOAD_BLOCK {
                return Err(protocol(format!("an upload block of {block} bytes")));
            }
            let mut code = [0u8; 1];
            wire.read_exact(&mut code).await?;
            skip(wire, u64::from(block - 1), &mut scratch).await?;
            if code[0] != CODE_FILE_DATA {
                break;
            }
        }
    }
}

async fn skip_name(wire: &mut Wire, len: u32, scratch: &mut [u8]) -> Result<(), RestoreError> {
    if len > MAX_UPLOAD_NAME {
        return Err(protocol(format!("an upload names a {len}-byte path")));
    }
    skip(wire, u64::from(len), scratch).await
}

async fn skip(wire: &mut Wire, mut n: u64, scratch: &mut [u8]) -> Result<(), RestoreError> {
    while n > 0 {
        let take = n.min(scratch.len() as u64) as usize;
        wire.read_exact(&mut scratch[..take]).await?;
        n -= take as u64;
    }
    Ok(())
}

/// The first path a change request names, for the log.
fn first_path(message: &DlMessage) -> String {
    match message.item(1) {
        Some(Value::String(path)) => path.clone(),
        Some(Value::Array(paths)) => paths
            .first()
            .and_then(Value::as_string)
            .unwrap_or_default()
            .to_owned(),
        Some(Value::Dictionary(moves)) => moves.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// A phone's path as shown to a person: very long ones are cut, with their length.
pub(super) fn shorten(path: &str) -> String {
    const SHOWN: usize = 64;
    if path.chars().count() <= 200 {
        return path.to_owned();
    }
    let head: String = path.chars().take(SHOWN).collect();
    format!("{head}… ({} bytes)", path.len())
}

pub(super) fn empty() -> Value {
    Value::Dictionary(Dictionary::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_read_to_its_end_and_the_stream_stays_in_step() {
        use crate::cancel::CancelToken;
        use std::time::Duration;
        use tokio::io::AsyncWriteExt;
        let mut stream = Vec::new();
        for name in [&b"Snapshot"[..], b"Snapshot/Status.plist"] {
            stream.extend_from_slice(&(name.len() as u32).to_be_bytes());
            stream.extend_from_slice(name);
        }
        stream.extend_from_slice(&6u32.to_be_bytes());
        stream.push(CODE_FILE_DATA);
        stream.extend_from_slice(b"hello");
        stream.extend_from_slice(&1u32.to_be_bytes());
        stream.push(CODE_SUCCESS);
        stream.extend_from_slice(&0u32.to_be_bytes());
        let mut next = Vec::new();
        Value::Array(vec![Value::String("DLMessageGetFreeDiskSpace".into())])
            .to_writer_binary(&mut next)
            .unwrap();
        stream.extend_from_slice(&(next.len() as u32).to_be_bytes());
        stream.extend_from_slice(&next);

        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let (ours, mut phone) = tokio::io::duplex(1 << 16);
                phone.write_all(&stream).await.unwrap();
                let cancel = CancelToken::new();
                let mut wire = Wire::new(Box::new(ours), Duration::from_secs(5), &cancel);
                drain_upload(&mut wire).await.unwrap();
                let message = wire.receive(Duration::from_secs(5)).await.unwrap();
                assert_eq!(message.name, "DLMessageGetFreeDiskSpace");
            });
    }

    #[test]
    fn long_paths_are_shortened_on_a_character_boundary() {
        assert_eq!(shorten("SRC/ab/ab01"), "SRC/ab/ab01");
        let long = format!("SRC/{}", "é".repeat(300));
        let shown = shorten(&long);
        assert!(shown.starts_with("SRC/éé"));
        assert!(shown.ends_with(&format!("({} bytes)", long.len())));
    }

    #[test]
    fn the_final_answer_maps_to_success_or_the_phones_refusal() {
        let answer = |dict: Dictionary| DlMessage {
            name: "DLMessageProcessMessage".into(),
            items: vec![
                Value::String("DLMessageProcessMessage".into()),
                Value::Dictionary(dict),
            ],
        };
        let mut ok = Dictionary::new();
        ok.insert("MessageName".into(), Value::String("Response".into()));
        ok.insert("ErrorCode".into(), Value::Integer(0u64.into()));
        assert!(final_answer(&answer(ok)).is_ok());
        let mut refused = Dictionary::new();
        refused.insert("ErrorCode".into(), Value::Integer(211u64.into()));
        refused.insert(
            "ErrorDescription".into(),
            Value::String("Find My iPhone must be disabled before restoring".into()),
        );
        let err = final_answer(&answer(refused)).unwrap_err();
        assert_eq!(err.code(), "mb-211");
        assert!(err.to_string().contains("Find My"));
    }
}
