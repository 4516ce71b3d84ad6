//! Problems found by verification. Codes are a public contract for scripts: never rename one.

use serde::{Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemCode {
    MissingFile,
    EmptyFile,
    PlistUnreadable,
    SnapshotUnfinished,
    ManifestDbCorrupt,
    BlobMissing,
    BlobSizeMismatch,
    BlobOrphan,
    FileidMismatch,
    PasswordRequired,
    WrongPassword,
    DecryptFailed,
    AbHeaderInvalid,
    AbTruncated,
    AbStreamCorrupt,
    TarInvalid,
    ChecksumMismatch,
    SuspiciousSize,
    /// A path inside the backup that tries to leave it (`..`, absolute, drive prefix).
    UnsafePath,
    /// The backup could not be read at all (permissions, I/O error).
    Unreadable,
    /// A manifest entry that cannot be decoded (bad record, bad JSON field).
    RecordInvalid,
    /// The whole file list cannot be read (a Plugback Android folder's JSON manifest that
    /// does not parse, or is of an unknown format or a newer version).
    ManifestUnreadable,
}

impl ProblemCode {
    pub const ALL: &'static [ProblemCode] = &[
        Self::MissingFile,
        Self::EmptyFile,
        Self::PlistUnreadable,
        Self::SnapshotUnfinished,
        Self::ManifestDbCorrupt,
        Self::BlobMissing,
        Self::BlobSizeMismatch,
        Self::BlobOrphan,
        Self::FileidMismatch,
        Self::PasswordRequired,
        Self::WrongPassword,
        Self::DecryptFailed,
        Self::AbHeaderInvalid,
        Self::AbTruncated,
        Self::AbStreamCorrupt,
        Self::TarInvalid,
        Self::ChecksumMismatch,
        Self::SuspiciousSize,
        Self::UnsafePath,
        Self::Unreadable,
        Self::RecordInvalid,
        Self::ManifestUnreadable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingFile => "missing-file",
            Self::EmptyFile => "empty-file",
            Self::PlistUnreadable => "plist-unreadable",
            Self::SnapshotUnfinished => "snapshot-unfinished",
            Self::ManifestDbCorrupt => "manifest-db-corrupt",
            Self::BlobMissing => "blob-missing",
            Self::BlobSizeMismatch => "blob-size-mismatch",
            Self::BlobOrphan => "blob-orphan",
            Self::FileidMismatch => "fileid-mismatch",
            Self::PasswordRequired => "password-required",
            Self::WrongPassword => "wrong-password",
            Self::DecryptFailed => "decrypt-failed",
            Self::AbHeaderInvalid => "ab-header-invalid",
            Self::AbTruncated => "ab-truncated",
            Self::AbStreamCorrupt => "ab-stream-corrupt",
            Self::TarInvalid => "tar-invalid",
            Self::ChecksumMismatch => "checksum-mismatch",
            Self::SuspiciousSize => "suspicious-size",
            Self::UnsafePath => "unsafe-path",
            Self::Unreadable => "unreadable",
            Self::RecordInvalid => "record-invalid",
            Self::ManifestUnreadable => "manifest-unreadable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: ProblemCode,
    pub severity: Severity,
    /// The file concerned, relative to the backup where possible
    /// (`Manifest.db`, `ab/cd…`, `HomeDomain/Library/x.plist`), or "" for the whole backup.
    pub path: String,
    /// What happened and what to do next, for a person.
    pub message: String,
}

impl Problem {
    pub fn error(code: ProblemCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(code: ProblemCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }
}
