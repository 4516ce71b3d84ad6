//! Restores from the window: each is a flow (the wizard, then the running restore with its
//! progress and watchdog), one window each, so two phones can be restored at once.

mod actions;
pub mod flow;
pub mod run;
pub mod work;

pub use flow::{Checks, Flow, Options, PasswordCheck, Selectable, Step};
pub use run::{Lost, Run};

use crate::gui::state::{Failure, Job};
use plugback_core::backup::BackupSummary;
use plugback_core::device::Device;
use plugback_core::jobs::JobEvent;
use plugback_core::preflight::Preflight;

/// What a restore's job reports, for the flow `flow`.
#[derive(Debug)]
pub enum RestoreEvent {
    PasswordChecked {
        run: u64,
        result: Result<(), Failure>,
    },
    ChecksDone {
        run: u64,
        preflight: Box<Preflight>,
    },
    SelectionRead(Result<(Vec<String>, Vec<String>), Failure>),
    Job(Box<JobEvent>),
    /// The engine asks before an iPhone restore starts again.
    Question(String),
}

#[derive(Default)]
pub struct Restores {
    pub flows: Vec<Flow>,
    next_id: u64,
    next_run: u64,
}

impl Restores {
    fn new_flow(&mut self) -> &mut Flow {
        self.next_id += 1;
        self.flows.push(Flow::new(self.next_id));
        self.flows.last_mut().expect("just pushed")
    }

    pub fn next_run(&mut self) -> u64 {
        self.next_run += 1;
        self.next_run
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut Flow> {
        self.flows.iter_mut().find(|f| f.id == id)
    }

    /// The flow that restores to (or is set up for) the phone `device_id`, if any.
    pub fn for_device(&self, device_id: &str) -> Option<&Flow> {
        self.flows
            .iter()
            .find(|f| f.device.as_ref().is_some_and(|d| d.id == device_id))
    }

    /// Opens the wizard for `device`, suggesting its most recent backup; shows the flow
    /// it already has instead, if any.
    pub fn open_for_device(&mut self, device: &Device, backups: &[BackupSummary]) {
        if let Some(id) = self.for_device(&device.id).map(|f| f.id) {
            if let Some(flow) = self.get_mut(id) {
                flow.open = true;
            }
            return;
        }
        let flow = self.new_flow();
        flow.choose_device(device.clone());
        if let Some(backup) = flow::suggested(device, backups) {
            flow.choose_backup(backup.clone());
        }
    }

    /// Opens the wizard with `backup` chosen; the phone is picked in the first step (or
    /// preselected when only one fitting phone is plugged in).
    pub fn open_for_backup(&mut self, backup: &BackupSummary, phones: &[Device]) {
        let fitting: Vec<&Device> = phones
            .iter()
            .filter(|d| {
                (d.platform == plugback_core::device::Platform::Ios) == backup.kind.is_ios()
            })
            .collect();
        let busy: Vec<String> = self
            .flows
            .iter()
            .filter_map(|f| f.device.as_ref().map(|d| d.id.clone()))
            .collect();
        let flow = self.new_flow();
        flow.choose_backup(backup.clone());
        if let [only] = fitting.as_slice()
            && !busy.contains(&only.id)
        {
            flow.choose_device((*only).clone());
        }
    }

    /// Takes in what a job reported for the flow `id`.
    pub fn apply(&mut self, id: u64, event: RestoreEvent) {
        let Some(flow) = self.get_mut(id) else {
            return;
        };
        match event {
            RestoreEvent::PasswordChecked { run, result } => flow.password_checked(run, result),
            RestoreEvent::ChecksDone { run, preflight } => flow.checks_done(run, *preflight),
            RestoreEvent::SelectionRead(result) => flow.selection_read(result),
            RestoreEvent::Job(event) => {
                if let Some(run) = &mut flow.run {
                    if matches!(*event, JobEvent::Lost { .. }) {
                        // The overlay says it, but the window must be there to say it.
                        flow.open = true;
                    }
                    run.apply(*event);
                }
            }
            RestoreEvent::Question(question) => {
                if let Some(run) = &mut flow.run {
                    run.ask(question);
                }
            }
        }
    }

    /// Closes the flow `id`'s window: a wizard not yet started goes away (its checks are
    /// stopped); a restore keeps running and its window can be shown again.
    pub fn close(&mut self, id: u64) {
        let Some(index) = self.flows.iter().position(|f| f.id == id) else {
            return;
        };
        let flow = &mut self.flows[index];
        if flow.is_running() {
            flow.open = false;
        } else {
            flow.cancel();
            self.flows.remove(index);
        }
    }

    /// The flows whose phone is lost or whose restore waits for an answer: the overlay.
    pub fn needing_attention(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter().filter(|f| {
            f.run
                .as_ref()
                .is_some_and(|r| r.is_running() && (r.lost.is_some() || r.question.is_some()))
        })
    }

    /// Stops every check and restore (the window is closing).
    pub fn cancel_all(&mut self) {
        for flow in &mut self.flows {
            flow.cancel();
        }
    }

    /// The job for the flow `id`'s Start button.
    pub fn start(&mut self, id: u64, effects: work::Effects) -> Option<Job> {
        let flow = self.get_mut(id)?;
        let device = flow.device.clone()?;
        flow.start(plugback_core::jobs::choice::job_id(&device), effects)
    }
}
