//! Opening an encrypted `.ab` file's master key with the backup password.
//!
//! The user key is PBKDF2-HMAC-SHA1(password, user salt, rounds); it decrypts the master key
//! blob `[len][IV][len][master key][len][checksum]`, and the checksum is PBKDF2 of the master
//! key itself. Android hands both PBKDF2 calls Java chars, which it turns into bytes in one of
//! two ways (see [`KeyEncoding`]); old and third-party writers disagree on which, so both are
//! tried, the version's own first.

use super::ab_header::{AesParams, IV_LEN};
use crate::backup::BackupError;
use crate::secret::Password;
use aes::Aes256;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
use sha1::Sha1;
use std::fmt;
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;

/// The key and IV that decrypt the stream after the header.
pub struct MasterKey {
    pub iv: [u8; IV_LEN],
    pub key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// How Java chars become PBKDF2 password bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEncoding {
    /// Android's `PBKDF2WithHmacSHA1`: chars encoded as UTF-8. For the master key checksum,
    /// each key byte is first sign-extended to a char, so bytes 0x80..0xFF become
    /// U+FF80..U+FFFF (three UTF-8 bytes each). Versions 2 and later.
    JavaUtf8,
    /// `PBKDF2WithHmacSHA1And8bit`: the low 8 bits of each char, so the master key's own
    /// bytes. Version 1.
    EightBit,
}

impl KeyEncoding {
    /// The order to try: the version's own encoding, then the other.
    pub fn order_for(version: u32) -> [Self; 2] {
        if version == 1 {
            [Self::EightBit, Self::JavaUtf8]
        } else {
            [Self::JavaUtf8, Self::EightBit]
        }
    }

    fn other(self) -> Self {
        match self {
            Self::JavaUtf8 => Self::EightBit,
            Self::EightBit => Self::JavaUtf8,
        }
    }

    /// The PBKDF2 password bytes for a password typed by a person.
    fn password_bytes(self, password: &str) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            Self::JavaUtf8 => password.as_bytes().to_vec(),
            // Java chars are UTF-16 code units; the 8-bit variant keeps their low byte.
            Self::EightBit => password
                .encode_utf16()
                .map(|unit| unit.to_le_bytes()[0])
                .collect(),
        })
    }

    /// The PBKDF2 password bytes for the master key checksum.
    pub fn checksum_input(self, master_key: &[u8]) -> Zeroizing<Vec<u8>> {
        match self {
            Self::EightBit => Zeroizing::new(master_key.to_vec()),
            Self::JavaUtf8 => {
                let mut out = Zeroizing::new(Vec::with_capacity(master_key.len() * 3));
                for &byte in master_key {
                    // Java: (char) (byte) b, i.e. sign extension to 16 bits.
                    let unit = u32::from(byte as i8 as i16 as u16);
                    let ch = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                out
            }
        }
    }
}

fn pbkdf2_sha1(password: &[u8], salt: &[u8], rounds: u32) -> Zeroizing<[u8; KEY_LEN]> {
    Zeroizing::new(pbkdf2::pbkdf2_hmac_array::<Sha1, KEY_LEN>(
        password, salt, rounds,
    ))
}

/// The master key, or `WrongPassword` when the password does not open it (bad padding,
/// malformed key fields or checksum mismatch all mean the same thing to the person).
pub fn unlock(
    aes: &AesParams,
    version: u32,
    password: &Password,
) -> Result<MasterKey, BackupError> {
    let mut tried: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    for encoding in KeyEncoding::order_for(version) {
        let password_bytes = encoding.password_bytes(password.expose());
        if tried.contains(&password_bytes) {
            continue; // ASCII passwords give the same bytes either way.
        }
        let fields = open_blob(aes, &password_bytes);
        tried.push(password_bytes);
        let Some(fields) = fields else { continue };
        for checksum_encoding in [encoding, encoding.other()] {
            let input = checksum_encoding.checksum_input(&fields.key[..]);
            let checksum = pbkdf2_sha1(&input, &aes.checksum_salt, aes.rounds);
            if checksum[..] == fields.checksum[..] {
                return Ok(MasterKey {
                    iv: fields.iv,
                    key: fields.key,
                });
            }
        }
    }
    Err(BackupError::WrongPassword)
}

struct BlobFields {
    iv: [u8; IV_LEN],
    key: Zeroizing<[u8; KEY_LEN]>,
    checksum: Zeroizing<Vec<u8>>,
}

/// Decrypts and splits the master key blob; None when the password key does not fit.
fn open_blob(aes: &AesParams, password_bytes: &[u8]) -> Option<BlobFields> {
    let user_key = pbkdf2_sha1(password_bytes, &aes.user_salt, aes.rounds);
    let mut blob = Zeroizing::new(aes.master_key_blob.clone());
    let decryptor = cbc::Decryptor::<Aes256>::new_from_slices(&user_key[..], &aes.user_iv).ok()?;
    let mut rest = decryptor.decrypt_padded::<Pkcs7>(&mut blob).ok()?;
    let iv: [u8; IV_LEN] = take_field(&mut rest)?.try_into().ok()?;
    let key: [u8; KEY_LEN] = take_field(&mut rest)?.try_into().ok()?;
    let checksum = take_field(&mut rest)?;
    if checksum.is_empty() {
        return None;
    }
    Some(BlobFields {
        iv,
        key: Zeroizing::new(key),
        checksum: Zeroizing::new(checksum.to_vec()),
    })
}

/// One `[u8 length][bytes]` field.
fn take_field<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&len, tail) = rest.split_first()?;
    let len = usize::from(len);
    if tail.len() < len {
        return None;
    }
    let (field, tail) = tail.split_at(len);
    *rest = tail;
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    #[test]
    fn java_utf8_mangles_high_bytes() {
        let input =
            KeyEncoding::JavaUtf8.checksum_input(&[0x41, 0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xff]);
        assert_eq!(
            &input[..],
            &[
                0x41, 0x00, 0x7f, 0xef, 0xbe, 0x80, 0xef, 0xbe, 0xbf, 0xef, 0xbf, 0x80, 0xef, 0xbf,
                0xbf
            ]
        );
        let raw = KeyEncoding::EightBit.checksum_input(&[0x41, 0x80, 0xff]);
        assert_eq!(&raw[..], &[0x41, 0x80, 0xff]);
    }

    #[test]
    fn eight_bit_passwords_keep_the_low_byte() {
        assert_eq!(
            &KeyEncoding::EightBit.password_bytes("aé")[..],
            &[0x61, 0xe9]
        );
        assert_eq!(
            &KeyEncoding::JavaUtf8.password_bytes("aé")[..],
            &[0x61, 0xc3, 0xa9]
        );
    }

    #[test]
    fn version_picks_the_order() {
        assert_eq!(KeyEncoding::order_for(1)[0], KeyEncoding::EightBit);
        for v in 2..=5 {
            assert_eq!(KeyEncoding::order_for(v)[0], KeyEncoding::JavaUtf8);
        }
    }

    /// Builds header parameters the way Android does, with the chosen checksum encoding.
    fn params(password: &str, checksum_encoding: KeyEncoding) -> (AesParams, [u8; 32]) {
        let user_salt = vec![7u8; 64];
        let checksum_salt = vec![9u8; 64];
        let rounds = 50;
        let user_iv = [3u8; 16];
        let master_key: [u8; 32] =
            std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(0x70));
        let master_iv = [5u8; 16];
        let checksum = pbkdf2_sha1(
            &checksum_encoding.checksum_input(&master_key),
            &checksum_salt,
            rounds,
        );
        let mut plain = vec![16u8];
        plain.extend_from_slice(&master_iv);
        plain.push(32);
        plain.extend_from_slice(&master_key);
        plain.push(32);
        plain.extend_from_slice(&checksum[..]);
        let user_key = pbkdf2_sha1(password.as_bytes(), &user_salt, rounds);
        let mut buf = vec![0u8; plain.len() + 16];
        let blob = cbc::Encryptor::<Aes256>::new_from_slices(&user_key[..], &user_iv)
            .unwrap()
            .encrypt_padded_b2b::<Pkcs7>(&plain, &mut buf)
            .unwrap()
            .to_vec();
        let aes = AesParams {
            user_salt,
            checksum_salt,
            rounds,
            user_iv,
            master_key_blob: blob,
        };
        (aes, master_key)
    }

    #[test]
    fn both_checksum_variants_open_with_either_version() {
        for encoding in [KeyEncoding::JavaUtf8, KeyEncoding::EightBit] {
            let (aes, master_key) = params("secret", encoding);
            for version in [1, 5] {
                let key = unlock(&aes, version, &Password::new("secret")).unwrap();
                assert_eq!(*key.key, master_key);
                assert_eq!(key.iv, [5u8; 16]);
            }
        }
    }

    #[test]
    fn wrong_passwords_are_refused() {
        let (aes, _) = params("secret", KeyEncoding::JavaUtf8);
        for wrong in ["Secret", "", "secret ", "sécret"] {
            let err = unlock(&aes, 5, &Password::new(wrong)).unwrap_err();
            assert_eq!(err.code(), "wrong-password", "{wrong:?}");
        }
    }

    #[test]
    fn a_damaged_checksum_is_a_wrong_password() {
        let (mut aes, _) = params("secret", KeyEncoding::JavaUtf8);
        aes.checksum_salt[0] ^= 1;
        assert_eq!(
            unlock(&aes, 5, &Password::new("secret"))
                .unwrap_err()
                .code(),
            "wrong-password"
        );
    }

    #[test]
    fn fields_are_bounds_checked() {
        let mut rest: &[u8] = &[3, 1, 2];
        assert_eq!(take_field(&mut rest), None);
        let mut rest: &[u8] = &[2, 1, 2, 0];
        assert_eq!(take_field(&mut rest), Some(&[1u8, 2][..]));
        assert_eq!(take_field(&mut rest), Some(&[][..]));
        assert_eq!(take_field(&mut rest), None);
    }
}
