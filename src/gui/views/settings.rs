//! The Settings window: theme, restore behaviour, the adb program, and the saved folders.
//! Each change is saved at once through the worker; the window says "Saved." or the problem.

use crate::gui::state::{AppState, Job, SettingsNote};
use eframe::egui;
use plugback_core::settings::Theme;

pub fn show(ctx: &egui::Context, state: &mut AppState, jobs: &mut Vec<Job>) {
    if state.settings_window.is_none() {
        return;
    }
    let mut open = true;
    egui::Window::new("Settings")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            theme(ui, state, jobs);
            ui.separator();
            restores(ui, state, jobs);
            ui.separator();
            adb_program(ui, state, jobs);
            ui.separator();
            folders(ui, state, jobs);
            ui.separator();
            note(ui, state);
        });
    if !open {
        state.settings_window = None;
    }
}

fn theme(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.horizontal(|ui| {
        ui.label("Theme");
        let current = state.settings.theme;
        for (choice, name) in [
            (Theme::System, "System"),
            (Theme::Dark, "Dark"),
            (Theme::Light, "Light"),
        ] {
            if ui.radio(current == choice, name).clicked() {
                jobs.extend(state.set_theme(choice));
            }
        }
    });
}

fn restores(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.strong("During restores");
    let mut notify = state.settings.restore_notifications;
    if ui
        .checkbox(&mut notify, "Show desktop notifications")
        .changed()
    {
        jobs.extend(state.change_settings(|s| s.restore_notifications = notify));
    }
    let mut awake = state.settings.keep_awake_during_restore;
    if ui.checkbox(&mut awake, "Keep the computer awake").changed() {
        jobs.extend(state.change_settings(|s| s.keep_awake_during_restore = awake));
    }
}

fn adb_program(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.strong("adb program");
    ui.label("Only needed for Android phones. Leave it empty and Plugback finds adb by itself.");
    let mut save = false;
    if let Some(window) = state.settings_window.as_mut() {
        ui.horizontal(|ui| {
            let label = ui.label("Path to adb");
            let field = egui::TextEdit::singleline(&mut window.adb_input)
                .hint_text("For example /opt/platform-tools/adb")
                .desired_width(320.0);
            let field = ui.add(field).labelled_by(label.id);
            let pressed_enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            save = ui.button("Save").clicked() || pressed_enter;
        });
    }
    if save {
        jobs.extend(state.save_adb_program());
    }
}

fn folders(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.strong("Saved backup folders");
    if state.settings.backup_folders.is_empty() {
        ui.label("None yet. Use \u{201c}Add folder…\u{201d} to add one.");
        return;
    }
    ui.weak(
        "Remove only takes a folder off this list. The folder and its backups stay as they are.",
    );
    let mut removed = None;
    for dir in &state.settings.backup_folders {
        ui.horizontal(|ui| {
            if ui
                .button("Remove")
                .on_hover_text(format!("Stop searching {}", dir.display()))
                .clicked()
            {
                removed = Some(dir.clone());
            }
            ui.label(dir.display().to_string());
        });
    }
    if let Some(dir) = removed {
        jobs.extend(state.remove_folder(&dir));
    }
}

fn note(ui: &mut egui::Ui, state: &AppState) {
    let note = state.settings_window.as_ref().and_then(|w| w.note.as_ref());
    match note {
        Some(SettingsNote::Saving) => {
            ui.label("Saving…");
        }
        Some(SettingsNote::Saved) => {
            ui.label("Saved.");
        }
        Some(SettingsNote::Problem(text)) => {
            ui.colored_label(ui.visuals().warn_fg_color, text);
        }
        None => {
            if let Some(reason) = state.settings_not_saved_reason() {
                ui.weak(reason);
            } else {
                ui.weak("Changes are saved as you make them.");
            }
        }
    }
}
