use std::path::PathBuf;

/// Why a backup could not be generated. Argument problems (`OutNotEmpty`, `OutExists`,
/// `InvalidSpec`) are the caller's to fix; the rest are failures of the disk or a library.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error("{path} is not empty: choose a new or empty folder, so nothing in it is overwritten")]
    OutNotEmpty { path: PathBuf },
    #[error(
        "{path} already exists: choose a path that does not exist yet, so nothing is overwritten"
    )]
    OutExists { path: PathBuf },
    #[error("invalid backup spec: {0}")]
    InvalidSpec(String),
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not build Manifest.db: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("could not write a property list: {0}")]
    Plist(#[from] plist::Error),
    #[error("could not write the backup manifest: {0}")]
    Json(#[from] serde_json::Error),
}

impl MakeError {
    /// True when the error comes from the arguments rather than from the disk.
    pub fn is_usage_error(&self) -> bool {
        matches!(
            self,
            MakeError::OutNotEmpty { .. } | MakeError::OutExists { .. } | MakeError::InvalidSpec(_)
        )
    }
}

/// Attaches the path being written to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T, MakeError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T, MakeError> {
        self.map_err(|source| MakeError::Io {
            path: path.into(),
            source,
        })
    }
}
