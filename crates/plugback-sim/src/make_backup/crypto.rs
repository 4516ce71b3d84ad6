//! The ciphers both phone platforms use: AES-256-CBC with PKCS#7 (streamed, for gigabytes),
//! AES key wrap (RFC 3394) and PBKDF2.

use aes::Aes256;
use aes::cipher::{Array, BlockModeEncrypt, KeyInit, KeyIvInit};
use std::io::{self, Write};

type CbcEncryptor = cbc::Encryptor<Aes256>;

const BLOCK: usize = 16;
const BUFFER: usize = 64 * 1024;

/// A writer that AES-256-CBC-encrypts everything written through it and adds PKCS#7
/// padding on `finish`. The cbc crate encrypts whole buffers; this streams, so a file of
/// any size is encrypted with a fixed amount of memory.
pub(crate) struct CbcWriter<W: Write> {
    inner: W,
    cipher: CbcEncryptor,
    pending: Vec<u8>,
}

impl<W: Write> CbcWriter<W> {
    pub(crate) fn new(inner: W, key: &[u8; 32], iv: &[u8; 16]) -> Self {
        CbcWriter {
            inner,
            cipher: CbcEncryptor::new(key.into(), iv.into()),
            pending: Vec::with_capacity(BUFFER + BLOCK),
        }
    }

    /// Encrypts and writes every whole block held so far.
    fn drain_whole_blocks(&mut self) -> io::Result<()> {
        let whole = self.pending.len() - self.pending.len() % BLOCK;
        let (blocks, _) = self.pending[..whole].as_chunks_mut::<BLOCK>();
        self.cipher
            .encrypt_blocks(Array::cast_slice_from_core_mut(blocks));
        self.inner.write_all(&self.pending[..whole])?;
        self.pending.drain(..whole);
        Ok(())
    }

    /// Pads, writes the last block and returns the inner writer (not flushed).
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.drain_whole_blocks()?;
        let pad = BLOCK - self.pending.len();
        self.pending.resize(BLOCK, pad as u8);
        self.drain_whole_blocks()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for CbcWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = BUFFER + BLOCK - self.pending.len();
        let n = data.len().min(room);
        self.pending.extend_from_slice(&data[..n]);
        if self.pending.len() >= BUFFER {
            self.drain_whole_blocks()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Whole blocks only: the tail waits for more data or for `finish`.
        self.drain_whole_blocks()?;
        self.inner.flush()
    }
}

/// AES-256-CBC with PKCS#7 of a buffer held in memory.
pub(crate) fn encrypt_cbc(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + BLOCK);
    let mut writer = CbcWriter::new(&mut out, key, iv);
    // Writing into a Vec cannot fail.
    let _ = writer.write_all(plaintext).and_then(|()| writer.finish());
    out
}

/// RFC 3394 AES key wrap of a 256-bit key under a 256-bit key-encryption key.
pub(crate) fn wrap_key(kek: &[u8; 32], key: &[u8; 32]) -> [u8; 40] {
    let wrapper = aes_kw::KwAes256::new(kek.into());
    let mut wrapped = [0u8; 40];
    // A 32-byte key always wraps into exactly 40 bytes, so this cannot fail.
    let _ = wrapper.wrap_key(key, &mut wrapped);
    wrapped
}

pub(crate) fn pbkdf2_sha1(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 32>(password, salt, rounds)
}

pub(crate) fn pbkdf2_sha256(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password, salt, rounds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockModeDecrypt;
    use aes::cipher::block_padding::Pkcs7;

    #[test]
    fn streamed_cbc_matches_the_one_shot_cipher() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for len in [
            0usize,
            1,
            15,
            16,
            17,
            4096,
            BUFFER - 1,
            BUFFER + 17,
            3 * BUFFER,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut streamed = Vec::new();
            let mut writer = CbcWriter::new(&mut streamed, &key, &iv);
            // Odd-sized writes cross block and buffer boundaries.
            for piece in plain.chunks(1000) {
                writer.write_all(piece).unwrap();
            }
            writer.finish().unwrap();
            assert_eq!(streamed.len(), (len / 16 + 1) * 16);
            let mut buf = vec![0u8; len + 16];
            let one_shot = CbcEncryptor::new(&key.into(), &iv.into())
                .encrypt_padded_b2b::<Pkcs7>(&plain, &mut buf)
                .unwrap();
            assert_eq!(streamed, one_shot, "length {len}");
            let mut back = vec![0u8; streamed.len()];
            let back = cbc::Decryptor::<Aes256>::new(&key.into(), &iv.into())
                .decrypt_padded_b2b::<Pkcs7>(&streamed, &mut back)
                .unwrap();
            assert_eq!(back, plain);
        }
    }

    #[test]
    fn key_wrap_matches_rfc_3394_vector() {
        // RFC 3394 §4.6: 256-bit key data with a 256-bit KEK.
        let kek: [u8; 32] =
            hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
                .unwrap()
                .try_into()
                .unwrap();
        let key: [u8; 32] =
            hex::decode("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(
            hex::encode_upper(wrap_key(&kek, &key)),
            "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
        );
    }
}
