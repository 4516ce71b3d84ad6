//! The restore windows: one per flow, from choosing the phone and the backup to the done
//! report, with the live progress and throughput plot in between.

use crate::gui::format;
use crate::gui::restore::flow::{self, device_name};
use crate::gui::restore::run::phase_words;
use crate::gui::restore::{Checks, Flow, PasswordCheck, Run, Selectable, Step};
use crate::gui::state::{AppState, Job};
use eframe::egui;
use plugback_core::device::{Device, DeviceState, Platform};
use plugback_core::preflight::Status;

/// What a person did in a flow's window this frame.
enum Action {
    Next,
    Back,
    CheckPassword,
    Recheck,
    CancelChecks,
    CancelRestore,
    Close,
    Explain(String),
}

pub fn show(ctx: &egui::Context, state: &mut AppState, jobs: &mut Vec<Job>) {
    let mut actions: Vec<(u64, Action)> = Vec::new();
    let devices = state.phones.devices.clone();
    let busy: Vec<String> = state
        .restores
        .flows
        .iter()
        .filter(|f| f.is_running())
        .filter_map(|f| f.device.as_ref().map(|d| d.id.clone()))
        .collect();
    for flow in state.restores.flows.iter_mut().filter(|f| f.open) {
        let mut open = true;
        let title = match flow.phone_name() {
            Some(name) => format!("Restore to {name}"),
            None => "Restore a backup".to_owned(),
        };
        let id = flow.id;
        let mut act = |a| actions.push((id, a));
        egui::Window::new(title)
            .id(egui::Id::unique(("restore", flow.id)))
            .open(&mut open)
            .collapsible(false)
            .default_width(560.0)
            .default_pos(egui::pos2(180.0 + 30.0 * (flow.id % 5) as f32, 90.0))
            .show(ctx, |ui| {
                steps_line(ui, flow);
                ui.separator();
                match flow.step {
                    Step::Choose => choose(ui, flow, &devices, &state.backups, &busy, &mut act),
                    Step::Password => password(ui, flow, &mut act),
                    Step::Checks => checks(ui, flow, &mut act),
                    Step::Options => options(ui, flow, &mut act),
                    Step::Confirm => confirm(ui, flow, &mut act),
                    Step::Restore => {
                        if let Some(run) = &flow.run {
                            progress(ui, flow, run, &mut act);
                        }
                    }
                }
            });
        if !open {
            actions.push((flow.id, Action::Close));
        }
    }
    for (id, action) in actions {
        match action {
            Action::Next => {
                state.refresh_restore_phone(id);
                jobs.extend(state.restore_next(id));
            }
            Action::Back => {
                if let Some(flow) = state.restores.get_mut(id) {
                    flow.back();
                }
            }
            Action::CheckPassword => jobs.extend(state.restore_check_password(id)),
            Action::Recheck => {
                state.refresh_restore_phone(id);
                jobs.extend(state.restore_recheck(id));
            }
            Action::CancelChecks => {
                if let Some(flow) = state.restores.get_mut(id) {
                    flow.cancel();
                    flow.back();
                }
            }
            Action::CancelRestore => {
                if let Some(run) = state.restores.get_mut(id).and_then(|f| f.run.as_ref()) {
                    run.cancel.cancel();
                }
            }
            Action::Close => state.restores.close(id),
            Action::Explain(code) => state.explainer = Some(code),
        }
    }
}

const STEP_NAMES: [(Step, &str); 6] = [
    (Step::Choose, "Phone and backup"),
    (Step::Password, "Password"),
    (Step::Checks, "Checks"),
    (Step::Options, "Options"),
    (Step::Confirm, "Confirm"),
    (Step::Restore, "Restore"),
];

/// Where the person is: "Step 3 of 6: Checks".
fn steps_line(ui: &mut egui::Ui, flow: &Flow) {
    let steps: Vec<&(Step, &str)> = STEP_NAMES
        .iter()
        .filter(|(step, _)| *step != Step::Password || flow.needs_password())
        .collect();
    if let Some(index) = steps.iter().position(|(step, _)| *step == flow.step) {
        ui.label(
            egui::RichText::new(format!(
                "Step {} of {}: {}",
                index + 1,
                steps.len(),
                steps[index].1
            ))
            .strong(),
        );
    }
}

fn nav(
    ui: &mut egui::Ui,
    next: Option<&str>,
    blocked: Option<&str>,
    back: bool,
    act: &mut impl FnMut(Action),
) {
    ui.add_space(8.0);
    if let Some(why) = blocked {
        ui.label(why);
    }
    ui.horizontal(|ui| {
        if back && ui.button("Back").clicked() {
            act(Action::Back);
        }
        if let Some(next) = next
            && ui
                .add_enabled(blocked.is_none(), egui::Button::new(next))
                .clicked()
        {
            act(Action::Next);
        }
    });
}

fn choose(
    ui: &mut egui::Ui,
    flow: &mut Flow,
    devices: &[Device],
    backups: &[plugback_core::backup::BackupSummary],
    busy: &[String],
    act: &mut impl FnMut(Action),
) {
    ui.label(egui::RichText::new("Which phone?").strong());
    let ready: Vec<&Device> = devices
        .iter()
        .filter(|d| d.state == DeviceState::Ready && !busy.contains(&d.id))
        .collect();
    if ready.is_empty() {
        ui.label("Plug in the phone to restore to, unlock it, and make sure it trusts this computer (its card on the left says how).");
    }
    for device in ready {
        let chosen = flow.device.as_ref().is_some_and(|d| d.id == device.id);
        if ui.radio(chosen, device_name(device)).clicked() && !chosen {
            flow.choose_device(device.clone());
            if flow.backup.is_none()
                && let Some(backup) = flow::suggested(device, backups)
            {
                flow.choose_backup(backup.clone());
            }
        }
    }
    ui.add_space(6.0);
    ui.label(egui::RichText::new("Which backup?").strong());
    let offered = match &flow.device {
        Some(device) => flow::backups_for(device, backups),
        None => backups.iter().collect(),
    };
    if offered.is_empty() {
        ui.label("No backup of this kind of phone was found. Add the folder that holds it with \"Add folder\".");
    }
    let suggested = flow
        .device
        .as_ref()
        .and_then(|d| flow::suggested(d, backups))
        .map(|b| b.path.clone());
    egui::ScrollArea::vertical()
        .max_height(220.0)
        .id_salt(("backups", flow.id))
        .show(ui, |ui| {
            for backup in offered {
                let chosen = flow.backup.as_ref().is_some_and(|b| b.path == backup.path);
                let mut label = format!(
                    "{} · {}{}",
                    backup.device_name.as_deref().unwrap_or("Unnamed phone"),
                    format::local_date(backup.date_unix),
                    if backup.encrypted {
                        " · encrypted"
                    } else {
                        ""
                    }
                );
                if suggested.as_ref() == Some(&backup.path) {
                    label.push_str(" · most recent of this phone");
                }
                if ui.radio(chosen, label).clicked() && !chosen {
                    flow.choose_backup(backup.clone());
                }
            }
        });
    if let Some(warning) = flow.other_phone_warning() {
        ui.colored_label(ui.visuals().warn_fg_color, warning);
    }
    let blocked = flow.fits().err();
    nav(ui, Some("Next"), blocked.as_deref(), false, act);
}

fn password(ui: &mut egui::Ui, flow: &mut Flow, act: &mut impl FnMut(Action)) {
    ui.label("This backup is encrypted. Type the password that was chosen when \"Encrypt local backup\" was turned on. Plugback checks it on this computer and never saves it.");
    let field = ui
        .horizontal(|ui| {
            let label = ui.label("Backup password");
            let field = egui::TextEdit::singleline(&mut *flow.password)
                .password(true)
                .desired_width(240.0);
            ui.add(field).labelled_by(label.id)
        })
        .inner;
    if field.changed() {
        flow.password_check = PasswordCheck::NotChecked;
    }
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    match &flow.password_check {
        PasswordCheck::NotChecked => {}
        PasswordCheck::Checking { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking the password…");
            });
        }
        PasswordCheck::Opens => {
            ui.label("The password opens the backup.");
        }
        PasswordCheck::Refused(failure) => {
            ui.colored_label(ui.visuals().error_fg_color, &failure.message);
        }
    }
    ui.horizontal(|ui| {
        if ui.button("Back").clicked() {
            act(Action::Back);
        }
        let checking = matches!(flow.password_check, PasswordCheck::Checking { .. });
        if flow.password_check == PasswordCheck::Opens {
            if ui.button("Next").clicked() {
                act(Action::Next);
            }
        } else if (ui
            .add_enabled(!checking, egui::Button::new("Check password"))
            .clicked()
            || entered)
            && !checking
        {
            act(Action::CheckPassword);
        }
    });
}

fn checks(ui: &mut egui::Ui, flow: &Flow, act: &mut impl FnMut(Action)) {
    match &flow.checks {
        Checks::NotRun => {
            ui.label("Plugback is not looking for phones, so it cannot check this restore.");
            nav(ui, None, None, true, act);
        }
        Checks::Running { .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Checking the backup, the phone, the cable and this computer…");
            });
            if ui.button("Cancel checks").clicked() {
                act(Action::CancelChecks);
            }
        }
        Checks::Done(preflight) => {
            for item in &preflight.items {
                let (mark, colour) = match item.status {
                    Status::Pass => ("OK", ui.visuals().text_color()),
                    Status::Warn => ("Check", ui.visuals().warn_fg_color),
                    Status::Block => ("Must fix", ui.visuals().error_fg_color),
                };
                ui.horizontal_wrapped(|ui| {
                    ui.colored_label(colour, mark);
                    ui.label(&item.message);
                });
                if item.status != Status::Pass && !item.fix.is_empty() {
                    ui.indent(("fix", item.id), |ui| {
                        ui.label(format!("What to do: {}", item.fix));
                    });
                }
            }
            if ui.button("Check again").clicked() {
                act(Action::Recheck);
            }
            let blocked = preflight.blocked().then_some(
                "Fix the items marked \"Must fix\", then press Check again. Nothing has been sent to the phone.",
            );
            nav(ui, Some("Next"), blocked, true, act);
        }
    }
}

fn options(ui: &mut egui::Ui, flow: &mut Flow, act: &mut impl FnMut(Action)) {
    let platform = flow.device.as_ref().map(|d| d.platform);
    let kind = flow.backup.as_ref().map(|b| b.kind);
    let options = &mut flow.options;
    match platform {
        Some(Platform::Ios) => {
            ui.checkbox(&mut options.reinstall_apps, "Reinstall the backup's apps");
            ui.checkbox(
                &mut options.system_files,
                "Also restore system files (settings, and the keychain where the backup has it)",
            );
            ui.checkbox(
                &mut options.reboot,
                "Let the iPhone restart at the end (it puts the restored files in place then)",
            );
        }
        Some(Platform::Android) => match kind {
            Some(plugback_core::backup::BackupKind::AndroidAb) => {
                ui.label("An Android archive is restored whole: the phone asks you to confirm it on its screen.");
            }
            Some(plugback_core::backup::BackupKind::AndroidFolder) => {
                ui.checkbox(&mut options.reinstall_apps, "Reinstall the backup's apps");
                ui.checkbox(&mut options.selective, "Only restore what I pick");
                if options.selective {
                    selection(ui, &mut flow.selectable, flow.id);
                }
            }
            _ => {
                ui.horizontal(|ui| {
                    let label = ui.label("Phone folder for the files");
                    ui.text_edit_singleline(&mut options.phone_folder)
                        .labelled_by(label.id);
                });
            }
        },
        None => {}
    }
    let blocked = flow.options_ready().err();
    nav(ui, Some("Next"), blocked.as_deref(), true, act);
}

fn selection(ui: &mut egui::Ui, selectable: &mut Selectable, flow: u64) {
    match selectable {
        Selectable::NotRead | Selectable::Reading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the backup's folders and apps…");
            });
        }
        Selectable::Failed(failure) => {
            ui.colored_label(ui.visuals().error_fg_color, &failure.message);
        }
        Selectable::Ready { folders, apps } => {
            egui::ScrollArea::vertical()
                .max_height(200.0)
                .id_salt(("pick", flow))
                .show(ui, |ui| {
                    if !folders.is_empty() {
                        ui.label(egui::RichText::new("Folders").strong());
                    }
                    for (folder, picked) in folders.iter_mut() {
                        ui.checkbox(picked, folder.as_str());
                    }
                    if !apps.is_empty() {
                        ui.label(egui::RichText::new("Apps").strong());
                    }
                    for (app, picked) in apps.iter_mut() {
                        ui.checkbox(picked, app.as_str());
                    }
                });
        }
    }
}

fn confirm(ui: &mut egui::Ui, flow: &Flow, act: &mut impl FnMut(Action)) {
    let (Some(device), Some(backup)) = (&flow.device, &flow.backup) else {
        return;
    };
    ui.label(format!(
        "Restore the backup of {} from {} to {}.",
        backup.device_name.as_deref().unwrap_or("a phone"),
        format::local_date(backup.date_unix),
        device_name(device)
    ));
    ui.label(match device.platform {
        Platform::Ios => "What the backup holds replaces what is on the iPhone. The backup on this computer is only read, never changed.",
        Platform::Android => "The backup's files and apps are put on the phone; files already there with the same name are replaced. The backup on this computer is only read, never changed.",
    });
    ui.label("Keep the phone plugged in and unlocked until Plugback says it is done. If the cable comes out, Plugback tells you what to do.");
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        if ui.button("Back").clicked() {
            act(Action::Back);
        }
        if ui.button("Start restore").clicked() {
            act(Action::Next);
        }
    });
}

fn progress(ui: &mut egui::Ui, flow: &Flow, run: &Run, act: &mut impl FnMut(Action)) {
    if let Some(report) = &run.report {
        return done(ui, flow, run, report, act);
    }
    ui.label(egui::RichText::new(phase_words(run.phase)).strong());
    let p = &run.progress;
    let bar = match run.fraction() {
        Some(fraction) => egui::ProgressBar::new(fraction).show_percentage(),
        None => egui::ProgressBar::new(0.0).animate(true),
    };
    ui.add(bar);
    let bytes = match p.bytes_total {
        Some(total) => format!(
            "{} of {}",
            format::bytes(p.bytes_done),
            format::bytes(total)
        ),
        None => format!("{} sent", format::bytes(p.bytes_done)),
    };
    let files = match p.files_total {
        Some(total) => format!("{} of {} files", p.files_done, total),
        None => format!("{} files", p.files_done),
    };
    ui.label(format!("{bytes} · {files}"));
    if let Some(current) = &p.current {
        ui.label(format!("Now: {current}"));
    }
    let speed = run
        .bytes_per_s
        .map(|b| format!("{}/s", format::bytes(b as u64)))
        .unwrap_or_else(|| "Measuring speed…".to_owned());
    let eta = run
        .eta_s
        .map(|s| format!(" · {}", format::time_left(s)))
        .unwrap_or_default();
    ui.label(format!("Speed: {speed}{eta}"));
    throughput_plot(ui, flow.id, run);
    ui.add_space(6.0);
    let cancelling = run.cancel.is_cancelled();
    if ui
        .add_enabled(
            !cancelling,
            egui::Button::new(if cancelling {
                "Stopping…"
            } else {
                "Cancel restore"
            }),
        )
        .clicked()
    {
        act(Action::CancelRestore);
    }
}

fn throughput_plot(ui: &mut egui::Ui, id: u64, run: &Run) {
    let points = egui_plot::PlotPoints::from(run.speed.clone());
    let response = egui_plot::Plot::new(("throughput", id))
        .height(110.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(0.0)
        .x_axis_label("seconds")
        .y_axis_label("MB/s")
        .show(ui, |plot| plot.line(egui_plot::Line::new("MB/s", points)))
        .response;
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, "Transfer speed over time")
    });
}

fn done(
    ui: &mut egui::Ui,
    flow: &Flow,
    run: &Run,
    report: &plugback_core::jobs::JobReport,
    act: &mut impl FnMut(Action),
) {
    let phone = flow.phone_name().unwrap_or("the phone");
    if report.ok {
        ui.label(egui::RichText::new("Restore finished").strong());
        ui.label(format!(
            "{} files, {} sent to {phone} in {}.",
            report.files,
            format::bytes(report.bytes),
            format::duration(report.seconds)
        ));
        match (report.restarts, report.resumes) {
            (0, 0) => {}
            (restarts, 0) => {
                ui.label(format!("The phone was disconnected; the restore started again {restarts} time(s) and then finished."));
            }
            (_, resumes) => {
                ui.label(format!("The phone was disconnected; the restore carried on {resumes} time(s) and then finished."));
            }
        }
        if flow
            .device
            .as_ref()
            .is_some_and(|d| d.platform == Platform::Ios)
            && flow.options.reboot
        {
            ui.label("The iPhone now restarts to put everything in place. Leave it plugged in until it shows its lock screen.");
        } else {
            ui.label("You can unplug the phone now.");
        }
    } else if let Some(error) = &report.error {
        let incomplete =
            error.code == "restore-incomplete" || error.code.starts_with("android-install");
        ui.label(
            egui::RichText::new(if error.code == "cancelled" {
                "Restore cancelled"
            } else if incomplete {
                "Restored, except some items"
            } else {
                "The restore did not finish"
            })
            .strong(),
        );
        ui.label(&error.message);
        if let Some(fix) = &error.fix {
            ui.label(format!("What to do: {fix}"));
        }
        if plugback_core::explain::explain(&error.code).is_some()
            && ui.button("Explain this error").clicked()
        {
            act(Action::Explain(error.code.clone()));
        }
        ui.label("The backup on this computer was only read; it is unchanged.");
    }
    for (_, note) in &run.notes {
        ui.label(format!("Note: {note}"));
    }
    if let Some(log) = &report.log {
        ui.label(format!("The log of this restore: {}", log.display()));
    }
    if ui.button("Close").clicked() {
        act(Action::Close);
    }
}
