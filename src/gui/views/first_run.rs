//! The "Before you plug in a phone" card: what this computer lacks to see phones, with
//! the commands to install it, ready to copy. Nothing when all is well.

use crate::gui::doctor::Missing;
use crate::gui::state::AppState;
use eframe::egui;

pub const TITLE: &str = "Before you plug in a phone";

pub fn show(ui: &mut egui::Ui, state: &AppState) {
    let missing = state.first_run.missing();
    if missing.is_empty() {
        return;
    }
    ui.add_space(6.0);
    let builder = egui::UiBuilder::new()
        .id_salt("first-run-card")
        .accessibility_label(format!("Notice: {TITLE}"));
    ui.scope_builder(builder, |ui| {
        egui::Frame::group(ui.style())
            .inner_margin(8.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.strong(TITLE);
                ui.add(
                    egui::Label::new("This computer lacks what Plugback needs to see phones:")
                        .wrap(),
                );
                for (n, item) in missing.iter().enumerate() {
                    entry(ui, n, item);
                }
            });
    });
}

fn entry(ui: &mut egui::Ui, n: usize, item: &Missing) {
    ui.add_space(4.0);
    ui.colored_label(ui.visuals().warn_fg_color, &item.what);
    ui.add(egui::Label::new(&item.detail).wrap());
    ui.add(egui::Label::new(format!("How to fix: {}", item.fix)).wrap());
    for (k, command) in item.commands.iter().enumerate() {
        ui.push_id(("command", n, k), |ui| {
            ui.horizontal(|ui| {
                // Selectable monospace text: it can be copied by hand, or with the button.
                ui.add(
                    egui::Label::new(egui::RichText::new(command).monospace().strong())
                        .selectable(true),
                );
                if ui
                    .button("Copy")
                    .on_hover_text(format!("Copy “{command}” to paste it in a terminal"))
                    .clicked()
                {
                    ui.ctx().copy_text(command.clone());
                }
            });
        });
    }
}
