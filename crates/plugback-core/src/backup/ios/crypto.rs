//! The cryptography of encrypted iPhone backups, through the RustCrypto crates:
//! PBKDF2 for the password, AES key unwrap (RFC 3394) for class and file keys, and
//! AES-256-CBC with a zero IV and PKCS#7 padding for Manifest.db and every file.

use aes::Aes256;
use aes_kw::KwAes256;
use cbc::cipher::block_padding::{Padding, Pkcs7};
use cbc::cipher::{Array, BlockModeDecrypt, KeyInit, KeyIvInit};
use sha1::Sha1;
use sha2::Sha256;
use std::io::{self, Read};
use zeroize::Zeroizing;

/// A 256-bit AES key, wiped from memory when dropped.
pub type Key256 = Zeroizing<[u8; 32]>;

const BLOCK: usize = 16;
const ZERO_IV: [u8; BLOCK] = [0; BLOCK];
/// A 256-bit key wrapped with RFC 3394: the key plus one 8-byte integrity block.
pub const WRAPPED_KEY_LEN: usize = 40;

type CbcDecryptor = cbc::Decryptor<Aes256>;

/// The key-derivation parameters a keybag stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// PBKDF2-HMAC-SHA1 salt and rounds (every keybag).
    pub salt: Vec<u8>,
    pub iterations: u32,
    /// PBKDF2-HMAC-SHA256 salt and rounds that come first (iOS 10.2 and later).
    pub first_stage: Option<(Vec<u8>, u32)>,
}

/// The key that unwraps the class keys: PBKDF2-HMAC-SHA256 (where the keybag asks for it)
/// then PBKDF2-HMAC-SHA1, 32 bytes each. Takes seconds at the real iteration counts.
pub fn passcode_key(password: &[u8], params: &KdfParams) -> Key256 {
    let mut stage_one = Zeroizing::new([0u8; 32]);
    let input: &[u8] = match &params.first_stage {
        Some((salt, rounds)) => {
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *rounds, stage_one.as_mut());
            stage_one.as_ref()
        }
        None => password,
    };
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha1>(input, &params.salt, params.iterations, key.as_mut());
    key
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnwrapError {
    /// Not a wrapped 256-bit key (wrong length).
    BadLength(usize),
    /// The integrity check failed: wrong key-encryption key, or damaged data.
    IntegrityCheckFailed,
}

/// Unwraps a 40-byte RFC 3394 wrapped key with `kek`.
pub fn unwrap_key(kek: &[u8; 32], wrapped: &[u8]) -> Result<Key256, UnwrapError> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(UnwrapError::BadLength(wrapped.len()));
    }
    let kw = KwAes256::new(&Array::from(*kek));
    let mut key = Zeroizing::new([0u8; 32]);
    kw.unwrap_key(wrapped, key.as_mut())
        .map_err(|_| UnwrapError::IntegrityCheckFailed)?;
    Ok(key)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// The ciphertext is not a whole number of AES blocks.
    NotWholeBlocks(u64),
    /// The last block does not end in valid PKCS#7 padding.
    BadPadding,
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotWholeBlocks(len) => {
                write!(f, "{len} bytes is not a whole number of 16-byte blocks")
            }
            Self::BadPadding => f.write_str("the padding at the end is invalid"),
        }
    }
}

fn decryptor(key: &[u8; 32]) -> CbcDecryptor {
    CbcDecryptor::new(&Array::from(*key), &Array::from(ZERO_IV))
}

/// Decrypts whole blocks in place, continuing the CBC chain held by `cbc`.
fn decrypt_blocks_in_place(cbc: &mut CbcDecryptor, data: &mut [u8]) {
    let (blocks, tail) = Array::slice_as_chunks_mut(data);
    debug_assert!(tail.is_empty());
    cbc.decrypt_blocks(blocks);
}

/// Decrypts `data` in place (AES-256-CBC, zero IV) without removing any padding. The
/// caller decides what to do with the padding (see `strip_pkcs7`).
pub fn decrypt_in_place_unpadded(key: &[u8; 32], data: &mut [u8]) -> Result<(), DecryptError> {
    if !data.len().is_multiple_of(BLOCK) {
        return Err(DecryptError::NotWholeBlocks(data.len() as u64));
    }
    decrypt_blocks_in_place(&mut decryptor(key), data);
    Ok(())
}

/// The length of `plaintext` without its PKCS#7 padding, if the padding is valid.
pub fn pkcs7_unpadded_len(plaintext: &[u8]) -> Option<usize> {
    let start = plaintext.len().checked_sub(BLOCK)?;
    let last = plaintext.get(start..)?;
    let kept = Pkcs7::raw_unpad(last).ok()?.len();
    Some(start + kept)
}

/// The size an encrypted blob has on disk for a file of `plain_len` bytes: PKCS#7 always
/// adds between 1 and 16 bytes.
pub fn padded_len(plain_len: u64) -> u64 {
    (plain_len / BLOCK as u64 + 1) * BLOCK as u64
}

/// Decrypts a whole stream with a caller-provided buffer (whose length must be a non-zero
/// multiple of 16), handing each piece of plaintext to `sink` as it goes, so memory use
/// stays at one buffer whatever the file size. Returns the plaintext length after the
/// padding is removed. `on_read` sees the count of ciphertext bytes read, for progress.
pub fn decrypt_stream(
    key: &[u8; 32],
    mut reader: impl Read,
    buf: &mut [u8],
    mut on_read: impl FnMut(u64),
    mut sink: impl FnMut(&[u8]),
) -> io::Result<Result<u64, DecryptError>> {
    let chunk_len = buf.len() - buf.len() % BLOCK;
    let Some(buf) = buf.get_mut(..chunk_len).filter(|b| !b.is_empty()) else {
        return Err(io::Error::other("decryption buffer smaller than one block"));
    };
    let mut cbc = decryptor(key);
    // The last plaintext block is held back until the stream ends: only then is it
    // known to carry the padding.
    let mut held: Option<[u8; BLOCK]> = None;
    let mut plain_len: u64 = 0;
    let mut cipher_len: u64 = 0;
    loop {
        let filled = read_full(&mut reader, buf)?;
        cipher_len += filled as u64;
        on_read(filled as u64);
        if !filled.is_multiple_of(BLOCK) {
            return Ok(Err(DecryptError::NotWholeBlocks(cipher_len)));
        }
        if filled > 0 {
            let data = &mut buf[..filled];
            decrypt_blocks_in_place(&mut cbc, data);
            if let Some(prev) = held.take() {
                sink(&prev);
                plain_len += BLOCK as u64;
            }
            let (body, last) = data.split_at(filled - BLOCK);
            sink(body);
            plain_len += body.len() as u64;
            let mut block = [0u8; BLOCK];
            block.copy_from_slice(last);
            held = Some(block);
        }
        if filled < buf.len() {
            break;
        }
    }
    let Some(last) = held else {
        // An empty blob: no block at all, so no padding either.
        return Ok(Err(DecryptError::BadPadding));
    };
    match Pkcs7::raw_unpad(&last) {
        Ok(kept) => {
            sink(kept);
            Ok(Ok(plain_len + kept.len() as u64))
        }
        Err(_) => Ok(Err(DecryptError::BadPadding)),
    }
}

/// Reads until `buf` is full or the stream ends; returns the count read.
pub fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Encryption and wrapping, for tests only: Plugback itself never encrypts.
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    pub fn encrypt(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
        let enc = cbc::Encryptor::<Aes256>::new(&Array::from(*key), &Array::from(ZERO_IV));
        let mut buf = vec![0u8; padded_len(plain.len() as u64) as usize];
        buf[..plain.len()].copy_from_slice(plain);
        enc.encrypt_padded::<Pkcs7>(&mut buf, plain.len())
            .expect("buffer sized for the padding")
            .to_vec()
    }

    pub fn wrap(kek: &[u8; 32], key: &[u8; 32]) -> Vec<u8> {
        let kw = KwAes256::new(&Array::from(*kek));
        let mut out = vec![0u8; WRAPPED_KEY_LEN];
        kw.wrap_key(key, &mut out).expect("40-byte buffer");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn stream(cipher: &[u8], buf_len: usize) -> (Vec<u8>, Result<u64, DecryptError>) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; buf_len];
        let result =
            decrypt_stream(&KEY, cipher, &mut buf, |_| {}, |p| out.extend_from_slice(p)).unwrap();
        (out, result)
    }

    #[test]
    fn streaming_decryption_matches_for_every_length_and_buffer() {
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 4096, 5000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let cipher = encrypt(&KEY, &plain);
            assert_eq!(cipher.len() as u64, padded_len(len as u64));
            for buf_len in [16, 32, 48, 1024, 1 << 16] {
                let (out, result) = stream(&cipher, buf_len);
                assert_eq!(result, Ok(len as u64), "len {len} buf {buf_len}");
                assert_eq!(out, plain, "len {len} buf {buf_len}");
            }
        }
    }

    #[test]
    fn damaged_streams_are_refused() {
        let cipher = encrypt(&KEY, b"hello, world");
        assert_eq!(
            stream(&cipher[..15], 64).1,
            Err(DecryptError::NotWholeBlocks(15))
        );
        assert_eq!(stream(&[], 64).1, Err(DecryptError::BadPadding));
        let (_, wrong_key) = {
            let mut out = Vec::new();
            let mut buf = [0u8; 64];
            let r = decrypt_stream(
                &[9; 32],
                &cipher[..],
                &mut buf,
                |_| {},
                |p| out.extend_from_slice(p),
            )
            .unwrap();
            (out, r)
        };
        // A wrong key almost never yields valid padding (1 chance in ~256 for this block;
        // this key and block are fixed, so the test is deterministic).
        assert_eq!(wrong_key, Err(DecryptError::BadPadding));
    }

    #[test]
    fn in_place_decryption_and_padding() {
        let plain = b"SQLite format 3\0 and more bytes";
        let mut data = encrypt(&KEY, plain);
        decrypt_in_place_unpadded(&KEY, &mut data).unwrap();
        assert_eq!(pkcs7_unpadded_len(&data), Some(plain.len()));
        assert_eq!(&data[..plain.len()], plain);
        assert_eq!(
            decrypt_in_place_unpadded(&KEY, &mut [0u8; 17]),
            Err(DecryptError::NotWholeBlocks(17))
        );
        assert_eq!(pkcs7_unpadded_len(&[0u8; 16]), None);
        assert_eq!(pkcs7_unpadded_len(&[]), None);
    }

    #[test]
    fn key_unwrap_checks_integrity_and_length() {
        let kek = [3u8; 32];
        let wrapped = wrap(&kek, &KEY);
        assert_eq!(*unwrap_key(&kek, &wrapped).unwrap(), KEY);
        assert_eq!(
            unwrap_key(&[4u8; 32], &wrapped).err(),
            Some(UnwrapError::IntegrityCheckFailed)
        );
        assert_eq!(
            unwrap_key(&kek, &wrapped[..39]).err(),
            Some(UnwrapError::BadLength(39))
        );
    }

    #[test]
    fn rfc3394_vector() {
        // RFC 3394 section 4.6: 256-bit key data wrapped with a 256-bit KEK.
        let kek: [u8; 32] =
            hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
                .unwrap()
                .try_into()
                .unwrap();
        let wrapped = hex::decode(
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
        )
        .unwrap();
        let key = unwrap_key(&kek, &wrapped).unwrap();
        assert_eq!(
            hex::encode_upper(*key),
            "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"
        );
    }

    #[test]
    fn kdf_matches_known_pbkdf2_outputs() {
        // RFC 6070 PBKDF2-HMAC-SHA1 vector ("password"/"salt", 2 rounds), first 20 bytes.
        let params = KdfParams {
            salt: b"salt".to_vec(),
            iterations: 2,
            first_stage: None,
        };
        let key = passcode_key(b"password", &params);
        assert_eq!(
            hex::encode(&key[..20]),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
        // The two-stage form feeds the SHA-256 stage's output into the SHA-1 stage.
        let two_stage = KdfParams {
            first_stage: Some((b"salt2".to_vec(), 3)),
            ..params.clone()
        };
        let mut first = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"password", b"salt2", 3, &mut first);
        let expected = passcode_key(&first, &params);
        assert_eq!(*passcode_key(b"password", &two_stage), *expected);
    }
}
