//! The adb host key: `~/.android/adbkey` (RSA-2048, PKCS#8 PEM) and `adbkey.pub` (the
//! public key in Android's own format, then ` user@host`). Phones remember the public
//! key once the person taps Allow, so it must persist: Plugback loads the key adb made,
//! or makes one the way adb would and saves it where adb will find it.

use crate::device::DeviceError;
use base64::Engine as _;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use std::io::Write;
use std::path::{Path, PathBuf};

/// adb keys are RSA-2048.
const KEY_BITS: usize = 2048;
const MODULUS_WORDS: usize = KEY_BITS / 32;
const MODULUS_BYTES: usize = KEY_BITS / 8;
/// The size of Android's RSAPublicKey struct: words, n0inv, n, rr, e.
pub const ANDROID_PUBLIC_KEY_LEN: usize = 4 + 4 + MODULUS_BYTES + MODULUS_BYTES + 4;

/// The host key pair and where it lives.
pub struct AdbKey {
    pub private: RsaPrivateKey,
    pub path: PathBuf,
}

impl std::fmt::Debug for AdbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdbKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// `$HOME/.android`, where adb keeps its key (adb itself ignores ANDROID_USER_HOME).
pub fn default_android_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".android"))
}

impl AdbKey {
    /// Loads (or creates) the key where adb keeps it: `$HOME/.android/adbkey`.
    pub fn load_or_create_default() -> Result<AdbKey, DeviceError> {
        let dir = default_android_dir().ok_or_else(|| DeviceError::Key {
            path: PathBuf::from("~/.android/adbkey"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "this account has no home folder",
            ),
        })?;
        Self::load_or_create(&dir)
    }

    /// Loads `<android_dir>/adbkey`, or creates it (and `adbkey.pub`) when missing.
    pub fn load_or_create(android_dir: &Path) -> Result<AdbKey, DeviceError> {
        let path = android_dir.join("adbkey");
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                let private =
                    RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| key_error(&path, e))?;
                Ok(AdbKey { private, path })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(android_dir),
            Err(source) => Err(DeviceError::Key { path, source }),
        }
    }

    /// Generates a new key and writes both files: the private key readable by this
    /// user only, in a directory only this user can enter.
    pub fn create(android_dir: &Path) -> Result<AdbKey, DeviceError> {
        create_private_dir(android_dir)?;
        let path = android_dir.join("adbkey");
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|e| key_error(&path, e))?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| key_error(&path, e))?;
        write_file(&path, pem.as_bytes(), 0o600)?;
        let key = AdbKey { private, path };
        let public_path = android_dir.join("adbkey.pub");
        write_file(
            &public_path,
            key.public_key_line(&user_at_host()).as_bytes(),
            0o644,
        )?;
        Ok(key)
    }

    /// The `adbkey.pub` line: base64 of Android's public key struct, a space, a label.
    pub fn public_key_line(&self, label: &str) -> String {
        let encoded = android_public_key(&self.private.to_public_key())
            .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
            .unwrap_or_default();
        format!("{encoded} {label}")
    }
}

/// Android's RSAPublicKey struct (little-endian): `u32 words = 64`, `u32 n0inv`
/// (−1/n mod 2³²), `n` and `rr` (2⁴⁰⁹⁶ mod n, the Montgomery constant) as 256 bytes
/// each, `u32 e`. None for a key that is not RSA-2048 with a 32-bit exponent.
pub fn android_public_key(key: &RsaPublicKey) -> Option<[u8; ANDROID_PUBLIC_KEY_LEN]> {
    let n = key.n();
    if n.bits() != KEY_BITS {
        return None;
    }
    let e = small_u32(key.e())?;
    let n0 = low_u32(n);
    let n0inv = inverse_mod_2_32(n0)?.wrapping_neg();
    let rr = (BigUint::from(1u8) << (2 * KEY_BITS)) % n;

    let mut out = [0u8; ANDROID_PUBLIC_KEY_LEN];
    out[0..4].copy_from_slice(&(MODULUS_WORDS as u32).to_le_bytes());
    out[4..8].copy_from_slice(&n0inv.to_le_bytes());
    put_le(&mut out[8..8 + MODULUS_BYTES], n);
    put_le(&mut out[8 + MODULUS_BYTES..8 + 2 * MODULUS_BYTES], &rr);
    out[8 + 2 * MODULUS_BYTES..].copy_from_slice(&e.to_le_bytes());
    Some(out)
}

/// The inverse of an odd number modulo 2³² (Newton's iteration doubles the correct
/// bits each step: 5 steps from 3 bits reach 32+).
fn inverse_mod_2_32(a: u32) -> Option<u32> {
    if a.is_multiple_of(2) {
        return None;
    }
    let mut x = a; // correct to 3 bits for odd a
    for _ in 0..5 {
        x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
    }
    (a.wrapping_mul(x) == 1).then_some(x)
}

/// The value if it fits in 32 bits.
fn small_u32(value: &BigUint) -> Option<u32> {
    let bytes = value.to_bytes_le();
    (bytes.len() <= 4).then(|| low_u32(value))
}

/// The low 32 bits.
fn low_u32(value: &BigUint) -> u32 {
    let mut word = [0u8; 4];
    put_le(&mut word, value);
    u32::from_le_bytes(word)
}

fn put_le(target: &mut [u8], value: &BigUint) {
    let bytes = value.to_bytes_le();
    let n = bytes.len().min(target.len());
    target[..n].copy_from_slice(&bytes[..n]);
}

/// `user@host` for the public key's label, as adb writes it.
fn user_at_host() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "plugback".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host}")
}

fn key_error(path: &Path, e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Key {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), DeviceError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| DeviceError::Key {
        path: dir.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DeviceError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|source| DeviceError::Key {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_mod_2_32_works() {
        for a in [1u32, 3, 0xffff_ffff, 0x1234_5677, 65_537] {
            let x = inverse_mod_2_32(a).unwrap();
            assert_eq!(a.wrapping_mul(x), 1, "{a}");
        }
        assert_eq!(inverse_mod_2_32(2), None);
    }

    #[test]
    fn created_key_round_trips_with_private_modes() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".android");
        let created = AdbKey::create(&dir).unwrap();
        let loaded = AdbKey::load_or_create(&dir).unwrap();
        assert_eq!(created.private, loaded.private);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join("adbkey")), 0o600);
        }
        let public = std::fs::read_to_string(dir.join("adbkey.pub")).unwrap();
        let (encoded, label) = public.split_once(' ').unwrap();
        assert!(label.contains('@'));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(bytes.len(), 524);
        assert_eq!(&bytes[0..4], &64u32.to_le_bytes());
        assert_eq!(&bytes[520..524], &65_537u32.to_le_bytes());
        // n0inv · n ≡ −1 (mod 2³²).
        let n0 = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        let n0inv = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
        assert_eq!(n0.wrapping_mul(n0inv), u32::MAX);
    }

    #[test]
    fn a_damaged_key_file_is_a_key_error() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("adbkey"), "not a key").unwrap();
        assert!(matches!(
            AdbKey::load_or_create(home.path()),
            Err(DeviceError::Key { .. })
        ));
    }
}
