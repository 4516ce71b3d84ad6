//! Plugback's own Android backup folder: `plugback-android.json` describing the device,
//! the shared-storage files under `files/` and the apps' APKs under `apps/<package>/`.
//! The JSON schema is the contract with Plugback's reader.

use super::super::content::write_content;
use super::super::error::IoContext;
use super::super::hashing::HashingWriter;
use super::super::output::create_new;
use super::super::{MakeError, Spec, Totals};
use super::apk::apk_bytes;
use super::{APPS, Device, spread_mtime};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

pub(crate) const MANIFEST_NAME: &str = "plugback-android.json";
const FORMAT: &str = "plugback-android-backup";
/// Regular file, rw-r--r--.
const FILE_MODE: u32 = 0o100644;

#[derive(Serialize)]
struct Manifest {
    format: &'static str,
    version: u32,
    created: String,
    device: DeviceJson,
    files: Vec<FileJson>,
    apps: Vec<AppJson>,
}

#[derive(Serialize)]
struct DeviceJson {
    serial: String,
    manufacturer: String,
    model: String,
    product: String,
    android_version: String,
    sdk: u32,
}

#[derive(Serialize)]
struct FileJson {
    path: String,
    size: u64,
    mtime: i64,
    mode: u32,
    sha256: String,
}

#[derive(Serialize)]
struct AppJson {
    package: String,
    apks: Vec<ApkJson>,
}

#[derive(Serialize)]
struct ApkJson {
    name: String,
    size: u64,
    sha256: String,
}

pub(crate) fn write(spec: &Spec, out: &Path) -> Result<Totals, MakeError> {
    let device = Device::new(spec);
    let mut totals = Totals::default();
    let mut files = Vec::new();
    for (index, (path, size)) in shared_files(spec).into_iter().enumerate() {
        let mtime = spread_mtime(spec.date_unix, index);
        let sha256 = write_file(out, spec.seed, &path, size, mtime)?;
        totals.add(size);
        files.push(FileJson {
            path,
            size,
            mtime,
            mode: FILE_MODE,
            sha256,
        });
    }

    let mut apps = Vec::new();
    for (package, _, _) in APPS {
        let dir = out.join("apps").join(package);
        fs::create_dir_all(&dir).at(&dir)?;
        let names: &[&str] = if package == APPS[0].0 {
            &["base.apk", "split_config.arm64_v8a.apk"]
        } else {
            &["base.apk"]
        };
        let mut apks = Vec::new();
        for name in names {
            let bytes = apk_bytes(spec, package, name);
            let path = dir.join(name);
            let mut file = create_new(&path)?;
            file.write_all(&bytes).at(&path)?;
            apks.push(ApkJson {
                name: (*name).to_string(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(&bytes)),
            });
        }
        apps.push(AppJson {
            package: package.to_string(),
            apks,
        });
    }

    let created = time::OffsetDateTime::from_unix_timestamp(spec.date_unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string());
    let manifest = Manifest {
        format: FORMAT,
        version: 1,
        created,
        device: DeviceJson {
            serial: device.serial,
            manufacturer: device.manufacturer,
            model: device.model,
            product: device.product,
            android_version: device.android_version,
            sdk: device.sdk,
        },
        files,
        apps,
    };
    let path = out.join(MANIFEST_NAME);
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');
    create_new(&path)?.write_all(&json).at(&path)?;
    Ok(totals)
}

/// Writes one shared-storage file under `files/`, stamps its mtime, returns its SHA-256.
fn write_file(
    out: &Path,
    seed: u64,
    device_path: &str,
    size: u64,
    mtime: i64,
) -> Result<String, MakeError> {
    let relative = device_path.trim_start_matches('/');
    let path = out.join("files").join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    let name = relative.rsplit('/').next().unwrap_or(relative);
    let mut hashing =
        HashingWriter::<_, Sha256>::new(BufWriter::with_capacity(64 * 1024, create_new(&path)?));
    write_content(seed, device_path, name, size, &mut hashing).at(&path)?;
    let (buffered, digest) = hashing.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .at(&path)?;
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(mtime).unwrap_or(0));
    file.set_modified(when).at(&path)?;
    Ok(hex::encode(digest))
}

/// The phone's shared storage: every edge size, unicode names, then `spec.files` extra
/// files in folders of at most 1000.
fn shared_files(spec: &Spec) -> Vec<(String, u64)> {
    const MIB: u64 = 1024 * 1024;
    let mut files: Vec<(String, u64)> = [
        ("/sdcard/DCIM/Camera/IMG_20261125_093012.jpg", MIB),
        ("/sdcard/DCIM/Camera/IMG_20261124_181500.jpg", 65537),
        ("/sdcard/Pictures/Fotos/Caf\u{e9} \u{2615}.jpg", 4096),
        (
            "/sdcard/Documents/\u{30e1}\u{30e2}/\u{65e5}\u{8a18}.txt",
            15,
        ),
        ("/sdcard/Documents/todo.txt", 17),
        ("/sdcard/Music/Ringtones/Chime.ogg", 16),
        ("/sdcard/Download/flag.bin", 1),
        ("/sdcard/Android/media/com.example.notes/.nomedia", 0),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_string(), s))
    .collect();
    for i in 0..spec.files {
        let bucket = i / 1000;
        let path = if i % 2 == 0 {
            format!("/sdcard/Pictures/Imported/{bucket:03}/IMG_{i:06}.jpg")
        } else {
            format!("/sdcard/Documents/Archive/{bucket:03}/note {i:06}.txt")
        };
        files.push((path, spec.file_size));
    }
    files
}
