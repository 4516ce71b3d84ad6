//! The window: shows the phones plugged in, lists the backups on this computer, shows
//! one's details, verifies it.
//!
//! The UI thread never touches files or phones: `worker` runs scans, counts, verification,
//! settings, the phone watcher and pairing on background threads that report typed events;
//! `state` holds the logic, `views` draw it, `app` ties them together.

mod app;
pub mod backup_table;
pub mod demo;
pub mod demo_offer;
pub mod doctor;
pub mod files;
pub mod format;
pub mod health;
mod icon;
pub mod logs;
pub mod phones;
pub mod restore;
pub mod screenshot;
pub mod state;
pub mod test_restore;
mod views;
mod worker;

pub use app::PlugbackApp;
pub use state::AppConfig;
/// The button that opens the demo while no phone is plugged in.
pub use views::demo::TRY_THE_DEMO;
/// The file browser's view, public for the frame-time benchmark.
pub use views::files as files_view;

use eframe::egui;
use std::path::PathBuf;

pub struct GuiOptions {
    /// Folders to search besides the usual places and the saved ones (`--dir`).
    pub extra_dirs: Vec<PathBuf>,
    /// Demo mode (`--demo`): simulated phones and sample backups instead of this
    /// computer's; `extra_dirs` are not searched then.
    pub demo: bool,
    /// `--screenshot FILE --view VIEW` (demo mode only): capture one view and close.
    pub screenshot: Option<screenshot::ScreenshotRequest>,
}

/// The window's size when it opens, in points (the screenshots' size at scale 1).
pub const WINDOW_SIZE: [f32; 2] = [1180.0, 720.0];

fn with_icon(viewport: egui::ViewportBuilder) -> egui::ViewportBuilder {
    match icon::window_icon() {
        Some(icon) => viewport.with_icon(icon),
        None => viewport,
    }
}

/// Opens the window and returns when it closes.
pub fn run(options: GuiOptions) -> anyhow::Result<()> {
    // The demo starts before the window opens (its files and simulators are never set up
    // on the UI thread), and stops after it closes: it outlives every job that uses it.
    let demo = if options.demo {
        let started = crate::demo::Demo::start(&plugback_core::cancel::CancelToken::new())
            .map_err(|err| anyhow::anyhow!("The demo could not start: {err}"))?;
        Some(std::sync::Arc::new(started))
    } else {
        None
    };
    let config = match &demo {
        Some(demo) => demo::demo_config(demo),
        None => AppConfig::for_this_computer(options.extra_dirs),
    };
    let captured = options
        .screenshot
        .as_ref()
        .map(|_| screenshot::Outcome::default());
    let shot = options
        .screenshot
        .zip(captured.clone())
        .map(|(request, outcome)| screenshot::Screenshot::new(request, outcome));
    let native = eframe::NativeOptions {
        // glow: light to build, and runs on software OpenGL where there is no GPU.
        renderer: eframe::Renderer::Glow,
        viewport: with_icon(egui::ViewportBuilder::default())
            .with_title("Plugback")
            // The desktop file's name: the desktop matches the window to it (and its icon).
            .with_app_id("org.plugback.Plugback")
            .with_inner_size(WINDOW_SIZE)
            .with_min_inner_size([760.0, 480.0]),
        ..Default::default()
    };
    let opened = eframe::run_native(
        "Plugback",
        native,
        Box::new(move |cc| {
            let app = PlugbackApp::new(cc, config);
            Ok(Box::new(match shot {
                Some(shot) => app.with_screenshot(shot),
                None => app,
            }))
        }),
    )
    .map_err(|err| anyhow::anyhow!("Plugback could not open its window: {err}"));
    // Stops the simulators and the demo's adb server, and removes its folder.
    drop(demo);
    opened?;
    match captured.map(|outcome| outcome.lock().ok().and_then(|o| o.clone())) {
        None | Some(Some(Ok(()))) => Ok(()),
        Some(Some(Err(why))) => Err(anyhow::anyhow!("No screenshot: {why}")),
        Some(None) => Err(anyhow::anyhow!(
            "No screenshot: the window closed before it was taken"
        )),
    }
}
