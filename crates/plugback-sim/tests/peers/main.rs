//! The simulated phones, checked against real third-party clients: libimobiledevice's
//! tools, the pinned `idevice` crate, Android's adb server and `adb_client`.
//!
//! Tests that need a tool that is not installed print a notice and pass, unless
//! PLUGBACK_REQUIRE_PEERS=1 (as in CI), where they fail.

mod android_adb;
mod android_adb_client;
mod android_sync;
mod iphone_backup2;
mod iphone_idevice;
mod iphone_idevice_restore;
mod iphone_tools;
