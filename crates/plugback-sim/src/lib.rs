//! Simulated phones and generated backups for Plugback's tests, benchmarks and demo mode.
//!
//! Nothing here shares code with Plugback's own readers and transports: a generator that
//! reused the reader's code would agree with the reader's bugs, and a simulator that reused
//! the transport's code would agree with the transport's.

pub mod android;
pub mod control;
pub mod fault;
pub mod fingerprint;
pub mod iphone;
pub mod make_backup;
pub mod peers;

pub use fingerprint::tree_hashes;
