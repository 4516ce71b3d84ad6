//! Generates realistic phone backups: iPhone (modern and mbdb layouts, plain and
//! encrypted), Android `.ab` (versions 1–5) and Plugback Android backup folders.
//!
//! Everything is deterministic from `Spec::seed`: the same spec gives the same bytes, and an
//! encrypted twin has the same plaintext, names and fileIDs as the plain backup. Keys, salts
//! and IVs are drawn from the seed too, so these backups protect nothing: they exist to
//! test readers, never to keep data.

mod android;
mod content;
pub(crate) mod crypto;
mod error;
mod hashing;
mod ios;
// The phone simulator builds the Manifest.db of the backups it uploads with these.
pub(crate) use ios::{manifest_db, mbfile, tree};
mod output;

pub use error::MakeError;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The backup layouts the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Finder/iTunes backup of iOS 10 and later (`Manifest.db`, blobs in `xx/` folders).
    Ios,
    /// Finder/iTunes backup of iOS 9 and earlier (`Manifest.mbdb`, flat blobs).
    IosMbdb,
    /// An `adb backup` archive.
    AndroidAb,
    /// Plugback's own Android backup folder (`plugback-android.json`).
    AndroidFolder,
}

/// How expensive the iOS passcode derivation is (the DPIC round count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfCost {
    /// 1,000 rounds: tests unlock in milliseconds.
    Low,
    /// 10,000,000 rounds, as a real iPhone writes: seconds to unlock.
    Real,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub kind: Kind,
    /// Encrypts the backup when set (iOS keybag or `.ab` AES-256).
    pub password: Option<String>,
    pub kdf_cost: KdfCost,
    /// Number of extra generated files beyond the standard set.
    pub files: usize,
    /// Size of each extra generated file.
    pub file_size: u64,
    /// Same seed => same plaintext content, names and fileIDs.
    pub seed: u64,
    /// `.ab` format version, 1 to 5.
    pub ab_version: u8,
    /// Whether the `.ab` tar stream is zlib-compressed.
    pub ab_compressed: bool,
    pub device_name: String,
    /// iPhone model identifier ("iPhone14,5") or Android model ("Pixel 7").
    pub product_type: String,
    /// iOS version ("17.5.1") or Android release ("14").
    pub os_version: String,
    /// The backup date written into the plists / JSON.
    pub date_unix: i64,
    /// Android: the minSdkVersion each app's APKs declare, by package name
    /// (`com.example.photos`); apps not named declare 24 (Android 7.0).
    pub app_min_sdk: BTreeMap<String, u32>,
}

/// 2026-11-25T10:00:00Z: a fixed default so that default specs are reproducible.
const DEFAULT_DATE_UNIX: i64 = 1_795_600_800;

impl Spec {
    /// A plain backup of `kind` with the standard set of files only, dated 2026-11-25.
    pub fn new(kind: Kind) -> Self {
        let (device_name, product_type, os_version) = match kind {
            Kind::Ios => ("Plugback Test iPhone", "iPhone14,5", "17.5.1"),
            Kind::IosMbdb => ("Plugback Test iPhone", "iPhone8,1", "9.3.5"),
            Kind::AndroidAb | Kind::AndroidFolder => ("Pixel 7", "Pixel 7", "14"),
        };
        Spec {
            kind,
            password: None,
            kdf_cost: KdfCost::Low,
            files: 0,
            file_size: 65537,
            seed: 0,
            ab_version: 5,
            ab_compressed: true,
            device_name: device_name.to_string(),
            product_type: product_type.to_string(),
            os_version: os_version.to_string(),
            date_unix: DEFAULT_DATE_UNIX,
            app_min_sdk: BTreeMap::new(),
        }
    }

    fn validate(&self) -> Result<(), MakeError> {
        let invalid = |why: &str| Err(MakeError::InvalidSpec(why.to_string()));
        if self.password.as_deref() == Some("") {
            return invalid("the password is empty; give a non-empty password or none");
        }
        if self.kind == Kind::AndroidAb && !(1..=5).contains(&self.ab_version) {
            return invalid("the .ab version must be between 1 and 5");
        }
        if self.kind == Kind::AndroidFolder && self.password.is_some() {
            return invalid("Plugback Android backup folders are not encrypted; drop the password");
        }
        if self.date_unix < 0 || self.date_unix > i64::from(u32::MAX) {
            return invalid("the backup date must be between 1970 and 2106");
        }
        for (name, value) in [
            ("device name", &self.device_name),
            ("product type", &self.product_type),
            ("OS version", &self.os_version),
        ] {
            if value.trim().is_empty() || value.contains(['\n', '\0']) {
                return invalid(&format!("the {name} must be a non-empty single line"));
            }
        }
        Ok(())
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Made {
    /// The backup folder, or the `.ab` file.
    pub path: PathBuf,
    /// Regular files with content in the backup (the phone's files, not its metadata).
    pub files: usize,
    /// Their total plaintext size in bytes.
    pub bytes: u64,
}

/// Writes the backup described by `spec` at `out`: a new or empty folder for the folder
/// kinds, a path that does not exist yet for `.ab`. Refuses to overwrite anything; on
/// failure removes what it created.
pub fn make_backup(spec: &Spec, out: &Path) -> Result<Made, MakeError> {
    spec.validate()?;
    let target = match spec.kind {
        Kind::AndroidAb => output::Target::new_file(out)?,
        _ => output::Target::new_folder(out)?,
    };
    let result = match spec.kind {
        Kind::Ios => ios::modern::write(spec, out),
        Kind::IosMbdb => ios::mbdb::write(spec, out),
        Kind::AndroidAb => android::ab::write(spec, out),
        Kind::AndroidFolder => android::folder::write(spec, out),
    };
    match result {
        Ok(totals) => Ok(Made {
            path: out.to_path_buf(),
            files: totals.files,
            bytes: totals.bytes,
        }),
        Err(err) => {
            // A usage error here means a file appeared that is not ours: leave it alone.
            if !err.is_usage_error() {
                target.discard();
            }
            Err(err)
        }
    }
}

/// Running count of the content files written.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    files: usize,
    bytes: u64,
}

impl Totals {
    fn add(&mut self, size: u64) {
        self.files += 1;
        self.bytes += size;
    }
}
