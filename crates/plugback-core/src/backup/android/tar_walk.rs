//! Walks the tar archive inside an Android backup to its very end, reading every entry's
//! contents so that a cut-short archive cannot pass, and noting names that would reach
//! outside a restore folder.
//!
//! The tar crate reads headers; it runs in raw mode and the long-name and pax records are
//! read here with a size limit, because the crate would otherwise hold a record of any size
//! the archive claims in memory.

use super::ab_stream::find_fault;
use crate::backup::BackupError;
use crate::backup::safe_path;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use tar::EntryType;

const BLOCK: u64 = 512;
/// Long names and pax records are at most a few kilobytes in any real archive.
const MAX_EXTENSION: u64 = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    HardLink,
    /// Devices, fifos and types Android never writes (the raw type byte).
    Other(u8),
}

/// One member of the archive, as its header describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarEntryInfo {
    /// The name as stored (pax and GNU long names applied), never normalised; bytes that
    /// are not UTF-8 are shown as U+FFFD.
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    /// Seconds since the Unix epoch.
    pub mtime: u64,
    pub link_target: Option<String>,
    /// Why the name (or link target) would reach outside a restore folder, if it would.
    pub unsafe_reason: Option<&'static str>,
}

impl TarEntryInfo {
    /// The app the entry belongs to: `<package>` in `apps/<package>/…`.
    pub fn package(&self) -> Option<&str> {
        let rest = self.name.strip_prefix("apps/")?;
        let package = rest.split('/').next().unwrap_or_default();
        (!package.is_empty()).then_some(package)
    }
}

/// What a walk found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TarSummary {
    /// Members of the archive (extension records excluded).
    pub entries: u64,
    pub files: u64,
    /// Bytes of file contents.
    pub bytes: u64,
    /// Packages with entries under `apps/`.
    pub apps: BTreeSet<String>,
    /// Whether the walk reached the archive's end marker (false when a visitor stopped it).
    pub complete: bool,
}

pub enum Flow {
    Continue,
    Stop,
}

/// Told about each entry before its contents are read, and about contents as they are read.
pub trait TarVisitor {
    fn entry(&mut self, entry: &TarEntryInfo) -> Result<Flow, BackupError>;
    /// `bytes` more contents were read; an error (cancellation) stops the walk.
    fn data(&mut self, bytes: u64) -> Result<(), BackupError> {
        let _ = bytes;
        Ok(())
    }
}

impl<F: FnMut(&TarEntryInfo) -> Result<Flow, BackupError>> TarVisitor for F {
    fn entry(&mut self, entry: &TarEntryInfo) -> Result<Flow, BackupError> {
        self(entry)
    }
}

/// The reader under the tar crate: counts bytes and remembers reaching the end, so that a
/// tar error at the end of input reads as "cut short" rather than "malformed".
struct TarInput<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
    ended: Rc<Cell<bool>>,
}

impl<R: Read> Read for TarInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.set(true);
        }
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

/// Walks the whole archive in `reader` (the stream of the backup at `path`, named in
/// errors), then reads whatever follows its end marker so that the layers below check
/// their own endings.
pub fn walk<R: Read>(
    reader: R,
    path: &Path,
    visitor: &mut impl TarVisitor,
) -> Result<TarSummary, BackupError> {
    let consumed = Rc::new(Cell::new(0));
    let ended = Rc::new(Cell::new(false));
    let input = TarInput {
        inner: reader,
        consumed: Rc::clone(&consumed),
        ended: Rc::clone(&ended),
    };
    let mut walker = Walker {
        path: path.to_path_buf(),
        ended: Rc::clone(&ended),
        summary: TarSummary::default(),
    };
    let mut archive = tar::Archive::new(input);
    // Where the last member's contents ended: the end marker must follow.
    let mut data_end = 0;
    {
        let entries = archive.entries().map_err(|err| walker.fail(err))?;
        let mut pending = Extensions::default();
        for entry in entries.raw(true) {
            let mut entry = entry.map_err(|err| walker.fail(err))?;
            if walker.read_extension(&mut entry, &mut pending)? {
                data_end = consumed.get();
                continue;
            }
            let info = walker.describe(&entry, std::mem::take(&mut pending))?;
            if let Flow::Stop = visitor.entry(&info)? {
                return Ok(walker.summary);
            }
            walker.read_contents(&mut entry, &info, visitor)?;
            data_end = consumed.get();
        }
        if pending.any() {
            return Err(
                walker.invalid("it ends with a long-name or pax record that describes no entry")
            );
        }
    }
    // The tar crate stops at the first zero block, having read the padding and that block.
    if consumed.get() - data_end < BLOCK {
        return Err(BackupError::AbTruncated { path: walker.path });
    }
    walker.summary.complete = true;
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|err| walker.fail(err))?;
    Ok(walker.summary)
}

/// Names and sizes that pax and GNU records set for the next member.
#[derive(Default)]
struct Extensions {
    name: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

impl Extensions {
    fn any(&self) -> bool {
        self.name.is_some() || self.link.is_some() || self.size.is_some()
    }
}

struct Walker {
    path: PathBuf,
    ended: Rc<Cell<bool>>,
    summary: TarSummary,
}

impl Walker {
    fn invalid(&self, detail: impl Into<String>) -> BackupError {
        BackupError::TarInvalid {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }

    /// The backup error for a read error. A fault below the tar layer says what it is; a
    /// tar error once the input has run out means the archive was cut short.
    fn fail(&self, err: io::Error) -> BackupError {
        match find_fault(&err) {
            Some(fault) => fault.to_backup_error(&self.path),
            None if self.ended.get() => BackupError::AbTruncated {
                path: self.path.clone(),
            },
            None => self.invalid(err.to_string()),
        }
    }

    /// Reads a GNU long-name or pax record into `pending`; false for an ordinary member.
    fn read_extension<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        pending: &mut Extensions,
    ) -> Result<bool, BackupError> {
        let kind = entry.header().entry_type();
        if kind.is_gnu_sparse() {
            return Err(
                self.invalid("it holds a GNU sparse file, which Android backups never contain")
            );
        }
        let is_extension = kind.is_gnu_longname()
            || kind.is_gnu_longlink()
            || kind.is_pax_local_extensions()
            || kind.is_pax_global_extensions();
        if !is_extension {
            return Ok(false);
        }
        let mut record = Vec::new();
        (&mut *entry)
            .take(MAX_EXTENSION + 1)
            .read_to_end(&mut record)
            .map_err(|err| self.fail(err))?;
        if record.len() as u64 > MAX_EXTENSION {
            return Err(self.invalid("a long-name or pax record is larger than 1 MiB"));
        }
        if (record.len() as u64) < entry.header().entry_size().unwrap_or(0) {
            return Err(BackupError::AbTruncated {
                path: self.path.clone(),
            });
        }
        if kind.is_gnu_longname() || kind.is_gnu_longlink() {
            while record.last() == Some(&0) {
                record.pop();
            }
            let slot = if kind.is_gnu_longname() {
                &mut pending.name
            } else {
                &mut pending.link
            };
            if slot.replace(record).is_some() {
                return Err(self.invalid("two long-name records describe the same entry"));
            }
        } else if kind.is_pax_local_extensions() {
            for extension in tar::PaxExtensions::new(&record) {
                let extension = extension
                    .map_err(|err| self.invalid(format!("a pax record is malformed ({err})")))?;
                match extension.key_bytes() {
                    b"path" => pending.name = Some(extension.value_bytes().to_vec()),
                    b"linkpath" => pending.link = Some(extension.value_bytes().to_vec()),
                    b"size" => {
                        let size = extension
                            .value()
                            .ok()
                            .and_then(|v| v.parse::<u64>().ok())
                            .ok_or_else(|| self.invalid("a pax size record is not a number"))?;
                        pending.size = Some(size);
                    }
                    _ => {}
                }
            }
        }
        Ok(true)
    }

    fn describe<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        extensions: Extensions,
    ) -> Result<TarEntryInfo, BackupError> {
        let header = entry.header();
        let bad_field = |field: &str, err: io::Error| {
            self.invalid(format!("an entry's {field} field is malformed ({err})"))
        };
        let size = header.entry_size().map_err(|e| bad_field("size", e))?;
        if extensions.size.is_some_and(|pax| pax != size) {
            return Err(self.invalid(
                "a pax size record disagrees with its entry's header, which Plugback does not read",
            ));
        }
        let mode = header.mode().map_err(|e| bad_field("mode", e))?;
        let mtime = header.mtime().map_err(|e| bad_field("mtime", e))?;
        let kind = match header.entry_type() {
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Directory,
            EntryType::Symlink => EntryKind::Symlink,
            EntryType::Link => EntryKind::HardLink,
            other => EntryKind::Other(other.as_byte()),
        };
        let name = extensions
            .name
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let link = match kind {
            EntryKind::Symlink | EntryKind::HardLink => extensions
                .link
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned())),
            _ => None,
        };
        let unsafe_reason = safe_path::tar_name_problem(&name).or_else(|| {
            // A hard link names another member; a symlink is resolved from its own folder.
            link.as_deref().and_then(safe_path::tar_link_problem)
        });
        Ok(TarEntryInfo {
            name: String::from_utf8_lossy(&name).into_owned(),
            kind,
            size,
            mode,
            mtime,
            link_target: link.map(|l| String::from_utf8_lossy(&l).into_owned()),
            unsafe_reason,
        })
    }

    fn read_contents<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        info: &TarEntryInfo,
        visitor: &mut impl TarVisitor,
    ) -> Result<(), BackupError> {
        let mut buf = vec![0u8; CHUNK];
        let mut read = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(self.fail(err)),
            };
            read += n as u64;
            visitor.data(n as u64)?;
        }
        if read < info.size {
            return Err(BackupError::AbTruncated {
                path: self.path.clone(),
            });
        }
        self.summary.entries += 1;
        if info.kind == EntryKind::File {
            self.summary.files += 1;
            self.summary.bytes += read;
        }
        if let Some(package) = info.package()
            && !self.summary.apps.contains(package)
        {
            self.summary.apps.insert(package.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o600);
            header.set_entry_type(EntryType::Regular);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn walk_all(bytes: &[u8]) -> Result<(TarSummary, Vec<TarEntryInfo>), BackupError> {
        let mut seen = Vec::new();
        let summary = walk(bytes, Path::new("x.ab"), &mut |e: &TarEntryInfo| {
            seen.push(e.clone());
            Ok(Flow::Continue)
        })?;
        Ok((summary, seen))
    }

    #[test]
    fn counts_entries_apps_and_bytes() {
        let long = format!("apps/com.example.b/f/{}", "n".repeat(200));
        let tar = tar_of(&[
            ("apps/com.example.a/_manifest", b"manifest"),
            ("apps/com.example.a/f/notes.txt", b"hello"),
            (&long, b"xyz"),
        ]);
        let (summary, seen) = walk_all(&tar).unwrap();
        assert_eq!(summary.entries, 3);
        assert_eq!(summary.files, 3);
        assert_eq!(summary.bytes, 16);
        assert!(summary.complete);
        assert_eq!(
            summary.apps.iter().collect::<Vec<_>>(),
            ["com.example.a", "com.example.b"]
        );
        assert_eq!(seen[2].name, long);
        assert_eq!(seen[1].mode, 0o600);
        assert!(seen.iter().all(|e| e.unsafe_reason.is_none()));
    }

    #[test]
    fn unsafe_names_are_reported_not_normalised() {
        let mut raw = Vec::new();
        for name in ["apps/../../etc/x", "/abs/x", "apps\\x"] {
            let mut header = tar::Header::new_old();
            header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
            header.set_size(1);
            header.set_mode(0o644);
            header.set_cksum();
            raw.extend_from_slice(header.as_bytes());
            raw.extend_from_slice(&[b'a'; 512]);
        }
        raw.extend_from_slice(&[0; 1024]);
        let (_, seen) = walk_all(&raw).unwrap();
        let names: Vec<_> = seen
            .iter()
            .map(|e| (e.name.as_str(), e.unsafe_reason.is_some()))
            .collect();
        assert_eq!(
            names,
            [
                ("apps/../../etc/x", true),
                ("/abs/x", true),
                ("apps\\x", true)
            ]
        );
    }

    #[test]
    fn cut_short_archives_are_truncated() {
        let tar = tar_of(&[("apps/a/f/x", &[7u8; 2000])]);
        // Inside the contents, right after them, inside the padding, before the end marker.
        for cut in [100, 512 + 1000, 512 + 2000, 512 + 2048] {
            let err = walk_all(&tar[..cut]).unwrap_err();
            assert_eq!(err.code(), "ab-truncated", "cut at {cut}: {err}");
        }
        assert!(walk_all(&tar[..512 + 2048 + 512]).is_ok());
        assert_eq!(walk_all(&[]).unwrap_err().code(), "ab-truncated");
    }

    #[test]
    fn damaged_headers_are_tar_invalid() {
        let mut tar = tar_of(&[("apps/a/f/x", b"data")]);
        tar[10] ^= 0x55; // inside the name: the header checksum no longer matches
        assert_eq!(walk_all(&tar).unwrap_err().code(), "tar-invalid");
    }

    #[test]
    fn oversized_long_names_are_refused_without_reading_them_into_memory() {
        let mut header = tar::Header::new_gnu();
        header.as_mut_bytes()[..13].copy_from_slice(b"././@LongLink");
        header.set_entry_type(EntryType::GNULongName);
        header.set_size(1 << 40);
        header.set_cksum();
        let mut input = header.as_bytes().to_vec();
        input.extend_from_slice(&[b'a'; 4096]);
        let endless = input.as_slice().chain(io::repeat(b'a'));
        let err = walk(endless, Path::new("x.ab"), &mut |_: &TarEntryInfo| {
            Ok(Flow::Continue)
        })
        .unwrap_err();
        assert_eq!(err.code(), "tar-invalid");
    }

    #[test]
    fn a_visitor_can_stop_early() {
        let tar = tar_of(&[("a", b"1"), ("b", b"2")]);
        let mut count = 0;
        let summary = walk(
            tar.as_slice(),
            Path::new("x.ab"),
            &mut |_: &TarEntryInfo| {
                count += 1;
                Ok(Flow::Stop)
            },
        )
        .unwrap();
        assert_eq!(count, 1);
        assert!(!summary.complete);
    }
}
