//! The backup layer: formats, the catalog of backups on this computer, and verification.
//! It knows nothing of phones or of the UI.

pub mod android;
pub mod catalog;
pub mod error;
pub mod ios;
pub mod listing;
pub mod models;
pub mod safe_path;
pub mod summary;
pub mod verify;

pub use error::BackupError;
pub use summary::{BackupKind, BackupSummary, SnapshotState};
