//! The one error type of the backup layer. Each variant has a stable code that
//! `crate::explain` turns into words for a person.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a phone backup Plugback recognises")]
    NotABackup { path: PathBuf },
    #[error("{path}: {detail}")]
    PlistUnreadable { path: PathBuf, detail: String },
    #[error("{path}: the file list database is damaged: {detail}")]
    ManifestDbCorrupt { path: PathBuf, detail: String },
    #[error("{path}: {detail}")]
    Malformed { path: PathBuf, detail: String },
    #[error("this backup is encrypted and needs its password")]
    PasswordRequired,
    #[error("the password does not open this backup")]
    WrongPassword,
    #[error("{path}: could not decrypt: {detail}")]
    DecryptFailed { path: PathBuf, detail: String },
    #[error("{path}: the Android backup header is invalid: {detail}")]
    AbHeaderInvalid { path: PathBuf, detail: String },
    #[error("{path}: the Android backup ends too early")]
    AbTruncated { path: PathBuf },
    #[error("{path}: the Android backup data is damaged: {detail}")]
    AbStreamCorrupt { path: PathBuf, detail: String },
    #[error("{path}: the archive inside the backup is damaged: {detail}")]
    TarInvalid { path: PathBuf, detail: String },
    #[error("cancelled")]
    Cancelled,
}

impl BackupError {
    /// Stable, public code: scripts and the explanation catalog depend on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io-error",
            Self::NotABackup { .. } => "not-a-backup",
            Self::PlistUnreadable { .. } => "plist-unreadable",
            Self::ManifestDbCorrupt { .. } => "manifest-db-corrupt",
            Self::Malformed { .. } => "malformed",
            Self::PasswordRequired => "password-required",
            Self::WrongPassword => "wrong-password",
            Self::DecryptFailed { .. } => "decrypt-failed",
            Self::AbHeaderInvalid { .. } => "ab-header-invalid",
            Self::AbTruncated { .. } => "ab-truncated",
            Self::AbStreamCorrupt { .. } => "ab-stream-corrupt",
            Self::TarInvalid { .. } => "tar-invalid",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
