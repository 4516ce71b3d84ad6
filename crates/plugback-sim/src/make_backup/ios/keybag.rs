//! The BackupKeyBag of an encrypted iPhone backup: a TLV of 4-byte tags and big-endian
//! lengths, holding the salts and round counts of the passcode derivation and the eleven
//! protection class keys, each wrapped (RFC 3394) with the key derived from the password.
//! Shaped after real iOS 9 and iOS 10.2+ keybags (tag order, WRAP values, zero HMCK).

use super::super::content::{crypto_rng, random_bytes};
use super::super::crypto::{pbkdf2_sha1, pbkdf2_sha256, wrap_key};

/// Rounds of the SHA-1 step, as every iOS version writes.
pub(crate) const ITER: u32 = 10_000;
/// Rounds of the SHA-256 step (DPIC) on a real iPhone.
pub(crate) const DPIC_REAL: u32 = 10_000_000;
/// Rounds of the SHA-256 step for quick tests.
pub(crate) const DPIC_LOW: u32 = 1_000;

/// Which generation of passcode derivation the keybag declares.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Derivation {
    /// iOS 10.2 and later: PBKDF2-SHA256 (DPIC rounds) then PBKDF2-SHA1 (ITER rounds).
    Double { dpic: u32 },
    /// iOS 10.1 and earlier: PBKDF2-SHA1 only; no DPWT/DPIC/DPSL tags.
    Sha1Only,
}

pub(crate) struct Keybag {
    /// The TLV bytes for Manifest.plist's BackupKeyBag.
    pub bytes: Vec<u8>,
    /// Protection class keys for classes 1..=11 (index = class - 1).
    class_keys: [[u8; 32]; 11],
}

impl Keybag {
    pub(crate) fn new(password: &str, seed: u64, derivation: Derivation) -> Keybag {
        let mut rng = crypto_rng(seed, "ios-keybag");
        let salt: [u8; 20] = random_bytes(&mut rng);
        let dpsl: [u8; 20] = random_bytes(&mut rng);
        let passcode_key = match derivation {
            Derivation::Double { dpic } => {
                let first = pbkdf2_sha256(password.as_bytes(), &dpsl, dpic);
                pbkdf2_sha1(&first, &salt, ITER)
            }
            Derivation::Sha1Only => pbkdf2_sha1(password.as_bytes(), &salt, ITER),
        };

        let mut tlv = Tlv::default();
        tlv.u32(b"VERS", 3);
        tlv.u32(b"TYPE", 1); // 1 = backup keybag
        tlv.bytes(b"UUID", &random_bytes::<16>(&mut rng));
        // Real backup keybags carry an all-zero HMAC key.
        tlv.bytes(b"HMCK", &[0u8; 40]);
        tlv.u32(b"WRAP", 0);
        tlv.bytes(b"SALT", &salt);
        tlv.u32(b"ITER", ITER);
        if let Derivation::Double { dpic } = derivation {
            tlv.u32(b"DPWT", 1);
            tlv.u32(b"DPIC", dpic);
            tlv.bytes(b"DPSL", &dpsl);
        }

        let mut class_keys = [[0u8; 32]; 11];
        // Listed from class 11 down to 1, as iOS does.
        for class in (1..=11u32).rev() {
            let key: [u8; 32] = random_bytes(&mut rng);
            class_keys[class as usize - 1] = key;
            tlv.bytes(b"UUID", &random_bytes::<16>(&mut rng));
            tlv.u32(b"CLAS", class);
            // 3 = device and passcode, 2 = passcode; both unwrap with the passcode key.
            tlv.u32(
                b"WRAP",
                if matches!(class, 5 | 9 | 10 | 11) {
                    3
                } else {
                    2
                },
            );
            tlv.u32(b"KTYP", 0);
            tlv.bytes(b"WPKY", &wrap_key(&passcode_key, &key));
        }
        Keybag {
            bytes: tlv.0,
            class_keys,
        }
    }

    /// The key of protection class `class` (1..=11).
    pub(crate) fn class_key(&self, class: u32) -> &[u8; 32] {
        let index = (class.clamp(1, 11) - 1) as usize;
        &self.class_keys[index]
    }

    /// `4-byte little-endian class || wrapped key`: the form of ManifestKey and of each
    /// file's EncryptionKey.
    pub(crate) fn wrap_for_class(&self, class: u32, key: &[u8; 32]) -> Vec<u8> {
        let mut out = class.to_le_bytes().to_vec();
        out.extend_from_slice(&wrap_key(self.class_key(class), key));
        out
    }
}

#[derive(Default)]
struct Tlv(Vec<u8>);

impl Tlv {
    fn bytes(&mut self, tag: &[u8; 4], value: &[u8]) {
        self.0.extend_from_slice(tag);
        self.0
            .extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.0.extend_from_slice(value);
    }

    fn u32(&mut self, tag: &[u8; 4], value: u32) {
        self.bytes(tag, &value.to_be_bytes());
    }
}
