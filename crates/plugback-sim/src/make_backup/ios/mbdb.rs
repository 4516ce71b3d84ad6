//! The iOS 9 and earlier layout: Manifest.mbdb (big-endian records), blobs flat in the
//! backup folder, plists of that era. Encrypted backups use the SHA-1-only keybag and leave
//! Manifest.mbdb in the clear, as iOS 9 did.

use super::super::content::{crypto_rng, uuid_string};
use super::super::error::IoContext;
use super::super::{MakeError, Spec, Totals};
use super::blob::{file_key, write_blob};
use super::device::Device;
use super::keybag::{Derivation, Keybag};
use super::plists::{self, Encrypted, Era};
use super::tree::{self, Entry, EntryKind, MOBILE_ID};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

const MAGIC: &[u8] = b"mbdb\x05\x00";

pub(crate) fn write(spec: &Spec, out: &Path) -> Result<Totals, MakeError> {
    let device = Device::new(spec);
    let keybag = spec
        .password
        .as_deref()
        .map(|password| Keybag::new(password, spec.seed, Derivation::Sha1Only));

    let manifest_path = out.join("Manifest.mbdb");
    let mut manifest = BufWriter::new(fs::File::create(&manifest_path).at(&manifest_path)?);
    manifest.write_all(MAGIC).at(&manifest_path)?;
    let mut totals = Totals::default();
    for entry in tree::entries(spec) {
        let mut record = Record::default();
        if let EntryKind::File { size, class } = entry.kind {
            let file_id = entry.file_id();
            let key = keybag.as_ref().map(|_| file_key(spec.seed, &file_id));
            let digest = write_blob(&out.join(&file_id), spec.seed, &entry, key.as_ref(), true)?;
            totals.add(size);
            record.data_hash = digest;
            record.encryption_key = keybag
                .as_ref()
                .zip(key.as_ref())
                .map(|(bag, key)| bag.wrap_for_class(class, key));
            if entry.domain == "CameraRollDomain" {
                let uuid = uuid_string(&mut crypto_rng(spec.seed, &format!("asset:{file_id}")));
                record
                    .properties
                    .push(("com.apple.assetsd.UUID".into(), uuid.into_bytes()));
            }
        }
        let bytes = record.encode(&entry)?;
        manifest.write_all(&bytes).at(&manifest_path)?;
    }
    manifest.flush().at(&manifest_path)?;

    let encrypted = keybag.as_ref().map(|bag| Encrypted {
        keybag: &bag.bytes,
        manifest_key: None,
    });
    plists::write_all(
        out,
        &device,
        spec.seed,
        spec.date_unix,
        Era::Legacy,
        encrypted,
    )?;
    Ok(totals)
}

/// The optional parts of an mbdb record.
#[derive(Default)]
struct Record {
    data_hash: Option<Vec<u8>>,
    encryption_key: Option<Vec<u8>>,
    properties: Vec<(String, Vec<u8>)>,
}

impl Record {
    /// domain, path, link target, data hash, encryption key (u16-length strings, 0xFFFF for
    /// none), mode u16, inode u64, uid u32, gid u32, mtime/atime/ctime u32, size u64,
    /// protection class u8, property count u8, properties (name, value strings).
    fn encode(&self, entry: &Entry) -> Result<Vec<u8>, MakeError> {
        let mut out = Vec::with_capacity(128);
        put_string(&mut out, Some(entry.domain.as_bytes()))?;
        put_string(&mut out, Some(entry.path.as_bytes()))?;
        let target = match &entry.kind {
            EntryKind::Symlink { target } => Some(target.as_bytes()),
            _ => None,
        };
        put_string(&mut out, target)?;
        put_string(&mut out, self.data_hash.as_deref())?;
        put_string(&mut out, self.encryption_key.as_deref())?;
        out.extend_from_slice(&entry.mode().to_be_bytes());
        out.extend_from_slice(&entry.inode.to_be_bytes());
        out.extend_from_slice(&MOBILE_ID.to_be_bytes());
        out.extend_from_slice(&MOBILE_ID.to_be_bytes());
        // The dates were validated to fit 32 bits.
        let mtime = u32::try_from(entry.mtime).unwrap_or(0);
        let birth = u32::try_from(entry.birth).unwrap_or(0);
        out.extend_from_slice(&mtime.to_be_bytes());
        out.extend_from_slice(&mtime.to_be_bytes());
        out.extend_from_slice(&birth.to_be_bytes());
        out.extend_from_slice(&entry.size().to_be_bytes());
        out.push(u8::try_from(entry.protection_class()).unwrap_or(0));
        let count = u8::try_from(self.properties.len())
            .map_err(|_| MakeError::InvalidSpec("too many mbdb properties".into()))?;
        out.push(count);
        for (name, value) in &self.properties {
            put_string(&mut out, Some(name.as_bytes()))?;
            put_string(&mut out, Some(value))?;
        }
        Ok(out)
    }
}

fn put_string(out: &mut Vec<u8>, value: Option<&[u8]>) -> Result<(), MakeError> {
    match value {
        None => out.extend_from_slice(&[0xff, 0xff]),
        Some(bytes) => {
            let len = u16::try_from(bytes.len())
                .ok()
                .filter(|len| *len != 0xffff)
                .ok_or_else(|| {
                    MakeError::InvalidSpec("a name is too long for Manifest.mbdb".into())
                })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
    Ok(())
}
