//! The window: shows the phones plugged in, lists the backups on this computer, shows
//! one's details, verifies it.
//!
//! The UI thread never touches files or phones: `worker` runs scans, counts, verification,
//! settings, the phone watcher and pairing on background threads that report typed events;
//! `state` holds the logic, `views` draw it, `app` ties them together.

mod app;
pub mod format;
pub mod phones;
pub mod state;
mod views;
mod worker;

pub use app::PlugbackApp;
pub use state::AppConfig;

use eframe::egui;
use std::path::PathBuf;

pub struct GuiOptions {
    /// Folders to search besides the usual places and the saved ones (`--dir`).
    pub extra_dirs: Vec<PathBuf>,
}

/// Opens the window and returns when it closes.
pub fn run(options: GuiOptions) -> anyhow::Result<()> {
    let config = AppConfig::for_this_computer(options.extra_dirs);
    let native = eframe::NativeOptions {
        // glow: light to build, and runs on software OpenGL where there is no GPU.
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title("Plugback")
            .with_app_id("plugback")
            .with_inner_size([1180.0, 720.0])
            .with_min_inner_size([760.0, 480.0]),
        ..Default::default()
    };
    eframe::run_native(
        "Plugback",
        native,
        Box::new(|cc| Ok(Box::new(PlugbackApp::new(cc, config)))),
    )
    .map_err(|err| anyhow::anyhow!("Plugback could not open its window: {err}"))
}
