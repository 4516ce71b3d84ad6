//! The Plugback app: its two front ends over `plugback-core`.
//! - `gui`: the eframe window (no I/O on the UI thread).
//! - `cli`: the same engine for scripts.
//! - `test_restore`: a restore into a simulated phone, to prove a backup restores.

pub mod build_info;
pub mod cli;
pub mod gui;
pub mod test_restore;
pub mod text;
