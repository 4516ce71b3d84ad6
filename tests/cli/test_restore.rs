//! `plugback test-restore`: a backup restored into a simulated phone inside Plugback, every
//! file compared; a damaged backup and a real one from the shared fixtures.

use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use serde_json::Value;
use std::path::Path;

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
