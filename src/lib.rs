//! The Plugback app: its two front ends over `plugback-core`.
//! - `gui`: the eframe window (no I/O on the UI thread).
//! - `cli`: the same engine for scripts.
//! - `test_restore`: a restore into a simulated phone, to prove a backup restores.
//! - `demo`: demo mode's simulated phones and sample backups (`plugback --demo`).

pub mod build_info;
pub mod cli;
pub mod demo;
pub mod gui;
pub mod test_restore;
pub mod text;
