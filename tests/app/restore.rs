//! The restore wizard in the real window, against the simulated iPhone: choose, check,
//! confirm, watch it run, and find every file of the backup on the phone; a cable pulled
//! mid-restore and a wrong password.

use super::{PATIENCE, adb_client, usbmuxd_at, window};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use plugback::gui::test_restore::TestRestoreStatus;
use plugback::gui::{AppConfig, PlugbackApp};
use plugback_core::backup::{BackupKind, catalog};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, PairOutcome};
use plugback_core::device::snapshot::Sources;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::ControlCommand;
use plugback_sim::fault::Fault;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimIphone, SimUsbmuxd, UsbmuxdAddr};
use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use plugback_sim::peers::{AdbServer, free_port};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A simulated usbmuxd with one paired iPhone whose backup is in `dir/backups`, and the
/// window watching them.
pub(crate) struct Bench {
    _dir: tempfile::TempDir,
    _mux: SimUsbmuxd,
    iphone: SimIphone,
    backup: PathBuf,
    pub(crate) harness: Harness<'static, PlugbackApp>,
}

pub(crate) const PHONE: &str = "Kitchen iPhone";

/// A simulated Android phone on a private adb server, with its own backup folder.
struct Android {
    adb: AdbServer,
    _sim: SimAndroid,
    /// The phone's storage: each phone path lives under it.
    data: PathBuf,
    backup: PathBuf,
}

impl Android {
    /// None (with a notice) where adb is not installed.
    fn start(dir: &Path, backups: &Path) -> Option<Android> {
        let adb = AdbServer::start()?;
        let mut spec = Spec::new(Kind::AndroidFolder);
        spec.files = 12;
        let made = make_backup(&spec, &backups.join("pixel")).unwrap();
        let serial = catalog::summarize(&made.path, BackupKind::AndroidFolder)
            .unwrap()
            .device_id
            .expect("the backup names its phone");
        let data = dir.join("android");
        let mut phone = AndroidConfig::new(data.clone());
        phone.serial = serial;
        let sim = SimAndroid::start(phone, "127.0.0.1:0".parse().unwrap()).unwrap();
        adb.attach(&sim.address().to_string());
        Some(Android {
            adb,
            _sim: sim,
            data,
            backup: made.path,
        })
    }

    fn on_phone(&self, phone_path: &str) -> Vec<u8> {
        std::fs::read(self.data.join(phone_path.trim_start_matches('/'))).unwrap_or_default()
    }
}

impl Bench {
    pub(crate) fn new(password: Option<&str>, change: impl FnOnce(&mut IphoneConfig)) -> Bench {
        Self::with_android(password, change, false, None).0
    }

    /// The same bench in the same folder with the same (unused) adb port every time, so
    /// that snapshots of the window show the same words: the backup's location and the
    /// adb server's address are on screen.
    pub(crate) fn for_snapshots() -> Bench {
        let dir = std::path::Path::new("/tmp/plugback-snapshots");
        // Left by a run that was killed; nothing else uses this folder.
        let _ = std::fs::remove_dir_all(dir);
        let dir = tempfile::Builder::new()
            .prefix("plugback-snapshots")
            .rand_bytes(0)
            .tempdir_in("/tmp")
            .expect("the snapshots' folder");
        // Port 1: nothing listens there, so the window says adb is not running.
        Self::in_dir(dir, None, |_| {}, false, None, Some(1)).0
    }

    /// With an Android phone too, when `android` and adb is installed; `files` (count,
    /// size) for a bigger iPhone backup.
    fn with_android(
        password: Option<&str>,
        change: impl FnOnce(&mut IphoneConfig),
        android: bool,
        files: Option<(usize, u64)>,
    ) -> (Bench, Option<Android>) {
        let dir = tempfile::tempdir().unwrap();
        Self::in_dir(dir, password, change, android, files, None)
    }

    fn in_dir(
        dir: tempfile::TempDir,
        password: Option<&str>,
        change: impl FnOnce(&mut IphoneConfig),
        android: bool,
        files: Option<(usize, u64)>,
        adb_port: Option<u16>,
    ) -> (Bench, Option<Android>) {
        let backups = dir.path().join("backups");
        let mut spec = Spec::new(Kind::Ios);
        spec.kdf_cost = KdfCost::Low;
        spec.password = password.map(str::to_owned);
        spec.device_name = PHONE.to_owned();
        if let Some((count, size)) = files {
            spec.files = count;
            spec.file_size = size;
        }
        let made = make_backup(&spec, &backups.join("kitchen")).unwrap();
        let udid = catalog::summarize(&made.path, BackupKind::Ios)
            .unwrap()
            .device_id
            .expect("the backup names its phone");

        let mux = SimUsbmuxd::start(
            UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            &dir.path().join("usbmuxd"),
        )
        .unwrap();
        let mut phone = IphoneConfig::new(dir.path().join("iphone"));
        phone.udid = udid;
        phone.name = PHONE.to_owned();
        change(&mut phone);
        let iphone = mux.add_iphone(phone).unwrap();
        let address = mux.address().to_string();
        let paired = ios::block_on(ios::pair(
            &usbmuxd_at(&address),
            iphone.udid(),
            PATIENCE,
            &CancelToken::new(),
            |_| {},
        ));
        assert!(matches!(paired, Ok(PairOutcome::Paired)), "{paired:?}");

        let android = android
            .then(|| Android::start(dir.path(), &backups))
            .flatten();
        let adb_port = android
            .as_ref()
            .map(|a| a.adb.port())
            .or(adb_port)
            .unwrap_or_else(free_port);
        let mut config = AppConfig::only(vec![backups]);
        config.phones = Some(Sources {
            usbmuxd: Ok(usbmuxd_at(&address)),
            adb: adb_client(adb_port, dir.path()),
        });
        let mut harness = window(config);
        wait_for(&mut harness, "the phone's card", |h| {
            h.query_by_label(&format!("Phone: {PHONE}")).is_some()
        });
        wait_for(&mut harness, "the phone ready to restore to", |h| {
            h.query_by_label(&format!("Restore to {PHONE}…")).is_some()
        });
        let bench = Bench {
            _dir: dir,
            _mux: mux,
            iphone,
            backup: made.path,
            harness,
        };
        (bench, android)
    }

    /// Opens the wizard from the phone's card: this phone's backup is suggested.
    pub(crate) fn open_wizard(&mut self) {
        press(&mut self.harness, &format!("Restore to {PHONE}…"));
        assert!(
            self.harness
                .query_by_label(&format!("Restore to {PHONE}"))
                .is_some()
        );
        assert!(
            self.harness
                .query_by_label_contains("most recent of this phone")
                .is_some(),
            "the phone's own backup is suggested"
        );
    }

    /// From the checklist to the running restore.
    fn pass_checks_and_start(&mut self) {
        wait_for(&mut self.harness, "the checklist", |h| {
            h.query_by_label("Check again").is_some()
        });
        assert!(
            self.harness.query_by_label("Must fix").is_none(),
            "nothing blocks this restore"
        );
        press(&mut self.harness, "Next");
        wait_for(&mut self.harness, "the options", |h| {
            h.query_by_label_contains(": Options").is_some()
        });
        press(&mut self.harness, "Next");
        wait_for_label(&mut self.harness, "Start restore");
        press(&mut self.harness, "Start restore");
    }

    fn restored(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        files_under(&self.iphone.phone().restored_dir()).unwrap()
    }
}

/// The restore windows keep repainting (spinners, the progress bar), so they never
/// settle: these step the window a few frames instead, then check every control has an
/// accessible name, as settling would.
pub(crate) fn press(harness: &mut Harness<'static, PlugbackApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(4);
    harness.check_accessibility();
}

pub(crate) fn wait_for(
    harness: &mut Harness<'static, PlugbackApp>,
    what: &str,
    done: impl Fn(&Harness<'static, PlugbackApp>) -> bool,
) {
    let started = Instant::now();
    while !done(harness) {
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {what} after {PATIENCE:?}; flows: {:?}",
            harness
                .state()
                .state()
                .restores
                .flows
                .iter()
                .map(|f| (
                    f.step,
                    &f.password_check,
                    f.run.as_ref().map(|r| (r.phase, r.report.clone()))
                ))
                .collect::<Vec<_>>()
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.run_steps(2);
    harness.check_accessibility();
}

fn wait_for_label(harness: &mut Harness<'static, PlugbackApp>, label: &str) {
    wait_for(harness, label, |h| h.query_by_label(label).is_some());
}

/// Replaces what the password field holds with `text`.
fn type_password(harness: &mut Harness<'static, PlugbackApp>, text: &str) {
    harness.get_by_label("Backup password").focus();
    harness.run_steps(2);
    harness
        .get_by_label("Backup password")
        .set_text_value_accesskit(text);
    harness.run_steps(2);
}

fn hashes(path: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    plugback_sim::tree_hashes(path).unwrap()
}

#[test]
fn the_wizard_restores_the_suggested_backup_and_the_phone_gets_every_file() {
    let mut bench = Bench::new(None, |_| {});
    let before = hashes(&bench.backup);
    bench.open_wizard();
    assert!(
        bench
            .harness
            .query_by_label("Step 1 of 5: Phone and backup")
            .is_some()
    );
    press(&mut bench.harness, "Next");
    bench.pass_checks_and_start();
    wait_for_label(&mut bench.harness, "Restore finished");
    assert!(
        bench
            .harness
            .query_by_label_contains("The iPhone now restarts")
            .is_some()
    );
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    assert_eq!(hashes(&bench.backup), before, "the backup changed");
    press(&mut bench.harness, "Close");
    // The iPhone restarts after the restore, then its card offers a new one.
    wait_for_label(&mut bench.harness, &format!("Restore to {PHONE}…"));
}

#[test]
fn a_cable_pulled_mid_restore_shows_the_overlay_and_the_restore_starts_again() {
    let mut bench = Bench::new(None, |phone| {
        // Unplugged at 30 %, and it stays out until the test plugs it back in.
        phone.faults.push(Fault::DisconnectAtPercent {
            percent: 30,
            back_after: None,
        });
    });
    let before = hashes(&bench.backup);
    bench.open_wizard();
    press(&mut bench.harness, "Next");
    bench.pass_checks_and_start();
    wait_for(&mut bench.harness, "the overlay", |h| {
        h.query_by_label("Plug the phone back in").is_some()
    });
    assert!(
        bench
            .harness
            .query_by_label("Waiting for the phone…")
            .is_some()
    );

    bench.iphone.control(ControlCommand::Plug).unwrap();
    // An iPhone is restored again from the start, once the person agrees.
    wait_for_label(&mut bench.harness, "Start again");
    assert!(
        bench
            .harness
            .query_by_label(&format!("{PHONE} is back"))
            .is_some()
    );
    press(&mut bench.harness, "Start again");
    wait_for_label(&mut bench.harness, "Restore finished");
    assert!(
        bench
            .harness
            .query_by_label_contains("started again 1 time(s)")
            .is_some()
    );
    assert!(
        bench
            .harness
            .query_by_label("Plug the phone back in")
            .is_none()
    );
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    assert_eq!(hashes(&bench.backup), before, "the backup changed");
}

#[test]
fn a_wrong_password_is_refused_before_the_checks_and_the_right_one_restores() {
    let mut bench = Bench::new(Some("kitchen-table"), |_| {});
    let before = hashes(&bench.backup);
    bench.open_wizard();
    assert!(
        bench
            .harness
            .query_by_label("Step 1 of 6: Phone and backup")
            .is_some()
    );
    press(&mut bench.harness, "Next");
    wait_for_label(&mut bench.harness, "Step 2 of 6: Password");

    type_password(&mut bench.harness, "wrong guess");
    press(&mut bench.harness, "Check password");
    wait_for(&mut bench.harness, "the refusal", |h| {
        h.query_by_label_contains("This password does not open the backup")
            .is_some()
    });
    assert!(bench.harness.query_by_label("Next").is_none(), "no way on");
    let restored_dir = bench.iphone.phone().restored_dir();
    assert!(
        !restored_dir.exists() || bench.restored().is_empty(),
        "nothing reached the phone"
    );

    type_password(&mut bench.harness, "kitchen-table");
    press(&mut bench.harness, "Check password");
    wait_for_label(&mut bench.harness, "The password opens the backup.");
    press(&mut bench.harness, "Next");
    bench.pass_checks_and_start();
    wait_for_label(&mut bench.harness, "Restore finished");
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, Some("kitchen-table")).unwrap()
    );
    assert_eq!(hashes(&bench.backup), before, "the backup changed");
}

#[test]
fn two_phones_are_restored_at_once_each_with_its_own_progress() {
    let (mut bench, android) = Bench::with_android(
        None,
        |phone| {
            // A slow cable: the iPhone's 20 MB take about twenty seconds, so both restores
            // are running together.
            phone.faults.push(Fault::SlowLink { mb_per_s: 1 });
        },
        true,
        Some((40, 512 * 1024)),
    );
    let Some(android) = android else {
        return;
    };
    let before = (hashes(&bench.backup), hashes(&android.backup));
    wait_for_label(&mut bench.harness, "Restore to Pixel 8…");

    bench.open_wizard();
    press(&mut bench.harness, "Next");
    bench.pass_checks_and_start();
    wait_for(&mut bench.harness, "the iPhone's restore to run", |h| {
        h.query_by_label_contains("Restoring:").is_some()
    });

    press(&mut bench.harness, "Restore to Pixel 8…");
    assert!(bench.harness.query_by_label("Restore to Pixel 8").is_some());
    assert!(
        bench
            .harness
            .query_by_label_contains("most recent of this phone")
            .is_some(),
        "the Android phone's own backup is suggested by its serial number"
    );
    press(&mut bench.harness, "Next");
    bench.pass_checks_and_start();
    wait_for(&mut bench.harness, "both restores running", |h| {
        let flows = &h.state().state().restores.flows;
        flows.len() == 2 && flows.iter().all(|f| f.is_running())
    });
    // Each phone's card follows its own restore.
    assert_eq!(
        bench
            .harness
            .query_all_by_label_contains("Restoring:")
            .count(),
        2
    );

    wait_for(&mut bench.harness, "both restores to finish", |h| {
        h.query_all_by_label("Restore finished").count() == 2
    });
    assert_eq!(
        bench.restored(),
        expected_files(&bench.backup, None).unwrap()
    );
    let plan =
        plugback_core::restore::android::FilePlan::from_backup_folder(&android.backup).unwrap();
    for item in &plan.items {
        assert_eq!(
            android.on_phone(&item.phone_path),
            std::fs::read(&item.local).unwrap(),
            "{}",
            item.phone_path
        );
    }
    assert_eq!(
        (hashes(&bench.backup), hashes(&android.backup)),
        before,
        "a backup changed"
    );
}

/// Test-restore from the backup's details: restored into a simulated phone inside
/// Plugback, every file compared, and the backup left as it was.
#[test]
fn test_restore_from_the_details_restores_intact_and_leaves_the_backup_as_it_was() {
    let mut bench = Bench::new(None, |_| {});
    let before = files_under(&bench.backup).unwrap();
    let files = before.len();
    select_backup(&mut bench.harness);
    press(&mut bench.harness, "Test-restore");
    wait_for_label(&mut bench.harness, "Restored intact");
    let Some(TestRestoreStatus::Done(report)) = bench
        .harness
        .state()
        .state()
        .test_restores
        .get(&bench.backup)
        .map(|run| run.status.clone())
    else {
        panic!("the test-restore did not finish");
    };
    assert!(report.ok && report.files_expected > 0, "{report:?}");
    assert_eq!(report.files_intact, report.files_expected);
    let said = format!("{0} of {0} files arrived intact", report.files_expected);
    assert!(
        bench.harness.query_by_label_contains(&said).is_some(),
        "{said}"
    );
    assert!(files > 0);
    assert_eq!(
        files_under(&bench.backup).unwrap(),
        before,
        "the backup is unchanged"
    );
}

/// The backup's row in the table (the phone's card has the same name; the table comes
/// last), then its details.
fn select_backup(harness: &mut Harness<'static, PlugbackApp>) {
    harness
        .query_all_by_label(PHONE)
        .last()
        .expect("the backup's row")
        .click();
    harness.run_steps(4);
    wait_for(harness, "the counts", |h| {
        h.query_all_by_label("Counting…").next().is_none()
    });
}

/// The table sorts by a column's title, and narrows to the phone plugged in.
#[test]
fn the_backups_table_sorts_by_a_column_and_keeps_to_the_phone_plugged_in() {
    let mut bench = Bench::new(None, |_| {});
    let backups = bench.backup.parent().unwrap().to_path_buf();
    let mut other = Spec::new(Kind::Ios);
    other.kdf_cost = KdfCost::Low;
    other.device_name = "Another iPhone".to_owned();
    // Another seed, another phone (its identifier comes from the seed).
    other.seed = 7;
    // Older than the bench's backup, so newest first puts it second.
    other.date_unix -= 86_400;
    make_backup(&other, &backups.join("another")).unwrap();
    press(&mut bench.harness, "Rescan");
    wait_for_label(&mut bench.harness, "Another iPhone");

    let top = |h: &Harness<'static, PlugbackApp>, label: &str| {
        h.query_all_by_label(label).last().unwrap().rect().min.y
    };
    assert!(top(&bench.harness, PHONE) < top(&bench.harness, "Another iPhone"));
    // By date, oldest first now.
    press(&mut bench.harness, "Date");
    assert!(top(&bench.harness, "Another iPhone") < top(&bench.harness, PHONE));

    press(&mut bench.harness, "Only backups of the phones plugged in");
    assert!(bench.harness.query_by_label("Another iPhone").is_none());
    assert!(
        bench.harness.query_all_by_label(PHONE).count() >= 2,
        "its card and its backup"
    );
}
