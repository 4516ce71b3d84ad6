//! The list of backups found on this computer, the ones that could not be read, and what
//! to do when there are none.

use crate::gui::format;
use crate::gui::state::{AppState, Job, ScanState};
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use plugback_core::backup::BackupSummary;
use plugback_core::explain::explain;
use std::path::PathBuf;

pub fn show(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    ui.heading("Backups on this computer");
    if let Some(problem) = &state.scan_problem {
        ui.colored_label(ui.visuals().warn_fg_color, problem);
    }
    let nothing_found = state.backups.is_empty() && state.unreadable.is_empty();
    if nothing_found {
        if state.scan == ScanState::Done {
            empty_state(ui, state);
        }
        return;
    }
    // Both ways: on a narrow window the table scrolls rather than losing columns.
    egui::ScrollArea::both()
        .id_salt("backups-page")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if !state.backups.is_empty()
                && let Some(path) = table(ui, state)
            {
                jobs.extend(state.select(&path));
            }
            unreadable(ui, state);
        });
}

/// Draws the table; returns the backup the person picked this frame.
fn table(ui: &mut egui::Ui, state: &AppState) -> Option<PathBuf> {
    let mut picked = None;
    TableBuilder::new(ui)
        .id_salt("backups-table")
        .striped(true)
        .vscroll(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::auto().at_least(120.0).resizable(true))
        .column(Column::auto().at_least(80.0).resizable(true))
        .column(Column::auto().at_least(110.0).resizable(true))
        .column(Column::auto())
        .column(Column::auto())
        .column(Column::auto())
        .column(Column::remainder().at_least(80.0))
        .header(22.0, |mut header| {
            for title in [
                "Device",
                "Model",
                "Date",
                "OS",
                "Type",
                "Encrypted",
                "State",
            ] {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|mut body| {
            for backup in &state.backups {
                let selected = state.selected.as_ref() == Some(&backup.path);
                body.row(24.0, |mut row| {
                    row.set_selected(selected);
                    row.col(|ui| {
                        if ui
                            .selectable_label(selected, device_label(backup))
                            .clicked()
                        {
                            picked = Some(backup.path.clone());
                        }
                    });
                    row.col(|ui| {
                        ui.label(backup.model.as_deref().unwrap_or("Unknown"));
                    });
                    row.col(|ui| {
                        ui.label(format::local_date(backup.date_unix));
                    });
                    row.col(|ui| {
                        ui.label(os_label(backup));
                    });
                    row.col(|ui| {
                        ui.label(format::kind(backup.kind));
                    });
                    row.col(|ui| {
                        ui.label(format::yes_no(backup.encrypted));
                    });
                    row.col(|ui| {
                        ui.label(format::snapshot(backup.snapshot));
                    });
                });
            }
        });
    picked
}

/// The name a person gave the phone, else the backup's file or folder name.
pub fn device_label(backup: &BackupSummary) -> String {
    backup.device_name.clone().unwrap_or_else(|| {
        backup
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| backup.path.display().to_string())
    })
}

/// "iOS 17.2", "Android 14", or "Unknown".
pub fn os_label(backup: &BackupSummary) -> String {
    match &backup.os_version {
        Some(v) if backup.kind.is_ios() => format!("iOS {v}"),
        Some(v) => format!("Android {v}"),
        None => "Unknown".to_owned(),
    }
}

fn unreadable(ui: &mut egui::Ui, state: &AppState) {
    if state.unreadable.is_empty() {
        return;
    }
    ui.add_space(12.0);
    ui.heading("Found but could not be read");
    for item in &state.unreadable {
        ui.add_space(4.0);
        ui.label(egui::RichText::new(item.path.display().to_string()).strong());
        ui.add(egui::Label::new(&item.failure.message).wrap());
        if let Some(e) = item.failure.code.and_then(explain) {
            ui.add(egui::Label::new(e.what_to_do).wrap());
        }
    }
}

fn empty_state(ui: &mut egui::Ui, state: &AppState) {
    ui.add_space(8.0);
    ui.label(egui::RichText::new("No phone backups found.").strong());
    if state.searched.is_empty() {
        ui.label("Plugback had no folders to look in.");
    } else {
        ui.label("Plugback looked in:");
        for folder in &state.searched {
            let note = if folder.exists {
                ""
            } else {
                " (this folder does not exist)"
            };
            ui.label(format!("• {}{note}", folder.path.display()));
        }
    }
    ui.add_space(8.0);
    ui.add(
        egui::Label::new(
            "If your backups are somewhere else (another disk, a copied folder), press \
             \u{201c}Add folder…\u{201d} above and type the path of the folder that holds them.",
        )
        .wrap(),
    );
}
