//! What the phone does with the backup password: unlock the BackupKeyBag (PBKDF2-SHA256
//! with DPSL/DPIC, then PBKDF2-SHA1 with SALT/ITER, then RFC 3394 unwrap of each class
//! key), unwrap per-file keys, and decrypt AES-256-CBC (IV 0, PKCS#7) as data streams in.

use crate::make_backup::crypto::{pbkdf2_sha1, pbkdf2_sha256};
use aes::Aes256;
use aes::cipher::{Array, BlockModeDecrypt, KeyInit, KeyIvInit};
use plist::{Dictionary, Value};
use std::collections::HashMap;

const BLOCK: usize = 16;

/// Why a keybag could not be unlocked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UnlockError {
    /// The keybag is malformed or lacks what the derivation needs.
    Damaged(String),
    /// A class key failed its integrity check: the password is wrong.
    WrongPassword,
}

/// The class keys of an unlocked keybag.
pub(crate) struct ClassKeys {
    keys: HashMap<u32, [u8; 32]>,
}

#[derive(Default)]
struct ClassRecord {
    class: Option<u32>,
    wrap: u32,
    wrapped: Option<Vec<u8>>,
}

fn be_u32(value: &[u8]) -> Option<u32> {
    // Numbers are 4 bytes in real keybags; accept 8 too.
    match value.len() {
        4 => Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]])),
        8 => u32::try_from(u64::from_be_bytes(value.try_into().ok()?)).ok(),
        _ => None,
    }
}

pub(crate) fn unwrap_key(kek: &[u8; 32], wrapped: &[u8]) -> Option<[u8; 32]> {
    if wrapped.len() != 40 {
        return None;
    }
    let mut out = [0u8; 32];
    aes_kw::KwAes256::new(kek.into())
        .unwrap_key(wrapped, &mut out)
        .ok()?;
    Some(out)
}

impl ClassKeys {
    /// Unlocks `keybag` (the TLV of Manifest.plist's BackupKeyBag) with `password`.
    pub(crate) fn unlock(keybag: &[u8], password: &str) -> Result<ClassKeys, UnlockError> {
        let damaged = |why: &str| UnlockError::Damaged(why.to_string());
        let mut header: HashMap<[u8; 4], Vec<u8>> = HashMap::new();
        let mut classes: Vec<ClassRecord> = Vec::new();
        let mut seen_uuid = false;
        let mut rest = keybag;
        while !rest.is_empty() {
            if rest.len() < 8 {
                return Err(damaged("the keybag ends in the middle of a tag"));
            }
            let tag: [u8; 4] = [rest[0], rest[1], rest[2], rest[3]];
            let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let value = rest
                .get(8..8 + len)
                .ok_or_else(|| damaged("a keybag tag is longer than the keybag"))?;
            rest = &rest[8 + len..];
            if &tag == b"UUID" {
                // The first UUID names the keybag; each later one starts a class record.
                if seen_uuid {
                    classes.push(ClassRecord::default());
                }
                seen_uuid = true;
                continue;
            }
            match classes.last_mut() {
                None => {
                    header.insert(tag, value.to_vec());
                }
                Some(record) => match &tag {
                    b"CLAS" => record.class = be_u32(value),
                    b"WRAP" => record.wrap = be_u32(value).unwrap_or(0),
                    b"WPKY" => record.wrapped = Some(value.to_vec()),
                    _ => {}
                },
            }
        }
        let number = |tag: &[u8; 4]| header.get(tag).and_then(|v| be_u32(v));
        let salt = header
            .get(b"SALT")
            .ok_or_else(|| damaged("the keybag has no SALT"))?;
        let iterations = number(b"ITER").ok_or_else(|| damaged("the keybag has no ITER"))?;
        let passcode_key = match (header.get(b"DPSL"), number(b"DPIC")) {
            (Some(dpsl), Some(dpic)) => {
                let first = pbkdf2_sha256(password.as_bytes(), dpsl, dpic);
                pbkdf2_sha1(&first, salt, iterations)
            }
            _ => pbkdf2_sha1(password.as_bytes(), salt, iterations),
        };
        let mut keys = HashMap::new();
        for record in classes {
            let (Some(class), Some(wrapped)) = (record.class, record.wrapped) else {
                continue;
            };
            // Only passcode-wrapped keys (WRAP bit 2) can be unwrapped off the device.
            if record.wrap & 2 == 0 {
                continue;
            }
            let key = unwrap_key(&passcode_key, &wrapped).ok_or(UnlockError::WrongPassword)?;
            keys.insert(class, key);
        }
        if keys.is_empty() {
            return Err(damaged("the keybag holds no password-protected class key"));
        }
        Ok(ClassKeys { keys })
    }

    /// Unwraps a `4-byte little-endian class ‖ 40-byte wrapped key` (ManifestKey, and each
    /// file's EncryptionKey).
    pub(crate) fn unwrap_file_key(&self, class_and_key: &[u8]) -> Option<[u8; 32]> {
        let class = u32::from_le_bytes(class_and_key.get(..4)?.try_into().ok()?);
        unwrap_key(self.keys.get(&class)?, class_and_key.get(4..)?)
    }
}

/// Whether a backup's Manifest.plist says the backup is encrypted.
pub(crate) fn is_encrypted(manifest: &Dictionary) -> bool {
    manifest
        .get("IsEncrypted")
        .and_then(Value::as_boolean)
        .unwrap_or(false)
}

/// Unlocks the BackupKeyBag of an encrypted backup's Manifest.plist with `password`.
pub(crate) fn unlock_manifest(
    manifest: &Dictionary,
    password: &str,
) -> Result<ClassKeys, UnlockError> {
    let keybag = manifest
        .get("BackupKeyBag")
        .and_then(Value::as_data)
        .ok_or_else(|| UnlockError::Damaged("Manifest.plist has no BackupKeyBag".into()))?;
    ClassKeys::unlock(keybag, password)
}

/// AES-256-CBC decryption (IV 0) with PKCS#7 removal, fed in pieces of any size. Holds
/// back the last block until `finish`, since only then is it known to carry the padding.
pub(crate) struct CbcDecryptor {
    cipher: cbc::Decryptor<Aes256>,
    pending: Vec<u8>,
}

impl CbcDecryptor {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        CbcDecryptor {
            cipher: cbc::Decryptor::<Aes256>::new(key.into(), &[0u8; 16].into()),
            pending: Vec::with_capacity(256 * 1024),
        }
    }

    /// Decrypts what it can of `ciphertext` and hands the plaintext to `out`.
    pub(crate) fn update(&mut self, ciphertext: &[u8], out: &mut dyn FnMut(&[u8])) {
        self.pending.extend_from_slice(ciphertext);
        let len = self.pending.len();
        // Keep at least one whole block back, plus any partial one.
        let keep = if len.is_multiple_of(BLOCK) {
            BLOCK.min(len)
        } else {
            len % BLOCK
        };
        let ready = len - keep;
        if ready == 0 {
            return;
        }
        let (blocks, _) = self.pending[..ready].as_chunks_mut::<BLOCK>();
        self.cipher
            .decrypt_blocks(Array::cast_slice_from_core_mut(blocks));
        out(&self.pending[..ready]);
        self.pending.copy_within(ready.., 0);
        self.pending.truncate(keep);
    }

    /// Decrypts the last block and removes the padding. `None` when the length is not a
    /// whole number of blocks or the padding is wrong (a wrong key, or damaged data).
    pub(crate) fn finish(mut self, out: &mut dyn FnMut(&[u8])) -> Option<()> {
        if self.pending.is_empty() {
            // An empty blob: iOS stores some empty files with no padding block at all.
            return Some(());
        }
        if self.pending.len() != BLOCK {
            return None;
        }
        let (blocks, _) = self.pending.as_chunks_mut::<BLOCK>();
        self.cipher
            .decrypt_blocks(Array::cast_slice_from_core_mut(blocks));
        let pad = usize::from(self.pending[BLOCK - 1]);
        if pad == 0
            || pad > BLOCK
            || self.pending[BLOCK - pad..]
                .iter()
                .any(|&b| usize::from(b) != pad)
        {
            return None;
        }
        out(&self.pending[..BLOCK - pad]);
        Some(())
    }
}

/// Decrypts an encrypted Manifest.db. Real backups store it as whole database pages with
/// no padding, while generated ones pad it: the plaintext is taken as padded only where
/// that leaves whole pages, as a phone reads it.
pub(crate) fn decrypt_database(key: &[u8; 32], ciphertext: &[u8]) -> Option<Vec<u8>> {
    /// The smallest SQLite page: every database file is a multiple of it.
    const MIN_PAGE: usize = 512;
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        return None;
    }
    let mut plain = ciphertext.to_vec();
    let (blocks, _) = plain.as_chunks_mut::<BLOCK>();
    cbc::Decryptor::<Aes256>::new(key.into(), &[0u8; 16].into())
        .decrypt_blocks(Array::cast_slice_from_core_mut(blocks));
    if !plain.starts_with(b"SQLite format 3\0") {
        return None;
    }
    let pad = usize::from(*plain.last()?);
    let padded = (1..=BLOCK).contains(&pad)
        && plain[plain.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad);
    let unpadded = plain.len() - pad;
    if padded && (unpadded.is_multiple_of(MIN_PAGE) || !plain.len().is_multiple_of(MIN_PAGE)) {
        plain.truncate(unpadded);
    }
    Some(plain)
}

/// Decrypts a whole buffer at once: the tests' reference for the streamed decryption.
#[cfg(test)]
pub(crate) fn decrypt_all(key: &[u8; 32], ciphertext: &[u8]) -> Option<Vec<u8>> {
    let mut plain = Vec::with_capacity(ciphertext.len());
    let mut decryptor = CbcDecryptor::new(key);
    decryptor.update(ciphertext, &mut |p| plain.extend_from_slice(p));
    decryptor.finish(&mut |p| plain.extend_from_slice(p))?;
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::make_backup::crypto::{encrypt_cbc, wrap_key};

    #[test]
    fn streamed_decryption_matches_the_plaintext_for_every_split() {
        let key = [3u8; 32];
        for len in [0usize, 1, 15, 16, 17, 4095, 70_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let cipher = encrypt_cbc(&key, &[0u8; 16], &plain);
            for piece in [1usize, 5, 16, 1000, 32768] {
                let mut out = Vec::new();
                let mut d = CbcDecryptor::new(&key);
                for chunk in cipher.chunks(piece) {
                    d.update(chunk, &mut |p| out.extend_from_slice(p));
                }
                d.finish(&mut |p| out.extend_from_slice(p)).unwrap();
                assert_eq!(out, plain, "len {len} piece {piece}");
            }
        }
        // A wrong key fails the padding check (almost always; this key pair does).
        let cipher = encrypt_cbc(&key, &[0u8; 16], b"hello");
        assert!(decrypt_all(&[4u8; 32], &cipher).is_none());
    }

    #[test]
    fn a_database_is_read_padded_as_generated_and_unpadded_as_real_phones_store_it() {
        let key = [5u8; 32];
        let mut page = vec![0u8; 4096];
        page[..16].copy_from_slice(b"SQLite format 3\0");
        let padded = encrypt_cbc(&key, &[0u8; 16], &page);
        assert_eq!(padded.len(), 4096 + 16);
        assert_eq!(decrypt_database(&key, &padded), Some(page.clone()));
        // Whole pages, no padding block: the last plaintext byte (0) is no padding.
        let unpadded = &padded[..4096];
        assert_eq!(decrypt_database(&key, unpadded), Some(page.clone()));
        assert_eq!(decrypt_database(&[6u8; 32], unpadded), None, "a wrong key");
        assert_eq!(
            decrypt_database(&key, &padded[..4095]),
            None,
            "not whole blocks"
        );
    }

    #[test]
    fn unwrap_refuses_a_wrong_key() {
        let kek = [1u8; 32];
        let wrapped = wrap_key(&kek, &[9u8; 32]);
        assert_eq!(unwrap_key(&kek, &wrapped), Some([9u8; 32]));
        assert_eq!(unwrap_key(&[2u8; 32], &wrapped), None);
    }
}
