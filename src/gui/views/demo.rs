//! Demo mode's part of the window: a calm strip saying what is simulated, and the
//! simulated cable on each demo phone's card. Draws nothing outside demo mode.

use crate::demo::Simulate;
use crate::gui::demo::{DemoState, SimulateOutcome};
use crate::gui::demo_offer::{DemoLaunch, DemoOffer};
use crate::gui::state::{AppState, Job};
use eframe::egui;

/// What the strip says, before the sample password's hint.
pub const DEMO_NOTICE: &str =
    "Demo mode: these phones and backups are simulated; nothing on this computer is changed.";

/// The button that opens the demo.
pub const TRY_THE_DEMO: &str = "Try the demo";

/// Outside demo mode, while no phone is plugged in: how to try Plugback without one.
/// Returns the job a click asked for.
pub fn offer(ui: &mut egui::Ui, offer: &mut DemoOffer) -> Option<Job> {
    ui.add_space(8.0);
    ui.add(
        egui::Label::new(
            "No phone at hand? The demo opens a second window with a simulated iPhone and \
             Android phone and sample backups, so you can try every step, unplugging \
             included. Nothing on this computer is changed.",
        )
        .wrap(),
    );
    let opening = offer.status == DemoLaunch::Opening;
    let clicked = ui
        .add_enabled(!opening, egui::Button::new(TRY_THE_DEMO))
        .on_hover_text("Opens Plugback in demo mode (plugback --demo)")
        .clicked();
    match &offer.status {
        DemoLaunch::Offered => {}
        DemoLaunch::Opening => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Opening the demo…");
            });
        }
        DemoLaunch::Opened => {
            ui.label("The demo is open in its own window.");
        }
        DemoLaunch::Failed(why) => {
            ui.colored_label(ui.visuals().warn_fg_color, why);
        }
    }
    if clicked { offer.request() } else { None }
}

/// The one-line strip at the top in demo mode, the missing-Android sentence when there is
/// one, and a replug for each phone the demo unplugged (it has left the phones list).
pub fn banner(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    let Some(demo) = state.demo.as_mut() else {
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(DEMO_NOTICE).strong());
        ui.label(&demo.password_hint);
    });
    if let Some(missing) = &demo.android_missing {
        ui.add(egui::Label::new(missing.as_str()).wrap());
    }
    let unplugged = demo.unplugged.clone();
    if unplugged.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label("Unplugged by the demo:");
        for (id, name) in &unplugged {
            ui.label(name);
            replug_button(ui, demo, id, name, jobs);
        }
    });
}

/// "Simulate unplug" and "Simulate replug" for the phone `device_id` (shown as `name`),
/// with the last outcome; nothing outside demo mode. Returns the job a click asked for.
pub fn phone_controls(
    ui: &mut egui::Ui,
    demo: Option<&mut DemoState>,
    device_id: &str,
    name: &str,
) -> Option<Job> {
    let demo = demo?;
    let mut jobs = Vec::new();
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        let can_unplug = !demo.is_unplugged(device_id) && !demo.is_running(device_id);
        let unplug = ui.add_enabled(can_unplug, egui::Button::new("Simulate unplug"));
        named(&unplug, can_unplug, &format!("Simulate unplug: {name}"));
        if unplug.clicked() {
            jobs.extend(demo.request(device_id, name, Simulate::Unplug));
        }
        replug_button(ui, demo, device_id, name, &mut jobs);
    });
    if let Some(SimulateOutcome::Failed(why)) = demo.last.get(device_id) {
        ui.colored_label(ui.visuals().warn_fg_color, why);
    }
    // One click a frame at most: the buttons are side by side.
    jobs.pop()
}

/// "Simulate replug" alone, for the watchdog's overlay (which covers the cards); nothing
/// outside demo mode.
pub fn replug_control(
    ui: &mut egui::Ui,
    demo: Option<&mut DemoState>,
    device_id: &str,
    name: &str,
    jobs: &mut Vec<Job>,
) {
    if let Some(demo) = demo {
        replug_button(ui, demo, device_id, name, jobs);
    }
}

/// Enabled only for a phone the demo unplugged, once its unplug has finished.
fn replug_button(
    ui: &mut egui::Ui,
    demo: &mut DemoState,
    id: &str,
    name: &str,
    jobs: &mut Vec<Job>,
) {
    let can_replug = demo.is_unplugged(id) && !demo.is_running(id);
    let replug = ui.add_enabled(can_replug, egui::Button::new("Simulate replug"));
    named(&replug, can_replug, &format!("Simulate replug: {name}"));
    if replug.clicked() {
        jobs.extend(demo.request(id, name, Simulate::Replug));
    }
}

/// Names a button after the phone it acts on, so a screen reader tells one card's
/// button from another's (they read the same on screen).
fn named(response: &egui::Response, enabled: bool, label: &str) {
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, label));
}
