//! Android backups against the shared fixtures (real `.ab` files with outputs from
//! independent readers) and against Plugback Android folders built by hand here.

use crate::common::{shared_fixtures, temp_dir};
use plugback_core::backup::android::{self, EntryKind, TarEntryInfo};
use plugback_core::backup::verify::{
    self, ProblemCode, ProgressReporter, VerifyOptions, VerifyReport,
};
use plugback_core::backup::{BackupKind, catalog};
use plugback_core::secret::Password;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------
// .ab fixtures

/// Passwords stated in fixtures/README.txt.
fn password_for(fixture: &str) -> Option<Password> {
    match fixture {
        "abe/test.encrypted.backup" => Some(Password::new("12345")),
        "mvt/backup2.ab" => Some(Password::new("123456")),
        "bluec0re/bluec0re_enc_password-test.ab" => Some(Password::new("test")),
        _ => None,
    }
}

/// (fixture, sha256 of its tar) from expected/android_decrypted_tar.sha256.
fn expected_tar_hashes(root: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(root.join("expected/android_decrypted_tar.sha256")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (hash, name) = line.split_once(char::is_whitespace).unwrap();
            (name.trim().to_owned(), hash.to_owned())
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn deep(password: Option<Password>) -> VerifyOptions {
    VerifyOptions::deep().with_password(password)
}

fn run(path: &Path, options: &VerifyOptions) -> VerifyReport {
    verify::verify(path, options, &ProgressReporter::silent()).unwrap()
}

fn codes(report: &VerifyReport) -> Vec<&'static str> {
    report.problems.iter().map(|p| p.code.as_str()).collect()
}

/// Each problem as (code, path), in report order.
fn codes_and_paths(report: &VerifyReport) -> Vec<(&'static str, &str)> {
    report
        .problems
        .iter()
        .map(|p| (p.code.as_str(), p.path.as_str()))
        .collect()
}

#[test]
fn every_valid_ab_holds_the_tar_independent_readers_found() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let expected = expected_tar_hashes(&root);
    assert_eq!(expected.len(), 9, "the expected list changed: {expected:?}");
    for (fixture, hash) in &expected {
        let path = root.join("android").join(fixture);
        let password = password_for(fixture);
        let mut stream = android::open_tar_stream(&path, password.as_ref()).unwrap();
        let mut tar = Vec::new();
        stream.read_to_end(&mut tar).unwrap();
        assert_eq!(&sha256_hex(&tar), hash, "{fixture}");

        let report = run(&path, &deep(password.clone()));
        assert!(
            report.ok() && report.problems.is_empty(),
            "{fixture}: {:?}",
            report.problems
        );
        assert_eq!(report.stats.encrypted, password.is_some(), "{fixture}");
        assert!(report.stats.files_checked > 0, "{fixture}");
        let quick = run(&path, &VerifyOptions::quick().with_password(password));
        assert!(
            quick.problems.is_empty(),
            "{fixture} (quick): {:?}",
            quick.problems
        );
    }
}

/// One line of an independent listing: kind and permissions, size, time, name.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    mode: String,
    size: u64,
    time: String,
    name: String,
}

/// Parses `hoardy-adb ls` and `tar tv` lines: `-rw-r--r-- owner/group size date time name`.
fn parse_listing(text: &str) -> Vec<Listed> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert!(fields.len() >= 6, "unexpected listing line {line:?}");
            Listed {
                mode: fields[0].to_owned(),
                size: fields[2].parse().unwrap(),
                time: format!("{} {}", fields[3], fields[4]),
                name: fields[5..].join(" "),
            }
        })
        .collect()
}

fn mode_string(entry: &TarEntryInfo) -> String {
    let kind = match entry.kind {
        EntryKind::File => '-',
        EntryKind::Directory => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::HardLink => 'h',
        EntryKind::Other(_) => '?',
    };
    let mut text = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (entry.mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

/// UTC, cut to the precision of the listing's time (`tar tv` shows minutes).
fn time_string(mtime: u64, like: &str) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(mtime as i64).unwrap();
    let full = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    full[..like.len().min(full.len())].to_owned()
}

#[test]
fn entry_lists_match_the_independent_listings() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let expected_dir = root.join("expected");
    let mut cases: Vec<(String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(&expected_dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // android_<folder>_<file>.hoardy-ls.txt
        if let Some(stem) = name
            .strip_prefix("android_")
            .and_then(|n| n.strip_suffix(".hoardy-ls.txt"))
        {
            let (folder, file) = stem.split_once('_').unwrap();
            cases.push((format!("{folder}/{file}"), expected_dir.join(&name)));
        }
    }
    // `tar tv` of abe's test.tar, which these four files hold.
    for fixture in [
        "abe/test.unencrypted.backup",
        "abe/uncompressed.backup",
        "abe/test.encrypted.backup",
        "abe/invalid_header.uncompressed.unencrypted.backup",
    ] {
        cases.push((
            fixture.to_owned(),
            expected_dir.join("android_abe_test.tar.tar-tv.txt"),
        ));
    }
    assert!(cases.len() >= 9, "{cases:?}");
    let mut compared = 0;
    for (fixture, listing_path) in cases {
        let text = fs::read_to_string(&listing_path).unwrap();
        if text.contains("error") {
            // The independent reader failed on this file (mvt/backup.ab is GNU tar, which it
            // refuses): there is no listing to compare with, only the tar hash above.
            continue;
        }
        let path = root.join("android").join(&fixture);
        let password = password_for(&fixture);
        if let Some(first) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# Android Backup, "))
        {
            let summary = android::summarize_ab(&path).unwrap();
            let version = format!("version: {},", summary.format_version.as_deref().unwrap());
            assert!(first.starts_with(&version), "{fixture}: {first}");
            assert_eq!(first.ends_with("AES-256"), summary.encrypted, "{fixture}");
        }
        let (summary, entries) = android::list_ab_entries(&path, password.as_ref()).unwrap();
        let expected = parse_listing(&text);
        let ours: Vec<Listed> = entries
            .iter()
            .zip(&expected)
            .map(|(e, x)| Listed {
                mode: mode_string(e),
                size: e.size,
                time: time_string(e.mtime, &x.time),
                name: e.name.clone(),
            })
            .collect();
        assert_eq!(entries.len(), expected.len(), "{fixture}");
        assert_eq!(ours, expected, "{fixture}");
        assert!(summary.complete);
        compared += 1;
    }
    assert_eq!(compared, 8);
}

#[test]
fn counts_and_summaries_of_ab_files() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let android_dir = root.join("android");
    let plain = android_dir.join("bluec0re/bluec0re_nonenc_compressed.ab");
    assert_eq!(catalog::detect_kind(&plain), Some(BackupKind::AndroidAb));
    let stats = android::stats_ab(&plain).unwrap();
    assert_eq!((stats.file_count, stats.app_count), (Some(4), Some(1)));
    assert_eq!(stats.total_bytes, fs::metadata(&plain).unwrap().len());

    let encrypted = android_dir.join("bluec0re/bluec0re_enc_password-test.ab");
    let stats = android::stats_ab(&encrypted).unwrap();
    assert_eq!((stats.file_count, stats.app_count), (None, None));

    let summary = android::summarize_ab(&encrypted).unwrap();
    assert!(summary.encrypted);
    assert_eq!(summary.format_version.as_deref(), Some("3"));
    assert!(summary.date_unix.is_some());
    assert_eq!(summary.device_name, None);

    let mvt = android::stats_ab(&android_dir.join("mvt/backup.ab")).unwrap();
    assert_eq!((mvt.file_count, mvt.app_count), (Some(2), Some(1)));
}

#[test]
fn passwords_are_checked_before_anything_else() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for fixture in [
        "abe/test.encrypted.backup",
        "mvt/backup2.ab",
        "bluec0re/bluec0re_enc_password-test.ab",
    ] {
        let path = root.join("android").join(fixture);
        for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
            let missing = run(&path, &options);
            assert_eq!(codes(&missing), ["password-required"], "{fixture}");
            let wrong = run(
                &path,
                &options.clone().with_password(Some(Password::new("not it"))),
            );
            assert_eq!(codes(&wrong), ["wrong-password"], "{fixture}");
            let right = run(&path, &options.with_password(password_for(fixture)));
            assert!(right.problems.is_empty(), "{fixture}: {:?}", right.problems);
        }
        let err = android::open_tar_stream(&path, None).unwrap_err();
        assert_eq!(err.code(), "password-required");
        let err = android::open_tar_stream(&path, Some(&Password::new("1234"))).unwrap_err();
        assert_eq!(err.code(), "wrong-password");
    }
}

#[test]
fn damaged_headers_are_refused() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for fixture in [
        "abe/test.encrypted_invalidHeader.backup",
        "abe/test.encrypted_invalidHeader2.backup",
    ] {
        let path = root.join("android").join(fixture);
        let report = run(&path, &deep(Some(Password::new("12345"))));
        assert_eq!(codes(&report), ["ab-header-invalid"], "{fixture}");
        assert!(
            report.problems[0].message.contains("salt"),
            "{}",
            report.problems[0].message
        );
        assert_eq!(
            android::summarize_ab(&path).unwrap_err().code(),
            "ab-header-invalid"
        );
        assert_eq!(
            android::open_tar_stream(&path, None).unwrap_err().code(),
            "ab-header-invalid"
        );
    }
}

fn header_len(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    let lines = if bytes.windows(9).any(|w| w == b"\nAES-256\n") {
        9
    } else {
        4
    };
    let mut seen = 0;
    bytes
        .iter()
        .position(|&b| {
            seen += usize::from(b == b'\n');
            seen == lines
        })
        .unwrap()
        + 1
}

#[test]
fn cut_short_copies_are_ab_truncated() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let dir = temp_dir();
    for (fixture, _) in expected_tar_hashes(&root) {
        let path = root.join("android").join(&fixture);
        let bytes = fs::read(&path).unwrap();
        let header = header_len(&path);
        let body = bytes.len() - header;
        // A stored, unencrypted tar ends in zero padding that can be lost unnoticed.
        let uncompressed_plain = bytes
            .split(|&b| b == b'\n')
            .skip(2)
            .take(2)
            .eq([&b"0"[..], b"none"]);
        let mut cuts = vec![header, header + 1, header + body / 2];
        if !uncompressed_plain {
            // The end of a compressed or encrypted stream is never padding: every byte counts.
            cuts.extend([bytes.len() - 1, bytes.len() - 16]);
        }
        for cut in cuts {
            let copy = dir.path().join("cut.ab");
            fs::write(&copy, &bytes[..cut]).unwrap();
            let report = run(&copy, &deep(password_for(&fixture)));
            assert_eq!(
                codes(&report),
                ["ab-truncated"],
                "{fixture} cut at {cut} of {}",
                bytes.len()
            );
            let mut sink = Vec::new();
            if let Ok(mut stream) = android::open_tar_stream(&copy, password_for(&fixture).as_ref())
            {
                let err = stream.read_to_end(&mut sink).err();
                if let Some(err) = err {
                    assert!(
                        ["ab-truncated", "ab-stream-corrupt"]
                            .contains(&stream.error_for(&err).code()),
                        "{fixture} cut at {cut}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_header_only_file_is_truncated_even_when_checked_quickly() {
    let dir = temp_dir();
    let path = dir.path().join("header-only.ab");
    fs::write(&path, b"ANDROID BACKUP\n5\n1\nnone\n").unwrap();
    let report = run(&path, &VerifyOptions::quick());
    assert_eq!(codes(&report), ["ab-truncated"]);
    let short = dir.path().join("short.ab");
    fs::write(
        &short,
        [&b"ANDROID BACKUP\n5\n0\nnone\n"[..], &[0u8; 700]].concat(),
    )
    .unwrap();
    let report = run(&short, &VerifyOptions::quick());
    assert_eq!(codes(&report), ["suspicious-size"]);
    assert!(report.ok(), "a warning only");
}

#[test]
fn flipped_bytes_are_found_and_never_panic() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let dir = temp_dir();
    for (fixture, step) in [
        ("mvt/backup.ab", 1),
        ("mvt/backup3.ab", 5),
        ("bluec0re/bluec0re_nonenc_compressed.ab", 5),
        ("bluec0re/bluec0re_enc_password-test.ab", 13),
        ("mvt/backup2.ab", 29),
    ] {
        let path = root.join("android").join(fixture);
        let bytes = fs::read(&path).unwrap();
        let header = header_len(&path);
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for at in (0..bytes.len()).step_by(step) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0xA5;
            let copy = dir.path().join("flipped.ab");
            fs::write(&copy, &damaged).unwrap();
            let report = verify::verify(
                &copy,
                &deep(password_for(fixture)),
                &ProgressReporter::silent(),
            );
            let Ok(report) = report else {
                // Only the magic line can make the file "not a backup".
                assert!(at < 15, "{fixture} byte {at}");
                continue;
            };
            let code = report.problems.first().map_or("none", |p| p.code.as_str());
            // The stored (uncompressed) plaintext inside backup2 has no checksum: damage to
            // file contents there cannot be seen. Everything else is guarded by a header rule,
            // the password check or zlib's checksum.
            let unguarded = fixture == "mvt/backup2.ab" && at >= header;
            if !unguarded {
                assert!(!report.ok(), "{fixture} byte {at} went unnoticed");
            }
            if at >= header {
                assert!(
                    ["ab-stream-corrupt", "tar-invalid", "ab-truncated", "none"]
                        [..if unguarded { 4 } else { 3 }]
                        .contains(&code),
                    "{fixture} byte {at}: {code}"
                );
            }
            *seen.entry(code).or_default() += 1;
        }
        // Every kind of damage was seen, not one code for everything.
        assert!(seen.len() >= 3, "{fixture}: {seen:?}");
    }
}

#[test]
fn a_flipped_byte_inside_the_compressed_stream_is_corrupt() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let dir = temp_dir();
    for fixture in [
        "abe/test.unencrypted.backup",
        "mvt/backup3.ab",
        "bluec0re/bluec0re_nonenc_compressed.ab",
    ] {
        let path = root.join("android").join(fixture);
        let mut bytes = fs::read(&path).unwrap();
        let middle = header_len(&path) + (bytes.len() - header_len(&path)) / 2;
        bytes[middle] ^= 0x01;
        let copy = dir.path().join("flipped.ab");
        fs::write(&copy, &bytes).unwrap();
        let report = run(&copy, &deep(None));
        let code = codes(&report)[0];
        assert!(
            ["ab-stream-corrupt", "tar-invalid"].contains(&code),
            "{fixture}: {code}"
        );
    }
}

#[test]
fn cancelling_stops_a_deep_check() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let path = root.join("android/abe/test.unencrypted.backup");
    let options = VerifyOptions::deep();
    options.cancel.cancel();
    let err = verify::verify(&path, &options, &ProgressReporter::silent()).unwrap_err();
    assert_eq!(err.code(), "cancelled");
}

#[test]
fn deep_progress_counts_every_byte_of_the_file() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let path = root.join("android/abe/test.encrypted.backup");
    let last = std::sync::Mutex::new(verify::VerifyProgress::default());
    let observer = |p: &verify::VerifyProgress| *last.lock().unwrap() = p.clone();
    let progress = ProgressReporter::new(Some(&observer));
    verify::verify(
        &path,
        &deep(password_for("abe/test.encrypted.backup")),
        &progress,
    )
    .unwrap();
    let last = last.lock().unwrap().clone();
    let size = fs::metadata(&path).unwrap().len();
    assert_eq!((last.bytes_done, last.bytes_total), (size, size));
    assert_eq!(last.files_done, 2);
    assert_eq!(last.current, "src/main/java/org/nick/abe/Main.java");
}

// ---------------------------------------------------------------------------------------
// Plugback Android folders, written by hand

struct Folder {
    _dir: tempfile::TempDir,
    root: PathBuf,
    files: Vec<serde_json::Value>,
    apps: Vec<serde_json::Value>,
    version: u64,
}

impl Folder {
    fn new() -> Self {
        let dir = temp_dir();
        let root = dir.path().join("Pixel 7 backup");
        fs::create_dir(&root).unwrap();
        Self {
            _dir: dir,
            root,
            files: Vec::new(),
            apps: Vec::new(),
            version: 1,
        }
    }

    /// Lists a phone file and writes `data` where the format keeps it.
    fn file(&mut self, phone_path: &str, data: &[u8]) -> &mut Self {
        self.list_file(phone_path, data);
        self.write(&format!("files{phone_path}"), data)
    }

    fn list_file(&mut self, phone_path: &str, data: &[u8]) -> &mut Self {
        self.files.push(serde_json::json!({
            "path": phone_path, "size": data.len(), "mtime": 1_700_000_000, "mode": 33188,
            "sha256": sha256_hex(data), "added_in_a_later_version": [1, 2]
        }));
        self
    }

    fn apk(&mut self, package: &str, name: &str, data: &[u8]) -> &mut Self {
        self.apps.push(serde_json::json!({
            "package": package,
            "apks": [{"name": name, "size": data.len(), "sha256": sha256_hex(data)}]
        }));
        self.write(&format!("apps/{package}/{name}"), data)
    }

    fn write(&mut self, relative: &str, data: &[u8]) -> &mut Self {
        let path = self.root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
        self
    }

    fn save(&self) -> &Path {
        let manifest = serde_json::json!({
            "format": "plugback-android-backup",
            "version": self.version,
            "created": "2026-11-25T10:00:00Z",
            "device": {"serial": "R5CT1234ABC", "manufacturer": "Google", "model": "Pixel 7",
                       "product": "panther", "android_version": "14", "sdk": 34},
            "files": self.files,
            "apps": self.apps,
        });
        fs::write(
            self.root.join("plugback-android.json"),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        &self.root
    }

    fn sample() -> Self {
        let mut folder = Self::new();
        folder
            .file("/sdcard/DCIM/Camera/IMG_0001.jpg", &[0xFF; 5000])
            .file("/sdcard/Documents/notes.txt", b"milk, eggs")
            .apk(
                "com.example.notes",
                "base.apk",
                b"PK\x03\x04 not really an apk",
            );
        folder
    }
}

/// Every file under `root` (links not followed) with its bytes and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut all = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                all.insert(
                    entry.path(),
                    (fs::read(entry.path()).unwrap(), meta.modified().unwrap()),
                );
            } else {
                all.insert(entry.path(), (Vec::new(), meta.modified().unwrap()));
            }
        }
    }
    all
}

fn check_folder(root: &Path, depth: VerifyOptions) -> VerifyReport {
    let before = snapshot(root);
    let report = run(root, &depth);
    assert_eq!(before, snapshot(root), "verification changed the folder");
    report
}

#[test]
fn a_complete_folder_verifies_and_summarises() {
    let folder = Folder::sample();
    let root = folder.save();
    assert_eq!(catalog::detect_kind(root), Some(BackupKind::AndroidFolder));
    for options in [VerifyOptions::quick(), VerifyOptions::deep()] {
        let report = check_folder(root, options);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.stats.files_expected, 3);
        assert_eq!(report.stats.files_checked, 3);
        assert_eq!(report.stats.bytes_expected, 5000 + 10 + 22);
    }
    let summary = android::summarize_folder(root).unwrap();
    assert_eq!(summary.kind, BackupKind::AndroidFolder);
    assert_eq!(summary.model.as_deref(), Some("Google Pixel 7"));
    assert_eq!(summary.product_type.as_deref(), Some("Pixel 7"));
    assert_eq!(summary.device_id.as_deref(), Some("R5CT1234ABC"));
    assert_eq!(summary.os_version.as_deref(), Some("14"));
    assert_eq!(summary.date_unix, Some(1_795_600_800));
    assert!(!summary.encrypted);
    let stats = android::stats_folder(root).unwrap();
    assert_eq!((stats.file_count, stats.app_count), (Some(2), Some(1)));
    let manifest_len = fs::metadata(root.join("plugback-android.json"))
        .unwrap()
        .len();
    assert_eq!(stats.total_bytes, 5000 + 10 + 22 + manifest_len);
}

#[test]
fn missing_short_empty_and_changed_files_are_told_apart() {
    let mut folder = Folder::sample();
    folder
        .list_file("/sdcard/Music/never-copied.mp3", b"la la")
        .file("/sdcard/Download/cut.pdf", b"%PDF-1.7 full text")
        .file("/sdcard/Download/empty.bin", b"data that went missing")
        .file("/sdcard/Pictures/edited.png", b"original pixels");
    folder
        .write("files/sdcard/Download/cut.pdf", b"%PDF-1.7")
        .write("files/sdcard/Download/empty.bin", b"")
        .write("files/sdcard/Pictures/edited.png", b"modified pixels");
    let root = folder.save();

    let quick = check_folder(root, VerifyOptions::quick());
    let found = codes_and_paths(&quick);
    assert_eq!(
        found,
        [
            ("empty-file", "files/sdcard/Download/empty.bin"),
            ("blob-missing", "files/sdcard/Music/never-copied.mp3"),
            ("blob-size-mismatch", "files/sdcard/Download/cut.pdf"),
        ]
    );
    let deep = check_folder(root, VerifyOptions::deep());
    assert!(deep.has(ProblemCode::ChecksumMismatch));
    let mismatch: Vec<_> = deep
        .problems
        .iter()
        .filter(|p| p.code == ProblemCode::ChecksumMismatch)
        .collect();
    assert_eq!(mismatch.len(), 1);
    assert_eq!(mismatch[0].path, "files/sdcard/Pictures/edited.png");
    assert_eq!(deep.problems.len(), 4);
}

#[test]
fn unlisted_files_are_orphan_warnings() {
    let mut folder = Folder::sample();
    folder
        .write("files/sdcard/DCIM/stray.jpg", b"x")
        .write("apps/com.other/base.apk", b"y");
    folder.write("notes-beside-the-backup.txt", b"not data: ignored");
    let root = folder.save();
    let report = check_folder(root, VerifyOptions::quick());
    assert!(report.ok(), "orphans are warnings");
    let found = codes_and_paths(&report);
    assert_eq!(
        found,
        [
            ("blob-orphan", "apps/com.other/base.apk"),
            ("blob-orphan", "files/sdcard/DCIM/stray.jpg")
        ]
    );
}

#[test]
fn names_that_leave_the_folder_are_unsafe() {
    let mut folder = Folder::sample();
    folder
        .list_file("/sdcard/../../../etc/passwd", b"root")
        .list_file("sdcard/relative.txt", b"r")
        .list_file("/sdcard\\windows.txt", b"w")
        .list_file("/sdcard/./dot.txt", b"d");
    folder
        .apps
        .push(serde_json::json!({"package": "../../evil", "apks": []}));
    folder
        .apps
        .push(serde_json::json!({"package": "com.example.x",
        "apks": [{"name": "../../x.apk", "size": 1, "sha256": sha256_hex(b"x")}]}));
    let root = folder.save();
    let report = check_folder(root, VerifyOptions::deep());
    let unsafe_count = report
        .problems
        .iter()
        .filter(|p| p.code == ProblemCode::UnsafePath)
        .count();
    assert_eq!(unsafe_count, 6, "{:?}", report.problems);
    assert_eq!(report.problems.len(), 6, "{:?}", report.problems);
    assert!(!report.ok());
}

#[cfg(unix)]
#[test]
fn links_that_lead_outside_are_unsafe() {
    let mut folder = Folder::sample();
    let outside = folder._dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret.txt"), b"secret").unwrap();
    // A listed file that is a link out, a listed file reached through a linked folder, and
    // an unlisted link that dangles outside.
    folder
        .list_file("/sdcard/link.txt", b"secret")
        .list_file("/sdcard/linked/secret.txt", b"secret");
    let root = folder.save().to_path_buf();
    std::os::unix::fs::symlink(
        outside.join("secret.txt"),
        root.join("files/sdcard/link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, root.join("files/sdcard/linked")).unwrap();
    std::os::unix::fs::symlink("../../../../nowhere", root.join("files/sdcard/dangling")).unwrap();
    // A link that stays inside is fine.
    std::os::unix::fs::symlink(
        "Camera/IMG_0001.jpg",
        root.join("files/sdcard/DCIM/inside.jpg"),
    )
    .unwrap();
    let report = check_folder(&root, VerifyOptions::deep());
    let unsafe_paths: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.code == ProblemCode::UnsafePath)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(
        unsafe_paths,
        [
            "files/sdcard/dangling",
            "files/sdcard/link.txt",
            "files/sdcard/linked",
            "files/sdcard/linked/secret.txt",
        ]
    );
    let orphans: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.code == ProblemCode::BlobOrphan)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(orphans, ["files/sdcard/DCIM/inside.jpg"]);
    assert!(
        !report.has(ProblemCode::ChecksumMismatch),
        "nothing outside was read"
    );
}

#[test]
fn unreadable_or_newer_file_lists_are_manifest_unreadable() {
    let mut folder = Folder::sample();
    folder.version = 2;
    let root = folder.save().to_path_buf();
    let report = check_folder(&root, VerifyOptions::quick());
    assert_eq!(codes(&report), ["manifest-unreadable"]);
    assert!(
        report.problems[0].message.contains("newer Plugback"),
        "{}",
        report.problems[0].message
    );

    fs::write(
        root.join("plugback-android.json"),
        b"{\"format\": \"plugback-android-backup\", \"vers",
    )
    .unwrap();
    let report = check_folder(&root, VerifyOptions::deep());
    assert_eq!(codes(&report), ["manifest-unreadable"]);
    assert_eq!(
        android::summarize_folder(&root).unwrap_err().code(),
        "malformed"
    );
}

#[test]
fn a_damaged_entry_does_not_hide_the_others() {
    let mut folder = Folder::sample();
    folder
        .files
        .push(serde_json::json!({"path": "/sdcard/x", "size": -1}));
    let root = folder.save();
    let report = check_folder(root, VerifyOptions::deep());
    assert_eq!(codes(&report), ["record-invalid"]);
    assert_eq!(report.stats.files_checked, 3);
}

#[test]
fn folder_checks_report_progress_and_can_be_cancelled() {
    let folder = Folder::sample();
    let root = folder.save();
    let last = std::sync::Mutex::new(verify::VerifyProgress::default());
    let observer = |p: &verify::VerifyProgress| *last.lock().unwrap() = p.clone();
    let progress = ProgressReporter::new(Some(&observer));
    verify::verify(root, &VerifyOptions::deep(), &progress).unwrap();
    let last = last.lock().unwrap().clone();
    assert_eq!((last.files_done, last.files_total), (3, 3));
    assert_eq!((last.bytes_done, last.bytes_total), (5032, 5032));

    let options = VerifyOptions::deep();
    options.cancel.cancel();
    let err = verify::verify(root, &options, &ProgressReporter::silent()).unwrap_err();
    assert_eq!(err.code(), "cancelled");
}
