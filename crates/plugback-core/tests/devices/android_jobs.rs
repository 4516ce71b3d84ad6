//! Android file restores run as jobs (`restore_job::run`, under the watchdog) against
//! simulated Android phones attached to a private real adb server, with the engine's
//! watcher feeding the presence board as in the app: disconnects injected at seeded random
//! points of the transfer, and four phones restored at once. Every run proves the phone
//! got the backup's files (bytes and mtimes) and the backup unchanged (hashed before and
//! after).
//!
//! The fault runs draw their disconnect points from a seeded generator: set
//! `PLUGBACK_FAULT_SEED=<n>` to replay a failure (each failure message names its seed).

use super::android_apps::listed_packages;
use super::android_health::{attached_phone, core_server};
use super::android_restore::assert_on_phone;
use super::job_support::{NoInhibitor, fault_runs, fault_seed};
use plugback_core::cancel::CancelToken;
use plugback_core::device::Device;
use plugback_core::device::android;
use plugback_core::device::ios::{MuxAddress, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::WatcherThread;
use plugback_core::jobs::restore_job::{self, RestoreRequest, RestoreTarget};
use plugback_core::jobs::{
    AfterLoss, JobContext, JobEvent, JobReport, PresenceBoard, RetryPolicy, Silent,
};
use plugback_core::restore::android::{AppPlan, FilePlan};
use plugback_sim::control::ControlCommand;
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::peers::{AdbServer, free_port};
use plugback_sim::tree_hashes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The fault runs' seed unless `PLUGBACK_FAULT_SEED` gives another.
const DEFAULT_FAULT_SEED: u64 = 20_261_126;
/// Restores with an injected disconnect, each on a fresh phone.
const FAULT_RUNS: usize = 24;
/// How many of them run at once (each is mostly waiting: for adb, for the phone).
const FAULT_RUNS_AT_ONCE: usize = 4;
/// The longest a job may take before the test cancels it and fails.
const JOB_DEADLINE: Duration = Duration::from_secs(90);
/// The longest wait for the watcher to report a phone ready.
const WAIT: Duration = Duration::from_secs(30);
/// How often the reconnecting hand looks at the phone's state in the adb server.
const RECONNECT_POLL: Duration = Duration::from_millis(50);
/// How long a fresh `connect` may take to bring the phone up before it is tried again.
const RECONNECT_GRACE: Duration = Duration::from_secs(2);

/// A private adb server with the engine's watcher on it, and what every job shares.
struct Station {
    adb: AdbServer,
    server: android::AdbServer,
    ctx: JobContext,
    _logs: tempfile::TempDir,
}

impl Station {
    /// None (after a notice) when adb is not installed.
    fn new() -> Option<Station> {
        let adb = AdbServer::start()?;
        let server = core_server(&adb);
        let sources = Sources {
            // Nothing listens there: only Android phones are watched.
            usbmuxd: Ok(Usbmuxd::new(MuxAddress::Tcp(
                format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            ))),
            adb: server.clone(),
        };
        let watcher = WatcherThread::start(sources).unwrap();
        let presence = PresenceBoard::follow(watcher).unwrap();
        let logs = tempfile::tempdir().unwrap();
        let ctx = JobContext {
            presence,
            awake: Arc::new(NoInhibitor),
            notifier: Arc::new(Silent),
            log_dir: Some(logs.path().to_path_buf()),
            confirm_restart: Arc::new(|_| panic!("an Android restore never asks to restart")),
        };
        Some(Station {
            adb,
            server,
            ctx,
            _logs: logs,
        })
    }

    /// The phone `serial` once the watcher reports it ready, as the device layer reads it.
    fn ready_device(&self, serial: &str) -> Device {
        let cancel = CancelToken::new();
        assert!(
            self.ctx
                .presence
                .wait_ready(serial, WAIT, &cancel)
                .is_some(),
            "the watcher never reported {serial} ready"
        );
        android::read(&self.server, serial, &cancel)
            .unwrap_or_else(|e| panic!("{serial} cannot be read: {e}"))
    }

    /// Runs the file restore of `plan` to `device` as a job on its own thread, bounded by
    /// [`JOB_DEADLINE`]; returns the report and every event. `label` names the run in
    /// failure messages.
    fn run_job(&self, label: &str, device: Device, plan: &FilePlan) -> (JobReport, Vec<JobEvent>) {
        self.run_target(label, device, &plan.source, Some(plan), None)
    }

    /// Like [`Self::run_job`], for files, apps or both of the backup at `backup`.
    fn run_target(
        &self,
        label: &str,
        device: Device,
        backup: &Path,
        files: Option<&FilePlan>,
        apps: Option<&AppPlan>,
    ) -> (JobReport, Vec<JobEvent>) {
        let request = RestoreRequest {
            job_id: format!("job-{}", device.id.replace([':', '.'], "-")),
            device,
            backup: backup.to_path_buf(),
            target: RestoreTarget::Android {
                server: self.server.clone(),
                files: files.cloned(),
                apps: apps.cloned(),
            },
            policy: Some(quick_policy()),
        };
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let (ctx, cancel) = (self.ctx.clone(), CancelToken::new());
        let (done_tx, done) = mpsc::channel();
        let job_cancel = cancel.clone();
        std::thread::spawn(move || {
            let report = restore_job::run(
                &request,
                &ctx,
                &job_cancel,
                Arc::new(move |e| seen.lock().unwrap().push(e)),
            );
            let _ = done_tx.send(report);
        });
        let report = match done.recv_timeout(JOB_DEADLINE) {
            Ok(report) => report,
            Err(_) => {
                cancel.cancel();
                let late = done.recv_timeout(Duration::from_secs(15));
                panic!(
                    "{label}: the job did not end within {JOB_DEADLINE:?} (after a cancel: {late:?})"
                );
            }
        };
        let events = events.lock().unwrap().clone();
        (report, events)
    }
}

/// The Android policy (resume), with a short settle and waits that fit a test.
fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        after_loss: AfterLoss::Resume,
        max_losses: 5,
        replug_wait: WAIT,
        settle: Duration::from_millis(200),
        stall_limit: Duration::from_secs(30),
    }
}

/// Plays the person who plugs the phone straight back in: whenever the adb server stops
/// listing `serial` as a ready phone, it disconnects it and connects afresh (adb 29 would
/// wait ten seconds or so before trying a dropped network phone again on its own). Ends
/// when dropped.
struct Replugger {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u32>>,
}

impl Replugger {
    fn start(server: &android::AdbServer, serial: &str) -> Replugger {
        let stop = Arc::new(AtomicBool::new(false));
        let (server, serial, stopping) = (server.clone(), serial.to_owned(), stop.clone());
        let thread = std::thread::spawn(move || {
            let cancel = CancelToken::new();
            let host = |service: String| {
                server
                    .connect(&cancel)
                    .and_then(|mut socket| socket.query(&service))
            };
            let ready = || {
                host("host:devices".into()).is_ok_and(|list| {
                    list.lines()
                        .any(|line| line.split_once('\t') == Some((serial.as_str(), "device")))
                })
            };
            let mut replugs = 0;
            while !stopping.load(Ordering::SeqCst) {
                if !ready() {
                    let _ = host(format!("host:disconnect:{serial}"));
                    let _ = host(format!("host:connect:{serial}"));
                    replugs += 1;
                    let tried = Instant::now();
                    while tried.elapsed() < RECONNECT_GRACE
                        && !stopping.load(Ordering::SeqCst)
                        && !ready()
                    {
                        std::thread::sleep(RECONNECT_POLL);
                    }
                }
                std::thread::sleep(RECONNECT_POLL);
            }
            replugs
        });
        Replugger {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops it; how many times it plugged the phone back.
    fn finish(mut self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("the replugging thread panicked"))
    }
}

impl Drop for Replugger {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A generated Plugback Android backup folder in `root`: `files` extra files of `size`
/// bytes, its content drawn from `seed`.
fn backup(root: &Path, name: &str, files: usize, size: u64, seed: u64) -> PathBuf {
    let out = root.join(name);
    let mut spec = Spec::new(Kind::AndroidFolder);
    spec.files = files;
    spec.file_size = size;
    spec.seed = seed;
    make_backup(&spec, &out).unwrap();
    out
}

fn losses(events: &[JobEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, JobEvent::Lost { .. }))
        .count()
}

/// One fault run: a fresh phone that drops after `offset` bytes of a service stream and
/// listens again `back_after` later, restored as a job while the replugger brings it
/// back.
fn one_fault_run(station: &Station, plan: &FilePlan, offset: u64, back_after: u64, label: &str) {
    let fault = format!("disconnect-after-bytes={offset},back-after-ms={back_after}");
    let (dir, _sim, serial) = attached_phone(&station.adb, &[fault.as_str()]);
    let device = station.ready_device(&serial);
    let replugger = Replugger::start(&station.server, &serial);
    let (report, events) = station.run_job(label, device, plan);
    let replugs = replugger.finish();
    assert!(
        losses(&events) >= 1,
        "{label}: the loss was not reported (replugged {replugs} times): {report:?}"
    );
    assert!(
        report.ok,
        "{label}: the job failed: {:?} after {} losses",
        report.error,
        losses(&events)
    );
    assert!(report.resumes >= 1, "{label}: never resumed: {report:?}");
    assert_eq!(report.restarts, 0, "{label}");
    assert_eq!(report.files, plan.file_count(), "{label}");
    assert_eq!(report.bytes, plan.bytes_total(), "{label}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, JobEvent::Back { resumed: true })),
        "{label}: no resume was announced"
    );
    assert_on_phone(label, dir.path(), plan);
}

#[test]
fn restores_cut_off_at_random_bytes_resume_and_complete() {
    let Some(station) = Station::new() else {
        return;
    };
    let seed = fault_seed(DEFAULT_FAULT_SEED);
    let backups = tempfile::tempdir().unwrap();
    let source = backup(backups.path(), "backup", 40, 48 * 1024, 1);
    let before = tree_hashes(backups.path()).unwrap();
    let plan = FilePlan::from_backup_folder(&source).unwrap();
    assert!(plan.left_out.is_empty(), "{:?}", plan.left_out);
    let total = plan.bytes_total();
    // Drawn up front, so a seed replays the same runs whatever the threads do.
    let mut rng = StdRng::seed_from_u64(seed);
    let faults: Vec<(u64, u64)> = (0..fault_runs(FAULT_RUNS))
        .map(|_| (rng.random_range(1..total), rng.random_range(300..=800)))
        .collect();

    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..FAULT_RUNS_AT_ONCE)
            .map(|_| {
                scope.spawn(|| {
                    while let Some(&(offset, back_after)) =
                        faults.get(next.fetch_add(1, Ordering::SeqCst))
                    {
                        let label = format!(
                            "PLUGBACK_FAULT_SEED={seed}, disconnect after byte {offset} of a \
                             {total}-byte plan, back after {back_after} ms"
                        );
                        one_fault_run(&station, &plan, offset, back_after, &label);
                    }
                })
            })
            .collect();
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    assert_eq!(
        tree_hashes(backups.path()).unwrap(),
        before,
        "PLUGBACK_FAULT_SEED={seed}: the backup changed"
    );
}

#[test]
fn four_phones_restore_at_once_each_with_its_own_backup() {
    let Some(station) = Station::new() else {
        return;
    };
    let backups = tempfile::tempdir().unwrap();
    let plans: Vec<FilePlan> = (1..=4)
        .map(|n| {
            let source = backup(
                backups.path(),
                &format!("backup-{n}"),
                10 * n,
                40_000,
                n as u64,
            );
            FilePlan::from_backup_folder(&source).unwrap()
        })
        .collect();
    let before = tree_hashes(backups.path()).unwrap();
    let phones: Vec<_> = plans
        .iter()
        .map(|_| attached_phone(&station.adb, &[]))
        .collect();

    std::thread::scope(|scope| {
        let jobs: Vec<_> = phones
            .iter()
            .zip(&plans)
            .enumerate()
            .map(|(n, ((dir, _sim, serial), plan))| {
                let station = &station;
                scope.spawn(move || {
                    let label = format!("phone {n} ({serial})");
                    let device = station.ready_device(serial);
                    let (report, events) = station.run_job(&label, device, plan);
                    assert!(report.ok, "{label}: {:?}", report.error);
                    assert_eq!(losses(&events), 0, "{label}");
                    assert_eq!(report.files, plan.file_count(), "{label}");
                    assert_eq!(report.bytes, plan.bytes_total(), "{label}");
                    assert_on_phone(&label, dir.path(), plan);
                })
            })
            .collect();
        for job in jobs {
            if let Err(panic) = job.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    // Each phone has its own backup's files and no other's: the file lists differ.
    for (n, ((dir, _, _), _)) in phones.iter().zip(&plans).enumerate() {
        let on_this = tree_hashes(&dir.path().join("sdcard")).unwrap();
        let own = tree_hashes(
            &backups
                .path()
                .join(format!("backup-{}/files/sdcard", n + 1)),
        )
        .unwrap();
        assert_eq!(
            on_this, own,
            "phone {n} does not hold exactly its own backup"
        );
    }
    assert_eq!(
        tree_hashes(backups.path()).unwrap(),
        before,
        "a backup changed"
    );
}

#[test]
fn a_phone_unplugged_during_an_app_install_is_waited_for_and_the_apps_install() {
    let Some(station) = Station::new() else {
        return;
    };
    let backups = tempfile::tempdir().unwrap();
    let source = backup(backups.path(), "backup", 0, 1024, 3);
    let before = tree_hashes(backups.path()).unwrap();
    let apps = AppPlan::from_backup_folder(&source).unwrap();
    let mut wanted: Vec<String> = apps.apps.iter().map(|a| a.package.clone()).collect();
    wanted.sort();
    assert!(!wanted.is_empty());
    // Early in the first install's exchange, and well into its APK's bytes.
    for offset in [120, 6_000] {
        let label = format!("disconnect after byte {offset} of the app installs");
        let (_dir, sim, serial) = attached_phone(&station.adb, &[]);
        let device = station.ready_device(&serial);
        // Armed once the phone has been read, so that it fires in the installs.
        let fault = format!("disconnect-after-bytes={offset},back-after-ms=400");
        sim.control(ControlCommand::AddFault(fault.parse().unwrap()))
            .unwrap();
        let replugger = Replugger::start(&station.server, &serial);
        let (report, events) = station.run_target(&label, device, &source, None, Some(&apps));
        replugger.finish();
        assert!(
            losses(&events) >= 1,
            "{label}: the loss was not reported: {report:?}"
        );
        assert!(report.ok, "{label}: {:?}", report.error);
        assert!(report.resumes >= 1, "{label}: never resumed: {report:?}");
        let mut installed = listed_packages(&station.adb, &serial);
        installed.sort();
        assert_eq!(installed, wanted, "{label}");
    }
    assert_eq!(
        tree_hashes(backups.path()).unwrap(),
        before,
        "the backup changed"
    );
}
