//! Manifest.mbdb, the file list of backups made up to iOS 9: the header `mbdb\x05\x00`,
//! then records of big-endian fields. Strings are a u16 length then bytes, 0xFFFF
//! standing for an absent string. A record: domain, path, link target, data hash,
//! encryption key (strings); mode u16, inode u64, user u32, group u32, mtime u32,
//! atime u32, ctime u32, size u64, protection class u8, property count u8, then that many
//! (name, value) string pairs. The list is never encrypted, even in encrypted backups.

use super::files::{EntryKind, FileMeta, FileRecord, file_id};
use super::keybag::WrappedKey;
use crate::backup::BackupError;
use std::fs;
use std::path::Path;

pub const MANIFEST_MBDB: &str = "Manifest.mbdb";
const MAGIC: &[u8; 6] = b"mbdb\x05\x00";
const ABSENT: u16 = 0xFFFF;

/// Reads and parses `Manifest.mbdb`.
pub fn read(path: &Path) -> Result<Vec<FileRecord>, BackupError> {
    let data = fs::read(path).map_err(|e| BackupError::io(path, e))?;
    parse(&data).map_err(|detail| BackupError::ManifestDbCorrupt {
        path: path.to_path_buf(),
        detail,
    })
}

/// Parses a whole Manifest.mbdb. A record that ends early makes the rest unreadable, so
/// that is an error for the whole list, naming the record.
pub fn parse(data: &[u8]) -> Result<Vec<FileRecord>, String> {
    let body = data.strip_prefix(MAGIC).ok_or_else(|| {
        if data.is_empty() {
            "the file is empty".to_owned()
        } else {
            "it does not start with the mbdb version 5 header".to_owned()
        }
    })?;
    let mut cursor = Cursor { rest: body };
    let mut records = Vec::new();
    while !cursor.rest.is_empty() {
        let index = records.len() + 1;
        let record = read_record(&mut cursor)
            .ok_or_else(|| format!("it ends in the middle of record {index}"))?;
        records.push(record);
    }
    Ok(records)
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }

    /// A string field: Some(None) when marked absent.
    fn bytes_field(&mut self) -> Option<Option<&'a [u8]>> {
        match self.u16()? {
            ABSENT => Some(None),
            len => self.take(len as usize).map(Some),
        }
    }
}

fn read_record(c: &mut Cursor<'_>) -> Option<FileRecord> {
    let domain = c.bytes_field()?;
    let path = c.bytes_field()?;
    let target = c.bytes_field()?;
    let _data_hash = c.bytes_field()?;
    let key = c.bytes_field()?;
    let mode = u32::from(c.u16()?);
    let inode = c.u64()?;
    let user_id = c.u32()?;
    let group_id = c.u32()?;
    let mtime = c.u32()?;
    let _atime = c.u32()?;
    let ctime = c.u32()?;
    let size = c.u64()?;
    let protection_class = c.u8()?;
    let properties = c.u8()?;
    for _ in 0..properties {
        c.bytes_field()?;
        c.bytes_field()?;
    }

    let mut problems = Vec::new();
    let mut text = |name: &str, bytes: Option<&[u8]>| -> String {
        let bytes = bytes.unwrap_or_default();
        String::from_utf8(bytes.to_vec()).unwrap_or_else(|_| {
            problems.push(format!("its {name} is not valid UTF-8"));
            String::from_utf8_lossy(bytes).into_owned()
        })
    };
    let domain = text("domain", domain);
    let relative_path = text("path", path);
    let target = target.map(|t| text("link target", Some(t)));
    let encryption_key = match key {
        None | Some([]) => None,
        Some(bytes) => {
            let parsed = WrappedKey::parse(bytes);
            if parsed.is_none() {
                problems.push(format!(
                    "its encryption key is {} bytes, too short to hold a key",
                    bytes.len()
                ));
            }
            parsed
        }
    };
    let kind = EntryKind::from_mode(mode);
    Some(FileRecord {
        file_id: file_id(&domain, &relative_path),
        domain,
        flags: kind.flags(),
        meta: Some(FileMeta {
            size,
            mode,
            last_modified: Some(i64::from(mtime)),
            birth: None,
            last_status_change: Some(i64::from(ctime)),
            protection_class: Some(u32::from(protection_class)),
            user_id: Some(i64::from(user_id)),
            group_id: Some(i64::from(group_id)),
            inode: Some(inode),
            encryption_key,
            target,
            relative_path: Some(relative_path.clone()),
        }),
        relative_path,
        invalid: (!problems.is_empty()).then(|| problems.join("; ")),
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    /// One mbdb record with the given fields (no properties unless `props`).
    pub fn record(
        domain: &str,
        path: &str,
        target: Option<&str>,
        key: Option<&[u8]>,
        mode: u16,
        size: u64,
        props: &[(&str, &str)],
    ) -> Vec<u8> {
        fn string(out: &mut Vec<u8>, s: Option<&[u8]>) {
            match s {
                None => out.extend_from_slice(&[0xFF, 0xFF]),
                Some(s) => {
                    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
                    out.extend_from_slice(s);
                }
            }
        }
        let mut out = Vec::new();
        string(&mut out, Some(domain.as_bytes()));
        string(&mut out, Some(path.as_bytes()));
        string(&mut out, target.map(str::as_bytes));
        string(&mut out, None);
        string(&mut out, key);
        out.extend_from_slice(&mode.to_be_bytes());
        out.extend_from_slice(&7u64.to_be_bytes());
        out.extend_from_slice(&501u32.to_be_bytes());
        out.extend_from_slice(&501u32.to_be_bytes());
        out.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        out.extend_from_slice(&1_700_000_001u32.to_be_bytes());
        out.extend_from_slice(&1_700_000_002u32.to_be_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        out.push(3);
        out.push(props.len() as u8);
        for (k, v) in props {
            string(&mut out, Some(k.as_bytes()));
            string(&mut out, Some(v.as_bytes()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::record;
    use super::*;

    /// A three-record list, and the offsets where each record ends.
    fn sample() -> (Vec<u8>, Vec<usize>) {
        let key = [[3u8, 0, 0, 0].as_slice(), &[1; 40]].concat();
        let mut data = MAGIC.to_vec();
        let mut ends = vec![data.len()];
        for rec in [
            record("HomeDomain", "", None, None, 0o40755, 0, &[]),
            record(
                "HomeDomain",
                "Library/a.txt",
                None,
                Some(&key),
                0o100644,
                42,
                &[("k", "v")],
            ),
            record("HomeDomain", "link", Some("/var/x"), None, 0o120755, 0, &[]),
        ] {
            data.extend(rec);
            ends.push(data.len());
        }
        (data, ends)
    }

    #[test]
    fn parses_files_directories_and_links() {
        let records = parse(&sample().0).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].kind(), EntryKind::Directory);
        assert_eq!(records[0].file_id, file_id("HomeDomain", ""));
        let file = &records[1];
        assert_eq!(
            (file.kind(), file.flags, file.size()),
            (EntryKind::File, 1, 42)
        );
        let meta = file.meta.as_ref().unwrap();
        assert_eq!(meta.last_modified, Some(1_700_000_000));
        assert_eq!(meta.protection_class, Some(3));
        assert_eq!(meta.encryption_key.as_ref().map(|k| k.class), Some(3));
        assert_eq!(
            records[2].meta.as_ref().unwrap().target.as_deref(),
            Some("/var/x")
        );
        assert!(records.iter().all(|r| r.invalid.is_none()));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let (data, ends) = sample();
        for cut in 0..data.len() {
            match parse(&data[..cut]) {
                // A cut between records leaves a shorter, valid list.
                Ok(records) => assert_eq!(ends.iter().position(|&e| e == cut), Some(records.len())),
                Err(why) if cut < MAGIC.len() => {
                    assert!(why.contains("empty") || why.contains("header"))
                }
                Err(why) => assert!(
                    why.contains("ends in the middle of record"),
                    "cut {cut}: {why}"
                ),
            }
        }
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(b"mbdb\x04\x00").unwrap_err().contains("header"));
    }

    #[test]
    fn bad_strings_and_keys_mark_the_record_invalid() {
        let mut data = MAGIC.to_vec();
        data.extend(record(
            "Home\u{1}Domain",
            "x",
            None,
            Some(&[1, 2]),
            0o100644,
            1,
            &[],
        ));
        let mut bad_utf8 = record("D", "y", None, None, 0o100644, 1, &[]);
        bad_utf8[2] = 0xFF; // the domain's single byte, after its 2-byte length
        data.extend(bad_utf8);
        let records = parse(&data).unwrap();
        assert!(records[0].invalid.as_deref().unwrap().contains("too short"));
        assert!(records[1].invalid.as_deref().unwrap().contains("UTF-8"));
    }
}
