//! The phones plugged into this computer: a card each, with where it stands and what to
//! do next, and a plain note for a phone service that does not answer.

use crate::gui::demo::DemoState;
use crate::gui::demo_offer::DemoOffer;
use crate::gui::health::HealthChecks;
use crate::gui::state::{AppState, Job, Pairing, Phones, Restores, SourceDown};
use crate::gui::{format, views};
use eframe::egui;
use plugback_core::device::ios::PairOutcome;
use plugback_core::device::usb::UsbPhone;
use plugback_core::device::{Device, DeviceState, Platform};
use plugback_core::explain::explain;

/// What the panel says while no phone is plugged in.
pub const NO_PHONE: &str =
    "No phone is plugged in. Connect one with its cable and unlock it, and it appears here.";

/// Links at or below this speed (USB 1) make a backup or restore take hours.
const SLOW_LINK_MBPS: u32 = 12;

/// What a person asked of a card this frame, done once the cards are drawn.
enum CardAction {
    Pair(String),
    CancelPairing(String),
    Health(views::health::Action),
    Restore(String),
    /// Demo mode's simulated unplug or replug, or opening the demo.
    Demo(Job),
}

pub fn show(ui: &mut egui::Ui, state: &mut AppState, jobs: &mut Vec<Job>) {
    let mut actions = Vec::new();
    cards(
        ui,
        &state.phones,
        &state.health,
        &state.restores,
        state.demo.as_mut(),
        state.demo_offer.as_mut(),
        &mut actions,
    );
    for action in actions {
        match action {
            CardAction::Pair(udid) => jobs.extend(state.start_pair(&udid)),
            CardAction::CancelPairing(udid) => state.phones.cancel_pairing(&udid),
            CardAction::Health(action) => views::health::act(state, action, jobs),
            CardAction::Restore(id) => state.restore_to_phone(&id),
            CardAction::Demo(job) => jobs.push(job),
        }
    }
}

fn cards(
    ui: &mut egui::Ui,
    phones: &Phones,
    health: &HealthChecks,
    restores: &Restores,
    mut demo: Option<&mut DemoState>,
    demo_offer: Option<&mut DemoOffer>,
    actions: &mut Vec<CardAction>,
) {
    ui.heading("Phones");
    egui::ScrollArea::vertical()
        .id_salt("phones-page")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(problem) = &phones.problem {
                ui.colored_label(ui.visuals().warn_fg_color, problem);
            }
            for down in &phones.sources_down {
                source_down(ui, down);
            }
            if phones.is_empty() {
                ui.add_space(8.0);
                ui.add(egui::Label::new(NO_PHONE).wrap());
                if let Some(offer) = demo_offer {
                    actions.extend(views::demo::offer(ui, offer).map(CardAction::Demo));
                }
            }
            for device in &phones.devices {
                card(ui, &format!("Phone: {}", title(device)), &device.id, |ui| {
                    device_card(
                        ui,
                        device,
                        phones,
                        health,
                        restores,
                        demo.as_deref_mut(),
                        actions,
                    )
                });
            }
            for usb in &phones.unreachable {
                let title = usb_title(usb);
                let salt = format!("usb-{}-{}", usb.bus_id, usb.location());
                card(ui, &format!("Phone: {title}"), &salt, |ui| {
                    usb_card(ui, usb, &title)
                });
            }
        });
}

/// A framed card, named in the accessibility tree so a screen reader can tell them apart.
fn card(ui: &mut egui::Ui, label: &str, salt: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(6.0);
    let builder = egui::UiBuilder::new()
        .id_salt(("phone-card", salt))
        .accessibility_label(label);
    ui.scope_builder(builder, |ui| {
        egui::Frame::group(ui.style())
            .inner_margin(8.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                body(ui);
            });
    });
}

fn device_card(
    ui: &mut egui::Ui,
    device: &Device,
    phones: &Phones,
    health: &HealthChecks,
    restores: &Restores,
    demo: Option<&mut DemoState>,
    actions: &mut Vec<CardAction>,
) {
    ui.strong(title(device));
    ui.label(model_and_os(device));
    ui.add_space(4.0);
    match phones.pairing.get(&device.id) {
        // Pairing ended: its outcome replaces the advice to pair (the watcher reads the
        // phone again in its own time, so its state may still say not paired).
        Some(pairing @ Pairing::Ended(_)) if device.state != DeviceState::Ready => {
            pairing_note(ui, pairing);
        }
        Some(pairing) if device.state != DeviceState::Ready => {
            standing(ui, &device.state);
            pairing_note(ui, pairing);
        }
        _ => standing(ui, &device.state),
    }
    if let Some(Pairing::Waiting { cancel, .. }) = phones.pairing.get(&device.id) {
        let button = ui.add_enabled(!cancel.is_cancelled(), egui::Button::new("Cancel pairing"));
        if button.clicked() {
            actions.push(CardAction::CancelPairing(device.id.clone()));
        }
    } else if phones.can_pair(device) && ui.button("Pair this iPhone").clicked() {
        actions.push(CardAction::Pair(device.id.clone()));
    }
    restore_line(ui, device, restores, actions);
    ui.add_space(4.0);
    ui.label(battery(device));
    if let Some(space) = storage(device) {
        ui.label(space);
    }
    ui.label(link(device));
    if device
        .link
        .speed_mbps
        .is_some_and(|mbps| mbps <= SLOW_LINK_MBPS)
    {
        guidance(ui, "usb-slow-link");
    }
    if let Some(action) = views::health::badge(ui, device, health) {
        actions.push(CardAction::Health(action));
    }
    let simulate = views::demo::phone_controls(ui, demo, &device.id, title(device));
    actions.extend(simulate.map(CardAction::Demo));
}

/// Where pairing from this card stands, in words; a failure adds the catalog's advice.
/// The phone's restore: how far it is with a button to show its window, or the button
/// that starts one.
fn restore_line(
    ui: &mut egui::Ui,
    device: &Device,
    restores: &Restores,
    actions: &mut Vec<CardAction>,
) {
    match restores.for_device(&device.id) {
        Some(flow) => {
            if let Some(run) = flow.run.as_ref().filter(|r| r.is_running()) {
                let words = crate::gui::restore::run::phase_words(run.phase);
                match run.fraction() {
                    Some(f) => ui.label(format!("Restoring: {words}, {:.0} %", f * 100.0)),
                    None => ui.label(format!("Restoring: {words}")),
                };
            }
            if !flow.open && ui.button("Show restore").clicked() {
                actions.push(CardAction::Restore(device.id.clone()));
            }
        }
        None if device.state == DeviceState::Ready => {
            let button = ui.button("Restore to this phone…");
            // Named after the phone: with two phones plugged in, each card has one.
            button.widget_info(|| {
                egui::WidgetInfo::labeled(
                    egui::Role::Button,
                    true,
                    format!("Restore to {}…", title(device)),
                )
            });
            if button.clicked() {
                actions.push(CardAction::Restore(device.id.clone()));
            }
        }
        None => {}
    }
}

fn pairing_note(ui: &mut egui::Ui, pairing: &Pairing) {
    ui.add_space(4.0);
    let words = pairing.words();
    match pairing {
        // No spinner: the words change at each step, and a window that never stops
        // animating keeps the computer busy while the person reaches for the phone.
        Pairing::Waiting { .. } | Pairing::Ended(PairOutcome::Paired) => {
            ui.add(egui::Label::new(words).wrap());
        }
        Pairing::Failed(failure) if failure.code != Some("device-timeout") => {
            ui.colored_label(ui.visuals().warn_fg_color, words);
            if let Some(entry) = failure.code.and_then(explain) {
                ui.add(egui::Label::new(format!("What to do: {}", entry.what_to_do)).wrap());
            }
        }
        _ => {
            ui.colored_label(ui.visuals().warn_fg_color, words);
        }
    }
}

/// Ready, or what stands in the way and how to clear it, in the catalog's words.
fn standing(ui: &mut egui::Ui, state: &DeviceState) {
    if *state == DeviceState::Ready {
        ui.label("Ready: it trusts this computer.");
        return;
    }
    guidance(ui, state.code());
    match state {
        DeviceState::NoPermissions(detail) if !detail.is_empty() => {
            ui.small(format!("adb says: {detail}"));
        }
        DeviceState::Other(raw) => {
            ui.small(format!("adb says: {raw}"));
        }
        _ => {}
    }
}

/// The catalog's title for `code`, then what to do, one step a line.
fn guidance(ui: &mut egui::Ui, code: &str) {
    let Some(entry) = explain(code) else {
        return;
    };
    ui.colored_label(ui.visuals().warn_fg_color, entry.title);
    let steps = steps(entry.what_to_do);
    if steps.len() == 1 {
        ui.add(egui::Label::new(&steps[0]).wrap());
        return;
    }
    for (n, step) in steps.iter().enumerate() {
        ui.add(egui::Label::new(format!("{}. {step}", n + 1)).wrap());
    }
}

/// The catalog's advice split into its sentences, each a step.
fn steps(what_to_do: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let mut rest = what_to_do.trim();
    // A sentence ends at ". " before a capital letter, which keeps paths and versions whole.
    while let Some(at) = rest.char_indices().find_map(|(i, c)| {
        let after = rest.get(i + 2..)?;
        (c == '.' && rest[i + 1..].starts_with(' ') && after.starts_with(char::is_uppercase))
            .then_some(i)
    }) {
        steps.push(rest[..=at].to_owned());
        rest = rest[at + 2..].trim_start();
    }
    if !rest.is_empty() {
        steps.push(rest.to_owned());
    }
    steps
}

fn source_down(ui: &mut egui::Ui, down: &SourceDown) {
    let phones = match down.platform {
        Platform::Ios => "iPhones",
        Platform::Android => "Android phones",
    };
    let label = format!("{phones} cannot be seen");
    card(ui, &format!("Notice: {label}"), down.code, |ui| {
        ui.colored_label(ui.visuals().warn_fg_color, &label);
        match explain(down.code) {
            Some(entry) => {
                ui.add(egui::Label::new(entry.what_happened).wrap());
                ui.add(egui::Label::new(format!("What to do: {}", entry.what_to_do)).wrap());
            }
            None => {
                ui.add(egui::Label::new(&down.message).wrap());
            }
        }
        ui.small(format!("Details: {}", down.message));
    });
}

fn usb_card(ui: &mut egui::Ui, usb: &UsbPhone, title: &str) {
    ui.strong(title);
    ui.label(format!("On USB at {}", usb.location()));
    ui.add_space(4.0);
    if let Some(code) = usb.kind.problem_code() {
        guidance(ui, code);
    }
}

/// The name its owner gave the phone, else its model, else its identifier.
fn title(device: &Device) -> &str {
    device
        .name
        .as_deref()
        .or(device.model.as_deref())
        .unwrap_or(&device.id)
}

fn usb_title(usb: &UsbPhone) -> String {
    match (usb.platform(), usb.maker, usb.product.as_deref()) {
        (_, Some(maker), Some(product)) if !product.starts_with(maker) => {
            format!("{maker} {product}")
        }
        (_, _, Some(product)) => product.to_owned(),
        (Platform::Ios, _, None) => "An iPhone".to_owned(),
        (Platform::Android, Some(maker), None) => format!("A {maker} phone"),
        (Platform::Android, None, None) => "An Android phone".to_owned(),
    }
}

/// "iPhone 14 Pro · iOS 18.1", "Pixel 8 · Android 14 (API 34)".
fn model_and_os(device: &Device) -> String {
    let model = device.model.as_deref().unwrap_or(match device.platform {
        Platform::Ios => "iPhone",
        Platform::Android => "Android phone",
    });
    let os = match (device.platform, &device.os_version) {
        (Platform::Ios, Some(v)) => format!("iOS {v}"),
        (Platform::Android, Some(v)) => match device.sdk {
            Some(sdk) => format!("Android {v} (API {sdk})"),
            None => format!("Android {v}"),
        },
        (_, None) => "system version not known yet".to_owned(),
    };
    format!("{model} · {os}")
}

/// "Battery: 80 %, charging, 30 °C".
fn battery(device: &Device) -> String {
    let b = &device.battery;
    let Some(level) = b.level else {
        return "Battery: not known yet".to_owned();
    };
    let mut parts = vec![format!("{level} %")];
    match b.charging {
        Some(true) => parts.push("charging".to_owned()),
        Some(false) => parts.push("not charging".to_owned()),
        None => {}
    }
    if let Some(t) = b.temperature_c {
        parts.push(format!("{t:.0} °C"));
    }
    format!("Battery: {}", parts.join(", "))
}

fn storage(device: &Device) -> Option<String> {
    let s = &device.storage;
    match (s.free_bytes, s.total_bytes) {
        (Some(free), Some(total)) => Some(format!(
            "Free space: {} of {}",
            format::bytes(free),
            format::bytes(total)
        )),
        (Some(free), None) => Some(format!("Free space: {}", format::bytes(free))),
        _ => None,
    }
}

/// "Cable: USB 2 (480 Mbit/s), straight into the computer".
fn link(device: &Device) -> String {
    let speed = match device.link.speed_mbps {
        None => "speed not known".to_owned(),
        Some(mbps) => {
            let generation = match mbps {
                0..=12 => "USB 1",
                13..=480 => "USB 2",
                _ => "USB 3",
            };
            format!("{generation} ({mbps} Mbit/s)")
        }
    };
    let path = match device.link.via_hub {
        Some(true) => ", through a hub",
        Some(false) => ", straight into the computer",
        None => "",
    };
    format!("Cable: {speed}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_splits_into_sentences_but_keeps_paths_whole() {
        assert_eq!(
            steps(
                "Unlock the phone. Then tap Allow on 'Allow USB debugging?'. If no prompt appears, retry."
            ),
            [
                "Unlock the phone.",
                "Then tap Allow on 'Allow USB debugging?'.",
                "If no prompt appears, retry."
            ]
        );
        // Only a capital letter after ". " starts a new step.
        assert_eq!(
            steps("Set usbcore.autosuspend=-1 in /etc. reboot after"),
            ["Set usbcore.autosuspend=-1 in /etc. reboot after"]
        );
        assert_eq!(steps("One step only."), ["One step only."]);
    }

    #[test]
    fn battery_and_cable_read_plainly_and_say_what_is_unknown() {
        let mut phone = Device {
            id: "x".into(),
            platform: Platform::Android,
            name: None,
            model: Some("Pixel 8".into()),
            os_version: Some("14".into()),
            sdk: Some(34),
            serial: None,
            state: DeviceState::Ready,
            battery: Default::default(),
            storage: Default::default(),
            link: Default::default(),
            will_encrypt: None,
        };
        assert_eq!(battery(&phone), "Battery: not known yet");
        assert_eq!(link(&phone), "Cable: speed not known");
        assert_eq!(title(&phone), "Pixel 8");
        phone.battery.level = Some(41);
        phone.battery.charging = Some(false);
        phone.battery.temperature_c = Some(30.4);
        phone.link.speed_mbps = Some(12);
        phone.link.via_hub = Some(true);
        assert_eq!(battery(&phone), "Battery: 41 %, not charging, 30 °C");
        assert_eq!(link(&phone), "Cable: USB 1 (12 Mbit/s), through a hub");
        phone.link.speed_mbps = Some(5000);
        phone.link.via_hub = Some(false);
        assert_eq!(
            link(&phone),
            "Cable: USB 3 (5000 Mbit/s), straight into the computer"
        );
    }
}
