//! Checks the generated backups with readers written here, independently of the generator:
//! keybag unlock, Manifest.db and blob decryption, mbdb parsing, `.ab` decryption and
//! inflation, tar reading with the `tar` crate, and the Android folder's hashes.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyInit, KeyIvInit};
use plist::Value;
use plugback_sim::make_backup::{KdfCost, Kind, Made, MakeError, Spec, make_backup};
use rusqlite::{Connection, OpenFlags};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "correct horse \u{e9}t\u{e9}";

fn spec(kind: Kind, seed: u64, files: usize) -> Spec {
    let mut spec = Spec::new(kind);
    spec.seed = seed;
    spec.files = files;
    spec.file_size = 1_000;
    spec
}

fn make(spec: &Spec) -> (tempfile::TempDir, PathBuf, Made) {
    let dir = tempfile::tempdir().unwrap();
    let out = if spec.kind == Kind::AndroidAb {
        dir.path().join("phone.ab")
    } else {
        dir.path().join("backup")
    };
    let made = make_backup(spec, &out).unwrap();
    assert_eq!(made.path, out);
    (dir, out, made)
}

/// Every file under `root`, by relative path.
fn walk(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                all.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    all
}

fn read_plist(path: &Path) -> plist::Dictionary {
    Value::from_file(path).unwrap().into_dictionary().unwrap()
}

fn cbc_decrypt(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    let mut buf = data.to_vec();
    let plain = cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
        .ok()?
        .decrypt_padded::<Pkcs7>(&mut buf)
        .ok()?;
    Some(plain.to_vec())
}

fn unwrap_key(kek: &[u8; 32], wrapped: &[u8]) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    aes_kw::KwAes256::new(kek.into())
        .unwrap_key(wrapped, &mut key)
        .ok()?;
    Some(key)
}

// ---------------------------------------------------------------------------------------
// An independent iPhone backup reader.

struct Keybag {
    header: HashMap<String, Vec<u8>>,
    /// class => (WRAP, WPKY)
    classes: BTreeMap<u32, (u32, Vec<u8>)>,
    tags: Vec<(String, usize)>,
}

fn be32(v: &[u8]) -> u32 {
    u32::from_be_bytes(v.try_into().unwrap())
}

fn parse_keybag(bytes: &[u8]) -> Keybag {
    let mut header = HashMap::new();
    let mut classes = BTreeMap::new();
    let mut tags = Vec::new();
    let mut current: Option<HashMap<String, Vec<u8>>> = None;
    let mut finish = |c: Option<HashMap<String, Vec<u8>>>| {
        if let Some(c) = c {
            classes.insert(be32(&c["CLAS"]), (be32(&c["WRAP"]), c["WPKY"].clone()));
        }
    };
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let tag = String::from_utf8(bytes[at..at + 4].to_vec()).unwrap();
        let len = be32(&bytes[at + 4..at + 8]) as usize;
        let value = bytes[at + 8..at + 8 + len].to_vec();
        at += 8 + len;
        tags.push((tag.clone(), len));
        if tag == "UUID" && header.contains_key("UUID") {
            finish(current.take());
            current = Some(HashMap::new());
        }
        match current.as_mut() {
            Some(c) => c.insert(tag, value),
            None => header.insert(tag, value),
        };
    }
    finish(current);
    assert_eq!(at, bytes.len(), "keybag TLV ends exactly");
    Keybag {
        header,
        classes,
        tags,
    }
}

/// Derives the passcode key and unwraps every class key; None on a wrong password.
fn unlock(keybag: &Keybag, password: &str) -> Option<ClassKeys> {
    let h = &keybag.header;
    let mut secret = password.as_bytes().to_vec();
    if let (Some(dpsl), Some(dpic)) = (h.get("DPSL"), h.get("DPIC")) {
        secret = pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(&secret, dpsl, be32(dpic)).to_vec();
    }
    let key = pbkdf2::pbkdf2_hmac_array::<Sha1, 32>(&secret, &h["SALT"], be32(&h["ITER"]));
    let mut keys = HashMap::new();
    for (class, (wrap, wpky)) in &keybag.classes {
        assert!(wrap & 2 != 0, "class {class} is passcode-wrapped");
        keys.insert(*class, unwrap_key(&key, wpky)?);
    }
    Some(keys)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    file_id: String,
    domain: String,
    path: String,
    flags: i64,
}

struct MbFile {
    size: u64,
    mode: u64,
    class: u64,
    target: Option<String>,
    encryption_key: Option<Vec<u8>>,
    keys: BTreeSet<String>,
}

fn parse_mbfile(archive: &[u8]) -> MbFile {
    let dict = Value::from_reader(std::io::Cursor::new(archive))
        .unwrap()
        .into_dictionary()
        .unwrap();
    assert_eq!(dict["$archiver"].as_string(), Some("NSKeyedArchiver"));
    let objects = dict["$objects"].as_array().unwrap();
    let deref = |v: &Value| match v {
        Value::Uid(uid) => objects[uid.get() as usize].clone(),
        other => panic!("expected a UID, got {other:?}"),
    };
    let root = deref(&dict["$top"].as_dictionary().unwrap()["root"]);
    let file = root.as_dictionary().unwrap();
    let class = deref(&file["$class"]);
    assert_eq!(
        class.as_dictionary().unwrap()["$classname"].as_string(),
        Some("MBFile")
    );
    MbFile {
        size: file["Size"].as_unsigned_integer().unwrap(),
        mode: file["Mode"].as_unsigned_integer().unwrap(),
        class: file["ProtectionClass"].as_unsigned_integer().unwrap(),
        target: file
            .get("Target")
            .map(|t| deref(t).as_string().unwrap().to_string()),
        encryption_key: file.get("EncryptionKey").map(|k| {
            deref(k).as_dictionary().unwrap()["NS.data"]
                .as_data()
                .unwrap()
                .to_vec()
        }),
        keys: file.keys().cloned().collect(),
    }
}

/// Rows of a Manifest.db file, opened read-only and immutable (it is in WAL mode).
fn read_manifest_db(path: &Path) -> Vec<(Row, MbFile)> {
    let uri = format!("file:{}?immutable=1", path.display());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY fileID")
        .unwrap();
    stmt.query_map([], |r| {
        let row = Row {
            file_id: r.get(0)?,
            domain: r.get(1)?,
            path: r.get(2)?,
            flags: r.get(3)?,
        };
        let blob: Vec<u8> = r.get(4)?;
        Ok((row, parse_mbfile(&blob)))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// Unlocks an encrypted modern backup and returns its rows plus the class keys.
type ClassKeys = HashMap<u32, [u8; 32]>;

fn open_encrypted(dir: &Path, password: &str) -> (Vec<(Row, MbFile)>, ClassKeys) {
    let manifest = read_plist(&dir.join("Manifest.plist"));
    assert_eq!(manifest["IsEncrypted"].as_boolean(), Some(true));
    let keybag = parse_keybag(manifest["BackupKeyBag"].as_data().unwrap());
    let keys = unlock(&keybag, password).expect("the password unlocks the keybag");
    let manifest_key = manifest["ManifestKey"].as_data().unwrap();
    let class = u32::from_le_bytes(manifest_key[..4].try_into().unwrap());
    assert_eq!(class, 4);
    let db_key = unwrap_key(&keys[&class], &manifest_key[4..]).unwrap();
    let encrypted = fs::read(dir.join("Manifest.db")).unwrap();
    assert_eq!(encrypted.len() % 16, 0);
    let plain = cbc_decrypt(&db_key, &[0; 16], &encrypted).expect("Manifest.db decrypts");
    assert!(plain.starts_with(b"SQLite format 3\0"));
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("Manifest.db");
    fs::write(&db, plain).unwrap();
    (read_manifest_db(&db), keys)
}

// ---------------------------------------------------------------------------------------
// iPhone, modern layout.

#[test]
fn ios_same_seed_gives_identical_bytes() {
    let mut s = spec(Kind::Ios, 9, 12);
    let (_a, a, _) = make(&s);
    let (_b, b, _) = make(&s);
    assert_eq!(walk(&a), walk(&b));

    s.password = Some(PASSWORD.into());
    let (_c, c, _) = make(&s);
    let (_d, d, _) = make(&s);
    assert_eq!(walk(&c), walk(&d));

    s.password = None;
    s.seed = 10;
    let (_e, e, _) = make(&s);
    let (one, other) = (walk(&a), walk(&e));
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        other.keys().collect::<Vec<_>>(),
        "names do not depend on content"
    );
    let blob = one.keys().find(|k| k.len() == 43).unwrap();
    assert_ne!(one[blob], other[blob], "another seed gives other content");
}

#[test]
fn ios_encrypted_twin_has_the_same_file_ids_and_plaintext() {
    let plain_spec = spec(Kind::Ios, 3, 16);
    let mut enc_spec = plain_spec.clone();
    enc_spec.password = Some(PASSWORD.into());
    let (_p, plain, made_plain) = make(&plain_spec);
    let (_e, enc, made_enc) = make(&enc_spec);
    assert_eq!(
        (made_plain.files, made_plain.bytes),
        (made_enc.files, made_enc.bytes)
    );

    let plain_rows = read_manifest_db(&plain.join("Manifest.db"));
    let (enc_rows, keys) = open_encrypted(&enc, PASSWORD);
    let plain_ids: Vec<_> = plain_rows.iter().map(|(r, _)| r.clone()).collect();
    let enc_ids: Vec<_> = enc_rows.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(plain_ids, enc_ids);

    let mut files = 0;
    let mut bytes = 0;
    for ((row, plain_file), (_, enc_file)) in plain_rows.iter().zip(&enc_rows) {
        assert_eq!(
            row.file_id,
            sha1_hex(format!("{}-{}", row.domain, row.path).as_bytes())
        );
        assert_eq!(plain_file.size, enc_file.size);
        assert!(plain_file.encryption_key.is_none());
        if row.flags != 1 {
            assert!(enc_file.encryption_key.is_none());
            continue;
        }
        let blob_path = |root: &Path| root.join(&row.file_id[..2]).join(&row.file_id);
        let plain_blob = fs::read(blob_path(&plain)).unwrap();
        assert_eq!(plain_blob.len() as u64, plain_file.size);

        let wrapped = enc_file
            .encryption_key
            .as_ref()
            .expect("encrypted files carry a key");
        assert_eq!(wrapped.len(), 44);
        let class = u32::from_le_bytes(wrapped[..4].try_into().unwrap());
        assert_eq!(u64::from(class), enc_file.class);
        let file_key = unwrap_key(&keys[&class], &wrapped[4..]).unwrap();
        let enc_blob = fs::read(blob_path(&enc)).unwrap();
        assert_eq!(
            enc_blob.len() as u64,
            (plain_file.size / 16 + 1) * 16,
            "PKCS#7 padded"
        );
        assert_eq!(
            cbc_decrypt(&file_key, &[0; 16], &enc_blob).unwrap(),
            plain_blob
        );
        files += 1;
        bytes += plain_file.size;
    }
    assert_eq!((files, bytes), (made_plain.files, made_plain.bytes));
}

#[test]
fn ios_keybag_unlocks_with_its_password_only() {
    let mut s = spec(Kind::Ios, 1, 0);
    s.password = Some(PASSWORD.into());
    let (_d, dir, _) = make(&s);
    let manifest = read_plist(&dir.join("Manifest.plist"));
    let keybag = parse_keybag(manifest["BackupKeyBag"].as_data().unwrap());
    assert_eq!(be32(&keybag.header["VERS"]), 3);
    assert_eq!(be32(&keybag.header["TYPE"]), 1);
    assert_eq!(be32(&keybag.header["ITER"]), 10_000);
    assert_eq!(be32(&keybag.header["DPIC"]), 1_000);
    assert_eq!(keybag.header["SALT"].len(), 20);
    assert_eq!(keybag.header["DPSL"].len(), 20);
    assert_eq!(
        keybag.classes.keys().copied().collect::<Vec<_>>(),
        (1..=11).collect::<Vec<_>>()
    );

    let keys = unlock(&keybag, PASSWORD).expect("right password");
    assert_eq!(keys.len(), 11);
    let distinct: BTreeSet<_> = keys.values().collect();
    assert_eq!(distinct.len(), 11);
    assert!(
        unlock(&keybag, "correct horse").is_none(),
        "wrong password fails the unwrap check"
    );
}

#[test]
fn ios_real_kdf_cost_declares_ten_million_rounds() {
    let mut s = spec(Kind::Ios, 1, 0);
    s.password = Some("1234".into());
    s.kdf_cost = KdfCost::Real;
    let (_d, dir, _) = make(&s);
    let manifest = read_plist(&dir.join("Manifest.plist"));
    let keybag = parse_keybag(manifest["BackupKeyBag"].as_data().unwrap());
    assert_eq!(be32(&keybag.header["DPIC"]), 10_000_000);
    assert_eq!(be32(&keybag.header["DPWT"]), 1);
}

#[test]
fn ios_manifest_db_has_the_ios_schema_and_wal_header() {
    let (_d, dir, _) = make(&spec(Kind::Ios, 2, 0));
    let path = dir.join("Manifest.db");
    let header = fs::read(&path).unwrap();
    assert_eq!(
        &header[16..20],
        &[0x10, 0x00, 2, 2],
        "4096-byte pages, WAL mode"
    );
    let uri = format!("file:{}?immutable=1", path.display());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let schema: Vec<(String, String)> = conn
        .prepare("SELECT name, IFNULL(sql, '') FROM sqlite_master ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let names: Vec<&str> = schema.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Files",
            "sqlite_autoindex_Files_1",
            "FilesDomainIdx",
            "FilesRelativePathIdx",
            "FilesFlagsIdx",
            "Properties",
            "sqlite_autoindex_Properties_1"
        ]
    );
    assert_eq!(
        schema[0].1,
        "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB)"
    );
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Opening immutable leaves no -wal/-shm behind.
    assert!(!dir.join("Manifest.db-wal").exists() && !dir.join("Manifest.db-shm").exists());
}

#[test]
fn ios_standard_set_covers_edge_sizes_unicode_names_dirs_and_symlinks() {
    let (_d, dir, made) = make(&spec(Kind::Ios, 4, 0));
    let rows = read_manifest_db(&dir.join("Manifest.db"));
    let sizes: BTreeSet<u64> = rows
        .iter()
        .filter(|(r, _)| r.flags == 1)
        .map(|(_, f)| f.size)
        .collect();
    for size in [0, 1, 15, 16, 17, 4096, 65537, 1024 * 1024] {
        assert!(sizes.contains(&size), "a {size}-byte file");
    }
    let paths: Vec<&str> = rows.iter().map(|(r, _)| r.path.as_str()).collect();
    assert!(
        paths.contains(&"Documents/Fotos/Caf\u{e9} \u{2615}.jpg"),
        "NFC é"
    );
    assert!(
        paths.iter().any(|p| p.contains("\u{65e5}\u{8a18}")),
        "Japanese name"
    );
    assert!(
        !paths.iter().any(|p| p.contains('\u{301}')),
        "no decomposed accents"
    );
    let links: Vec<_> = rows.iter().filter(|(r, _)| r.flags == 4).collect();
    assert_eq!(links.len(), 2);
    for (_, link) in &links {
        assert_eq!(link.mode, 0o120755);
        assert!(link.target.as_deref().is_some_and(|t| !t.is_empty()));
    }
    let dirs = rows.iter().filter(|(r, _)| r.flags == 2);
    assert!(dirs.clone().all(|(_, d)| d.mode == 0o40755 && d.size == 0));
    assert!(
        dirs.clone()
            .any(|(r, _)| r.domain == "HomeDomain" && r.path.is_empty()),
        "domain roots are listed"
    );
    let files = rows.iter().filter(|(r, _)| r.flags == 1).count();
    assert_eq!(files, made.files);
}

#[test]
fn ios_extra_files_spread_over_domains() {
    let (_d, dir, made) = make(&spec(Kind::Ios, 5, 40));
    let rows = read_manifest_db(&dir.join("Manifest.db"));
    let extra: Vec<_> = rows
        .iter()
        .filter(|(r, f)| r.flags == 1 && f.size == 1_000)
        .collect();
    assert_eq!(extra.len(), 40);
    let mut per_domain: BTreeMap<&str, usize> = BTreeMap::new();
    for (row, _) in &extra {
        *per_domain.entry(row.domain.as_str()).or_default() += 1;
        let parent = row.path.rsplit_once('/').unwrap().0;
        assert!(
            rows.iter()
                .any(|(r, _)| r.flags == 2 && r.domain == row.domain && r.path == parent)
        );
    }
    assert_eq!(per_domain.len(), 4);
    assert!(per_domain.values().all(|n| *n == 10));
    assert_eq!(made.files, 12 + 40);
}

#[test]
fn ios_plists_carry_the_keys_finder_and_ios_write() {
    let (_d, dir, _) = make(&spec(Kind::Ios, 6, 0));
    let info_bytes = fs::read(dir.join("Info.plist")).unwrap();
    assert!(info_bytes.starts_with(b"<?xml"), "Info.plist is XML");
    let info = read_plist(&dir.join("Info.plist"));
    for key in [
        "Build Version",
        "Device Name",
        "Display Name",
        "GUID",
        "Installed Applications",
        "Last Backup Date",
        "Product Type",
        "Product Version",
        "Serial Number",
        "Target Identifier",
        "Unique Identifier",
        "iTunes Version",
        "Applications",
    ] {
        assert!(info.contains_key(key), "Info.plist has {key}");
    }
    assert!(info["Last Backup Date"].as_date().is_some());
    assert_eq!(info["Product Type"].as_string(), Some("iPhone14,5"));

    assert!(
        fs::read(dir.join("Manifest.plist"))
            .unwrap()
            .starts_with(b"bplist00")
    );
    let manifest = read_plist(&dir.join("Manifest.plist"));
    assert_eq!(manifest["Version"].as_string(), Some("10.0"));
    assert_eq!(manifest["IsEncrypted"].as_boolean(), Some(false));
    assert!(!manifest.contains_key("ManifestKey"));
    let lockdown = manifest["Lockdown"].as_dictionary().unwrap();
    for key in [
        "ProductVersion",
        "ProductType",
        "BuildVersion",
        "UniqueDeviceID",
        "SerialNumber",
        "DeviceName",
    ] {
        assert!(lockdown.contains_key(key), "Lockdown has {key}");
    }
    let apps = manifest["Applications"].as_dictionary().unwrap();
    let notes = apps["com.example.notes"].as_dictionary().unwrap();
    assert_eq!(
        notes["CFBundleIdentifier"].as_string(),
        Some("com.example.notes")
    );
    assert!(notes.contains_key("CFBundleVersion") && notes.contains_key("ContainerContentClass"));

    assert!(
        fs::read(dir.join("Status.plist"))
            .unwrap()
            .starts_with(b"bplist00")
    );
    let status = read_plist(&dir.join("Status.plist"));
    assert_eq!(status["SnapshotState"].as_string(), Some("finished"));
    assert_eq!(status["BackupState"].as_string(), Some("new"));
    assert_eq!(status["Version"].as_string(), Some("3.3"));
    assert_eq!(status["UUID"].as_string().unwrap().len(), 36);
}

// ---------------------------------------------------------------------------------------
// iPhone, mbdb layout.

struct MbdbRecord {
    domain: String,
    path: String,
    link: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    mode: u16,
    size: u64,
    class: u8,
}

fn parse_mbdb(bytes: &[u8]) -> Vec<MbdbRecord> {
    assert!(bytes.starts_with(b"mbdb\x05\x00"));
    let mut at = 6;
    let take = |at: &mut usize, n: usize| {
        let s = &bytes[*at..*at + n];
        *at += n;
        s
    };
    let string = |at: &mut usize| -> Option<Vec<u8>> {
        let len = u16::from_be_bytes(take(at, 2).try_into().unwrap());
        (len != 0xffff).then(|| take(at, len as usize).to_vec())
    };
    let mut records = Vec::new();
    while at < bytes.len() {
        let domain = String::from_utf8(string(&mut at).unwrap()).unwrap();
        let path = String::from_utf8(string(&mut at).unwrap()).unwrap();
        let (link, hash, key) = (string(&mut at), string(&mut at), string(&mut at));
        let mode = u16::from_be_bytes(take(&mut at, 2).try_into().unwrap());
        take(&mut at, 8 + 4 + 4 + 12); // inode, uid, gid, three times
        let size = u64::from_be_bytes(take(&mut at, 8).try_into().unwrap());
        let class = take(&mut at, 1)[0];
        let properties = take(&mut at, 1)[0];
        for _ in 0..properties {
            string(&mut at).unwrap();
            string(&mut at).unwrap();
        }
        records.push(MbdbRecord {
            domain,
            path,
            link,
            hash,
            key,
            mode,
            size,
            class,
        });
    }
    records
}

#[test]
fn mbdb_records_point_at_flat_blobs_and_encrypted_twin_decrypts() {
    let plain_spec = spec(Kind::IosMbdb, 7, 6);
    let mut enc_spec = plain_spec.clone();
    enc_spec.password = Some(PASSWORD.into());
    let (_p, plain, made) = make(&plain_spec);
    let (_e, enc, _) = make(&enc_spec);

    let records = parse_mbdb(&fs::read(plain.join("Manifest.mbdb")).unwrap());
    let enc_records = parse_mbdb(&fs::read(enc.join("Manifest.mbdb")).unwrap());
    assert_eq!(records.len(), enc_records.len());

    let manifest = read_plist(&enc.join("Manifest.plist"));
    assert_eq!(manifest["Version"].as_string(), Some("9.1"));
    assert!(!manifest.contains_key("ManifestKey"));
    let keybag = parse_keybag(manifest["BackupKeyBag"].as_data().unwrap());
    assert!(
        !keybag.header.contains_key("DPIC"),
        "iOS 9 keybags derive with SHA-1 only"
    );
    let keys = unlock(&keybag, PASSWORD).unwrap();
    assert_eq!(
        read_plist(&plain.join("Status.plist"))["Version"].as_string(),
        Some("2.4")
    );

    let mut files = 0;
    for (rec, enc_rec) in records.iter().zip(&enc_records) {
        assert_eq!((&rec.domain, &rec.path), (&enc_rec.domain, &enc_rec.path));
        let file_id = sha1_hex(format!("{}-{}", rec.domain, rec.path).as_bytes());
        match rec.mode & 0xf000 {
            0x8000 => {
                let blob = fs::read(plain.join(&file_id)).unwrap();
                assert_eq!(blob.len() as u64, rec.size);
                assert_eq!(rec.hash.as_deref(), Some(&Sha1::digest(&blob)[..]));
                assert!(rec.key.is_none());
                let wrapped = enc_rec.key.as_ref().unwrap();
                let class = u32::from_le_bytes(wrapped[..4].try_into().unwrap());
                assert_eq!(class, u32::from(enc_rec.class));
                let key = unwrap_key(&keys[&class], &wrapped[4..]).unwrap();
                let enc_blob = fs::read(enc.join(&file_id)).unwrap();
                assert_eq!(cbc_decrypt(&key, &[0; 16], &enc_blob).unwrap(), blob);
                files += 1;
            }
            0xa000 => assert!(rec.link.is_some()),
            0x4000 => assert!(rec.link.is_none() && rec.size == 0),
            other => panic!("unexpected mode {other:o}"),
        }
    }
    assert_eq!(files, made.files);
    assert!(!plain.join("Manifest.db").exists());
}

// ---------------------------------------------------------------------------------------
// Android .ab

struct AbArchive {
    lines: Vec<String>,
    tar: Vec<u8>,
    checksum_variant: Option<&'static str>,
}

/// Java's char-by-char UTF-8 of sign-extended bytes, written out independently.
fn java_utf8(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in bytes {
        if *b < 0x80 {
            out.push(*b);
        } else {
            // U+FF80..U+FFFF: 1110_1111 10_11111x 10_xxxxxx
            let c = 0xff00u32 | u32::from(*b);
            out.extend_from_slice(&[
                0xe0 | (c >> 12) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]);
        }
    }
    out
}

fn read_ab(path: &Path, password: Option<&str>) -> AbArchive {
    let bytes = fs::read(path).unwrap();
    let mut at = 0;
    let mut lines: Vec<String> = Vec::new();
    // Four lines, and five more when the fourth names a cipher.
    while lines.len() < 4 || (lines.len() < 9 && lines[3] == "AES-256") {
        let end = at + bytes[at..].iter().position(|b| *b == b'\n').unwrap();
        lines.push(String::from_utf8(bytes[at..end].to_vec()).unwrap());
        at = end + 1;
    }
    let version: u8 = lines[1].parse().unwrap();
    let mut body = bytes[at..].to_vec();
    let mut checksum_variant = None;
    if lines[3] == "AES-256" {
        let password = password.unwrap();
        let user_salt = hex::decode(&lines[4]).unwrap();
        let ck_salt = hex::decode(&lines[5]).unwrap();
        let rounds: u32 = lines[6].parse().unwrap();
        let user_iv: [u8; 16] = hex::decode(&lines[7]).unwrap().try_into().unwrap();
        let blob = hex::decode(&lines[8]).unwrap();
        let pw: Vec<u8> = if version >= 2 {
            password.as_bytes().to_vec()
        } else {
            password.chars().map(|c| c as u32 as u8).collect()
        };
        let user_key = pbkdf2::pbkdf2_hmac_array::<Sha1, 32>(&pw, &user_salt, rounds);
        let plain = cbc_decrypt(&user_key, &user_iv, &blob).expect("master key blob decrypts");
        let iv_len = plain[0] as usize;
        let iv: [u8; 16] = plain[1..1 + iv_len].try_into().unwrap();
        let mk_len = plain[1 + iv_len] as usize;
        let mk = &plain[2 + iv_len..2 + iv_len + mk_len];
        let ck_len = plain[2 + iv_len + mk_len] as usize;
        let ck = &plain[3 + iv_len + mk_len..];
        assert_eq!((iv_len, mk_len, ck_len, ck.len()), (16, 32, 32, 32));
        assert!(
            mk.iter().any(|b| *b >= 0x80),
            "the variants differ only for keys with high bytes"
        );
        let raw = pbkdf2::pbkdf2_hmac_array::<Sha1, 32>(mk, &ck_salt, rounds);
        let utf8 = pbkdf2::pbkdf2_hmac_array::<Sha1, 32>(&java_utf8(mk), &ck_salt, rounds);
        checksum_variant = match (ck == raw, ck == utf8) {
            (true, false) => Some("raw"),
            (false, true) => Some("utf8"),
            _ => None,
        };
        body = cbc_decrypt(mk, &iv, &body).expect("stream decrypts");
    }
    if lines[2] == "1" {
        let mut inflated = Vec::new();
        flate2::read::ZlibDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        body = inflated;
    }
    AbArchive {
        lines,
        tar: body,
        checksum_variant,
    }
}

/// (path, size, content sha256) of every tar entry, read with the `tar` crate.
fn tar_entries(tar: &[u8]) -> Vec<(String, u64, String)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            assert_eq!(e.header().entry_type(), tar::EntryType::Regular);
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let size = e.size();
            let mut content = Vec::new();
            e.read_to_end(&mut content).unwrap();
            assert_eq!(content.len() as u64, size);
            (path, size, hex::encode(Sha256::digest(&content)))
        })
        .collect()
}

#[test]
fn ab_header_lines_follow_version_compression_and_encryption() {
    for version in 1..=5u8 {
        for compressed in [true, false] {
            for password in [None, Some(PASSWORD)] {
                let mut s = spec(Kind::AndroidAb, 11, 0);
                s.ab_version = version;
                s.ab_compressed = compressed;
                s.password = password.map(str::to_string);
                let (_d, path, _) = make(&s);
                let ab = read_ab(&path, password);
                assert_eq!(ab.lines[0], "ANDROID BACKUP");
                assert_eq!(ab.lines[1], version.to_string());
                assert_eq!(ab.lines[2], if compressed { "1" } else { "0" });
                match password {
                    None => {
                        assert_eq!(ab.lines.len(), 4);
                        assert_eq!(ab.lines[3], "none");
                    }
                    Some(_) => {
                        assert_eq!(ab.lines[3], "AES-256");
                        let lens: Vec<usize> = ab.lines[4..].iter().map(String::len).collect();
                        assert_eq!(lens, [128, 128, 5, 32, 192]);
                        assert_eq!(ab.lines[6], "10000");
                        for hex_line in [4, 5, 7, 8] {
                            assert!(
                                ab.lines[hex_line]
                                    .chars()
                                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
                            );
                        }
                    }
                }
                assert!(!tar_entries(&ab.tar).is_empty());
            }
        }
    }
}

#[test]
fn ab_master_key_checksum_is_raw_in_version_1_and_java_utf8_after() {
    for version in 1..=5u8 {
        let mut s = spec(Kind::AndroidAb, 12, 0);
        s.ab_version = version;
        s.password = Some(PASSWORD.into());
        let (_d, path, _) = make(&s);
        let expected = if version == 1 { "raw" } else { "utf8" };
        assert_eq!(
            read_ab(&path, Some(PASSWORD)).checksum_variant,
            Some(expected),
            "version {version}"
        );
    }
}

#[test]
fn ab_inner_tar_reads_with_the_tar_crate_and_twins_agree() {
    let mut s = spec(Kind::AndroidAb, 13, 6);
    let (_a, plain_path, made) = make(&s);
    s.ab_compressed = false;
    let (_b, stored_path, _) = make(&s);
    s.ab_compressed = true;
    s.password = Some(PASSWORD.into());
    let (_c, enc_path, _) = make(&s);

    let plain = read_ab(&plain_path, None);
    let stored = read_ab(&stored_path, None);
    let enc = read_ab(&enc_path, Some(PASSWORD));
    assert_eq!(plain.tar, stored.tar);
    assert_eq!(
        plain.tar, enc.tar,
        "the same tar under compression and encryption"
    );
    assert!(
        plain.tar.ends_with(&[0u8; 1024]),
        "two zero blocks end the archive"
    );
    assert_eq!(plain.tar.len() % 512, 0);

    let entries = tar_entries(&plain.tar);
    let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names[0], "apps/com.example.notes/_manifest");
    assert_eq!(
        names[1], "apps/com.example.notes/a/base.apk",
        "the apk precedes the app's data"
    );
    assert!(
        names.contains(&"apps/com.example.notes/f/notes/Caf\u{e9} \u{2615}.txt"),
        "pax path"
    );
    assert!(
        names.iter().any(|n| n.len() > 155),
        "a path longer than ustar holds"
    );
    assert!(
        names.contains(&"apps/com.example.notes/d_f/boot-state.bin"),
        "version 5 has device-protected data"
    );
    let photos_manifest = names
        .iter()
        .position(|n| *n == "apps/com.example.photos/_manifest")
        .unwrap();
    assert!(
        names[..photos_manifest]
            .iter()
            .all(|n| n.starts_with("apps/com.example.notes/"))
    );

    let data: Vec<_> = entries
        .iter()
        .filter(|(n, _, _)| !n.ends_with("/_manifest") && !n.contains("/a/"))
        .collect();
    assert_eq!(data.len(), made.files);
    assert_eq!(data.iter().map(|(_, s, _)| s).sum::<u64>(), made.bytes);
    let sizes: BTreeSet<u64> = data.iter().map(|(_, s, _)| *s).collect();
    for size in [0, 1, 15, 16, 17, 4096, 65537, 1024 * 1024] {
        assert!(sizes.contains(&size), "a {size}-byte file");
    }

    let manifest = {
        let mut archive = tar::Archive::new(&plain.tar[..]);
        let mut first = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(first.header().mode().unwrap(), 0o600);
        assert_eq!(first.header().mtime().unwrap(), 0);
        let mut text = String::new();
        first.read_to_string(&mut text).unwrap();
        text
    };
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(
        &lines[..7],
        [
            "1",
            "com.example.notes",
            "412",
            "34",
            "com.android.vending",
            "1",
            "1"
        ]
    );
    assert!(lines[7].len() > 100 && lines[7].chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn ab_versions_before_4_have_no_device_protected_data() {
    let mut s = spec(Kind::AndroidAb, 14, 0);
    s.ab_version = 3;
    let (_d, path, _) = make(&s);
    let entries = tar_entries(&read_ab(&path, None).tar);
    assert!(!entries.iter().any(|(n, _, _)| n.contains("/d_")));
}

// ---------------------------------------------------------------------------------------
// Android folder

#[test]
fn android_folder_hashes_sizes_and_mtimes_match_the_manifest() {
    let (_d, dir, made) = make(&spec(Kind::AndroidFolder, 15, 5));
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("plugback-android.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "plugback-android-backup");
    assert_eq!(json["version"], 1);
    assert_eq!(json["created"], "2026-11-25T10:00:00Z");
    let device = &json["device"];
    assert_eq!(device["model"], "Pixel 7");
    assert_eq!(device["manufacturer"], "Google");
    assert_eq!(device["product"], "panther");
    assert_eq!(device["android_version"], "14");
    assert_eq!(device["sdk"], 34);
    assert!(device["serial"].as_str().is_some_and(|s| !s.is_empty()));

    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), made.files);
    let mut total = 0;
    for file in files {
        let device_path = file["path"].as_str().unwrap();
        assert!(device_path.starts_with("/sdcard/"));
        let path = dir.join("files").join(device_path.trim_start_matches('/'));
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            file["sha256"].as_str().unwrap(),
            "{device_path}"
        );
        assert_eq!(file["mode"], 33188);
        let mtime = fs::metadata(&path)
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(mtime as i64, file["mtime"].as_i64().unwrap());
        total += bytes.len() as u64;
    }
    assert_eq!(total, made.bytes);

    let apps = json["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    for app in apps {
        let package = app["package"].as_str().unwrap();
        for apk in app["apks"].as_array().unwrap() {
            let bytes = fs::read(
                dir.join("apps")
                    .join(package)
                    .join(apk["name"].as_str().unwrap()),
            )
            .unwrap();
            assert_eq!(bytes.len() as u64, apk["size"].as_u64().unwrap());
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                apk["sha256"].as_str().unwrap()
            );
            assert!(bytes.starts_with(b"PK\x03\x04"), "an APK is a zip");
            assert_eq!(
                &bytes[bytes.len() - 22..bytes.len() - 18],
                b"PK\x05\x06",
                "with an end record"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Refusals and the command line.

#[test]
fn refuses_a_non_empty_folder_and_an_existing_ab_and_leaves_them_alone() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.txt");
    fs::write(&keep, b"precious").unwrap();
    let err = make_backup(&Spec::new(Kind::Ios), dir.path()).unwrap_err();
    assert!(matches!(err, MakeError::OutNotEmpty { .. }), "{err}");
    assert!(err.is_usage_error());
    assert_eq!(fs::read(&keep).unwrap(), b"precious");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    let err = make_backup(&Spec::new(Kind::AndroidAb), &keep).unwrap_err();
    assert!(matches!(err, MakeError::OutExists { .. }), "{err}");
    assert_eq!(fs::read(&keep).unwrap(), b"precious");

    let mut bad = Spec::new(Kind::AndroidAb);
    bad.ab_version = 6;
    let err = make_backup(&bad, &dir.path().join("x.ab")).unwrap_err();
    assert!(matches!(err, MakeError::InvalidSpec(_)), "{err}");
}

#[test]
fn an_empty_existing_folder_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let made = make_backup(&Spec::new(Kind::AndroidFolder), dir.path()).unwrap();
    assert!(made.files > 0);
    assert!(dir.path().join("plugback-android.json").is_file());
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plugback-sim"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_makes_a_backup_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("phone.ab");
    let run = cli(&[
        "make-backup",
        "android-ab",
        out.to_str().unwrap(),
        "--ab-version",
        "3",
        "--files",
        "4",
        "--file-size",
        "10",
        "--seed",
        "5",
        "--no-compress",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.contains(out.to_str().unwrap()) && stdout.contains("files"),
        "{stdout}"
    );
    assert!(
        fs::read(&out)
            .unwrap()
            .starts_with(b"ANDROID BACKUP\n3\n0\nnone\n")
    );
}

#[test]
fn cli_exits_2_on_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("keep.txt"), b"x").unwrap();
    let full = dir.path().to_str().unwrap();
    let fresh = dir.path().join("new");
    let fresh = fresh.to_str().unwrap();
    for args in [
        vec!["make-backup", "ios", full],
        vec!["make-backup", "blackberry", fresh],
        vec!["make-backup", "ios", fresh, "--kdf-cost", "extreme"],
        vec!["make-backup", "android-ab", fresh, "--ab-version", "6"],
        vec!["make-backup", "ios", fresh, "--password", ""],
    ] {
        let run = cli(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?} explains itself");
    }
    let run = cli(&["make-backup", "ios", full]);
    assert!(String::from_utf8_lossy(&run.stderr).contains("not empty"));
    assert!(!Path::new(fresh).exists() || fs::read_dir(fresh).unwrap().count() == 0);
}

// ---------------------------------------------------------------------------------------
// Shape against the independent reference backup in ../shared/fixtures.

fn shared_fixture(rel: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    let path = root.join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("PLUGBACK_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "shared fixture {} is missing (PLUGBACK_REQUIRE_SHARED=1)",
            path.display()
        );
    }
    eprintln!("skipping: shared fixture {} is absent", path.display());
    None
}

fn mbfile_keys_by_flags(rows: &[(Row, MbFile)]) -> BTreeMap<i64, BTreeSet<String>> {
    let mut keys: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (row, file) in rows {
        keys.entry(row.flags)
            .or_default()
            .extend(file.keys.iter().cloned());
    }
    keys
}

#[test]
fn ios_shape_matches_the_independent_reference_backup() {
    let Some(reference) =
        shared_fixture("ios/generated/encrypted_lowkdf/00008030-001A2B3C4D5E802E")
    else {
        return;
    };
    let mut s = spec(Kind::Ios, 16, 0);
    s.password = Some(PASSWORD.into());
    let (_d, mine, _) = make(&s);

    for name in ["Manifest.plist", "Status.plist", "Info.plist"] {
        let theirs = read_plist(&reference.join(name));
        let ours = read_plist(&mine.join(name));
        for key in theirs.keys() {
            assert!(ours.contains_key(key), "{name} lacks {key}");
        }
    }
    let theirs = read_plist(&reference.join("Manifest.plist"));
    let ours = read_plist(&mine.join("Manifest.plist"));
    let tags = |d: &plist::Dictionary| parse_keybag(d["BackupKeyBag"].as_data().unwrap()).tags;
    let names = |t: Vec<(String, usize)>| {
        t.into_iter()
            .map(|(tag, len)| format!("{tag}/{len}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(tags(&ours)),
        names(tags(&theirs)),
        "keybag tags and lengths"
    );
    assert_eq!(
        ours["ManifestKey"].as_data().unwrap().len(),
        theirs["ManifestKey"].as_data().unwrap().len()
    );

    let (their_rows, _) = open_encrypted(&reference, "fixture-pw");
    let (our_rows, _) = open_encrypted(&mine, PASSWORD);
    assert_eq!(
        mbfile_keys_by_flags(&our_rows),
        mbfile_keys_by_flags(&their_rows),
        "MBFile keys per row kind"
    );
}
