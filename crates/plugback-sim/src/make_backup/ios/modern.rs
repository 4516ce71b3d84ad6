//! The iOS 10+ layout: Info/Manifest/Status plists, Manifest.db, blobs in `xx/` folders.

use super::super::content::{crypto_rng, random_bytes};
use super::super::crypto::encrypt_cbc;
use super::super::error::IoContext;
use super::super::{KdfCost, MakeError, Spec, Totals};
use super::blob::{file_key, write_blob};
use super::device::Device;
use super::keybag::{DPIC_LOW, DPIC_REAL, Derivation, Keybag};
use super::manifest_db::ManifestDb;
use super::mbfile;
use super::plists::{self, Encrypted, Era};
use super::tree::{self, EntryKind};
use std::fs;
use std::path::Path;

/// Manifest.db is wrapped with the class 4 key, as iOS does.
const MANIFEST_KEY_CLASS: u32 = 4;

pub(crate) fn write(spec: &Spec, out: &Path) -> Result<Totals, MakeError> {
    let device = Device::new(spec);
    let keybag = spec.password.as_deref().map(|password| {
        let dpic = match spec.kdf_cost {
            KdfCost::Low => DPIC_LOW,
            KdfCost::Real => DPIC_REAL,
        };
        Keybag::new(password, spec.seed, Derivation::Double { dpic })
    });

    let mut db = ManifestDb::new()?;
    let mut totals = Totals::default();
    let mut made_dirs = [false; 256];
    for entry in tree::entries(spec) {
        let file_id = entry.file_id();
        let mut encryption_key = None;
        if let EntryKind::File { size, class } = entry.kind {
            let dir = out.join(&file_id[..2]);
            let dir_index = usize::from_str_radix(&file_id[..2], 16).unwrap_or(0);
            if !made_dirs[dir_index] {
                fs::create_dir_all(&dir).at(&dir)?;
                made_dirs[dir_index] = true;
            }
            let key = keybag.as_ref().map(|_| file_key(spec.seed, &file_id));
            write_blob(&dir.join(&file_id), spec.seed, &entry, key.as_ref(), false)?;
            totals.add(size);
            encryption_key = keybag
                .as_ref()
                .zip(key.as_ref())
                .map(|(bag, key)| bag.wrap_for_class(class, key));
        }
        let archived = mbfile::archive(&entry, encryption_key.as_deref())?;
        db.insert(&entry, &file_id, &archived)?;
    }

    let db_bytes = db.finish()?;
    let db_path = out.join("Manifest.db");
    let manifest_key = match &keybag {
        None => {
            fs::write(&db_path, &db_bytes).at(&db_path)?;
            None
        }
        Some(bag) => {
            let key: [u8; 32] = random_bytes(&mut crypto_rng(spec.seed, "manifest-key"));
            fs::write(&db_path, encrypt_cbc(&key, &[0u8; 16], &db_bytes)).at(&db_path)?;
            Some(bag.wrap_for_class(MANIFEST_KEY_CLASS, &key))
        }
    };

    let encrypted = keybag.as_ref().map(|bag| Encrypted {
        keybag: &bag.bytes,
        manifest_key: manifest_key.as_deref(),
    });
    plists::write_all(
        out,
        &device,
        spec.seed,
        spec.date_unix,
        Era::Modern,
        encrypted,
    )?;
    Ok(totals)
}
