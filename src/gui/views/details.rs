//! The selected backup: who it belongs to, where it is, what it holds, its check and its
//! test-restore.

use super::backups::{device_label, os_label};
use crate::gui::format;
use crate::gui::state::{AppState, Job, StatsState};
use eframe::egui;
use plugback_core::backup::BackupSummary;

pub fn show(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    let Some(backup) = state.selected_backup().cloned() else {
        ui.add_space(8.0);
        ui.label("Select a backup to see its details and check it.");
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("details-page")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.heading(device_label(&backup));
            ui.add_space(4.0);
            facts(ui, &backup, state.stats.get(&backup.path));
            if state.phones.watching && ui.button("Restore to a phone…").clicked() {
                state.restore_backup(&backup.path);
            }
            super::files::show(ui, state, &backup, jobs);
            ui.separator();
            super::verify::show(ui, state, &backup, jobs);
            ui.separator();
            super::test_restore::show(ui, state, &backup, jobs);
        });
}

fn facts(ui: &mut egui::Ui, backup: &BackupSummary, stats: Option<&StatsState>) {
    egui::Grid::new("backup-facts")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            let row = |ui: &mut egui::Ui, name: &str, value: String| {
                ui.label(name);
                ui.add(egui::Label::new(value).wrap());
                ui.end_row();
            };
            row(ui, "Model", model_label(backup));
            row(ui, "OS", os_label(backup));
            row(ui, "Date", format::local_date(backup.date_unix));
            row(ui, "Type", format::kind(backup.kind).to_owned());
            row(ui, "Encrypted", format::yes_no(backup.encrypted).to_owned());
            row(ui, "State", format::snapshot(backup.snapshot).to_owned());
            if let Some(id) = &backup.device_id {
                row(ui, "Phone identifier", id.clone());
            }
            row(ui, "Location", backup.path.display().to_string());
            let (files, apps, size) = counts(stats);
            row(ui, "Files", files);
            row(ui, "Apps", apps);
            row(ui, "Size on disk", size);
        });
}

/// Files, apps and size as shown. Always three rows, so that nothing below them moves
/// when the counts arrive (a button that jumps under the pointer gets missed).
fn counts(stats: Option<&StatsState>) -> (String, String, String) {
    match stats {
        Some(StatsState::Ready(s)) => {
            let unknown = || "Needs the password".to_owned();
            (
                s.file_count.map_or_else(unknown, |n| n.to_string()),
                s.app_count.map_or_else(unknown, |n| n.to_string()),
                format::bytes(s.total_bytes),
            )
        }
        Some(StatsState::Failed(f)) => (
            f.message.clone(),
            "Unknown".to_owned(),
            "Unknown".to_owned(),
        ),
        Some(StatsState::Counting) | None => {
            let counting = || "Counting…".to_owned();
            (counting(), counting(), counting())
        }
    }
}

/// "iPhone 14 Pro (iPhone15,2)" when both are known and differ.
fn model_label(backup: &BackupSummary) -> String {
    match (&backup.model, &backup.product_type) {
        (Some(m), Some(p)) if m != p => format!("{m} ({p})"),
        (Some(m), _) => m.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => "Unknown".to_owned(),
    }
}
