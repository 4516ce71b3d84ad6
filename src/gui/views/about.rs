//! The About box: what Plugback is, which build this is (for a report of a problem), and
//! the promises it keeps about backups and secrets.

use crate::build_info;
use eframe::egui;

pub const TITLE: &str = "About Plugback";

pub fn show(ctx: &egui::Context, open: &mut bool) {
    if !*open {
        return;
    }
    egui::Window::new(TITLE)
        .open(open)
        .collapsible(false)
        .resizable(false)
        .default_width(440.0)
        .show(ctx, |ui| {
            ui.heading("Plugback");
            ui.label("Get your phone's data back over a cable.");
            ui.add_space(6.0);
            egui::Grid::new("about-build")
                .num_columns(2)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    ui.label("Version");
                    ui.label(build_info::VERSION);
                    ui.end_row();
                    ui.label("Build");
                    ui.label(build_info::GIT_HASH);
                    ui.end_row();
                    ui.label("Built on");
                    ui.label(build_info::BUILD_DATE);
                    ui.end_row();
                });
            ui.add_space(6.0);
            ui.add(
                egui::Label::new(
                    "Plugback never changes a backup: it reads them only. Passwords are \
                     never written down or logged, and Export diagnostics leaves out names, \
                     passwords and keys.",
                )
                .wrap(),
            );
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.label(format!("Plugback {}", build_info::VERSION_LINE));
                if ui
                    .button("Copy")
                    .on_hover_text("Copy the version, to paste it into a report of a problem")
                    .clicked()
                {
                    ui.ctx()
                        .copy_text(format!("Plugback {}", build_info::VERSION_LINE));
                }
            });
            ui.weak("Free software under the MIT or Apache-2.0 licence.");
        });
}
