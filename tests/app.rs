//! The real window, driven headless through its accessibility tree, against backups made
//! by the simulator. Each test gets its own folders and no settings file of the person's.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
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

#[path = "app/restore.rs"]
mod restore;
#[path = "app/snapshots.rs"]
mod snapshots;

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
        demo: None,
        log_dir: None,
        run_doctor: false,
        demo_program: None,
        native_dialogs: false,
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
        demo: None,
        log_dir: None,
        run_doctor: false,
        demo_program: None,
        native_dialogs: false,
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
        demo: None,
        log_dir: None,
        run_doctor: false,
        demo_program: None,
        native_dialogs: false,
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

/// The About box names this build as `plugback --version` does.
#[test]
fn the_about_box_shows_the_version_of_this_build() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "No phone backups found.");
    click(&mut harness, "About");
    let line = format!("Plugback {}", plugback::build_info::VERSION_LINE);
    assert!(harness.query_by_label(&line).is_some(), "{line}");
    assert!(
        harness
            .query_by_label(plugback::build_info::GIT_HASH)
            .is_some()
    );
    assert!(line.contains(env!("CARGO_PKG_VERSION")));
}

/// Moves the keyboard focus with Tab until the control `label` has it.
fn tab_to(harness: &mut Harness<'static, PlugbackApp>, label: &str) {
    for _ in 0..60 {
        harness.key_press(eframe::egui::Key::Tab);
        harness.run();
        let focused = harness.query_by(|node| node.is_focused());
        if focused.is_some_and(|node| node.accesskit_node().label().as_deref() == Some(label)) {
            return;
        }
    }
    panic!("Tab never reached {label}");
}

/// Without a mouse: Tab reaches a backup and Space picks it, Tab and Enter run its
/// verify, and the explainer opens and is searched from the keyboard.
#[test]
fn the_window_works_from_the_keyboard() {
    let dir = tempfile::tempdir().unwrap();
    make(dir.path(), "kitchen", &ios("Kitchen iPhone", 1_795_600_800));
    let mut harness = window(AppConfig::only(vec![dir.path().to_path_buf()]));
    wait_for_label(&mut harness, "Kitchen iPhone");

    tab_to(&mut harness, "Kitchen iPhone");
    harness.key_press(eframe::egui::Key::Space);
    harness.run();
    assert!(
        harness.query_by_label("Verify").is_some(),
        "the backup's details"
    );
    tab_to(&mut harness, "Verify");
    harness.key_press(eframe::egui::Key::Enter);
    wait_for_label(&mut harness, "No problems found");

    tab_to(&mut harness, "Explain an error…");
    harness.key_press(eframe::egui::Key::Enter);
    harness.run();
    tab_to(&mut harness, "Error number or words");
    harness
        .get_by_label("Error number or words")
        .type_text("4013");
    harness.run();
    assert!(
        harness
            .query_by_label(explain("apple-4013").unwrap().title)
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

/// With no phone plugged in, the panel offers the demo, and its button starts this
/// program again with `--demo` (here a stand-in that notes its arguments and stays open).
#[cfg(unix)]
#[test]
fn with_no_phone_the_window_offers_the_demo_and_opens_it() {
    use plugback::gui::state::Event;
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let noted = dir.path().join("arguments");
    let program = dir.path().join("plugback-stand-in");
    std::fs::write(
        &program,
        format!("#!/bin/sh\necho \"$@\" > '{}'\nsleep 10\n", noted.display()),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &dir.path().join("usbmuxd"),
    )
    .unwrap();
    let mut config = AppConfig::only(vec![dir.path().to_path_buf()]);
    config.phones = Some(Sources {
        usbmuxd: Ok(usbmuxd_at(&mux.address().to_string())),
        adb: adb_client(free_port(), dir.path()),
    });
    config.demo_program = Some(program);
    let mut harness = window(config);
    wait_for_label(&mut harness, plugback::gui::TRY_THE_DEMO);
    // A spinner turns while the demo window opens: step, do not wait to settle.
    harness.get_by_label(plugback::gui::TRY_THE_DEMO).click();
    harness.run_steps(2);
    wait_for_label(&mut harness, "The demo is open in its own window.");
    assert_eq!(std::fs::read_to_string(&noted).unwrap().trim(), "--demo");

    // A demo window that cannot open says why, and the button can be tried again.
    let state = harness.state_mut().state_mut();
    state.apply(Event::DemoOpened(Err(plugback::gui::state::Failure::new(
        "The demo window closed at once.",
    ))));
    harness.run();
    assert!(
        harness
            .query_by_label("The demo window closed at once.")
            .is_some()
    );
    assert!(
        !harness
            .get_by_label(plugback::gui::TRY_THE_DEMO)
            .accesskit_node()
            .is_disabled()
    );
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

#[test]
fn demo_mode_shows_its_phones_and_samples_and_simulates_a_cable_pull() {
    use egui_kittest::kittest::NodeT;
    use plugback::demo::Demo;
    use plugback::gui::demo::demo_config;
    use plugback_core::cancel::CancelToken;
    use std::sync::Arc;

    let with_adb = plugback_sim::peers::require_tool("adb").is_some();
    let demo = Arc::new(Demo::start(&CancelToken::new()).expect("the demo starts"));
    assert_eq!(
        demo.android_id().is_some(),
        with_adb,
        "{:?}",
        demo.android_missing()
    );
    let mut harness = window(demo_config(&demo));
    wait_for(&mut harness, "the demo's phones and samples", |h| {
        h.query_by_label("Phone: Demo iPhone").is_some()
            && (!with_adb || h.query_by_label("Phone: Pixel 8").is_some())
            && h.query_by_label("Old iPhone 6s").is_some()
    });
    assert!(
        harness
            .query_by_label_contains("Demo mode: these phones and backups are simulated")
            .is_some()
    );
    assert!(
        harness
            .query_by_label("The encrypted backup's password is demo.")
            .is_some()
    );
    if let Some(missing) = demo.android_missing() {
        assert!(
            harness.query_by_label(missing).is_some(),
            "the banner says why the Android phone is missing"
        );
    }
    let listed: Vec<&Path> = harness
        .state()
        .state()
        .backups
        .iter()
        .map(|b| b.path.as_path())
        .collect();
    for sample in &demo.samples().all {
        assert!(
            listed.contains(&sample.made.path.as_path()),
            "{} is listed",
            sample.made.path.display()
        );
    }
    assert_eq!(listed.len(), demo.samples().all.len());
    assert!(
        harness
            .query_by_label("Simulate replug: Demo iPhone")
            .is_some_and(|button| button.accesskit_node().is_disabled()),
        "nothing to replug before an unplug"
    );

    click(&mut harness, "Simulate unplug: Demo iPhone");
    wait_for(&mut harness, "the iPhone's card to go", |h| {
        h.query_by_label("Phone: Demo iPhone").is_none()
            && h.query_by_label("Unplugged by the demo:").is_some()
    });
    if with_adb {
        assert!(
            harness.query_by_label("Phone: Pixel 8").is_some(),
            "only the iPhone was unplugged"
        );
    }
    click(&mut harness, "Simulate replug: Demo iPhone");
    wait_for(&mut harness, "the iPhone's card to come back", |h| {
        h.query_by_label("Phone: Demo iPhone").is_some()
            && h.query_by_label("Unplugged by the demo:").is_none()
    });
    // The window goes first: the demo outlives everything that watches its phones.
    drop(harness);
    drop(demo);
}

#[test]
fn the_file_browser_lists_a_backup_and_narrows_to_a_search() {
    use plugback::gui::format;
    use plugback_core::backup::BackupKind;
    use plugback_core::backup::listing::{ListedKind, list};

    let dir = tempfile::tempdir().unwrap();
    let mut spec = ios("Browsed iPhone", 1_795_600_800);
    spec.files = 30;
    spec.file_size = 1000;
    let made = make(dir.path(), "browsed", &spec);
    // What the core reads from the backup, to check the window against.
    let expected = list(&made.path, BackupKind::Ios).unwrap();
    let total = expected.len();
    let total_size: u64 = expected.iter().map(|f| f.size).sum();
    let keys: Vec<String> = expected
        .iter()
        .map(|f| format!("{}/{}", f.domain, f.path).to_lowercase())
        .collect();
    // A file whose name appears in no other entry, to search for.
    let (target, name) = expected
        .iter()
        .filter(|f| f.kind == ListedKind::File)
        .find_map(|f| {
            let name = f.path.rsplit('/').next()?.to_owned();
            let needle = name.to_lowercase();
            (keys.iter().filter(|k| k.contains(&needle)).count() == 1).then_some((f, name))
        })
        .expect("the backup has a file with a name of its own");

    let config = AppConfig::only(vec![dir.path().to_path_buf()]);
    // Phone file names hold emoji the built-in fonts cannot draw: the window shows a box
    // for those characters (as it does for a person), rather than the test failing on them.
    let mut harness = Harness::builder()
        .with_size([1280.0, 900.0])
        .with_max_steps(32)
        .allow_missing_glyphs()
        .build_eframe(move |cc| PlugbackApp::new(cc, config));
    wait_for_label(&mut harness, "Browsed iPhone");
    select(&mut harness, "Browsed iPhone");
    assert!(
        harness.state().state().files.is_none(),
        "the list is read only when asked for"
    );
    click(&mut harness, "Browse files");
    let count = |shown: usize| {
        format!(
            "{shown} of {} · {} in all",
            format::count(total, "item", "items"),
            format::bytes(total_size)
        )
    };
    wait_for_label(&mut harness, &count(total));
    let first = expected
        .iter()
        .take(5)
        .find(|f| !f.path.is_empty())
        .expect("entries with paths at the top of the list");
    assert!(
        harness.query_all_by_label(&first.path).next().is_some(),
        "the top of the list is shown: {first:?}"
    );

    harness.get_by_label("Search files").focus();
    harness.run();
    harness
        .get_by_label("Search files")
        .type_text(&name.to_uppercase());
    harness.run();
    assert!(
        harness.query_by_label(&count(1)).is_some(),
        "the search narrows to one entry"
    );
    let shown = |label: &str| harness.query_all_by_label(label).next().is_some();
    assert!(shown(&target.path) && shown(&target.domain), "{target:?}");
    assert!(shown(&format::bytes(target.size)));
}

#[test]
fn check_connection_grades_a_simulated_iphone_and_lists_its_findings() {
    use plugback::gui::health::{HealthStatus, grade_words};

    let dir = tempfile::tempdir().unwrap();
    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &dir.path().join("usbmuxd"),
    )
    .unwrap();
    let mut phone = IphoneConfig::new(dir.path().join("iphone"));
    phone.name = "Desk iPhone".to_owned();
    let iphone = mux.add_iphone(phone).unwrap();
    // Paired before the window looks: it sees a phone that trusts this computer.
    let client = usbmuxd_at(&mux.address().to_string());
    let paired = plugback_core::device::ios::block_on(plugback_core::device::ios::pair(
        &client,
        iphone.udid(),
        PATIENCE,
        &plugback_core::cancel::CancelToken::new(),
        |_| {},
    ))
    .unwrap();
    assert_eq!(paired, PairOutcome::Paired);
    let mut config = AppConfig::only(vec![dir.path().to_path_buf()]);
    config.phones = Some(Sources {
        usbmuxd: Ok(client),
        adb: adb_client(free_port(), dir.path()),
    });
    let mut harness = window(config);
    wait_for(&mut harness, "the ready iPhone's badge", |h| {
        h.query_by_label("Phone: Desk iPhone").is_some()
            && h.query_by_label("Connection: not checked").is_some()
            && h.query_by_label("Check connection").is_some()
    });

    click(&mut harness, "Check connection");
    assert!(
        harness.query_by_label("Cancel check").is_some(),
        "a check under way can be stopped"
    );
    let title = "Connection check — Desk iPhone";
    let started = Instant::now();
    while harness.query_by_label(title).is_none() {
        assert!(
            started.elapsed() < PATIENCE,
            "no findings window after {PATIENCE:?}; checks: {:#?}",
            harness.state().state().health
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.run();
    let state = harness.state().state();
    let check = state
        .health
        .get(iphone.udid())
        .expect("the check is kept by phone");
    let HealthStatus::Done(report) = &check.status else {
        panic!("the check should have finished: {:?}", check.status);
    };
    assert!(!check.phone_left);
    let grade = grade_words(report.grade);
    let findings = report.findings.clone();
    assert!(
        harness
            .query_by_label(&format!("Connection: {grade}"))
            .is_some()
    );
    assert!(
        harness
            .query_by_label(&format!("Connection grade: {grade}"))
            .is_some()
    );
    for finding in &findings {
        assert!(
            harness
                .query_all_by_label(&format!("Fix: {}", finding.fix))
                .next()
                .is_some(),
            "{finding:?}"
        );
        if let Some(entry) = explain(finding.code) {
            assert!(
                harness
                    .query_all_by_label(entry.what_happened)
                    .next()
                    .is_some()
            );
        }
    }
    if findings.is_empty() {
        assert!(
            harness
                .query_by_label("Nothing to fix: this connection is fit for a restore.")
                .is_some()
        );
    }
    click(&mut harness, "Close");
    assert!(harness.query_by_label(title).is_none());
    assert!(harness.query_by_label("Show check results").is_some());
}

#[test]
fn the_logs_window_lists_reads_and_exports_job_logs_redacted() {
    use plugback_core::jobs::log::JobLog;
    use serde_json::json;
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut done = JobLog::create(&logs, "restore-20261101-100000-aaa").unwrap();
    done.write(&json!({"event": "phase", "phase": "preparing"}));
    done.write(
        &json!({"event": "note", "code": "demo-note", "message": "Sent the apps first.",
        "escrow_key": "SECRET-ESCROW-123"}),
    );
    done.write(&json!({"event": "finished", "report": {"job": "restore-1",
        "device": "00008110-AAAAAAAAAAAA", "ok": true, "files": 3, "bytes": 2048}}));
    drop(done);
    // The second starts later: it is listed first.
    std::thread::sleep(Duration::from_millis(20));
    let mut cut = JobLog::create(&logs, "restore-20261102-100000-bbb").unwrap();
    cut.write(&json!({"event": "phase", "phase": "transferring"}));
    cut.write(
        &json!({"event": "lost", "what_happened": "The phone was disconnected.",
        "what_it_means": "Partly restored.", "what_next": "Plug it back in."}),
    );
    drop(cut);

    let mut config = AppConfig::only(vec![dir.path().to_path_buf()]);
    config.log_dir = Some(logs.clone());
    let mut harness = window(config);
    wait_for_label(&mut harness, "No phone backups found.");
    click(&mut harness, "Logs");
    wait_for(&mut harness, "both logs", |h| {
        h.query_by_label("restore-20261101-100000-aaa").is_some()
            && h.query_by_label("restore-20261102-100000-bbb").is_some()
    });
    assert!(
        harness
            .query_by_label_contains("· 00008110-AAAAAAAAAAAA · ended well")
            .is_some()
    );
    assert!(harness.query_by_label_contains("did not finish").is_some());

    click(&mut harness, "restore-20261101-100000-aaa");
    wait_for(&mut harness, "its lines", |h| {
        h.query_by_label_contains("Restore done: 3 files").is_some()
    });
    assert!(
        harness
            .query_by_label_contains("note  Sent the apps first. (demo-note)")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("phase  preparing")
            .is_some()
    );

    let out = dir.path().join("diagnostics.zip");
    harness
        .state_mut()
        .state_mut()
        .export_diagnostics_to(out.clone());
    wait_for(&mut harness, "the export", |h| {
        h.query_by_label_contains("Saved to").is_some()
    });
    assert!(
        harness
            .query_by_label_contains("2 logs, phones numbered, names and passwords left out")
            .is_some()
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut exported_logs = 0;
    let mut everything = String::new();
    for n in 0..zip.len() {
        let mut entry = zip.by_index(n).unwrap();
        if entry.name().is_ok_and(|name| name.starts_with("logs/")) {
            exported_logs += 1;
        }
        entry.read_to_string(&mut everything).unwrap();
    }
    assert_eq!(exported_logs, 2);
    assert!(
        everything.contains("Sent the apps first."),
        "the logs are in it"
    );
    assert!(!everything.contains("SECRET-ESCROW-123"), "no key material");
    assert!(
        !everything.contains("00008110-AAAAAAAAAAAA"),
        "phones are numbered"
    );
}

#[test]
fn an_encrypted_backup_lists_its_files_with_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = ios("Locked browsed iPhone", 1_795_600_800);
    spec.password = Some("correct horse".to_owned());
    let made = make(dir.path(), "locked", &spec);
    let config = AppConfig::only(vec![dir.path().to_path_buf()]);
    // Phone file names hold emoji the built-in fonts cannot draw (see above).
    let mut harness = Harness::builder()
        .with_size([1280.0, 900.0])
        .with_max_steps(32)
        .allow_missing_glyphs()
        .build_eframe(move |cc| PlugbackApp::new(cc, config));
    wait_for_label(&mut harness, "Locked browsed iPhone");
    select(&mut harness, "Locked browsed iPhone");
    let needs_password = "opens with its password";
    assert!(
        harness.query_by_label_contains(needs_password).is_some(),
        "the browser says the password comes first"
    );

    // Without the password the list cannot be read, and the window says why.
    click(&mut harness, "Browse files");
    wait_for(&mut harness, "the listing to end", |h| {
        h.state()
            .state()
            .files
            .as_ref()
            .is_some_and(|b| b.status != plugback::gui::files::ListStatus::Loading)
    });
    assert!(harness.query_by_label_contains(needs_password).is_some());

    harness.get_by_label("Backup password").focus();
    harness.run();
    harness
        .get_by_label("Backup password")
        .type_text("correct horse");
    harness.run();
    click(&mut harness, "Browse files");
    let total = plugback_core::backup::listing::list_unlocked(
        &made.path,
        plugback_core::backup::BackupKind::Ios,
        Some(&plugback_core::secret::Password::new("correct horse")),
    )
    .unwrap()
    .len();
    wait_for(&mut harness, "the file list", |h| {
        h.query_by_label_contains(&format!("{total} of {total} items"))
            .is_some()
    });
}

#[test]
fn the_first_run_card_says_what_to_install_and_goes_when_all_is_well() {
    use plugback::gui::state::Event;
    use plugback_core::doctor::{Check, DoctorReport};
    use plugback_core::finding::{Finding, Severity};

    let dir = tempfile::tempdir().unwrap();
    let (_mux, mut harness) = window_with_sim_usbmuxd(dir.path());
    assert!(
        harness
            .query_by_label("Before you plug in a phone")
            .is_none()
    );
    let adb_missing = Check::found(
        "adb-installed",
        "adb installed",
        Finding::new(
            "doctor-adb-missing",
            Severity::Problem,
            "no adb program on the PATH",
            "Install adb: `sudo apt install adb` on Debian and Ubuntu.",
        ),
    );
    let report = |checks: Vec<Check>| DoctorReport {
        os: "linux",
        findings: checks.iter().filter_map(Check::finding).collect(),
        checks,
    };
    let state = harness.state_mut().state_mut();
    state.apply(Event::DoctorFinished(Ok(Box::new(report(vec![
        adb_missing,
    ])))));
    harness.run();
    assert!(
        harness
            .query_by_label("Before you plug in a phone")
            .is_some()
    );
    assert!(
        harness
            .query_by_label("Android's adb program is not installed")
            .is_some()
    );
    assert!(harness.query_by_label("sudo apt install adb").is_some());
    assert!(harness.query_by_label("Copy").is_some());

    let all_well = Check::ok("adb-installed", "adb installed", "/usr/bin/adb");
    let state = harness.state_mut().state_mut();
    state.apply(Event::DoctorFinished(Ok(Box::new(report(vec![all_well])))));
    harness.run();
    assert!(
        harness
            .query_by_label("Before you plug in a phone")
            .is_none()
    );
}

/// `plugback --demo --screenshot FILE` opens the real window on a virtual X display, waits
/// for the demo phones and backups, and saves a PNG of the whole window.
#[test]
fn the_demo_screenshot_is_a_png_of_the_whole_window() {
    let Some(xvfb_run) = plugback_sim::peers::require_tool("xvfb-run") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let picture = home.path().join("shots/phones.png");
    let mut command = std::process::Command::new(xvfb_run);
    command
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env!("CARGO_BIN_EXE_plugback"))
        .arg("--demo")
        .arg("--screenshot")
        .arg(&picture)
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        // The virtual X display, never the person's desktop session.
        .env_remove("WAYLAND_DISPLAY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (variable, folder) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ] {
        command.env(variable, home.path().join(folder));
    }
    let output = plugback_sim::peers::wait_with_deadline(command.spawn().unwrap(), PATIENCE);
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let file = std::io::BufReader::new(std::fs::File::open(&picture).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let [width, height] = plugback::gui::WINDOW_SIZE;
    assert_eq!(
        (frame.width, frame.height),
        (width as u32, height as u32),
        "the window's size at scale 1"
    );
    let channels = frame.color_type.samples();
    let colours: std::collections::HashSet<&[u8]> = pixels[..frame.buffer_size()]
        .chunks_exact(channels)
        .collect();
    assert!(colours.len() > 1, "a blank picture: {colours:?}");
}
