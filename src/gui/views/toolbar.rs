//! The bar along the top: rescan, add a folder, explain an error, logs, settings, about,
//! and what Plugback is doing.

use crate::gui::state::{AppState, FolderNote, Job, ScanState};
use eframe::egui;

pub fn show(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.horizontal(|ui| {
        ui.heading("Plugback");
        ui.separator();
        if ui
            .button("Rescan")
            .on_hover_text("Look for backups again")
            .clicked()
        {
            jobs.extend(state.rescan());
        }
        if ui
            .button("Add folder…")
            .on_hover_text("Search another folder for backups")
            .clicked()
        {
            jobs.extend(state.open_folder_form());
        }
        if ui
            .button("Explain an error…")
            .on_hover_text("What an error number or message means, and what to do")
            .clicked()
        {
            state.explainer.get_or_insert_with(String::new);
        }
        if ui
            .button("Logs")
            .on_hover_text("Read the logs of past restores, or export diagnostics to ask for help")
            .clicked()
        {
            jobs.extend(state.open_logs());
        }
        let loaded = state.scan != ScanState::LoadingSettings;
        if ui
            .add_enabled(loaded, egui::Button::new("Settings…"))
            .on_hover_text("Theme, restores, the adb program and saved folders")
            .clicked()
        {
            state.open_settings();
        }
        if ui
            .button("About")
            .on_hover_text("Plugback's version, for a report of a problem")
            .clicked()
        {
            state.about_open = true;
        }
        match state.scan {
            ScanState::LoadingSettings => {
                ui.label("Reading settings…");
            }
            ScanState::Scanning => {
                ui.label("Looking for backups…");
            }
            ScanState::Done => {}
        }
    });
    if state.folder_form_open {
        folder_form(ui, state, jobs);
    }
    match &state.folder_note {
        Some(FolderNote::Added(text)) => {
            ui.label(text);
        }
        Some(FolderNote::Problem(text)) => {
            ui.colored_label(ui.visuals().warn_fg_color, text);
        }
        Some(FolderNote::Adding(_)) | None => {}
    }
    if let Some(problem) = &state.settings_problem {
        ui.colored_label(ui.visuals().warn_fg_color, problem);
    }
}

fn folder_form(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.horizontal(|ui| {
        let label = ui.label("Folder to add");
        let field = egui::TextEdit::singleline(&mut state.folder_input)
            .hint_text("For example /media/usb/Backups")
            .desired_width(360.0);
        let field = ui.add(field).labelled_by(label.id);
        let pressed_enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let busy = matches!(state.folder_note, Some(FolderNote::Adding(_)));
        if ui.add_enabled(!busy, egui::Button::new("Add")).clicked() || (pressed_enter && !busy) {
            jobs.extend(state.add_folder());
        }
        if ui.button("Close").clicked() {
            state.folder_form_open = false;
        }
        if busy {
            ui.label("Checking the folder…");
        }
        if state.folder_picking {
            ui.label("Choose the folder in the window that opened, or type its path here.");
        }
    });
    if let Some(reason) = state.folders_not_remembered_reason() {
        ui.weak(reason);
    }
}
