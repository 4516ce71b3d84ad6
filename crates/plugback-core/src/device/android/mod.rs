//! Android phones through Android's own adb server.
//!
//! Plugback speaks the server's smart-socket protocol itself ([`smart_socket`]) rather
//! than through adb_client's `ADBServer`, for four reasons: adb_client runs
//! `adb start-server` before every request (a process per poll), its reads have no
//! timeout and no cancel path, its device-list parser rejects states with spaces
//! (`no permissions (…)`) and serials such as `(no serial number)`, and its
//! `track_devices` loops forever. The protocol is small (hex-length framing, OKAY/FAIL),
//! so owning it costs little. adb_client stays the tool for file transfer and installs.

pub mod key;
pub mod probe;
pub mod props;
pub mod read;
pub mod server;
pub mod shell;
pub mod smart_socket;
pub mod sync;
pub mod track;

pub use key::AdbKey;
pub use read::read;
pub use server::AdbServer;
pub use track::{DeviceTracker, TrackedDevice};
