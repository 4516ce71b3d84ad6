//! The simulated iPhone's notification_proxy, AFC and mobilebackup2 against Debian's
//! `idevicebackup2` (libimobiledevice 1.3.0): restores of generated backups, the phone's
//! refusals, an unplug mid-restore, hostile paths, and a backup made by the phone.

use crate::iphone_tools::{Ran, Rig};
use plugback_sim::fault::Fault;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimIphone};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::peers::require_tool;
use plugback_sim::tree_hashes;
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

/// A paired phone and the folder of backups the tool works in.
struct Bench {
    rig: Rig,
    phone: SimIphone,
    tool: PathBuf,
    backups: PathBuf,
}

/// Starts a simulator with one phone (newer iOS than the generated backups), pairs it
/// with idevicepair, then applies `change` (a locked phone refuses to pair).
fn bench(change: impl FnOnce(&mut IphoneConfig)) -> Option<Bench> {
    let tool = require_tool("idevicebackup2")?;
    let idevicepair = require_tool("idevicepair")?;
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.ios_version = "18.1".into();
    let phone = rig.add(config);
    let paired = rig.run(&idevicepair, &["-u", phone.udid(), "pair"]);
    assert_eq!(paired.code, Some(0), "idevicepair pair: {}", paired.output);
    phone.phone().update(change);
    let backups = rig.dir.path().join("backups");
    fs::create_dir_all(&backups).unwrap();
    Some(Bench {
        rig,
        phone,
        tool,
        backups,
    })
}

impl Bench {
    /// Generates the backup the restore reads, in `backups/<phone UDID>`.
    fn make(&self, password: Option<&str>, files: usize) -> PathBuf {
        let folder = self.backups.join(self.phone.udid());
        let mut spec = Spec::new(Kind::Ios);
        spec.password = password.map(str::to_string);
        spec.files = files;
        spec.file_size = 50_000;
        make_backup(&spec, &folder).unwrap();
        folder
    }

    fn run(&self, args: &[&str]) -> Ran {
        let mut all = vec!["-u", self.phone.udid()];
        all.extend_from_slice(args);
        self.rig.run(&self.tool, &all)
    }

    fn restore(&self, extra: &[&str]) -> Ran {
        let backups = self.backups.to_string_lossy().into_owned();
        let mut args = vec!["restore", "--system", "--no-reboot"];
        args.extend_from_slice(extra);
        args.push(&backups);
        // `args` borrows `backups`; run before it goes.
        self.run(&args)
    }

    fn restored(&self) -> PathBuf {
        self.phone.phone().restored_dir()
    }

    /// What the phone's last restore wrote, by `<domain>/<relativePath>`.
    fn restored_files(&self) -> BTreeMap<String, Vec<u8>> {
        files_under(&self.restored()).unwrap()
    }
}

#[test]
fn idevicebackup2_restores_a_plain_backup_and_leaves_it_unchanged() {
    let Some(bench) = bench(|_| {}) else { return };
    let folder = bench.make(None, 20);
    let before = tree_hashes(&folder).unwrap();
    let ran = bench.restore(&[]);
    ran.assert_exit(0, "Restore Successful");
    assert_eq!(
        bench.restored_files(),
        expected_files(&folder, None).unwrap()
    );
    assert_eq!(
        tree_hashes(&folder).unwrap(),
        before,
        "the backup must not change"
    );
    // The sync lock was taken through AFC, and released when the tool closed.
    assert!(
        bench
            .phone
            .phone()
            .storage_dir()
            .join("com.apple.itunes.lock_sync")
            .is_file()
    );
    // The tool wrote the app list for the phone through AFC.
    assert!(
        bench
            .phone
            .phone()
            .storage_dir()
            .join("iTunesRestore/RestoreApplications.plist")
            .is_file()
    );
}

#[test]
fn idevicebackup2_restores_an_encrypted_backup_with_its_password() {
    let Some(bench) = bench(|_| {}) else { return };
    let folder = bench.make(Some("correct horse"), 6);
    let ran = bench.restore(&["--password", "correct horse"]);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    assert_eq!(
        bench.restored_files(),
        expected_files(&folder, Some("correct horse")).unwrap()
    );
}

/// Restores and expects the phone's refusal `code`.
fn refused(bench: &Bench, extra: &[&str], code: u32, text: &str) {
    let ran = bench.restore(extra);
    assert_ne!(ran.code, Some(0), "{}", ran.output);
    assert!(
        ran.output.contains(&format!("ErrorCode {code}: ")),
        "{}",
        ran.output
    );
    assert!(ran.output.contains(text), "{}", ran.output);
    assert!(
        ran.output
            .contains(&format!("Restore Failed (Error Code {code})")),
        "{}",
        ran.output
    );
    // idevicebackup2 exits with -code.
    assert_eq!(
        ran.code,
        Some((256 - (code % 256) as i32) % 256),
        "{}",
        ran.output
    );
}

#[test]
fn idevicebackup2_reports_a_wrong_password_as_207() {
    let Some(bench) = bench(|_| {}) else { return };
    bench.make(Some("right"), 0);
    refused(&bench, &["--password", "wrong"], 207, "Invalid password");
    assert!(!bench.restored().exists());
}

#[test]
fn idevicebackup2_reports_find_my_as_211() {
    let Some(bench) = bench(|c| c.find_my = true) else {
        return;
    };
    bench.make(None, 0);
    refused(&bench, &[], 211, "Find My iPhone must be disabled");
}

#[test]
fn idevicebackup2_reports_a_locked_phone_with_an_encrypted_backup_as_208() {
    let Some(bench) = bench(|c| c.passcode_locked = true) else {
        return;
    };
    bench.make(Some("pw"), 0);
    refused(&bench, &["--password", "pw"], 208, "device locked?");
}

#[test]
fn idevicebackup2_is_refused_a_backup_from_a_newer_ios() {
    let Some(bench) = bench(|c| c.ios_version = "17.4".into()) else {
        return;
    };
    bench.make(None, 0);
    refused(&bench, &[], 209, "newer than this iPhone");
}

#[test]
fn idevicebackup2_will_not_restore_an_unfinished_backup() {
    let Some(bench) = bench(|_| {}) else { return };
    let folder = bench.make(None, 0);
    let status_path = folder.join("Status.plist");
    let mut status = plist::Value::from_file(&status_path).unwrap();
    status
        .as_dictionary_mut()
        .unwrap()
        .insert("SnapshotState".into(), "uploading".into());
    status.to_file_binary(&status_path).unwrap();
    // libimobiledevice checks this itself before asking the phone (the phone would answer
    // 205, which the in-process tests check).
    let ran = bench.restore(&[]);
    assert_ne!(ran.code, Some(0), "{}", ran.output);
    assert!(
        ran.output
            .contains("Cannot ensure we restore from a successful backup"),
        "{}",
        ran.output
    );
    assert!(!bench.restored().exists());
}

#[test]
fn an_unplug_halfway_makes_idevicebackup2_fail() {
    let Some(bench) = bench(|c| {
        c.faults.push(Fault::DisconnectAtPercent {
            percent: 50,
            back_after: None,
        })
    }) else {
        return;
    };
    let folder = bench.make(None, 40);
    let ran = bench.restore(&[]);
    assert_ne!(ran.code, Some(0), "{}", ran.output);
    assert!(!ran.output.contains("Restore Successful"), "{}", ran.output);
    // Part of the data arrived, not all of it.
    let restored = bench.restored_files();
    let expected = expected_files(&folder, None).unwrap();
    assert!(
        restored.len() < expected.len(),
        "{} of {}",
        restored.len(),
        expected.len()
    );
    assert!(!bench.phone.phone().is_plugged());
}

#[test]
fn idevicebackup2_hands_hostile_paths_to_the_phone() {
    let Some(bench) = bench(|c| c.faults.push(Fault::HostilePaths)) else {
        return;
    };
    let folder = bench.make(None, 0);
    let parent = bench
        .backups
        .parent()
        .unwrap()
        .join(plugback_sim::iphone::mobilebackup2::hostile::PARENT_NAME);
    fs::write(&parent, b"not for the phone").unwrap();
    let outside = bench.rig.dir.path().join("outside.txt");
    fs::write(&outside, b"outside").unwrap();
    std::os::unix::fs::symlink(
        &outside,
        folder.join(plugback_sim::iphone::mobilebackup2::hostile::LINK_NAME),
    )
    .unwrap();
    let ran = bench.restore(&[]);
    assert_ne!(ran.code, Some(0), "{}", ran.output);
    let report_path = bench
        .phone
        .phone()
        .data_dir()
        .join(plugback_sim::iphone::mobilebackup2::hostile::REPORT_NAME);
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(&report_path).unwrap()).unwrap();
    let find = |kind: &str| {
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .cloned()
            .unwrap()
    };
    // libimobiledevice 1.3.0 does not confine the phone's paths: it sends the file above
    // the backup and follows the link. The report is what a safer host is judged by.
    assert_eq!(find("parent-directory")["outcome"], "sent", "{report}");
    assert_eq!(find("parent-directory")["bytes_sent"], 17);
    assert_eq!(find("symlink-out")["bytes_sent"], 7);
    assert_eq!(find("symlink-out")["outcome"], "sent", "{report}");
    assert_eq!(find("absolute")["outcome"], "refused", "{report}");
    // libimobiledevice ends a batch at its first failed file.
    assert_eq!(find("overlong-name")["outcome"], "not answered", "{report}");
    assert_ne!(report["oversized_frame"]["outcome"], "not sent", "{report}");
}

#[test]
fn idevicebackup2_backs_the_phone_up_into_a_complete_backup() {
    let Some(bench) = bench(|_| {}) else { return };
    // Give the phone content: restore a generated backup first.
    let source = bench.make(None, 8);
    let ran = bench.restore(&[]);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    let out = bench.rig.dir.path().join("new-backups");
    fs::create_dir_all(&out).unwrap();
    let out_text = out.to_string_lossy().into_owned();
    let ran = bench.run(&["backup", "--full", &out_text]);
    ran.assert_exit(0, "Backup Successful");

    let folder = out.join(bench.phone.udid());
    for name in [
        "Info.plist",
        "Manifest.plist",
        "Status.plist",
        "Manifest.db",
    ] {
        assert!(
            folder.join(name).is_file(),
            "{name} missing: {}",
            ran.output
        );
    }
    assert!(!folder.join("Snapshot").exists());
    let manifest = plist::Value::from_file(folder.join("Manifest.plist")).unwrap();
    assert_eq!(
        manifest.as_dictionary().unwrap()["IsEncrypted"].as_boolean(),
        Some(false)
    );
    // Every record's blob is there with its size, and holds what the phone holds.
    let conn = rusqlite::Connection::open(folder.join("Manifest.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT fileID, file FROM Files WHERE flags = 1")
        .unwrap();
    let mut checked = 0;
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
    {
        let (id, archived) = row.unwrap();
        let archive = plist::Value::from_reader(std::io::Cursor::new(archived)).unwrap();
        let objects = archive.as_dictionary().unwrap()["$objects"]
            .as_array()
            .unwrap()
            .clone();
        let size = objects[1].as_dictionary().unwrap()["Size"]
            .as_unsigned_integer()
            .unwrap();
        let blob = folder.join(&id[..2]).join(&id);
        assert_eq!(fs::metadata(&blob).unwrap().len(), size, "{id}");
        checked += 1;
    }
    assert_eq!(checked, expected_files(&source, None).unwrap().len());
    assert_eq!(
        expected_files(&folder, None).unwrap(),
        bench.restored_files()
    );
}
