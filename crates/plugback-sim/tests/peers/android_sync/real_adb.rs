//! `adb push`, `adb pull`, `adb ls` and `adb restore` from Android's own adb, against the
//! simulated phone.

use super::{ab_contents, expected_restore, regular_files, restored_tree};
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::peers::{AdbServer, COMMAND_DEADLINE, text, wait_with_deadline};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::FileTimes;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// A simulated phone attached to a private adb server, up as `device`. Fields drop in
/// order: the server stops before the phone, the phone before its folder goes.
struct Rig {
    adb: AdbServer,
    serial: String,
    sim: SimAndroid,
    /// The phone's DATA folder.
    data: PathBuf,
    dir: tempfile::TempDir,
}

impl Rig {
    /// None (after a notice) when adb is not installed.
    fn attached(change: impl FnOnce(&mut AndroidConfig)) -> Option<Rig> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = AndroidConfig::new(dir.path().join("phone"));
        change(&mut config);
        let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
        let adb = AdbServer::start()?;
        let serial = sim.address().to_string();
        adb.attach(&serial);
        let data = sim.phone().data_dir().to_path_buf();
        Some(Rig {
            adb,
            serial,
            sim,
            data,
            dir,
        })
    }

    /// `adb -s SERIAL args…`.
    fn on_phone(&self, args: &[&str]) -> Output {
        self.adb.on(&self.serial, args)
    }

    fn spawn_on_phone(&self, args: &[&str]) -> Child {
        self.adb.spawn_on(&self.serial, args)
    }

    /// Waits until the phone shows its restore confirmation.
    fn wait_for_restore_prompt(&self) {
        let phone = self.sim.phone();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !phone.restore_prompt_showing() {
            assert!(Instant::now() < deadline, "the confirmation never showed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn write_with_mtime(path: &Path, content: &[u8], seconds: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    let time = UNIX_EPOCH + Duration::from_secs(seconds);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_times(FileTimes::new().set_modified(time).set_accessed(time))
        .unwrap();
}

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 9) as u8)
        .collect()
}

/// Every regular file under `root`: relative path → (content, mtime).
fn tree(root: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    regular_files(root, root)
        .into_iter()
        .map(|(relative, path)| (relative, (std::fs::read(&path).unwrap(), mtime(&path))))
        .collect()
}

const SIZES: [usize; 7] = [0, 1, 65_535, 65_536, 65_537, 200_000, 3_000_000];

#[test]
fn adb_push_and_pull_files_byte_identical_with_mtimes() {
    let Some(rig) = Rig::attached(|_| {}) else {
        return;
    };
    let (dir, data) = (&rig.dir, &rig.data);
    // A phone's shared storage has its standard folders; adb pushes into "Download/".
    std::fs::create_dir_all(data.join("sdcard/Download")).unwrap();
    let local = dir.path().join("local");
    for (i, size) in SIZES.into_iter().enumerate() {
        let name = format!("file-{size}.bin");
        let source = local.join(&name);
        write_with_mtime(
            &source,
            &pattern(size, i as u8),
            1_600_000_000 + i as u64 * 1000,
        );
        let out = rig.on_phone(&["push", source.to_str().unwrap(), "/sdcard/Download/"]);
        assert!(out.status.success(), "push {name}: {}", text(&out.stderr));
        let on_phone = data.join("sdcard/Download").join(&name);
        assert_eq!(
            std::fs::read(&on_phone).unwrap(),
            pattern(size, i as u8),
            "{name}"
        );
        // adb push sends the source mtime in DONE.
        assert_eq!(mtime(&on_phone), mtime(&source), "{name}");
    }
    // `pull -a` keeps the phone's mtime; a plain pull is byte-identical too.
    let pulled = dir.path().join("pulled");
    std::fs::create_dir_all(&pulled).unwrap();
    for (i, size) in SIZES.into_iter().enumerate() {
        let name = format!("file-{size}.bin");
        let target = pulled.join(&name);
        let out = rig.on_phone(&[
            "pull",
            "-a",
            &format!("/sdcard/Download/{name}"),
            target.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "pull {name}: {}", text(&out.stderr));
        assert_eq!(
            std::fs::read(&target).unwrap(),
            pattern(size, i as u8),
            "{name}"
        );
        assert_eq!(mtime(&target), 1_600_000_000 + i as u64 * 1000, "{name}");
    }
    let out = rig.on_phone(&[
        "pull",
        "/storage/emulated/0/Download/file-1.bin",
        dir.path().join("one").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(dir.path().join("one")).unwrap(),
        pattern(1, 1)
    );
    // A file that is not there.
    let out = rig.on_phone(&[
        "pull",
        "/sdcard/nope.bin",
        dir.path().join("nope").to_str().unwrap(),
    ]);
    // adb 29 prints sync errors on stdout.
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("No such file or directory"), "{said}");
}

#[test]
fn adb_push_and_pull_folders_and_adb_ls_lists_them() {
    let Some(rig) = Rig::attached(|_| {}) else {
        return;
    };
    let (dir, data) = (&rig.dir, &rig.data);
    let local = dir.path().join("Photos");
    let files = [
        ("a.jpg", 70_000),
        ("2024/b.jpg", 1),
        ("2024/summer/c.jpg", 300_000),
        ("2024/summer/deep/er/d.txt", 0),
        ("Caf\u{e9} \u{2615}/e.txt", 12),
    ];
    for (i, (name, size)) in files.iter().enumerate() {
        write_with_mtime(
            &local.join(name),
            &pattern(*size, i as u8),
            1_500_000_000 + i as u64,
        );
    }
    let out = rig.on_phone(&["push", local.to_str().unwrap(), "/sdcard/Pictures/Photos"]);
    assert!(out.status.success(), "push: {}", text(&out.stderr));
    let sent = tree(&local);
    assert_eq!(tree(&data.join("sdcard/Pictures/Photos")), sent);

    let out = rig.on_phone(&["ls", "/sdcard/Pictures/Photos/2024"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    for name in [".", "..", "b.jpg", "summer"] {
        assert!(names.contains(&name), "{name} missing from {listing}");
    }

    let pulled = dir.path().join("pulled");
    std::fs::create_dir_all(&pulled).unwrap();
    let out = rig.on_phone(&[
        "pull",
        "-a",
        "/sdcard/Pictures/Photos",
        pulled.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "pull: {}", text(&out.stderr));
    assert_eq!(tree(&pulled.join("Photos")), sent);
}

#[test]
fn adb_push_cannot_leave_the_phone_storage() {
    let Some(rig) = Rig::attached(|_| {}) else {
        return;
    };
    let (dir, data) = (&rig.dir, &rig.data);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), data.join("sdcard/escape")).unwrap();
    let source = dir.path().join("x.txt");
    std::fs::write(&source, b"should not land").unwrap();
    for target in [
        "/sdcard/../../etc/x",
        "/sdcard/escape/x",
        "/sdcard/escape/sub/x",
        "/system/x",
    ] {
        let out = rig.on_phone(&["push", source.to_str().unwrap(), target]);
        assert!(!out.status.success(), "{target} was accepted");
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!data.join("system/x").exists());
    assert!(!dir.path().join("etc").exists());
    // The connection is still good for a push that is allowed.
    let out = rig.on_phone(&["push", source.to_str().unwrap(), "/sdcard/ok.txt"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(data.join("sdcard/ok.txt")).unwrap(),
        b"should not land"
    );
}

fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

fn report(data: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data.join("restore-report.json")).unwrap()).unwrap()
}

#[test]
fn adb_restore_of_plain_archives_with_auto_confirm() {
    for compressed in [true, false] {
        let Some(rig) = Rig::attached(|c| c.auto_confirm_restore = true) else {
            return;
        };
        let (dir, data) = (&rig.dir, &rig.data);
        let mut spec = Spec::new(Kind::AndroidAb);
        spec.ab_compressed = compressed;
        spec.files = 10;
        let ab = dir.path().join("backup.ab");
        make_backup(&spec, &ab).unwrap();
        let before = sha256(&ab);
        let out = rig.on_phone(&["restore", ab.to_str().unwrap()]);
        assert!(out.status.success(), "restore: {}", text(&out.stderr));
        let expected = expected_restore(&ab_contents(&std::fs::read(&ab).unwrap()));
        assert_eq!(restored_tree(data), expected, "compressed={compressed}");
        assert_eq!(report(data)["outcome"], "ok");
        assert_eq!(sha256(&ab), before, "the computer's archive changed");
    }
}

#[test]
fn adb_restore_denied_on_the_phone_restores_nothing() {
    let Some(rig) = Rig::attached(|_| {}) else {
        return;
    };
    let (dir, sim, data) = (&rig.dir, &rig.sim, &rig.data);
    let ab = dir.path().join("backup.ab");
    make_backup(&Spec::new(Kind::AndroidAb), &ab).unwrap();
    let child = rig.spawn_on_phone(&["restore", ab.to_str().unwrap()]);
    rig.wait_for_restore_prompt();
    sim.control(ControlCommand::ConfirmRestore {
        answer: Answer::Deny,
        password: None,
    })
    .unwrap();
    let _ = wait_with_deadline(child, COMMAND_DEADLINE);
    assert!(!data.join("restored").exists());
    assert_eq!(report(data)["outcome"], "denied");
}

/// An encrypted archive restored through real adb, the password typed on the phone's
/// confirmation screen: the phone restores what the plain twin of the archive holds. A
/// wrong password restores nothing and says so in the phone's report.
#[test]
fn adb_restore_of_an_encrypted_archive_with_the_password_typed_on_the_phone() {
    const PASSWORD: &str = "correct horse battery";
    for (typed, outcome) in [(PASSWORD, "ok"), ("wrong horse", "wrong-password")] {
        let Some(rig) = Rig::attached(|_| {}) else {
            return;
        };
        let (dir, sim, data) = (&rig.dir, &rig.sim, &rig.data);
        let mut spec = Spec::new(Kind::AndroidAb);
        spec.files = 6;
        let plain = dir.path().join("plain.ab");
        make_backup(&spec, &plain).unwrap();
        spec.password = Some(PASSWORD.into());
        let ab = dir.path().join("encrypted.ab");
        make_backup(&spec, &ab).unwrap();
        let before = sha256(&ab);

        let child = rig.spawn_on_phone(&["restore", ab.to_str().unwrap()]);
        rig.wait_for_restore_prompt();
        sim.control(ControlCommand::parse(&format!("confirm-restore {typed}")).unwrap())
            .unwrap();
        let out = wait_with_deadline(child, COMMAND_DEADLINE);
        assert!(out.status.success(), "restore: {}", text(&out.stderr));
        assert_eq!(report(data)["outcome"], outcome, "typed {typed:?}");
        if outcome == "ok" {
            let expected = expected_restore(&ab_contents(&std::fs::read(&plain).unwrap()));
            assert_eq!(restored_tree(data), expected);
        } else {
            assert!(
                !data.join("restored").exists(),
                "a wrong password restored files"
            );
        }
        assert_eq!(sha256(&ab), before, "the computer's archive changed");
    }
}
