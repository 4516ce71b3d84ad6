//! The bad-input corpus: damaged copies of generated backups. Each must give its stable
//! problem code and a message a person can act on, and never a panic.

use crate::common::tree_hashes;
use plugback_core::backup::verify::{
    Depth, ProblemCode, ProgressReporter, VerifyOptions, VerifyReport, verify,
};
use plugback_core::secret::Password;
use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const PW: &str = "mutation-pw";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Base {
    Ios,
    IosEncrypted,
    IosMbdb,
    Ab,
    AbEncrypted,
    AbPlainUncompressed,
    Folder,
}

struct Mutation {
    name: &'static str,
    base: Base,
    deep: bool,
    expect: ProblemCode,
    mutate: fn(&Path),
}

fn spec_for(base: Base) -> (Spec, &'static str) {
    let (kind, file) = match base {
        Base::Ios | Base::IosEncrypted => (Kind::Ios, "backup"),
        Base::IosMbdb => (Kind::IosMbdb, "backup"),
        Base::Ab | Base::AbEncrypted | Base::AbPlainUncompressed => (Kind::AndroidAb, "phone.ab"),
        Base::Folder => (Kind::AndroidFolder, "backup"),
    };
    let mut spec = Spec::new(kind);
    spec.kdf_cost = KdfCost::Low;
    spec.seed = 42;
    if matches!(base, Base::IosEncrypted | Base::AbEncrypted) {
        spec.password = Some(PW.to_owned());
    }
    if base == Base::AbPlainUncompressed {
        spec.ab_compressed = false;
    }
    (spec, file)
}

// ---- helpers the mutations use -------------------------------------------------------

fn blobs(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().len() == 2)
        .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .collect();
    out.sort();
    out
}

/// The largest blob: sure to be a file with content (and several cipher blocks).
fn big_blob(root: &Path) -> PathBuf {
    blobs(root)
        .into_iter()
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap()
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn flip_byte(path: &Path, at: u64) {
    let mut bytes = fs::read(path).unwrap();
    let i = at as usize % bytes.len();
    bytes[i] ^= 0x5a;
    fs::write(path, bytes).unwrap();
}

fn append(path: &Path, extra: &[u8]) {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(extra)
        .unwrap();
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn sql(root: &Path, statement: &str) {
    let db = rusqlite::Connection::open(root.join("Manifest.db")).unwrap();
    db.execute_batch(statement).unwrap();
}

fn edit_plist(path: &Path, f: impl FnOnce(&mut plist::Dictionary)) {
    let mut value = plist::Value::from_file(path).unwrap();
    f(value.as_dictionary_mut().unwrap());
    value.to_file_binary(path).unwrap();
}

/// Rewrites the header line `index` (0 = magic) of an .ab file, keeping the rest.
fn ab_header_line(path: &Path, index: usize, replacement: &str) {
    let bytes = fs::read(path).unwrap();
    let mut lines = Vec::new();
    let mut start = 0;
    let header_lines = if bytes.windows(7).any(|w| w == b"AES-256") {
        9
    } else {
        4
    };
    for _ in 0..header_lines {
        let end = start + bytes[start..].iter().position(|&b| b == b'\n').unwrap();
        lines.push(bytes[start..end].to_vec());
        start = end + 1;
    }
    lines[index] = replacement.as_bytes().to_vec();
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(&l);
        out.push(b'\n');
    }
    out.extend_from_slice(&bytes[start..]);
    fs::write(path, out).unwrap();
}

fn ab_header_len(path: &Path) -> usize {
    let bytes = fs::read(path).unwrap();
    let header_lines = if bytes.windows(7).any(|w| w == b"AES-256") {
        9
    } else {
        4
    };
    let mut start = 0;
    for _ in 0..header_lines {
        start += bytes[start..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    start
}

/// Replaces the .ab body with a compressed tar of the given entries, written raw so
/// that hostile names are kept as they are.
fn ab_with_tar(path: &Path, entries: &[(&str, &[u8])]) {
    let mut tar = Vec::new();
    for (name, data) in entries {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[108..115].copy_from_slice(b"0000000");
        header[116..123].copy_from_slice(b"0000000");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&header);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&tar).unwrap();
    let body = z.finish().unwrap();
    let mut out = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
    out.extend_from_slice(&body);
    fs::write(path, out).unwrap();
}

fn folder_manifest(root: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = root.join("plugback-android.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    f(&mut doc);
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

fn folder_file(root: &Path, index: usize) -> PathBuf {
    let path = root.join("plugback-android.json");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let files = doc["files"].as_array().unwrap();
    let with_content: Vec<_> = files
        .iter()
        .filter(|f| f["size"].as_u64().unwrap() > 100)
        .collect();
    let phone = with_content[index % with_content.len()]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    root.join("files").join(phone.trim_start_matches('/'))
}

// ---- the corpus ----------------------------------------------------------------------

fn corpus() -> Vec<Mutation> {
    use Base::*;
    use ProblemCode as C;
    let m = |name, base, deep, expect, mutate| Mutation {
        name,
        base,
        deep,
        expect,
        mutate,
    };
    vec![
        // iPhone, modern layout
        m("manifest-db-deleted", Ios, false, C::MissingFile, |r| {
            fs::remove_file(r.join("Manifest.db")).unwrap()
        }),
        m(
            "manifest-db-truncated",
            Ios,
            false,
            C::ManifestDbCorrupt,
            |r| {
                let p = r.join("Manifest.db");
                truncate(&p, len(&p) / 2)
            },
        ),
        m(
            "manifest-db-garbage-page",
            Ios,
            false,
            C::ManifestDbCorrupt,
            |r| {
                let p = r.join("Manifest.db");
                let mut b = fs::read(&p).unwrap();
                let end = b.len().min(8192);
                b[4096.min(end)..end].fill(0xff);
                b[100..200].fill(0xee);
                fs::write(&p, b).unwrap()
            },
        ),
        m(
            "manifest-db-index-broken",
            Ios,
            false,
            C::ManifestDbCorrupt,
            |r| {
                // An index that no longer matches its table: rows intact, lookups wrong.
                sql(
                    r,
                    "PRAGMA writable_schema = ON; \
                 UPDATE sqlite_master SET sql = replace(sql, '(relativePath)', '(flags)') \
                 WHERE type = 'index' AND sql LIKE '%(relativePath)%';",
                )
            },
        ),
        m("manifest-db-empty", Ios, false, C::EmptyFile, |r| {
            truncate(&r.join("Manifest.db"), 0)
        }),
        m("info-plist-garbage", Ios, false, C::PlistUnreadable, |r| {
            fs::write(
                r.join("Info.plist"),
                b"<?xml version=\"1.0\"?><plist><dict><key>",
            )
            .unwrap()
        }),
        m(
            "manifest-plist-truncated",
            Ios,
            false,
            C::PlistUnreadable,
            |r| {
                let p = r.join("Manifest.plist");
                truncate(&p, len(&p) / 3)
            },
        ),
        m(
            "status-unfinished",
            Ios,
            false,
            C::SnapshotUnfinished,
            |r| {
                edit_plist(&r.join("Status.plist"), |d| {
                    d.insert("SnapshotState".into(), "uploading".into());
                })
            },
        ),
        m("status-plist-deleted", Ios, false, C::MissingFile, |r| {
            fs::remove_file(r.join("Status.plist")).unwrap()
        }),
        m("blob-deleted", Ios, false, C::BlobMissing, |r| {
            fs::remove_file(big_blob(r)).unwrap()
        }),
        m("blob-short-by-one", Ios, false, C::BlobSizeMismatch, |r| {
            let p = big_blob(r);
            truncate(&p, len(&p) - 1)
        }),
        m("blob-grown", Ios, false, C::BlobSizeMismatch, |r| {
            append(&big_blob(r), b"x")
        }),
        m("blob-extra-file", Ios, false, C::BlobOrphan, |r| {
            let dir = r.join("ab");
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("ab".repeat(20)), b"stray").unwrap()
        }),
        m("blob-emptied", Ios, false, C::EmptyFile, |r| {
            truncate(&big_blob(r), 0)
        }),
        m("all-blobs-emptied", Ios, false, C::SuspiciousSize, |r| {
            for b in blobs(r) {
                truncate(&b, 0)
            }
        }),
        m("fileid-rewritten", Ios, false, C::FileidMismatch, |r| {
            sql(
                r,
                "UPDATE Files SET relativePath = relativePath || '-renamed' \
                 WHERE rowid = (SELECT rowid FROM Files WHERE flags = 1 LIMIT 1)",
            )
        }),
        m("relative-path-escapes", Ios, false, C::UnsafePath, |r| {
            sql(
                r,
                "UPDATE Files SET relativePath = '../../etc/passwd' \
                 WHERE rowid = (SELECT rowid FROM Files WHERE flags = 1 LIMIT 1)",
            )
        }),
        m("mbfile-record-garbage", Ios, false, C::RecordInvalid, |r| {
            sql(
                r,
                "UPDATE Files SET file = X'62706C6973743030FFFF' \
                 WHERE rowid = (SELECT rowid FROM Files WHERE flags = 1 LIMIT 1)",
            )
        }),
        m(
            "lying-is-encrypted-false",
            IosEncrypted,
            false,
            C::ManifestDbCorrupt,
            |r| {
                edit_plist(&r.join("Manifest.plist"), |d| {
                    d.insert("IsEncrypted".into(), false.into());
                })
            },
        ),
        m(
            "lying-is-encrypted-true",
            Ios,
            false,
            C::PlistUnreadable,
            |r| {
                edit_plist(&r.join("Manifest.plist"), |d| {
                    d.insert("IsEncrypted".into(), true.into());
                })
            },
        ),
        // iPhone, encrypted
        m(
            "encrypted-blob-corrupt-tail",
            IosEncrypted,
            true,
            C::DecryptFailed,
            |r| {
                let p = big_blob(r);
                flip_byte(&p, len(&p) - 1)
            },
        ),
        m(
            "encrypted-keybag-truncated",
            IosEncrypted,
            false,
            C::PlistUnreadable,
            |r| {
                edit_plist(&r.join("Manifest.plist"), |d| {
                    let bag = d.get("BackupKeyBag").unwrap().as_data().unwrap().to_vec();
                    d.insert(
                        "BackupKeyBag".into(),
                        plist::Value::Data(bag[..bag.len() / 2].to_vec()),
                    );
                })
            },
        ),
        // iPhone, legacy layout
        m(
            "mbdb-truncated",
            IosMbdb,
            false,
            C::ManifestDbCorrupt,
            |r| {
                let p = r.join("Manifest.mbdb");
                truncate(&p, len(&p) / 2 + 3)
            },
        ),
        m(
            "mbdb-bad-magic",
            IosMbdb,
            false,
            C::ManifestDbCorrupt,
            |r| {
                let p = r.join("Manifest.mbdb");
                let mut b = fs::read(&p).unwrap();
                b[..4].copy_from_slice(b"mbdx");
                fs::write(&p, b).unwrap()
            },
        ),
        // Android .ab
        m("ab-version-9", Ab, false, C::AbHeaderInvalid, |p| {
            ab_header_line(p, 1, "9")
        }),
        m("ab-compressed-2", Ab, false, C::AbHeaderInvalid, |p| {
            ab_header_line(p, 2, "2")
        }),
        m("ab-encryption-des", Ab, false, C::AbHeaderInvalid, |p| {
            ab_header_line(p, 3, "DES")
        }),
        m(
            "ab-user-salt-bad-hex",
            AbEncrypted,
            false,
            C::AbHeaderInvalid,
            |p| ab_header_line(p, 4, "zz12"),
        ),
        m(
            "ab-rounds-not-a-number",
            AbEncrypted,
            false,
            C::AbHeaderInvalid,
            |p| ab_header_line(p, 6, "ten thousand"),
        ),
        m("ab-header-only", Ab, false, C::AbTruncated, |p| {
            truncate(p, ab_header_len(p) as u64)
        }),
        m("ab-stream-cut", Ab, true, C::AbTruncated, |p| {
            let h = ab_header_len(p) as u64;
            truncate(p, h + (len(p) - h) / 2)
        }),
        m(
            "ab-stream-byte-flipped",
            Ab,
            true,
            C::AbStreamCorrupt,
            |p| {
                let h = ab_header_len(p) as u64;
                flip_byte(p, h + (len(p) - h) / 2)
            },
        ),
        m(
            "ab-encrypted-cut-mid-block",
            AbEncrypted,
            true,
            C::AbTruncated,
            |p| truncate(p, len(p) - 7),
        ),
        m(
            "ab-uncompressed-cut",
            AbPlainUncompressed,
            true,
            C::AbTruncated,
            |p| truncate(p, len(p) - 700),
        ),
        m("ab-tar-dotdot", Ab, true, C::UnsafePath, |p| {
            ab_with_tar(
                p,
                &[
                    ("apps/x/f/ok.txt", b"fine"),
                    ("apps/x/f/../../../evil", b"no"),
                ],
            )
        }),
        m("ab-tar-absolute", Ab, true, C::UnsafePath, |p| {
            ab_with_tar(p, &[("/etc/cron.d/evil", b"no")])
        }),
        m("ab-tar-garbage", Ab, true, C::TarInvalid, |p| {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&[0x37u8; 3000]).unwrap();
            let mut out = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
            out.extend(z.finish().unwrap());
            fs::write(p, out).unwrap()
        }),
        // Plugback Android folders
        m(
            "folder-json-garbage",
            Folder,
            false,
            C::ManifestUnreadable,
            |r| {
                fs::write(
                    r.join("plugback-android.json"),
                    b"{\"format\": \"plugback-android-backup\", ",
                )
                .unwrap()
            },
        ),
        m("folder-file-missing", Folder, false, C::BlobMissing, |r| {
            fs::remove_file(folder_file(r, 0)).unwrap()
        }),
        m(
            "folder-file-size",
            Folder,
            false,
            C::BlobSizeMismatch,
            |r| append(&folder_file(r, 1), b"more"),
        ),
        m(
            "folder-file-content",
            Folder,
            true,
            C::ChecksumMismatch,
            |r| flip_byte(&folder_file(r, 2), 10),
        ),
        m("folder-path-dotdot", Folder, false, C::UnsafePath, |r| {
            folder_manifest(r, |d| {
                d["files"][0]["path"] = "/sdcard/../../etc/shadow".into()
            })
        }),
        m("folder-path-backslash", Folder, false, C::UnsafePath, |r| {
            folder_manifest(r, |d| d["files"][0]["path"] = "/sdcard\\..\\x".into())
        }),
        m("folder-orphan", Folder, false, C::BlobOrphan, |r| {
            fs::write(r.join("files/sdcard/stray.bin"), b"stray").unwrap()
        }),
    ]
}

fn run_verify(path: &Path, base: Base, deep: bool) -> VerifyReport {
    let mut options = if deep {
        VerifyOptions::deep()
    } else {
        VerifyOptions::quick()
    };
    if matches!(base, Base::IosEncrypted | Base::AbEncrypted) {
        options = options.with_password(Some(Password::new(PW)));
    }
    let report = verify(path, &options, &ProgressReporter::silent())
        .unwrap_or_else(|e| panic!("{}: verify could not run: {e}", path.display()));
    assert_eq!(report.depth, if deep { Depth::Deep } else { Depth::Quick });
    report
}

#[test]
fn every_mutation_gives_its_code_and_a_clear_message() {
    let work = tempfile::tempdir().unwrap();
    let corpus = corpus();
    assert!(
        corpus.len() >= 30,
        "the corpus must keep at least 30 mutations"
    );

    let mut failures = Vec::new();
    for base in [
        Base::Ios,
        Base::IosEncrypted,
        Base::IosMbdb,
        Base::Ab,
        Base::AbEncrypted,
        Base::AbPlainUncompressed,
        Base::Folder,
    ] {
        let (spec, file) = spec_for(base);
        let pristine_dir = work.path().join(format!("{base:?}"));
        fs::create_dir_all(&pristine_dir).unwrap();
        let pristine = pristine_dir.join(file);
        make_backup(&spec, &pristine).unwrap();
        // The unmutated base itself must be clean, or the corpus proves nothing.
        for deep in [false, true] {
            let report = run_verify(&pristine, base, deep);
            assert!(
                report.ok(),
                "{base:?} pristine is not ok: {:?}",
                report.problems
            );
        }
        for m in corpus.iter().filter(|m| m.base == base) {
            let case_dir = work.path().join(m.name);
            fs::create_dir_all(&case_dir).unwrap();
            let case = case_dir.join(file);
            copy_tree(&pristine, &case);
            (m.mutate)(&case);
            let before = tree_hashes(&case_dir);
            let report = run_verify(&case, base, m.deep);
            if tree_hashes(&case_dir) != before {
                failures.push(format!("{}: verify changed the backup", m.name));
            }
            match report.problems.iter().find(|p| p.code == m.expect) {
                Some(p) if p.message.len() > 20 => {}
                Some(p) => failures.push(format!("{}: message too thin: {:?}", m.name, p.message)),
                None => failures.push(format!(
                    "{}: expected {}, got {:?}",
                    m.name,
                    m.expect.as_str(),
                    report
                        .problems
                        .iter()
                        .map(|p| format!("{}: {}", p.code.as_str(), p.message))
                        .collect::<Vec<_>>()
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mutations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from).unwrap();
    if meta.is_file() {
        fs::copy(from, to).unwrap();
    } else if meta.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from).unwrap(), to).unwrap();
    } else {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    }
}
