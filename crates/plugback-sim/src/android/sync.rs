//! The `sync:` service: adb's file transfer protocol (push, pull, ls, stat), device side.
//!
//! Requests are `{u32 id, u32 length}` + a path of at most 1024 bytes; replies follow
//! adbd's file_sync_service. Every path goes through [`crate::android::Storage`], so the
//! host reaches only the phone's storage folder, and writes only its shared storage and
//! /data/local/tmp. A failed SEND or RECV answers FAIL and ends the service, as adbd's
//! does; so do unknown requests and over-long paths.

mod errno;
mod recv;
mod send;
mod space;
mod stat;
mod wire;

use crate::android::AndroidPhone;
use std::io::{self, Read, Write};
use wire::{
    Conn, ID_LIST_V1, ID_LIST_V2, ID_LSTAT_V1, ID_LSTAT_V2, ID_QUIT, ID_RECV_V1, ID_SEND_V1,
    ID_STAT_V2, MAX_PATH,
};

/// Why a sync service ended other than by QUIT or the host closing between requests.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("sync stream failed: {0}")]
    Stream(#[from] io::Error),
    #[error("request path of {0} bytes (the limit is 1024)")]
    PathTooLong(u32),
    #[error("unknown sync request {0}")]
    UnknownRequest(String),
    #[error("{0}")]
    Protocol(String),
    #[error("{request} {path:?} refused: {reason}")]
    Refused {
        request: &'static str,
        path: String,
        reason: String,
    },
}

/// Serves one `sync:` stream until QUIT, the host closing, or an error (after which the
/// caller closes the stream). Errors have been answered with FAIL where adbd answers.
pub fn serve<S: Read + Write>(stream: &mut S, phone: &AndroidPhone) -> Result<(), SyncError> {
    let mut conn = Conn::new(stream);
    let mut space = None;
    loop {
        let Some((id, path_len)) = conn.read_header()? else {
            return Ok(());
        };
        if path_len as usize > MAX_PATH {
            conn.send_fail("path too long")?;
            return Err(SyncError::PathTooLong(path_len));
        }
        let raw_path = conn.read_vec(path_len as usize)?;
        // Paths are bytes on the wire; one that is not UTF-8 names nothing here.
        let path = String::from_utf8_lossy(&raw_path);
        let storage = phone.storage();
        match id {
            ID_LSTAT_V1 => stat::lstat_v1(&mut conn, storage, &path)?,
            ID_STAT_V2 => stat::stat_v2(&mut conn, storage, id, &path, true)?,
            ID_LSTAT_V2 => stat::stat_v2(&mut conn, storage, id, &path, false)?,
            ID_LIST_V1 => stat::list(&mut conn, storage, &path, false)?,
            ID_LIST_V2 => stat::list(&mut conn, storage, &path, true)?,
            ID_SEND_V1 => send::send_v1(&mut conn, phone, &mut space, &raw_path)?,
            ID_RECV_V1 => recv::recv_v1(&mut conn, storage, &path)?,
            ID_QUIT => return Ok(()),
            other => {
                conn.send_fail(&format!("unknown command {other:08x}"))?;
                return Err(SyncError::UnknownRequest(wire::id_name(other)));
            }
        }
    }
}
