//! The sample backups demo mode lists: small, generated in a second, and chosen so that
//! each kind Plugback reads appears once, with two of them belonging to the demo phones.

use plugback_core::backup::{BackupKind, catalog};
use plugback_sim::make_backup::{KdfCost, Kind, Made, MakeError, Spec, make_backup};
use std::path::Path;

/// The name of the simulated iPhone, in its backups and on its card.
pub const IPHONE_NAME: &str = "Demo iPhone";
/// An iPhone 14 Pro, as the simulated iPhone reports itself.
pub const IPHONE_MODEL: &str = "iPhone15,2";
/// The name of the other iPhone, known only from an old backup.
pub const OLD_IPHONE_NAME: &str = "Old iPhone 6s";
/// The Android phone's model; Android phones have no name of their own over adb, so the
/// window names them by model.
pub const PIXEL_MODEL: &str = "Pixel 8";
pub const PIXEL_NAME: &str = "Demo Pixel";
/// The encrypted sample's password, shown as a hint in demo mode.
pub const PASSWORD: &str = "demo";

const DAY: i64 = 86_400;
/// A handful of extra files per backup, 16 KiB each: enough to browse and verify, small
/// enough that the demo starts at once.
const EXTRA_FILES: usize = 6;
const EXTRA_FILE_SIZE: u64 = 16 * 1024;

/// One sample backup as written.
#[derive(Clone, Debug)]
pub struct Sample {
    pub made: Made,
    pub kind: BackupKind,
    pub encrypted: bool,
    /// The UDID (iPhones) or serial (Android) the backup names, as Plugback reads it.
    pub device_id: Option<String>,
}

/// The whole set, with the identities the simulated phones take from it.
#[derive(Clone, Debug)]
pub struct Samples {
    pub all: Vec<Sample>,
    /// The demo iPhone's UDID, as its backups name it.
    pub iphone_udid: String,
    /// The demo Android phone's serial (`ro.serialno`), as its folder backup names it.
    pub pixel_serial: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("a sample backup could not be written: {0}")]
    Write(#[from] MakeError),
    #[error("a sample backup could not be read back: {0}")]
    Read(String),
    #[error("the sample backup {0} names no phone")]
    NoDeviceId(String),
}

/// Writes the sample set into `dir` (an empty folder), dated relative to `now_unix`.
pub fn write(dir: &Path, now_unix: i64) -> Result<Samples, SampleError> {
    let mut iphone = spec(Kind::Ios, IPHONE_NAME, IPHONE_MODEL, "17.5.1", 11);
    iphone.date_unix = now_unix - 2 * DAY;
    // The same phone (same seed, so the same UDID) a week earlier, with a password.
    let mut locked = iphone.clone();
    locked.password = Some(PASSWORD.to_owned());
    // Cheap to unlock: the demo is about the window, not about waiting for a key.
    locked.kdf_cost = KdfCost::Low;
    locked.date_unix = now_unix - 9 * DAY;
    let mut old = spec(Kind::IosMbdb, OLD_IPHONE_NAME, "iPhone8,1", "9.3.5", 12);
    old.date_unix = now_unix - 400 * DAY;
    let mut folder = spec(Kind::AndroidFolder, PIXEL_NAME, PIXEL_MODEL, "14", 13);
    folder.date_unix = now_unix - DAY;
    let mut archive = folder.clone();
    archive.kind = Kind::AndroidAb;
    archive.date_unix = now_unix - 30 * DAY;

    let plan = [
        ("Demo iPhone", &iphone, BackupKind::Ios),
        ("Demo iPhone (encrypted)", &locked, BackupKind::Ios),
        ("Old iPhone 6s", &old, BackupKind::IosLegacyMbdb),
        ("Demo Pixel", &folder, BackupKind::AndroidFolder),
        ("Demo Pixel.ab", &archive, BackupKind::AndroidAb),
    ];
    let mut all = Vec::new();
    for (name, spec, kind) in plan {
        let made = make_backup(spec, &dir.join(name))?;
        let summary = catalog::summarize(&made.path, kind)
            .map_err(|err| SampleError::Read(err.to_string()))?;
        all.push(Sample {
            made,
            kind,
            encrypted: summary.encrypted,
            device_id: summary.device_id,
        });
    }
    let id_of = |index: usize| {
        all[index]
            .device_id
            .clone()
            .ok_or_else(|| SampleError::NoDeviceId(all[index].made.path.display().to_string()))
    };
    Ok(Samples {
        iphone_udid: id_of(0)?,
        pixel_serial: id_of(3)?,
        all,
    })
}

fn spec(kind: Kind, name: &str, model: &str, os: &str, seed: u64) -> Spec {
    let mut spec = Spec::new(kind);
    spec.device_name = name.to_owned();
    spec.product_type = model.to_owned();
    spec.os_version = os.to_owned();
    spec.seed = seed;
    spec.files = EXTRA_FILES;
    spec.file_size = EXTRA_FILE_SIZE;
    spec
}
