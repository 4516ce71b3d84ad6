//! `plugback test-restore`: a backup restored into a simulated phone inside Plugback, every
//! file compared; damaged backups and real ones from the shared fixtures. iPhone backups,
//! Plugback Android backup folders and adb backups (.ab); the Android ones need adb.

use plugback_core::backup::android::{EntryKind, list_ab_entries};
use plugback_core::secret::Password;
use plugback_sim::make_backup::{KdfCost, Kind, Made, Spec, make_backup};
use plugback_sim::peers::require_tool;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

fn test_restore(backup: &Path, password: Option<&str>) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "test-restore".to_owned(),
        backup.display().to_string(),
        "--json".to_owned(),
    ];
    if let Some(password) = password {
        let file = dir.path().join("password");
        std::fs::write(&file, password).unwrap();
        args.extend(["--password-file".to_owned(), file.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = super::plugback(&args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), doc, super::printed(&out))
}

fn generated(dir: &Path, password: Option<&str>) -> std::path::PathBuf {
    let path = dir.join("backup");
    let mut spec = Spec::new(Kind::Ios);
    spec.kdf_cost = KdfCost::Low;
    spec.password = password.map(str::to_owned);
    make_backup(&spec, &path).unwrap();
    path
}

#[test]
fn an_encrypted_backup_arrives_intact_and_is_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generated(dir.path(), Some("pw"));
    let before = plugback_sim::tree_hashes(&backup).unwrap();
    let (code, doc, printed) = test_restore(&backup, Some("pw"));
    assert_eq!(code, Some(0), "{printed}");
    assert_eq!(doc["ok"], true, "{doc}");
    assert!(doc["files_expected"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(doc["files_intact"], doc["files_expected"], "{doc}");
    assert_eq!(plugback_sim::tree_hashes(&backup).unwrap(), before);

    let (code, doc, printed) = test_restore(&backup, Some("nope"));
    assert_eq!(code, Some(2), "{printed}");
    assert_eq!(doc["error"]["code"], "wrong-password", "{doc}");
}

#[test]
fn a_backup_missing_a_file_does_not_pass() {
    let dir = tempfile::tempdir().unwrap();
    let backup = generated(dir.path(), None);
    // Remove one file's data: the backup still lists it.
    let blob = std::fs::read_dir(&backup)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 2 && e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .next()
        .unwrap()
        .path();
    std::fs::remove_file(&blob).unwrap();
    let (code, doc, printed) = test_restore(&backup, None);
    assert_eq!(code, Some(1), "{printed}");
    assert_eq!(doc["ok"], false, "{doc}");
}

#[test]
fn a_real_encrypted_backup_is_decrypted_and_judged_as_a_phone_would() {
    let Some(fixtures) = plugback_sim::peers::shared_fixtures() else {
        return;
    };
    // A real backup whose Status.plist is a stub without SnapshotState: a phone refuses
    // it as unfinished (error 205), after reading its real encrypted Manifest.db.
    let backup = fixtures.join("ios/pyiosbackup_encrypted_manifestdb_pw0000");
    let (code, doc, printed) = test_restore(&backup, Some("0000"));
    assert_eq!(code, Some(1), "{printed}");
    assert_eq!(doc["error"]["code"], "mb-205", "{doc}");
    assert!(!printed.contains("panicked"), "{printed}");
}

/// A generated Android backup of `kind` (a folder, or an `.ab` file) in `dir`.
fn android(dir: &Path, kind: Kind, password: Option<&str>) -> Made {
    let path = dir.join(if kind == Kind::AndroidAb {
        "backup.ab"
    } else {
        "backup"
    });
    let mut spec = Spec::new(kind);
    spec.kdf_cost = KdfCost::Low;
    spec.password = password.map(str::to_owned);
    spec.files = 6;
    spec.file_size = 3000;
    make_backup(&spec, &path).unwrap()
}

fn names(doc: &Value, list: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {doc}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The regular files of an archive, as Plugback's own reader lists them.
fn archive_files(path: &Path, password: Option<&str>) -> u64 {
    let password = password.map(Password::new);
    let (_, entries) = list_ab_entries(path, password.as_ref()).unwrap();
    entries.iter().filter(|e| e.kind == EntryKind::File).count() as u64
}

#[test]
fn an_android_backup_folder_arrives_intact_with_its_apps() {
    if require_tool("adb").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidFolder, None);
    let before = plugback_sim::tree_hashes(&made.path).unwrap();
    let (code, doc, printed) = test_restore(&made.path, None);
    assert_eq!(code, Some(0), "{printed}");
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["files_expected"], made.files as u64, "{doc}");
    assert_eq!(doc["files_intact"], made.files as u64, "{doc}");
    assert_eq!(doc["apps_expected"], 2, "{doc}");
    assert_eq!(doc["apps_intact"], 2, "{doc}");
    assert!(doc["bytes"].as_u64().unwrap() >= made.bytes, "{doc}");
    assert!(
        doc["compared"].as_str().unwrap().contains("SHA-256"),
        "{doc}"
    );
    assert_eq!(plugback_sim::tree_hashes(&made.path).unwrap(), before);
}

#[test]
fn a_damaged_android_backup_folder_names_what_did_not_arrive_intact() {
    if require_tool("adb").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidFolder, None);
    // One file changed inside the backup, its size kept: the restore checks sizes and
    // sends it; only the comparison with the file list's SHA-256 can tell.
    let changed = made.path.join("files/sdcard/Documents/todo.txt");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&changed, &bytes).unwrap();
    // Another one gone: the restore leaves it out and says so.
    std::fs::remove_file(made.path.join("files/sdcard/Download/flag.bin")).unwrap();
    let before = plugback_sim::tree_hashes(&made.path).unwrap();

    let (code, doc, printed) = test_restore(&made.path, None);
    assert_eq!(code, Some(1), "{printed}");
    assert_eq!(doc["ok"], false, "{doc}");
    assert_eq!(doc["files_expected"], made.files as u64, "{doc}");
    assert_eq!(doc["files_intact"], made.files as u64 - 2, "{doc}");
    assert_eq!(names(&doc, "different"), ["/sdcard/Documents/todo.txt"]);
    assert_eq!(names(&doc, "missing"), ["/sdcard/Download/flag.bin"]);
    let left_out = names(&doc, "left_out");
    assert!(
        left_out.len() == 1 && left_out[0].starts_with("/sdcard/Download/flag.bin: "),
        "{left_out:?}"
    );
    assert_eq!(doc["apps_intact"], 2, "{doc}");
    assert_eq!(plugback_sim::tree_hashes(&made.path).unwrap(), before);
}

#[test]
fn a_plain_adb_backup_arrives_intact() {
    if require_tool("adb").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidAb, None);
    let before = plugback_sim::tree_hashes(dir.path()).unwrap();
    let (code, doc, printed) = test_restore(&made.path, None);
    assert_eq!(code, Some(0), "{printed}");
    assert_eq!(doc["ok"], true, "{doc}");
    let files = archive_files(&made.path, None);
    // The apps' data files, with each app's manifest and APK besides.
    assert!(files > made.files as u64, "{files} {}", made.files);
    assert_eq!(doc["files_expected"], files, "{doc}");
    assert_eq!(doc["files_intact"], files, "{doc}");
    assert_eq!(
        doc["bytes"],
        std::fs::metadata(&made.path).unwrap().len(),
        "{doc}"
    );
    assert_eq!(plugback_sim::tree_hashes(dir.path()).unwrap(), before);
}

#[test]
fn an_encrypted_adb_backup_arrives_intact_and_a_wrong_password_is_refused() {
    if require_tool("adb").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidAb, Some("correct horse"));
    let before = plugback_sim::tree_hashes(dir.path()).unwrap();
    let (code, doc, printed) = test_restore(&made.path, Some("correct horse"));
    assert_eq!(code, Some(0), "{printed}");
    let files = archive_files(&made.path, Some("correct horse"));
    assert_eq!(doc["files_expected"], files, "{doc}");
    assert_eq!(doc["files_intact"], files, "{doc}");

    // Refused before any phone starts, as for an iPhone backup: the check cannot run.
    for wrong in [Some("battery staple"), None] {
        let (code, doc, printed) = test_restore(&made.path, wrong);
        assert_eq!(code, Some(2), "{printed}");
        assert_eq!(doc["error"]["code"], "wrong-password", "{doc}");
    }
    assert_eq!(plugback_sim::tree_hashes(dir.path()).unwrap(), before);
}

#[test]
fn a_cut_short_adb_backup_does_not_pass() {
    if require_tool("adb").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidAb, None);
    let bytes = std::fs::read(&made.path).unwrap();
    std::fs::write(&made.path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    // Found before any phone starts, so no phone waits for the rest of it.
    let (code, doc, printed) = test_restore(&made.path, None);
    assert_eq!(code, Some(1), "{printed}");
    assert_eq!(doc["ok"], false, "{doc}");
    assert_eq!(doc["error"]["code"], "restore-backup-unreadable", "{doc}");
    assert!(!printed.contains("panicked"), "{printed}");
}

#[test]
fn a_real_adb_backup_arrives_intact() {
    let Some(fixtures) = plugback_sim::peers::shared_fixtures() else {
        return;
    };
    if require_tool("adb").is_none() {
        return;
    }
    let backup = fixtures.join("android/bluec0re/bluec0re_nonenc_compressed.ab");
    let before = std::fs::read(&backup).unwrap();
    let (code, doc, printed) = test_restore(&backup, None);
    assert_eq!(code, Some(0), "{printed}");
    // _manifest, r/settings.cfg, db/foo.db and sp/foo.xml of one app.
    assert_eq!(doc["files_expected"], 4, "{doc}");
    assert_eq!(doc["files_intact"], 4, "{doc}");
    assert_eq!(std::fs::read(&backup).unwrap(), before);
}

#[test]
fn without_adb_an_android_backup_cannot_be_tested_and_the_fix_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let made = android(dir.path(), Kind::AndroidFolder, None);
    let home = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plugback"))
        .args(["test-restore", made.path.to_str().unwrap(), "--json"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("PATH", empty_path.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let printed = super::printed(&out);
    assert_eq!(out.status.code(), Some(2), "{printed}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "test-restore-needs-adb", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sudo apt install adb"),
        "{doc}"
    );
    assert!(doc["error"]["fix"].as_str().is_some(), "{doc}");
}
