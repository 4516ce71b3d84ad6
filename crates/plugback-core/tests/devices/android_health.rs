//! Plugback's sync client and the Android link probe against the simulated phone,
//! attached to a private adb server with `adb connect`.

use plugback_core::cancel::CancelToken;
use plugback_core::device::DeviceError;
use plugback_core::device::android::probe::{PROBE_DIR, probe};
use plugback_core::device::android::sync::SyncClient;
use plugback_core::device::android::{self};
use plugback_core::device::health::ProbePlan;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::peers::AdbServer;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// The longest a probe in these tests may take before the test calls it a hang.
const PROBE_DEADLINE: Duration = Duration::from_secs(60);

/// A simulated phone with `faults`, attached to `adb` and ready.
pub(super) fn attached_phone(
    adb: &AdbServer,
    faults: &[&str],
) -> (tempfile::TempDir, SimAndroid, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.faults = faults.iter().map(|f| f.parse().unwrap()).collect();
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let serial = sim.address().to_string();
    adb.attach(&serial);
    (dir, sim, serial)
}

pub(super) fn core_server(adb: &AdbServer) -> android::AdbServer {
    // No adb program for it to start: once the test's private server is stopped, a
    // watcher still reconnecting must not start a real one with this machine's HOME.
    android::AdbServer::new(adb.port())
        .with_search_path("")
        .with_timeout(Duration::from_secs(5))
}

/// Runs the probe on a thread so that a hang fails the test instead of stalling it.
fn probe_within_deadline(
    server: &android::AdbServer,
    serial: &str,
    plan: ProbePlan,
) -> plugback_core::device::health::ProbeFigures {
    let (done, figures) = mpsc::channel();
    let server = server.clone();
    let serial = serial.to_string();
    std::thread::spawn(move || {
        let _ = done.send(probe(&server, &serial, &plan, &CancelToken::new()));
    });
    figures
        .recv_timeout(PROBE_DEADLINE)
        .expect("the probe neither finished nor gave up")
}

/// The probe's files (and any partial upload) left in the phone's /data/local/tmp.
fn probe_leftovers(data_dir: &Path) -> Vec<String> {
    let tmp = data_dir.join("data/local/tmp");
    std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("plugback-health-") || name.starts_with(".plugback-partial")
        })
        .collect()
}

#[test]
fn sync_client_sends_stats_and_receives_files_with_their_mode_and_mtime() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let server = core_server(&adb);
    let cancel = CancelToken::new();
    let mut sync = SyncClient::open(&server, &serial, &cancel).unwrap();

    let big: Vec<u8> = (0..200_003u32).map(|i| (i * 7 % 253) as u8).collect();
    let files: [(&str, &str, u32, u32, &[u8]); 3] = [
        (
            "/data/local/tmp/big.bin",
            "data/local/tmp/big.bin",
            0o100_666,
            1_600_000_000,
            &big,
        ),
        (
            "/data/local/tmp/made/on/the/way/hello.txt",
            "data/local/tmp/made/on/the/way/hello.txt",
            0o100_777,
            1_500_000_001,
            b"hello\n",
        ),
        (
            "/data/local/tmp/empty",
            "data/local/tmp/empty",
            0o100_666,
            1_400_000_002,
            b"",
        ),
    ];
    // One connection carries every request.
    for (phone_path, _, mode, mtime, bytes) in &files {
        sync.send_bytes(phone_path, *mode, *mtime, bytes).unwrap();
    }
    for (phone_path, stored_at, mode, mtime, bytes) in &files {
        assert_eq!(std::fs::read(dir.path().join(stored_at)).unwrap(), *bytes);
        let stat = sync.stat(phone_path).unwrap();
        assert_eq!(stat.mode, *mode, "{phone_path}: mode {:o}", stat.mode);
        assert_eq!(stat.mtime, *mtime, "{phone_path}");
        assert_eq!(stat.size as usize, bytes.len(), "{phone_path}");
        let mut back = Vec::new();
        assert_eq!(
            sync.recv(phone_path, &mut back).unwrap(),
            bytes.len() as u64
        );
        assert!(back == *bytes, "{phone_path}: read back differs");
    }

    // Shared storage: the file lands in the phone's shared storage, as a regular file
    // with the permissions Android gives every file there.
    sync.send_bytes(
        "/sdcard/Pictures/Trip/beach.jpg",
        0o100_644,
        1_650_000_000,
        b"jpeg",
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("sdcard/Pictures/Trip/beach.jpg")).unwrap(),
        b"jpeg"
    );
    let stat = sync
        .stat("/storage/emulated/0/Pictures/Trip/beach.jpg")
        .unwrap();
    assert!(stat.is_file(), "mode {:o}", stat.mode);
    assert_eq!(stat.mtime, 1_650_000_000);
    assert!(sync.stat("/data/local/tmp").unwrap().is_dir());
    assert!(!sync.stat("/data/local/tmp/nothing-here").unwrap().exists());
    sync.quit().unwrap();

    // The phone's refusals come back with its reason; each ends that connection.
    let mut sync = SyncClient::open(&server, &serial, &cancel).unwrap();
    match sync.recv("/sdcard/missing.txt", &mut Vec::new()) {
        Err(DeviceError::Refused { detail }) => {
            assert!(detail.contains("No such file or directory"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!sync.is_usable());
    let mut sync = SyncClient::open(&server, &serial, &cancel).unwrap();
    match sync.send_bytes("/system/evil", 0o100_644, 0, b"x") {
        Err(DeviceError::Refused { detail }) => {
            assert!(detail.contains("Read-only file system"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!dir.path().join("system/evil").exists());

    // A phone the server does not know.
    match SyncClient::open(&server, "no-such-phone", &cancel) {
        Err(DeviceError::Refused { detail }) => assert!(detail.contains("not found"), "{detail}"),
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("opened sync on a phone that does not exist"),
    }
}

#[test]
fn probe_measures_round_trips_and_a_payload_and_leaves_nothing_behind() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let server = core_server(&adb);
    let plan = ProbePlan {
        payload_bytes: 2 * 1024 * 1024,
        round_trips: 10,
    };
    let figures = probe_within_deadline(&server, &serial, plan);
    assert!(figures.errors.is_empty(), "{:?}", figures.errors);
    assert_eq!(figures.round_trips.len(), 10);
    assert_eq!(figures.payload_bytes, 2 * 1024 * 1024);
    assert!(figures.write.is_some());
    assert!(figures.read.is_some());
    assert_eq!(figures.intact, Some(true));
    assert!(figures.latency(0.5).is_some());
    assert!(figures.write_mb_per_s().is_some_and(|rate| rate > 0.0));
    assert!(figures.cleaned_up);
    assert_eq!(probe_leftovers(dir.path()), Vec::<String>::new());
    // The directory the probe writes into is still there.
    assert!(dir.path().join(PROBE_DIR.trim_start_matches('/')).is_dir());

    // A phone the server does not know: one error, nothing written.
    let figures = probe_within_deadline(&server, "no-such-phone", plan);
    assert_eq!(figures.errors.len(), 1, "{:?}", figures.errors);
    assert_eq!(figures.errors[0].code, "device-refused");
    assert!(figures.round_trips.is_empty());
    assert_eq!(figures.write, None);
    assert!(figures.cleaned_up);
}

#[test]
fn probe_on_a_slow_link_completes_intact() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &["slow-mbps=1"]);
    let server = core_server(&adb);
    let plan = ProbePlan {
        payload_bytes: 1024 * 1024,
        round_trips: 5,
    };
    let figures = probe_within_deadline(&server, &serial, plan);
    assert!(figures.errors.is_empty(), "{:?}", figures.errors);
    assert_eq!(figures.round_trips.len(), 5);
    assert_eq!(figures.intact, Some(true));
    assert!(figures.cleaned_up);
    assert_eq!(probe_leftovers(dir.path()), Vec::<String>::new());
    // A lower bound the simulator enforces (1 MiB at 1 MB/s), so a slow machine cannot
    // break it: it shows the write is timed until the phone has stored the bytes, not
    // until they left for the socket's buffers.
    let write = figures.write.unwrap();
    assert!(write >= Duration::from_millis(500), "write took {write:?}");
}

#[test]
fn probe_of_a_phone_unplugged_mid_transfer_records_the_error_and_returns() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    // The round trips carry a few hundred bytes; the cable goes during the payload.
    let (_dir, _sim, serial) = attached_phone(&adb, &["disconnect-after-bytes=300000"]);
    let server = core_server(&adb);
    let plan = ProbePlan {
        payload_bytes: 1024 * 1024,
        round_trips: 10,
    };
    let figures = probe_within_deadline(&server, &serial, plan);
    assert_eq!(figures.round_trips.len(), 10, "{figures:?}");
    assert_eq!(figures.errors.len(), 1, "{:?}", figures.errors);
    // The adb server hangs up on the sync connection as the phone leaves.
    assert_eq!(figures.errors[0].code, "device-io", "{:?}", figures.errors);
    assert!(
        figures.errors[0].message.contains("unplugged"),
        "{:?}",
        figures.errors
    );
    assert_eq!(figures.write, None);
    assert_eq!(figures.read, None);
    assert_eq!(figures.intact, None);
    // The phone is gone, so the file could not be removed.
    assert!(!figures.cleaned_up);
}

#[test]
fn probe_refused_mid_transfer_by_a_phone_that_stays_still_cleans_up() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    // Room for half the payload: the phone refuses the file part way through.
    config.free_bytes = 512 * 1024;
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let serial = sim.address().to_string();
    adb.attach(&serial);
    let server = core_server(&adb);
    let plan = ProbePlan {
        payload_bytes: 1024 * 1024,
        round_trips: 3,
    };
    let figures = probe_within_deadline(&server, &serial, plan);
    assert_eq!(figures.round_trips.len(), 3);
    assert_eq!(figures.errors.len(), 1, "{:?}", figures.errors);
    assert_eq!(figures.errors[0].code, "device-refused");
    assert!(
        figures.errors[0]
            .message
            .contains("No space left on device"),
        "{:?}",
        figures.errors
    );
    assert_eq!(figures.write, None);
    assert_eq!(figures.intact, None);
    // The phone is still there, so the removal ran and worked.
    assert!(figures.cleaned_up);
    assert_eq!(probe_leftovers(dir.path()), Vec::<String>::new());
}
