//! The real window, driven headless through its accessibility tree, against backups made
//! by the simulator. Each test gets its own folders and no settings file of the person's.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use plugback::gui::state::{Pairing, StatsState, VerifyStatus};
use plugback::gui::{AppConfig, PlugbackApp};
use plugback_core::device::android::AdbServer as AdbClient;
use plugback_core::device::ios::{MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::explain::explain;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use plugback_sim::make_backup::{Kind, Made, Spec, make_backup};
use plugback_sim::peers::{AdbServer, free_port};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;
/// Long enough for a slow, busy machine; a passing run takes a fraction of it.
const PATIENCE: Duration = Duration::from_secs(120);

fn ios(device: &str, date_unix: i64) -> Spec {
    let mut spec = Spec::new(Kind::Ios);
    spec.device_name = device.to_owned();
    spec.date_unix = date_unix;
    spec
}

fn make(root: &Path, name: &str, spec: &Spec) -> Made {
    make_backup(spec, &root.join(name)).expect("the simulator writes the backup")
}

fn window(config: AppConfig) -> Harness<'static, PlugbackApp> {
    Harness::builder()
        .with_size([1280.0, 900.0])
        // Grids and tables lay themselves out over a few frames when they first appear.
        .with_max_steps(32)
        .build_eframe(move |cc| PlugbackApp::new(cc, config))
}

/// Steps the window until `done` holds (background jobs report between steps), then lets
/// it settle, which also checks every control has an accessible name.
fn wait_for(
    harness: &mut Harness<'static, PlugbackApp>,
    what: &str,
    done: impl Fn(&Harness<'static, PlugbackApp>) -> bool,
) {
    let started = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "gave up waiting for {what} after {PATIENCE:?}; checks: {:#?}; pairing: {:#?}",
            harness.state().state().verifications,
            harness.state().state().phones.pairing
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.run();
}

fn wait_for_label(harness: &mut Harness<'static, PlugbackApp>, label: &str) {
    wait_for(harness, label, |h| h.query_by_label(label).is_some());
}

fn click(harness: &mut Harness<'static, PlugbackApp>, label: &str) {
    harness.get_by_label(label).click();
    harness.run();
}

/// Picks a backup and waits until its counts are shown.
fn select(harness: &mut Harness<'static, PlugbackApp>, device: &str) {
    click(harness, device);
    wait_for(harness, "the counts", |h| {
        h.query_all_by_label("Counting…").next().is_none()
    });
}

/// The first data file of an iPhone backup (in one of its `xx/` folders).
fn some_blob(root: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.len() == 2))
        .collect();
    dirs.sort();
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()))
        .find(|p| p.is_file())
        .expect("an iPhone backup has data files")
}

#[test]
fn lists_backups_newest_first_and_shows_details() {
    let dir = tempfile::tempdir().unwrap();
    let base = 1_795_600_800;
    make(dir.path(), "older", &ios("Older iPhone", base - 30 * DAY));
    let newer = make(dir.path(), "newer", &ios("Newer iPhone", base));
    // Looks like an iPhone backup but its description is garbage: listed with a reason.
    std::fs::create_dir(dir.path().join("broken")).unwrap();
    std::fs::write(dir.path().join("broken/Info.plist"), b"not a plist").unwrap();

    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Older iPhone");

    let top = |label: &str| harness.get_by_label(label).rect().min.y;
    assert!(
        top("Newer iPhone") < top("Older iPhone"),
        "most recent backup first"
    );
    assert!(
        harness
            .query_by_label("Found but could not be read")
            .is_some()
    );
    assert!(
        harness
            .query_by_label(&dir.path().join("broken").display().to_string())
            .is_some(),
        "the unreadable folder is named"
    );
    assert!(
        harness
            .query_by_label("Select a backup to see its details and check it.")
            .is_some()
    );

    click(&mut harness, "Newer iPhone");
    let location = newer.path.display().to_string();
    assert!(
        harness.query_by_label(&location).is_some(),
        "details show where it is"
    );
    assert!(harness.query_by_label("Verify").is_some());
    assert!(
        harness
            .query_by_label("Deep verify (reads every file)")
            .is_some()
    );
    assert!(
        harness.query_by_label("Backup password").is_none(),
        "no password asked for a plain backup"
    );

    // Counts arrive from the background, then show in the details.
    wait_for(&mut harness, "file counts", |h| {
        matches!(
            h.state().state().stats.get(&newer.path),
            Some(StatsState::Ready(_) | StatsState::Failed(_))
        )
    });
    let Some(StatsState::Ready(stats)) = harness.state().state().stats.get(&newer.path) else {
        panic!("counting files failed: {:?}", harness.state().state().stats);
    };
    assert_eq!(stats.file_count, Some(newer.files as u64));
    assert!(stats.total_bytes >= newer.bytes);
    assert!(
        harness.query_by_label(&newer.files.to_string()).is_some(),
        "the file count is shown"
    );
}

#[test]
fn an_empty_computer_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-here");
    let mut harness = window(AppConfig::only(vec![
        dir.path().to_path_buf(),
        missing.clone(),
    ]));
    wait_for_label(&mut harness, "No phone backups found.");
    assert!(
        harness
            .query_by_label(&format!("• {}", dir.path().display()))
            .is_some()
    );
    assert!(
        harness
            .query_by_label(&format!(
                "• {} (this folder does not exist)",
                missing.display()
            ))
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("press \u{201c}Add folder…\u{201d} above")
            .is_some(),
        "the empty state says how to add a folder"
    );
}

#[test]
fn a_good_backup_verifies_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ios("Good iPhone", 1_795_600_800);
    spec.files = 20;
    make(dir.path(), "good", &spec);

    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Good iPhone");
    select(&mut harness, "Good iPhone");
    click(&mut harness, "Verify");
    wait_for_label(&mut harness, "No problems found");

    // And the deep check, which reads every file, agrees.
    click(&mut harness, "Deep verify (reads every file)");
    wait_for(&mut harness, "the deep check", |h| {
        h.query_by_label("No problems found").is_some()
            && h.query_by_label_contains("Deep check:").is_some()
    });
}

#[test]
fn a_missing_file_is_reported_with_its_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ios("Damaged iPhone", 1_795_600_800);
    spec.files = 5;
    let made = make(dir.path(), "damaged", &spec);
    std::fs::remove_file(some_blob(&made.path)).unwrap();

    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Damaged iPhone");
    select(&mut harness, "Damaged iPhone");
    click(&mut harness, "Verify");
    wait_for_label(&mut harness, "1 error");

    let blob_missing = explain("blob-missing").unwrap();
    assert!(harness.query_by_label(blob_missing.title).is_some());
    assert!(harness.query_by_label(blob_missing.what_happened).is_some());
    assert!(
        harness
            .query_by_label(&format!("What to do: {}", blob_missing.what_to_do))
            .is_some()
    );
    assert!(harness.query_by_label("No problems found").is_none());
}

#[test]
fn an_encrypted_backup_asks_for_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = ios("Locked iPhone", 1_795_600_800);
    first.password = Some("correct horse".to_owned());
    let mut second = ios("Other locked iPhone", 1_795_600_800 - DAY);
    second.password = Some("correct horse".to_owned());
    second.seed = 1;
    make(dir.path(), "locked", &first);
    make(dir.path(), "other", &second);

    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Locked iPhone");
    select(&mut harness, "Locked iPhone");

    let wrong_password = explain("wrong-password").unwrap();
    harness.get_by_label("Backup password").focus();
    harness.run();
    harness
        .get_by_label("Backup password")
        .type_text("battery staple");
    harness.run();
    let typed = harness
        .get_by_label("Backup password")
        .value()
        .unwrap_or_default();
    assert!(
        !typed.contains("battery"),
        "the password field is masked: {typed:?}"
    );
    click(&mut harness, "Verify");
    wait_for_label(&mut harness, wrong_password.title);
    assert!(harness.query_by_label("No problems found").is_none());

    // Another backup starts with an empty field: a password never carries over.
    select(&mut harness, "Other locked iPhone");
    assert!(harness.state().state().password.is_empty());
    harness.get_by_label("Backup password").focus();
    harness.run();
    harness
        .get_by_label("Backup password")
        .type_text("correct horse");
    harness.run();
    // Enter in the password field starts the check, as the Verify button does.
    harness.key_press(eframe::egui::Key::Enter);
    harness.run();
    wait_for_label(&mut harness, "No problems found");
}

#[test]
fn cancel_stops_a_long_deep_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ios("Big iPhone", 1_795_600_800);
    spec.files = 4000;
    spec.file_size = 64 * 1024;
    let made = make(dir.path(), "big", &spec);

    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Big iPhone");
    select(&mut harness, "Big iPhone");
    click(&mut harness, "Deep verify (reads every file)");
    // Progress is live: the file count shows while the check runs.
    wait_for(&mut harness, "progress", |h| {
        h.query_by_label_contains(&format!("of {} files", made.files))
            .is_some()
            || h.query_by_label_contains("Deep check:").is_some()
    });
    assert!(
        harness.query_by_label_contains("Deep check:").is_none(),
        "the check finished before it could be cancelled: make the backup larger"
    );
    click(&mut harness, "Cancel");
    let stopped = explain("cancelled").unwrap();
    wait_for_label(&mut harness, stopped.title);
    assert!(matches!(
        harness
            .state()
            .state()
            .verifications
            .get(&made.path)
            .map(|v| &v.status),
        Some(VerifyStatus::Cancelled)
    ));
    assert!(harness.query_by_label("No problems found").is_none());
    // The buttons are back: the window is ready for the next check.
    assert!(harness.query_by_label("Verify").is_some());
}

#[test]
fn an_added_folder_is_saved_and_searched() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("elsewhere");
    std::fs::create_dir(&backups).unwrap();
    make(&backups, "found", &ios("Found iPhone", 1_795_600_800));
    let settings_file = dir.path().join("config/settings.json");

    let mut harness = window(AppConfig {
        dirs: Vec::new(),
        standard_places: false,
        settings_path: Some(settings_file.clone()),
        phones: None,
    });
    wait_for_label(&mut harness, "No phone backups found.");

    click(&mut harness, "Add folder…");
    harness.get_by_label("Folder to add").focus();
    harness.run();
    harness
        .get_by_label("Folder to add")
        .type_text(&backups.display().to_string());
    harness.run();
    click(&mut harness, "Add");
    wait_for_label(&mut harness, "Found iPhone");

    let saved = plugback_core::settings::Settings::load_from(&settings_file).unwrap();
    assert_eq!(saved.backup_folders, vec![backups]);
}

#[test]
fn choosing_dark_in_settings_saves_it_and_darkens_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    std::fs::create_dir(&kept).unwrap();
    // A file from an older Plugback: only the saved folders.
    let settings_file = dir.path().join("config/settings.json");
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let old = serde_json::json!({ "backup_folders": [kept] });
    std::fs::write(&settings_file, old.to_string()).unwrap();

    let mut harness = window(AppConfig {
        dirs: Vec::new(),
        standard_places: false,
        settings_path: Some(settings_file.clone()),
        phones: None,
    });
    wait_for_label(&mut harness, "No phone backups found.");
    click(&mut harness, "Settings…");
    assert!(
        harness
            .query_by_label(&kept.display().to_string())
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Only needed for Android phones")
            .is_some()
    );

    click(&mut harness, "Dark");
    wait_for_label(&mut harness, "Saved.");

    let saved = plugback_core::settings::Settings::load_from(&settings_file).unwrap();
    assert_eq!(saved.theme, plugback_core::settings::Theme::Dark);
    assert_eq!(saved.backup_folders, vec![kept], "the folders stay");
    assert!(saved.restore_notifications && saved.keep_awake_during_restore);
    assert_eq!(
        harness.ctx.options(|o| o.theme_preference),
        eframe::egui::ThemePreference::Dark
    );
    assert_eq!(harness.ctx.theme(), eframe::egui::Theme::Dark);
}

#[test]
fn the_explainer_finds_4013_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = window(AppConfig {
        dirs: vec![dir.path().to_path_buf()],
        standard_places: false,
        settings_path: None,
        phones: None,
    });
    wait_for_label(&mut harness, "No phone backups found.");
    click(&mut harness, "Explain an error…");
    harness.get_by_label("Error number or words").focus();
    harness.run();
    harness
        .get_by_label("Error number or words")
        .type_text("4013");
    harness.run();
    let entry = explain("apple-4013").unwrap();
    assert!(harness.query_by_label(entry.title).is_some());
    assert!(
        harness
            .query_by_label(&format!("What to do: {}", entry.what_to_do))
            .is_some()
    );

    // Words that match nothing say so, and how to search instead.
    harness
        .get_by_label("Error number or words")
        .type_text(" zebra");
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Nothing is known about")
            .is_some()
    );
}

/// What the phones panel says while no phone is plugged in.
const NO_PHONE: &str = "No phone is plugged in";

/// An adb server client that never starts a server of its own: `dir` holds no adb.
fn adb_client(port: u16, dir: &Path) -> AdbClient {
    AdbClient::new(port).with_search_path(dir.as_os_str())
}

fn usbmuxd_at(address: &str) -> Usbmuxd {
    Usbmuxd::new(MuxAddress::parse(address).expect("a usbmuxd address"))
}

/// A window watching a simulated usbmuxd with no iPhone yet, once its phones panel shows.
/// No adb can be found or started there: the panel says Android phones cannot be seen.
fn window_with_sim_usbmuxd(dir: &Path) -> (SimUsbmuxd, Harness<'static, PlugbackApp>) {
    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &dir.join("usbmuxd"),
    )
    .unwrap();
    let mut config = AppConfig::only(vec![dir.to_path_buf()]);
    config.phones = Some(Sources {
        usbmuxd: Ok(usbmuxd_at(&mux.address().to_string())),
        adb: adb_client(free_port(), dir),
    });
    let mut harness = window(config);
    wait_for(&mut harness, "the empty phones panel", |h| {
        h.query_by_label_contains(NO_PHONE).is_some()
    });
    (mux, harness)
}

#[test]
fn an_untrusted_iphone_gets_a_card_with_guidance_until_it_is_unplugged() {
    let dir = tempfile::tempdir().unwrap();
    let (mux, mut harness) = window_with_sim_usbmuxd(dir.path());

    let mut phone = IphoneConfig::new(dir.path().join("iphone"));
    phone.name = "Kitchen iPhone".to_owned();
    let iphone = mux.add_iphone(phone).unwrap();
    let not_paired = explain("device-not-paired").unwrap();
    wait_for(&mut harness, "the iPhone's card", |h| {
        h.query_by_label("Phone: Kitchen iPhone").is_some()
            && h.query_by_label(not_paired.what_to_do).is_some()
            && h.query_by_label("iPhone 14 Pro · iOS 18.1").is_some()
    });
    assert!(harness.query_by_label("Kitchen iPhone").is_some());
    assert!(harness.query_by_label(not_paired.title).is_some());
    assert!(harness.query_by_label_contains(NO_PHONE).is_none());

    let adb_down = explain("adb-unavailable").unwrap();
    assert_eq!(
        harness
            .query_all_by_label("Android phones cannot be seen")
            .count(),
        1,
        "said once"
    );
    assert!(
        harness
            .query_by_label("Notice: Android phones cannot be seen")
            .is_some()
    );
    assert!(
        harness
            .query_by_label(&format!("What to do: {}", adb_down.what_to_do))
            .is_some()
    );
    assert!(harness.query_by_label("iPhones cannot be seen").is_none());

    iphone.control(ControlCommand::Unplug).unwrap();
    wait_for(&mut harness, "the card to go", |h| {
        h.query_by_label("Phone: Kitchen iPhone").is_none()
    });
    assert!(harness.query_by_label_contains(NO_PHONE).is_some());
}

#[test]
fn pair_this_iphone_waits_for_trust_then_says_it_is_paired() {
    let dir = tempfile::tempdir().unwrap();
    let (mux, mut harness) = window_with_sim_usbmuxd(dir.path());
    let mut phone = IphoneConfig::new(dir.path().join("iphone"));
    phone.name = "Hall iPhone".to_owned();
    phone.trust = TrustMode::Prompt;
    let iphone = mux.add_iphone(phone).unwrap();
    wait_for(&mut harness, "the pair button", |h| {
        h.query_by_label("Phone: Hall iPhone").is_some()
            && h.query_by_label("Pair this iPhone").is_some()
    });
    assert!(
        harness.query_by_label_contains("plugback pair").is_some(),
        "the catalog's advice names both ways to pair"
    );

    click(&mut harness, "Pair this iPhone");
    wait_for_label(&mut harness, "Unlock your iPhone and tap Trust on it…");
    assert!(harness.query_by_label("Cancel pairing").is_some());
    assert!(
        harness.query_by_label("Pair this iPhone").is_none(),
        "one pairing at a time"
    );
    // The person taps Trust.
    iphone
        .control(ControlCommand::Trust(Answer::Accept))
        .unwrap();
    // Paired, or already read again by the watcher as ready: either way the card says so.
    wait_for(&mut harness, "the card to say it is paired", |h| {
        h.query_by_label("Paired: Plugback can now read this iPhone.")
            .is_some()
            || h.query_by_label("Ready: it trusts this computer.")
                .is_some()
    });
    assert!(matches!(
        harness.state().state().phones.pairing.get(iphone.udid()),
        Some(Pairing::Ended(PairOutcome::Paired))
    ));
    assert!(harness.query_by_label("Cancel pairing").is_none());
    assert!(harness.query_by_label("Pair this iPhone").is_none());
    assert!(
        mux.state_dir()
            .join(format!("{}.plist", iphone.udid()))
            .is_file(),
        "usbmuxd keeps the pair record"
    );
}

#[test]
fn an_android_phone_shows_its_model_and_battery() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut phone = AndroidConfig::new(dir.path().join("android"));
    phone.battery_percent = 41;
    phone.charging = true;
    phone.temperature_c = 31.0;
    let android = SimAndroid::start(phone, "127.0.0.1:0".parse().unwrap()).unwrap();
    let serial = android.address().to_string();
    adb.attach(&serial);

    let mut config = AppConfig::only(vec![dir.path().to_path_buf()]);
    // Nothing listens where usbmuxd is looked for: no iPhones, said plainly.
    config.phones = Some(Sources {
        usbmuxd: Ok(usbmuxd_at(&format!("127.0.0.1:{}", free_port()))),
        adb: adb_client(adb.port(), dir.path()),
    });
    let mut harness = window(config);
    wait_for(&mut harness, "the Android phone's card", |h| {
        h.query_by_label("Phone: Pixel 8").is_some()
            && h.query_by_label("Battery: 41 %, charging, 31 °C").is_some()
    });
    assert!(
        harness
            .query_by_label("Pixel 8 · Android 14 (API 34)")
            .is_some()
    );
    assert!(
        harness
            .query_by_label("Ready: it trusts this computer.")
            .is_some()
    );
    assert!(harness.query_by_label("iPhones cannot be seen").is_some());
    let usbmuxd_down = explain("usbmuxd-unavailable").unwrap();
    assert!(
        harness
            .query_by_label(&format!("What to do: {}", usbmuxd_down.what_to_do))
            .is_some()
    );
}
