//! Reading a backup's Manifest.db as the phone does during a restore: each row's domain,
//! path and kind, and from its MBFile archive the size, the link target and the wrapped
//! encryption key.

use super::unlock::{self, ClassKeys};
use plist::{Dictionary, Value};
use std::path::Path;

pub(crate) const FLAG_FILE: i64 = 1;
pub(crate) const FLAG_DIR: i64 = 2;
pub(crate) const FLAG_SYMLINK: i64 = 4;

#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub file_id: String,
    pub domain: String,
    pub relative_path: String,
    pub flags: i64,
    pub size: u64,
    pub target: Option<String>,
    pub encryption_key: Option<Vec<u8>>,
}

/// The records of a backup's Manifest.db, decrypting it first with `keys` when the
/// backup is encrypted and its Manifest.plist (`manifest`) carries a `ManifestKey`. The
/// database is read into memory, as the phone holds its own copy: nothing is written next
/// to the file. Errors are descriptions for the 205 answer.
pub(crate) fn read_backup_records(
    db_path: &Path,
    manifest: &Dictionary,
    keys: Option<&ClassKeys>,
) -> Result<Vec<Record>, String> {
    let manifest_key = manifest.get("ManifestKey").and_then(Value::as_data);
    let stored =
        std::fs::read(db_path).map_err(|e| format!("cannot open the backup database: {e}"))?;
    let image = match (keys, manifest_key) {
        (Some(keys), Some(wrapped)) => keys
            .unwrap_file_key(wrapped)
            .and_then(|key| unlock::decrypt_database(&key, &stored))
            .ok_or("cannot decrypt Manifest.db")?,
        _ => stored,
    };
    read_records_in_memory(image)
}

/// Reads a database image held in memory.
fn read_records_in_memory(mut image: Vec<u8>) -> Result<Vec<Record>, String> {
    let open_error = |e: rusqlite::Error| format!("cannot open the backup database: {e}");
    // Bytes 18 and 19 say "WAL" in real Manifest.db files; an in-memory database cannot
    // use a WAL, so this copy is read as a rollback-journal database (the same pages).
    if image.len() >= 20 && image.starts_with(b"SQLite format 3\0") {
        image[18] = 1;
        image[19] = 1;
    }
    let mut conn = rusqlite::Connection::open_in_memory().map_err(open_error)?;
    let len = image.len();
    conn.deserialize_read_exact(rusqlite::MAIN_DB, &image[..], len, true)
        .map_err(open_error)?;
    records_in(&conn)
}

/// Reads every row of the Files table.
fn records_in(conn: &rusqlite::Connection) -> Result<Vec<Record>, String> {
    let mut statement = conn
        .prepare("SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY rowid")
        .map_err(|e| format!("the backup database has no usable Files table: {e}"))?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, Option<Vec<u8>>>(4)?,
            ))
        })
        .map_err(|e| format!("cannot read the backup database: {e}"))?;
    let mut records = Vec::new();
    for row in rows {
        let (file_id, domain, relative_path, flags, blob) =
            row.map_err(|e| format!("cannot read the backup database: {e}"))?;
        let file = match blob {
            Some(bytes) => parse_mbfile(&bytes).map_err(|why| {
                format!("the record of {domain}/{relative_path} is damaged: {why}")
            })?,
            None if flags == FLAG_FILE => {
                return Err(format!(
                    "the record of {domain}/{relative_path} has no MBFile"
                ));
            }
            None => MbFile::default(),
        };
        records.push(Record {
            file_id,
            domain,
            relative_path,
            flags,
            size: file.size,
            target: file.target,
            encryption_key: file.encryption_key,
        });
    }
    Ok(records)
}

#[derive(Default)]
struct MbFile {
    size: u64,
    target: Option<String>,
    encryption_key: Option<Vec<u8>>,
}

/// Decodes the NSKeyedArchiver binary plist of one MBFile.
fn parse_mbfile(bytes: &[u8]) -> Result<MbFile, String> {
    let archive = Value::from_reader(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let archive = archive.as_dictionary().ok_or("not an archive")?;
    let objects = archive
        .get("$objects")
        .and_then(Value::as_array)
        .ok_or("no $objects")?;
    let root = archive
        .get("$top")
        .and_then(Value::as_dictionary)
        .and_then(|top| top.get("root"))
        .ok_or("no $top.root")?;
    let deref = |value: &Value| -> Option<Value> {
        match value {
            Value::Uid(uid) => objects.get(uid.get() as usize).cloned(),
            other => Some(other.clone()),
        }
    };
    let file = deref(root)
        .and_then(Value::into_dictionary)
        .ok_or("the root is not a dictionary")?;
    let size = match file.get("Size") {
        Some(v) => v.as_unsigned_integer().ok_or("Size is not a number")?,
        None => 0,
    };
    let target = file
        .get("Target")
        .and_then(&deref)
        .and_then(|v| v.as_string().map(str::to_string));
    let encryption_key = file
        .get("EncryptionKey")
        .and_then(&deref)
        .and_then(|v| match v {
            Value::Data(data) => Some(data),
            Value::Dictionary(dict) => ns_data(&dict),
            _ => None,
        });
    Ok(MbFile {
        size,
        target,
        encryption_key,
    })
}

fn ns_data(dict: &Dictionary) -> Option<Vec<u8>> {
    dict.get("NS.data")
        .and_then(Value::as_data)
        .map(<[u8]>::to_vec)
}

/// Why a domain or path from the backup must not be written: a phone refuses them (iOS
/// answers "Domain name cannot contain a slash" for the domain case).
pub(crate) fn unsafe_name(record: &Record) -> Option<String> {
    let domain = &record.domain;
    if domain.is_empty() || domain.contains(['/', '\\', '\0']) || domain == "." || domain == ".." {
        return Some(format!("Domain name cannot contain a slash: {domain:?}"));
    }
    let path = &record.relative_path;
    if path.starts_with('/') || path.contains(['\0', '\\']) {
        return Some(format!("Invalid relative path {path:?} in domain {domain}"));
    }
    if path.split('/').any(|part| part == ".." || part == ".") {
        return Some(format!("Invalid relative path {path:?} in domain {domain}"));
    }
    None
}
