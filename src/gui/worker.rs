//! Background jobs: all the window's file work runs here, on its own threads.
//!
//! Each job sends typed events over a channel and wakes the window; the window drains the
//! channel once per frame. A job that cannot start, or stops unexpectedly, still reports,
//! so that nothing in the window waits forever.

use super::state::{Event, Failure, FolderAdded, Job, LoadedSettings, SearchedFolder, Unreadable};
use eframe::egui;
use plugback_core::backup::catalog;
use plugback_core::backup::verify::{self, ProgressReporter, VerifyOptions, VerifyProgress};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::WatcherThread;
use plugback_core::settings::{Settings, SettingsError};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

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
            phone_watch: None,
        };
        (worker, rx)
    }

    pub fn spawn(&self, job: Job) {
        let notifier = self.notifier.clone();
        let settings_path = self.settings_path.clone();
        let name = match &job {
            Job::LoadSettings | Job::AddFolder { .. } | Job::SaveSettings { .. } => {
                "plugback-settings"
            }
            Job::Scan { .. } => "plugback-scan",
            Job::Stats { .. } => "plugback-stats",
            Job::Verify { .. } => "plugback-verify",
            Job::Pair { .. } => "plugback-pair",
        };
        // Kept aside in case the thread cannot start: the job moves into the closure.
        let failed_to_start = job.failed(Failure::new(
            "Plugback could not start a background task. Close some programs and try again.",
        ));
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run_job(job, &notifier, settings_path.as_deref()));
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
        let (notifier, token) = (self.notifier.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("plugback-phones".to_owned())
            .spawn(move || follow_phones(sources, &notifier, &token));
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
fn follow_phones(sources: Sources, notifier: &Notifier, stop: &CancelToken) {
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
            Ok(event) => notifier.send(Event::Phones(event)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return notifier.send(Event::PhoneWatchFailed(Failure::new(
                    "Plugback stopped looking for phones unexpectedly. Open Plugback again to see the phones plugged in, and report it if it happens again.",
                )));
            }
        }
    }
}

fn run_job(job: Job, notifier: &Notifier, settings_path: Option<&Path>) {
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
