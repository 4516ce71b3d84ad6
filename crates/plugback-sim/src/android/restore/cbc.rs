//! AES-256-CBC decryption of the archive body as a `BufRead`, block by block.
//!
//! The body is followed on the wire by the host's zero end marker, so there is no EOF to
//! find the padding by: the layer above knows where the plaintext ends, and the padding is
//! simply never asked for.

use aes::Aes256;
use aes::cipher::{Array, BlockModeDecrypt, KeyIvInit};
use std::io::{self, BufRead, Read};

const BLOCK: usize = 16;
const CHUNK: usize = 64 * 1024;

pub(super) struct CbcReader<R> {
    inner: R,
    cipher: cbc::Decryptor<Aes256>,
    buf: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> CbcReader<R> {
    pub(super) fn new(inner: R, key: &[u8; 32], iv: &[u8; 16]) -> Self {
        CbcReader {
            inner,
            cipher: cbc::Decryptor::<Aes256>::new(key.into(), iv.into()),
            buf: Vec::with_capacity(CHUNK),
            pos: 0,
        }
    }

    /// Takes the next whole blocks of ciphertext (at least one) and decrypts them.
    fn refill(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.pos = 0;
        while self.buf.len() < BLOCK {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let take = if self.buf.is_empty() && available.len() >= BLOCK {
                available.len().min(CHUNK) / BLOCK * BLOCK
            } else {
                available.len().min(BLOCK - self.buf.len())
            };
            self.buf.extend_from_slice(&available[..take]);
            self.inner.consume(take);
        }
        if !self.buf.len().is_multiple_of(BLOCK) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the ciphertext ends inside a block",
            ));
        }
        let (blocks, _) = self.buf.as_chunks_mut::<BLOCK>();
        self.cipher
            .decrypt_blocks(Array::cast_slice_from_core_mut(blocks));
        Ok(())
    }
}

impl<R: BufRead> Read for CbcReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        super::read_through_buffer(self, out)
    }
}

impl<R: BufRead> BufRead for CbcReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.refill()?;
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.buf.len());
    }
}

/// The ciphertext length of `plaintext_len` bytes: PKCS#7 always adds 1 to 16 bytes.
pub(super) fn ciphertext_len(plaintext_len: u64) -> u64 {
    (plaintext_len / BLOCK as u64 + 1) * BLOCK as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockModeEncrypt;
    use aes::cipher::block_padding::Pkcs7;

    #[test]
    fn decrypts_across_odd_reads() {
        let key = [3u8; 32];
        let iv = [5u8; 16];
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut buf = vec![0u8; plain.len() + 16];
        let cipher = cbc::Encryptor::<Aes256>::new(&key.into(), &iv.into())
            .encrypt_padded_b2b::<Pkcs7>(&plain, &mut buf)
            .unwrap()
            .to_vec();
        assert_eq!(cipher.len() as u64, ciphertext_len(plain.len() as u64));
        // A reader that hands out 7 bytes at a time splits blocks everywhere.
        let trickle = io::BufReader::with_capacity(7, &cipher[..]);
        let mut reader = CbcReader::new(trickle, &key, &iv);
        let mut back = vec![0u8; plain.len()];
        reader.read_exact(&mut back).unwrap();
        assert_eq!(back, plain);
    }
}
