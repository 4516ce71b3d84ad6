//! Build metadata embedded by build.rs, shown by `plugback --version` and the About box.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_HASH: &str = env!("PLUGBACK_GIT_HASH");
pub const BUILD_DATE: &str = env!("PLUGBACK_BUILD_DATE");
pub const VERSION_LINE: &str = env!("PLUGBACK_VERSION_LINE");
