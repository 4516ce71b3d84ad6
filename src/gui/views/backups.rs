//! The list of backups found on this computer, the ones that could not be read, and what
//! to do when there are none.

use crate::gui::backup_table::Column as Col;
use crate::gui::format;
use crate::gui::state::{AppState, Job, ScanState, StatsState};
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
            if !state.backups.is_empty() {
                filter(ui, state);
                if let Some(path) = table(ui, state) {
                    jobs.extend(state.select(&path));
                }
            }
            unreadable(ui, state);
        });
}

/// "Only the phones plugged in", offered while a phone is plugged in.
fn filter(ui: &mut egui::Ui, state: &mut AppState) {
    if state.phones.devices.is_empty() {
        state.backup_table.only_plugged_in = false;
        return;
    }
    ui.checkbox(
        &mut state.backup_table.only_plugged_in,
        "Only backups of the phones plugged in",
    );
}

/// Draws the table; returns the backup the person picked this frame.
fn table(ui: &mut egui::Ui, state: &mut AppState) -> Option<PathBuf> {
    let plugged_in: Vec<&str> = state.phones.devices.iter().map(|d| d.id.as_str()).collect();
    let size = |b: &BackupSummary| match state.stats.get(&b.path) {
        Some(StatsState::Ready(stats)) => Some(stats.total_bytes),
        _ => None,
    };
    let rows = state.backup_table.rows(&state.backups, &plugged_in, size);
    if rows.is_empty() {
        ui.add(
            egui::Label::new(
                "No backup of the phones plugged in is on this computer. Untick the box to see \
                 every backup.",
            )
            .wrap(),
        );
        return None;
    }
    let mut picked = None;
    let mut sort_by = None;
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
        .column(Column::auto().at_least(60.0))
        .column(Column::auto())
        .column(Column::remainder().at_least(80.0))
        .header(22.0, |mut header| {
            for column in Col::ALL {
                header.col(|ui| {
                    if sort_header(ui, column, state.backup_table.sorted_by(column)) {
                        sort_by = Some(column);
                    }
                });
            }
        })
        .body(|mut body| {
            for backup in rows {
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
                        ui.label(size_label(state.stats.get(&backup.path)));
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
    if let Some(column) = sort_by {
        state.backup_table.clicked(column);
    }
    picked
}

/// A column's title, a click sorting by it; the sorted column carries a small triangle
/// pointing the way the order goes (drawn: egui's bundled fonts have no arrows).
fn sort_header(ui: &mut egui::Ui, column: Col, sorted: Option<bool>) -> bool {
    let title = egui::RichText::new(column.title()).strong();
    let hover = match sorted {
        None => format!("Sort by {}", column.title().to_lowercase()),
        Some(true) => "Sorted downwards: click to turn the order round".to_owned(),
        Some(false) => "Sorted upwards: click to turn the order round".to_owned(),
    };
    let clicked = ui
        .selectable_label(sorted.is_some(), title)
        .on_hover_text(hover)
        .clicked();
    if let Some(down) = sorted {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        let (top, bottom) = (rect.top() + 2.0, rect.bottom() - 2.0);
        let points = if down {
            vec![
                rect.left_top() + egui::vec2(1.0, 2.0),
                egui::pos2(rect.right() - 1.0, top),
                egui::pos2(rect.center().x, bottom),
            ]
        } else {
            vec![
                egui::pos2(rect.left() + 1.0, bottom),
                egui::pos2(rect.right() - 1.0, bottom),
                egui::pos2(rect.center().x, top),
            ]
        };
        let colour = ui.visuals().strong_text_color();
        ui.painter().add(egui::Shape::convex_polygon(
            points,
            colour,
            egui::Stroke::NONE,
        ));
    }
    clicked
}

/// The size column: counted in the background after each scan.
fn size_label(stats: Option<&StatsState>) -> String {
    match stats {
        Some(StatsState::Ready(stats)) => format::bytes(stats.total_bytes),
        Some(StatsState::Failed(_)) => "Unknown".to_owned(),
        Some(StatsState::Counting) | None => "…".to_owned(),
    }
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
             \u{201c}Add folder…\u{201d} above and choose the folder that holds them (or type its \
             path).",
        )
        .wrap(),
    );
}
