//! `plugback restore` against the simulated iPhone: the preflight, the restore, the last
//! JSON line scripts read, and the backup left exactly as it was.

use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimIphone};
use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use plugback_sim::peers::free_port;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Bench {
    dir: tempfile::TempDir,
    home: PathBuf,
    mux: plugback_sim::iphone::SimUsbmuxd,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mux = super::sim_usbmuxd(dir.path());
        Bench { dir, home, mux }
    }

    /// A paired phone with `change` applied.
    fn phone(&self, change: impl FnOnce(&mut IphoneConfig)) -> SimIphone {
        let mut config = IphoneConfig::new(self.dir.path().join("phone"));
        change(&mut config);
        let phone = self.mux.add_iphone(config).unwrap();
        let paired = self.plugback(&["pair", phone.udid(), "--timeout", "30"], None);
        assert_eq!(paired.status.code(), Some(0), "{}", super::printed(&paired));
        phone
    }

    /// A generated backup named after `phone`, as Finder names them.
    fn backup(&self, phone: &SimIphone, password: Option<&str>) -> PathBuf {
        let path = self.dir.path().join("backups").join(phone.udid());
        let mut spec = Spec::new(Kind::Ios);
        spec.kdf_cost = KdfCost::Low;
        spec.password = password.map(str::to_owned);
        make_backup(&spec, &path).unwrap();
        path
    }

    fn plugback(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugback"));
        cmd.args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("USBMUXD_SOCKET_ADDRESS", self.mux.address().to_string())
            // No adb here: only the iPhone is looked at.
            .env("ANDROID_ADB_SERVER_PORT", free_port().to_string())
            .env("PATH", &self.home)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(password) = password {
            let file = self.home.join("password.txt");
            std::fs::write(&file, format!("{password}\n")).unwrap();
            cmd.arg("--password-file").arg(file);
        }
        cmd.stdin(Stdio::null()).output().unwrap()
    }

    fn restore(
        &self,
        phone: &SimIphone,
        backup: &Path,
        password: Option<&str>,
    ) -> (Output, Vec<Value>) {
        let args = [
            "restore",
            "--device",
            &phone.udid()[..10],
            "--backup",
            backup.to_str().unwrap(),
            "--yes",
            "--skip-cable-check",
            "--json",
        ];
        let out = self.plugback(&args, password);
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("not a JSON line ({e}): {l}\n{}", super::printed(&out))
                })
            })
            .collect();
        (out, lines)
    }
}

#[test]
fn an_encrypted_backup_is_restored_and_left_untouched() {
    let bench = Bench::new();
    let phone = bench.phone(|_| {});
    let backup = bench.backup(&phone, Some("s3cret"));
    let before = plugback_sim::tree_hashes(&backup).unwrap();

    let (out, lines) = bench.restore(&phone, &backup, Some("s3cret"));
    assert_eq!(out.status.code(), Some(0), "{}", super::printed(&out));
    let preflight = &lines[0];
    assert_eq!(preflight["event"], "preflight");
    let password = preflight["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "backup-password")
        .unwrap();
    assert_eq!(password["status"], "pass", "{preflight}");
    assert!(lines.iter().any(|l| l["event"] == "progress"));
    let last = lines.last().unwrap();
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["error"], Value::Null);
    assert_eq!(last["restarts"], 0);
    assert!(last["files"].as_u64().unwrap() > 0, "{last}");

    let restored = files_under(&phone.phone().restored_dir()).unwrap();
    assert_eq!(restored, expected_files(&backup, Some("s3cret")).unwrap());
    assert_eq!(
        plugback_sim::tree_hashes(&backup).unwrap(),
        before,
        "the backup changed"
    );
    let printed = super::printed(&out);
    assert!(!printed.contains("s3cret"), "the password was printed");
}

#[test]
fn a_wrong_password_is_refused_before_the_phone_is_touched() {
    let bench = Bench::new();
    let phone = bench.phone(|_| {});
    let backup = bench.backup(&phone, Some("right"));
    let (out, lines) = bench.restore(&phone, &backup, Some("wrong"));
    assert_eq!(out.status.code(), Some(3), "{}", super::printed(&out));
    let last = lines.last().unwrap();
    assert_eq!(last["ok"], false);
    assert_eq!(last["error"]["code"], "preflight-blocked", "{last}");
    let items = lines[0]["items"].as_array().unwrap();
    let password = items.iter().find(|i| i["id"] == "backup-password").unwrap();
    assert_eq!(password["status"], "block", "{password}");
    assert!(
        files_under(&phone.phone().restored_dir())
            .map(|f| f.is_empty())
            .unwrap_or(true),
        "something reached the phone"
    );
}

#[test]
fn find_my_on_blocks_with_its_fix_and_a_missing_phone_cannot_run() {
    let bench = Bench::new();
    let phone = bench.phone(|c| c.find_my = true);
    let backup = bench.backup(&phone, None);
    let (out, lines) = bench.restore(&phone, &backup, None);
    assert_eq!(out.status.code(), Some(3), "{}", super::printed(&out));
    let items = lines[0]["items"].as_array().unwrap();
    let find_my = items.iter().find(|i| i["id"] == "find-my").unwrap();
    assert_eq!(find_my["status"], "block");
    assert!(
        find_my["fix"].as_str().unwrap().contains("Find My"),
        "{find_my}"
    );

    let out = bench.plugback(
        &[
            "restore",
            "--device",
            "nosuchphone",
            "--backup",
            backup.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", super::printed(&out));
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "device-not-found", "{last}");
}

/// A simulated Android phone attached to a private adb server, and `plugback` run against
/// them.
struct AndroidBench {
    dir: tempfile::TempDir,
    home: PathBuf,
    /// The phone's storage: each phone path lives under it.
    data: PathBuf,
    adb: plugback_sim::peers::AdbServer,
    _sim: plugback_sim::android::SimAndroid,
    serial: String,
}

impl AndroidBench {
    /// None (with a notice) when adb is not installed.
    fn start() -> Option<AndroidBench> {
        use plugback_sim::android::{AndroidConfig, SimAndroid};
        let adb = plugback_sim::peers::AdbServer::start()?;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let data = dir.path().join("phone");
        let sim = SimAndroid::start(
            AndroidConfig::new(data.clone()),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let serial = sim.address().to_string();
        adb.attach(&serial);
        Some(AndroidBench {
            dir,
            home,
            data,
            adb,
            _sim: sim,
            serial,
        })
    }

    /// `plugback restore` of `source` to the phone; the output and its last JSON line.
    fn restore(&self, source: &Path, extra: &[&str]) -> (Output, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_plugback"))
            .args(["restore", "--device", &self.serial, "--backup"])
            .arg(source)
            .args(["--yes", "--skip-cable-check", "--json"])
            .args(extra)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env(
                "USBMUXD_SOCKET_ADDRESS",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("ANDROID_ADB_SERVER_PORT", self.adb.port().to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        (out, last)
    }

    /// What the phone holds at `phone_path`.
    fn on_phone(&self, phone_path: &str) -> Vec<u8> {
        std::fs::read(self.data.join(phone_path.trim_start_matches('/'))).unwrap_or_default()
    }
}

/// The preflight item `id` of a `--json` restore's output.
fn preflight_item(out: &Output, id: &str) -> Value {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["event"] == "preflight")
        .and_then(|p| {
            p["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["id"] == id).cloned())
        })
        .unwrap_or(Value::Null)
}

#[test]
fn an_android_backup_folder_is_restored_through_the_adb_server() {
    use plugback_core::restore::android::{AppPlan, FilePlan};
    let Some(bench) = AndroidBench::start() else {
        return;
    };
    let backup = bench.dir.path().join("backup");
    let mut spec = Spec::new(Kind::AndroidFolder);
    spec.files = 12;
    make_backup(&spec, &backup).unwrap();
    let before = plugback_sim::tree_hashes(&backup).unwrap();

    let (out, last) = bench.restore(&backup, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", super::printed(&out));
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["resumes"], 0);

    // Every file of the backup is on the phone, byte for byte.
    let plan = FilePlan::from_backup_folder(&backup).unwrap();
    let apps = AppPlan::from_backup_folder(&backup).unwrap();
    assert!(!apps.apps.is_empty());
    // Files and installed apps.
    assert_eq!(
        last["files"],
        (plan.items.len() + apps.apps.len()) as u64,
        "{last}"
    );
    for item in &plan.items {
        assert_eq!(
            bench.on_phone(&item.phone_path),
            std::fs::read(&item.local).unwrap(),
            "{}",
            item.phone_path
        );
    }
    assert_eq!(
        plugback_sim::tree_hashes(&backup).unwrap(),
        before,
        "the backup changed"
    );
}

#[test]
fn a_plain_folder_of_photos_is_restored_where_the_user_asked() {
    let Some(bench) = AndroidBench::start() else {
        return;
    };
    // A copy of a phone's DCIM folder, as someone keeps it on a computer.
    let folder = bench.dir.path().join("DCIM copy");
    let photos = [
        ("Camera/IMG_0001.jpg", 70_000),
        ("Camera/IMG_0002.jpg", 1),
        ("Camera/2024/VID_0003.mp4", 300_000),
        ("Screenshots/shot.png", 5_000),
    ];
    for (i, (name, size)) in photos.iter().enumerate() {
        let path = folder.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![i as u8 + 1; *size]).unwrap();
    }
    let before = plugback_sim::tree_hashes(&folder).unwrap();

    let (out, last) = bench.restore(&folder, &["--to", "/sdcard/DCIM"]);
    assert_eq!(out.status.code(), Some(0), "{}", super::printed(&out));
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["files"], photos.len() as u64, "{last}");
    let checked = preflight_item(&out, "backup-verified");
    assert_eq!(checked["status"], "pass", "{checked}");
    assert!(
        checked["message"]
            .as_str()
            .unwrap_or("")
            .contains("4 files"),
        "{checked}"
    );
    for (name, _) in photos {
        assert_eq!(
            bench.on_phone(&format!("/sdcard/DCIM/{name}")),
            std::fs::read(folder.join(name)).unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        plugback_sim::tree_hashes(&folder).unwrap(),
        before,
        "the folder changed"
    );

    // An empty folder is stopped by the preflight, with its fix.
    let empty = bench.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (out, last) = bench.restore(&empty, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", super::printed(&out));
    assert_eq!(last["error"]["code"], "preflight-blocked", "{last}");
    let checked = preflight_item(&out, "backup-verified");
    assert_eq!(checked["status"], "block", "{checked}");
    assert!(
        !checked["fix"].as_str().unwrap_or("").is_empty(),
        "{checked}"
    );
}

#[test]
fn an_app_needing_a_newer_android_is_named_by_the_preflight_and_left_to_the_phone() {
    let Some(bench) = AndroidBench::start() else {
        return;
    };
    // The simulated phone runs Android 14 (API level 34); one app needs Android 15.
    let backup = bench.dir.path().join("backup");
    let mut spec = Spec::new(Kind::AndroidFolder);
    spec.app_min_sdk.insert("com.example.photos".into(), 35);
    make_backup(&spec, &backup).unwrap();

    let (out, last) = bench.restore(&backup, &[]);
    let versions = preflight_item(&out, "versions");
    assert_eq!(versions["status"], "warn", "{versions}");
    assert_eq!(
        versions["message"],
        "1 app needs a newer Android than this phone has (Android 14): com.example.photos \
         (Android 15); the phone will refuse it, everything else is restored, and the report names what was left out.",
        "{versions}"
    );
    assert!(
        versions["fix"]
            .as_str()
            .unwrap_or("")
            .contains("--skip-apps"),
        "{versions}"
    );
    // A warning does not stop the restore: the files and the other app go on the phone,
    // the phone refuses that app alone, and the result says the restore is incomplete.
    assert_eq!(out.status.code(), Some(1), "{}", super::printed(&out));
    assert_eq!(last["error"]["code"], "restore-incomplete", "{last}");
    let plan = plugback_core::restore::android::FilePlan::from_backup_folder(&backup).unwrap();
    for item in &plan.items {
        assert_eq!(
            bench.on_phone(&item.phone_path),
            std::fs::read(&item.local).unwrap(),
            "{}",
            item.phone_path
        );
    }
    let installed = std::fs::read_to_string(bench.data.join("packages.json")).unwrap_or_default();
    assert!(installed.contains("\"com.example.notes\""), "{installed}");
    assert!(!installed.contains("\"com.example.photos\""), "{installed}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains(
            "INSTALL_FAILED_OLDER_SDK: Requires newer sdk version #35 (current version is #34)"
        ),
        "{}",
        super::printed(&out)
    );
}
