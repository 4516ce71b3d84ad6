//! Backup-layer integration tests, in one binary (each tests/*.rs links on its own, and
//! links are slow): real fixtures, generated backups and the bad-input corpus.

mod android_fixtures;
mod common;
mod ios_fixtures;
mod mutations;
