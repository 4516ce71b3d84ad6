//! Whole archives from the backup generator, through `restore_stream` with a password.

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
        eprintln!("DEBUG file len {}", plain.len());
        let (result, rest) = restore_into(&plain_data, &plain, None);
        result.unwrap();
        // A zlib stream ends exactly; a bare tar may leave its second zero block.
        let expected_rest: &[u8] = if compressed { b"SENTINEL" } else { &[0u8; 512] };
        assert!(
            rest.starts_with(expected_rest) && rest.ends_with(b"SENTINEL"),
            "{case}: {} left",
            rest.len()
        );

        let enc_data = dir.path().join(format!("{case}-enc"));
        let (result, rest) = restore_into(&enc_data, &encrypted, Some("s\u{e9}cret"));
        result.unwrap();
        assert!(
            rest.ends_with(b"SENTINEL") && rest.len() <= 8 + 528,
            "{case}: {} left",
            rest.len()
        );
        if compressed {
            assert_eq!(rest, b"SENTINEL", "{case}");
        }

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
fn zlib_length_debug() {
    let dir = tempfile::tempdir().unwrap();
    let plain = archive(dir.path(), "p.ab", 5, true, None);
    let body = &plain[b"ANDROID BACKUP\n5\n1\nnone\n".len()..];
    for trickle in [false, true] {
        let mut wire = body.to_vec();
        wire.extend_from_slice(&[0u8; 100]);
        let mut t = Trickle {
            rest: &wire,
            turn: 0,
        };
        let mut whole: &[u8] = &wire;
        let reader: Box<dyn BufRead> = if trickle {
            Box::new(io::BufReader::with_capacity(3, &mut t))
        } else {
            Box::new(&mut whole)
        };
        let mut z = ZlibDecoder::new(reader);
        let n = io::copy(&mut z, &mut io::sink()).unwrap();
        eprintln!(
            "trickle={trickle} out={n} total_in={} body={}",
            z.total_in(),
            body.len()
        );
    }
}
