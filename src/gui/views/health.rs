//! The connection badge and button on a phone's card, and the "Connection check — …"
//! window with what the check found and how to fix it.

use crate::gui::health::{self, HealthChecks, HealthStatus, PhoneCheck, Tone};
use crate::gui::state::{AppState, Job};
use eframe::egui;
use plugback_core::device::{Device, DeviceState};
use plugback_core::explain::explain;
use plugback_core::finding::{Finding, Severity};

/// What a person asked of a card's connection check this frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Check(String),
    Cancel(String),
    ShowFindings(String),
}

/// Runs what the cards asked for.
pub fn act(state: &mut AppState, action: Action, jobs: &mut Vec<Job>) {
    match action {
        Action::Check(id) => jobs.extend(state.start_health_check(&id)),
        Action::Cancel(id) => state.health.cancel(&id),
        Action::ShowFindings(id) => state.health.open = Some(id),
    }
}

/// The badge, and the button to check or stop, on the card of a ready phone.
pub fn badge(ui: &mut egui::Ui, device: &Device, checks: &HealthChecks) -> Option<Action> {
    if device.state != DeviceState::Ready {
        return None;
    }
    let badge = checks.badge(&device.id);
    let color = tone_color(ui, badge.tone);
    ui.horizontal_wrapped(|ui| {
        match color {
            Some(color) => ui.colored_label(color, badge.text),
            None => ui.label(badge.text),
        };
    });
    let mut action = None;
    ui.horizontal(|ui| match checks.get(&device.id).map(|c| &c.status) {
        Some(HealthStatus::Running { cancel }) => {
            let button = egui::Button::new("Cancel check");
            if ui.add_enabled(!cancel.is_cancelled(), button).clicked() {
                action = Some(Action::Cancel(device.id.clone()));
            }
        }
        status => {
            if ui
                .button("Check connection")
                .on_hover_text(
                    "Test the cable, port and link with a short transfer (about 10 seconds)",
                )
                .clicked()
            {
                action = Some(Action::Check(device.id.clone()));
            }
            if matches!(
                status,
                Some(HealthStatus::Done(_) | HealthStatus::Failed(_))
            ) && ui.button("Show check results").clicked()
            {
                action = Some(Action::ShowFindings(device.id.clone()));
            }
        }
    });
    action
}

fn tone_color(ui: &egui::Ui, tone: Tone) -> Option<egui::Color32> {
    let visuals = ui.visuals();
    match tone {
        Tone::Plain => None,
        Tone::Good => Some(if visuals.dark_mode {
            egui::Color32::from_rgb(0x6c, 0xcf, 0x7f)
        } else {
            egui::Color32::from_rgb(0x1e, 0x7b, 0x34)
        }),
        Tone::Fair => Some(visuals.warn_fg_color),
        Tone::Poor => Some(visuals.error_fg_color),
    }
}

/// The findings window of the phone whose check is open, if any.
pub fn show(ctx: &egui::Context, state: &mut AppState) {
    let Some(id) = state.health.open.clone() else {
        return;
    };
    let Some(check) = state.health.get(&id) else {
        state.health.open = None;
        return;
    };
    // The name as the card shows it now: a check started on a phone's first sighting
    // knows only its identifier.
    let phone = state
        .phones
        .devices
        .iter()
        .find(|d| d.id == id)
        .map_or_else(|| check.phone.clone(), health::phone_name);
    let mut open = true;
    let mut close = false;
    egui::Window::new(format!("Connection check — {phone}"))
        .open(&mut open)
        .default_width(460.0)
        .collapsible(false)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .max_height(520.0)
                .show(ui, |ui| findings(ui, &phone, check));
            ui.add_space(6.0);
            close = ui.button("Close").clicked();
        });
    if !open || close {
        state.health.open = None;
    }
}

fn findings(ui: &mut egui::Ui, phone: &str, check: &PhoneCheck) {
    if check.phone_left {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{phone} was unplugged during the check: what follows may only say that. Plug it back in and check again."
            ),
        );
        ui.add_space(4.0);
    }
    match &check.status {
        HealthStatus::Done(report) => {
            let text = format!("Connection grade: {}", health::grade_words(report.grade));
            match tone_color(ui, health::grade_tone(report.grade)) {
                Some(color) => ui.heading(egui::RichText::new(text).color(color)),
                None => ui.heading(text),
            };
            for line in health::figure_lines(report) {
                ui.label(line);
            }
            ui.add_space(6.0);
            if report.findings.is_empty() {
                ui.label("Nothing to fix: this connection is fit for a restore.");
            }
            for finding in &report.findings {
                finding_block(ui, finding);
            }
        }
        HealthStatus::Failed(failure) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("The check could not finish: {}", failure.message),
            );
            if let Some(entry) = failure.code.and_then(explain) {
                ui.add(egui::Label::new(format!("What to do: {}", entry.what_to_do)).wrap());
            }
        }
        HealthStatus::Running { .. } => {
            ui.label("Checking…");
        }
        HealthStatus::Cancelled => {
            ui.label("The check was stopped. Nothing was changed on the phone.");
        }
    }
}

/// One finding: what was found, what it means (from the catalog), and the fix.
fn finding_block(ui: &mut egui::Ui, finding: &Finding) {
    ui.add_space(4.0);
    egui::Frame::group(ui.style())
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let heading = format!(
                "{}: {}",
                health::severity_words(finding.severity),
                finding.message
            );
            match finding.severity {
                Severity::Info => ui.strong(heading),
                Severity::Warning => ui.colored_label(ui.visuals().warn_fg_color, heading),
                Severity::Problem => ui.colored_label(ui.visuals().error_fg_color, heading),
            };
            if let Some(entry) = explain(finding.code) {
                ui.add(egui::Label::new(entry.title).wrap());
                ui.add(egui::Label::new(entry.what_happened).wrap());
            }
            ui.add(egui::Label::new(format!("Fix: {}", finding.fix)).wrap());
        });
}
