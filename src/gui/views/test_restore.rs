//! Test-restore in a backup's details: restore it into a simulated phone inside Plugback
//! and compare every file, with progress, Cancel, and what arrived in plain words.

use super::verify::explanation;
use crate::gui::format;
use crate::gui::restore::run::progress_fraction;
use crate::gui::state::{AppState, Job};
use crate::gui::test_restore::TestRestoreStatus;
use crate::test_restore::TestRestoreReport;
use eframe::egui;
use plugback_core::backup::BackupSummary;
use plugback_core::explain::explain;
use plugback_core::restore::{Phase, Progress};

pub const BUTTON: &str = "Test-restore";

pub fn show(ui: &mut egui::Ui, state: &mut AppState, backup: &BackupSummary, jobs: &mut Vec<Job>) {
    ui.heading("Try the restore without a phone");
    ui.add(
        egui::Label::new(
            "Restores this backup into a simulated phone inside Plugback and compares every \
             file that arrives with the backup: the surest sign a real restore will work. No \
             phone is touched and the backup is only read.",
        )
        .wrap(),
    );
    let running_elsewhere = state
        .test_restores
        .running()
        .is_some_and(|path| path != backup.path);
    let status = state
        .test_restores
        .get(&backup.path)
        .map(|r| r.status.clone());
    let running_here = matches!(status, Some(TestRestoreStatus::Running { .. }));
    let needs_password = backup.encrypted && state.password.is_empty();
    let can_start = !running_elsewhere && !running_here && !needs_password;
    if ui
        .add_enabled(can_start, egui::Button::new(BUTTON))
        .on_hover_text("Takes about as long as a deep verify")
        .clicked()
    {
        jobs.extend(state.start_test_restore());
    }
    if needs_password && !running_here {
        ui.weak("Type the backup's password above first.");
    }
    if running_elsewhere {
        ui.weak("Another backup is being test-restored.");
    }
    match &status {
        None => {}
        Some(TestRestoreStatus::Running {
            phase, progress, ..
        }) => {
            if running(ui, *phase, progress) {
                state.test_restores.cancel_all();
            }
        }
        Some(TestRestoreStatus::Done(report)) => finished(ui, report),
        Some(TestRestoreStatus::Failed(failure)) => {
            let known = failure.code.and_then(explain);
            ui.label(
                egui::RichText::new(known.map_or("The test-restore could not run", |e| e.title))
                    .strong()
                    .color(ui.visuals().error_fg_color),
            );
            ui.add(egui::Label::new(&failure.message).wrap());
            if let Some(entry) = known {
                explanation(ui, entry);
            }
        }
        Some(TestRestoreStatus::Cancelled) => {
            ui.label("Test-restore stopped. The backup was not changed.");
        }
    }
}

/// The phase and a bar; returns whether Cancel was pressed.
fn running(ui: &mut egui::Ui, phase: Option<Phase>, progress: &Progress) -> bool {
    let what = match phase {
        None | Some(Phase::Preflight | Phase::Preparing) => "Starting the simulated phone…",
        Some(Phase::Transferring) => "Restoring into the simulated phone…",
        Some(Phase::Finishing | Phase::Done) => "Comparing what arrived with the backup…",
        Some(Phase::WaitingForPhone | Phase::Failed) => "Ending…",
    };
    ui.label(what);
    let fraction = progress_fraction(progress).unwrap_or(0.0);
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.add(
            egui::ProgressBar::new(fraction.clamp(0.0, 1.0))
                .text(format!(
                    "{} files, {}",
                    progress.files_done,
                    format::bytes(progress.bytes_done)
                ))
                .desired_width(220.0),
        );
        cancel = ui.button("Cancel test-restore").clicked();
    });
    if let Some(current) = &progress.current {
        ui.weak(current);
    }
    cancel
}

fn finished(ui: &mut egui::Ui, report: &TestRestoreReport) {
    let (headline, colour) = if report.ok {
        ("Restored intact", ui.visuals().text_color())
    } else {
        ("Not everything arrived intact", ui.visuals().error_fg_color)
    };
    ui.label(egui::RichText::new(headline).strong().color(colour));
    ui.label(format!(
        "{} of {} files arrived intact ({}).",
        report.files_intact,
        report.files_expected,
        format::bytes(report.bytes)
    ));
    if report.apps_expected > 0 {
        ui.label(format!(
            "{} of {} apps installed from the backup's own packages.",
            report.apps_intact, report.apps_expected
        ));
    }
    ui.add(egui::Label::new(format!("Compared: {}", report.compared)).wrap());
    if let Some(said) = &report.phone_said {
        ui.add(egui::Label::new(format!("The simulated phone said: {said}")).wrap());
    }
    for (title, names) in [
        ("Did not arrive", &report.missing),
        ("Arrived different", &report.different),
        ("Not in the backup, yet arrived", &report.unexpected),
        ("Left out by the restore", &report.left_out),
    ] {
        if names.is_empty() {
            continue;
        }
        ui.label(egui::RichText::new(title).strong());
        ui.indent(title, |ui| {
            for name in names {
                ui.add(egui::Label::new(name).wrap());
            }
        });
    }
}
