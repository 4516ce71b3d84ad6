//! Checking a backup: the password, the buttons, live progress, and the result in plain words.

use crate::gui::format;
use crate::gui::state::{
    AppState, Failure, Job, Verification, VerifyStatus, progress_fraction, result_headline,
};
use eframe::egui;
use plugback_core::backup::BackupSummary;
use plugback_core::backup::verify::{
    Depth, Problem, ProblemCode, Severity, VerifyProgress, VerifyReport,
};
use plugback_core::explain::{Explanation, explain};

/// Problems of one kind listed one by one before the rest are summed up: a backup with
/// thousands of missing files should not bury the advice under thousands of lines.
const PROBLEMS_SHOWN_PER_KIND: usize = 20;

pub fn show(ui: &mut egui::Ui, state: &mut AppState, backup: &BackupSummary, jobs: &mut Vec<Job>) {
    ui.heading("Check this backup");
    ui.add(
        egui::Label::new(
            "Verify makes sure every file the backup lists is there. Deep verify also reads \
             every file, which takes longer. Neither changes the backup.",
        )
        .wrap(),
    );
    ui.add_space(4.0);

    let busy_elsewhere = state
        .running_verification()
        .is_some_and(|(path, _)| path != backup.path);
    let running_here = state
        .verifications
        .get(&backup.path)
        .is_some_and(Verification::is_running);

    let can_start = !busy_elsewhere && !running_here;
    let mut pressed_enter = false;
    if backup.encrypted {
        pressed_enter = password_field(ui, state, !running_here);
    }
    ui.horizontal(|ui| {
        let verify = ui.add_enabled(can_start, egui::Button::new("Verify"));
        if verify.clicked() || (pressed_enter && can_start) {
            jobs.extend(state.start_verify(Depth::Quick));
        }
        if ui
            .add_enabled(
                can_start,
                egui::Button::new("Deep verify (reads every file)"),
            )
            .clicked()
        {
            jobs.extend(state.start_verify(Depth::Deep));
        }
    });
    if busy_elsewhere {
        ui.horizontal_wrapped(|ui| {
            ui.weak("Another backup is being checked.");
            if ui.button("Stop the other check").clicked() {
                state.cancel_verify();
            }
        });
    }

    let mut cancel = false;
    if let Some(v) = state.verifications.get(&backup.path) {
        ui.add_space(8.0);
        match &v.status {
            VerifyStatus::Running { progress, .. } => {
                cancel = running(ui, v, progress);
            }
            VerifyStatus::Done(report) => finished(ui, report),
            VerifyStatus::Failed(failure) => could_not_run(ui, failure),
            VerifyStatus::Cancelled => cancelled(ui),
        }
    }
    if cancel {
        state.cancel_verify();
    }
}

/// The masked password field; returns whether Enter was pressed in it.
fn password_field(ui: &mut egui::Ui, state: &mut AppState, enabled: bool) -> bool {
    let pressed_enter = ui.horizontal(|ui| {
        let label = ui.label("Backup password");
        let field = egui::TextEdit::singleline(&mut *state.password)
            .password(true)
            .hint_text("Set when the backup was made")
            .desired_width(220.0);
        let field = ui.add_enabled(enabled, field).labelled_by(label.id);
        field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
    });
    if state.password.is_empty()
        && let Some(e) = explain(ProblemCode::PasswordRequired.as_str())
    {
        ui.add(egui::Label::new(format!("This backup is encrypted. {}", e.what_to_do)).wrap());
    }
    pressed_enter.inner
}

/// Draws the progress of a check; returns whether Cancel was pressed. Cancel sits next to
/// the bar, above the lines that come and go, so it never moves while the check runs.
fn running(ui: &mut egui::Ui, v: &Verification, progress: &VerifyProgress) -> bool {
    let what = match v.depth {
        Depth::Quick => "Verifying…",
        Depth::Deep => "Deep verifying…",
    };
    ui.label(what);
    let fraction = progress_fraction(progress);
    let bar_text = if progress.files_total == 0 {
        "Reading the file list…".to_owned()
    } else {
        format!("{:.0}%", fraction * 100.0)
    };
    let mut cancel = false;
    ui.horizontal(|ui| {
        ui.add(
            egui::ProgressBar::new(fraction)
                .text(bar_text)
                .desired_width((ui.available_width() - 90.0).clamp(120.0, 360.0)),
        );
        if v.cancel_requested() {
            ui.add_enabled(false, egui::Button::new("Stopping…"));
        } else {
            cancel = ui.button("Cancel").clicked();
        }
    });
    if progress.files_total > 0 {
        let mut line = format!(
            "{} of {} files",
            progress.files_done.min(progress.files_total),
            progress.files_total
        );
        if progress.bytes_total > 0 {
            line.push_str(&format!(
                ", {} of {}",
                format::bytes(progress.bytes_done.min(progress.bytes_total)),
                format::bytes(progress.bytes_total)
            ));
        }
        ui.label(line);
    }
    if !progress.current.is_empty() {
        ui.add(egui::Label::new(format!("Now checking {}", progress.current)).truncate());
    }
    cancel
}

fn finished(ui: &mut egui::Ui, report: &VerifyReport) {
    let headline = egui::RichText::new(result_headline(report)).heading();
    let headline = if report.ok() {
        headline
    } else {
        headline.color(ui.visuals().error_fg_color)
    };
    ui.label(headline);
    let depth = match report.depth {
        Depth::Quick => "Quick check",
        Depth::Deep => "Deep check",
    };
    let s = &report.stats;
    let mut line = match report.depth {
        Depth::Quick => format!(
            "{depth}: {} of {} files found",
            s.files_checked, s.files_expected
        ),
        Depth::Deep => format!(
            "{depth}: {} of {} files read ({})",
            s.files_checked,
            s.files_expected,
            format::bytes(s.bytes_read)
        ),
    };
    line.push_str(&format!(" in {:.1} s.", s.elapsed_ms as f64 / 1000.0));
    ui.weak(line);
    if report.depth == Depth::Quick && report.ok() {
        ui.weak("A deep verify also reads every file to find damaged ones.");
    }

    // One group per kind of problem, in report order (errors first).
    let mut codes: Vec<ProblemCode> = Vec::new();
    for problem in &report.problems {
        if !codes.contains(&problem.code) {
            codes.push(problem.code);
        }
    }
    for code in codes {
        let problems: Vec<&Problem> = report.problems.iter().filter(|p| p.code == code).collect();
        problem_group(ui, code, &problems);
    }
}

fn problem_group(ui: &mut egui::Ui, code: ProblemCode, problems: &[&Problem]) {
    ui.add_space(8.0);
    let is_error = problems.iter().any(|p| p.severity == Severity::Error);
    let color = if is_error {
        ui.visuals().error_fg_color
    } else {
        ui.visuals().warn_fg_color
    };
    let title = explain(code.as_str()).map_or(code.as_str(), |e| e.title);
    let count = if problems.len() > 1 {
        format!(" ({})", problems.len())
    } else {
        String::new()
    };
    ui.label(
        egui::RichText::new(format!("{title}{count}"))
            .strong()
            .color(color),
    );
    // The advice first, then the files concerned: each message names its file.
    if let Some(e) = explain(code.as_str()) {
        explanation(ui, e);
    }
    ui.indent(("problems", code.as_str()), |ui| {
        for problem in problems.iter().take(PROBLEMS_SHOWN_PER_KIND) {
            ui.add(egui::Label::new(&problem.message).wrap());
        }
        if problems.len() > PROBLEMS_SHOWN_PER_KIND {
            ui.weak(format!(
                "…and {} more like these.",
                problems.len() - PROBLEMS_SHOWN_PER_KIND
            ));
        }
    });
}

pub(super) fn explanation(ui: &mut egui::Ui, e: &Explanation) {
    ui.add(egui::Label::new(e.what_happened).wrap());
    ui.add(egui::Label::new(egui::RichText::new(format!("What to do: {}", e.what_to_do))).wrap());
}

fn could_not_run(ui: &mut egui::Ui, failure: &Failure) {
    let known = failure.code.and_then(explain);
    let title = known.map_or("The check could not run", |e| e.title);
    ui.label(
        egui::RichText::new(title)
            .heading()
            .color(ui.visuals().error_fg_color),
    );
    ui.add(egui::Label::new(&failure.message).wrap());
    if let Some(e) = known {
        explanation(ui, e);
    }
}

fn cancelled(ui: &mut egui::Ui) {
    match explain("cancelled") {
        Some(e) => {
            ui.label(egui::RichText::new(e.title).heading());
            explanation(ui, e);
        }
        None => {
            ui.label(egui::RichText::new("Stopped").heading());
        }
    }
}
