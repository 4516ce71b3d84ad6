//! One restore in the window, from the wizard's first step to its done report. Pure logic:
//! each method updates the flow and returns the jobs to start.
//!
//! The steps: choose the phone and the backup; the password, for an encrypted backup
//! (checked on this computer, before the checklist, so the checklist can check it too);
//! the checklist; options and what to restore; confirm; progress; done.

use super::run::Run;
use super::work::Effects;
use crate::gui::state::{Failure, Job};
use plugback_core::backup::{BackupKind, BackupSummary};
use plugback_core::cancel::CancelToken;
use plugback_core::device::{Device, Platform};
use plugback_core::jobs::RestoreChoice;
use plugback_core::preflight::Preflight;
use plugback_core::secret::Password;
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Choose,
    Password,
    Checks,
    Options,
    Confirm,
    /// The restore is running, or has ended (the run says which).
    Restore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    NotChecked,
    Checking { run: u64 },
    Opens,
    Refused(Failure),
}

#[derive(Debug)]
pub enum Checks {
    NotRun,
    Running { run: u64, cancel: CancelToken },
    Done(Preflight),
}

/// What the person may pick from in an Android backup folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selectable {
    NotRead,
    Reading,
    /// Phone folders and apps, each with whether it is picked.
    Ready {
        folders: Vec<(String, bool)>,
        apps: Vec<(String, bool)>,
    },
    Failed(Failure),
}

/// The options a person sets in the wizard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub reinstall_apps: bool,
    pub system_files: bool,
    pub reboot: bool,
    /// Android: restore only what is picked in the selection.
    pub selective: bool,
    /// Android, a plain folder of files: where it goes on the phone.
    pub phone_folder: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reinstall_apps: true,
            system_files: false,
            reboot: true,
            selective: false,
            phone_folder: plugback_core::jobs::choice::DEFAULT_PHONE_FOLDER.to_owned(),
        }
    }
}

pub struct Flow {
    pub id: u64,
    /// Whether its window is shown; a running restore's window can be hidden and shown
    /// again from the phone's card.
    pub open: bool,
    pub step: Step,
    /// The phone, as the watcher last read it when it was chosen.
    pub device: Option<Device>,
    pub backup: Option<BackupSummary>,
    /// What the person typed; wiped when the flow goes.
    pub password: Zeroizing<String>,
    pub password_check: PasswordCheck,
    pub checks: Checks,
    pub options: Options,
    pub selectable: Selectable,
    pub run: Option<Run>,
}

impl Flow {
    pub fn new(id: u64) -> Flow {
        Flow {
            id,
            open: true,
            step: Step::Choose,
            device: None,
            backup: None,
            password: Zeroizing::new(String::new()),
            password_check: PasswordCheck::NotChecked,
            checks: Checks::NotRun,
            options: Options::default(),
            selectable: Selectable::NotRead,
            run: None,
        }
    }

    /// The phone's name for titles and sentences.
    pub fn phone_name(&self) -> Option<&str> {
        self.device.as_ref().map(device_name)
    }

    pub fn is_running(&self) -> bool {
        self.run.as_ref().is_some_and(Run::is_running)
    }

    /// Chooses the phone; a different phone means the checks must run again.
    pub fn choose_device(&mut self, device: Device) {
        if self.device.as_ref().is_some_and(|d| d.id == device.id) {
            return;
        }
        self.device = Some(device);
        self.reset_checks();
    }

    /// Chooses the backup; its password, checks and selection start over.
    pub fn choose_backup(&mut self, backup: BackupSummary) {
        if self.backup.as_ref().is_some_and(|b| b.path == backup.path) {
            return;
        }
        self.backup = Some(backup);
        self.password.clear();
        self.password_check = PasswordCheck::NotChecked;
        self.selectable = Selectable::NotRead;
        self.options.selective = false;
        self.reset_checks();
    }

    fn reset_checks(&mut self) {
        if let Checks::Running { cancel, .. } = &self.checks {
            cancel.cancel();
        }
        self.checks = Checks::NotRun;
    }

    /// Whether the chosen backup and phone go together (an iPhone backup to an iPhone…);
    /// Err says why not, in the window's words.
    pub fn fits(&self) -> Result<(), String> {
        let (Some(device), Some(backup)) = (&self.device, &self.backup) else {
            return Err("Choose a phone and a backup.".to_owned());
        };
        match (device.platform, backup.kind.is_ios()) {
            (Platform::Ios, true) | (Platform::Android, false) => Ok(()),
            (Platform::Ios, false) => Err(format!(
                "{} is an iPhone, and this is an Android backup. Choose an iPhone backup, or plug in an Android phone.",
                device_name(device)
            )),
            (Platform::Android, true) => Err(format!(
                "{} is an Android phone, and this is an iPhone backup. Choose an Android backup, or plug in an iPhone.",
                device_name(device)
            )),
        }
    }

    /// A warning when the backup was made from another phone than the one chosen.
    pub fn other_phone_warning(&self) -> Option<String> {
        let (device, backup) = (self.device.as_ref()?, self.backup.as_ref()?);
        backup.device_id.as_deref()?;
        (!belongs_to(backup, device)).then(|| {
            format!(
                "This backup was made from {}, not from {}. Restoring it puts that phone's data on this one.",
                backup.device_name.as_deref().unwrap_or("another phone"),
                device_name(device)
            )
        })
    }

    pub fn needs_password(&self) -> bool {
        self.backup.as_ref().is_some_and(|b| b.encrypted)
    }

    /// The step after Choose: the password for an encrypted backup, else the checklist.
    pub fn after_choose(&mut self, run: u64, sources_ready: bool, effects: Effects) -> Vec<Job> {
        if self.fits().is_err() {
            return Vec::new();
        }
        if self.needs_password() && self.password_check != PasswordCheck::Opens {
            self.step = Step::Password;
            return Vec::new();
        }
        self.go_to_checks(run, sources_ready, effects)
    }

    /// Checks the typed password against the backup, on this computer.
    pub fn check_password(&mut self, run: u64) -> Option<Job> {
        let backup = self.backup.as_ref()?;
        if self.password.is_empty() {
            self.password_check =
                PasswordCheck::Refused(Failure::new("Type the backup's password first."));
            return None;
        }
        self.password_check = PasswordCheck::Checking { run };
        Some(Job::CheckPassword {
            flow: self.id,
            run,
            path: backup.path.clone(),
            password: Password::new(self.password.as_str()),
        })
    }

    pub fn password_checked(&mut self, run: u64, result: Result<(), Failure>) {
        if self.password_check != (PasswordCheck::Checking { run }) {
            return;
        }
        self.password_check = match result {
            Ok(()) => PasswordCheck::Opens,
            Err(failure) => PasswordCheck::Refused(failure),
        };
    }

    /// Runs the checklist (again). Needs the phone services the window watches.
    pub fn go_to_checks(&mut self, run: u64, sources_ready: bool, effects: Effects) -> Vec<Job> {
        self.step = Step::Checks;
        let (Some(device), Some(_)) = (self.device.clone(), &self.backup) else {
            return Vec::new();
        };
        if !sources_ready {
            return Vec::new();
        }
        self.reset_checks();
        let cancel = CancelToken::new();
        self.checks = Checks::Running {
            run,
            cancel: cancel.clone(),
        };
        vec![Job::Preflight {
            flow: self.id,
            run,
            choice: Box::new(self.choice()),
            device: Box::new(device),
            effects,
            cancel,
        }]
    }

    pub fn checks_done(&mut self, run: u64, preflight: Preflight) {
        if matches!(self.checks, Checks::Running { run: r, .. } if r == run) {
            self.checks = Checks::Done(preflight);
        }
    }

    /// Whether the checklist lets the restore go on.
    pub fn checks_passed(&self) -> bool {
        matches!(&self.checks, Checks::Done(p) if !p.blocked())
    }

    /// The options step; an Android backup folder's folders and apps are read for the
    /// selection.
    pub fn go_to_options(&mut self) -> Vec<Job> {
        if !self.checks_passed() {
            return Vec::new();
        }
        self.step = Step::Options;
        match &self.backup {
            Some(backup)
                if backup.kind == BackupKind::AndroidFolder
                    && self.selectable == Selectable::NotRead =>
            {
                self.selectable = Selectable::Reading;
                vec![Job::ReadSelection {
                    flow: self.id,
                    path: backup.path.clone(),
                }]
            }
            _ => Vec::new(),
        }
    }

    pub fn selection_read(&mut self, result: Result<(Vec<String>, Vec<String>), Failure>) {
        self.selectable = match result {
            Ok((folders, apps)) => Selectable::Ready {
                folders: folders.into_iter().map(|f| (f, true)).collect(),
                apps: apps.into_iter().map(|a| (a, true)).collect(),
            },
            Err(failure) => Selectable::Failed(failure),
        };
    }

    /// Err says why the options cannot be used (nothing picked).
    pub fn options_ready(&self) -> Result<(), String> {
        if !self.options.selective {
            return Ok(());
        }
        match &self.selectable {
            Selectable::Ready { folders, apps } => {
                if folders.iter().chain(apps).any(|(_, picked)| *picked) {
                    Ok(())
                } else {
                    Err("Pick at least one folder or app, or restore everything.".to_owned())
                }
            }
            _ => Err("The list of folders and apps is not ready yet.".to_owned()),
        }
    }

    pub fn go_to_confirm(&mut self) {
        if self.options_ready().is_ok() && self.checks_passed() {
            self.step = Step::Confirm;
        }
    }

    /// What the restore sends, as the engine takes it.
    pub fn choice(&self) -> RestoreChoice {
        let mut choice = RestoreChoice::new(
            self.backup
                .as_ref()
                .map(|b| b.path.clone())
                .unwrap_or_default(),
        );
        choice.password = (self.needs_password() && !self.password.is_empty())
            .then(|| Password::new(self.password.as_str()));
        choice.skip_apps = !self.options.reinstall_apps;
        choice.system_files = self.options.system_files;
        choice.reboot = self.options.reboot;
        choice.phone_folder = self.options.phone_folder.clone();
        if self.options.selective
            && let Selectable::Ready { folders, apps } = &self.selectable
        {
            choice.only = folders
                .iter()
                .chain(apps)
                .filter(|(_, picked)| *picked)
                .map(|(name, _)| name.clone())
                .collect();
        }
        choice
    }

    /// Starts the restore: the job and the run it reports to.
    pub fn start(&mut self, job_id: String, effects: Effects) -> Option<Job> {
        let device = self.device.clone()?;
        if self.step != Step::Confirm || self.is_running() {
            return None;
        }
        let (run, answers) = Run::new(job_id.clone());
        let cancel = run.cancel.clone();
        self.run = Some(run);
        self.step = Step::Restore;
        Some(Job::Restore {
            flow: self.id,
            job_id,
            device: Box::new(device),
            choice: Box::new(self.choice()),
            effects,
            cancel,
            answers,
        })
    }

    /// Goes back one step (not once the restore started).
    pub fn back(&mut self) {
        self.step = match self.step {
            Step::Choose | Step::Password => Step::Choose,
            Step::Checks if self.needs_password() => Step::Password,
            Step::Checks => Step::Choose,
            Step::Options => Step::Checks,
            Step::Confirm => Step::Options,
            Step::Restore => Step::Restore,
        };
    }

    /// Stops whatever this flow has running (the window closed, or the person cancelled).
    pub fn cancel(&mut self) {
        self.reset_checks();
        if let Some(run) = &self.run {
            run.cancel.cancel();
        }
    }
}

/// A phone's name as a person knows it.
pub fn device_name(device: &Device) -> &str {
    device
        .name
        .as_deref()
        .or(device.model.as_deref())
        .unwrap_or(&device.id)
}

/// The backups worth offering for `device`, the most fitting first: this phone's own,
/// newest first, then others of the same kind, newest first.
pub fn backups_for<'a>(device: &Device, backups: &'a [BackupSummary]) -> Vec<&'a BackupSummary> {
    let mut offered: Vec<&BackupSummary> = backups
        .iter()
        .filter(|b| b.kind.is_ios() == (device.platform == Platform::Ios))
        .collect();
    offered.sort_by_key(|b| (!belongs_to(b, device), std::cmp::Reverse(b.date_unix)));
    offered
}

/// The backup to suggest for `device`: its own most recent one.
pub fn suggested<'a>(device: &Device, backups: &'a [BackupSummary]) -> Option<&'a BackupSummary> {
    backups_for(device, backups)
        .into_iter()
        .find(|b| belongs_to(b, device))
}

/// Whether `backup` was made from `device`: an iPhone backup names its UDID (the phone's
/// id); an Android backup names the phone's serial number, which is not always the id adb
/// lists it under (a phone over Wi-Fi is listed by its address).
pub fn belongs_to(backup: &BackupSummary, device: &Device) -> bool {
    backup.device_id.as_deref().is_some_and(|made_on| {
        made_on.eq_ignore_ascii_case(&device.id)
            || device
                .serial
                .as_deref()
                .is_some_and(|serial| made_on.eq_ignore_ascii_case(serial))
    })
}
