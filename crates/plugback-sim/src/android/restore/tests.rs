//! Whole archives from the backup generator, through `restore_stream` with a password.

use super::tar::tests::ustar_header;
use super::*;
use crate::make_backup::{Kind, Spec, make_backup};
use std::collections::BTreeMap;

/// Hands out at most a few bytes per read, as a stream cut into small packets would,
/// so that every layer's read-ahead is as small as it can be.
struct Trickle<'a> {
    rest: &'a [u8],
    turn: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.turn += 1;
        let n = (1 + self.turn % 7).min(out.len()).min(self.rest.len());
        out[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().unwrap() != report::REPORT_FILE {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn archive(
    dir: &Path,
    name: &str,
    version: u8,
    compressed: bool,
    password: Option<&str>,
) -> Vec<u8> {
    let mut spec = Spec::new(Kind::AndroidAb);
    spec.ab_version = version;
    spec.ab_compressed = compressed;
    spec.password = password.map(str::to_string);
    spec.files = 3;
    spec.file_size = 5000;
    let path = dir.join(name);
    make_backup(&spec, &path).unwrap();
    std::fs::read(path).unwrap()
}

/// Restores `bytes` + the end marker + a sentinel; returns what was left unread.
fn restore_into(
    data: &Path,
    bytes: &[u8],
    password: Option<&str>,
) -> (Result<(), RestoreError>, Vec<u8>) {
    let mut wire = bytes.to_vec();
    wire.extend_from_slice(&[0u8; 1024]);
    wire.extend_from_slice(b"SENTINEL");
    let mut stream = Trickle {
        rest: &wire,
        turn: 0,
    };
    std::fs::create_dir_all(data).unwrap();
    let result = restore_stream(&mut stream, data, password);
    (result, stream.rest.to_vec())
}

/// The end marker was read up to the archive's known end: a zlib stream ends exactly, a
/// bare tar may leave its second zero block (and its cipher padding) unread. The last
/// read may take a little of what follows.
fn assert_drained(rest: &[u8], compressed: bool, case: &str) {
    let zeros = rest.iter().take_while(|&&b| b == 0).count();
    let allowed = if compressed { 0 } else { 512 + 16 };
    assert!(zeros <= allowed, "{case}: {zeros} zero bytes left");
    let tail = &rest[zeros..];
    assert!(
        !tail.is_empty() && b"SENTINEL".ends_with(tail),
        "{case}: {tail:?} left"
    );
}

#[test]
fn encrypted_archives_restore_like_their_plain_twins() {
    let dir = tempfile::tempdir().unwrap();
    for (version, compressed) in [(1, false), (1, true), (2, true), (5, false), (5, true)] {
        let case = format!("v{version}-{compressed}");
        let plain = archive(dir.path(), &format!("{case}.ab"), version, compressed, None);
        let encrypted = archive(
            dir.path(),
            &format!("{case}-enc.ab"),
            version,
            compressed,
            Some("s\u{e9}cret"),
        );

        let plain_data = dir.path().join(format!("{case}-plain"));
        let (result, rest) = restore_into(&plain_data, &plain, None);
        result.unwrap();
        assert_drained(&rest, compressed, &case);

        let enc_data = dir.path().join(format!("{case}-enc"));
        let (result, rest) = restore_into(&enc_data, &encrypted, Some("s\u{e9}cret"));
        result.unwrap();
        assert_drained(&rest, compressed, &case);

        let restored = files_under(&enc_data);
        assert_eq!(restored, files_under(&plain_data), "{case}");
        assert!(
            restored
                .keys()
                .any(|k| k.starts_with("restored/apps/com.example.notes/f/")),
            "{case}"
        );
        assert!(
            restored.contains_key("restored/apps/com.example.notes/_manifest"),
            "{case}"
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(enc_data.join(report::REPORT_FILE)).unwrap())
                .unwrap();
        assert_eq!(report["outcome"], "ok");
        assert_eq!(report["encrypted"], true);
        assert_eq!(
            report["files_restored"].as_u64().unwrap() as usize,
            restored.len()
        );
    }
}

#[test]
fn a_wrong_password_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for version in [1, 5] {
        let encrypted = archive(
            dir.path(),
            &format!("v{version}.ab"),
            version,
            true,
            Some("right"),
        );
        for password in [Some("wrong"), None] {
            let data = dir.path().join(format!("v{version}-{password:?}"));
            let (result, _) = restore_into(&data, &encrypted, password);
            assert!(
                matches!(result, Err(RestoreError::WrongPassword(_))),
                "{result:?}"
            );
            assert!(files_under(&data).is_empty());
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(data.join(report::REPORT_FILE)).unwrap())
                    .unwrap();
            assert_eq!(report["outcome"], "wrong-password");
        }
    }
}

#[test]
fn truncated_and_garbled_archives_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let plain = archive(dir.path(), "p.ab", 5, true, None);
    let encrypted = archive(dir.path(), "e.ab", 5, true, Some("pw"));
    let mut seed = 7u32;
    for (i, source) in [&plain, &encrypted]
        .into_iter()
        .cycle()
        .take(20)
        .enumerate()
    {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let mut bytes = source.clone();
        let at = 40 + seed as usize % (bytes.len() - 40);
        if i % 2 == 0 {
            bytes.truncate(at);
        } else {
            bytes[at] ^= 0x5a;
        }
        let data = dir.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let mut stream: &[u8] = &bytes;
        let _ = restore_stream(&mut stream, &data, Some("pw"));
        assert!(data.join(report::REPORT_FILE).exists());
    }
}

#[test]
fn shared_storage_lands_in_sdcard_and_escaping_names_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("phone");
    let mut ab = b"ANDROID BACKUP\n5\n0\nnone\n".to_vec();
    let entries: [(&str, u8, &[u8]); 6] = [
        ("shared/0/DCIM/Camera", b'5', b""),
        ("shared/0/DCIM/Camera/IMG_1.jpg", b'0', b"jpeg bytes"),
        ("apps/com.x/f/../../../../escape.txt", b'0', b"nope"),
        ("/abs/escape.txt", b'0', b"nope"),
        ("shared/1/other-volume.txt", b'0', b"nope"),
        ("apps/com.x/f/notes.txt", b'0', b"hello"),
    ];
    for (name, kind, content) in entries {
        ab.extend_from_slice(&ustar_header(
            name,
            kind,
            content.len() as u64,
            1_700_000_000,
        ));
        ab.extend_from_slice(content);
        let header_len = 24;
        let body = ab.len() - header_len;
        ab.resize(header_len + body.next_multiple_of(512), 0);
    }
    ab.extend_from_slice(&[0u8; 1024]);
    let (result, _) = restore_into(&data, &ab, None);
    result.unwrap();
    let files = files_under(&data);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "restored/apps/com.x/f/notes.txt",
            "sdcard/DCIM/Camera/IMG_1.jpg"
        ]
    );
    assert_eq!(files["sdcard/DCIM/Camera/IMG_1.jpg"], b"jpeg bytes");
    let mtime = std::fs::metadata(data.join("sdcard/DCIM/Camera/IMG_1.jpg"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        mtime
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        1_700_000_000
    );
    assert!(!dir.path().join("escape.txt").exists());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join(report::REPORT_FILE)).unwrap()).unwrap();
    assert_eq!(report["skipped"], 3);
    assert_eq!(report["shared_files"], 1);
    assert_eq!(report["app_files"], 1);
}
