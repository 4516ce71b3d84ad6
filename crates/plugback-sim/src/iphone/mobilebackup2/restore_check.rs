//! What a restore of a backup must leave on the phone, read the way the simulated phone
//! reads a backup: `<domain>/<relativePath>` → content for every file record, decrypted
//! with the password when the backup is encrypted. Tests compare a restored folder with it.

use super::manifest::{self, FLAG_FILE};
use super::unlock::{self, ClassKeys, UnlockError};
use plist::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why the expected files of a backup could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreCheckError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the backup is encrypted and no password was given")]
    PasswordNeeded,
    #[error("the password does not unlock the backup")]
    WrongPassword,
    #[error("the backup is damaged: {0}")]
    Damaged(String),
}

/// Every file a restore of the backup in `backup` must produce, by
/// `<domain>/<relativePath>`. Directories and symbolic links are not listed (a folder
/// fingerprint skips them too).
pub fn expected_files(
    backup: &Path,
    password: Option<&str>,
) -> Result<BTreeMap<String, Vec<u8>>, RestoreCheckError> {
    let damaged = |why: &str| RestoreCheckError::Damaged(why.to_string());
    let manifest = Value::from_file(backup.join("Manifest.plist"))
        .map_err(|e| damaged(&format!("Manifest.plist: {e}")))?
        .into_dictionary()
        .ok_or_else(|| damaged("Manifest.plist is not a dictionary"))?;
    let keys = if unlock::is_encrypted(&manifest) {
        let password = password.ok_or(RestoreCheckError::PasswordNeeded)?;
        Some(
            unlock::unlock_manifest(&manifest, password).map_err(|e| match e {
                UnlockError::WrongPassword => RestoreCheckError::WrongPassword,
                UnlockError::Damaged(why) => RestoreCheckError::Damaged(why),
            })?,
        )
    } else {
        None
    };
    let records =
        manifest::read_backup_records(&backup.join("Manifest.db"), &manifest, keys.as_ref())
            .map_err(RestoreCheckError::Damaged)?;
    let mut files = BTreeMap::new();
    for record in records.iter().filter(|r| r.flags == FLAG_FILE) {
        let shown = format!("{}/{}", record.domain, record.relative_path);
        let prefix = record
            .file_id
            .get(..2)
            .ok_or_else(|| damaged(&format!("{shown} has no usable fileID")))?;
        let blob_path = backup.join(prefix).join(&record.file_id);
        let blob = fs::read(&blob_path).map_err(|source| RestoreCheckError::Io {
            path: blob_path.clone(),
            source,
        })?;
        let content = match &keys {
            None => blob,
            Some(keys) => decrypt_blob(keys, record, blob)
                .ok_or_else(|| damaged(&format!("{shown} cannot be decrypted")))?,
        };
        files.insert(shown, content);
    }
    Ok(files)
}

/// As the phone does: an empty file may have no key at all.
fn decrypt_blob(keys: &ClassKeys, record: &manifest::Record, blob: Vec<u8>) -> Option<Vec<u8>> {
    match record
        .encryption_key
        .as_deref()
        .and_then(|wrapped| keys.unwrap_file_key(wrapped))
    {
        Some(key) => unlock::decrypt_all(&key, &blob),
        None if record.size == 0 => Some(blob),
        None => None,
    }
}

/// Every regular file under `root` with its content, by path relative to `root` (the shape
/// of [`expected_files`], for a phone's restored folder).
pub fn files_under(root: &Path) -> io::Result<BTreeMap<String, Vec<u8>>> {
    crate::fingerprint::tree_hashes(root)?
        .into_keys()
        .map(|relative| {
            let content = fs::read(root.join(&relative))?;
            Ok((relative.to_string_lossy().into_owned(), content))
        })
        .collect()
}
