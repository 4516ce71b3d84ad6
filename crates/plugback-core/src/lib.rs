//! Plugback's engine and backup formats. Nothing here depends on a GUI.
//!
//! Layers, dependencies pointing down only:
//! - `backup`: backup formats (iOS folders, Android `.ab`, Plugback Android folders),
//!   the catalog of backups on this computer, and offline verification.
//! - `explain`: the plain-language catalog for every stable code in every layer.
//! - `device`: phones plugged into this computer (transports, USB presence, health).
//! - `jobs`: a restore as a job: progress, log, report, the stay-plugged-in watchdog.
//! - `preflight`: the checklist before a restore (backup, phone, connection, computer).
//! - `restore`: the restore engine (events, the iPhone and Android restores).
//! - `doctor`: what this computer needs for phones (usbmuxd, adb, USB access, sleep, notifications).
//! - small shared pieces: `secret` (passwords), `cancel` (cancel tokens), `finding`.

pub mod backup;
pub mod cancel;
pub mod device;
pub mod diagnostics;
pub mod doctor;
pub mod explain;
pub mod finding;
pub mod jobs;
pub mod preflight;
pub mod program;
pub mod restore;
pub mod secret;
pub mod settings;
