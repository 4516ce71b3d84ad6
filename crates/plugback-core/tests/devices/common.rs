//! What every device test needs: finding the real tools (from `plugback_sim::peers`).

#[allow(unused_imports)]
pub use plugback_sim::peers::require_tool;
