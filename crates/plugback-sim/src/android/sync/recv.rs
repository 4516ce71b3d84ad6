//! RECV (v1): a file to the host, in DATA chunks of at most 64 KiB, then DONE.

use super::SyncError;
use super::errno::{errno_of, errno_of_storage};
use super::wire::{Conn, ID_DATA, ID_DONE, SYNC_DATA_MAX, message};
use crate::android::Storage;
use std::fs::File;
use std::io::{self, Read, Write};

pub(super) fn recv_v1<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    storage: &Storage,
    phone_path: &str,
) -> Result<(), SyncError> {
    let opened = storage
        .resolve(phone_path)
        .map_err(|err| errno_of_storage(&err))
        .and_then(|host| File::open(host).map_err(|err| errno_of(&err)));
    let mut file = match opened {
        Ok(file) => file,
        Err(errno) => return refuse(conn, phone_path, format!("open failed: {}", errno.text())),
    };
    // One buffer for the DATA header and its payload: one write per chunk.
    let mut chunk = vec![0u8; 8 + SYNC_DATA_MAX];
    loop {
        let n = match fill(&mut file, &mut chunk[8..]) {
            Ok(n) => n,
            Err(err) => {
                let reason = format!("read failed: {}", errno_of(&err).text());
                return refuse(conn, phone_path, reason);
            }
        };
        if n == 0 {
            break;
        }
        chunk[..8].copy_from_slice(&message(ID_DATA, n as u32));
        conn.send(&chunk[..8 + n])?;
    }
    conn.send(&message(ID_DONE, 0))?;
    conn.flush()?;
    Ok(())
}

/// Reads until `buf` is full or the file ends.
fn fill(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

/// FAIL; like adbd, the service then ends.
fn refuse<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    phone_path: &str,
    reason: String,
) -> Result<(), SyncError> {
    conn.send_fail(&reason)?;
    Err(SyncError::Refused {
        request: "RECV",
        path: phone_path.to_string(),
        reason,
    })
}
