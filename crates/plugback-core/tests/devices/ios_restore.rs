//! The iPhone restore against the simulated iPhone (TCP usbmuxd on 127.0.0.1): whole
//! restores, a hostile phone, the phone's refusals, a pulled cable, a stall and a cancel.
//! Every test proves the backup unchanged by hashing it before and after.

use super::ios::Rig;
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, PairOutcome, Usbmuxd};
use plugback_core::restore::ios::{IosRestoreOptions, IosRestoreOutcome, RestoreTimeouts};
use plugback_core::restore::{Phase, RestoreError, RestoreEvent, Sink};
use plugback_core::secret::Password;
use plugback_sim::fault::Fault;
use plugback_sim::iphone::mobilebackup2::hostile;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimIphone};
use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use plugback_sim::tree_hashes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The folder name of every generated backup: the UDID of the phone it came from.
const SOURCE: &str = "00008110-001A2B3C4D5E6F70";
const PASSWORD: &str = "correct horse";

/// A paired simulated iPhone and a backup of another phone in `<dir>/backups/SOURCE`.
struct Bench {
    rig: Rig,
    phone: SimIphone,
    mux: Usbmuxd,
    backups: PathBuf,
    backup: PathBuf,
}

impl Bench {
    fn new(configure: impl FnOnce(&mut IphoneConfig), spec: impl FnOnce(&mut Spec)) -> Bench {
        let rig = Rig::new();
        let mut config = rig.config("phone");
        configure(&mut config);
        let phone = rig.add(config);
        let mux = rig.mux();
        let paired = run(ios::pair(
            &mux,
            phone.udid(),
            Duration::from_secs(30),
            &CancelToken::new(),
            |_| {},
        ))
        .unwrap();
        assert_eq!(paired, PairOutcome::Paired);
        let backups = rig.dir.path().join("backups");
        let backup = backups.join(SOURCE);
        let mut made = Spec::new(Kind::Ios);
        made.kdf_cost = KdfCost::Low;
        spec(&mut made);
        make_backup(&made, &backup).expect("the generator works");
        Bench {
            rig,
            phone,
            mux,
            backups,
            backup,
        }
    }

    fn restore(
        &self,
        options: &IosRestoreOptions,
        sink: &Sink,
        cancel: &CancelToken,
    ) -> Result<IosRestoreOutcome, RestoreError> {
        run(plugback_core::restore::ios::restore(
            &self.mux,
            self.phone.udid(),
            &self.backup,
            options,
            sink,
            cancel,
        ))
    }

    fn restored(&self) -> BTreeMap<String, Vec<u8>> {
        let dir = self.phone.phone().restored_dir();
        if dir.exists() {
            files_under(&dir).unwrap()
        } else {
            BTreeMap::new()
        }
    }

    /// Waits until usbmuxd lists the phone again (after a reboot or an unplug).
    fn wait_for_phone(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = run(ios::list(&self.mux, &CancelToken::new())).unwrap_or_default();
            if listed.iter().any(|d| d.id == self.phone.udid()) {
                return;
            }
            assert!(Instant::now() < deadline, "the phone did not come back");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Runs `work` with a deadline, so that a hang fails the test instead of blocking it.
fn run<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(120), work)
                .await
                .expect("the restore did not finish in time")
        })
}

/// Options for a quick test: short waits where a test expects a phone to stay quiet.
pub(super) fn options() -> IosRestoreOptions {
    IosRestoreOptions {
        timeouts: RestoreTimeouts {
            preparing: Duration::from_secs(30),
            stall_limit: Duration::from_secs(30),
            reboot_wait: Duration::from_secs(10),
        },
        ..Default::default()
    }
}

/// A sink that keeps every event.
fn recorder() -> (Sink, Arc<Mutex<Vec<RestoreEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let kept = events.clone();
    (Sink::new(move |e| kept.lock().unwrap().push(e)), events)
}

fn phases(events: &[RestoreEvent]) -> Vec<Phase> {
    events
        .iter()
        .filter_map(|e| match e {
            RestoreEvent::Phase { phase } => Some(*phase),
            _ => None,
        })
        .collect()
}

fn notes<'e>(events: &'e [RestoreEvent], code: &str) -> Vec<&'e str> {
    events
        .iter()
        .filter_map(|e| match e {
            RestoreEvent::Note { code: c, message } if *c == code => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

/// Every regular file of the backup folder: how many, how many bytes.
fn folder_size(dir: &Path) -> (u64, u64) {
    let hashes = tree_hashes(dir).unwrap();
    let bytes = hashes
        .keys()
        .map(|rel| std::fs::metadata(dir.join(rel)).unwrap().len())
        .sum();
    (hashes.len() as u64, bytes)
}

fn assert_whole_restore(bench: &Bench, password: Option<&str>) {
    let before = tree_hashes(&bench.backups).unwrap();
    let (sink, events) = recorder();
    let mut options = options();
    options.password = password.map(Password::new);
    let outcome = bench
        .restore(&options, &sink, &CancelToken::new())
        .expect("the restore succeeds");

    let expected = expected_files(&bench.backup, password).unwrap();
    assert!(expected.len() > 10, "the backup has files");
    assert_eq!(bench.restored(), expected);
    // Every file of the backup folder went over: the phone's files and the 4 plists/db.
    let (files, bytes) = folder_size(&bench.backup);
    assert_eq!(outcome.files_sent, expected.len() as u64 + 4);
    assert_eq!(outcome.files_sent, files);
    assert_eq!(outcome.bytes_sent, bytes);
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert!(outcome.rebooted, "the phone reboots after a restore");
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);

    let events = events.lock().unwrap();
    assert_eq!(
        phases(&events),
        [Phase::Preparing, Phase::Transferring, Phase::Finishing]
    );
    let last = events
        .iter()
        .rev()
        .find_map(|e| match e {
            RestoreEvent::Progress(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(last.bytes_done, bytes);
    assert_eq!(last.files_done, files);
    assert_eq!(last.bytes_total, Some(bytes));
    assert!(last.phone_percent.is_some_and(|p| p > 0.0));
}

#[test]
fn a_plain_backup_is_restored_whole_and_left_unchanged() {
    let bench = Bench::new(|_| {}, |s| s.files = 12);
    assert_whole_restore(&bench, None);
}

#[test]
fn an_encrypted_backup_is_restored_with_its_password() {
    let bench = Bench::new(
        |_| {},
        |s| {
            s.password = Some(PASSWORD.into());
            s.files = 6;
        },
    );
    assert_whole_restore(&bench, Some(PASSWORD));
}

#[test]
fn a_hostile_phone_gets_nothing_from_outside_the_backup() {
    let bench = Bench::new(|c| c.faults.push(Fault::HostilePaths), |_| {});
    // `<SRC>/../../name` from the backup root: the folder above `backups/`.
    let canary = b"PLUGBACK-CANARY-7f3a9c51e2";
    let above = bench.rig.dir.path().join(hostile::PARENT_NAME);
    std::fs::write(&above, canary).unwrap();
    // Beside the backup, reached through a link inside it.
    let beside = bench.backups.join("canary-beside.txt");
    std::fs::write(&beside, canary).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&beside, bench.backup.join(hostile::LINK_NAME)).unwrap();
    let before = tree_hashes(&bench.backups).unwrap();

    let (sink, events) = recorder();
    let err = bench
        .restore(&options(), &sink, &CancelToken::new())
        .expect_err("a hostile phone's restore fails");
    assert_eq!(err.code(), "restore-unsafe-path", "{err}");
    {
        let events = events.lock().unwrap();
        let refused = notes(&events, "restore-unsafe-path");
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert!(refused.iter().all(|n| !n.contains("PLUGBACK-CANARY")));
    }

    // The phone writes what the host answered, then how it reacted to the oversized frame.
    let report_path = bench.phone.phone().data_dir().join(hostile::REPORT_NAME);
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let report: Option<serde_json::Value> = std::fs::read(&report_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if let Some(report) = report
            && report["oversized_frame"]["outcome"] != "not sent"
        {
            break report;
        }
        assert!(Instant::now() < deadline, "no final hostile report");
        std::thread::sleep(Duration::from_millis(100));
    };
    let requests = report["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 4);
    for request in requests {
        assert_eq!(request["outcome"], "refused", "{request}");
        assert_eq!(request["bytes_sent"], 0, "{request}");
    }
    assert_eq!(
        report["oversized_frame"]["outcome"],
        "host closed the connection"
    );
    let text = std::fs::read_to_string(&report_path).unwrap();
    assert!(!text.contains("PLUGBACK-CANARY"));
    for content in bench.restored().values() {
        assert!(!content.windows(canary.len()).any(|w| w == canary));
    }
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);
    assert_eq!(std::fs::read(&above).unwrap(), canary);
}

#[test]
fn find_my_is_mb_211_and_the_next_restore_takes_the_lock_again() {
    let bench = Bench::new(|c| c.find_my = true, |_| {});
    let before = tree_hashes(&bench.backups).unwrap();
    let err = bench
        .restore(&options(), &Sink::discard(), &CancelToken::new())
        .expect_err("Find My blocks the restore");
    assert_eq!(err.code(), "mb-211", "{err}");
    assert!(matches!(err, RestoreError::PhoneRefused { code: 211, .. }));

    // Right after a failure, the sync lock is free again.
    bench.phone.phone().update(|c| c.find_my = false);
    let outcome = bench
        .restore(&options(), &Sink::discard(), &CancelToken::new())
        .expect("the second restore succeeds");
    assert!(outcome.files_sent > 4);
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);
}

#[test]
fn a_wrong_password_is_mb_207() {
    let bench = Bench::new(|_| {}, |s| s.password = Some(PASSWORD.into()));
    let mut options = options();
    options.password = Some(Password::new("not the password"));
    let err = bench
        .restore(&options, &Sink::discard(), &CancelToken::new())
        .expect_err("the phone refuses a wrong password");
    assert_eq!(err.code(), "mb-207", "{err}");
    assert!(!err.to_string().contains("not the password"));
}

#[test]
fn an_unplugged_phone_is_lost_at_once_and_a_later_restore_succeeds() {
    let bench = Bench::new(
        |c| {
            c.faults.push(Fault::DisconnectAtPercent {
                percent: 40,
                back_after: Some(Duration::from_millis(500)),
            })
        },
        |s| s.files = 24,
    );
    let before = tree_hashes(&bench.backups).unwrap();
    let err = bench
        .restore(&options(), &Sink::discard(), &CancelToken::new())
        .expect_err("the phone was unplugged");
    assert!(matches!(err, RestoreError::PhoneLost { .. }), "{err}");
    assert_eq!(err.code(), "restore-phone-lost");

    bench.wait_for_phone();
    bench
        .restore(&options(), &Sink::discard(), &CancelToken::new())
        .expect("the restore succeeds once the phone is back");
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);
}

#[test]
fn a_stalled_phone_is_restore_stalled() {
    let bench = Bench::new(
        |c| {
            c.faults.push(Fault::StallAfterBytes {
                bytes: 400_000,
                stall: Duration::from_secs(60),
            })
        },
        |s| s.files = 24,
    );
    let before = tree_hashes(&bench.backups).unwrap();
    let mut options = options();
    options.timeouts.preparing = Duration::from_secs(2);
    options.timeouts.stall_limit = Duration::from_secs(2);
    let err = bench
        .restore(&options, &Sink::discard(), &CancelToken::new())
        .expect_err("the phone stalled");
    assert_eq!(err.code(), "restore-stalled", "{err}");
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);
}

#[test]
fn a_cancel_ends_the_restore_and_lets_go_of_the_phone() {
    let bench = Bench::new(|_| {}, |s| s.files = 24);
    let before = tree_hashes(&bench.backups).unwrap();
    let cancel = CancelToken::new();
    let on_progress = cancel.clone();
    let sink = Sink::new(move |event| {
        if matches!(event, RestoreEvent::Progress(_)) {
            on_progress.cancel();
        }
    });
    let err = bench
        .restore(&options(), &sink, &cancel)
        .expect_err("the restore was cancelled");
    assert!(matches!(err, RestoreError::Cancelled), "{err}");

    bench
        .restore(&options(), &Sink::discard(), &CancelToken::new())
        .expect("a restore after a cancel takes the lock again");
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    assert_eq!(tree_hashes(&bench.backups).unwrap(), before);
}
