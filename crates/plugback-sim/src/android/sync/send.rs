//! SEND (v1): a file from the host. The bytes go to a hidden partial file next to the
//! target, renamed over it when DONE arrives, so a push cut short never leaves half a
//! file under the real name.

use super::SyncError;
use super::errno::{Errno, errno_of, errno_of_storage};
use super::space::Space;
use super::wire::{Conn, CopyError, ID_DATA, ID_DONE, SYNC_DATA_MAX};
use crate::android::AndroidPhone;
use std::fs::{File, FileTimes, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
/// Holds many DATA chunks, so the file sees few large writes.
const FILE_BUFFER: usize = 1024 * 1024;

/// Handles one SEND whose request carried `spec` ("<path>,<mode>").
pub(super) fn send_v1<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    phone: &AndroidPhone,
    space: &mut Option<Space>,
    spec: &[u8],
) -> Result<(), SyncError> {
    // adbd answers these two without reading the DATA that follows, then hangs up.
    let Some(comma) = spec.iter().rposition(|&b| b == b',') else {
        return refuse_now(conn, spec, "missing , in ID_SEND_V1");
    };
    let Some(mode) = parse_mode(&spec[comma + 1..]) else {
        return refuse_now(conn, spec, "bad mode");
    };
    let Ok(phone_path) = std::str::from_utf8(&spec[..comma]) else {
        let reason = format!("couldn't create file: {}", Errno::Inval.text());
        return refuse_after_data(conn, spec, &reason, 0);
    };
    if mode & S_IFMT == S_IFLNK {
        // Shared storage cannot hold symbolic links, and the simulator keeps none.
        let reason = format!("symlink failed: {}", Errno::Perm.text());
        return refuse_after_data(conn, spec, &reason, 0);
    }
    let target = match prepare_target(phone, phone_path) {
        Ok(target) => target,
        Err(reason) => return refuse_after_data(conn, spec, &reason, 0),
    };
    let space = space.get_or_insert_with(|| {
        let root = phone.storage().root();
        Space::measure(
            phone.config().free_bytes,
            &[root.join("sdcard"), root.join("data/local/tmp")],
        )
    });
    // adbd unlinks the file it replaces before writing, so its space counts as free.
    let old_len = std::fs::symlink_metadata(&target)
        .ok()
        .filter(|m| m.is_file())
        .map_or(0, |m| m.len());
    let room = space.available() + old_len;
    let mut partial = match Partial::create(&target) {
        Ok(partial) => partial,
        Err(errno) => {
            let reason = format!("couldn't create file: {}", errno.text());
            return refuse_after_data(conn, spec, &reason, 0);
        }
    };

    loop {
        let (id, value) = conn.expect_header()?;
        match id {
            ID_DATA => {
                let len = value as usize;
                if len > SYNC_DATA_MAX {
                    conn.send_fail("oversize data message")?;
                    return Err(SyncError::Protocol(format!(
                        "DATA of {len} bytes (the limit is {SYNC_DATA_MAX})"
                    )));
                }
                if partial.written + value as u64 > room {
                    let reason = format!("write failed: {}", Errno::NoSpc.text());
                    return refuse_after_data(conn, spec, &reason, len);
                }
                match conn.copy_to(len, &mut partial.file) {
                    Ok(()) => partial.written += value as u64,
                    Err(CopyError::Stream(err)) => return Err(err.into()),
                    Err(CopyError::Sink { err, left }) => {
                        let reason = format!("write failed: {}", errno_of(&err).text());
                        return refuse_after_data(conn, spec, &reason, left);
                    }
                }
            }
            ID_DONE => {
                let written = partial.written;
                if let Err(errno) =
                    partial.commit(&target, value, file_permissions(phone_path, mode))
                {
                    let reason = format!("couldn't create file: {}", errno.text());
                    conn.send_fail(&reason)?;
                    return Err(refused(spec, reason));
                }
                space.stored(written, old_len);
                conn.send_okay()?;
                return Ok(());
            }
            other => {
                conn.send_fail("invalid data message")?;
                return Err(SyncError::Protocol(format!(
                    "{} where DATA or DONE was expected",
                    super::wire::id_name(other)
                )));
            }
        }
    }
}

/// The mode after "0": octal with a leading 0, hex with 0x, else decimal (`strtoul(s, 0)`).
fn parse_mode(text: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

/// The permissions the pushed file gets. Shared storage shows every file as rw-rw----
/// whatever was asked; elsewhere adbd copies the owner's bits to group and others.
fn file_permissions(phone_path: &str, mode: u32) -> u32 {
    let shared = ["/sdcard", "/storage/"]
        .iter()
        .any(|p| phone_path.starts_with(p));
    if shared {
        return 0o660;
    }
    let mut perm = mode & 0o777;
    perm |= (perm >> 3) & 0o070;
    perm |= (perm >> 3) & 0o007;
    perm
}

/// Checks that `phone_path` may be written and creates its missing parent folders
/// (`fixed_push_mkdir`). Err holds the FAIL text.
fn prepare_target(phone: &AndroidPhone, phone_path: &str) -> Result<PathBuf, String> {
    let storage = phone.storage();
    let cannot = |errno: Errno| format!("couldn't create file: {}", errno.text());
    let target = storage
        .resolve(phone_path)
        .map_err(|err| match errno_of_storage(&err) {
            // A path above `/` lands on the read-only system partition.
            Errno::NoEnt if phone_path.starts_with('/') => cannot(Errno::RoFs),
            errno => cannot(errno),
        })?;
    if !storage.is_writable(phone_path) {
        return Err(cannot(Errno::RoFs));
    }
    if std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
        return Err(cannot(Errno::IsDir));
    }
    let parent = target.parent().ok_or_else(|| cannot(Errno::IsDir))?;
    match std::fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(cannot(Errno::NotDir)),
        Err(_) => std::fs::create_dir_all(parent)
            .map_err(|err| format!("secure_mkdirs() failed: {}", errno_of(&err).text()))?,
    }
    // Links inside the storage may lead from shared storage to read-only places.
    let real_parent = parent
        .canonicalize()
        .map_err(|err| cannot(errno_of(&err)))?;
    let writable_roots = [
        storage.root().join("sdcard"),
        storage.root().join("data/local/tmp"),
    ];
    let inside = writable_roots
        .iter()
        .filter_map(|root| root.canonicalize().ok())
        .any(|root| real_parent.starts_with(root));
    if !inside {
        return Err(cannot(Errno::Access));
    }
    Ok(target)
}

fn refused(spec: &[u8], reason: String) -> SyncError {
    SyncError::Refused {
        request: "SEND",
        path: String::from_utf8_lossy(spec).into_owned(),
        reason,
    }
}

/// FAIL, and the service ends without reading further.
fn refuse_now<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    spec: &[u8],
    reason: &str,
) -> Result<(), SyncError> {
    conn.send_fail(reason)?;
    Err(refused(spec, reason.to_string()))
}

/// FAIL, then read and drop the file's remaining DATA up to its DONE, as adbd does so the
/// host sees the FAIL rather than a reset; `pending` bytes of the current DATA are unread.
fn refuse_after_data<S: Read + Write>(
    conn: &mut Conn<'_, S>,
    spec: &[u8],
    reason: &str,
    pending: usize,
) -> Result<(), SyncError> {
    conn.send_fail(reason)?;
    conn.skip(pending)?;
    loop {
        let (id, len) = conn.expect_header()?;
        if id != ID_DATA || len as usize > SYNC_DATA_MAX {
            break;
        }
        conn.skip(len as usize)?;
    }
    Err(refused(spec, reason.to_string()))
}

/// The hidden file a push writes into; removed unless committed.
struct Partial {
    path: PathBuf,
    file: BufWriter<File>,
    written: u64,
    committed: bool,
}

impl Partial {
    fn create(target: &Path) -> Result<Partial, Errno> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let parent = target.parent().ok_or(Errno::IsDir)?;
        let name = format!(
            ".plugback-partial-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = parent.join(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|err| errno_of(&err))?;
        Ok(Partial {
            path,
            file: BufWriter::with_capacity(FILE_BUFFER, file),
            written: 0,
            committed: false,
        })
    }

    /// Flushes, stamps the mtime from DONE and the permissions, and renames over `target`.
    fn commit(mut self, target: &Path, mtime: u32, permissions: u32) -> Result<(), Errno> {
        self.file.flush().map_err(|err| errno_of(&err))?;
        let file = self.file.get_ref();
        let time = UNIX_EPOCH + Duration::from_secs(u64::from(mtime));
        file.set_times(FileTimes::new().set_modified(time).set_accessed(time))
            .map_err(|err| errno_of(&err))?;
        set_permissions(file, permissions);
        std::fs::rename(&self.path, target).map_err(|err| errno_of(&err))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(unix)]
fn set_permissions(file: &File, permissions: u32) {
    use std::os::unix::fs::PermissionsExt;
    // As adbd, a file system that refuses chmod does not fail the push.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(permissions));
}

#[cfg(not(unix))]
fn set_permissions(_file: &File, _permissions: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_like_strtoul_base_0() {
        assert_eq!(parse_mode(b"33188"), Some(0o100_644));
        assert_eq!(parse_mode(b"0644"), Some(0o644));
        assert_eq!(parse_mode(b"0x1a4"), Some(0o644));
        assert_eq!(parse_mode(b"0"), Some(0));
        assert_eq!(parse_mode(b"abc"), None);
        assert_eq!(parse_mode(b"099"), None);
    }

    #[test]
    fn permissions_copy_the_owner_bits_outside_shared_storage() {
        assert_eq!(file_permissions("/data/local/tmp/a", 0o100_600), 0o666);
        assert_eq!(file_permissions("/data/local/tmp/a", 0o100_755), 0o777);
        assert_eq!(file_permissions("/sdcard/a", 0o100_755), 0o660);
    }
}
