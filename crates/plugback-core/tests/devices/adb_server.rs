//! The private adb server the Android device tests use (from `plugback_sim::peers`).

pub use plugback_sim::peers::*;
