//! What the window knows, and how it changes. Pure logic: no I/O, no egui.
//!
//! Each action a person takes, and each event a background job reports, goes through a
//! method here that updates the state and returns the jobs to start. The app hands those
//! jobs to the worker; the views only read the state and call these methods.

use super::demo::{DemoControl, DemoInfo, DemoState};
pub use super::doctor::FirstRun;
pub use super::health::{HealthChecks, PhoneSources};
pub use super::logs::{Exported, LogLines, LogSummary, LogsView};
pub use super::phones::{Pairing, Phones, SourceDown};
use super::restore::work::Effects;
pub use super::restore::{RestoreEvent, Restores};
use crate::demo::Simulate;
use plugback_core::backup::summary::BackupStats;
use plugback_core::backup::verify::{Depth, Severity, VerifyOptions, VerifyProgress, VerifyReport};
use plugback_core::backup::{BackupError, BackupKind, BackupSummary};
use plugback_core::cancel::CancelToken;
use plugback_core::device::health::HealthReport;
use plugback_core::device::ios::{PairOutcome, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::WatchEvent;
use plugback_core::device::{Device, DeviceError};
use plugback_core::diagnostics::DiagnosticsInputs;
use plugback_core::doctor::DoctorReport;
use plugback_core::jobs::report::JobError;
use plugback_core::jobs::{JobEvent, JobReport, RestoreChoice};
use plugback_core::preflight::Preflight;
use plugback_core::secret::Password;
use plugback_core::settings::{Settings, Theme};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use zeroize::Zeroizing;

/// Where the window looks for backups and phones, and keeps its settings.
pub struct AppConfig {
    /// Folders to search besides those saved in the settings (from `--dir`, or a test's).
    pub dirs: Vec<PathBuf>,
    /// Also search the usual places (Finder/iTunes folders, Plugback's own folder) and
    /// `PLUGBACK_BACKUP_DIRS`.
    pub standard_places: bool,
    /// The settings file; `None` keeps added folders for this session only.
    pub settings_path: Option<PathBuf>,
    /// Where phones are looked for; `None` shows no phones and watches nothing.
    pub phones: Option<Sources>,
    /// Demo mode (`--demo`): its hints and its simulated cable; `None` outside it.
    pub demo: Option<DemoInfo>,
    /// The folder of restore job logs the Logs window lists; `None` lists none.
    pub log_dir: Option<PathBuf>,
    /// Check this computer once at start (usbmuxd, adb, USB access) and say what is
    /// missing before a phone is plugged in.
    pub run_doctor: bool,
    /// This program, offered with `--demo` while no phone is plugged in; `None` offers no
    /// demo (in demo mode itself, and in tests that do not ask for it).
    pub demo_program: Option<PathBuf>,
    /// "Add folder…" opens the system's folder dialog (the typed path stays as the way
    /// where there is none); off in tests, which have no desktop to show it.
    pub native_dialogs: bool,
}

impl std::fmt::Debug for AppConfig {
    // By hand: the device sources have no Debug of their own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("dirs", &self.dirs)
            .field("standard_places", &self.standard_places)
            .field("settings_path", &self.settings_path)
            .field("watches_phones", &self.phones.is_some())
            .field("demo", &self.demo.is_some())
            .field("log_dir", &self.log_dir)
            .field("run_doctor", &self.run_doctor)
            .field("demo_program", &self.demo_program)
            .field("native_dialogs", &self.native_dialogs)
            .finish()
    }
}

impl AppConfig {
    /// The usual places on this computer, the person's settings, and `extra_dirs`.
    pub fn for_this_computer(extra_dirs: Vec<PathBuf>) -> Self {
        Self {
            dirs: extra_dirs,
            standard_places: true,
            settings_path: plugback_core::settings::settings_path(),
            phones: Some(Sources::from_env()),
            demo: None,
            log_dir: plugback_core::settings::data_dir().map(|d| d.join("logs")),
            run_doctor: true,
            demo_program: std::env::current_exe().ok(),
            native_dialogs: true,
        }
    }

    /// Only `dirs`, and no settings file: nothing outside them is read or written.
    pub fn only(dirs: Vec<PathBuf>) -> Self {
        Self {
            dirs,
            standard_places: false,
            settings_path: None,
            phones: None,
            demo: None,
            log_dir: None,
            run_doctor: false,
            demo_program: None,
            native_dialogs: false,
        }
    }
}

/// Something that went wrong in a job, ready to show: a stable code for the plain-language
/// catalog (when there is one) and the specific message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: Option<&'static str>,
    pub message: String,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            code: None,
            message: message.into(),
        }
    }
}

impl From<&DeviceError> for Failure {
    fn from(err: &DeviceError) -> Self {
        Self {
            code: Some(err.code()),
            message: err.to_string(),
        }
    }
}

impl From<&BackupError> for Failure {
    fn from(err: &BackupError) -> Self {
        Self {
            code: Some(err.code()),
            message: err.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Unreadable {
    pub path: PathBuf,
    pub failure: Failure,
}

/// Which folders a scan searches. Resolved on the worker: finding the usual places reads
/// the environment and the account database, which the UI thread leaves alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPlan {
    /// Folders saved in the settings.
    pub saved: Vec<PathBuf>,
    /// Folders given at start (`--dir`, or a test's).
    pub extra: Vec<PathBuf>,
    /// Also the usual places and `PLUGBACK_BACKUP_DIRS`.
    pub standard_places: bool,
}

impl SearchPlan {
    /// The folders to search, in order, without repeats.
    pub fn dirs(&self) -> Vec<PathBuf> {
        if self.standard_places {
            return plugback_core::backup::catalog::search_dirs(&self.saved, &self.extra);
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        for dir in self.saved.iter().chain(&self.extra) {
            if !dirs.contains(dir) {
                dirs.push(dir.clone());
            }
        }
        dirs
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchedFolder {
    pub path: PathBuf,
    pub exists: bool,
}

/// The settings file as loaded: what to say about it, and whether it may be written.
#[derive(Clone, Debug)]
pub struct LoadedSettings {
    pub settings: Settings,
    /// A problem with the file, for a person.
    pub problem: Option<String>,
    /// False when the file exists but could not be read: saving would overwrite it.
    pub writable: bool,
}

#[derive(Clone, Debug)]
pub struct FolderAdded {
    pub settings: Settings,
    /// Whether the folder was written to the settings file (else kept for this session).
    pub saved: bool,
    pub note: Option<String>,
}

/// What background jobs report.
#[derive(Debug)]
pub enum Event {
    SettingsLoaded(LoadedSettings),
    ScanFinished {
        generation: u64,
        searched: Vec<SearchedFolder>,
        backups: Vec<BackupSummary>,
        unreadable: Vec<Unreadable>,
        /// Why the scan could not run, if it could not.
        problem: Option<String>,
    },
    StatsReady {
        path: PathBuf,
        result: Result<BackupStats, Failure>,
    },
    VerifyProgress {
        run: u64,
        progress: VerifyProgress,
    },
    VerifyFinished {
        run: u64,
        result: Result<VerifyReport, Failure>,
    },
    FolderAdded {
        path: PathBuf,
        result: Result<FolderAdded, Failure>,
    },
    /// How writing the settings file went.
    SettingsSaved(Result<(), Failure>),
    /// What the phone watcher saw.
    Phones(WatchEvent),
    /// Watching for phones could not start, or stopped for good.
    PhoneWatchFailed(Failure),
    /// A state the iPhone `udid` reported while pairing.
    PairProgress {
        udid: String,
        outcome: PairOutcome,
    },
    /// How pairing with the iPhone `udid` ended.
    PairFinished {
        udid: String,
        result: Result<PairOutcome, Failure>,
    },
    /// How the demo's simulated unplug or replug of the phone `id` went.
    Simulated {
        id: String,
        name: String,
        action: Simulate,
        result: Result<(), String>,
    },
    /// How the connection check of the phone `id` ended.
    HealthChecked {
        id: String,
        result: Result<Box<HealthReport>, Failure>,
    },
    /// The job logs in the log folder, newest first.
    LogsListed(Result<Vec<LogSummary>, Failure>),
    /// The readable lines of the job log at `path`.
    LogRead {
        path: PathBuf,
        result: Result<LogLines, Failure>,
    },
    /// How Export diagnostics ended; `Ok(None)` when the person closed the dialog.
    DiagnosticsExported(Result<Option<Exported>, Failure>),
    /// What the first-run check of this computer found.
    DoctorFinished(Result<Box<DoctorReport>, Failure>),
    /// The folder picked in the dialog; None when the person closed it.
    FolderPicked(Option<PathBuf>),
    /// How opening the demo window went.
    DemoOpened(Result<(), Failure>),
    /// What a running test-restore reported.
    TestRestoreUpdate {
        run: u64,
        update: super::test_restore::TestRestoreUpdate,
    },
    /// How a test-restore ended.
    TestRestoreFinished {
        run: u64,
        result: Result<crate::test_restore::TestRestoreReport, Failure>,
    },
    /// What a restore flow's job reported.
    Restore {
        flow: u64,
        event: RestoreEvent,
    },
    /// The file list of the backup at `path`, for the file browser.
    FilesListed {
        path: PathBuf,
        result: Result<Vec<plugback_core::backup::listing::ListedFile>, Failure>,
    },
}

/// Work for the worker threads.
#[derive(Debug)]
pub enum Job {
    LoadSettings,
    Scan {
        generation: u64,
        plan: SearchPlan,
    },
    Stats {
        path: PathBuf,
        kind: BackupKind,
    },
    Verify {
        run: u64,
        path: PathBuf,
        options: VerifyOptions,
    },
    /// Check that the folder exists, then add it to `settings` (and save them if `save`).
    AddFolder {
        path: PathBuf,
        settings: Settings,
        save: bool,
    },
    /// Write `settings` to the settings file.
    SaveSettings {
        settings: Settings,
    },
    /// Pair this computer with the iPhone `udid` through usbmuxd, until `cancel`.
    Pair {
        mux: Usbmuxd,
        udid: String,
        cancel: CancelToken,
    },
    /// Demo mode: unplug or replug the simulated phone `id` (shown as `name`).
    Simulate {
        id: String,
        name: String,
        action: Simulate,
        control: DemoControl,
    },
    /// Check the cable and connection of `device`, until `cancel` or the time limit.
    CheckHealth {
        sources: PhoneSources,
        device: Box<Device>,
        cancel: CancelToken,
    },
    /// List the job logs in `dir`.
    ListLogs {
        dir: Option<PathBuf>,
    },
    /// Read the end of one job log.
    ReadLog {
        path: PathBuf,
    },
    /// Write the redacted diagnostics zip to `out`, or where the person picks in a dialog.
    ExportDiagnostics {
        out: Option<PathBuf>,
        inputs: DiagnosticsInputs,
    },
    /// Check what this computer needs for phones (first run).
    RunDoctor,
    /// Restore `path` into a simulated phone and compare what arrived, until `cancel`.
    TestRestore {
        run: u64,
        path: PathBuf,
        password: Option<Password>,
        cancel: CancelToken,
    },
    /// Ask the person for a folder of backups in the system's folder dialog.
    PickFolder,
    /// Open a second window in demo mode: `program --demo`.
    OpenDemo {
        program: PathBuf,
    },
    /// Open an encrypted backup with `password`, on this computer.
    CheckPassword {
        flow: u64,
        run: u64,
        path: PathBuf,
        password: Password,
    },
    /// The checklist before a restore.
    Preflight {
        flow: u64,
        run: u64,
        choice: Box<RestoreChoice>,
        device: Box<Device>,
        effects: Effects,
        cancel: CancelToken,
    },
    /// Read the folders and apps of an Android backup folder, for picking.
    ReadSelection {
        flow: u64,
        path: PathBuf,
    },
    /// Run a restore to its end, reporting each event; `answers` carries the person's
    /// answer when the engine asks whether to start again.
    Restore {
        flow: u64,
        job_id: String,
        device: Box<Device>,
        choice: Box<RestoreChoice>,
        effects: Effects,
        cancel: CancelToken,
        answers: Receiver<bool>,
    },
    /// Read the file list of the backup at `path` (an encrypted list opens with `password`).
    ListFiles {
        path: PathBuf,
        kind: BackupKind,
        password: Option<Password>,
    },
}

impl Job {
    /// The event that tells the state this job could not run (the thread could not start
    /// or stopped unexpectedly), so that nothing waits forever.
    pub fn failed(&self, failure: Failure) -> Event {
        match self {
            Job::LoadSettings => Event::SettingsLoaded(LoadedSettings {
                settings: Settings::default(),
                problem: Some(failure.message),
                writable: false,
            }),
            Job::Scan { generation, .. } => Event::ScanFinished {
                generation: *generation,
                searched: Vec::new(),
                backups: Vec::new(),
                unreadable: Vec::new(),
                problem: Some(failure.message),
            },
            Job::Stats { path, .. } => Event::StatsReady {
                path: path.clone(),
                result: Err(failure),
            },
            Job::Verify { run, .. } => Event::VerifyFinished {
                run: *run,
                result: Err(failure),
            },
            Job::AddFolder { path, .. } => Event::FolderAdded {
                path: path.clone(),
                result: Err(failure),
            },
            Job::SaveSettings { .. } => Event::SettingsSaved(Err(failure)),
            Job::Pair { udid, .. } => Event::PairFinished {
                udid: udid.clone(),
                result: Err(failure),
            },
            Job::Simulate {
                id, name, action, ..
            } => Event::Simulated {
                id: id.clone(),
                name: name.clone(),
                action: *action,
                result: Err(failure.message),
            },
            Job::CheckHealth { device, .. } => Event::HealthChecked {
                id: device.id.clone(),
                result: Err(failure),
            },
            Job::ListLogs { .. } => Event::LogsListed(Err(failure)),
            Job::ReadLog { path } => Event::LogRead {
                path: path.clone(),
                result: Err(failure),
            },
            Job::ExportDiagnostics { .. } => Event::DiagnosticsExported(Err(failure)),
            Job::RunDoctor => Event::DoctorFinished(Err(failure)),
            Job::OpenDemo { .. } => Event::DemoOpened(Err(failure)),
            Job::PickFolder => Event::FolderPicked(None),
            Job::TestRestore { run, .. } => Event::TestRestoreFinished {
                run: *run,
                result: Err(failure),
            },
            Job::CheckPassword { flow, run, .. } => Event::Restore {
                flow: *flow,
                event: RestoreEvent::PasswordChecked {
                    run: *run,
                    result: Err(failure),
                },
            },
            Job::Preflight { flow, run, .. } => Event::Restore {
                flow: *flow,
                event: RestoreEvent::ChecksDone {
                    run: *run,
                    preflight: Box::new(Preflight {
                        items: vec![plugback_core::preflight::Item {
                            id: "checks-ran",
                            status: plugback_core::preflight::Status::Block,
                            message: failure.message,
                            fix: "Press Check again. If it keeps happening, restart Plugback."
                                .to_owned(),
                        }],
                    }),
                },
            },
            Job::ReadSelection { flow, .. } => Event::Restore {
                flow: *flow,
                event: RestoreEvent::SelectionRead(Err(failure)),
            },
            Job::Restore {
                flow,
                job_id,
                device,
                choice,
                ..
            } => Event::Restore {
                flow: *flow,
                event: RestoreEvent::Job(Box::new(JobEvent::Finished {
                    report: JobReport {
                        job: job_id.clone(),
                        device: device.id.clone(),
                        backup: choice.backup.clone(),
                        ok: false,
                        restarts: 0,
                        resumes: 0,
                        bytes: 0,
                        files: 0,
                        error: Some(JobError {
                            code: "restore-stopped-unexpectedly".to_owned(),
                            message: failure.message,
                            fix: None,
                        }),
                        seconds: 0.0,
                        kept_awake: false,
                        log: None,
                    },
                })),
            },
            Job::ListFiles { path, .. } => Event::FilesListed {
                path: path.clone(),
                result: Err(failure),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanState {
    LoadingSettings,
    Scanning,
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatsState {
    Counting,
    Ready(BackupStats),
    Failed(Failure),
}

#[derive(Debug)]
pub enum VerifyStatus {
    Running {
        progress: VerifyProgress,
        cancel: CancelToken,
    },
    Done(VerifyReport),
    Failed(Failure),
    Cancelled,
}

#[derive(Debug)]
pub struct Verification {
    pub run: u64,
    pub depth: Depth,
    pub status: VerifyStatus,
}

impl Verification {
    pub fn is_running(&self) -> bool {
        matches!(self.status, VerifyStatus::Running { .. })
    }

    pub fn cancel_requested(&self) -> bool {
        matches!(&self.status, VerifyStatus::Running { cancel, .. } if cancel.is_cancelled())
    }
}

/// A short message next to the "Add folder" field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderNote {
    Adding(PathBuf),
    Added(String),
    Problem(String),
}

/// A short message in the Settings window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsNote {
    Saving,
    Saved,
    Problem(String),
}

/// The Settings window, while it is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsWindow {
    /// The adb program as typed, saved when the person presses Save.
    pub adb_input: String,
    pub note: Option<SettingsNote>,
}

pub struct AppState {
    extra_dirs: Vec<PathBuf>,
    standard_places: bool,
    has_settings_file: bool,
    settings_writable: bool,
    pub settings: Settings,
    /// A problem with the settings file, for a person.
    pub settings_problem: Option<String>,

    pub scan: ScanState,
    scan_generation: u64,
    pub searched: Vec<SearchedFolder>,
    pub backups: Vec<BackupSummary>,
    pub unreadable: Vec<Unreadable>,
    /// Why the last scan could not run, if it could not.
    pub scan_problem: Option<String>,

    pub selected: Option<PathBuf>,
    pub stats: HashMap<PathBuf, StatsState>,
    /// Backups whose counts (the table's Size) are still to be taken, one at a time in the
    /// background after a scan; the selected backup's go first.
    stats_queue: VecDeque<PathBuf>,
    /// The queued count under way, if any.
    stats_in_flight: Option<PathBuf>,
    /// The backups table's order and filter.
    pub backup_table: super::backup_table::TableView,
    pub verifications: HashMap<PathBuf, Verification>,
    next_run: u64,
    /// What the person typed in the password field; wiped on drop and on a new selection.
    pub password: Zeroizing<String>,

    pub folder_form_open: bool,
    native_dialogs: bool,
    /// The system's folder dialog is open.
    pub folder_picking: bool,
    pub folder_input: String,
    pub folder_note: Option<FolderNote>,

    /// The error explainer's search, while it is open.
    pub explainer: Option<String>,
    /// Whether the About box is open.
    pub about_open: bool,

    pub settings_window: Option<SettingsWindow>,
    /// One write of the settings file at a time (a save or an added folder), so that an
    /// older write never lands after a newer one.
    settings_write_in_flight: bool,
    /// The settings changed while a write was under way: write them again after it.
    settings_save_again: bool,
    /// The folder being added is not written by its own job: save after it.
    folder_save_deferred: bool,
    /// The folder being added is written by its own job (the write under way).
    folder_job_writes: bool,

    pub phones: Phones,
    /// The usbmuxd the window watches iPhones through, which pairing talks to.
    usbmuxd: Option<Usbmuxd>,
    /// Demo mode, when the window runs it.
    pub demo: Option<DemoState>,
    /// "Try the demo" while no phone is plugged in, outside demo mode.
    pub demo_offer: Option<super::demo_offer::DemoOffer>,
    /// The phone services the window watches, which connection checks talk to.
    pub(super) health_sources: Option<Sources>,
    /// Connection checks started from phones' cards.
    pub health: HealthChecks,
    /// The Logs window and Export diagnostics.
    pub logs: LogsView,
    /// What the first-run check found missing on this computer.
    pub first_run: FirstRun,
    /// Restores being set up or running, one window each.
    pub restores: Restores,
    /// The file browser of the selected backup, once the person opened it.
    pub files: Option<super::files::FileBrowser>,
    /// Test-restores into a simulated phone, started from a backup's details.
    pub test_restores: super::test_restore::TestRestores,
}

impl AppState {
    /// The state at start, and the first jobs to run.
    pub fn new(config: &AppConfig) -> (Self, Vec<Job>) {
        let has_settings_file = config.settings_path.is_some();
        let mut state = Self {
            extra_dirs: config.dirs.clone(),
            standard_places: config.standard_places,
            has_settings_file,
            settings_writable: has_settings_file,
            settings: Settings::default(),
            settings_problem: None,
            scan: ScanState::LoadingSettings,
            scan_generation: 0,
            searched: Vec::new(),
            backups: Vec::new(),
            unreadable: Vec::new(),
            scan_problem: None,
            selected: None,
            stats: HashMap::new(),
            stats_queue: VecDeque::new(),
            stats_in_flight: None,
            backup_table: Default::default(),
            verifications: HashMap::new(),
            next_run: 0,
            password: Zeroizing::new(String::new()),
            folder_form_open: false,
            native_dialogs: config.native_dialogs,
            folder_picking: false,
            explainer: None,
            about_open: false,
            settings_window: None,
            settings_write_in_flight: false,
            settings_save_again: false,
            folder_save_deferred: false,
            folder_job_writes: false,
            folder_input: String::new(),
            folder_note: None,
            phones: Phones {
                watching: config.phones.is_some(),
                ..Phones::default()
            },
            usbmuxd: config
                .phones
                .as_ref()
                .and_then(|sources| sources.usbmuxd.as_ref().ok())
                .cloned(),
            demo: config.demo.as_ref().map(DemoState::new),
            demo_offer: config
                .demo_program
                .clone()
                .filter(|_| config.demo.is_none())
                .map(super::demo_offer::DemoOffer::new),
            health_sources: config.phones.clone(),
            health: HealthChecks::default(),
            logs: LogsView::new(config.log_dir.clone()),
            first_run: FirstRun::default(),
            restores: Restores::default(),
            files: None,
            test_restores: Default::default(),
        };
        let mut jobs = if has_settings_file {
            vec![Job::LoadSettings]
        } else {
            state.rescan()
        };
        if config.run_doctor {
            jobs.extend(state.first_run.start());
        }
        (state, jobs)
    }

    /// The folders the next scan searches.
    pub fn search_plan(&self) -> SearchPlan {
        SearchPlan {
            saved: self.settings.backup_folders.clone(),
            extra: self.extra_dirs.clone(),
            standard_places: self.standard_places,
        }
    }

    pub fn rescan(&mut self) -> Vec<Job> {
        self.scan_generation += 1;
        self.scan = ScanState::Scanning;
        vec![Job::Scan {
            generation: self.scan_generation,
            plan: self.search_plan(),
        }]
    }

    /// Updates the state with what a job reported; returns the jobs that follow from it.
    pub fn apply(&mut self, event: Event) -> Vec<Job> {
        match event {
            Event::SettingsLoaded(loaded) => {
                self.settings = loaded.settings;
                self.settings_problem = loaded.problem;
                self.settings_writable = loaded.writable;
                self.rescan()
            }
            Event::ScanFinished {
                generation,
                searched,
                backups,
                unreadable,
                problem,
            } => {
                if generation != self.scan_generation {
                    return Vec::new(); // a newer scan is under way
                }
                self.scan = ScanState::Done;
                self.searched = searched;
                self.backups = backups;
                self.unreadable = unreadable;
                self.scan_problem = problem;
                // The backups may have changed on disk: counts are taken again.
                self.stats.clear();
                self.stats_in_flight = None;
                let mut jobs = match self.selected.clone() {
                    Some(path) if self.backup(&path).is_some() => self.request_stats(&path),
                    Some(_) => {
                        self.clear_selection();
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                self.stats_queue = self.backups.iter().map(|b| b.path.clone()).collect();
                jobs.extend(self.next_queued_stats());
                jobs
            }
            Event::StatsReady { path, result } => {
                let state = match result {
                    Ok(stats) => StatsState::Ready(stats),
                    Err(failure) => StatsState::Failed(failure),
                };
                if self.stats_in_flight.as_ref() == Some(&path) {
                    self.stats_in_flight = None;
                }
                self.stats.insert(path, state);
                self.next_queued_stats()
            }
            Event::VerifyProgress { run, progress } => {
                if let Some(VerifyStatus::Running { progress: p, .. }) =
                    self.verification_by_run(run).map(|v| &mut v.status)
                {
                    *p = progress;
                }
                Vec::new()
            }
            Event::VerifyFinished { run, result } => {
                if let Some(v) = self.verification_by_run(run) {
                    v.status = match result {
                        Ok(report) => VerifyStatus::Done(report),
                        Err(f) if f.code == Some("cancelled") => VerifyStatus::Cancelled,
                        Err(f) => VerifyStatus::Failed(f),
                    };
                }
                Vec::new()
            }
            Event::FolderAdded { path, result } => self.folder_added(&path, result),
            Event::SettingsSaved(result) => self.settings_saved(result),
            Event::Phones(event) => {
                self.phones.apply(event);
                Vec::new()
            }
            Event::PhoneWatchFailed(failure) => {
                self.phones.problem = Some(failure.message);
                Vec::new()
            }
            Event::PairProgress { udid, outcome } => {
                self.phones.pairing_progress(&udid, outcome);
                Vec::new()
            }
            Event::PairFinished { udid, result } => {
                self.phones.pairing_finished(&udid, result);
                Vec::new()
            }
            Event::Simulated {
                id,
                name,
                action,
                result,
            } => {
                if let Some(demo) = &mut self.demo {
                    demo.simulated(id, name, action, result);
                }
                Vec::new()
            }
            Event::HealthChecked { id, result } => {
                self.health_checked(&id, result);
                Vec::new()
            }
            Event::LogsListed(result) => self.logs_listed(result),
            Event::LogRead { path, result } => {
                self.log_read(&path, result);
                Vec::new()
            }
            Event::DiagnosticsExported(result) => {
                self.logs.exported(result);
                Vec::new()
            }
            Event::DoctorFinished(result) => {
                self.first_run.finished(result);
                Vec::new()
            }
            Event::TestRestoreUpdate { run, update } => {
                self.test_restores.update(run, update);
                Vec::new()
            }
            Event::TestRestoreFinished { run, result } => {
                self.test_restores.finished(run, result);
                Vec::new()
            }
            Event::FolderPicked(picked) => {
                self.folder_picking = false;
                match picked {
                    Some(path) => {
                        self.folder_input = path.display().to_string();
                        self.add_folder()
                    }
                    None => Vec::new(),
                }
            }
            Event::DemoOpened(result) => {
                if let Some(offer) = &mut self.demo_offer {
                    offer.opened(result);
                }
                Vec::new()
            }
            Event::Restore { flow, event } => {
                self.restores.apply(flow, event);
                Vec::new()
            }
            Event::FilesListed { path, result } => {
                // A list for a backup no longer browsed is dropped.
                if let Some(browser) = self.files.as_mut().filter(|b| b.backup == path) {
                    browser.listed(result);
                }
                Vec::new()
            }
        }
    }

    /// Pairs this computer with the iPhone `udid` ("Pair this iPhone" on its card). None
    /// when its card offers no pairing, one runs already, or iPhones cannot be reached.
    pub fn start_pair(&mut self, udid: &str) -> Option<Job> {
        let mux = self.usbmuxd.clone()?;
        let cancel = self.phones.start_pairing(udid)?;
        Some(Job::Pair {
            mux,
            udid: udid.to_owned(),
            cancel,
        })
    }

    pub fn backup(&self, path: &Path) -> Option<&BackupSummary> {
        self.backups.iter().find(|b| b.path == path)
    }

    pub fn selected_backup(&self) -> Option<&BackupSummary> {
        self.selected.as_deref().and_then(|p| self.backup(p))
    }

    /// Shows `path`'s details; counts its files in the background the first time.
    pub fn select(&mut self, path: &Path) -> Vec<Job> {
        if self.selected.as_deref() == Some(path) || self.backup(path).is_none() {
            return Vec::new();
        }
        self.clear_selection();
        self.selected = Some(path.to_path_buf());
        self.files = None;
        self.request_stats(path)
    }

    fn clear_selection(&mut self) {
        self.selected = None;
        // A password belongs to one backup: never carry it over to another.
        self.password.clear();
    }

    fn request_stats(&mut self, path: &Path) -> Vec<Job> {
        let Some(kind) = self.backup(path).map(|b| b.kind) else {
            return Vec::new();
        };
        if self.stats.contains_key(path) {
            return Vec::new();
        }
        self.stats.insert(path.to_path_buf(), StatsState::Counting);
        vec![Job::Stats {
            path: path.to_path_buf(),
            kind,
        }]
    }

    /// The next queued count, unless one is under way: one at a time, so counting every
    /// backup never competes with what the person is doing for the disk.
    fn next_queued_stats(&mut self) -> Vec<Job> {
        if self.stats_in_flight.is_some() {
            return Vec::new();
        }
        while let Some(path) = self.stats_queue.pop_front() {
            let jobs = self.request_stats(&path);
            if !jobs.is_empty() {
                self.stats_in_flight = Some(path);
                return jobs;
            }
        }
        Vec::new()
    }

    /// The check under way, on whichever backup.
    pub fn running_verification(&self) -> Option<(&Path, &Verification)> {
        self.verifications
            .iter()
            .find(|(_, v)| v.is_running())
            .map(|(p, v)| (p.as_path(), v))
    }

    /// Checks the selected backup. One check at a time: None while another runs.
    pub fn start_verify(&mut self, depth: Depth) -> Option<Job> {
        if self.running_verification().is_some() {
            return None;
        }
        let path = self.selected_backup()?.path.clone();
        let password = (!self.password.is_empty()).then(|| Password::new(self.password.as_str()));
        let options = VerifyOptions {
            depth,
            password,
            cancel: CancelToken::new(),
        };
        self.next_run += 1;
        let run = self.next_run;
        self.verifications.insert(
            path.clone(),
            Verification {
                run,
                depth,
                status: VerifyStatus::Running {
                    progress: VerifyProgress::default(),
                    cancel: options.cancel.clone(),
                },
            },
        );
        Some(Job::Verify { run, path, options })
    }

    /// Test-restores the selected backup (with the password typed for it, if any); None
    /// while another test-restore runs.
    pub fn start_test_restore(&mut self) -> Option<Job> {
        let path = self.selected_backup()?.path.clone();
        let password = (!self.password.is_empty()).then(|| Password::new(self.password.as_str()));
        self.test_restores.start(&path, password)
    }

    /// Asks the running check to stop; it reports back as cancelled.
    pub fn cancel_verify(&mut self) {
        for v in self.verifications.values() {
            if let VerifyStatus::Running { cancel, .. } = &v.status {
                cancel.cancel();
            }
        }
    }

    fn verification_by_run(&mut self, run: u64) -> Option<&mut Verification> {
        self.verifications.values_mut().find(|v| v.run == run)
    }

    /// "Add folder…": the field to type a path in, and the system's folder dialog where
    /// there is one.
    pub fn open_folder_form(&mut self) -> Vec<Job> {
        self.folder_form_open = true;
        if !matches!(self.folder_note, Some(FolderNote::Adding(_))) {
            self.folder_note = None;
        }
        if !self.native_dialogs || self.folder_picking {
            return Vec::new();
        }
        self.folder_picking = true;
        vec![Job::PickFolder]
    }

    /// Adds the folder typed in the field (checked and saved in the background).
    pub fn add_folder(&mut self) -> Vec<Job> {
        let text = self.folder_input.trim();
        if text.is_empty() {
            self.folder_note = Some(FolderNote::Problem(
                "Type the path of the folder that holds your backups, then press Add.".to_owned(),
            ));
            return Vec::new();
        }
        let path = PathBuf::from(text);
        if self.settings.backup_folders.contains(&path) {
            self.folder_note = Some(FolderNote::Problem(format!(
                "{} is already in the list of folders Plugback searches.",
                path.display()
            )));
            return Vec::new();
        }
        if matches!(self.folder_note, Some(FolderNote::Adding(_))) {
            return Vec::new();
        }
        self.folder_note = Some(FolderNote::Adding(path.clone()));
        // While another write is under way, the folder is saved after this job instead.
        let save = self.settings_writable && !self.settings_write_in_flight;
        self.folder_save_deferred = self.settings_writable && !save;
        self.folder_job_writes = save;
        self.settings_write_in_flight |= save;
        vec![Job::AddFolder {
            path,
            settings: self.settings.clone(),
            save,
        }]
    }

    fn folder_added(&mut self, path: &Path, result: Result<FolderAdded, Failure>) -> Vec<Job> {
        if std::mem::take(&mut self.folder_job_writes) {
            self.settings_write_in_flight = false;
        }
        let deferred = std::mem::take(&mut self.folder_save_deferred);
        let mut jobs = Vec::new();
        match result {
            Ok(added) => {
                // Other settings may have changed meanwhile: keep them, and add the folder.
                self.settings.add_backup_folder(path.to_path_buf());
                let changed_meanwhile = added.saved && self.settings != added.settings;
                if deferred || changed_meanwhile {
                    self.settings_save_again = true;
                }
                self.folder_input.clear();
                self.folder_form_open = false;
                let mut note = if added.saved || deferred {
                    format!("Added {}.", path.display())
                } else {
                    format!("Added {} for this session.", path.display())
                };
                if let Some(extra) = added.note {
                    note.push(' ');
                    note.push_str(&extra);
                }
                self.folder_note = Some(FolderNote::Added(note));
                jobs.extend(self.rescan());
            }
            Err(failure) => {
                self.folder_note = Some(FolderNote::Problem(failure.message));
            }
        }
        if !self.settings_write_in_flight && std::mem::take(&mut self.settings_save_again) {
            jobs.extend(self.save_settings());
        }
        jobs
    }

    /// Opens the Settings window (once the settings file has been read).
    pub fn open_settings(&mut self) {
        if self.scan == ScanState::LoadingSettings {
            return;
        }
        let adb_input = self
            .settings
            .adb_program
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.settings_window = Some(SettingsWindow {
            adb_input,
            note: None,
        });
    }

    /// Applies a change the person made in the Settings window, and saves it.
    pub fn change_settings(&mut self, change: impl FnOnce(&mut Settings)) -> Vec<Job> {
        let before = self.settings.clone();
        change(&mut self.settings);
        if self.settings == before {
            return Vec::new();
        }
        self.save_settings()
    }

    pub fn set_theme(&mut self, theme: Theme) -> Vec<Job> {
        self.change_settings(|s| s.theme = theme)
    }

    /// Saves the adb program typed in the Settings window; empty finds adb on the PATH.
    pub fn save_adb_program(&mut self) -> Vec<Job> {
        let Some(window) = &self.settings_window else {
            return Vec::new();
        };
        let text = window.adb_input.trim();
        let program = (!text.is_empty()).then(|| PathBuf::from(text));
        let jobs = self.change_settings(|s| s.adb_program = program);
        if jobs.is_empty() && self.settings_window_note().is_none() {
            // Nothing changed: still confirm, so Save never looks ignored.
            self.set_settings_note(SettingsNote::Saved);
        }
        jobs
    }

    /// Forgets a saved folder (the folder and its backups are left alone) and rescans.
    pub fn remove_folder(&mut self, dir: &Path) -> Vec<Job> {
        let mut jobs = self.change_settings(|s| {
            s.remove_backup_folder(dir);
        });
        if !self.settings.backup_folders.iter().any(|d| d == dir) {
            jobs.extend(self.rescan());
        }
        jobs
    }

    fn settings_window_note(&self) -> Option<&SettingsNote> {
        self.settings_window.as_ref().and_then(|w| w.note.as_ref())
    }

    fn set_settings_note(&mut self, note: SettingsNote) {
        if let Some(window) = self.settings_window.as_mut() {
            window.note = Some(note);
        }
    }

    /// Writes the settings in the background, one write at a time.
    fn save_settings(&mut self) -> Vec<Job> {
        if let Some(reason) = self.settings_not_saved_reason() {
            self.set_settings_note(SettingsNote::Problem(reason.to_owned()));
            return Vec::new();
        }
        self.set_settings_note(SettingsNote::Saving);
        if self.settings_write_in_flight {
            self.settings_save_again = true;
            return Vec::new();
        }
        self.settings_write_in_flight = true;
        vec![Job::SaveSettings {
            settings: self.settings.clone(),
        }]
    }

    fn settings_saved(&mut self, result: Result<(), Failure>) -> Vec<Job> {
        self.settings_write_in_flight = false;
        if std::mem::take(&mut self.settings_save_again) {
            return self.save_settings();
        }
        self.set_settings_note(match result {
            Ok(()) => SettingsNote::Saved,
            Err(failure) => SettingsNote::Problem(failure.message),
        });
        Vec::new()
    }

    /// Why changes to the settings will not be saved, if they will not.
    pub fn settings_not_saved_reason(&self) -> Option<&'static str> {
        self.not_kept_reason(
            "Plugback has no settings file here: changes are kept until Plugback closes.",
            "Plugback could not read its settings file, so it will not overwrite it: changes are kept until Plugback closes.",
        )
    }

    /// Why added folders will not be remembered, if they will not.
    pub fn folders_not_remembered_reason(&self) -> Option<&'static str> {
        self.not_kept_reason(
            "Folders you add here are kept until Plugback closes.",
            "Plugback could not read its settings file, so it will not overwrite it: folders you add are kept until Plugback closes.",
        )
    }

    /// One of two sentences when nothing is written to the settings file: there is
    /// none, or it could not be read (and so is never overwritten).
    fn not_kept_reason(
        &self,
        no_file: &'static str,
        unreadable: &'static str,
    ) -> Option<&'static str> {
        if !self.has_settings_file {
            Some(no_file)
        } else if !self.settings_writable {
            Some(unreadable)
        } else {
            None
        }
    }
}

/// "No problems found", "2 errors, 1 warning", "No errors, 1 warning".
pub fn result_headline(report: &VerifyReport) -> String {
    let errors = report
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = report.problems.len() - errors;
    match (errors, warnings) {
        (0, 0) => "No problems found".to_owned(),
        (0, w) => format!(
            "No errors, {}",
            crate::gui::format::count(w, "warning", "warnings")
        ),
        (e, 0) => crate::gui::format::count(e, "error", "errors"),
        (e, w) => format!(
            "{}, {}",
            crate::gui::format::count(e, "error", "errors"),
            crate::gui::format::count(w, "warning", "warnings")
        ),
    }
}

/// How far a check has got, from 0 to 1: by bytes when known (deep), else by files.
pub fn progress_fraction(p: &VerifyProgress) -> f32 {
    let (done, total) = if p.bytes_total > 0 {
        (p.bytes_done, p.bytes_total)
    } else {
        (p.files_done, p.files_total)
    };
    if total == 0 {
        0.0
    } else {
        (done.min(total) as f64 / total as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::backup::verify::{Problem, ProblemCode};
    use plugback_core::device::usb::{UsbEvent, UsbPhone, UsbPhoneKind};
    use plugback_core::device::{
        Battery, Device, DeviceError, DeviceEvent, DeviceState, Link, Platform, Storage,
    };

    /// The worker's answer to adding /new/place when no settings file is kept.
    fn new_place_added() -> Event {
        Event::FolderAdded {
            path: "/new/place".into(),
            result: Ok(FolderAdded {
                settings: Settings {
                    backup_folders: vec!["/new/place".into()],
                    ..Settings::default()
                },
                saved: false,
                note: None,
            }),
        }
    }

    fn summary(path: &str, date: i64) -> BackupSummary {
        let mut b = BackupSummary::new(PathBuf::from(path), BackupKind::Ios);
        b.date_unix = Some(date);
        b
    }

    fn scanned(state: &mut AppState, backups: Vec<BackupSummary>) -> Vec<Job> {
        let generation = state.scan_generation;
        state.apply(Event::ScanFinished {
            generation,
            searched: Vec::new(),
            backups,
            unreadable: Vec::new(),
            problem: None,
        })
    }

    fn fresh() -> AppState {
        let (mut state, jobs) = AppState::new(&AppConfig::only(vec!["/b".into()]));
        assert!(matches!(jobs.as_slice(), [Job::Scan { .. }]));
        scanned(
            &mut state,
            vec![summary("/b/one", 20), summary("/b/two", 10)],
        );
        state
    }

    #[test]
    fn settings_file_is_loaded_before_the_first_scan() {
        let config = AppConfig {
            dirs: vec!["/extra".into()],
            standard_places: false,
            settings_path: Some("/cfg/settings.json".into()),
            phones: None,
            log_dir: None,
            run_doctor: false,
            demo_program: None,
            native_dialogs: false,
            demo: None,
        };
        let (mut state, jobs) = AppState::new(&config);
        assert!(matches!(jobs.as_slice(), [Job::LoadSettings]));
        assert_eq!(state.scan, ScanState::LoadingSettings);
        let jobs = state.apply(Event::SettingsLoaded(LoadedSettings {
            settings: Settings {
                backup_folders: vec!["/saved".into(), "/extra".into()],
                ..Settings::default()
            },
            problem: None,
            writable: true,
        }));
        match jobs.as_slice() {
            [Job::Scan { plan, .. }] => assert_eq!(
                plan.dirs(),
                [PathBuf::from("/saved"), PathBuf::from("/extra")]
            ),
            other => panic!("expected one scan, got {other:?}"),
        }
        assert_eq!(state.scan, ScanState::Scanning);
    }

    #[test]
    fn search_plans_keep_order_without_repeats() {
        let mut plan = SearchPlan {
            saved: vec!["/a".into(), "/b".into()],
            extra: vec!["/b".into(), "/c".into()],
            standard_places: false,
        };
        let abc = [
            PathBuf::from("/a"),
            PathBuf::from("/b"),
            PathBuf::from("/c"),
        ];
        assert_eq!(plan.dirs(), abc);
        // With the usual places, the person's folders still all come, in order.
        plan.standard_places = true;
        let dirs = plan.dirs();
        let ours: Vec<_> = dirs.iter().filter(|d| abc.contains(d)).cloned().collect();
        assert_eq!(ours, abc);
    }

    #[test]
    fn stale_scans_are_ignored() {
        let (mut state, _) = AppState::new(&AppConfig::only(vec![]));
        let old = state.scan_generation;
        state.rescan();
        state.apply(Event::ScanFinished {
            generation: old,
            searched: Vec::new(),
            backups: vec![summary("/old", 1)],
            unreadable: Vec::new(),
            problem: None,
        });
        assert!(state.backups.is_empty());
        assert_eq!(state.scan, ScanState::Scanning);
    }

    #[test]
    fn after_a_scan_every_backup_is_counted_one_at_a_time() {
        let (mut state, _) = AppState::new(&AppConfig::only(vec!["/b".into()]));
        let generation = state.scan_generation;
        let jobs = state.apply(Event::ScanFinished {
            generation,
            searched: Vec::new(),
            backups: vec![
                summary("/b/one", 30),
                summary("/b/two", 20),
                summary("/b/three", 10),
            ],
            unreadable: Vec::new(),
            problem: None,
        });
        let counted = |jobs: &[Job]| match jobs {
            [Job::Stats { path, .. }] => path.clone(),
            other => panic!("one count at a time: {other:?}"),
        };
        assert_eq!(counted(&jobs), Path::new("/b/one"));
        // The person picks the third meanwhile: counted at once, and not again later.
        assert_eq!(
            counted(&state.select(Path::new("/b/three"))),
            Path::new("/b/three")
        );
        let ready = |path: &str| Event::StatsReady {
            path: PathBuf::from(path),
            result: Ok(BackupStats::default()),
        };
        assert!(
            state.apply(ready("/b/three")).is_empty(),
            "/b/one is still under way"
        );
        assert_eq!(counted(&state.apply(ready("/b/one"))), Path::new("/b/two"));
        assert!(state.apply(ready("/b/two")).is_empty());
        assert!(
            state
                .stats
                .values()
                .all(|s| matches!(s, StatsState::Ready(_)))
        );
    }

    #[test]
    fn selecting_counts_files_once_and_wipes_the_password() {
        let mut state = fresh();
        // The scan's background counting took the first backup; the selected one jumps
        // the queue.
        let jobs = state.select(Path::new("/b/two"));
        assert!(
            matches!(jobs.as_slice(), [Job::Stats { path, .. }] if path == Path::new("/b/two"))
        );
        assert_eq!(
            state.stats.get(Path::new("/b/two")),
            Some(&StatsState::Counting)
        );
        state.password.push_str("secret");
        // The first: its count is under way already, no second job.
        assert!(state.select(Path::new("/b/one")).is_empty());
        assert!(state.password.is_empty());
        // Unknown paths select nothing.
        assert!(state.select(Path::new("/elsewhere")).is_empty());
        assert_eq!(state.selected.as_deref(), Some(Path::new("/b/one")));
    }

    #[test]
    fn rescan_drops_a_selection_that_disappeared_and_recounts_the_rest() {
        let mut state = fresh();
        state.select(Path::new("/b/one"));
        state.apply(Event::StatsReady {
            path: "/b/one".into(),
            result: Ok(BackupStats::default()),
        });
        state.rescan();
        let jobs = scanned(&mut state, vec![summary("/b/one", 20)]);
        assert!(
            matches!(jobs.as_slice(), [Job::Stats { .. }]),
            "selected backup recounted"
        );
        state.rescan();
        scanned(&mut state, vec![summary("/b/two", 10)]);
        assert_eq!(state.selected, None);
    }

    #[test]
    fn one_verification_at_a_time_with_progress_and_cancel() {
        let mut state = fresh();
        assert!(
            state.start_verify(Depth::Quick).is_none(),
            "nothing selected"
        );
        state.select(Path::new("/b/one"));
        state.password.push_str("pw");
        let Some(Job::Verify { run, options, .. }) = state.start_verify(Depth::Deep) else {
            panic!("verify should start");
        };
        assert_eq!(options.password.as_ref().map(Password::expose), Some("pw"));
        assert_eq!(options.depth, Depth::Deep);
        assert!(
            state.start_verify(Depth::Quick).is_none(),
            "already running"
        );

        let progress = VerifyProgress {
            files_done: 3,
            files_total: 4,
            ..Default::default()
        };
        state.apply(Event::VerifyProgress { run, progress });
        let (_, running) = state.running_verification().expect("running");
        let VerifyStatus::Running { progress, .. } = &running.status else {
            panic!("should be running")
        };
        assert_eq!(progress_fraction(progress), 0.75);

        state.cancel_verify();
        assert!(options.cancel.is_cancelled());
        assert!(state.running_verification().unwrap().1.cancel_requested());
        state.apply(Event::VerifyFinished {
            run,
            result: Err(Failure::from(&BackupError::Cancelled)),
        });
        let v = &state.verifications[Path::new("/b/one")];
        assert!(matches!(v.status, VerifyStatus::Cancelled));
        assert!(
            state.start_verify(Depth::Quick).is_some(),
            "can start again"
        );
    }

    #[test]
    fn finished_reports_and_failures_are_kept_per_backup() {
        let mut state = fresh();
        state.select(Path::new("/b/two"));
        let Some(Job::Verify { run, .. }) = state.start_verify(Depth::Quick) else {
            panic!("verify should start");
        };
        let mut report = VerifyReport::new(BackupKind::Ios, Depth::Quick);
        report.push(Problem::error(ProblemCode::BlobMissing, "ab/cd", "gone"));
        state.apply(Event::VerifyFinished {
            run,
            result: Ok(report),
        });
        let VerifyStatus::Done(report) = &state.verifications[Path::new("/b/two")].status else {
            panic!("should be done");
        };
        assert_eq!(result_headline(report), "1 error");

        let Some(Job::Verify { run, .. }) = state.start_verify(Depth::Quick) else {
            panic!("verify should start again");
        };
        state.apply(Event::VerifyFinished {
            run,
            result: Err(Failure::from(&BackupError::WrongPassword)),
        });
        let VerifyStatus::Failed(f) = &state.verifications[Path::new("/b/two")].status else {
            panic!("should have failed");
        };
        assert_eq!(f.code, Some("wrong-password"));
    }

    #[test]
    fn headlines_count_errors_and_warnings() {
        let mut report = VerifyReport::new(BackupKind::Ios, Depth::Quick);
        assert_eq!(result_headline(&report), "No problems found");
        report.push(Problem::warning(ProblemCode::BlobOrphan, "x", "extra"));
        assert_eq!(result_headline(&report), "No errors, 1 warning");
        report.push(Problem::error(ProblemCode::BlobMissing, "y", "gone"));
        report.push(Problem::error(ProblemCode::BlobMissing, "z", "gone"));
        assert_eq!(result_headline(&report), "2 errors, 1 warning");
    }

    #[test]
    fn progress_prefers_bytes_and_never_exceeds_one() {
        let p = VerifyProgress {
            bytes_done: 50,
            bytes_total: 200,
            files_done: 9,
            files_total: 10,
            current: String::new(),
        };
        assert_eq!(progress_fraction(&p), 0.25);
        let over = VerifyProgress {
            files_done: 12,
            files_total: 10,
            ..Default::default()
        };
        assert_eq!(progress_fraction(&over), 1.0);
        assert_eq!(progress_fraction(&VerifyProgress::default()), 0.0);
    }

    #[test]
    fn adding_a_folder_validates_then_rescans() {
        let mut state = fresh();
        state.open_folder_form();
        assert!(state.add_folder().is_empty());
        assert!(matches!(state.folder_note, Some(FolderNote::Problem(_))));

        state.folder_input = "  /new/place ".into();
        let jobs = state.add_folder();
        let [Job::AddFolder { path, save, .. }] = jobs.as_slice() else {
            panic!("expected an add-folder job, got {jobs:?}");
        };
        assert_eq!(path, Path::new("/new/place"));
        assert!(!save, "no settings file: nothing saved");
        assert!(
            state.add_folder().is_empty(),
            "no second job while one runs"
        );

        let jobs = state.apply(new_place_added());
        match jobs.as_slice() {
            [Job::Scan { plan, .. }] => assert!(plan.dirs().contains(&PathBuf::from("/new/place"))),
            other => panic!("expected a rescan, got {other:?}"),
        }
        assert!(!state.folder_form_open);
        assert!(state.folder_input.is_empty());

        state.folder_input = "/new/place".into();
        assert!(state.add_folder().is_empty(), "already listed");
    }

    /// A window whose settings file loaded with `settings`.
    fn with_settings_file(settings: Settings) -> AppState {
        let config = AppConfig {
            dirs: vec![],
            standard_places: false,
            settings_path: Some("/cfg/settings.json".into()),
            phones: None,
            log_dir: None,
            run_doctor: false,
            demo_program: None,
            native_dialogs: false,
            demo: None,
        };
        let (mut state, _) = AppState::new(&config);
        state.open_settings();
        assert!(
            state.settings_window.is_none(),
            "not before the file is read"
        );
        state.apply(Event::SettingsLoaded(LoadedSettings {
            settings,
            problem: None,
            writable: true,
        }));
        state.open_settings();
        state
    }

    fn saved_settings(jobs: &[Job]) -> &Settings {
        jobs.iter()
            .find_map(|job| match job {
                Job::SaveSettings { settings } => Some(settings),
                _ => None,
            })
            .unwrap_or_else(|| panic!("expected a save, got {jobs:?}"))
    }

    fn settings_note(state: &AppState) -> Option<SettingsNote> {
        state.settings_window.as_ref().and_then(|w| w.note.clone())
    }

    #[test]
    fn settings_changes_are_saved_one_write_at_a_time() {
        let mut state = with_settings_file(Settings::default());
        let jobs = state.set_theme(Theme::Dark);
        assert_eq!(saved_settings(&jobs).theme, Theme::Dark);
        assert_eq!(settings_note(&state), Some(SettingsNote::Saving));
        assert!(
            state.set_theme(Theme::Dark).is_empty(),
            "no change, no save"
        );

        // A change while the first write runs waits for it, then saves everything.
        let waiting = state.change_settings(|s| s.restore_notifications = false);
        assert!(waiting.is_empty());
        let jobs = state.apply(Event::SettingsSaved(Ok(())));
        let next = saved_settings(&jobs);
        assert_eq!(next.theme, Theme::Dark);
        assert!(!next.restore_notifications);
        assert!(state.apply(Event::SettingsSaved(Ok(()))).is_empty());
        assert_eq!(settings_note(&state), Some(SettingsNote::Saved));

        state.change_settings(|s| s.keep_awake_during_restore = false);
        state.apply(Event::SettingsSaved(Err(Failure::new(
            "Not saved: disk full.",
        ))));
        assert_eq!(
            settings_note(&state),
            Some(SettingsNote::Problem("Not saved: disk full.".into()))
        );
        assert!(
            !state.settings.keep_awake_during_restore,
            "kept for the session"
        );
    }

    #[test]
    fn the_adb_program_is_optional_and_trimmed() {
        let mut state = with_settings_file(Settings::default());
        if let Some(w) = state.settings_window.as_mut() {
            w.adb_input = "  /opt/platform-tools/adb ".into();
        }
        let jobs = state.save_adb_program();
        assert_eq!(
            saved_settings(&jobs).adb_program,
            Some(PathBuf::from("/opt/platform-tools/adb"))
        );
        state.apply(Event::SettingsSaved(Ok(())));
        if let Some(w) = state.settings_window.as_mut() {
            w.adb_input = "   ".into();
        }
        let jobs = state.save_adb_program();
        assert_eq!(saved_settings(&jobs).adb_program, None);
    }

    #[test]
    fn removing_a_folder_forgets_it_saves_and_rescans() {
        let mut state = with_settings_file(Settings {
            backup_folders: vec!["/keep".into(), "/drop".into()],
            ..Settings::default()
        });
        let jobs = state.remove_folder(Path::new("/drop"));
        assert_eq!(
            saved_settings(&jobs).backup_folders,
            vec![PathBuf::from("/keep")]
        );
        match jobs.as_slice() {
            [_, Job::Scan { plan, .. }] => assert_eq!(plan.saved, vec![PathBuf::from("/keep")]),
            other => panic!("expected a save and a rescan, got {other:?}"),
        }
    }

    #[test]
    fn a_folder_added_during_a_save_is_saved_after_it_with_every_change() {
        let mut state = with_settings_file(Settings::default());
        let _first = state.set_theme(Theme::Light);
        state.folder_input = "/new/place".into();
        let jobs = state.add_folder();
        assert!(
            matches!(jobs.as_slice(), [Job::AddFolder { save: false, .. }]),
            "the folder job must not race the save: {jobs:?}"
        );
        assert!(state.apply(Event::SettingsSaved(Ok(()))).is_empty());
        let jobs = state.apply(new_place_added());
        let saved = saved_settings(&jobs);
        assert_eq!(saved.theme, Theme::Light);
        assert_eq!(saved.backup_folders, vec![PathBuf::from("/new/place")]);
        assert!(
            matches!(state.folder_note, Some(FolderNote::Added(ref n)) if n == "Added /new/place.")
        );
    }

    #[test]
    fn a_damaged_settings_file_is_never_overwritten() {
        let config = AppConfig {
            dirs: vec![],
            standard_places: false,
            settings_path: Some("/cfg/settings.json".into()),
            phones: None,
            log_dir: None,
            run_doctor: false,
            demo_program: None,
            native_dialogs: false,
            demo: None,
        };
        let (mut state, _) = AppState::new(&config);
        state.apply(Event::SettingsLoaded(LoadedSettings {
            settings: Settings::default(),
            problem: Some("damaged".into()),
            writable: false,
        }));
        state.folder_input = "/x".into();
        let jobs = state.add_folder();
        assert!(matches!(
            jobs.as_slice(),
            [Job::AddFolder { save: false, .. }]
        ));
        assert!(state.folders_not_remembered_reason().is_some());
        state.open_settings();
        assert!(state.set_theme(Theme::Dark).is_empty(), "never written");
        assert_eq!(state.settings.theme, Theme::Dark, "kept for the session");
        assert!(matches!(
            state.settings_window.as_ref().and_then(|w| w.note.as_ref()),
            Some(SettingsNote::Problem(_))
        ));
    }

    #[test]
    fn failed_jobs_still_report_so_nothing_waits_forever() {
        let mut state = fresh();
        state.select(Path::new("/b/one"));
        let job = state.start_verify(Depth::Quick).unwrap();
        state.apply(job.failed(Failure::new("thread could not start")));
        assert!(state.running_verification().is_none());
        let stats_job = Job::Stats {
            path: "/b/one".into(),
            kind: BackupKind::Ios,
        };
        state.apply(stats_job.failed(Failure::new("x")));
        assert!(matches!(
            state.stats[Path::new("/b/one")],
            StatsState::Failed(_)
        ));
    }

    fn phone(id: &str, state: DeviceState, level: Option<u8>) -> Device {
        Device {
            id: id.into(),
            platform: Platform::Ios,
            name: Some(format!("Phone {id}")),
            model: None,
            os_version: None,
            sdk: None,
            serial: None,
            state,
            battery: Battery {
                level,
                ..Battery::default()
            },
            storage: Storage::default(),
            link: Link::default(),
            will_encrypt: None,
        }
    }

    fn usb_phone(kind: UsbPhoneKind, port: u8) -> UsbPhone {
        UsbPhone {
            kind,
            maker: Some("Samsung"),
            vendor_id: 0x04e8,
            product_id: 0x6860,
            serial: None,
            manufacturer: None,
            product: None,
            speed: None,
            usb_version: None,
            bus_id: "1".into(),
            port_chain: vec![port],
            autosuspend: None,
            sysfs_path: None,
        }
    }

    fn watched() -> AppState {
        let mut config = AppConfig::only(vec![]);
        config.phones = Some(Sources {
            usbmuxd: Err(DeviceError::Cancelled),
            adb: plugback_core::device::android::AdbServer::new(1),
        });
        AppState::new(&config).0
    }

    #[test]
    fn phones_are_watched_only_when_sources_are_given() {
        assert!(!fresh().phones.watching);
        assert!(watched().phones.watching);
    }

    #[test]
    fn phones_attach_change_and_detach() {
        let mut state = watched();
        let event = |e| Event::Phones(WatchEvent::Device(e));
        state.apply(event(DeviceEvent::Attached(phone(
            "a",
            DeviceState::NotPaired,
            None,
        ))));
        state.apply(event(DeviceEvent::Attached(phone(
            "b",
            DeviceState::Ready,
            None,
        ))));
        // The full read arrives: the same phone, now with its battery, stays in its place.
        let jobs = state.apply(event(DeviceEvent::Changed(phone(
            "a",
            DeviceState::Ready,
            Some(64),
        ))));
        assert!(jobs.is_empty());
        let ids: Vec<&str> = state.phones.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(state.phones.devices[0].battery.level, Some(64));
        assert_eq!(state.phones.devices[0].state, DeviceState::Ready);
        // A change for a phone not seen yet adds it rather than being lost.
        state.apply(event(DeviceEvent::Changed(phone(
            "c",
            DeviceState::Unauthorized,
            None,
        ))));
        assert_eq!(state.phones.devices.len(), 3);

        state.apply(event(DeviceEvent::Detached {
            id: "a".into(),
            platform: Platform::Ios,
        }));
        let ids: Vec<&str> = state.phones.devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        state.apply(event(DeviceEvent::Detached {
            id: "gone-before".into(),
            platform: Platform::Ios,
        }));
        assert_eq!(state.phones.devices.len(), 2);
    }

    #[test]
    fn a_source_down_is_kept_once_and_cleared_when_it_answers() {
        let mut state = watched();
        let down = |detail: &str| {
            Event::Phones(WatchEvent::SourceDown {
                platform: Platform::Android,
                error: DeviceError::AdbUnavailable {
                    detail: detail.into(),
                },
            })
        };
        state.apply(down("first"));
        state.apply(down("second"));
        state.apply(Event::Phones(WatchEvent::SourceDown {
            platform: Platform::Ios,
            error: DeviceError::Cancelled,
        }));
        assert_eq!(state.phones.sources_down.len(), 2);
        let android = &state.phones.sources_down[0];
        assert_eq!(android.code, "adb-unavailable");
        assert!(android.message.contains("second"), "{android:?}");

        state.apply(Event::Phones(WatchEvent::SourceUp {
            platform: Platform::Android,
        }));
        let left: Vec<Platform> = state
            .phones
            .sources_down
            .iter()
            .map(|s| s.platform)
            .collect();
        assert_eq!(left, [Platform::Ios]);
    }

    #[test]
    fn only_usb_phones_that_need_help_are_listed() {
        let mut state = watched();
        let usb = |e| Event::Phones(WatchEvent::Usb(e));
        state.apply(usb(UsbEvent::Attached(usb_phone(
            UsbPhoneKind::AndroidAdb,
            1,
        ))));
        assert!(state.phones.is_empty(), "reachable phones come as devices");
        let off = usb_phone(UsbPhoneKind::AndroidDebuggingOff, 2);
        state.apply(usb(UsbEvent::Attached(off.clone())));
        state.apply(usb(UsbEvent::Attached(off.clone())));
        assert_eq!(state.phones.unreachable, std::slice::from_ref(&off));
        state.apply(usb(UsbEvent::Detached(off)));
        assert!(state.phones.is_empty());
    }

    #[test]
    fn pairing_needs_usbmuxd_and_an_untrusted_iphone_and_reports_back() {
        let mut state = watched();
        let event = |e| Event::Phones(WatchEvent::Device(e));
        state.apply(event(DeviceEvent::Attached(phone(
            "u1",
            DeviceState::NotPaired,
            None,
        ))));
        assert!(
            state.start_pair("u1").is_none(),
            "usbmuxd cannot be reached"
        );

        let mut config = AppConfig::only(vec![]);
        let mux =
            Usbmuxd::new(plugback_core::device::ios::MuxAddress::parse("127.0.0.1:1").unwrap());
        config.phones = Some(Sources {
            usbmuxd: Ok(mux),
            adb: plugback_core::device::android::AdbServer::new(1),
        });
        let (mut state, _) = AppState::new(&config);
        state.apply(event(DeviceEvent::Attached(phone(
            "u1",
            DeviceState::NotPaired,
            None,
        ))));
        state.apply(event(DeviceEvent::Attached(phone(
            "ready",
            DeviceState::Ready,
            None,
        ))));
        assert!(
            state.start_pair("ready").is_none(),
            "it trusts this computer"
        );
        let Some(Job::Pair { mux, udid, cancel }) = state.start_pair("u1") else {
            panic!("pairing should start");
        };
        assert_eq!(udid, "u1");
        assert_eq!(mux.address.to_string(), "127.0.0.1:1");
        assert!(state.start_pair("u1").is_none(), "already under way");

        state.apply(Event::PairProgress {
            udid: "u1".into(),
            outcome: PairOutcome::TrustPending,
        });
        assert!(matches!(
            state.phones.pairing["u1"],
            Pairing::Waiting {
                last: Some(PairOutcome::TrustPending),
                ..
            }
        ));
        state.phones.cancel_all_pairing();
        assert!(cancel.is_cancelled(), "closing the window stops it");
        // A pairing job that could not run still ends the wait.
        let job = Job::Pair {
            mux,
            udid: "u1".into(),
            cancel,
        };
        state.apply(job.failed(Failure::new("thread could not start")));
        let Pairing::Failed(failure) = &state.phones.pairing["u1"] else {
            panic!("should have failed: {:?}", state.phones.pairing);
        };
        assert_eq!(failure.message, "thread could not start");
    }

    #[test]
    fn a_watch_that_cannot_start_says_why() {
        let mut state = watched();
        state.apply(Event::PhoneWatchFailed(Failure::new("no threads")));
        assert_eq!(state.phones.problem.as_deref(), Some("no threads"));
    }
}
