//! STAT, STA2/LST2, LIST and LIS2: what the host learns about the phone's files.

use super::errno::{Errno, errno_of, errno_of_storage};
use super::wire::{Conn, ID_DENT_V1, ID_DENT_V2, ID_DONE, ID_LSTAT_V1};
use crate::android::Storage;
use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::path::Path;

/// The fields of `struct stat` the sync protocol carries.
#[derive(Clone, Copy, Default)]
struct StatFields {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    size: u64,
    atime: i64,
    mtime: i64,
    ctime: i64,
}

#[cfg(unix)]
fn fields(meta: &Metadata) -> StatFields {
    use std::os::unix::fs::MetadataExt;
    StatFields {
        dev: meta.dev(),
        ino: meta.ino(),
        mode: meta.mode(),
        nlink: meta.nlink() as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.size(),
        atime: meta.atime(),
        mtime: meta.mtime(),
        ctime: meta.ctime(),
    }
}

#[cfg(not(unix))]
fn fields(meta: &Metadata) -> StatFields {
    let seconds = |time: io::Result<std::time::SystemTime>| {
        time.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64)
    };
    let kind = meta.file_type();
    let mode = if kind.is_dir() {
        0o040_775
    } else if kind.is_symlink() {
        0o120_777
    } else {
        0o100_664
    };
    StatFields {
        mode,
        nlink: 1,
        size: meta.len(),
        atime: seconds(meta.accessed()),
        mtime: seconds(meta.modified()),
        ctime: seconds(meta.modified()),
        ..StatFields::default()
    }
}

/// `stat`/`lstat` of a phone path, confined to the phone's storage.
fn stat_path(storage: &Storage, phone_path: &str, follow: bool) -> Result<StatFields, Errno> {
    let host = storage
        .resolve(phone_path)
        .map_err(|e| errno_of_storage(&e))?;
    let meta = if follow {
        std::fs::metadata(&host)
    } else {
        std::fs::symlink_metadata(&host)
    };
    meta.map(|m| fields(&m)).map_err(|e| errno_of(&e))
}

/// STAT (v1, lstat): mode, size and mtime as u32s; all zero when the path does not exist.
pub(super) fn lstat_v1<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    storage: &Storage,
    phone_path: &str,
) -> io::Result<()> {
    let st = stat_path(storage, phone_path, false).unwrap_or_default();
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&ID_LSTAT_V1.to_le_bytes());
    out.extend_from_slice(&st.mode.to_le_bytes());
    out.extend_from_slice(&(st.size as u32).to_le_bytes());
    out.extend_from_slice(&(st.mtime as u32).to_le_bytes());
    conn.send(&out)?;
    conn.flush()
}

/// STA2 (stat) or LST2 (lstat): the 72-byte v2 stat, with an errno on failure.
pub(super) fn stat_v2<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    storage: &Storage,
    id: u32,
    phone_path: &str,
    follow: bool,
) -> io::Result<()> {
    let (error, st) = match stat_path(storage, phone_path, follow) {
        Ok(st) => (0, st),
        Err(errno) => (errno.wire(), StatFields::default()),
    };
    let mut out = Vec::with_capacity(72);
    push_v2(&mut out, id, error, &st);
    conn.send(&out)?;
    conn.flush()
}

/// The v2 stat body shared by STA2/LST2 replies and DNT2 entries.
fn push_v2(out: &mut Vec<u8>, id: u32, error: u32, st: &StatFields) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&error.to_le_bytes());
    out.extend_from_slice(&st.dev.to_le_bytes());
    out.extend_from_slice(&st.ino.to_le_bytes());
    out.extend_from_slice(&st.mode.to_le_bytes());
    out.extend_from_slice(&st.nlink.to_le_bytes());
    out.extend_from_slice(&st.uid.to_le_bytes());
    out.extend_from_slice(&st.gid.to_le_bytes());
    out.extend_from_slice(&st.size.to_le_bytes());
    out.extend_from_slice(&st.atime.to_le_bytes());
    out.extend_from_slice(&st.mtime.to_le_bytes());
    out.extend_from_slice(&st.ctime.to_le_bytes());
}

fn push_dent(out: &mut Vec<u8>, v2: bool, st: Result<StatFields, Errno>, name: &[u8]) {
    if v2 {
        let (error, st) = match st {
            Ok(st) => (0, st),
            Err(errno) => (errno.wire(), StatFields::default()),
        };
        push_v2(out, ID_DENT_V2, error, &st);
    } else {
        let st = st.unwrap_or_default();
        out.extend_from_slice(&ID_DENT_V1.to_le_bytes());
        out.extend_from_slice(&st.mode.to_le_bytes());
        out.extend_from_slice(&(st.size as u32).to_le_bytes());
        out.extend_from_slice(&(st.mtime as u32).to_le_bytes());
    }
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name);
}

/// LIST (v1) or LIS2 (v2): one entry per directory member, `.` and `..` included as
/// readdir returns them, then a DONE the size of an entry. A path that cannot be listed
/// gets just the DONE. v1 leaves out entries it cannot lstat; v2 sends them with the error.
pub(super) fn list<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    storage: &Storage,
    phone_path: &str,
    v2: bool,
) -> io::Result<()> {
    let mut out = Vec::new();
    if let Ok(dir) = storage.resolve(phone_path)
        && let Ok(entries) = std::fs::read_dir(&dir)
    {
        let own = lstat_host(&dir);
        // At the storage root, `..` must not describe a folder outside it.
        let parent = if dir == storage.root() {
            own
        } else {
            dir.parent().map_or(own, lstat_host)
        };
        for (name, st) in [(&b"."[..], own), (&b".."[..], parent)] {
            push_dent(&mut out, v2, st, name);
        }
        for entry in entries.flatten() {
            let st = entry
                .metadata()
                .map(|m| fields(&m))
                .map_err(|e| errno_of(&e));
            if !v2 && st.is_err() {
                continue;
            }
            push_dent(&mut out, v2, st, &name_bytes(&entry.file_name()));
            if out.len() >= 256 * 1024 {
                conn.send(&out)?;
                out.clear();
            }
        }
    }
    // DONE is a zeroed entry of the same size, carrying no name.
    let done_size = if v2 { 72 + 4 } else { 20 };
    let start = out.len();
    out.resize(start + done_size, 0);
    out[start..start + 4].copy_from_slice(&ID_DONE.to_le_bytes());
    conn.send(&out)?;
    conn.flush()
}

fn lstat_host(path: &Path) -> Result<StatFields, Errno> {
    std::fs::symlink_metadata(path)
        .map(|m| fields(&m))
        .map_err(|e| errno_of(&e))
}

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}
