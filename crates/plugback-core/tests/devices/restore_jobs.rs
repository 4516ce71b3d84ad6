//! iPhone restores run as jobs (`restore_job::run`, under the watchdog) against simulated
//! iPhones on one simulated usbmuxd, with the engine's watcher feeding the presence board
//! as in the app: disconnects injected at seeded random points, four phones restored at
//! once, and a phone unplugged by hand in the middle of the transfer. Every run proves the
//! phone got the backup's files and the backup unchanged (hashed before and after).
//!
//! The fault runs draw their disconnect points from a seeded generator: set
//! `PLUGBACK_FAULT_SEED=<n>` to replay a failure (each failure message names its seed).

use super::ios::Rig;
use super::job_support::{NoInhibitor, fault_runs, fault_seed};
use plugback_core::cancel::CancelToken;
use plugback_core::device::Device;
use plugback_core::device::android::AdbServer;
use plugback_core::device::ios::{self, PairOutcome, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::WatcherThread;
use plugback_core::jobs::restore_job::{self, RestoreRequest, RestoreTarget};
use plugback_core::jobs::{
    AfterLoss, JobContext, JobEvent, JobReport, PresenceBoard, RetryPolicy, Silent,
};
use plugback_core::restore::Phase;
use plugback_sim::control::ControlCommand;
use plugback_sim::fault::Fault;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimIphone};
use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use plugback_sim::peers::free_port;
use plugback_sim::tree_hashes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The fault runs' seed unless `PLUGBACK_FAULT_SEED` gives another.
const DEFAULT_FAULT_SEED: u64 = 20_261_125;
/// Restores with an injected disconnect, each on a fresh phone.
const FAULT_RUNS: usize = 24;
/// How many of them run at once (each is mostly waiting: for the phone, for the settle).
const FAULT_RUNS_AT_ONCE: usize = 4;
/// The longest a job may take before the test cancels it and fails.
const JOB_DEADLINE: Duration = Duration::from_secs(90);
/// The longest wait for the watcher to report a phone ready, or for an event.
const WAIT: Duration = Duration::from_secs(30);

/// One simulated usbmuxd with the engine's watcher on it, and what every job shares: the
/// presence board, a restart confirmation that always agrees (and counts), the logs.
struct Station {
    rig: Rig,
    mux: Usbmuxd,
    ctx: JobContext,
    confirmations: Arc<AtomicUsize>,
    next_phone: AtomicU64,
}

impl Station {
    fn new() -> Station {
        let rig = Rig::new();
        let mux = rig.mux();
        let sources = Sources {
            usbmuxd: Ok(mux.clone()),
            // No adb on the search path: only iPhones are watched.
            adb: AdbServer::new(free_port()).with_search_path(rig.dir.path().join("no-adb")),
        };
        let watcher = WatcherThread::start(sources).unwrap();
        let presence = PresenceBoard::follow(watcher).unwrap();
        let confirmations = Arc::new(AtomicUsize::new(0));
        let counted = confirmations.clone();
        let ctx = JobContext {
            presence,
            awake: Arc::new(NoInhibitor),
            notifier: Arc::new(Silent),
            log_dir: Some(rig.dir.path().join("logs")),
            confirm_restart: Arc::new(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                true
            }),
        };
        Station {
            rig,
            mux,
            ctx,
            confirmations,
            next_phone: AtomicU64::new(1),
        }
    }

    /// Plugs in a new phone (its own UDID and folder), pairs it, and returns it once the
    /// watcher reports it ready, with the device as the device layer reads it.
    fn phone(&self, configure: impl FnOnce(&mut IphoneConfig)) -> (SimIphone, Device) {
        let n = self.next_phone.fetch_add(1, Ordering::SeqCst);
        let mut config = self.rig.config(&format!("phone-{n}"));
        config.udid = format!("00008030-{:016X}", 0xC0DE_0000 + n);
        config.name = format!("Test iPhone {n}");
        configure(&mut config);
        let phone = self.rig.add(config);
        let cancel = CancelToken::new();
        match block_on(ios::pair(&self.mux, phone.udid(), WAIT, &cancel, |_| {})) {
            Ok(PairOutcome::Paired) => {}
            other => panic!("phone {n} did not pair: {other:?}"),
        }
        assert!(
            self.ctx
                .presence
                .wait_ready(phone.udid(), WAIT, &cancel)
                .is_some(),
            "the watcher never reported phone {n} ready"
        );
        let device = block_on(ios::read(&self.mux, phone.udid(), &cancel))
            .unwrap_or_else(|e| panic!("phone {n} cannot be read: {e}"));
        (phone, device)
    }

    /// Runs an iPhone restore of `backup` to `device` as a job on its own thread, bounded
    /// by [`JOB_DEADLINE`]; `seen` gets every event as it happens. `label` names the run
    /// in failure messages.
    fn run_job(
        &self,
        label: &str,
        device: Device,
        backup: &Path,
        seen: impl Fn(&JobEvent) + Send + Sync + 'static,
    ) -> JobReport {
        let request = RestoreRequest {
            job_id: format!("job-{}", device.id),
            device,
            backup: backup.to_path_buf(),
            target: RestoreTarget::Iphone {
                mux: self.mux.clone(),
                options: super::ios_restore::options(),
            },
            policy: Some(quick_policy()),
        };
        let (ctx, cancel) = (self.ctx.clone(), CancelToken::new());
        let (done_tx, done) = mpsc::channel();
        let job_cancel = cancel.clone();
        std::thread::spawn(move || {
            let report = restore_job::run(&request, &ctx, &job_cancel, Arc::new(move |e| seen(&e)));
            let _ = done_tx.send(report);
        });
        match done.recv_timeout(JOB_DEADLINE) {
            Ok(report) => report,
            Err(_) => {
                cancel.cancel();
                let late = done.recv_timeout(Duration::from_secs(15));
                panic!(
                    "{label}: the job did not end within {JOB_DEADLINE:?} (after a cancel: {late:?})"
                );
            }
        }
    }
}

fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(WAIT, work)
                .await
                .expect("the iPhone exchange did not finish in time")
        })
}

/// The iPhone policy (restart after the person confirms), with a short settle.
fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        after_loss: AfterLoss::RestartAfterConfirm,
        max_losses: 5,
        replug_wait: WAIT,
        settle: Duration::from_millis(200),
        stall_limit: Duration::from_secs(30),
    }
}

/// A generated plain backup in `<root>/<name>`: `files` extra files of `file_size` bytes.
struct Backup {
    dir: PathBuf,
    /// Every file a restore of it must leave on the phone.
    expected: BTreeMap<String, Vec<u8>>,
    /// What a restore sends: every regular file of the folder, and their bytes.
    files: u64,
    bytes: u64,
}

impl Backup {
    fn make(root: &Path, name: &str, files: usize, file_size: u64, seed: u64) -> Backup {
        let dir = root.join(name);
        let mut spec = Spec::new(Kind::Ios);
        spec.kdf_cost = KdfCost::Low;
        spec.files = files;
        spec.file_size = file_size;
        spec.seed = seed;
        make_backup(&spec, &dir).expect("the generator works");
        let hashes = tree_hashes(&dir).unwrap();
        let bytes = hashes
            .keys()
            .map(|rel| std::fs::metadata(dir.join(rel)).unwrap().len())
            .sum();
        Backup {
            expected: expected_files(&dir, None).unwrap(),
            files: hashes.len() as u64,
            bytes,
            dir,
        }
    }
}

fn restored(phone: &SimIphone) -> BTreeMap<String, Vec<u8>> {
    let dir = phone.phone().restored_dir();
    if dir.exists() {
        files_under(&dir).unwrap()
    } else {
        BTreeMap::new()
    }
}

/// A sink for job events that keeps them all.
fn recorder() -> (
    Arc<Mutex<Vec<JobEvent>>>,
    impl Fn(&JobEvent) + Send + Sync + 'static,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let kept = events.clone();
    (events, move |e: &JobEvent| {
        kept.lock().unwrap().push(e.clone())
    })
}

fn phases(events: &[JobEvent]) -> Vec<Phase> {
    events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Phase { phase } => Some(*phase),
            _ => None,
        })
        .collect()
}

fn losses(events: &[JobEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, JobEvent::Lost { .. }))
        .count()
}

/// Pulls the plug at a random byte of a service stream, or at a random percentage the
/// phone reports; the phone comes back by itself a few hundred milliseconds later.
fn random_fault(rng: &mut StdRng, backup_bytes: u64) -> Fault {
    let back_after = Some(Duration::from_millis(rng.random_range(200..=600)));
    if rng.random_bool(0.5) {
        // Only the mobilebackup2 stream carries this much: the backup itself goes over it.
        Fault::DisconnectAfterBytes {
            bytes: rng.random_range(64 * 1024..=backup_bytes * 8 / 10),
            back_after,
        }
    } else {
        // The phone announces each batch with its percentage, the last one below 100.
        Fault::DisconnectAtPercent {
            percent: rng.random_range(5..=80),
            back_after,
        }
    }
}

#[test]
fn restores_cut_off_at_random_points_restart_and_complete() {
    let seed = fault_seed(DEFAULT_FAULT_SEED);
    let station = Station::new();
    let backups = station.rig.dir.path().join("backups");
    let backup = Backup::make(&backups, "00008110-001A2B3C4D5E6F70", 12, 384 * 1024, 1);
    let before = tree_hashes(&backups).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let faults: Vec<Fault> = (0..fault_runs(FAULT_RUNS))
        .map(|_| random_fault(&mut rng, backup.bytes))
        .collect();

    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..FAULT_RUNS_AT_ONCE {
            scope.spawn(|| {
                loop {
                    let run = next.fetch_add(1, Ordering::SeqCst);
                    let Some(fault) = faults.get(run) else {
                        return;
                    };
                    let label = format!(
                        "PLUGBACK_FAULT_SEED={seed}, run {run}: {fault} ({} backup bytes)",
                        backup.bytes
                    );
                    one_fault_run(&station, &backup, fault.clone(), &label);
                }
            });
        }
    });
    assert_eq!(
        tree_hashes(&backups).unwrap(),
        before,
        "PLUGBACK_FAULT_SEED={seed}: the backup changed"
    );
}

fn one_fault_run(station: &Station, backup: &Backup, fault: Fault, label: &str) {
    let hashed = tree_hashes(&backup.dir).unwrap();
    let (phone, device) = station.phone(|c| c.faults.push(fault));
    let (events, seen) = recorder();
    let report = station.run_job(label, device, &backup.dir, seen);
    let events = events.lock().unwrap();
    let lost = losses(&events);
    assert!(
        lost >= 1,
        "{label}: the loss was not reported: {:?}",
        phases(&events)
    );
    assert!(report.ok, "{label}: the job failed: {:?}", report.error);
    assert!(report.restarts >= 1, "{label}: no restart: {report:?}");
    // Every loss the job survived was followed by exactly one restart.
    assert_eq!(report.restarts as usize, lost, "{label}: {report:?}");
    assert_eq!(report.bytes, backup.bytes, "{label}");
    assert_eq!(report.files, backup.files, "{label}");
    let order = phases(&events);
    let waiting = order.iter().position(|p| *p == Phase::WaitingForPhone);
    assert!(
        waiting.is_some(),
        "{label}: never waiting for the phone: {order:?}"
    );
    assert_eq!(order.last(), Some(&Phase::Done), "{label}: {order:?}");
    assert!(
        events.contains(&JobEvent::Back { resumed: false }),
        "{label}: the restart was not announced"
    );
    assert!(
        restored(&phone) == backup.expected,
        "{label}: the phone's restored files differ from the backup's"
    );
    assert_eq!(
        tree_hashes(&backup.dir).unwrap(),
        hashed,
        "{label}: the backup changed"
    );
    let log = report.log.as_deref().map(std::fs::read_to_string);
    assert!(
        matches!(&log, Some(Ok(text)) if text.contains("\"event\":\"lost\"")),
        "{label}: the job log does not record the loss"
    );
}

#[test]
fn four_iphones_restore_at_once_each_with_its_own_progress() {
    let station = Station::new();
    let backups = station.rig.dir.path().join("backups");
    // Backups of different sizes, so one job's progress cannot pass for another's.
    let made: Vec<Backup> = (0..4u64)
        .map(|i| {
            let name = format!("00008110-0000000000000{i:03X}");
            Backup::make(&backups, &name, 4 + 3 * i as usize, 256 * 1024, 10 + i)
        })
        .collect();
    let before = tree_hashes(&backups).unwrap();
    let phones: Vec<(SimIphone, Device)> = (0..4).map(|_| station.phone(|_| {})).collect();

    let results: Vec<(JobReport, Vec<JobEvent>)> = std::thread::scope(|scope| {
        let jobs: Vec<_> = phones
            .iter()
            .zip(&made)
            .enumerate()
            .map(|(i, ((_, device), backup))| {
                let (station, device) = (&station, device.clone());
                scope.spawn(move || {
                    let (events, seen) = recorder();
                    let report = station.run_job(&format!("job {i}"), device, &backup.dir, seen);
                    let events = events.lock().unwrap().clone();
                    (report, events)
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });

    for (i, (((phone, device), backup), (report, events))) in
        phones.iter().zip(&made).zip(&results).enumerate()
    {
        assert!(report.ok, "job {i}: {:?}", report.error);
        assert_eq!(report.device, device.id, "job {i}");
        assert_eq!((report.restarts, losses(events)), (0, 0), "job {i}");
        assert_eq!(
            (report.bytes, report.files),
            (backup.bytes, backup.files),
            "job {i}"
        );
        let progress: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Progress { progress, .. } => Some(progress),
                _ => None,
            })
            .collect();
        assert!(!progress.is_empty(), "job {i}: no progress");
        // Only this job's restore: its own total throughout, counts that only grow, and
        // its own file count at the end.
        for p in &progress {
            assert_eq!(p.bytes_total, Some(backup.bytes), "job {i}: {p:?}");
        }
        assert!(
            progress
                .windows(2)
                .all(|w| w[0].bytes_done <= w[1].bytes_done && w[0].files_done <= w[1].files_done),
            "job {i}: progress went backwards"
        );
        let last = progress.last().unwrap();
        assert_eq!(
            (last.bytes_done, last.files_done),
            (backup.bytes, backup.files),
            "job {i}"
        );
        assert_eq!(phases(events).last(), Some(&Phase::Done), "job {i}");
        assert!(
            restored(phone) == backup.expected,
            "job {i}: restored files differ"
        );
    }
    assert_eq!(tree_hashes(&backups).unwrap(), before);
}

#[test]
fn a_phone_unplugged_mid_transfer_is_waited_for_then_restored_from_the_start() {
    let station = Station::new();
    let backups = station.rig.dir.path().join("backups");
    let backup = Backup::make(&backups, "00008110-001A2B3C4D5E6F70", 8, 384 * 1024, 3);
    let before = tree_hashes(&backups).unwrap();
    // A slow cable, so the transfer is still going when the test pulls the plug.
    let (phone, device) = station.phone(|c| c.faults.push(Fault::SlowLink { mb_per_s: 4 }));
    let name = device.name.clone().unwrap_or_default();

    let (events, keep) = recorder();
    let (transferring_tx, transferring) = mpsc::channel();
    let transferring_tx = Mutex::new(Some(transferring_tx));
    let seen = move |e: &JobEvent| {
        keep(e);
        // Past the four description files: the backup's own files are flowing.
        if let JobEvent::Progress { progress, .. } = e
            && progress.files_done >= 6
            && let Some(tx) = transferring_tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    };
    let udid = phone.udid().to_owned();
    let job = std::thread::scope(|scope| {
        let job = scope.spawn(|| station.run_job("unplugged job", device, &backup.dir, seen));

        transferring
            .recv_timeout(WAIT)
            .expect("the transfer never got going");
        assert_eq!(
            phone.control(ControlCommand::Unplug).as_deref(),
            Ok("unplugged")
        );
        let deadline = Instant::now() + WAIT;
        while !phases(&events.lock().unwrap()).contains(&Phase::WaitingForPhone) {
            assert!(
                Instant::now() < deadline,
                "the job never waited for the phone"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Still away: the job waits, it does not restart on its own.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(station.ctx.presence.generation(&udid), None);
        assert_eq!(station.confirmations.load(Ordering::SeqCst), 0);
        assert_eq!(
            phone.control(ControlCommand::Plug).as_deref(),
            Ok("plugged")
        );
        job.join().unwrap()
    });

    assert!(job.ok, "{:?}", job.error);
    assert!(job.restarts >= 1, "{job:?}");
    assert_eq!(
        station.confirmations.load(Ordering::SeqCst),
        job.restarts as usize
    );
    let events = events.lock().unwrap();
    let lost = events.iter().find_map(|e| match e {
        JobEvent::Lost {
            what_happened,
            what_next,
            ..
        } => Some((what_happened, what_next)),
        _ => None,
    });
    let (what_happened, what_next) = lost.expect("the loss was reported");
    assert!(what_happened.contains(&name), "{what_happened}");
    assert!(
        what_next.contains("Plug the same iPhone back in"),
        "{what_next}"
    );
    let order = phases(&events);
    let back = events
        .iter()
        .position(|e| *e == JobEvent::Back { resumed: false })
        .expect("the restart was announced");
    let waiting_event = events
        .iter()
        .position(|e| {
            *e == JobEvent::Phase {
                phase: Phase::WaitingForPhone,
            }
        })
        .unwrap();
    assert!(waiting_event < back, "{order:?}");
    // After the (last) wait, the restore ran again from the start and finished.
    let waiting = order
        .iter()
        .rposition(|p| *p == Phase::WaitingForPhone)
        .unwrap();
    assert_eq!(
        &order[waiting + 1..],
        [
            Phase::Preparing,
            Phase::Transferring,
            Phase::Finishing,
            Phase::Done
        ],
        "{order:?}"
    );
    assert!(restored(&phone) == backup.expected, "restored files differ");
    assert_eq!(tree_hashes(&backups).unwrap(), before);
}
