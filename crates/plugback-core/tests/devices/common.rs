//! What every device test needs: finding the real tools.

use std::path::PathBuf;

/// Finds `tool` on the PATH. When it is missing, returns None after a notice, or panics
/// when PLUGBACK_REQUIRE_PEERS=1 so that CI cannot skip silently.
#[allow(dead_code)]
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("PLUGBACK_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{tool} is required (PLUGBACK_REQUIRE_PEERS=1) but is not on the PATH");
        }
        eprintln!("notice: {tool} is not installed; skipping this test");
    }
    found
}
