//! adbd's side of AUTH: random tokens, signature checks against the keys the person has
//! allowed (DATA/adb_keys, one `<base64> user@host` line each, as on a phone), and the
//! parsing of the public keys hosts offer.
//!
//! The host signs the 20-byte token with RSA PKCS#1 v1.5 and SHA-1's DigestInfo, using
//! the token itself as the digest (it is not hashed again).

use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The size of an AUTH TOKEN.
pub const TOKEN_LEN: usize = 20;
/// Android's RSAPublicKey struct: words, n0inv, n, rr, e.
const ANDROID_KEY_LEN: usize = 4 + 4 + 256 + 256 + 4;
const MODULUS_WORDS: u32 = 64;

/// Why an offered public key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the key is not base64")]
    NotBase64,
    #[error("the key is {0} bytes, not the {ANDROID_KEY_LEN} of an Android RSA public key")]
    WrongLength(usize),
    #[error("the key has {0} modulus words, not {MODULUS_WORDS}")]
    WrongModulusSize(u32),
    #[error("the key is not a valid RSA public key")]
    Invalid,
}

/// A host's public key as the phone stores it.
#[derive(Clone, Debug)]
pub struct HostKey {
    /// The `<base64> user@host` line, without the trailing NUL.
    pub line: String,
    key: RsaPublicKey,
}

impl HostKey {
    /// Parses an AUTH RSAPUBLICKEY payload or an adb_keys line.
    pub fn parse(text: &[u8]) -> Result<HostKey, KeyError> {
        let text = text.strip_suffix(b"\0").unwrap_or(text);
        let line = String::from_utf8_lossy(text).trim().to_string();
        let encoded = line.split_whitespace().next().unwrap_or("");
        let raw = base64_decode(encoded).ok_or(KeyError::NotBase64)?;
        Ok(HostKey {
            key: parse_android_key(&raw)?,
            line,
        })
    }

    /// True when `signature` is this key's signature of `token`.
    pub fn verifies(&self, token: &[u8], signature: &[u8]) -> bool {
        self.key
            .verify(Pkcs1v15Sign::new::<sha1_rsa::Sha1>(), token, signature)
            .is_ok()
    }
}

fn parse_android_key(raw: &[u8]) -> Result<RsaPublicKey, KeyError> {
    if raw.len() != ANDROID_KEY_LEN {
        return Err(KeyError::WrongLength(raw.len()));
    }
    let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    let words = word(0);
    if words != MODULUS_WORDS {
        return Err(KeyError::WrongModulusSize(words));
    }
    let modulus = BigUint::from_bytes_le(&raw[8..8 + 256]);
    let exponent = BigUint::from(word(8 + 256 + 256));
    RsaPublicKey::new(modulus, exponent).map_err(|_| KeyError::Invalid)
}

/// A fresh random token.
pub fn new_token() -> [u8; TOKEN_LEN] {
    rand::random()
}

/// The keys this phone allows, persisted in DATA/adb_keys.
pub struct AdbKeys {
    path: PathBuf,
    keys: Mutex<Vec<HostKey>>,
}

impl AdbKeys {
    /// Loads DATA/adb_keys; lines that do not parse are logged and skipped.
    pub fn load(data_dir: &Path) -> AdbKeys {
        let path = data_dir.join("adb_keys");
        let mut keys = Vec::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                match HostKey::parse(line.as_bytes()) {
                    Ok(key) => keys.push(key),
                    Err(e) => eprintln!("plugback-sim: skipping a line of {}: {e}", path.display()),
                }
            }
        }
        AdbKeys {
            path,
            keys: Mutex::new(keys),
        }
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Vec<HostKey>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when one of the allowed keys made this signature of `token`.
    pub fn verify(&self, token: &[u8], signature: &[u8]) -> bool {
        self.keys().iter().any(|key| key.verifies(token, signature))
    }

    pub fn len(&self) -> usize {
        self.keys().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Allows a key for good ("Always allow from this computer").
    pub fn allow(&self, key: HostKey) -> io::Result<()> {
        let mut keys = self.keys();
        if !keys.iter().any(|k| k.key == key.key) {
            keys.push(key);
        }
        self.save(&keys)
    }

    /// Forgets every key ("Revoke USB debugging authorisations").
    pub fn revoke_all(&self) -> io::Result<()> {
        let mut keys = self.keys();
        keys.clear();
        self.save(&keys)
    }

    fn save(&self, keys: &[HostKey]) -> io::Result<()> {
        let mut text = String::new();
        for key in keys {
            text.push_str(&key.line);
            text.push('\n');
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path)?;
        file.write_all(text.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }
}

/// Standard base64 with padding, as adb writes public keys. None on any other character.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let padding = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut group = 0u32;
        for &c in &chunk[..4 - padding] {
            group = group << 6 | value(c)?;
        }
        group <<= 6 * padding as u32;
        let decoded = [(group >> 16) as u8, (group >> 8) as u8, group as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    fn base64_encode(data: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// An adbkey.pub line for `key` (n0inv and rr left zero: the phone does not read them).
    pub(crate) fn public_key_line(key: &RsaPrivateKey) -> String {
        let public = key.to_public_key();
        let mut raw = Vec::new();
        raw.extend_from_slice(&MODULUS_WORDS.to_le_bytes());
        raw.extend_from_slice(&0u32.to_le_bytes());
        let mut n = public.n().to_bytes_le();
        n.resize(256, 0);
        raw.extend_from_slice(&n);
        raw.extend_from_slice(&[0u8; 256]);
        let e = public.e().to_bytes_le();
        let mut e4 = [0u8; 4];
        e4[..e.len().min(4)].copy_from_slice(&e[..e.len().min(4)]);
        raw.extend_from_slice(&e4);
        format!("{} tester@plugback", base64_encode(&raw))
    }

    fn sign(key: &RsaPrivateKey, token: &[u8]) -> Vec<u8> {
        key.sign(Pkcs1v15Sign::new::<sha1_rsa::Sha1>(), token)
            .unwrap()
    }

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            &[0xff, 0, 0x80, 7, 9],
        ] {
            if data.is_empty() {
                continue;
            }
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert!(base64_decode("TW=u").is_none());
        assert!(base64_decode("TWF").is_none());
        assert!(base64_decode("TW!u").is_none());
    }

    #[test]
    fn signatures_verify_only_with_the_allowed_key() {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let other = RsaPrivateKey::new(&mut rng, 2048).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keys = AdbKeys::load(dir.path());
        let token = new_token();
        assert!(!keys.verify(&token, &sign(&key, &token)));

        let mut payload = public_key_line(&key).into_bytes();
        payload.push(0);
        keys.allow(HostKey::parse(&payload).unwrap()).unwrap();
        assert!(keys.verify(&token, &sign(&key, &token)));
        assert!(!keys.verify(&token, &sign(&other, &token)));
        assert!(!keys.verify(&new_token(), &sign(&key, &token)));

        let reloaded = AdbKeys::load(dir.path());
        assert_eq!(reloaded.len(), 1);
        assert!(reloaded.verify(&token, &sign(&key, &token)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("adb_keys"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        reloaded.revoke_all().unwrap();
        assert!(AdbKeys::load(dir.path()).is_empty());
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(
            HostKey::parse(b"!!!! user@host\0").unwrap_err(),
            KeyError::NotBase64
        );
        assert_eq!(
            HostKey::parse(b"TWFu user").unwrap_err(),
            KeyError::WrongLength(3)
        );
        assert_eq!(HostKey::parse(b"").unwrap_err(), KeyError::NotBase64);
    }
}
