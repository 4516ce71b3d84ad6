//! What every peer test needs: finding the real tools (from `plugback_sim::peers`).

pub use plugback_sim::peers::require_tool;
