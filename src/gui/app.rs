//! The window's app: owns the state, hands jobs to the worker, drains its events each
//! frame, and lays out the views.

use super::screenshot::Screenshot;
use super::state::{AppConfig, AppState, Event, Job};
use super::views;
use super::worker::Worker;
use eframe::egui;
use plugback_core::settings::Theme;
use std::sync::mpsc::Receiver;

pub struct PlugbackApp {
    state: AppState,
    worker: Worker,
    events: Receiver<Event>,
    /// The theme last given to egui, so it is set only when the settings change it.
    applied_theme: Option<Theme>,
    /// `--screenshot`: drives the window to one view and captures it.
    screenshot: Option<Screenshot>,
}

impl PlugbackApp {
    /// Starts loading settings, scanning and watching for phones at once, in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, mut config: AppConfig) -> Self {
        let (mut worker, events) = Worker::new(cc.egui_ctx.clone(), config.settings_path.clone());
        worker.log_restores_to(config.log_dir.clone());
        let (state, jobs) = AppState::new(&config);
        if let Some(sources) = config.phones.take() {
            worker.watch_phones(sources);
        }
        let app = Self {
            state,
            worker,
            events,
            applied_theme: None,
            screenshot: None,
        };
        app.start(jobs);
        app
    }

    /// Captures one view of this window to a PNG, then closes it.
    pub fn with_screenshot(mut self, screenshot: Screenshot) -> Self {
        self.screenshot = Some(screenshot);
        self
    }

    /// What the window knows (for tests and, later, other panels).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What the window knows, to change from outside (tests asking for an export to a
    /// file without the dialog); jobs it asks for start at the next frame.
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    fn start(&self, jobs: Vec<Job>) {
        for job in jobs {
            self.worker.spawn(job);
        }
    }

    /// Follows the saved theme: at start once settings are loaded, and at once on a change.
    fn apply_theme(&mut self, ctx: &egui::Context) {
        let theme = self.state.settings.theme;
        if self.applied_theme == Some(theme) {
            return;
        }
        ctx.set_theme(match theme {
            Theme::System => egui::ThemePreference::System,
            Theme::Dark => egui::ThemePreference::Dark,
            Theme::Light => egui::ThemePreference::Light,
        });
        self.applied_theme = Some(theme);
    }

    fn drain_events(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            let jobs = self.state.apply(event);
            self.start(jobs);
        }
    }
}

impl eframe::App for PlugbackApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events();
        self.apply_theme(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut jobs = Vec::new();
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.add_space(4.0);
            views::toolbar::show(ui, &mut self.state, &mut jobs);
            views::demo::banner(ui, &mut self.state, &mut jobs);
            ui.add_space(4.0);
        });
        egui::Panel::right("details")
            .default_size(440.0)
            .min_size(300.0)
            .show(ui, |ui| {
                // A panel shrinks to its contents: keep the width it was given.
                ui.set_min_width(ui.available_width());
                views::details::show(ui, &mut self.state, &mut jobs);
            });
        if self.state.phones.watching {
            egui::Panel::left("phones")
                .default_size(300.0)
                .min_size(240.0)
                .show(ui, |ui| {
                    ui.set_min_width(ui.available_width());
                    views::first_run::show(ui, &self.state);
                    views::phones::show(ui, &mut self.state, &mut jobs);
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            views::backups::show(ui, &mut self.state, &mut jobs);
        });
        views::explainer::show(ui.ctx(), &mut self.state.explainer);
        views::about::show(ui.ctx(), &mut self.state.about_open);
        views::settings::show(ui.ctx(), &mut self.state, &mut jobs);
        views::health::show(ui.ctx(), &mut self.state);
        views::logs::show(ui.ctx(), &mut self.state, &mut jobs);
        views::restore::show(ui.ctx(), &mut self.state, &mut jobs);
        // Last: the overlay covers everything else while a phone is lost mid-restore.
        views::watchdog::show(ui.ctx(), &mut self.state, &mut jobs);
        if let Some(shot) = &mut self.screenshot {
            shot.frame(ui.ctx(), &mut self.state, &mut jobs);
        }
        self.start(jobs);
        // A theme chosen this frame shows from the next one, not a frame later.
        self.apply_theme(ui.ctx());
    }
}

impl Drop for PlugbackApp {
    /// A check or a pairing still running when the window closes is stopped rather than
    /// left waiting; the phone watcher stops as the worker drops.
    fn drop(&mut self) {
        self.state.cancel_verify();
        self.state.phones.cancel_all_pairing();
        self.state.restores.cancel_all();
        self.state.health.cancel_all();
        self.state.test_restores.cancel_all();
    }
}
