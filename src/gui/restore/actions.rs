//! What a person does in a restore window, as methods of the window's state: each returns
//! the jobs to start.

use super::flow::Step;
use super::work::Effects;
use crate::gui::state::{AppState, Job};
use std::path::Path;

impl AppState {
    /// What restores take from the settings.
    pub fn restore_effects(&self) -> Effects {
        Effects {
            keep_awake: self.settings.keep_awake_during_restore,
            notify: self.settings.restore_notifications,
        }
    }

    /// "Restore to this phone…" on a phone's card.
    pub fn restore_to_phone(&mut self, device_id: &str) {
        if let Some(device) = self.phones.devices.iter().find(|d| d.id == device_id) {
            self.restores.open_for_device(device, &self.backups);
        }
    }

    /// "Restore to a phone…" in a backup's details.
    pub fn restore_backup(&mut self, path: &Path) {
        if let Some(backup) = self.backups.iter().find(|b| b.path == path) {
            self.restores.open_for_backup(backup, &self.phones.devices);
        }
    }

    /// The Next (or Start) button of the flow `id`.
    pub fn restore_next(&mut self, id: u64) -> Vec<Job> {
        let run = self.restores.next_run();
        let effects = self.restore_effects();
        let sources_ready = self.phones.watching;
        let Some(flow) = self.restores.get_mut(id) else {
            return Vec::new();
        };
        match flow.step {
            Step::Choose => flow.after_choose(run, sources_ready, effects),
            Step::Password => match flow.password_check {
                super::PasswordCheck::Opens => flow.go_to_checks(run, sources_ready, effects),
                _ => flow.check_password(run).into_iter().collect(),
            },
            Step::Checks => flow.go_to_options(),
            Step::Options => {
                flow.go_to_confirm();
                Vec::new()
            }
            Step::Confirm => self.restores.start(id, effects).into_iter().collect(),
            Step::Restore => Vec::new(),
        }
    }

    /// "Check password" in the flow `id`.
    pub fn restore_check_password(&mut self, id: u64) -> Vec<Job> {
        let run = self.restores.next_run();
        self.restores
            .get_mut(id)
            .and_then(|flow| flow.check_password(run))
            .into_iter()
            .collect()
    }

    /// "Check again" in the flow `id`'s checklist.
    pub fn restore_recheck(&mut self, id: u64) -> Vec<Job> {
        let run = self.restores.next_run();
        let effects = self.restore_effects();
        let sources_ready = self.phones.watching;
        match self.restores.get_mut(id) {
            Some(flow) => flow.go_to_checks(run, sources_ready, effects),
            None => Vec::new(),
        }
    }

    /// The phone of the flow `id`, as the watcher reads it now (its card may have
    /// changed since it was chosen: trusted since, charging…).
    pub fn refresh_restore_phone(&mut self, id: u64) {
        let devices = &self.phones.devices;
        if let Some(flow) = self.restores.flows.iter_mut().find(|f| f.id == id)
            && let Some(chosen) = &flow.device
            && let Some(now) = devices.iter().find(|d| d.id == chosen.id)
            && !flow.is_running()
        {
            flow.device = Some(now.clone());
        }
    }
}
