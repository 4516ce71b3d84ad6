//! The Plugback app: its two front ends over `plugback-core`.
//! - `gui`: the eframe window (no I/O on the UI thread).
//! - `cli`: the same engine for scripts.

pub mod build_info;
pub mod cli;
pub mod gui;
pub mod text;
