//! The tar stream inside an `.ab` file, header for header as Android's backup writer
//! produces it (the `tar` crate formats fields differently): ustar magic "ustar\0" + "00",
//! mode as six octal digits and a space, uid/gid as "0" + octal, 11-digit size, unpadded
//! octal mtime, six-digit checksum, no user or group names, no directory entries, and a
//! pax `x` header (size + path) before any entry whose path is long or not 7-bit clean.
//! The archive ends with two zero blocks and no padding to a record size.

use std::io::{self, Write};

const BLOCK: usize = 512;
/// The largest size an 11-digit octal field holds.
const MAX_USTAR_SIZE: u64 = 0o77_777_777_777;

/// One file in the archive: `apps/<package>/<domain>/<relative>` (domain may be empty).
pub(crate) struct TarEntry<'a> {
    pub package: &'a str,
    pub domain: &'a str,
    pub relative: &'a str,
    pub mode: u32,
    pub uid: u32,
    pub size: u64,
    pub mtime: i64,
}

impl TarEntry<'_> {
    fn prefix(&self) -> String {
        if self.domain.is_empty() {
            format!("apps/{}", self.package)
        } else {
            format!("apps/{}/{}", self.package, self.domain)
        }
    }

    pub(crate) fn full_name(&self) -> String {
        format!("{}/{}", self.prefix(), self.relative)
    }
}

/// Writes the headers of `entry`; the caller then writes exactly `entry.size` bytes and
/// calls [`pad`].
pub(crate) fn write_header(out: &mut impl Write, entry: &TarEntry<'_>) -> io::Result<()> {
    let prefix = entry.prefix();
    let full = entry.full_name();
    let needs_pax = prefix.len() >= 155
        || entry.relative.len() >= 100
        || !full.is_ascii()
        || entry.size > MAX_USTAR_SIZE;

    let mut header = [0u8; BLOCK];
    if full.len() > 100 {
        put_truncated(&mut header[0..100], entry.relative.as_bytes());
        put_truncated(&mut header[345..500], prefix.as_bytes());
    } else {
        put_truncated(&mut header[0..100], full.as_bytes());
    }
    put_field(
        &mut header[100..108],
        &format!("{:06o} ", entry.mode & 0o7777),
    );
    put_field(&mut header[108..116], &format!("0{:o}", entry.uid));
    put_field(&mut header[116..124], &format!("0{:o}", entry.uid));
    put_field(
        &mut header[124..136],
        &format!("{:011o}", entry.size.min(MAX_USTAR_SIZE)),
    );
    put_field(&mut header[136..148], &format!("{:o}", entry.mtime.max(0)));
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");

    if needs_pax {
        let mut data = pax_record("size", &entry.size.to_string());
        data.extend_from_slice(&pax_record("path", &full));
        let mut pax = header;
        let leaf = full.rsplit('/').next().unwrap_or(&full);
        pax[0..100].fill(0);
        // The C writer formats into 100 bytes, so the name keeps 99 and a NUL.
        put_truncated(&mut pax[0..99], format!("PaxHeader/{leaf}").as_bytes());
        pax[345..500].fill(0);
        put_truncated(&mut pax[345..500], prefix.as_bytes());
        pax[156] = b'x';
        pax[124..136].fill(0);
        put_field(&mut pax[124..136], &format!("{:011o}", data.len()));
        checksum(&mut pax);
        out.write_all(&pax)?;
        out.write_all(&data)?;
        pad(out, data.len() as u64)?;
    }
    checksum(&mut header);
    out.write_all(&header)
}

/// Zero-fills the last block of an entry of `size` bytes.
pub(crate) fn pad(out: &mut impl Write, size: u64) -> io::Result<()> {
    let partial = (size % BLOCK as u64) as usize;
    if partial > 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - partial])?;
    }
    Ok(())
}

/// The end-of-archive marker Android writes: two zero blocks.
pub(crate) fn finish(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&[0u8; 2 * BLOCK])
}

/// A pax record, "<length> <key>=<value>\n", where the length counts its own digits.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while body + len.to_string().len() != len {
        len = body + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

fn put_truncated(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// A text field with a terminating NUL (as `snprintf` into the field's width).
fn put_field(field: &mut [u8], value: &str) {
    let n = value.len().min(field.len() - 1);
    field[..n].copy_from_slice(&value.as_bytes()[..n]);
    field[n] = 0;
}

/// The header checksum: the byte sum with the checksum field read as spaces, written as
/// six octal digits, a NUL and a space.
fn checksum(header: &mut [u8; BLOCK]) {
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    put_field(&mut header[148..155], &format!("{sum:06o}"));
    header[155] = b' ';
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(pax_record("size", "4096"), b"13 size=4096\n");
        // Lengths around a digit boundary (99 / 100 bytes) still count themselves.
        for value_len in 85..100 {
            let record = pax_record("path", &"x".repeat(value_len));
            let text = String::from_utf8(record.clone()).unwrap();
            let (len, rest) = text.split_once(' ').unwrap();
            assert_eq!(len.parse::<usize>().unwrap(), record.len());
            assert!(rest.starts_with("path=") && rest.ends_with('\n'));
        }
    }

    #[test]
    fn header_fields_are_formatted_like_android() {
        let entry = TarEntry {
            package: "com.example.notes",
            domain: "",
            relative: "_manifest",
            mode: 0o600,
            uid: 1000,
            size: 2526,
            mtime: 0,
        };
        let mut out = Vec::new();
        write_header(&mut out, &entry).unwrap();
        assert_eq!(out.len(), BLOCK);
        assert!(out.starts_with(b"apps/com.example.notes/_manifest\0"));
        assert_eq!(&out[100..108], b"000600 \0");
        assert_eq!(&out[108..116], b"01750\0\0\0");
        assert_eq!(&out[124..136], b"00000004736\0");
        assert_eq!(&out[136..138], b"0\0");
        assert_eq!(&out[257..265], b"ustar\x0000");
        assert_eq!(out[155], b' ');
        assert_eq!(out[154], 0);
    }

    #[test]
    fn unicode_names_get_a_pax_path() {
        let entry = TarEntry {
            package: "com.example.notes",
            domain: "f",
            relative: "Caf\u{e9}.txt",
            mode: 0o600,
            uid: 10_123,
            size: 5,
            mtime: 1_700_000_000,
        };
        let mut out = Vec::new();
        write_header(&mut out, &entry).unwrap();
        assert_eq!(out.len(), 3 * BLOCK);
        assert_eq!(out[156], b'x');
        assert!(out.starts_with(b"PaxHeader/Caf\xc3\xa9.txt\0"));
        let data = String::from_utf8_lossy(&out[BLOCK..2 * BLOCK]);
        assert!(data.starts_with("9 size=5\n"), "{data}");
        assert!(data.contains("path=apps/com.example.notes/f/Caf\u{e9}.txt\n"));
        assert_eq!(out[2 * BLOCK + 156], b'0');
    }
}
