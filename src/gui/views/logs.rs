//! The "Restore logs" window: the job logs, newest first; the events of the one picked;
//! and Export diagnostics.

use crate::gui::logs::{ExportNote, Listing, LogOutcome, LogsView, Reading};
use crate::gui::state::{AppState, Job};
use eframe::egui;
use plugback_core::explain::explain;
use std::path::PathBuf;

pub const TITLE: &str = "Restore logs";

pub fn show(ctx: &egui::Context, state: &mut AppState, jobs: &mut Vec<Job>) {
    // An export asked for with its file chosen starts whether or not the window is open.
    jobs.extend(state.take_requested_export());
    if !state.logs.open {
        return;
    }
    let mut open = true;
    let mut picked: Option<PathBuf> = None;
    let (mut refresh, mut export) = (false, false);
    egui::Window::new(TITLE)
        .open(&mut open)
        .default_size([820.0, 520.0])
        .collapsible(false)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                refresh = ui
                    .button("Refresh")
                    .on_hover_text("Read the log folder again")
                    .clicked();
                export = ui
                    .add_enabled(
                        !state.logs.is_exporting(),
                        egui::Button::new("Export diagnostics…"),
                    )
                    .on_hover_text(
                        "Save one file with the logs and this computer's check, to send when you ask for help. Phones are numbered; names and passwords are left out.",
                    )
                    .clicked();
            });
            export_note(ui, &state.logs);
            ui.separator();
            list(ui, &state.logs, &mut picked);
            ui.separator();
            lines(ui, &state.logs);
        });
    if !open {
        state.logs.open = false;
    }
    if refresh {
        jobs.extend(state.refresh_logs());
    }
    if export {
        jobs.extend(state.export_diagnostics());
    }
    if let Some(path) = picked {
        jobs.extend(state.select_log(&path));
    }
}

fn export_note(ui: &mut egui::Ui, logs: &LogsView) {
    match &logs.export {
        None => {}
        Some(ExportNote::Exporting) => {
            ui.label("Writing the diagnostics file…");
        }
        Some(ExportNote::Done(done)) => {
            ui.add(egui::Label::new(done.words()).wrap());
        }
        Some(ExportNote::NotSaved) => {
            ui.label("No file was chosen, so nothing was saved. If no save window appeared, this desktop offers none to Plugback: use plugback diagnostics --out FILE in a terminal instead.");
        }
        Some(ExportNote::Failed(failure)) => {
            ui.colored_label(ui.visuals().warn_fg_color, &failure.message);
            if let Some(entry) = failure.code.and_then(explain) {
                ui.add(egui::Label::new(format!("What to do: {}", entry.what_to_do)).wrap());
            }
        }
    }
}

fn list(ui: &mut egui::Ui, logs: &LogsView, picked: &mut Option<PathBuf>) {
    match &logs.listing {
        Listing::Loading => {
            ui.label("Reading the logs…");
        }
        Listing::Failed(failure) => {
            ui.colored_label(ui.visuals().warn_fg_color, &failure.message);
        }
        Listing::Ready(found) if found.is_empty() => {
            let place = logs
                .dir()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default();
            ui.label(format!(
                "No restore logs yet{place}. Each restore writes one, so you can read later what happened."
            ));
        }
        Listing::Ready(found) => {
            egui::ScrollArea::vertical()
                .id_salt("log-list")
                .max_height(180.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for log in found {
                        let selected = logs.selected.as_deref() == Some(log.path.as_path());
                        ui.horizontal(|ui| {
                            if ui.selectable_label(selected, &log.name).clicked() {
                                *picked = Some(log.path.clone());
                            }
                            let text = log.describe();
                            match &log.outcome {
                                LogOutcome::Failed(why) => {
                                    ui.colored_label(ui.visuals().warn_fg_color, text)
                                        .on_hover_text(why);
                                }
                                _ => {
                                    ui.label(text);
                                }
                            }
                        });
                    }
                });
        }
    }
}

fn lines(ui: &mut egui::Ui, logs: &LogsView) {
    let Some(reading) = &logs.reading else {
        ui.label("Pick a log to read what happened during that restore.");
        return;
    };
    match reading {
        Reading::Loading => {
            ui.label("Reading the log…");
        }
        Reading::Failed(failure) => {
            ui.colored_label(ui.visuals().warn_fg_color, &failure.message);
        }
        Reading::Ready(read) => {
            if read.earlier_left_out {
                ui.weak(format!(
                    "Only the last {} lines are shown.",
                    crate::gui::logs::MAX_LINES
                ));
            }
            if read.unreadable > 0 {
                ui.weak(format!(
                    "{} lines could not be read and are left out.",
                    read.unreadable
                ));
            }
            if read.lines.is_empty() {
                ui.label("This log is empty.");
                return;
            }
            let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
            egui::ScrollArea::vertical()
                .id_salt("log-lines")
                .auto_shrink([false, false])
                .stick_to_bottom(true)
                .show_rows(ui, row_height, read.lines.len(), |ui, rows| {
                    for line in &read.lines[rows] {
                        ui.add(
                            egui::Label::new(egui::RichText::new(line.text()).monospace())
                                .truncate(),
                        )
                        .on_hover_text(&line.message);
                    }
                });
        }
    }
}
