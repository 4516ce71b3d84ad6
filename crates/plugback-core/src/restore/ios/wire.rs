//! DeviceLink on the mobilebackup2 connection, read and written by Plugback itself: each
//! message a 4-byte big-endian length and a binary plist array whose first item names it,
//! and between messages the raw file stream.
//!
//! Why not idevice's `MobileBackup2Client` for this: its readers trust the length a phone
//! announces and allocate it (a hostile phone announcing 4 GiB would exhaust memory before
//! a byte arrives), and nothing in it bounds a wait. Here every message has a size limit, is
//! parsed by Plugback's bounded plist reader, and every read and write ends on a deadline or
//! on the cancel token.

use super::super::RestoreError;
use crate::backup::ios::plist_read::plist_value;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::ios::ZeroCopyPipe;
use crate::device::ios::wait::cancelled;
use idevice::ReadWrite;
use plist::Value;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(super) const PEER: &str = "the iPhone (mobilebackup2)";
/// DeviceLink's placeholder for an empty parameter.
pub(super) const EMPTY_PARAMETER: &str = "___EmptyParameterString___";
/// The largest message accepted from a phone: a DownloadFiles batch of thousands of paths
/// is a few hundred kilobytes.
const MAX_MESSAGE: u32 = 16 << 20;
/// Values per message at most (a batch of paths is one value per path).
const MAX_MESSAGE_VALUES: usize = 1_000_000;

/// One message from the phone: its name and every item (the name first).
#[derive(Debug)]
pub(super) struct DlMessage {
    pub name: String,
    pub items: Vec<Value>,
}

impl DlMessage {
    pub(super) fn item(&self, index: usize) -> Option<&Value> {
        self.items.get(index)
    }
}

/// The mobilebackup2 connection.
pub(super) struct Wire {
    stream: Box<dyn ReadWrite>,
    cancel: CancelToken,
    /// The longest wait for one read or write once a message is under way.
    pub stall_limit: Duration,
    /// Sends file bytes without copying them through Plugback, where possible.
    pub zero_copy: Option<ZeroCopyPipe>,
}

impl Wire {
    pub(super) fn new(
        stream: Box<dyn ReadWrite>,
        stall_limit: Duration,
        cancel: &CancelToken,
    ) -> Wire {
        Wire {
            stream,
            cancel: cancel.clone(),
            stall_limit,
            zero_copy: None,
        }
    }

    /// Waits up to `wait` for the next message to start, then reads it whole.
    pub(super) async fn receive(&mut self, wait: Duration) -> Result<DlMessage, RestoreError> {
        let mut header = [0u8; 4];
        let stream = &mut self.stream;
        within(wait, &self.cancel, stream.read_exact(&mut header)).await?;
        let len = u32::from_be_bytes(header);
        if len > MAX_MESSAGE {
            return Err(protocol(format!(
                "the phone announced a {len}-byte message (at most {MAX_MESSAGE} are accepted)"
            )));
        }
        let mut body = vec![0u8; len as usize];
        within(self.stall_limit, &self.cancel, stream.read_exact(&mut body)).await?;
        let value = plist_value(&body, MAX_MESSAGE_VALUES)
            .map_err(|why| protocol(format!("a message that is not a property list: {why}")))?;
        let Value::Array(items) = value else {
            return Err(protocol("a DeviceLink message that is not an array"));
        };
        let Some(name) = items.first().and_then(Value::as_string).map(str::to_owned) else {
            return Err(protocol(
                "a DeviceLink message that does not start with its name",
            ));
        };
        Ok(DlMessage { name, items })
    }

    /// Sends one message (a binary plist array).
    pub(super) async fn send(&mut self, items: Vec<Value>) -> Result<(), RestoreError> {
        self.send_value(&Value::Array(items)).await
    }

    /// Sends one message already built; the encoded copy is wiped once sent, as it may hold
    /// the backup's password (the Restore request).
    pub(super) async fn send_value(&mut self, message: &Value) -> Result<(), RestoreError> {
        let mut frame = encode(message)?;
        let sent = self.write_all(&frame).await;
        zeroize::Zeroize::zeroize(&mut frame);
        sent
    }

    /// `["DLMessageStatusResponse", code, message, detail]`, the answer to every request
    /// of the phone but the last.
    pub(super) async fn send_status(
        &mut self,
        code: i64,
        message: Option<&str>,
        detail: Value,
    ) -> Result<(), RestoreError> {
        self.send(vec![
            Value::String("DLMessageStatusResponse".into()),
            Value::Integer(code.into()),
            Value::String(message.unwrap_or(EMPTY_PARAMETER).to_owned()),
            detail,
        ])
        .await
    }

    /// `["DLMessageProcessMessage", dict]`: a mobilebackup2 request.
    pub(super) async fn send_request(
        &mut self,
        dict: plist::Dictionary,
    ) -> Result<(), RestoreError> {
        self.send(vec![
            Value::String("DLMessageProcessMessage".into()),
            Value::Dictionary(dict),
        ])
        .await
    }

    /// `["DLMessageDisconnect", …]`: the session is over.
    pub(super) async fn say_goodbye(&mut self) -> Result<(), RestoreError> {
        self.send(vec![
            Value::String("DLMessageDisconnect".into()),
            Value::String(EMPTY_PARAMETER.into()),
        ])
        .await
    }

    /// Raw bytes (the file stream), bounded by the stall limit.
    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> Result<(), RestoreError> {
        let stream = &mut self.stream;
        within(self.stall_limit, &self.cancel, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await
    }

    /// Raw bytes from the phone (an upload), bounded by the stall limit.
    pub(super) async fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), RestoreError> {
        let stream = &mut self.stream;
        within(self.stall_limit, &self.cancel, stream.read_exact(buf))
            .await
            .map(drop)
    }

    /// `len` bytes of `file` from `offset` as DeviceLink data blocks of at most `block`
    /// bytes, headers and all, without copying the bytes through Plugback; bounded by the
    /// stall limit. Err(Ok(error)) when the file could not be read: a block's header may be
    /// out already, so the connection is out of step and the restore cannot go on.
    #[cfg(target_os = "linux")]
    pub(super) async fn send_blocks_zero_copy(
        &self,
        file: &std::fs::File,
        offset: u64,
        len: u64,
        block: usize,
        code: u8,
    ) -> Result<(), Result<io::Error, RestoreError>> {
        use crate::device::ios::zero_copy::FileOrSocket;
        let Some(pipe) = &self.zero_copy else {
            return Err(Err(protocol("no zero-copy pipe on this connection")));
        };
        let sent = within(self.stall_limit, &self.cancel, async {
            let mut at = offset;
            while at < offset + len {
                let n = usize::try_from(offset + len - at).map_or(block, |left| left.min(block));
                let mut header = [0u8; 5];
                // n + 1 fits in u32: a block is at most 32 KiB.
                header[..4].copy_from_slice(&((n + 1) as u32).to_be_bytes());
                header[4] = code;
                pipe.send_header(&header).await?;
                if let Err(failed) = pipe.send_file(file, at, n).await {
                    return Ok(Err(failed));
                }
                at += n as u64;
            }
            Ok(Ok(()))
        })
        .await
        .map_err(Err)?;
        match sent {
            Ok(()) => Ok(()),
            Err(FileOrSocket::File(e)) => Err(Ok(e)),
            Err(FileOrSocket::Socket(e)) => Err(Err(lost(e))),
        }
    }

    pub(super) async fn read_u32(&mut self) -> Result<u32, RestoreError> {
        let mut bytes = [0u8; 4];
        self.read_exact(&mut bytes).await?;
        Ok(u32::from_be_bytes(bytes))
    }
}

fn encode(message: &Value) -> Result<Vec<u8>, RestoreError> {
    let mut frame = vec![0u8; 4];
    message
        .to_writer_binary(&mut frame)
        .map_err(|e| protocol(format!("cannot encode a message: {e}")))?;
    let len =
        u32::try_from(frame.len() - 4).map_err(|_| protocol("a message too large to send"))?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// Runs one transfer for at most `limit`: silence beyond it is a stall, a broken
/// connection a lost phone, and the cancel token ends it at once.
async fn within<T>(
    limit: Duration,
    cancel: &CancelToken,
    work: impl Future<Output = io::Result<T>>,
) -> Result<T, RestoreError> {
    if cancel.is_cancelled() {
        return Err(RestoreError::Cancelled);
    }
    tokio::select! {
        result = work => result.map_err(lost),
        _ = tokio::time::sleep(limit) => Err(RestoreError::Stalled { after: limit }),
        _ = cancelled(cancel) => Err(RestoreError::Cancelled),
    }
}

/// A connection that breaks mid-restore means the phone went away (unplugged, rebooted,
/// the cable dropped): usbmuxd closes every connection of a phone that detaches.
pub(super) fn lost(error: io::Error) -> RestoreError {
    let detail = match error.kind() {
        io::ErrorKind::UnexpectedEof => "the phone closed the connection".to_owned(),
        _ => format!("the connection to the phone broke: {error}"),
    };
    RestoreError::PhoneLost { detail }
}

pub(super) fn protocol(detail: impl Into<String>) -> RestoreError {
    RestoreError::Device(DeviceError::Protocol {
        peer: PEER.to_owned(),
        detail: detail.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_message_round_trips_and_an_oversized_one_is_refused_unread() {
        runtime().block_on(async {
            let (ours, mut phone) = tokio::io::duplex(1 << 16);
            let mut wire = Wire::new(Box::new(ours), Duration::from_secs(5), &CancelToken::new());
            let frame = encode(&Value::Array(vec![
                Value::String("DLMessageDownloadFiles".into()),
                Value::Array(vec![Value::String("SRC/Manifest.db".into())]),
                Value::Real(12.5),
                Value::Integer((-13i64).into()),
            ]))
            .unwrap();
            phone.write_all(&frame).await.unwrap();
            let message = wire.receive(Duration::from_secs(5)).await.unwrap();
            assert_eq!(message.name, "DLMessageDownloadFiles");
            assert_eq!(message.item(2).and_then(Value::as_real), Some(12.5));
            assert_eq!(
                message.item(3).and_then(Value::as_signed_integer),
                Some(-13)
            );

            phone
                .write_all(&0xFFFF_FF00u32.to_be_bytes())
                .await
                .unwrap();
            let err = wire.receive(Duration::from_secs(5)).await.unwrap_err();
            assert_eq!(err.code(), "device-protocol", "{err}");
        });
    }

    #[test]
    fn silence_is_a_stall_a_close_is_a_lost_phone_and_cancel_ends_the_wait() {
        runtime().block_on(async {
            let (ours, phone) = tokio::io::duplex(64);
            let mut wire = Wire::new(Box::new(ours), Duration::from_secs(5), &CancelToken::new());
            let err = wire.receive(Duration::from_millis(50)).await.unwrap_err();
            assert!(matches!(err, RestoreError::Stalled { .. }), "{err}");
            drop(phone);
            let err = wire.receive(Duration::from_secs(5)).await.unwrap_err();
            assert!(matches!(err, RestoreError::PhoneLost { .. }), "{err}");

            let (ours, _phone) = tokio::io::duplex(64);
            let cancel = CancelToken::new();
            let mut wire = Wire::new(Box::new(ours), Duration::from_secs(5), &cancel);
            cancel.cancel();
            let err = wire.receive(Duration::from_secs(60)).await.unwrap_err();
            assert!(matches!(err, RestoreError::Cancelled), "{err}");
        });
    }
}
