//! The Android file restore against the simulated phone, through a private real adb
//! server: backup folders and plain folders, selective restores, resume after an unplug,
//! many small files, cancel and stalls. Every backup is hashed before and after: a restore
//! only ever reads it.

use super::android_health::{attached_phone, core_server};
use plugback_core::cancel::CancelToken;
use plugback_core::device::android;
use plugback_core::restore::android::{
    FilePlan, FilesOutcome, MediaRescan, TransferSettings, restore_files_with,
};
use plugback_core::restore::{Phase, RestoreError, RestoreEvent, Sink};
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::peers::{AdbServer, UP_DEADLINE};
use plugback_sim::tree_hashes;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// The longest a restore in these tests may take before the test calls it a hang.
const RESTORE_DEADLINE: Duration = Duration::from_secs(120);

/// A generated Plugback Android backup folder with `files` extra files of `size` bytes.
fn backup(files: usize, size: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup");
    let mut spec = Spec::new(Kind::AndroidFolder);
    spec.files = files;
    spec.file_size = size;
    make_backup(&spec, &out).unwrap();
    (dir, out)
}

/// What a restore returned, and every event it reported.
struct Run {
    result: Result<FilesOutcome, RestoreError>,
    events: Vec<RestoreEvent>,
}

impl Run {
    fn outcome(self) -> FilesOutcome {
        match self.result {
            Ok(outcome) => outcome,
            Err(err) => panic!("the restore failed: {err} ({})", err.code()),
        }
    }

    fn saw_phase(&self, phase: Phase) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, RestoreEvent::Phase { phase: p } if *p == phase))
    }

    fn last_progress(&self) -> plugback_core::restore::Progress {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                RestoreEvent::Progress(p) => Some(p.clone()),
                _ => None,
            })
            .expect("no progress was reported")
    }

    fn notes(&self, code: &str) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RestoreEvent::Note { code: c, message } if *c == code => Some(message.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Runs the restore on a thread, so that a hang fails the test instead of stalling it.
/// `started` gets the first progress report with bytes done, for tests that act mid-way.
fn restore(
    server: &android::AdbServer,
    serial: &str,
    plan: &FilePlan,
    settings: TransferSettings,
    cancel: &CancelToken,
) -> Run {
    restore_watching(server, serial, plan, settings, cancel, |_| {})
}

fn restore_watching(
    server: &android::AdbServer,
    serial: &str,
    plan: &FilePlan,
    settings: TransferSettings,
    cancel: &CancelToken,
    on_event: impl Fn(&RestoreEvent) + Send + Sync + 'static,
) -> Run {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Sink::new(move |event| {
            on_event(&event);
            events.lock().unwrap().push(event);
        })
    };
    let (done, result) = mpsc::channel();
    let (server, serial, plan, cancel) = (
        server.clone(),
        serial.to_string(),
        plan.clone(),
        cancel.clone(),
    );
    std::thread::spawn(move || {
        let _ = done.send(restore_files_with(
            &server, &serial, &plan, &settings, &sink, &cancel,
        ));
    });
    let result = result
        .recv_timeout(RESTORE_DEADLINE)
        .expect("the restore neither finished nor gave up");
    let events = events.lock().unwrap().clone();
    Run { result, events }
}

/// Where the simulated phone keeps a phone path of its shared storage.
pub(super) fn on_phone(data_dir: &Path, phone_path: &str) -> PathBuf {
    let rest = phone_path
        .strip_prefix("/sdcard/")
        .or_else(|| phone_path.strip_prefix("/"))
        .unwrap();
    if phone_path.starts_with("/sdcard/") {
        data_dir.join("sdcard").join(rest)
    } else {
        data_dir.join(rest)
    }
}

fn mtime_of(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every file of the plan is on the phone with its bytes and its mtime; `label` names the
/// run in the messages.
pub(super) fn assert_on_phone(label: &str, data_dir: &Path, plan: &FilePlan) {
    for item in &plan.items {
        let there = on_phone(data_dir, &item.phone_path);
        let bytes = std::fs::read(&there)
            .unwrap_or_else(|e| panic!("{label}: {} is not on the phone ({e})", item.phone_path));
        assert!(
            bytes == std::fs::read(&item.local).unwrap(),
            "{label}: {}: the bytes differ",
            item.phone_path
        );
        assert_eq!(
            mtime_of(&there),
            u64::from(item.mtime),
            "{label}: {}: the mtime differs",
            item.phone_path
        );
    }
}

/// Files a cut-short upload could leave behind on the simulated phone.
fn partial_uploads(data_dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![data_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".plugback-partial")
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn a_backup_folder_is_restored_with_its_bytes_and_mtimes_and_stays_untouched() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let (_keep, backup) = backup(12, 70_000);
    let before = tree_hashes(&backup).unwrap();
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    assert_eq!(plan.file_count(), 20);
    let server = core_server(&adb);

    let run = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    assert!(run.saw_phase(Phase::Preparing) && run.saw_phase(Phase::Transferring));
    let last = run.last_progress();
    assert_eq!(last.files_done, 20);
    assert_eq!(last.files_total, Some(20));
    assert_eq!(last.bytes_total, Some(plan.bytes_total()));
    assert_eq!(last.bytes_done, plan.bytes_total());
    let outcome = run.outcome();
    assert_eq!((outcome.sent, outcome.skipped), (20, 0));
    assert_eq!(outcome.bytes_sent, plan.bytes_total());
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_on_phone("restore", dir.path(), &plan);
    // Shared storage shows every file as a regular rw-rw---- file, whatever was sent.
    for item in &plan.items {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(on_phone(dir.path(), &item.phone_path)).unwrap();
        assert!(meta.is_file());
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o660,
            "{}",
            item.phone_path
        );
    }
    // The simulated phone has no `am`: the rescan was asked for (with the command an
    // Android 14 phone takes) and its failure is said, without failing the restore.
    match &outcome.media_rescan {
        MediaRescan::Failed { reason } => {
            assert!(reason.contains("am: inaccessible or not found"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tree_hashes(&backup).unwrap(), before, "the backup changed");

    // Run again: everything is there already, nothing is sent.
    let again = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    assert_eq!(again.notes("restore-files-already-there").len(), 1);
    let outcome = again.outcome();
    assert_eq!((outcome.sent, outcome.skipped), (0, 20));
    assert_eq!(outcome.bytes_skipped, plan.bytes_total());
    assert_eq!(tree_hashes(&backup).unwrap(), before, "the backup changed");
}

#[test]
fn a_plain_folder_lands_in_the_chosen_phone_folder_with_mtimes_and_modes() {
    use std::os::unix::fs::PermissionsExt;
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let copy = tempfile::tempdir().unwrap();
    let files = [
        ("2024/IMG_0001.jpg", 1_600_000_000u64, 0o644),
        ("2024/Trip/IMG_0002.jpg", 1_650_000_000, 0o600),
        ("video clip.mp4", 1_700_000_000, 0o755),
    ];
    for (i, (name, mtime, mode)) in files.iter().enumerate() {
        let path = copy.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![i as u8; 3000 + i]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(*mtime))
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    let before = tree_hashes(copy.path()).unwrap();
    let server = core_server(&adb);

    let plan = FilePlan::from_folder(copy.path(), "/sdcard/DCIM/Restored").unwrap();
    let outcome = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    )
    .outcome();
    assert_eq!(outcome.sent, 3);
    for (name, mtime, _) in files {
        let there = dir.path().join("sdcard/DCIM/Restored").join(name);
        assert_eq!(
            std::fs::read(&there).unwrap(),
            std::fs::read(copy.path().join(name)).unwrap()
        );
        assert_eq!(mtime_of(&there), mtime, "{name}");
    }

    // Outside shared storage the phone keeps the owner's permission bits (and copies
    // them to group and others), which shows the mode was sent.
    let plan = FilePlan::from_folder(copy.path(), "/data/local/tmp/restored").unwrap();
    let outcome = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    )
    .outcome();
    assert_eq!(outcome.sent, 3);
    assert_eq!(outcome.media_rescan, MediaRescan::NotAsked);
    for (name, _, mode) in files {
        let there = dir.path().join("data/local/tmp/restored").join(name);
        let owner = (mode >> 6) & 0o7;
        let expected = owner << 6 | owner << 3 | owner;
        let got = std::fs::metadata(&there).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, expected, "{name}: {got:o}");
    }
    assert_eq!(
        tree_hashes(copy.path()).unwrap(),
        before,
        "the folder changed"
    );
}

#[test]
fn a_selective_restore_sends_only_the_chosen_folder() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let (_keep, backup) = backup(4, 1000);
    let whole = FilePlan::from_backup_folder(&backup).unwrap();
    let plan = whole.clone().only(&["/sdcard/DCIM"]).unwrap();
    assert_eq!(plan.file_count(), 2);
    let server = core_server(&adb);
    let outcome = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    )
    .outcome();
    assert_eq!(outcome.sent, 2);
    assert_on_phone("restore", dir.path(), &plan);
    for item in whole
        .items
        .iter()
        .filter(|i| !i.phone_path.starts_with("/sdcard/DCIM/"))
    {
        assert!(
            !on_phone(dir.path(), &item.phone_path).exists(),
            "{} was sent",
            item.phone_path
        );
    }
}

#[test]
fn a_phone_unplugged_mid_restore_is_lost_and_the_same_restore_then_resumes() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    // About 5 MB to send. The phone takes the stream in messages of up to 1 MiB and the
    // cable goes as the one crossing 3 MB arrives: whatever the cut, the first 2 MB (the
    // 1 MiB photo first among them) are complete on the phone, and the last files are not.
    let (dir, _sim, serial) =
        attached_phone(&adb, &["disconnect-after-bytes=3000000,back-after-ms=500"]);
    let (_keep, backup) = backup(60, 65_536);
    let before = tree_hashes(&backup).unwrap();
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    let total = plan.file_count();
    let server = core_server(&adb);

    let run = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    match &run.result {
        Err(RestoreError::PhoneLost { detail }) => {
            assert!(detail.contains(&format!("of {total} files")), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    // Half-sent files never stay under their real names.
    assert_eq!(partial_uploads(dir.path()), Vec::<PathBuf>::new());

    reattach(&adb, &serial);
    let outcome = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    )
    .outcome();
    assert!(outcome.skipped > 0, "nothing was resumed: {outcome:?}");
    assert!(outcome.sent > 0, "nothing was left to send: {outcome:?}");
    assert_eq!(outcome.sent + outcome.skipped, total);
    assert_eq!(
        outcome.bytes_sent + outcome.bytes_skipped,
        plan.bytes_total()
    );
    assert_on_phone("restore", dir.path(), &plan);
    assert_eq!(tree_hashes(&backup).unwrap(), before, "the backup changed");
}

/// A plain folder of `count` files of `size` bytes ("f00.bin" …), each its own bytes.
fn plain_folder(count: usize, size: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..count {
        std::fs::write(dir.path().join(format!("f{i:02}.bin")), vec![i as u8; size]).unwrap();
    }
    dir
}

#[test]
fn a_refused_file_is_reported_and_the_others_still_arrive() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let copy = plain_folder(12, 5000);
    // A folder on the phone where one of the files should go: the phone refuses that
    // file, and ends that connection; the files sent behind it go again.
    std::fs::create_dir_all(dir.path().join("sdcard/Download/r/f03.bin")).unwrap();
    let plan = FilePlan::from_folder(copy.path(), "/sdcard/Download/r").unwrap();
    let server = core_server(&adb);
    let run = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    let notes = run.notes("restore-file-refused");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("/sdcard/Download/r/f03.bin"), "{notes:?}");
    let outcome = run.outcome();
    assert_eq!(outcome.sent, 11);
    assert_eq!(outcome.failed.len(), 1);
    let failed = &outcome.failed[0];
    assert_eq!(failed.phone_path, "/sdcard/Download/r/f03.bin");
    assert!(failed.reason.contains("Is a directory"), "{failed:?}");
    assert!(failed.by_phone);
    for item in plan
        .items
        .iter()
        .filter(|i| !i.phone_path.ends_with("f03.bin"))
    {
        assert_eq!(
            std::fs::read(on_phone(dir.path(), &item.phone_path)).unwrap(),
            std::fs::read(&item.local).unwrap()
        );
    }
}

#[test]
fn a_full_phone_stops_the_restore_and_says_so() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.free_bytes = 200_000;
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let serial = sim.address().to_string();
    adb.attach(&serial);
    let copy = plain_folder(10, 65_536);
    let plan = FilePlan::from_folder(copy.path(), "/sdcard/Download").unwrap();
    let server = core_server(&adb);
    let run = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    match &run.result {
        Err(err @ RestoreError::Device(_)) => {
            assert_eq!(err.code(), "device-refused");
            assert!(err.to_string().contains("storage is full"), "{err}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run.notes("restore-file-refused").len(), 1);
    // What fitted arrived whole; nothing half-sent stays.
    assert!(dir.path().join("sdcard/Download/f00.bin").is_file());
    assert_eq!(partial_uploads(dir.path()), Vec::<PathBuf>::new());
}

/// Waits for the simulated phone to be back after an unplug. adb 29 retries a dropped
/// network phone only every ten seconds or so; connecting afresh once the phone listens
/// again saves the wait.
fn reattach(adb: &AdbServer, serial: &str) {
    let deadline = Instant::now() + UP_DEADLINE;
    while Instant::now() < deadline {
        adb.run(&["disconnect", serial]);
        adb.connect(serial);
        let tried = Instant::now();
        while tried.elapsed() < Duration::from_secs(2) {
            if adb.state(serial).as_deref() == Some("device") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("{serial} did not come back");
}

#[test]
fn many_small_files_arrive_whole() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let (_keep, backup) = backup(2000, 1024);
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    let server = core_server(&adb);
    let outcome = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    )
    .outcome();
    assert_eq!(outcome.sent, plan.file_count());
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(
        tree_hashes(&dir.path().join("sdcard")).unwrap(),
        tree_hashes(&backup.join("files/sdcard")).unwrap()
    );
    assert_on_phone("restore", dir.path(), &plan);
}

#[test]
fn cancel_ends_a_restore_promptly() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    // 1 MB/s: the restore would take about half a minute.
    let (dir, _sim, serial) = attached_phone(&adb, &["slow-mbps=1"]);
    let (_keep, backup) = backup(30, 1_000_000);
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    let server = core_server(&adb);
    let cancel = CancelToken::new();
    let cancelled_at = Arc::new(Mutex::new(None));
    let run = {
        let cancel = cancel.clone();
        let cancelled_at = cancelled_at.clone();
        restore_watching(
            &server,
            &serial,
            &plan,
            TransferSettings::default(),
            &cancel.clone(),
            move |event| {
                if let RestoreEvent::Progress(p) = event
                    && p.bytes_done > 0
                    && !cancel.is_cancelled()
                {
                    cancel.cancel();
                    *cancelled_at.lock().unwrap() = Some(Instant::now());
                }
            },
        )
    };
    assert!(
        matches!(run.result, Err(RestoreError::Cancelled)),
        "{:?}",
        run.result
    );
    let cancelled_at = cancelled_at.lock().unwrap().expect("never cancelled");
    eprintln!(
        "the restore ended {:?} after the cancel",
        cancelled_at.elapsed()
    );
    // Nothing half-sent stays on the phone. A file already in flight when the cancel came
    // may still start on the phone and be dropped when the connection ends: wait until
    // none has been there for a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut clear_since: Option<Instant> = None;
    while Instant::now() < deadline
        && clear_since.is_none_or(|since| since.elapsed() < Duration::from_millis(500))
    {
        if partial_uploads(dir.path()).is_empty() {
            clear_since.get_or_insert_with(Instant::now);
        } else {
            clear_since = None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(partial_uploads(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_phone_that_stops_taking_bytes_is_a_stall() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_dir, _sim, serial) = attached_phone(&adb, &["stall-after-bytes=300000,ms=30000"]);
    let (_keep, backup) = backup(4, 4_000_000);
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    // The stall limit: how long the phone may stay silent.
    let server = core_server(&adb).with_timeout(Duration::from_secs(2));
    let run = restore(
        &server,
        &serial,
        &plan,
        TransferSettings::default(),
        &CancelToken::new(),
    );
    match run.result {
        Err(RestoreError::Stalled { after }) => assert_eq!(after, Duration::from_secs(2)),
        other => panic!("{other:?}"),
    }
}

/// Pipelined against one file at a time, on 2,000 files of 1 KiB: prints the median time
/// of the transfer itself (from the first SEND to the last answer) for each window.
/// `cargo test -p plugback-core --test devices pipelining_figure -- --ignored --nocapture`
#[test]
#[ignore = "a measurement, not a check"]
fn pipelining_figure() {
    const ROUNDS: usize = 5;
    const WINDOWS: [usize; 3] = [1, 8, 32];
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_keep, backup) = backup(2000, 1024);
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    let server = core_server(&adb);
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); WINDOWS.len()];
    // Rounds alternate the windows, so a busy moment of the machine hits them alike.
    for _ in 0..ROUNDS {
        for (slot, window) in WINDOWS.into_iter().enumerate() {
            let (_dir, _sim, serial) = attached_phone(&adb, &[]);
            let settings = TransferSettings {
                window,
                ..TransferSettings::default()
            };
            let marks = Arc::new(Mutex::new(Vec::new()));
            let run = {
                let marks = marks.clone();
                restore_watching(
                    &server,
                    &serial,
                    &plan,
                    settings,
                    &CancelToken::new(),
                    move |e| {
                        if let RestoreEvent::Phase { phase } = e {
                            marks.lock().unwrap().push((*phase, Instant::now()));
                        }
                    },
                )
            };
            assert_eq!(run.outcome().sent, plan.file_count());
            let marks = marks.lock().unwrap();
            let at = |phase| marks.iter().find(|(p, _)| *p == phase).unwrap().1;
            times[slot].push(at(Phase::Finishing) - at(Phase::Transferring));
        }
    }
    for (window, mut runs) in WINDOWS.into_iter().zip(times) {
        runs.sort();
        eprintln!(
            "window {window:>3}: median {:?} for {} files (all runs: {runs:?})",
            runs[ROUNDS / 2],
            plan.file_count()
        );
    }
}
