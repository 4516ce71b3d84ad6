//! The window.

use std::path::PathBuf;

pub struct GuiOptions {
    pub extra_dirs: Vec<PathBuf>,
}

pub fn run(options: GuiOptions) -> anyhow::Result<()> {
    let _ = options;
    Ok(())
}
