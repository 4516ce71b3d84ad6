//! The device layer against the simulated phones (and, for Android, a private adb server).
//!
//! Tests that need a tool that is not installed print a notice and pass, unless
//! PLUGBACK_REQUIRE_PEERS=1 (as in CI), where they fail.

mod health;
mod ios;
mod ios_restore;
mod job_support;
mod restore_jobs;
mod watcher;

// Android (a private adb server per test comes from `plugback_sim::peers`).
mod android;
mod android_apps;
mod android_health;
mod android_jobs;
mod android_restore;
