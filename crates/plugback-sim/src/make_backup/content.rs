//! Deterministic file content and random material, all derived from the spec's seed.
//!
//! Each file's bytes depend only on the seed and the file's identity (never on the order
//! of generation or on encryption), which is what makes plain and encrypted twins agree.

use rand::rngs::{SmallRng, StdRng};
use rand::{RngCore, SeedableRng};
use std::io::{self, Write};

/// An independent 64-bit seed for `label` under the backup seed: FNV-1a over the label,
/// then the SplitMix64 finaliser so that nearby labels give unrelated seeds.
pub(crate) fn derive_seed(seed: u64, label: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ hash;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator for keys, salts and IVs for `purpose`. Seeded, hence reproducible: fine for
/// test backups, which protect nothing.
pub(crate) fn crypto_rng(seed: u64, purpose: &str) -> StdRng {
    StdRng::seed_from_u64(derive_seed(seed, &format!("crypto:{purpose}")))
}

/// `N` bytes from `rng`.
pub(crate) fn random_bytes<const N: usize>(rng: &mut impl RngCore) -> [u8; N] {
    let mut bytes = [0u8; N];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// An uppercase random (version 4) UUID string, as Apple writes them.
pub(crate) fn uuid_string(rng: &mut impl RngCore) -> String {
    let mut b: [u8; 16] = random_bytes(rng);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Decimal digits, for serial-like numbers (IMEI, ICCID).
pub(crate) fn digits(rng: &mut impl RngCore, count: usize) -> String {
    (0..count)
        .map(|_| char::from(b'0' + (rng.next_u32() % 10) as u8))
        .collect()
}

/// Uppercase letters and digits, for serial numbers.
pub(crate) fn alphanumerics(rng: &mut impl RngCore, count: usize) -> String {
    const SET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..count)
        .map(|_| char::from(SET[(rng.next_u32() % 36) as usize]))
        .collect()
}

/// What a file's bytes look like: the magic of its type, then random bytes (or text).
/// Enough for a file to look like what its name says, cheap enough for gigabytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    Binary,
    Text,
    Xml,
    Jpeg,
    Heic,
    Sqlite,
    BinaryPlist,
}

impl Flavor {
    fn from_name(name: &str) -> Flavor {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jpg" | "jpeg" => Flavor::Jpeg,
            "heic" => Flavor::Heic,
            "db" | "sqlite" | "sqlitedb" => Flavor::Sqlite,
            "plist" => Flavor::BinaryPlist,
            "xml" => Flavor::Xml,
            "txt" | "md" | "json" | "csv" | "vcf" => Flavor::Text,
            _ => Flavor::Binary,
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Flavor::Binary | Flavor::Text => b"",
            Flavor::Xml => b"<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n",
            Flavor::Jpeg => b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00",
            Flavor::Heic => b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
            Flavor::Sqlite => b"SQLite format 3\x00",
            Flavor::BinaryPlist => b"bplist00",
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Flavor::Text | Flavor::Xml)
    }
}

/// Letters by rough English frequency, spaces and line breaks: text that compresses like text.
const TEXT: &[u8; 64] = b"etaoinshrdlucmfwypvbgkqjxzetaoinshrdluetaoinsh            ,.\n\nea";

const CHUNK: usize = 64 * 1024;

/// Writes the `size` bytes of the file known as `identity` (its full path in the backup),
/// whose type is guessed from `name`.
pub(crate) fn write_content(
    seed: u64,
    identity: &str,
    name: &str,
    size: u64,
    out: &mut impl Write,
) -> io::Result<()> {
    let flavor = Flavor::from_name(name);
    let mut rng = SmallRng::seed_from_u64(derive_seed(seed, identity));
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(CHUNK).min(CHUNK)];
    let mut remaining = size;
    let mut magic = flavor.magic();
    while remaining > 0 {
        let n = usize::try_from(remaining).unwrap_or(CHUNK).min(CHUNK);
        let chunk = &mut buf[..n];
        rng.fill_bytes(chunk);
        if flavor.is_text() {
            for byte in chunk.iter_mut() {
                *byte = TEXT[usize::from(*byte & 63)];
            }
        }
        let m = magic.len().min(n);
        chunk[..m].copy_from_slice(&magic[..m]);
        magic = &magic[m..];
        out.write_all(chunk)?;
        remaining -= n as u64;
    }
    Ok(())
}

/// The whole content of a small file in memory (for manifests and tests).
pub(crate) fn content_bytes(seed: u64, identity: &str, name: &str, size: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_content(seed, identity, name, size, &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_depends_on_seed_and_identity_only() {
        let a = content_bytes(7, "HomeDomain-Library/a.db", "a.db", 100_000);
        assert_eq!(
            a,
            content_bytes(7, "HomeDomain-Library/a.db", "a.db", 100_000)
        );
        assert_ne!(
            a,
            content_bytes(8, "HomeDomain-Library/a.db", "a.db", 100_000)
        );
        assert_ne!(
            a,
            content_bytes(7, "HomeDomain-Library/b.db", "a.db", 100_000)
        );
        assert_eq!(a.len(), 100_000);
        assert!(a.starts_with(b"SQLite format 3\0"));
    }

    #[test]
    fn magic_is_clipped_to_tiny_files() {
        assert_eq!(content_bytes(1, "x", "x.jpg", 0), b"");
        assert_eq!(content_bytes(1, "x", "x.jpg", 2), b"\xff\xd8");
        let text = content_bytes(1, "x", "notes.txt", 5000);
        assert!(text.iter().all(|b| TEXT.contains(b)));
    }
}
