//! The restore engine: getting a person's data back onto their phone over a cable.
//!
//! - `event`: what a running restore reports (phase, bytes, files, the current item) and
//!   the sink it reports to.
//! - `error`: the engine's one error type, each variant with a stable code.
//! - `ios`: the iPhone restore (mobilebackup2, with a read-only, confined file server).
//! - `android`: the Android restore (files over Plugback's own sync client).

pub mod android;
pub mod error;
pub mod event;
pub mod ios;

pub use error::RestoreError;
pub use event::{Phase, Progress, RestoreEvent, Sink};
