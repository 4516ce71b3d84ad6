//! The tar stream inside an `.ab`, read as Android's TarBackupReader reads it: ustar
//! headers (prefix + name), pax `x` headers for long or non-ASCII paths and big sizes,
//! and only regular files (`0`) and directories (`5`). A zero block, or a type byte of
//! NUL, ends the archive.

use super::ArchiveError;
use std::io::{self, Read};

const BLOCK: usize = 512;
/// No phone holds a file this large; a bigger size is garbage (and would overflow).
const MAX_ENTRY: u64 = 1 << 50;
/// Pax headers carry a path and a size; anything larger is not from a phone.
const MAX_PAX: u64 = 64 * 1024;
/// File data moves through a buffer this size.
const COPY_BUFFER: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub name: String,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
}

pub(super) struct TarReader<R> {
    inner: R,
    consumed: u64,
    scratch: Vec<u8>,
}

impl<R: Read> TarReader<R> {
    pub(super) fn new(inner: R) -> Self {
        TarReader {
            inner,
            consumed: 0,
            scratch: vec![0u8; COPY_BUFFER],
        }
    }

    /// Bytes of the tar stream read so far.
    pub(super) fn consumed(&self) -> u64 {
        self.consumed
    }

    pub(super) fn into_inner(self) -> R {
        self.inner
    }

    fn read_exact(&mut self, out: &mut [u8]) -> Result<(), ArchiveError> {
        self.inner
            .read_exact(out)
            .map_err(ArchiveError::from_read)?;
        self.consumed += out.len() as u64;
        Ok(())
    }

    /// The next file or directory; None at the end of the archive.
    pub(super) fn next_entry(&mut self) -> Result<Option<Entry>, ArchiveError> {
        let mut pax_path = None;
        let mut pax_size = None;
        loop {
            let mut block = [0u8; BLOCK];
            self.read_exact(&mut block)?;
            if block.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            verify_checksum(&block)?;
            let mut name = c_string(&block[0..100]);
            if &block[257..262] == b"ustar" {
                let prefix = c_string(&block[345..500]);
                if !prefix.is_empty() {
                    name = format!("{prefix}/{name}");
                }
            }
            let size = numeric(&block[124..136], "size")?;
            let mode = numeric(&block[100..108], "mode")? as u32;
            let mtime = numeric(&block[136..148], "mtime")? as i64;
            let kind = match block[156] {
                b'0' => Kind::File,
                b'5' => Kind::Dir,
                b'x' => {
                    if size > MAX_PAX {
                        return Err(ArchiveError::Corrupt(format!(
                            "a pax header of {size} bytes"
                        )));
                    }
                    let mut data = vec![0u8; padded(size) as usize];
                    self.read_exact(&mut data)?;
                    data.truncate(size as usize);
                    let (path, new_size) = parse_pax(&data)?;
                    pax_path = path.or(pax_path);
                    pax_size = new_size.or(pax_size);
                    continue;
                }
                // Android takes a NUL type as the end of the archive.
                0 => return Ok(None),
                other => {
                    return Err(ArchiveError::Corrupt(format!(
                        "unsupported tar entry type {:?} for {name:?}",
                        char::from(other)
                    )));
                }
            };
            let size = pax_size.unwrap_or(size);
            if size > MAX_ENTRY {
                return Err(ArchiveError::Corrupt(format!(
                    "{name:?} claims {size} bytes"
                )));
            }
            if kind == Kind::Dir && size != 0 {
                return Err(ArchiveError::Corrupt(format!(
                    "directory {name:?} with a size"
                )));
            }
            return Ok(Some(Entry {
                name: pax_path.unwrap_or(name),
                kind,
                size,
                mode,
                mtime,
            }));
        }
    }

    /// Hands the entry's `size` bytes to `sink`, then skips the padding. A failing sink
    /// does not stop the reading, so the stream stays in step; its first error is returned.
    pub(super) fn read_data(
        &mut self,
        size: u64,
        mut sink: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Result<Option<io::Error>, ArchiveError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut left = padded(size);
        let mut data_left = size;
        let mut failure = None;
        let result = loop {
            if left == 0 {
                break Ok(failure);
            }
            let n = (left.min(scratch.len() as u64)) as usize;
            if let Err(err) = self.read_exact(&mut scratch[..n]) {
                break Err(err);
            }
            left -= n as u64;
            let data = (data_left.min(n as u64)) as usize;
            data_left -= data as u64;
            if data > 0 && failure.is_none() {
                failure = sink(&scratch[..data]).err();
            }
        };
        self.scratch = scratch;
        result
    }
}

/// `size` rounded up to whole blocks.
fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal field (spaces and NULs around it), or GNU base-256 when the top bit is set.
fn numeric(field: &[u8], what: &str) -> Result<u64, ArchiveError> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut value: u64 = u64::from(field[0] & 0x3f);
        for &b in &field[1..] {
            value = value
                .checked_mul(256)
                .map(|v| v | u64::from(b))
                .ok_or_else(|| ArchiveError::Corrupt(format!("tar {what} overflows")))?;
        }
        return Ok(value);
    }
    let text: String = field
        .iter()
        .map(|&b| b as char)
        .filter(|c| *c != '\0')
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8)
        .map_err(|_| ArchiveError::Corrupt(format!("tar {what} {text:?} is not octal")))
}

/// The header checksum: the byte sum with the checksum field counted as spaces (some
/// writers sum signed bytes, which is accepted too).
fn verify_checksum(block: &[u8; BLOCK]) -> Result<(), ArchiveError> {
    let stored = numeric(&block[148..156], "checksum")?;
    let spaces = 8 * u64::from(b' ');
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .filter(|(i, _)| !(148..156).contains(i))
        .map(|(_, &b)| u64::from(b))
        .sum::<u64>()
        + spaces;
    let signed: i64 = block
        .iter()
        .enumerate()
        .filter(|(i, _)| !(148..156).contains(i))
        .map(|(_, &b)| i64::from(b as i8))
        .sum::<i64>()
        + spaces as i64;
    if stored == unsigned || stored as i64 == signed {
        Ok(())
    } else {
        Err(ArchiveError::Corrupt(format!(
            "tar header checksum {stored:o} does not match {unsigned:o}"
        )))
    }
}

/// The `path` and `size` of pax records "<len> <key>=<value>\n".
fn parse_pax(mut data: &[u8]) -> Result<(Option<String>, Option<u64>), ArchiveError> {
    let bad = || ArchiveError::Corrupt("malformed pax header".into());
    let mut path = None;
    let mut size = None;
    while !data.is_empty() {
        let space = data.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=').ok_or_else(bad)?;
        let value = &record[eq + 1..];
        match &record[..eq] {
            b"path" => path = Some(String::from_utf8(value.to_vec()).map_err(|_| bad())?),
            b"size" => {
                size = Some(
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(bad)?,
                )
            }
            _ => {}
        }
        data = &data[len..];
    }
    Ok((path, size))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ustar header block for `name` (at most 100 bytes) of `kind`, `size` and `mtime`.
    pub(crate) fn ustar_header(name: &str, kind: u8, size: u64, mtime: u64) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        block[..name.len()].copy_from_slice(name.as_bytes());
        block[100..108].copy_from_slice(b"000644 \0");
        block[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        block[136..148].copy_from_slice(format!("{mtime:011o}\0").as_bytes());
        block[156] = kind;
        block[257..265].copy_from_slice(b"ustar\x0000");
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        block
    }

    #[test]
    fn reads_files_pax_paths_and_the_end() {
        let mut tar = Vec::new();
        tar.extend_from_slice(&ustar_header("apps/p/f/a.txt", b'0', 3, 0));
        tar.extend_from_slice(b"abc");
        tar.resize(2 * BLOCK, 0);
        let pax = b"28 path=apps/p/f/Caf\xc3\xa9 long\n";
        assert_eq!(pax.len(), 28);
        tar.extend_from_slice(&ustar_header("PaxHeader/x", b'x', pax.len() as u64, 0));
        tar.extend_from_slice(pax);
        tar.resize(4 * BLOCK, 0);
        tar.extend_from_slice(&ustar_header("apps/p/f/Caf", b'0', 0, 0));
        tar.extend_from_slice(&[0u8; 2 * BLOCK]);
        tar.extend_from_slice(b"trailing bytes are not read");

        let mut reader = TarReader::new(&tar[..]);
        let first = reader.next_entry().unwrap().unwrap();
        assert_eq!(
            (first.name.as_str(), first.kind, first.size),
            ("apps/p/f/a.txt", Kind::File, 3)
        );
        let mut data = Vec::new();
        assert!(
            reader
                .read_data(3, |b| {
                    data.extend_from_slice(b);
                    Ok(())
                })
                .unwrap()
                .is_none()
        );
        assert_eq!(data, b"abc");
        let second = reader.next_entry().unwrap().unwrap();
        assert_eq!(second.name, "apps/p/f/Caf\u{e9} long");
        assert!(reader.next_entry().unwrap().is_none());
        assert_eq!(reader.consumed(), 6 * BLOCK as u64);
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let mut block = ustar_header("apps/p/f/a", b'0', 1, 0);
        block[0] ^= 1;
        assert!(matches!(
            TarReader::new(&block[..]).next_entry(),
            Err(ArchiveError::Corrupt(_))
        ));
        let symlink = ustar_header("apps/p/f/a", b'2', 0, 0);
        assert!(matches!(
            TarReader::new(&symlink[..]).next_entry(),
            Err(ArchiveError::Corrupt(_))
        ));
        let short = &ustar_header("apps/p/f/a", b'0', 1, 0)[..100];
        assert!(matches!(
            TarReader::new(short).next_entry(),
            Err(ArchiveError::Interrupted(_))
        ));
        for bad in [&b"5 path\n"[..], b"99 path=x\n", b"x"] {
            assert!(parse_pax(bad).is_err());
        }
    }
}
