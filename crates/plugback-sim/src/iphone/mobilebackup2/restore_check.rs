//! What a restore of a backup must leave on the phone, read the way the simulated phone
//! reads a backup: `<domain>/<relativePath>` → content (or its digest) for every file
//! record, decrypted with the password when the backup is encrypted. Tests compare a
//! restored folder with it.

use super::manifest::{self, FLAG_FILE, Record};
use super::unlock::{self, CbcDecryptor, ClassKeys, UnlockError};
use plist::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Blobs are read through a buffer of this size, whatever their size.
const CHUNK: usize = 64 * 1024;

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

/// A file's size and SHA-256, for comparing files too large to hold in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Every file a restore of the backup in `backup` must produce, by
/// `<domain>/<relativePath>`. Directories and symbolic links are not listed (a folder
/// fingerprint skips them too).
pub fn expected_files(
    backup: &Path,
    password: Option<&str>,
) -> Result<BTreeMap<String, Vec<u8>>, RestoreCheckError> {
    let files = BackupFiles::open(backup, password)?;
    let mut contents = BTreeMap::new();
    for record in files.records() {
        let mut content = Vec::new();
        files.read(record, &mut |plain| content.extend_from_slice(plain))?;
        contents.insert(shown_name(record), content);
    }
    Ok(contents)
}

/// [`expected_files`] as sizes and digests, each blob read in a stream: the memory it
/// takes does not grow with the files' sizes.
pub fn expected_digests(
    backup: &Path,
    password: Option<&str>,
) -> Result<BTreeMap<String, FileDigest>, RestoreCheckError> {
    let files = BackupFiles::open(backup, password)?;
    let mut digests = BTreeMap::new();
    for record in files.records() {
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        files.read(record, &mut |plain| {
            hasher.update(plain);
            size += plain.len() as u64;
        })?;
        let sha256 = hasher.finalize().into();
        digests.insert(shown_name(record), FileDigest { size, sha256 });
    }
    Ok(digests)
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

fn shown_name(record: &Record) -> String {
    format!("{}/{}", record.domain, record.relative_path)
}

fn damaged(why: impl Into<String>) -> RestoreCheckError {
    RestoreCheckError::Damaged(why.into())
}

/// A backup's file records, unlocked.
struct BackupFiles {
    backup: PathBuf,
    records: Vec<Record>,
    keys: Option<ClassKeys>,
}

impl BackupFiles {
    fn open(backup: &Path, password: Option<&str>) -> Result<BackupFiles, RestoreCheckError> {
        let manifest = Value::from_file(backup.join("Manifest.plist"))
            .map_err(|e| damaged(format!("Manifest.plist: {e}")))?
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
        Ok(BackupFiles {
            backup: backup.to_path_buf(),
            records,
            keys,
        })
    }

    /// The records of regular files.
    fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| r.flags == FLAG_FILE)
    }

    /// Hands the content of `record`'s file to `out`, piece by piece, decrypted.
    fn read(&self, record: &Record, out: &mut dyn FnMut(&[u8])) -> Result<(), RestoreCheckError> {
        let cannot_decrypt = || damaged(format!("{} cannot be decrypted", shown_name(record)));
        let prefix = record
            .file_id
            .get(..2)
            .ok_or_else(|| damaged(format!("{} has no usable fileID", shown_name(record))))?;
        let path = self.backup.join(prefix).join(&record.file_id);
        let io_error = |source| RestoreCheckError::Io {
            path: path.clone(),
            source,
        };
        let mut blob = File::open(&path).map_err(io_error)?;
        let mut decryptor = match &self.keys {
            None => None,
            Some(keys) => match record
                .encryption_key
                .as_deref()
                .and_then(|wrapped| keys.unwrap_file_key(wrapped))
            {
                Some(key) => Some(CbcDecryptor::new(&key)),
                // As the phone does: an empty file may have no key at all.
                None if record.size == 0 => None,
                None => return Err(cannot_decrypt()),
            },
        };
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match blob.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(io_error(err)),
            };
            match decryptor.as_mut() {
                Some(decryptor) => decryptor.update(&buf[..n], out),
                None => out(&buf[..n]),
            }
        }
        match decryptor {
            Some(decryptor) => decryptor.finish(out).ok_or_else(cannot_decrypt),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::make_backup::{KdfCost, Kind, Spec, make_backup};

    #[test]
    fn digests_are_those_of_the_expected_contents() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("backup");
        let mut spec = Spec::new(Kind::Ios);
        spec.password = Some("pw".into());
        spec.kdf_cost = KdfCost::Low;
        spec.files = 6;
        spec.file_size = 150_000;
        make_backup(&spec, &backup).unwrap();
        let contents = expected_files(&backup, Some("pw")).unwrap();
        let digests = expected_digests(&backup, Some("pw")).unwrap();
        assert!(contents.values().any(|c| c.len() > CHUNK));
        let from_contents: BTreeMap<String, FileDigest> = contents
            .into_iter()
            .map(|(name, content)| {
                let digest = FileDigest {
                    size: content.len() as u64,
                    sha256: Sha256::digest(&content).into(),
                };
                (name, digest)
            })
            .collect();
        assert_eq!(digests, from_contents);
        assert!(matches!(
            expected_digests(&backup, Some("wrong")),
            Err(RestoreCheckError::WrongPassword)
        ));
    }
}
