//! App installs and `adb restore` of `.ab` archives against the simulated phone, through a
//! private real adb server. Every backup is hashed before and after: a restore only ever
//! reads it.

use super::android_health::{attached_phone, core_server};
use plugback_core::cancel::CancelToken;
use plugback_core::device::android;
use plugback_core::restore::android::{
    AbOutcome, AbSettings, AppPlan, AppsOutcome, InstallFailure, restore_ab, restore_apps,
};
use plugback_core::restore::{RestoreError, RestoreEvent, Sink};
use plugback_sim::android::{AndroidConfig, SimAndroid, text_manifest_apk};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::peers::AdbServer;
use plugback_sim::tree_hashes;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a restore in these tests may take before the test calls it a hang.
const RESTORE_DEADLINE: Duration = Duration::from_secs(120);
/// How long a test waits for the phone to show its restore confirmation.
const PROMPT_DEADLINE: Duration = Duration::from_secs(30);

/// One app of a test backup: its package, and its APKs' names and bytes.
type TestApp<'a> = (&'a str, Vec<(&'a str, Vec<u8>)>);

/// A Plugback Android backup folder holding `apps`: each a package and its APKs' bytes.
fn apps_backup(apps: &[TestApp]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("backup");
    let mut records = Vec::new();
    for (package, apks) in apps {
        let folder = root.join("apps").join(package);
        std::fs::create_dir_all(&folder).unwrap();
        let mut listed = Vec::new();
        for (name, bytes) in apks {
            std::fs::write(folder.join(name), bytes).unwrap();
            listed.push(serde_json::json!({
                "name": name,
                "size": bytes.len(),
                "sha256": hex::encode(Sha256::digest(bytes)),
            }));
        }
        records.push(serde_json::json!({ "package": package, "apks": listed }));
    }
    let manifest = serde_json::json!({
        "format": "plugback-android-backup",
        "version": 1,
        "created": "2026-11-25T10:00:00Z",
        "device": { "model": "Pixel 7", "android_version": "14", "sdk": 34 },
        "files": [],
        "apps": records,
    });
    std::fs::write(
        root.join("plugback-android.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    (dir, root)
}

/// What a restore returned, and every event it reported.
struct Run<T> {
    result: Result<T, RestoreError>,
    events: Vec<RestoreEvent>,
}

impl<T> Run<T> {
    fn notes(&self, code: &str) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RestoreEvent::Note { code: c, message } if *c == code => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn most_bytes_reported(&self) -> u64 {
        self.events
            .iter()
            .filter_map(|e| match e {
                RestoreEvent::Progress(p) => Some(p.bytes_done),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

/// Runs `work` on a thread with a recording sink, so that a hang fails the test.
fn run<T: Send + 'static>(
    work: impl FnOnce(&Sink) -> Result<T, RestoreError> + Send + 'static,
) -> Run<T> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        Sink::new(move |event| events.lock().unwrap().push(event))
    };
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work(&sink));
    });
    let result = result
        .recv_timeout(RESTORE_DEADLINE)
        .expect("the restore neither finished nor gave up");
    let events = events.lock().unwrap().clone();
    Run { result, events }
}

fn install(server: &android::AdbServer, serial: &str, plan: AppPlan) -> Run<AppsOutcome> {
    let (server, serial) = (server.clone(), serial.to_string());
    run(move |sink| restore_apps(&server, &serial, &plan, sink, &CancelToken::new()))
}

/// The third-party packages the phone lists, through the real adb.
pub(super) fn listed_packages(adb: &AdbServer, serial: &str) -> Vec<String> {
    let output = adb.on(serial, &["shell", "pm", "list", "packages", "-3"]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("package:").map(str::to_string))
        .collect()
}

/// Install sessions still staged on the phone.
fn staged_sessions(data_dir: &Path) -> Vec<String> {
    match std::fs::read_dir(data_dir.join("data/app")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("vmdl"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_single_and_a_split_apk_are_installed_and_listed() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = attached_phone(&adb, &[]);
    let (_keep, backup) = apps_backup(&[
        (
            "com.example.notes",
            vec![("base.apk", text_manifest_apk("com.example.notes"))],
        ),
        (
            "com.example.maps",
            vec![
                ("base.apk", text_manifest_apk("com.example.maps")),
                (
                    "split_config.arm64_v8a.apk",
                    text_manifest_apk("com.example.maps.config"),
                ),
            ],
        ),
        (
            "com.example.unwanted",
            vec![("base.apk", text_manifest_apk("com.example.unwanted"))],
        ),
    ]);
    let before = tree_hashes(&backup).unwrap();
    let plan = AppPlan::from_backup_folder(&backup)
        .unwrap()
        .only(&["com.example.notes", "com.example.maps"])
        .unwrap();
    let total = plan.bytes_total();
    let server = core_server(&adb);
    let ran = install(&server, &serial, plan);
    let outcome = ran.result.as_ref().unwrap();
    assert_eq!(outcome.installed, ["com.example.notes", "com.example.maps"]);
    assert!(outcome.failed.is_empty());
    assert_eq!(outcome.bytes_sent, total);
    assert_eq!(ran.most_bytes_reported(), total);

    let listed = listed_packages(&adb, &serial);
    assert!(
        listed.contains(&"com.example.notes".to_string()),
        "{listed:?}"
    );
    assert!(
        listed.contains(&"com.example.maps".to_string()),
        "{listed:?}"
    );
    assert!(!listed.contains(&"com.example.unwanted".to_string()));
    let maps = dir.path().join("data/app/com.example.maps");
    assert_eq!(
        std::fs::read(maps.join("split_config.arm64_v8a.apk")).unwrap(),
        text_manifest_apk("com.example.maps.config")
    );
    assert_eq!(
        std::fs::read(maps.join("base.apk")).unwrap(),
        text_manifest_apk("com.example.maps")
    );
    assert!(staged_sessions(dir.path()).is_empty());
    assert_eq!(tree_hashes(&backup).unwrap(), before);

    // A package the backup does not hold is said, not ignored.
    let err = AppPlan::from_backup_folder(&backup)
        .unwrap()
        .only(&["com.example.absent"])
        .unwrap_err();
    assert!(err.to_string().contains("not in this backup"), "{err}");
}

#[test]
fn a_phone_without_abb_exec_or_cmd_installs_through_pm() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.features = vec!["shell_v2".into()];
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let serial = sim.address().to_string();
    adb.attach(&serial);
    let (_keep, backup) = apps_backup(&[(
        "org.sample.reader",
        vec![("base.apk", text_manifest_apk("org.sample.reader"))],
    )]);
    let plan = AppPlan::from_backup_folder(&backup).unwrap();
    let ran = install(&core_server(&adb), &serial, plan);
    assert_eq!(ran.result.unwrap().installed, ["org.sample.reader"]);
    assert!(listed_packages(&adb, &serial).contains(&"org.sample.reader".to_string()));
}

#[test]
fn a_refused_install_is_abandoned_with_a_clear_error() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim, serial) = attached_phone(&adb, &[]);
    let (_keep, backup) = apps_backup(&[(
        "com.example.big",
        vec![("base.apk", text_manifest_apk("com.example.big"))],
    )]);
    let before = tree_hashes(&backup).unwrap();
    // Too little room for the APK: the phone refuses it while the session is open.
    sim.phone().update(|c| c.free_bytes = 100);
    let plan = AppPlan::from_backup_folder(&backup).unwrap();
    let ran = install(&core_server(&adb), &serial, plan);
    let notes = ran.notes("app-install-no-space");
    match ran.result {
        Err(RestoreError::AppNotInstalled {
            package,
            failure,
            phone_says,
        }) => {
            assert_eq!(package, "com.example.big");
            assert_eq!(failure, InstallFailure::NoSpace);
            assert!(
                phone_says.contains("INSTALL_FAILED_INSUFFICIENT_STORAGE"),
                "{phone_says}"
            );
        }
        other => panic!("expected a refused install, got {other:?}"),
    }
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        plugback_core::explain::explain("app-install-no-space").is_some(),
        "the code has no explanation"
    );
    // The session was abandoned: nothing staged, nothing installed.
    assert!(staged_sessions(dir.path()).is_empty());
    assert!(!listed_packages(&adb, &serial).contains(&"com.example.big".to_string()));

    // Not an APK at all: the phone refuses it at commit, with its own code.
    sim.phone().update(|c| c.free_bytes = 64_000_000_000);
    let (_keep2, broken) = apps_backup(&[(
        "com.example.broken",
        vec![("base.apk", b"this is not a zip archive".to_vec())],
    )]);
    let ran = install(
        &core_server(&adb),
        &serial,
        AppPlan::from_backup_folder(&broken).unwrap(),
    );
    let err = ran.result.unwrap_err();
    assert_eq!(err.code(), "app-install-bad-apk", "{err}");
    assert!(
        err.to_string().contains("INSTALL_PARSE_FAILED_NOT_APK"),
        "{err}"
    );
    assert!(staged_sessions(dir.path()).is_empty());
    assert_eq!(tree_hashes(&backup).unwrap(), before);
}

/// An `.ab` archive large enough that the buffers between Plugback and the phone fill up
/// before the phone reads, so that waiting and reading can be told apart.
fn archive(password: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.ab");
    let mut spec = Spec::new(Kind::AndroidAb);
    spec.password = password.map(str::to_string);
    spec.ab_compressed = false;
    spec.files = 12;
    spec.file_size = 2 * 1024 * 1024;
    make_backup(&spec, &path).unwrap();
    (dir, path)
}

fn file_hash(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Waits for the confirmation screen, then `after` more, then answers it.
fn answer_when_shown(
    sim: &Arc<SimAndroid>,
    after: Duration,
    answer: Answer,
    password: Option<&str>,
) -> std::thread::JoinHandle<Result<String, String>> {
    let sim = sim.clone();
    let password = password.map(str::to_string);
    std::thread::spawn(move || {
        let deadline = Instant::now() + PROMPT_DEADLINE;
        while !sim.phone().restore_prompt_showing() {
            if Instant::now() > deadline {
                return Err("the phone never showed the restore confirmation".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(after);
        sim.control(ControlCommand::ConfirmRestore { answer, password })
    })
}

fn restore_archive(
    server: &android::AdbServer,
    serial: &str,
    path: &Path,
    settings: AbSettings,
) -> Run<AbOutcome> {
    let (server, serial, path) = (server.clone(), serial.to_string(), path.to_path_buf());
    run(move |sink| {
        restore_ab(
            &server,
            &serial,
            &path,
            &settings,
            sink,
            &CancelToken::new(),
        )
    })
}

/// The simulated phone's own account of the last restore.
fn phone_report(data_dir: &Path) -> serde_json::Value {
    let deadline = Instant::now() + PROMPT_DEADLINE;
    loop {
        if let Ok(bytes) = std::fs::read(data_dir.join("restore-report.json")) {
            return serde_json::from_slice(&bytes).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "the phone wrote no restore report"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn confirmed_restore(password: Option<&str>) {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim, serial) = attached_phone(&adb, &[]);
    let sim = Arc::new(sim);
    let (_keep, path) = archive(password);
    let hash = file_hash(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    // Confirmed after a pause, as a person would: Plugback's writes stall, then move.
    let tap = answer_when_shown(&sim, Duration::from_millis(1500), Answer::Accept, password);
    let ran = restore_archive(&core_server(&adb), &serial, &path, AbSettings::default());
    tap.join().unwrap().unwrap();
    let confirm = ran.notes("android-confirm-restore");
    assert_eq!(confirm.len(), 1);
    assert!(confirm[0].contains("Restore my data"), "{}", confirm[0]);
    assert_eq!(confirm[0].contains("password"), password.is_some());
    assert_eq!(ran.notes("android-restore-sent").len(), 1);
    assert_eq!(ran.most_bytes_reported(), size);
    let outcome = ran.result.unwrap();
    assert_eq!(outcome.archive_bytes, size);
    assert_eq!(outcome.encrypted, password.is_some());
    assert!(outcome.reading_seen, "the phone was not seen reading");
    let report = phone_report(dir.path());
    assert_eq!(report["outcome"], "ok", "{report}");
    assert!(report["files_restored"].as_u64().unwrap() >= 12, "{report}");
    assert_eq!(file_hash(&path), hash);
}

#[test]
fn an_archive_restore_confirmed_on_the_phone_completes() {
    confirmed_restore(None);
}

#[test]
fn an_encrypted_archive_restore_confirmed_with_its_password_completes() {
    confirmed_restore(Some("correct horse"));
}

#[test]
fn an_archive_restore_refused_on_the_phone_ends_early() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim, serial) = attached_phone(&adb, &[]);
    let sim = Arc::new(sim);
    let (_keep, path) = archive(None);
    let hash = file_hash(&path);
    let tap = answer_when_shown(&sim, Duration::from_millis(300), Answer::Deny, None);
    let ran = restore_archive(&core_server(&adb), &serial, &path, AbSettings::default());
    tap.join().unwrap().unwrap();
    // Plugback sees the refusal when the phone closes the stream while the archive still
    // flows; when the adb server has already taken every byte (a loaded computer), it
    // cannot, and then it must not claim the phone read the archive.
    match &ran.result {
        Err(err) => {
            assert_eq!(err.code(), "android-restore-ended-early", "{err}");
            assert!(err.to_string().contains("Do not restore"), "{err}");
        }
        Ok(outcome) => {
            assert!(!outcome.reading_seen, "{outcome:?}");
            let sent = ran.notes("android-restore-sent");
            assert!(sent[0].contains("cannot tell"), "{}", sent[0]);
        }
    }
    assert_eq!(phone_report(dir.path())["outcome"], "denied");
    assert_eq!(file_hash(&path), hash);
}

#[test]
fn an_archive_restore_nobody_confirms_lapses_with_a_clear_error() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim, serial) = attached_phone(&adb, &[]);
    let (_keep, path) = archive(None);
    let hash = file_hash(&path);
    let settings = AbSettings {
        confirm_window: Duration::from_secs(3),
        ..AbSettings::default()
    };
    let ran = restore_archive(&core_server(&adb), &serial, &path, settings);
    match ran.result {
        Err(RestoreError::NotConfirmed { window }) => assert_eq!(window, Duration::from_secs(3)),
        other => panic!("expected an unconfirmed restore, got {other:?}"),
    }
    assert!(plugback_core::explain::explain("android-restore-not-confirmed").is_some());
    // The phone still shows its screen; nothing was restored. Tap it away.
    assert!(sim.phone().restore_prompt_showing());
    sim.control(ControlCommand::ConfirmRestore {
        answer: Answer::Deny,
        password: None,
    })
    .unwrap();
    assert_eq!(phone_report(dir.path())["outcome"], "denied");
    assert_eq!(file_hash(&path), hash);
}
