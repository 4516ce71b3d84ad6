//! Manifest.db, the file index of iOS 10+ backups: built in memory (so the plaintext of an
//! encrypted backup never touches the disk) and returned as the bytes of a SQLite file with
//! the schema, indexes and header settings of a real one.

use super::tree::Entry;
use rusqlite::{Connection, MAIN_DB, params};

pub(crate) struct ManifestDb {
    conn: Connection,
}

impl ManifestDb {
    pub(crate) fn new() -> Result<ManifestDb, rusqlite::Error> {
        let conn = Connection::open_in_memory()?;
        // Page size, auto-vacuum and user_version as in a real iOS 14 Manifest.db.
        conn.execute_batch(
            "PRAGMA page_size = 4096;
             PRAGMA auto_vacuum = INCREMENTAL;
             PRAGMA user_version = 2;
             CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
             CREATE INDEX FilesDomainIdx ON Files(domain);
             CREATE INDEX FilesRelativePathIdx ON Files(relativePath);
             CREATE INDEX FilesFlagsIdx ON Files(flags);
             CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);
             BEGIN;",
        )?;
        Ok(ManifestDb { conn })
    }

    pub(crate) fn insert(
        &mut self,
        entry: &Entry,
        file_id: &str,
        archived: &[u8],
    ) -> Result<(), rusqlite::Error> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        insert.execute(params![
            file_id,
            entry.domain,
            entry.path,
            entry.flags(),
            archived
        ])?;
        Ok(())
    }

    /// Commits and returns the database file's bytes.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, rusqlite::Error> {
        self.conn.execute_batch("COMMIT;")?;
        let mut bytes = self.conn.serialize(MAIN_DB)?.to_vec();
        mark_wal(&mut bytes);
        Ok(bytes)
    }
}

/// Real Manifest.db files are in WAL journal mode (checkpointed, with no -wal file left).
/// An in-memory database cannot be switched to WAL, so set the two header bytes that
/// record it (file format write/read version: 1 = rollback journal, 2 = WAL). Readers must
/// cope with this, e.g. when they deserialize a decrypted Manifest.db.
fn mark_wal(bytes: &mut [u8]) {
    if let Some(versions) = bytes.get_mut(18..20) {
        versions.copy_from_slice(&[2, 2]);
    }
}
