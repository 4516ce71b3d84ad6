//! Background jobs: all the window's file work runs here, on its own threads.
//!
//! Each job sends typed events over a channel and wakes the window; the window drains the
//! channel once per frame. A job that cannot start, or stops unexpectedly, still reports,
//! so that nothing in the window waits forever.

use super::health;
use super::logs::{self, Exported};
use super::restore::work;
use super::state::{
    Event, Failure, FolderAdded, Job, LoadedSettings, RestoreEvent, SearchedFolder, Unreadable,
};
use eframe::egui;
use plugback_core::backup::verify::{self, ProgressReporter, VerifyOptions, VerifyProgress};
use plugback_core::backup::{catalog, listing};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::WatcherThread;
use plugback_core::device::{Device, DeviceError};
use plugback_core::diagnostics::{self, DiagnosticsInputs};
use plugback_core::doctor;
use plugback_core::jobs::{JobEvent, PresenceBoard, sleep_watch};
use plugback_core::settings::{Settings, SettingsError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;
use std::time::Instant;

/// How long the phone thread waits for the watcher before it looks at its stop flag.
const PHONE_POLL: Duration = Duration::from_millis(200);

/// How long pairing waits for the person to tap Trust on the iPhone (the card's words
/// for a timeout say "2 minutes").
const PAIR_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends events to the window and wakes it up to show them.
#[derive(Clone)]
struct Notifier {
    tx: Sender<Event>,
    ctx: egui::Context,
}

impl Notifier {
    fn send(&self, event: Event) {
        // The window may have closed: then nobody is listening, and that is fine.
        if self.tx.send(event).is_ok() {
            self.ctx.request_repaint();
        }
    }
}

pub struct Worker {
    notifier: Notifier,
    settings_path: Option<PathBuf>,
    /// Where phones are reached, once watched: restores and their checks use them too.
    sources: Option<Sources>,
    /// Which phones are plugged in, fed by the phone watcher, read by restores' watchdogs.
    presence: Arc<PresenceBoard>,
    /// Where restore job logs go.
    log_dir: Option<PathBuf>,
    /// Stops the phone watcher when the worker (and so the window) goes away.
    phone_watch: Option<CancelToken>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(stop) = &self.phone_watch {
            stop.cancel();
        }
    }
}

impl Worker {
    /// A worker that wakes `ctx`, and the receiving end the window drains.
    pub fn new(ctx: egui::Context, settings_path: Option<PathBuf>) -> (Self, Receiver<Event>) {
        let (tx, rx) = mpsc::channel();
        let worker = Self {
            notifier: Notifier { tx, ctx },
            settings_path,
            sources: None,
            presence: Arc::new(PresenceBoard::default()),
            log_dir: None,
            phone_watch: None,
        };
        (worker, rx)
    }

    /// Restores write their job logs to `dir`.
    pub fn log_restores_to(&mut self, dir: Option<PathBuf>) {
        self.log_dir = dir;
    }

    pub fn spawn(&self, job: Job) {
        let notifier = self.notifier.clone();
        let settings_path = self.settings_path.clone();
        let restores = RestoreShared {
            sources: self.sources.clone(),
            presence: self.presence.clone(),
            log_dir: self.log_dir.clone(),
        };
        let name = match &job {
            Job::LoadSettings | Job::AddFolder { .. } | Job::SaveSettings { .. } => {
                "plugback-settings"
            }
            Job::Scan { .. } => "plugback-scan",
            Job::Stats { .. } => "plugback-stats",
            Job::Verify { .. } => "plugback-verify",
            Job::Pair { .. } => "plugback-pair",
            Job::CheckHealth { .. } => "plugback-health",
            Job::ListLogs { .. } | Job::ReadLog { .. } => "plugback-logs",
            Job::ExportDiagnostics { .. } => "plugback-diagnostics",
            Job::RunDoctor => "plugback-doctor",
            Job::Simulate { .. } | Job::OpenDemo { .. } => "plugback-demo",
            Job::TestRestore { .. } => "plugback-test-restore",
            Job::PickFolder => "plugback-dialog",
            Job::ListFiles { .. } => "plugback-files",
            Job::CheckPassword { .. } | Job::Preflight { .. } | Job::ReadSelection { .. } => {
                "plugback-restore-check"
            }
            Job::Restore { .. } => "plugback-restore",
        };
        // Kept aside in case the thread cannot start: the job moves into the closure.
        let failed_to_start = job.failed(Failure::new(
            "Plugback could not start a background task. Close some programs and try again.",
        ));
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run_job(job, &notifier, settings_path.as_deref(), &restores));
        if spawned.is_err() {
            self.notifier.send(failed_to_start);
        }
    }
}

impl Worker {
    /// Watches for phones at `sources` on a thread of its own, until the worker drops.
    /// Reports each change as [`Event::Phones`].
    pub fn watch_phones(&mut self, sources: Sources) {
        let stop = CancelToken::new();
        self.sources = Some(sources.clone());
        // Without a system bus (a container) a sleep shows as the phones leaving instead.
        let _ = sleep_watch::follow(self.presence.clone());
        let (notifier, token, presence) =
            (self.notifier.clone(), stop.clone(), self.presence.clone());
        let spawned = std::thread::Builder::new()
            .name("plugback-phones".to_owned())
            .spawn(move || follow_phones(sources, &notifier, &presence, &token));
        match spawned {
            Ok(_) => self.phone_watch = Some(stop),
            Err(_) => self.notifier.send(Event::PhoneWatchFailed(Failure::new(
                "Plugback could not start looking for phones. Close some programs and open Plugback again.",
            ))),
        }
    }
}

/// Forwards the watcher's events to the window until `stop`. The watcher stops with it
/// (dropping it cancels its own thread).
fn follow_phones(
    sources: Sources,
    notifier: &Notifier,
    presence: &PresenceBoard,
    stop: &CancelToken,
) {
    let watcher = match WatcherThread::start(sources) {
        Ok(watcher) => watcher,
        Err(err) => {
            return notifier.send(Event::PhoneWatchFailed(Failure::new(format!(
                "Plugback could not start looking for phones ({err}). Close some programs and open Plugback again."
            ))));
        }
    };
    while !stop.is_cancelled() {
        match watcher.events().recv_timeout(PHONE_POLL) {
            Ok(event) => {
                presence.apply(&event);
                notifier.send(Event::Phones(event));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return notifier.send(Event::PhoneWatchFailed(Failure::new(
                    "Plugback stopped looking for phones unexpectedly. Open Plugback again to see the phones plugged in, and report it if it happens again.",
                )));
            }
        }
    }
}

/// What restore jobs need from the worker.
struct RestoreShared {
    sources: Option<Sources>,
    presence: Arc<PresenceBoard>,
    log_dir: Option<PathBuf>,
}

fn run_job(job: Job, notifier: &Notifier, settings_path: Option<&Path>, restores: &RestoreShared) {
    let on_panic = job.failed(Failure::new(
        "Plugback stopped this task unexpectedly. Nothing was changed. Please try again, and report it if it happens again.",
    ));
    let outcome = catch_unwind(AssertUnwindSafe(|| match job {
        Job::LoadSettings => Event::SettingsLoaded(load_settings(settings_path)),
        Job::Scan { generation, plan } => scan(generation, plan.dirs()),
        Job::Stats { path, kind } => Event::StatsReady {
            result: catalog::stats(&path, kind).map_err(|e| Failure::from(&e)),
            path,
        },
        Job::Verify { run, path, options } => run_verify(run, &path, &options, notifier),
        Job::AddFolder {
            path,
            settings,
            save,
        } => Event::FolderAdded {
            result: add_folder(&path, settings, save.then_some(settings_path).flatten()),
            path,
        },
        Job::SaveSettings { settings } => {
            Event::SettingsSaved(save_settings(&settings, settings_path))
        }
        Job::Pair { mux, udid, cancel } => pair(&mux, udid, &cancel, notifier),
        Job::CheckHealth {
            sources,
            device,
            cancel,
        } => check_health(sources.0, *device, &cancel),
        Job::ListLogs { dir } => Event::LogsListed(logs::list(dir.as_deref())),
        Job::ReadLog { path } => Event::LogRead {
            result: logs::read(&path),
            path,
        },
        Job::ExportDiagnostics { out, inputs } => {
            Event::DiagnosticsExported(export_diagnostics(out, inputs))
        }
        Job::TestRestore {
            run,
            path,
            password,
            cancel,
        } => test_restore(run, &path, password.as_ref(), &cancel, notifier),
        Job::PickFolder => Event::FolderPicked(pick_folder()),
        Job::OpenDemo { program } => Event::DemoOpened(super::demo_offer::open(&program)),
        Job::RunDoctor => Event::DoctorFinished(Ok(Box::new(doctor::run(
            &doctor::DoctorEnv::from_system(),
            &CancelToken::new(),
        )))),
        Job::Simulate {
            id,
            name,
            action,
            control,
        } => Event::Simulated {
            result: control.run(&id, action),
            id,
            name,
            action,
        },
        Job::ListFiles {
            path,
            kind,
            password,
        } => Event::FilesListed {
            result: listing::list_unlocked(&path, kind, password.as_ref())
                .map_err(|e| Failure::from(&e)),
            path,
        },
        job @ (Job::CheckPassword { .. }
        | Job::Preflight { .. }
        | Job::ReadSelection { .. }
        | Job::Restore { .. }) => run_restore_job(job, notifier, restores),
    }));
    notifier.send(outcome.unwrap_or(on_panic));
}

fn load_settings(path: Option<&Path>) -> LoadedSettings {
    let loaded = match path {
        Some(path) => Settings::load_from(path),
        None => Ok(Settings::default()),
    };
    match loaded {
        Ok(settings) => LoadedSettings {
            settings,
            problem: None,
            writable: path.is_some(),
        },
        Err(err) => LoadedSettings {
            settings: Settings::default(),
            problem: Some(settings_problem(&err)),
            writable: false,
        },
    }
}

fn settings_problem(err: &SettingsError) -> String {
    match err {
        SettingsError::Damaged { .. } => format!(
            "{err}. Your saved folders are not searched; the file is left as it is so you can repair or delete it."
        ),
        _ => format!("{err}. Your saved folders are not searched."),
    }
}

fn scan(generation: u64, dirs: Vec<PathBuf>) -> Event {
    let searched = dirs
        .iter()
        .map(|dir| SearchedFolder {
            path: dir.clone(),
            exists: dir.exists(),
        })
        .collect();
    let found = catalog::scan(&dirs);
    Event::ScanFinished {
        generation,
        searched,
        backups: found.backups,
        unreadable: found
            .unreadable
            .iter()
            .map(|(path, err)| Unreadable {
                path: path.clone(),
                failure: Failure::from(err),
            })
            .collect(),
        problem: None,
    }
}

/// Pairs with the iPhone `udid`, telling the window each state the phone reports.
fn pair(mux: &Usbmuxd, udid: String, cancel: &CancelToken, notifier: &Notifier) -> Event {
    let on_state = |outcome| {
        notifier.send(Event::PairProgress {
            udid: udid.clone(),
            outcome,
        });
    };
    let result = ios::block_on(ios::pair(mux, &udid, PAIR_TIMEOUT, cancel, on_state));
    Event::PairFinished {
        result: result.map_err(|e| Failure::from(&e)),
        udid,
    }
}

fn run_verify(run: u64, path: &Path, options: &VerifyOptions, notifier: &Notifier) -> Event {
    // The reporter throttles these, so the window gets steady updates, not a flood.
    let observer = |progress: &VerifyProgress| {
        notifier.send(Event::VerifyProgress {
            run,
            progress: progress.clone(),
        });
    };
    let reporter = ProgressReporter::new(Some(&observer));
    Event::VerifyFinished {
        run,
        result: verify::verify(path, options, &reporter).map_err(|e| Failure::from(&e)),
    }
}

/// Restores `path` into a simulated phone, reporting its phases and progress.
fn test_restore(
    run: u64,
    path: &Path,
    password: Option<&plugback_core::secret::Password>,
    cancel: &CancelToken,
    notifier: &Notifier,
) -> Event {
    use super::test_restore::TestRestoreUpdate;
    use plugback_core::restore::{RestoreEvent as Reported, Sink};
    let updates = notifier.clone();
    // The restore engine paces its progress reports (every 100 ms at most).
    let sink = Sink::new(move |event| {
        let update = match event {
            Reported::Phase { phase } => TestRestoreUpdate::Phase(phase),
            Reported::Progress(progress) => TestRestoreUpdate::Progress(progress),
            Reported::Note { .. } => return,
        };
        updates.send(Event::TestRestoreUpdate { run, update });
    });
    let result = crate::test_restore::run(path, password, &sink, cancel).map_err(|err| Failure {
        code: plugback_core::explain::explain(&err.code()).map(|entry| entry.code),
        message: err.to_string(),
    });
    Event::TestRestoreFinished { run, result }
}

/// Writes `settings` to `path`; the state only asks when the file may be written.
fn save_settings(settings: &Settings, path: Option<&Path>) -> Result<(), Failure> {
    let Some(path) = path else {
        return Err(Failure::new(
            "Plugback has no settings file here: changes are kept until Plugback closes.",
        ));
    };
    settings.save_to(path).map_err(|err| {
        Failure::new(format!(
            "Not saved: {err}. Changes are kept until Plugback closes. Check that your home folder has space and is writable."
        ))
    })
}

/// Adds `dir` to the settings after checking it is a folder; saves them to `save_to`.
fn add_folder(
    dir: &Path,
    mut settings: Settings,
    save_to: Option<&Path>,
) -> Result<FolderAdded, Failure> {
    if !dir.is_dir() {
        return Err(Failure::new(format!(
            "There is no folder at {}. Check the path, or add the folder that holds your backups.",
            dir.display()
        )));
    }
    settings.add_backup_folder(dir.to_path_buf());
    let Some(path) = save_to else {
        return Ok(FolderAdded {
            settings,
            saved: false,
            note: None,
        });
    };
    match settings.save_to(path) {
        Ok(()) => Ok(FolderAdded {
            settings,
            saved: true,
            note: None,
        }),
        Err(err) => Ok(FolderAdded {
            settings,
            saved: false,
            note: Some(format!(
                "It could not be saved for next time: {err}. Check that your home folder has space and is writable."
            )),
        }),
    }
}

/// Checks the connection of `device`, stopped by `cancel` or after the time limit.
fn check_health(sources: Sources, device: Device, cancel: &CancelToken) -> Event {
    let id = device.id.clone();
    let timed_out = AtomicBool::new(false);
    let finished = CancelToken::new();
    let result = std::thread::scope(|scope| {
        // The check polls `cancel`: the time limit cancels it too, and says so.
        scope.spawn(|| {
            let deadline = Instant::now() + health::CHECK_TIME_LIMIT;
            while !finished.is_cancelled() && !cancel.is_cancelled() {
                if Instant::now() >= deadline {
                    timed_out.store(true, Ordering::Relaxed);
                    cancel.cancel();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let result =
            plugback_core::device::health::check(sources, device, &health::check_options(), cancel);
        finished.cancel();
        result
    });
    let result = match result {
        Ok(report) => Ok(Box::new(report)),
        Err(_) if timed_out.load(Ordering::Relaxed) => Err(Failure::from(&DeviceError::Timeout {
            what: "the connection check".to_owned(),
            after: health::CHECK_TIME_LIMIT,
        })),
        Err(err) => Err(Failure::from(&err)),
    };
    Event::HealthChecked { id, result }
}

/// The folder the person picks in the system's dialog; None when closed, or when there
/// is no dialog to show (then the typed path is the way).
fn pick_folder() -> Option<PathBuf> {
    let dialog = rfd::AsyncFileDialog::new()
        .set_title("Add a folder of backups")
        .pick_folder();
    wait_for_dialog(dialog).ok().flatten()
}

/// Waits for a system dialog on this job's own thread: unlike the blocking dialogs, the
/// async ones may be asked for off the main thread on every system.
fn wait_for_dialog(
    dialog: impl std::future::Future<Output = Option<rfd::FileHandle>>,
) -> std::io::Result<Option<PathBuf>> {
    let picked = tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(dialog);
    Ok(picked.map(|file| file.path().to_path_buf()))
}

/// Writes the diagnostics zip to `out`, or where the person picks in the system's save
/// dialog (none picked: `Ok(None)`).
fn export_diagnostics(
    out: Option<PathBuf>,
    mut inputs: DiagnosticsInputs,
) -> Result<Option<Exported>, Failure> {
    let out = match out {
        Some(out) => out,
        None => {
            let dialog = rfd::AsyncFileDialog::new()
                .set_title("Save diagnostics")
                .set_file_name("plugback-diagnostics.zip")
                .add_filter("Zip file", &["zip"])
                .save_file();
            let picked = wait_for_dialog(dialog).map_err(|err| {
                Failure::new(format!(
                    "Plugback could not open the save dialog ({err}). Close some programs and try again."
                ))
            })?;
            match picked {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    if inputs.home.is_none() {
        inputs.home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    }
    match diagnostics::export(&out, &inputs) {
        Ok(summary) => Ok(Some(Exported { path: out, summary })),
        Err(err) => Err(Failure {
            code: Some(err.code()),
            message: err.to_string(),
        }),
    }
}

/// The jobs of a restore flow; each ends with one event for its flow.
fn run_restore_job(job: Job, notifier: &Notifier, shared: &RestoreShared) -> Event {
    let no_phones = || {
        Failure::new(
            "Plugback is not looking for phones, so it cannot restore to one. Open Plugback again.",
        )
    };
    let (flow, event) = match job {
        Job::CheckPassword {
            flow,
            run,
            path,
            password,
        } => (
            flow,
            RestoreEvent::PasswordChecked {
                run,
                result: work::check_password(&path, password),
            },
        ),
        Job::Preflight {
            flow,
            run,
            choice,
            device,
            effects,
            cancel,
        } => match &shared.sources {
            Some(sources) => (
                flow,
                RestoreEvent::ChecksDone {
                    run,
                    preflight: Box::new(work::preflight(
                        &choice, &device, sources, effects, &cancel,
                    )),
                },
            ),
            None => {
                return Job::Preflight {
                    flow,
                    run,
                    choice,
                    device,
                    effects,
                    cancel,
                }
                .failed(no_phones());
            }
        },
        Job::ReadSelection { flow, path } => (
            flow,
            RestoreEvent::SelectionRead(work::read_selection(&path)),
        ),
        Job::Restore {
            flow,
            job_id,
            device,
            choice,
            effects,
            cancel,
            answers,
        } => {
            let Some(sources) = shared.sources.clone() else {
                return Job::Restore {
                    flow,
                    job_id,
                    device,
                    choice,
                    effects,
                    cancel,
                    answers,
                }
                .failed(no_phones());
            };
            let events = notifier.clone();
            // The report comes once, from the returned value, also when the job cannot start.
            let on_event = Arc::new(move |event: JobEvent| {
                if !matches!(event, JobEvent::Finished { .. }) {
                    events.send(Event::Restore {
                        flow,
                        event: RestoreEvent::Job(Box::new(event)),
                    });
                }
            });
            let asks = notifier.clone();
            let ask = Arc::new(move |question: String| {
                asks.send(Event::Restore {
                    flow,
                    event: RestoreEvent::Question(question),
                });
            });
            let report = work::restore(
                work::RestoreWork {
                    job_id,
                    device: *device,
                    choice: *choice,
                    sources,
                    presence: shared.presence.clone(),
                    effects,
                    log_dir: shared.log_dir.clone(),
                    cancel,
                    answers,
                },
                on_event,
                ask,
            );
            (
                flow,
                RestoreEvent::Job(Box::new(JobEvent::Finished { report })),
            )
        }
        other => return other.failed(Failure::new("Plugback gave this task to the wrong worker.")),
    };
    Event::Restore { flow, event }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::state::SearchPlan;
    use plugback_core::device::watcher::WatchEvent;

    #[test]
    fn folders_are_checked_and_saved() {
        let dir = tempfile::tempdir().unwrap();
        let settings_file = dir.path().join("cfg/settings.json");
        let backups = dir.path().join("backups");
        std::fs::create_dir(&backups).unwrap();

        let missing = add_folder(
            &dir.path().join("nope"),
            Settings::default(),
            Some(&settings_file),
        );
        assert!(missing.unwrap_err().message.contains("There is no folder"));
        assert!(!settings_file.exists(), "nothing written for a bad folder");

        let added = add_folder(&backups, Settings::default(), Some(&settings_file)).unwrap();
        assert!(added.saved);
        assert_eq!(
            Settings::load_from(&settings_file).unwrap().backup_folders,
            vec![backups.clone()]
        );

        let session_only = add_folder(&backups, Settings::default(), None).unwrap();
        assert!(!session_only.saved);
        assert_eq!(session_only.settings.backup_folders, vec![backups]);
    }

    #[test]
    fn settings_are_saved_or_the_problem_said() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg/settings.json");
        let settings = Settings {
            theme: plugback_core::settings::Theme::Light,
            ..Settings::default()
        };
        save_settings(&settings, Some(&file)).unwrap();
        assert_eq!(Settings::load_from(&file).unwrap(), settings);

        // A file where its folder should be: the folder cannot be made.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"").unwrap();
        let failure = save_settings(&settings, Some(&blocked.join("settings.json"))).unwrap_err();
        assert!(
            failure.message.starts_with("Not saved:"),
            "{}",
            failure.message
        );
        assert!(save_settings(&settings, None).is_err());
    }

    #[test]
    fn damaged_settings_load_as_defaults_and_stay_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        std::fs::write(&file, b"{oops").unwrap();
        let loaded = load_settings(Some(&file));
        assert!(!loaded.writable);
        assert!(loaded.problem.unwrap().contains("left as it is"));
        assert_eq!(std::fs::read(&file).unwrap(), b"{oops");

        let absent = load_settings(Some(&dir.path().join("absent.json")));
        assert!(absent.writable && absent.problem.is_none());
    }

    #[test]
    fn phone_sources_that_do_not_answer_are_reported_until_the_worker_drops() {
        let empty = tempfile::tempdir().unwrap();
        let (mut worker, rx) = Worker::new(egui::Context::default(), None);
        worker.watch_phones(Sources {
            usbmuxd: Err(plugback_core::device::DeviceError::UsbmuxdUnavailable {
                address: "nowhere".into(),
                detail: "not running".into(),
            }),
            // A port nothing listens on, and no adb to start a server there.
            adb: plugback_core::device::android::AdbServer::new(plugback_sim::peers::free_port())
                .with_search_path(empty.path().as_os_str()),
        });
        let mut down = Vec::new();
        while down.len() < 2 {
            match rx.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(Event::Phones(WatchEvent::SourceDown { error, .. })) => down.push(error.code()),
                Ok(_) => {}
                Err(err) => panic!("no report that the sources are down: {err}; got {down:?}"),
            }
        }
        down.sort_unstable();
        assert_eq!(down, ["adb-unavailable", "usbmuxd-unavailable"]);
        drop(worker);
        // The phone thread and the watcher go with the worker: the channel closes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                _ => assert!(
                    std::time::Instant::now() < deadline,
                    "the phone thread kept running after the worker dropped"
                ),
            }
        }
    }

    #[test]
    fn jobs_report_back_and_wake_the_window() {
        let ctx = egui::Context::default();
        let (worker, rx) = Worker::new(ctx, None);
        let empty = tempfile::tempdir().unwrap();
        worker.spawn(Job::Scan {
            generation: 7,
            plan: SearchPlan {
                saved: vec![empty.path().to_path_buf()],
                extra: vec![empty.path().join("absent")],
                standard_places: false,
            },
        });
        let event = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("scan reports");
        let Event::ScanFinished {
            generation,
            searched,
            backups,
            ..
        } = event
        else {
            panic!("expected a scan result, got {event:?}");
        };
        assert_eq!(generation, 7);
        assert!(backups.is_empty());
        assert_eq!(
            searched.iter().map(|s| s.exists).collect::<Vec<_>>(),
            [true, false]
        );
    }
}
