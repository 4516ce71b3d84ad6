//! The private adb server every Android peer test uses (from `plugback_sim::peers`).

pub use plugback_sim::peers::*;
