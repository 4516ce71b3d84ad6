//! The stay-plugged-in overlay: when a phone is lost mid-restore, nothing else in the
//! window matters until it is back. It says to plug the phone back in, what happened,
//! what it means for the phone and what happens next; for an iPhone that is back, it asks
//! whether to start again.

use crate::gui::state::{AppState, Job};
use eframe::egui;

/// The heading a person sees first.
pub const PLUG_BACK_IN: &str = "Plug the phone back in";

enum Answer {
    StartAgain(u64),
    Stop(u64),
}

pub fn show(ctx: &egui::Context, state: &mut AppState, jobs: &mut Vec<Job>) {
    let attention: Vec<u64> = state.restores.needing_attention().map(|f| f.id).collect();
    if attention.is_empty() {
        return;
    }
    let mut answers = Vec::new();
    let mut demo_jobs = Vec::new();
    egui::Modal::new(egui::Id::unique("watchdog")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        for id in attention {
            let Some(flow) = state.restores.flows.iter().find(|f| f.id == id) else {
                continue;
            };
            let Some(run) = &flow.run else { continue };
            let phone = flow.phone_name().unwrap_or("the phone").to_owned();
            if let Some(question) = &run.question {
                ui.heading(format!("{phone} is back"));
                ui.label(question);
                ui.horizontal(|ui| {
                    if ui.button("Start again").clicked() {
                        answers.push(Answer::StartAgain(id));
                    }
                    if ui.button("Stop the restore").clicked() {
                        answers.push(Answer::Stop(id));
                    }
                });
            } else if let Some(lost) = &run.lost {
                ui.heading(PLUG_BACK_IN);
                ui.label(egui::RichText::new(&phone).strong());
                ui.label(&lost.what_happened);
                ui.label(&lost.what_it_means);
                ui.label(&lost.what_next);
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Waiting for the phone…");
                });
                if let Some(device) = &flow.device {
                    super::demo::replug_control(
                        ui,
                        state.demo.as_mut(),
                        &device.id,
                        &phone,
                        &mut demo_jobs,
                    );
                }
                if ui.button("Stop the restore").clicked() {
                    answers.push(Answer::Stop(id));
                }
            }
            ui.separator();
        }
    });
    jobs.extend(demo_jobs);
    for answer in answers {
        match answer {
            Answer::StartAgain(id) => {
                if let Some(run) = state.restores.get_mut(id).and_then(|f| f.run.as_mut()) {
                    run.answer(true);
                }
            }
            Answer::Stop(id) => {
                if let Some(run) = state.restores.get_mut(id).and_then(|f| f.run.as_mut()) {
                    run.answer(false);
                    run.cancel.cancel();
                }
            }
        }
    }
}
