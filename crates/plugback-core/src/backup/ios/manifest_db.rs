//! Manifest.db, the file list of iOS 10+ backups (SQLite: `Files(fileID, domain,
//! relativePath, flags, file)`), opened so that nothing is ever written: a plain one
//! through an `immutable` read-only URI (no journal, WAL or lock files appear next to
//! it), an encrypted one decrypted in memory and handed to SQLite as a read-only image,
//! so no plaintext copy ever touches the disk.

use super::crypto;
use super::files::{EntryKind, FileRecord};
use super::mbfile;
use crate::backup::BackupError;
use rayon::prelude::*;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const MANIFEST_DB: &str = "Manifest.db";
pub const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// SQLite pages are at least 512 bytes, so every database file is a multiple of 512.
const MIN_PAGE: usize = 512;
/// Integrity problems listed at most (SQLite's own default is 100).
const MAX_INTEGRITY_LINES: u32 = 20;

pub struct ManifestDb {
    conn: Connection,
    path: PathBuf,
    /// Decrypted into memory (not a connection to the file on disk).
    in_memory: bool,
}

/// Whether the file starts like a SQLite database (false when it cannot be read).
pub fn has_sqlite_header(path: &Path) -> bool {
    let mut head = [0u8; 16];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == SQLITE_MAGIC)
        .unwrap_or(false)
}

fn corrupt(path: &Path, detail: impl Into<String>) -> BackupError {
    BackupError::ManifestDbCorrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// A `file:` URI for `path`, percent-encoded so that any character in a folder name
/// (`?`, `#`, `%`, spaces) stays part of the path. Hand-written: a dozen lines, and no
/// crate in the workspace builds SQLite URIs.
fn sqlite_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let text = absolute.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file:");
    if !text.starts_with('/') {
        uri.push('/'); // Windows: file:/C:/...
    }
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

impl ManifestDb {
    /// Opens an unencrypted Manifest.db read-only and immutable.
    pub fn open_plain(path: &Path) -> Result<Self, BackupError> {
        let meta = fs::metadata(path).map_err(|e| BackupError::io(path, e))?;
        if meta.len() == 0 {
            return Err(corrupt(path, "the file is empty"));
        }
        if !has_sqlite_header(path) {
            return Err(corrupt(
                path,
                "it is not a SQLite database (if the backup is encrypted, its Manifest.plist is missing or damaged)",
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(sqlite_uri(path), flags)
            .map_err(|e| corrupt(path, format!("SQLite cannot open it: {e}")))?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            in_memory: false,
        })
    }

    /// Decrypts an encrypted Manifest.db with its (unwrapped) key, in memory only.
    pub fn open_encrypted(path: &Path, key: &[u8; 32]) -> Result<Self, BackupError> {
        let mut data = Zeroizing::new(fs::read(path).map_err(|e| BackupError::io(path, e))?);
        if data.is_empty() {
            return Err(corrupt(path, "the file is empty"));
        }
        crypto::decrypt_in_place_unpadded(key, &mut data)
            .map_err(|e| corrupt(path, format!("the encrypted file list is damaged: {e}")))?;
        let len = plaintext_len(&data).ok_or_else(|| BackupError::DecryptFailed {
            path: path.to_path_buf(),
            detail: "the decrypted file list is not a SQLite database".into(),
        })?;
        let image = &mut data[..len];
        // A database in WAL mode cannot be read from a memory image; marking the image
        // as a rollback-journal database (header bytes 18 and 19) changes only this copy.
        if image.get(18..20) == Some(&[2, 2]) {
            image[18] = 1;
            image[19] = 1;
        }
        let mut conn = Connection::open_in_memory()
            .map_err(|e| corrupt(path, format!("SQLite cannot start: {e}")))?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, &image[..], len, true)
            .map_err(|e| {
                corrupt(
                    path,
                    format!("SQLite cannot load the decrypted file list: {e}"),
                )
            })?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            in_memory: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when this is a decrypted copy in memory rather than the file itself.
    pub fn in_memory(&self) -> bool {
        self.in_memory
    }

    /// SQLite's own check of the database (`PRAGMA integrity_check`): every page, b-tree
    /// and record, and every index entry against its row, since the phone finds files
    /// through those indexes during a restore. An empty list when it is sound.
    pub fn integrity_problems(&self) -> Vec<String> {
        let sql = format!("PRAGMA integrity_check({MAX_INTEGRITY_LINES})");
        let result = self.conn.prepare(&sql).and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        });
        match result {
            Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Vec::new(),
            Ok(lines) => lines,
            Err(e) => vec![e.to_string()],
        }
    }

    /// Every row of the Files table, decoded (in parallel: real backups hold 100k rows).
    pub fn records(&self) -> Result<Vec<FileRecord>, BackupError> {
        let rows = self.raw_rows()?;
        Ok(rows.into_par_iter().map(RawRow::into_record).collect())
    }

    /// How many rows are files (flags 1), without decoding any record.
    pub fn file_row_count(&self) -> Result<u64, BackupError> {
        self.conn
            .query_row("SELECT count(*) FROM Files WHERE flags = 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(|e| corrupt(&self.path, format!("cannot count its files: {e}")))
    }

    fn raw_rows(&self) -> Result<Vec<RawRow>, BackupError> {
        let mut stmt = self
            .conn
            .prepare("SELECT fileID, domain, relativePath, flags, file FROM Files")
            .map_err(|e| corrupt(&self.path, format!("it has no readable Files table: {e}")))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(RawRow {
                    file_id: text(row.get_ref(0)?),
                    domain: text(row.get_ref(1)?),
                    relative_path: text(row.get_ref(2)?),
                    flags: match row.get_ref(3)? {
                        ValueRef::Integer(n) => Some(n),
                        _ => None,
                    },
                    file: match row.get_ref(4)? {
                        ValueRef::Blob(b) => Some(b.to_vec()),
                        _ => None,
                    },
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| corrupt(&self.path, format!("reading the Files table failed: {e}")))?;
        Ok(rows)
    }
}

/// The length of the SQLite image inside decrypted Manifest.db bytes. Real backups pad
/// with PKCS#7 (a whole 16-byte block, as databases are whole pages); some tools write
/// no padding at all, which is accepted when the bytes are a whole database.
fn plaintext_len(plain: &[u8]) -> Option<usize> {
    if !plain.starts_with(SQLITE_MAGIC) {
        return None;
    }
    match crypto::pkcs7_unpadded_len(plain) {
        Some(len) if len.is_multiple_of(MIN_PAGE) => Some(len),
        _ if plain.len().is_multiple_of(MIN_PAGE) => Some(plain.len()),
        other => other,
    }
}

/// A column as text: TEXT, or a BLOB holding UTF-8. Err carries why not.
fn text(value: ValueRef<'_>) -> Result<String, &'static str> {
    match value {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            String::from_utf8(bytes.to_vec()).map_err(|_| "is not valid UTF-8")
        }
        ValueRef::Null => Err("is empty (NULL)"),
        _ => Err("is not text"),
    }
}

struct RawRow {
    file_id: Result<String, &'static str>,
    domain: Result<String, &'static str>,
    relative_path: Result<String, &'static str>,
    flags: Option<i64>,
    file: Option<Vec<u8>>,
}

impl RawRow {
    fn into_record(self) -> FileRecord {
        let mut problems: Vec<String> = Vec::new();
        let mut take = |name: &str, value: Result<String, &'static str>| {
            value.unwrap_or_else(|why| {
                problems.push(format!("its {name} {why}"));
                String::new()
            })
        };
        let file_id = take("fileID", self.file_id);
        let domain = take("domain", self.domain);
        let relative_path = take("relativePath", self.relative_path);
        let flags = self.flags.unwrap_or_else(|| {
            problems.push("its flags are not a number".into());
            EntryKind::Unknown.flags()
        });
        let meta = match self.file.as_deref().map(mbfile::decode) {
            Some(Ok(meta)) => Some(meta),
            Some(Err(why)) => {
                problems.push(why);
                None
            }
            None => {
                problems.push("it has no file record".into());
                None
            }
        };
        FileRecord {
            file_id,
            domain,
            relative_path,
            flags,
            meta,
            invalid: (!problems.is_empty()).then(|| problems.join("; ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::ios::crypto::test_support::encrypt;
    use crate::backup::ios::mbfile::test_support::{archive, file_fields};

    fn make_db(path: &Path, wal: bool) {
        let conn = Connection::open(path).unwrap();
        if wal {
            conn.pragma_update(None, "journal_mode", "wal").unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
             CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);",
        )
        .unwrap();
        let blob = archive(&file_fields(3, 0o100644, 3), "a.txt", None, None);
        conn.execute(
            "INSERT INTO Files VALUES (?1, 'HomeDomain', 'a.txt', 1, ?2)",
            rusqlite::params![
                crate::backup::ios::files::file_id("HomeDomain", "a.txt"),
                blob
            ],
        )
        .unwrap();
        conn.execute("INSERT INTO Files VALUES ('x', NULL, 'b', 2, x'00')", [])
            .unwrap();
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn plain_database_is_read_without_writing_anything_even_in_wal_mode() {
        for wal in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let folder = dir.path().join("odd ?#% name");
            fs::create_dir(&folder).unwrap();
            let path = folder.join(MANIFEST_DB);
            make_db(&path, wal);
            let before = listing(&folder);
            let bytes_before = fs::read(&path).unwrap();

            let db = ManifestDb::open_plain(&path).unwrap();
            assert!(db.integrity_problems().is_empty());
            let records = db.records().unwrap();
            assert_eq!(records.len(), 2);
            let good = records.iter().find(|r| r.domain == "HomeDomain").unwrap();
            assert_eq!(good.invalid, None);
            assert_eq!(good.size(), 3);
            let bad = records.iter().find(|r| r.file_id == "x").unwrap();
            let why = bad.invalid.as_deref().unwrap();
            assert!(
                why.contains("domain is empty") && why.contains("not a valid property list"),
                "{why}"
            );
            assert_eq!(db.file_row_count().unwrap(), 1);
            drop(db);

            assert_eq!(listing(&folder), before, "wal={wal}");
            assert_eq!(fs::read(&path).unwrap(), bytes_before);
        }
    }

    #[test]
    fn encrypted_database_opens_in_memory_padded_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let plain_path = dir.path().join("plain.db");
        make_db(&plain_path, true);
        let plain = fs::read(&plain_path).unwrap();
        let key = [5u8; 32];

        let padded = encrypt(&key, &plain);
        let unpadded = padded[..plain.len()].to_vec();
        for cipher in [padded, unpadded] {
            let path = dir.path().join(MANIFEST_DB);
            fs::write(&path, &cipher).unwrap();
            let db = ManifestDb::open_encrypted(&path, &key).unwrap();
            assert_eq!(db.records().unwrap().len(), 2);
        }

        let path = dir.path().join(MANIFEST_DB);
        let err = ManifestDb::open_encrypted(&path, &[6u8; 32]).err().unwrap();
        assert_eq!(err.code(), "decrypt-failed");
        fs::write(&path, &encrypt(&key, &plain)[..100]).unwrap();
        assert_eq!(
            ManifestDb::open_encrypted(&path, &key)
                .err()
                .unwrap()
                .code(),
            "manifest-db-corrupt"
        );
    }

    #[test]
    fn garbage_and_missing_tables_are_corrupt_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_DB);
        fs::write(&path, b"").unwrap();
        assert_eq!(
            ManifestDb::open_plain(&path).err().unwrap().code(),
            "manifest-db-corrupt"
        );
        fs::write(&path, b"definitely not sqlite").unwrap();
        assert_eq!(
            ManifestDb::open_plain(&path).err().unwrap().code(),
            "manifest-db-corrupt"
        );

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        let db = ManifestDb::open_plain(&other).unwrap();
        assert_eq!(db.records().err().unwrap().code(), "manifest-db-corrupt");

        let mut truncated = fs::read(&other).unwrap();
        truncated.truncate(600);
        truncated.extend_from_slice(&[0xAB; 3000]);
        fs::write(&path, &truncated).unwrap();
        let db = ManifestDb::open_plain(&path).unwrap();
        assert!(!db.integrity_problems().is_empty());
    }

    #[test]
    fn uri_escapes_special_characters() {
        let uri = sqlite_uri(Path::new("/a b/c?d#e%f/Manifest.db"));
        assert_eq!(
            uri,
            "file:/a%20b/c%3Fd%23e%25f/Manifest.db?mode=ro&immutable=1"
        );
    }
}
