//! The command line, run as a script would run it, against generated backups and the
//! simulated phones. One test binary: each file under tests/ links on its own.

mod devices;
mod doctor;
mod health;
mod pair;
mod restore;
mod test_restore;

use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn plugback(args: &[&str]) -> Output {
    plugback_with_stdin(args, None)
}

fn plugback_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugback"))
        .args(args)
        // A private home: the test must never read or write the real settings.
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env_remove("PLUGBACK_BACKUP_DIRS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugback starts");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// A simulated usbmuxd on a free TCP port, keeping its state in `dir`/usbmuxd.
fn sim_usbmuxd(dir: &Path) -> plugback_sim::iphone::SimUsbmuxd {
    plugback_sim::iphone::SimUsbmuxd::start(
        plugback_sim::iphone::UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &dir.join("usbmuxd"),
    )
    .unwrap()
}

/// Everything a command printed, both streams, for assertion messages.
fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn generate(kind: Kind, out: &Path, f: impl FnOnce(&mut Spec)) -> PathBuf {
    let mut spec = Spec::new(kind);
    spec.kdf_cost = KdfCost::Low;
    f(&mut spec);
    make_backup(&spec, out).expect("generator works");
    out.to_path_buf()
}

fn codes(doc: &Value) -> Vec<String> {
    doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn version_names_the_build() {
    let out = plugback(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("plugback {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("built "), "{text}");
}

#[test]
fn backups_lists_every_kind_most_recent_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    generate(Kind::Ios, &root.join("ios-old"), |s| {
        s.date_unix = 1_600_000_000
    });
    generate(Kind::AndroidFolder, &root.join("android-new"), |s| {
        s.date_unix = 1_750_000_000
    });
    generate(Kind::IosMbdb, &root.join("ios-mbdb-mid"), |s| {
        s.date_unix = 1_700_000_000
    });
    std::fs::create_dir(root.join("not-a-backup")).unwrap();

    let out = plugback(&["backups", "--json", "--dir", root.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_of(&out);
    let names: Vec<String> = doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            Path::new(b["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["android-new", "ios-mbdb-mid", "ios-old"]);
    let kinds: Vec<&str> = doc["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["android-folder", "ios-legacy-mbdb", "ios"]);
}

#[test]
fn verify_plain_backup_passes_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generate(Kind::Ios, &dir.path().join("b"), |_| {});
    let before = plugback_sim::tree_hashes(&backup).unwrap();
    for depth in [&[][..], &["--deep"][..]] {
        let mut args = vec!["verify", "--json", backup.to_str().unwrap()];
        args.extend_from_slice(depth);
        let out = plugback(&args);
        let doc = json_of(&out);
        assert_eq!(out.status.code(), Some(0), "{doc}");
        assert_eq!(doc["ok"], true);
        assert_eq!(doc["kind"], "ios");
        assert!(
            doc["stats"]["files_expected"].as_u64().unwrap() > 5,
            "{doc}"
        );
    }
    assert_eq!(
        before,
        plugback_sim::tree_hashes(&backup).unwrap(),
        "verify must never modify a backup"
    );
}

#[test]
fn verify_reports_a_missing_blob_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generate(Kind::Ios, &dir.path().join("b"), |_| {});
    // Remove one blob (any file under a two-hex-digit folder).
    let blob = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().len() == 2)
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .next()
        .expect("a blob");
    std::fs::remove_file(&blob).unwrap();
    let out = plugback(&["verify", "--json", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json_of(&out);
    assert_eq!(doc["ok"], false);
    assert!(codes(&doc).contains(&"blob-missing".to_owned()), "{doc}");
    let problem = &doc["problems"][0];
    assert_eq!(problem["severity"], "error");
    assert!(!problem["message"].as_str().unwrap().is_empty());
}

#[test]
fn encrypted_backup_needs_the_right_password() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generate(Kind::Ios, &dir.path().join("enc"), |s| {
        s.password = Some("correct horse".into())
    });
    let path = backup.to_str().unwrap();

    let out = plugback(&["verify", "--json", path]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json_of(&out))[0], "password-required");

    let pw_file = dir.path().join("pw.txt");
    std::fs::write(&pw_file, "battery staple\n").unwrap();
    let out = plugback(&[
        "verify",
        "--json",
        "--password-file",
        pw_file.to_str().unwrap(),
        path,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&json_of(&out))[0], "wrong-password");

    let out = plugback_with_stdin(
        &["verify", "--deep", "--json", "--password-stdin", path],
        Some("correct horse\n"),
    );
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{doc}");
    assert_eq!(doc["stats"]["encrypted"], true);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("correct horse"),
        "the password must never be printed"
    );
}

#[test]
fn android_backups_verify_deeply() {
    let dir = tempfile::tempdir().unwrap();
    let ab = generate(Kind::AndroidAb, &dir.path().join("phone.ab"), |s| {
        s.password = Some("pw".into());
        s.ab_version = 5;
    });
    let folder = generate(Kind::AndroidFolder, &dir.path().join("folder"), |_| {});
    let out = plugback_with_stdin(
        &[
            "verify",
            "--deep",
            "--json",
            "--password-stdin",
            ab.to_str().unwrap(),
        ],
        Some("pw"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", json_of(&out));
    let out = plugback(&["verify", "--deep", "--json", folder.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", json_of(&out));
    assert_eq!(json_of(&out)["kind"], "android-folder");
}

#[test]
fn things_that_cannot_run_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = plugback(&["verify", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a phone backup"), "{err}");

    let backup = generate(Kind::Ios, &dir.path().join("b"), |_| {});
    let out = plugback(&[
        "verify",
        "--password-file",
        dir.path().join("absent.txt").to_str().unwrap(),
        backup.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("password file"));
}

#[test]
fn info_describes_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generate(Kind::Ios, &dir.path().join("b"), |s| {
        s.device_name = "Ada's iPhone".into();
        s.product_type = "iPhone15,2".into();
    });
    let out = plugback(&["info", "--json", backup.to_str().unwrap()]);
    assert!(out.status.success());
    let doc = json_of(&out);
    assert_eq!(doc["device_name"], "Ada's iPhone");
    assert_eq!(doc["model"], "iPhone 14 Pro");
    assert!(doc["file_count"].as_u64().unwrap() > 5);
}

#[test]
fn explain_knows_every_problem_code() {
    for code in ["blob-missing", "wrong-password", "ab-truncated"] {
        let out = plugback(&["explain", code]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("What to do"));
    }
    assert_eq!(
        plugback(&["explain", "no-such-thing-at-all"]).status.code(),
        Some(2)
    );
}

#[test]
fn a_closed_pipe_stops_quietly_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugback"))
        .arg("explain")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader goes away after one line, as `| head -1` does.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains(':'));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// A backup that a phone makes through libimobiledevice's own tool is a backup Plugback
/// accepts: the simulated iPhone uploads its storage to `idevicebackup2 backup`, and deep
/// verify reads every file of the result.
#[test]
fn a_backup_made_by_idevicebackup2_passes_deep_verify() {
    use plugback_sim::iphone::IphoneConfig;
    let (Some(idevicepair), Some(idevicebackup2)) = (
        plugback_sim::peers::require_tool("idevicepair"),
        plugback_sim::peers::require_tool("idevicebackup2"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mux = sim_usbmuxd(dir.path());
    let phone = mux
        .add_iphone(IphoneConfig::new(dir.path().join("phone")))
        .unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let tool = |program: &Path, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .env("USBMUXD_SOCKET_ADDRESS", mux.address().to_string())
            .env("HOME", &home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{} {args:?}: {text}",
            program.display()
        );
        text
    };
    tool(&idevicepair, &["-u", phone.udid(), "pair"]);
    let out = dir.path().join("backups");
    std::fs::create_dir_all(&out).unwrap();
    let text = tool(
        &idevicebackup2,
        &[
            "-u",
            phone.udid(),
            "backup",
            "--full",
            out.to_str().unwrap(),
        ],
    );
    assert!(text.contains("Backup Successful"), "{text}");

    let backup = out.join(phone.udid());
    let verified = plugback(&["verify", "--deep", "--json", backup.to_str().unwrap()]);
    let doc = json_of(&verified);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "deep verify refused the phone's backup: {doc}"
    );
    assert!(codes(&doc).is_empty(), "{doc}");
    assert_eq!(doc["depth"], "deep", "{doc}");
    let checked = doc["stats"]["files_checked"].as_u64().unwrap_or(0);
    assert!(checked > 0, "{doc}");
    assert_eq!(
        Some(checked),
        doc["stats"]["files_expected"].as_u64(),
        "{doc}"
    );
}
