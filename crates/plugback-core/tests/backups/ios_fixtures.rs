//! iPhone backups against real and reference fixtures (../shared/fixtures), with the
//! expected outputs of independent readers: listings, decryption, passwords, verification.

use crate::common::{shared_fixtures, tree_hashes};
use plugback_core::backup::ios::{self, FileRecord, IosBackup, Keybag, Layout, plists};
use plugback_core::backup::verify::{
    self, Problem, ProblemCode, ProgressReporter, Severity, VerifyOptions, VerifyReport,
};
use plugback_core::backup::{BackupKind, SnapshotState, catalog};
use plugback_core::secret::Password;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

const GENERATED_UDID: &str = "00008030-001A2B3C4D5E802E";

fn generated(fixtures: &Path, variant: &str) -> PathBuf {
    fixtures
        .join("ios/generated")
        .join(variant)
        .join(GENERATED_UDID)
}

/// One row of an expected `*.files.tsv`, every column as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    file_id: String,
    flags: String,
    size: String,
    mode: String,
    mtime: String,
    protection_class: String,
    domain: String,
    relative_path: String,
    target: String,
}

fn expected_rows(fixtures: &Path, name: &str) -> Vec<Row> {
    let text = fs::read_to_string(fixtures.join("expected").join(name)).unwrap();
    let mut rows: Vec<Row> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let c: Vec<&str> = line.split('\t').collect();
            assert_eq!(c.len(), 9, "{name}: {line:?}");
            Row {
                file_id: c[0].into(),
                flags: c[1].into(),
                size: c[2].into(),
                mode: c[3].into(),
                mtime: c[4].into(),
                protection_class: c[5].into(),
                domain: c[6].into(),
                relative_path: c[7].into(),
                target: c[8].into(),
            }
        })
        .collect();
    rows.sort();
    rows
}

fn row_of(record: &FileRecord) -> Row {
    let meta = record
        .meta
        .as_ref()
        .unwrap_or_else(|| panic!("{:?} did not decode: {:?}", record.file_id, record.invalid));
    Row {
        file_id: record.file_id.clone(),
        flags: record.flags.to_string(),
        size: meta.size.to_string(),
        mode: format!("0o{:o}", meta.mode),
        mtime: meta
            .last_modified
            .map(|t| t.to_string())
            .unwrap_or_default(),
        protection_class: meta
            .protection_class
            .map(|c| c.to_string())
            .unwrap_or_default(),
        domain: record.domain.clone(),
        relative_path: record.relative_path.clone(),
        target: meta.target.clone().unwrap_or_default(),
    }
}

fn listed_rows(records: &[FileRecord]) -> Vec<Row> {
    let mut rows: Vec<Row> = records.iter().map(row_of).collect();
    rows.sort();
    rows
}

fn open_records(
    root: &Path,
    password: Option<&str>,
) -> (IosBackup, Vec<FileRecord>, Option<ios::UnlockedKeys>) {
    let backup = IosBackup::open(root).unwrap();
    let keys = password.map(|pw| backup.unlock(&Password::new(pw)).unwrap());
    let records = backup.records(keys.as_ref()).unwrap();
    let invalid: Vec<_> = records.iter().filter_map(|r| r.invalid.as_ref()).collect();
    assert!(invalid.is_empty(), "{root:?}: {invalid:?}");
    (backup, records, keys)
}

fn run_verify(root: &Path, options: VerifyOptions) -> VerifyReport {
    verify::verify(root, &options, &ProgressReporter::silent()).unwrap()
}

fn count(report: &VerifyReport, code: ProblemCode) -> usize {
    report.problems.iter().filter(|p| p.code == code).count()
}

fn codes(report: &VerifyReport) -> Vec<(&'static str, Severity, String)> {
    report
        .problems
        .iter()
        .map(|p: &Problem| (p.code.as_str(), p.severity, p.path.clone()))
        .collect()
}

#[test]
fn listings_equal_the_independent_readers() {
    let Some(fx) = shared_fixtures() else { return };
    let generated_rows = expected_rows(&fx, "ios_generated.files.tsv");
    let (_, plain, _) = open_records(&generated(&fx, "plain"), None);
    assert_eq!(listed_rows(&plain), generated_rows);
    let (_, encrypted, _) = open_records(&generated(&fx, "encrypted_lowkdf"), Some("fixture-pw"));
    assert_eq!(listed_rows(&encrypted), generated_rows);

    let greatvovan = fx.join("ios/greatvovan_sample_backup");
    let (_, records, _) = open_records(&greatvovan, None);
    assert_eq!(
        listed_rows(&records),
        expected_rows(&fx, "ios_greatvovan_sample_backup.files.tsv")
    );

    let mvt = fx.join("ios/mvt_ios_backup_partial");
    let (_, records, _) = open_records(&mvt, None);
    assert_eq!(records.len(), 3721);
    assert_eq!(
        listed_rows(&records),
        expected_rows(&fx, "ios_mvt_ios_backup_partial.files.tsv")
    );
}

#[test]
fn legacy_mbdb_listing_matches_the_modern_twin() {
    let Some(fx) = shared_fixtures() else { return };
    let root = generated(&fx, "plain_mbdb");
    assert_eq!(catalog::detect_kind(&root), Some(BackupKind::IosLegacyMbdb));
    let (backup, records, _) = open_records(&root, None);
    assert_eq!(backup.layout(), Layout::Mbdb);
    // Same fileIDs, kinds, sizes, modes, times and targets as the Manifest.db twin.
    assert_eq!(
        listed_rows(&records),
        expected_rows(&fx, "ios_generated.files.tsv")
    );
    let expected = plaintext_hashes(&fx);
    for record in records.iter().filter(|r| r.is_file()) {
        let data = backup.read_file(record, None).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&data)),
            expected[&record.file_id]
        );
    }
}

fn plaintext_hashes(fx: &Path) -> HashMap<String, String> {
    fs::read_to_string(fx.join("expected/ios_generated.blob_plaintext.sha256"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, id)| (id.to_owned(), hash.to_owned()))
        .collect()
}

#[test]
fn generated_encrypted_backups_decrypt_byte_identical() {
    let Some(fx) = shared_fixtures() else { return };
    let expected = plaintext_hashes(&fx);
    assert_eq!(expected.len(), 10);
    for variant in ["encrypted_lowkdf", "encrypted_realkdf"] {
        let root = generated(&fx, variant);
        let (backup, records, keys) = open_records(&root, Some("fixture-pw"));
        assert!(backup.is_encrypted());
        let files: Vec<&FileRecord> = records.iter().filter(|r| r.is_file()).collect();
        assert_eq!(files.len(), 10);
        for record in files {
            let data = backup.read_file(record, keys.as_ref()).unwrap();
            assert_eq!(data.len() as u64, record.size());
            assert_eq!(
                hex::encode(Sha256::digest(&data)),
                expected[&record.file_id],
                "{variant} {}",
                record.display_path()
            );
        }
        assert_eq!(
            backup
                .unlock(&Password::new("fixture-PW"))
                .unwrap_err()
                .code(),
            "wrong-password"
        );
        assert_eq!(
            backup.records(None).unwrap_err().code(),
            "password-required"
        );
    }
}

#[test]
fn encrypted_verify_reports_missing_and_wrong_passwords_first() {
    let Some(fx) = shared_fixtures() else { return };
    let root = generated(&fx, "encrypted_lowkdf");
    for (password, code) in [
        (None, ProblemCode::PasswordRequired),
        (Some("wrong"), ProblemCode::WrongPassword),
    ] {
        for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
            let report = run_verify(&root, options.with_password(password.map(Password::new)));
            assert!(!report.ok());
            assert!(report.stats.encrypted);
            assert_eq!(
                codes(&report),
                [(code.as_str(), Severity::Error, String::new())]
            );
            assert!(report.problems[0].message.contains("were not checked"));
            assert_eq!(report.stats.files_expected, 0);
        }
    }
}

#[test]
fn pyiosbackup_encrypted_backups_list_and_decrypt_their_file() {
    let Some(fx) = shared_fixtures() else { return };
    let expected = expected_rows(&fx, "ios_pyiosbackup_encrypted_manifestdb_pw0000.files.tsv");
    for folder in [
        "pyiosbackup_encrypted_manifestdb_pw0000",
        "pyiosbackup_encrypted_mbdb_pw0000",
    ] {
        let root = fx.join("ios").join(folder);
        let (backup, records, keys) = open_records(&root, Some("0000"));
        assert_eq!(records.len(), 1, "{folder}");
        let record = &records[0];
        let row = row_of(record);
        // Both layouts agree on identity, size, mode and time; the mbdb layout has no
        // flags column (derived from the mode) and always stores a protection class.
        assert_eq!(
            (&row.file_id, &row.size, &row.mode, &row.mtime),
            (
                &expected[0].file_id,
                &expected[0].size,
                &expected[0].mode,
                &expected[0].mtime
            )
        );
        assert_eq!(
            (&row.domain, &row.relative_path),
            (&expected[0].domain, &expected[0].relative_path)
        );
        if backup.layout() == Layout::ManifestDb {
            assert_eq!(row, expected[0]);
        }
        assert!(record.is_file());
        assert_eq!(
            backup.read_file(record, keys.as_ref()).unwrap(),
            b"Test data"
        );
        assert_eq!(
            backup.unlock(&Password::new("0001")).unwrap_err().code(),
            "wrong-password"
        );

        let report = run_verify(
            &root,
            VerifyOptions::deep().with_password(Some(Password::new("0000"))),
        );
        assert!(report.ok(), "{folder}: {:?}", codes(&report));
        assert_eq!(
            (report.stats.files_expected, report.stats.files_checked),
            (1, 1)
        );
    }
}

#[test]
fn john_samples_unlock_with_their_passwords_only() {
    let Some(fx) = shared_fixtures() else { return };
    let dir = fx.join("ios/john_samples_itunes_manifest_plists");
    for (file, password, two_stage) in [
        ("Manifest-10-test123.plist", "test123", true),
        ("Manifest-9-test123.plist", "test123", false),
        ("Manifest-9-123456.plist", "123456", false),
    ] {
        let dict = match plists::read_dictionary(&dir.join(file)) {
            plists::PlistFile::Read(d) => d,
            other => panic!("{file}: {other:?}"),
        };
        let manifest = plists::ManifestPlist::from_dictionary(&dict);
        assert!(manifest.encrypted());
        let bag = Keybag::parse(manifest.backup_keybag.as_deref().unwrap()).unwrap();
        assert_eq!(bag.kdf.first_stage.is_some(), two_stage, "{file}");
        let keys = bag.unlock(&Password::new(password)).unwrap();
        assert!(keys.classes().count() >= 10, "{file}");
        if let Some(manifest_key) = manifest.manifest_key.as_deref() {
            let key = ios::keybag::WrappedKey::parse(manifest_key).unwrap();
            assert_eq!(key.class, 4);
            assert!(keys.unwrap(key.class, &key.wrapped).is_ok());
        }
        let wrong = if password == "test123" {
            "123456"
        } else {
            "test123"
        };
        assert_eq!(
            bag.unlock(&Password::new(wrong)).unwrap_err().code(),
            "wrong-password",
            "{file}"
        );
    }
}

#[test]
fn partial_mvt_backup_reports_exactly_what_is_missing() {
    let Some(fx) = shared_fixtures() else { return };
    let root = fx.join("ios/mvt_ios_backup_partial");
    let rows = expected_rows(&fx, "ios_mvt_ios_backup_partial.files.tsv");
    let mut missing = 0;
    let mut mismatched = 0;
    for row in rows.iter().filter(|r| r.flags == "1") {
        match fs::metadata(root.join(&row.file_id[..2]).join(&row.file_id)) {
            Err(_) => missing += 1,
            Ok(meta) if meta.len().to_string() != row.size => mismatched += 1,
            Ok(_) => {}
        }
    }
    assert_eq!((missing, mismatched), (1079, 9));

    for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
        let report = run_verify(&root, options);
        assert!(!report.ok());
        assert_eq!(count(&report, ProblemCode::BlobMissing), missing);
        assert_eq!(count(&report, ProblemCode::BlobSizeMismatch), mismatched);
        let orphans: Vec<&str> = report
            .problems
            .iter()
            .filter(|p| p.code == ProblemCode::BlobOrphan)
            .map(|p| p.path.as_str())
            .collect();
        assert_eq!(orphans, ["e7/e794f6ffcc3c222535f47684a63d5178da3c4500"]);
        let missing_files: Vec<(&str, Severity)> = report
            .problems
            .iter()
            .filter(|p| p.code == ProblemCode::MissingFile)
            .map(|p| (p.path.as_str(), p.severity))
            .collect();
        assert_eq!(
            missing_files,
            [
                ("Manifest.plist", Severity::Error),
                ("Status.plist", Severity::Warning)
            ]
        );
        // Most of the declared data is absent.
        assert_eq!(count(&report, ProblemCode::SuspiciousSize), 1);
        let total_problems = missing + mismatched + 1 + 2 + 1;
        assert_eq!(
            report.problems.len(),
            total_problems,
            "{:?}",
            codes(&report)
                .iter()
                .filter(|c| !["blob-missing", "blob-size-mismatch"].contains(&c.0))
                .collect::<Vec<_>>()
        );
        assert_eq!(report.stats.files_expected, 1089);
        assert_eq!(report.stats.files_checked, 1);
        assert!(!report.stats.encrypted);
        let named = report
            .problems
            .iter()
            .find(|p| p.code == ProblemCode::BlobMissing && p.severity == Severity::Error)
            .unwrap();
        assert!(
            named.message.contains(&named.path) && named.path.contains('/'),
            "{named:?}"
        );
    }
}

#[test]
fn greatvovan_symlinks_and_folders_are_not_files() {
    let Some(fx) = shared_fixtures() else { return };
    let root = fx.join("ios/greatvovan_sample_backup");
    let (_, records, _) = open_records(&root, None);
    let kinds: Vec<_> = records.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ios::EntryKind::Directory)
            .count(),
        4
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ios::EntryKind::Symlink)
            .count(),
        1
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == ios::EntryKind::File).count(),
        1
    );

    // The three plists are placeholders ({count, foo}): the data checks out, and the
    // report says what the placeholders fail to say, as warnings.
    for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
        let report = run_verify(&root, options);
        assert!(report.ok(), "{:?}", codes(&report));
        assert_eq!(
            codes(&report),
            [
                (
                    "plist-unreadable",
                    Severity::Warning,
                    "Manifest.plist".to_owned()
                ),
                (
                    "snapshot-unfinished",
                    Severity::Warning,
                    "Status.plist".to_owned()
                ),
            ]
        );
        assert_eq!(
            (report.stats.files_expected, report.stats.files_checked),
            (1, 1)
        );
        assert_eq!(report.stats.bytes_expected, 1562);
    }
}

#[test]
fn generated_backups_verify_clean_and_deep_changes_nothing() {
    let Some(fx) = shared_fixtures() else { return };
    // The real-cost twin decrypts identically (see above); its verify adds only seconds.
    for (variant, password) in [
        ("plain", None),
        ("plain_mbdb", None),
        ("encrypted_lowkdf", Some("fixture-pw")),
    ] {
        let root = generated(&fx, variant);
        let before = tree_hashes(&root);
        for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
            let deep = options.depth == verify::Depth::Deep;
            let report = run_verify(&root, options.with_password(password.map(Password::new)));
            assert!(
                report.problems.is_empty(),
                "{variant}: {:?}",
                codes(&report)
            );
            assert_eq!(report.stats.files_expected, 10);
            assert_eq!(report.stats.files_checked, 10);
            assert_eq!(
                report.stats.bytes_expected,
                1 + 15 + 16 + 17 + 12 + 12 + 55 + 4096 + 65537 + 300000
            );
            assert_eq!(report.stats.encrypted, password.is_some());
            if deep {
                let padded: u64 = [1u64, 15, 16, 17, 12, 12, 55, 4096, 65537, 300000]
                    .iter()
                    .map(|s| (s / 16 + 1) * 16)
                    .sum();
                let expected = if password.is_some() {
                    padded
                } else {
                    report.stats.bytes_expected
                };
                assert_eq!(report.stats.bytes_read, expected, "{variant}");
            } else {
                assert_eq!(report.stats.bytes_read, 0);
            }
        }
        assert_eq!(tree_hashes(&root), before, "{variant} changed");
    }
}

#[test]
fn summaries_read_the_plists() {
    let Some(fx) = shared_fixtures() else { return };
    let plain = ios::summarize(&generated(&fx, "plain")).unwrap();
    assert_eq!(plain.kind, BackupKind::Ios);
    assert_eq!(plain.device_name.as_deref(), Some("Fixture iPhone"));
    assert_eq!(plain.product_type.as_deref(), Some("iPhone12,1"));
    assert_eq!(plain.model.as_deref(), Some("iPhone 11"));
    assert_eq!(plain.os_version.as_deref(), Some("17.1.1"));
    assert_eq!(plain.date_unix, Some(1_700_000_000));
    assert_eq!(plain.snapshot, SnapshotState::Finished);
    assert_eq!(plain.device_id.as_deref(), Some(GENERATED_UDID));
    assert_eq!(plain.app_count, Some(1));
    assert!(!plain.encrypted);

    let encrypted = ios::summarize(&generated(&fx, "encrypted_realkdf")).unwrap();
    assert!(encrypted.encrypted);
    let legacy = ios::summarize(&generated(&fx, "plain_mbdb")).unwrap();
    assert_eq!(
        (legacy.kind, legacy.os_version.as_deref()),
        (BackupKind::IosLegacyMbdb, Some("9.3.5"))
    );

    // No Manifest.plist or Status.plist: what Info.plist says.
    let mvt = ios::summarize(&fx.join("ios/mvt_ios_backup_partial")).unwrap();
    assert_eq!(mvt.model.as_deref(), Some("iPhone 7"));
    assert_eq!(mvt.os_version.as_deref(), Some("14.3"));
    assert_eq!(mvt.date_unix, Some(1_638_559_993));
    assert_eq!(mvt.snapshot, SnapshotState::Unknown);
    assert_eq!(
        mvt.device_id.as_deref(),
        Some("1CB128EAFA77C5BE74283E9A3A2130AF36A3C059")
    );
    assert_eq!(mvt.app_count, Some(6));

    // Placeholder plists: listed, with nothing known.
    let dummy = ios::summarize(&fx.join("ios/greatvovan_sample_backup")).unwrap();
    assert_eq!(
        (dummy.device_name, dummy.date_unix, dummy.snapshot),
        (None, None, SnapshotState::Unknown)
    );
    // Lockdown only: the OS version comes from Manifest.plist.
    let py = ios::summarize(&fx.join("ios/pyiosbackup_encrypted_manifestdb_pw0000")).unwrap();
    assert_eq!(
        (py.os_version.as_deref(), py.encrypted),
        (Some("10.3"), true)
    );
}

#[test]
fn stats_count_files_where_the_list_is_readable() {
    let Some(fx) = shared_fixtures() else { return };
    let plain = ios::stats(&generated(&fx, "plain")).unwrap();
    assert_eq!(plain.file_count, Some(10));
    let on_disk: u64 = tree_hashes(&generated(&fx, "plain"))
        .keys()
        .map(|p| fs::metadata(generated(&fx, "plain").join(p)).unwrap().len())
        .sum();
    assert_eq!(plain.total_bytes, on_disk);
    assert_eq!(
        ios::stats(&generated(&fx, "encrypted_lowkdf"))
            .unwrap()
            .file_count,
        None
    );
    assert_eq!(
        ios::stats(&fx.join("ios/pyiosbackup_encrypted_mbdb_pw0000"))
            .unwrap()
            .file_count,
        Some(1)
    );
    assert_eq!(
        ios::stats(&fx.join("ios/mvt_ios_backup_partial"))
            .unwrap()
            .file_count,
        Some(1089)
    );
}

// ---- Damaged copies: each fault gives its own precise problem -------------------------

/// A writable copy of a generated backup in a temporary folder.
fn damaged_copy(fx: &Path, variant: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::write(&target, fs::read(entry.path()).unwrap()).unwrap();
            }
        }
    }
    let dir = crate::common::temp_dir();
    let root = dir.path().join(GENERATED_UDID);
    copy(&generated(fx, variant), &root);
    (dir, root)
}

fn blob(root: &Path, id: &str) -> PathBuf {
    root.join(&id[..2]).join(id)
}

const SMS_DB: &str = "3d0d7e5fb2ce288813306e4d4636395e047a3d28"; // HomeDomain/Library/SMS/sms.db, 4096 B
const IMG: &str = "343e26971dfe9c395c425c0ccf799df63ae6261e"; // CameraRollDomain/…/IMG_0001.JPG, 300000 B
const ONE_BYTE: &str = "5a7e0f4899d308c1358df9319071b7f03e35fba9"; // HomeDomain/…/one-byte.bin

fn only(report: &VerifyReport) -> Vec<(&'static str, Severity, String)> {
    codes(report)
}

#[test]
fn damaged_blobs_are_named_precisely() {
    let Some(fx) = shared_fixtures() else { return };
    let (_dir, root) = damaged_copy(&fx, "plain");
    fs::remove_file(blob(&root, SMS_DB)).unwrap();
    fs::write(blob(&root, IMG), vec![0u8; 1000]).unwrap();
    fs::write(blob(&root, ONE_BYTE), b"").unwrap();
    fs::write(root.join("c6/notes.txt"), b"mine").unwrap();
    let extra = "ff".to_owned() + &"0".repeat(38);
    fs::create_dir_all(root.join("ff")).unwrap();
    fs::write(blob(&root, &extra), b"stray data").unwrap();

    for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
        let report = run_verify(&root, options);
        assert_eq!(
            only(&report),
            [
                (
                    "empty-file",
                    Severity::Error,
                    "HomeDomain/Library/Preferences/one-byte.bin".to_owned()
                ),
                (
                    "blob-missing",
                    Severity::Error,
                    "HomeDomain/Library/SMS/sms.db".to_owned()
                ),
                (
                    "blob-size-mismatch",
                    Severity::Error,
                    "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG".to_owned()
                ),
                ("blob-orphan", Severity::Warning, "c6/notes.txt".to_owned()),
                ("blob-orphan", Severity::Warning, format!("ff/{extra}")),
            ]
        );
        assert_eq!(report.stats.files_checked, 7);
        let missing = &report.problems[1];
        assert!(
            missing.message.contains(&format!("3d/{SMS_DB}")),
            "{}",
            missing.message
        );
    }
}

#[test]
fn tampered_file_lists_are_refused_entry_by_entry() {
    let Some(fx) = shared_fixtures() else { return };
    let (_dir, root) = damaged_copy(&fx, "plain");
    {
        let db = rusqlite::Connection::open(root.join("Manifest.db")).unwrap();
        db.execute(
            "UPDATE Files SET relativePath = '../../../etc/passwd' WHERE fileID = ?1",
            [SMS_DB],
        )
        .unwrap();
        db.execute(
            "UPDATE Files SET fileID = ?1 WHERE fileID = ?2",
            ["0".repeat(40), IMG.to_owned()],
        )
        .unwrap();
        db.execute(
            "UPDATE Files SET file = x'00' WHERE fileID = ?1",
            [ONE_BYTE],
        )
        .unwrap();
        db.execute("UPDATE Files SET domain = 'C:\\Windows' WHERE fileID = 'c6fe2809f934752e50a4abd6bb96fd4c6fc0b421'", []).unwrap();
    }
    let report = run_verify(&root, VerifyOptions::quick());
    let mut got = only(&report);
    got.retain(|(code, ..)| *code != "blob-orphan");
    assert_eq!(
        got,
        [
            (
                "blob-missing",
                Severity::Error,
                "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG".to_owned()
            ),
            (
                "fileid-mismatch",
                Severity::Error,
                "CameraRollDomain/Media/DCIM/100APPLE/IMG_0001.JPG".to_owned()
            ),
            (
                "unsafe-path",
                Severity::Error,
                "C:\\Windows/Library/Preferences/fifteen.bin".to_owned()
            ),
            (
                "unsafe-path",
                Severity::Error,
                "HomeDomain/../../../etc/passwd".to_owned()
            ),
            (
                "record-invalid",
                Severity::Error,
                "HomeDomain/Library/Preferences/one-byte.bin".to_owned()
            ),
        ]
    );
    // The renamed record's real data is now named by nothing.
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.code == ProblemCode::BlobOrphan && p.path == format!("34/{IMG}"))
    );
}

#[test]
fn damaged_description_files_and_file_lists() {
    let Some(fx) = shared_fixtures() else { return };
    let (_dir, root) = damaged_copy(&fx, "plain");
    fs::write(root.join("Info.plist"), b"<?xml garbage").unwrap();
    let mut status = plist::Value::from_file(root.join("Status.plist")).unwrap();
    status
        .as_dictionary_mut()
        .unwrap()
        .insert("SnapshotState".into(), "uploading".into());
    status.to_file_binary(root.join("Status.plist")).unwrap();
    let report = run_verify(&root, VerifyOptions::quick());
    assert_eq!(
        only(&report),
        [
            (
                "snapshot-unfinished",
                Severity::Error,
                "Status.plist".to_owned()
            ),
            (
                "plist-unreadable",
                Severity::Warning,
                "Info.plist".to_owned()
            ),
        ]
    );

    fs::write(root.join("Manifest.plist"), b"").unwrap();
    let mut db = fs::read(root.join("Manifest.db")).unwrap();
    let len = db.len();
    db[len / 2..].fill(0x5A);
    fs::write(root.join("Manifest.db"), &db).unwrap();
    let report = run_verify(&root, VerifyOptions::quick());
    let got = only(&report);
    assert!(
        got.contains(&("empty-file", Severity::Error, "Manifest.plist".to_owned())),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "manifest-db-corrupt",
            Severity::Error,
            "Manifest.db".to_owned()
        )),
        "{got:?}"
    );

    fs::remove_file(root.join("Manifest.db")).unwrap();
    fs::write(
        root.join("Manifest.plist"),
        fs::read(generated(&fx, "plain").join("Manifest.plist")).unwrap(),
    )
    .unwrap();
    fs::write(root.join("Manifest.mbdb"), b"").unwrap(); // makes it look legacy: detected by name
    let report = run_verify(&root, VerifyOptions::quick());
    assert_eq!(report.kind, BackupKind::IosLegacyMbdb);
    assert!(only(&report).contains(&("empty-file", Severity::Error, "Manifest.mbdb".to_owned())));
    let (_dir2, legacy) = damaged_copy(&fx, "plain_mbdb");
    let mbdb = fs::read(legacy.join("Manifest.mbdb")).unwrap();
    fs::write(legacy.join("Manifest.mbdb"), &mbdb[..mbdb.len() - 7]).unwrap();
    let report = run_verify(&legacy, VerifyOptions::quick());
    let corrupt = report
        .problems
        .iter()
        .find(|p| p.code == ProblemCode::ManifestDbCorrupt)
        .unwrap();
    assert!(
        corrupt.message.contains("ends in the middle of record 22"),
        "{}",
        corrupt.message
    );
}

#[test]
fn damaged_encrypted_data_fails_deep_verify_only() {
    let Some(fx) = shared_fixtures() else { return };
    let (_dir, root) = damaged_copy(&fx, "encrypted_lowkdf");
    let mut data = fs::read(blob(&root, SMS_DB)).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xFF; // breaks the padding of the last block
    fs::write(blob(&root, SMS_DB), &data).unwrap();
    let pw = || Some(Password::new("fixture-pw"));

    let quick = run_verify(&root, VerifyOptions::quick().with_password(pw()));
    assert!(quick.problems.is_empty(), "{:?}", codes(&quick));
    let deep = run_verify(&root, VerifyOptions::deep().with_password(pw()));
    assert_eq!(
        only(&deep),
        [(
            "decrypt-failed",
            Severity::Error,
            "HomeDomain/Library/SMS/sms.db".to_owned()
        )]
    );
    assert_eq!(deep.stats.files_checked, 9);

    let backup = IosBackup::open(&root).unwrap();
    let keys = backup.unlock(&Password::new("fixture-pw")).unwrap();
    let record = backup
        .records(Some(&keys))
        .unwrap()
        .into_iter()
        .find(|r| r.file_id == SMS_DB)
        .unwrap();
    assert_eq!(
        backup.read_file(&record, Some(&keys)).unwrap_err().code(),
        "decrypt-failed"
    );
    assert_eq!(
        backup.read_file(&record, None).unwrap_err().code(),
        "password-required"
    );
}

#[cfg(unix)]
#[test]
fn a_blob_that_is_a_link_is_never_followed() {
    let Some(fx) = shared_fixtures() else { return };
    let (_dir, root) = damaged_copy(&fx, "plain");
    fs::remove_file(blob(&root, SMS_DB)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", blob(&root, SMS_DB)).unwrap();
    let report = run_verify(&root, VerifyOptions::deep());
    assert_eq!(
        only(&report),
        [(
            "unsafe-path",
            Severity::Error,
            "HomeDomain/Library/SMS/sms.db".to_owned()
        )]
    );
}

#[test]
fn deep_verify_reports_progress_and_stops_when_cancelled() {
    let Some(fx) = shared_fixtures() else { return };
    let root = generated(&fx, "plain");
    let seen = std::sync::Mutex::new(Vec::new());
    let observer = |p: &verify::VerifyProgress| seen.lock().unwrap().push(p.clone());
    let progress = ProgressReporter::new(Some(&observer));
    verify::verify(&root, &VerifyOptions::deep(), &progress).unwrap();
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.files_done, last.files_total), (10, 10));
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(
        last.bytes_total,
        1 + 15 + 16 + 17 + 12 + 12 + 55 + 4096 + 65537 + 300000
    );

    let options = VerifyOptions::deep();
    options.cancel.cancel();
    let err = verify::verify(&root, &options, &ProgressReporter::silent()).unwrap_err();
    assert_eq!(err.code(), "cancelled");
}
