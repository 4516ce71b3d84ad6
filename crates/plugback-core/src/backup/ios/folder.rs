//! One iPhone backup folder, for anything that needs more than the catalog's summary:
//! its plists, its keys, its file list and the contents of its files. Read-only.

use super::crypto::{self, Key256};
use super::files::{EntryKind, FileRecord, Layout, blob_relative_path};
use super::keybag::{Keybag, UnlockedKeys, WrappedKey};
use super::manifest_db::{self, MANIFEST_DB, ManifestDb};
use super::mbdb::{self, MANIFEST_MBDB};
use super::plists::{
    BackupPlists, INFO_PLIST, InfoPlist, MANIFEST_PLIST, ManifestPlist, PlistFile, STATUS_PLIST,
    StatusPlist,
};
use crate::backup::BackupError;
use crate::secret::Password;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Size of the buffer files are read and decrypted through.
pub const READ_BUFFER: usize = 1 << 20;

/// The layout of the backup at `root`, from the file list it has.
pub fn layout_of(root: &Path) -> Layout {
    if root.join(MANIFEST_MBDB).is_file() && !root.join(MANIFEST_DB).exists() {
        Layout::Mbdb
    } else {
        Layout::ManifestDb
    }
}

#[derive(Debug)]
pub struct IosBackup {
    root: PathBuf,
    layout: Layout,
    plists: BackupPlists,
}

impl IosBackup {
    /// Opens the backup folder at `root`: reads the plists (an absent or damaged plist is
    /// recorded, not an error: `plists()` says what became of each), opens nothing else.
    pub fn open(root: &Path) -> Result<Self, BackupError> {
        let known = [
            MANIFEST_DB,
            MANIFEST_MBDB,
            MANIFEST_PLIST,
            INFO_PLIST,
            STATUS_PLIST,
        ];
        if !root.is_dir() || !known.iter().any(|name| root.join(name).exists()) {
            return Err(BackupError::NotABackup {
                path: root.to_path_buf(),
            });
        }
        Ok(Self::with_plists(
            root,
            layout_of(root),
            BackupPlists::read(root),
        ))
    }

    pub(crate) fn with_plists(root: &Path, layout: Layout, plists: BackupPlists) -> Self {
        Self {
            root: root.to_path_buf(),
            layout,
            plists,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn plists(&self) -> &BackupPlists {
        &self.plists
    }

    pub fn info(&self) -> Option<&InfoPlist> {
        self.plists.info.get()
    }

    pub fn manifest(&self) -> Option<&ManifestPlist> {
        self.plists.manifest.get()
    }

    pub fn status(&self) -> Option<&StatusPlist> {
        self.plists.status.get()
    }

    /// As Manifest.plist says (a backup without a readable Manifest.plist reads as plain).
    pub fn is_encrypted(&self) -> bool {
        self.manifest().is_some_and(ManifestPlist::encrypted)
    }

    /// The file list's path: Manifest.db or Manifest.mbdb.
    pub fn file_list_path(&self) -> PathBuf {
        self.root.join(match self.layout {
            Layout::ManifestDb => MANIFEST_DB,
            Layout::Mbdb => MANIFEST_MBDB,
        })
    }

    fn manifest_plist(&self) -> Result<&ManifestPlist, BackupError> {
        let detail = match &self.plists.manifest {
            PlistFile::Read(manifest) => return Ok(manifest),
            PlistFile::Missing => "is missing".to_owned(),
            PlistFile::Empty => "is empty".to_owned(),
            PlistFile::Unreadable(why) => why.clone(),
        };
        Err(BackupError::PlistUnreadable {
            path: self.root.join(MANIFEST_PLIST),
            detail: format!("Manifest.plist {detail}"),
        })
    }

    pub fn keybag(&self) -> Result<Keybag, BackupError> {
        let manifest = self.manifest_plist()?;
        let bytes = manifest
            .backup_keybag
            .as_deref()
            .ok_or_else(|| BackupError::Malformed {
                path: self.root.join(MANIFEST_PLIST),
                detail: "the backup is encrypted but Manifest.plist holds no BackupKeyBag".into(),
            })?;
        Keybag::parse(bytes).map_err(|e| match e {
            BackupError::Malformed { detail, .. } => BackupError::Malformed {
                path: self.root.join(MANIFEST_PLIST),
                detail,
            },
            other => other,
        })
    }

    /// Checks the password against the keybag: `WrongPassword` if it does not open it.
    pub fn unlock(&self, password: &Password) -> Result<UnlockedKeys, BackupError> {
        self.keybag()?.unlock(password)
    }

    /// Opens Manifest.db (decrypting it in memory when the backup is encrypted).
    pub fn open_manifest_db(&self, keys: Option<&UnlockedKeys>) -> Result<ManifestDb, BackupError> {
        let path = self.root.join(MANIFEST_DB);
        if self.layout != Layout::ManifestDb {
            return Err(BackupError::Malformed {
                path,
                detail: "this backup keeps its file list in Manifest.mbdb".into(),
            });
        }
        fs::metadata(&path).map_err(|e| BackupError::io(&path, e))?;
        // iOS 10.0 and 10.1 encrypted the files but not Manifest.db.
        if !self.is_encrypted() || manifest_db::has_sqlite_header(&path) {
            return ManifestDb::open_plain(&path);
        }
        let keys = keys.ok_or(BackupError::PasswordRequired)?;
        let manifest = self.manifest_plist()?;
        let manifest_key = manifest
            .manifest_key
            .as_deref()
            .and_then(WrappedKey::parse)
            .ok_or_else(|| BackupError::Malformed {
                path: self.root.join(MANIFEST_PLIST),
                detail: "the backup is encrypted but Manifest.plist holds no usable ManifestKey"
                    .into(),
            })?;
        let key = keys
            .unwrap(manifest_key.class, &manifest_key.wrapped)
            .map_err(|why| BackupError::DecryptFailed {
                path: path.clone(),
                detail: format!(
                    "the key of the file list (ManifestKey) cannot be unwrapped: {why}"
                ),
            })?;
        ManifestDb::open_encrypted(&path, &key)
    }

    /// Every entry of the file list. Needs the keys for an encrypted Manifest.db.
    pub fn records(&self, keys: Option<&UnlockedKeys>) -> Result<Vec<FileRecord>, BackupError> {
        match self.layout {
            Layout::ManifestDb => self.open_manifest_db(keys)?.records(),
            Layout::Mbdb => mbdb::read(&self.root.join(MANIFEST_MBDB)),
        }
    }

    /// Where the record's data lives. None for a fileID that is not 40 hex digits.
    pub fn blob_path(&self, record: &FileRecord) -> Option<PathBuf> {
        blob_relative_path(self.layout, &record.file_id).map(|rel| self.root.join(rel))
    }

    /// The key that decrypts the record's data: None when the data is stored plain.
    pub fn file_key(
        &self,
        record: &FileRecord,
        keys: Option<&UnlockedKeys>,
    ) -> Result<Option<Key256>, BackupError> {
        let Some(meta) = record.meta.as_ref().filter(|_| self.is_encrypted()) else {
            return Ok(None);
        };
        let Some(wrapped) = &meta.encryption_key else {
            return Ok(None);
        };
        let keys = keys.ok_or(BackupError::PasswordRequired)?;
        keys.unwrap_file_key(wrapped, meta.protection_class)
            .map(Some)
            .map_err(|why| BackupError::DecryptFailed {
                path: PathBuf::from(record.display_path()),
                detail: format!("the file's key cannot be unwrapped: {why}"),
            })
    }

    /// The contents of a file entry, decrypted when the backup is encrypted.
    pub fn read_file(
        &self,
        record: &FileRecord,
        keys: Option<&UnlockedKeys>,
    ) -> Result<Vec<u8>, BackupError> {
        let display = PathBuf::from(record.display_path());
        if record.kind() != EntryKind::File {
            return Err(BackupError::Malformed {
                path: display,
                detail: "this entry is not a file".into(),
            });
        }
        let meta = record.meta.as_ref().ok_or_else(|| BackupError::Malformed {
            path: display.clone(),
            detail: record
                .invalid
                .clone()
                .unwrap_or_else(|| "the record cannot be decoded".into()),
        })?;
        let blob = self
            .blob_path(record)
            .ok_or_else(|| BackupError::Malformed {
                path: display.clone(),
                detail: format!("its fileID {:?} is not 40 hex digits", record.file_id),
            })?;
        let key = self.file_key(record, keys)?;
        if self.is_encrypted() && key.is_none() && meta.size > 0 {
            return Err(BackupError::DecryptFailed {
                path: display,
                detail: "the backup is encrypted but this file has no key".into(),
            });
        }
        let mut file = fs::File::open(&blob).map_err(|e| BackupError::io(&blob, e))?;
        let on_disk = file
            .metadata()
            .map_err(|e| BackupError::io(&blob, e))?
            .len();
        // Sized from the file itself, never from a size the file list states.
        let mut out = Vec::with_capacity(usize::try_from(on_disk).unwrap_or(0));
        let Some(key) = key else {
            file.read_to_end(&mut out)
                .map_err(|e| BackupError::io(&blob, e))?;
            return Ok(out);
        };
        let mut buf = vec![0u8; READ_BUFFER];
        let result =
            crypto::decrypt_stream(&key, file, &mut buf, |_| {}, |p| out.extend_from_slice(p))
                .map_err(|e| BackupError::io(&blob, e))?;
        match result {
            Ok(len) if len == meta.size => Ok(out),
            Ok(len) => Err(BackupError::DecryptFailed {
                path: display,
                detail: format!("it decrypts to {len} bytes instead of {}", meta.size),
            }),
            Err(why) => Err(BackupError::DecryptFailed {
                path: display,
                detail: why.to_string(),
            }),
        }
    }
}
