//! The simulated Android phone: an adbd over TCP that Android's own adb server attaches
//! with `adb connect`.
//!
//! Each connection runs on a thread of its own, and each stream's service on another,
//! with blocking I/O: a simulator serves a handful of connections, and threads keep the
//! code plain.

pub mod auth;
mod commands;
pub mod faults;
mod install;
pub mod phone;
pub mod restore;
pub mod shell;
pub mod sim;
pub mod storage;
pub mod sync;
pub mod transport;
pub mod wire;
pub(crate) mod zip;

pub use install::text_manifest_apk;
pub use phone::{AndroidConfig, AndroidPhone, AuthMode, RestoreConfirmation};
pub use sim::SimAndroid;
pub use storage::{Storage, StorageError};
pub use transport::StreamIo;
