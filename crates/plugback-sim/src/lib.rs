//! Simulated phones and generated backups for Plugback's tests, benchmarks and demo mode.
//!
//! Nothing here shares code with Plugback's own readers and transports: a generator that
//! reused the reader's code would agree with the reader's bugs.

pub mod fingerprint;
pub mod make_backup;

pub use fingerprint::tree_hashes;
