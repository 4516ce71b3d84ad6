//! AES-256-CBC decryption as a `Read` adapter, for streams too big to hold in memory.
//! The `cbc` crate decrypts blocks; this adapter feeds it chunks and holds back the last
//! block until the end of input, where the PKCS#7 padding is checked and removed.

use super::ab_crypto::MasterKey;
use super::ab_stream::StreamFault;
use aes::Aes256;
use cbc::cipher::array::Array;
use cbc::cipher::block_padding::{Padding, Pkcs7};
use cbc::cipher::consts::U16;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use std::io::{self, Read};

const BLOCK: usize = 16;
const CHUNK: usize = 64 * 1024;

pub struct CbcDecryptReader<R> {
    inner: R,
    decryptor: cbc::Decryptor<Aes256>,
    /// Reused read buffer.
    chunk: Vec<u8>,
    /// Ciphertext read but not yet decrypted (less than a block, between refills).
    pending: Vec<u8>,
    /// Plaintext ready to hand out, from `ready_pos`.
    ready: Vec<u8>,
    ready_pos: usize,
    /// The last plaintext block decrypted so far: it may carry the padding.
    held: Option<[u8; BLOCK]>,
    finished: bool,
}

impl<R: Read> CbcDecryptReader<R> {
    pub fn new(inner: R, key: &MasterKey) -> Self {
        let decryptor = cbc::Decryptor::<Aes256>::new(&(*key.key).into(), &key.iv.into());
        Self {
            inner,
            decryptor,
            chunk: vec![0; CHUNK],
            pending: Vec::with_capacity(CHUNK + BLOCK),
            ready: Vec::with_capacity(CHUNK + BLOCK),
            ready_pos: 0,
            held: None,
            finished: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.ready.clear();
        self.ready_pos = 0;
        let read = loop {
            match self.inner.read(&mut self.chunk) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        self.pending.extend_from_slice(&self.chunk[..read]);
        if read == 0 {
            return self.finish();
        }
        let whole = self.pending.len() / BLOCK * BLOCK;
        if whole == 0 {
            return Ok(());
        }
        let (blocks, _) = Array::<u8, U16>::slice_as_chunks_mut(&mut self.pending[..whole]);
        self.decryptor.decrypt_blocks(blocks);
        if let Some(held) = self.held.take() {
            self.ready.extend_from_slice(&held);
        }
        let (body, last) = self.pending[..whole].split_at(whole - BLOCK);
        self.ready.extend_from_slice(body);
        let mut last_block = [0u8; BLOCK];
        last_block.copy_from_slice(last);
        self.held = Some(last_block);
        self.pending.drain(..whole);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.finished = true;
        if !self.pending.is_empty() {
            return Err(
                StreamFault::Truncated("the encrypted data ends inside a 16-byte block").into(),
            );
        }
        let Some(last) = self.held.take() else {
            return Err(
                StreamFault::Truncated("there is no encrypted data after the header").into(),
            );
        };
        match Pkcs7::raw_unpad(&last) {
            Ok(data) => {
                self.ready.extend_from_slice(data);
                Ok(())
            }
            // Copies stop at buffer boundaries, always a multiple of 16 bytes: a last block
            // that does not unpad almost always means the file was cut there.
            Err(_) => Err(StreamFault::Truncated(
                "the last encrypted block does not unpad (cut short or damaged)",
            )
            .into()),
        }
    }
}

impl<R: Read> Read for CbcDecryptReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.ready_pos == self.ready.len() {
            if self.finished {
                return Ok(0);
            }
            self.refill()?;
        }
        let available = &self.ready[self.ready_pos..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.ready_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;
    use zeroize::Zeroizing;

    fn key() -> MasterKey {
        MasterKey {
            iv: [1; 16],
            key: Zeroizing::new([2; 32]),
        }
    }

    fn encrypt(plain: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; plain.len() + BLOCK];
        cbc::Encryptor::<Aes256>::new(&[2u8; 32].into(), &[1u8; 16].into())
            .encrypt_padded_b2b::<Pkcs7>(plain, &mut buf)
            .unwrap()
            .to_vec()
    }

    /// Reads in small, uneven pieces to exercise the chunk boundaries.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn decrypt_all(cipher: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        CbcDecryptReader::new(Trickle(cipher), &key()).read_to_end(&mut out)?;
        Ok(out)
    }

    fn fault(err: io::Error) -> String {
        format!(
            "{:?}",
            err.into_inner().unwrap().downcast::<StreamFault>().unwrap()
        )
    }

    #[test]
    fn round_trips_any_length() {
        for len in [0, 1, 15, 16, 17, 100, 200_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(
                decrypt_all(&encrypt(&plain)).unwrap(),
                plain,
                "length {len}"
            );
        }
    }

    #[test]
    fn every_kind_of_cut_is_truncation() {
        let plain: Vec<u8> = (0..100).collect();
        let cipher = encrypt(&plain);
        assert!(
            fault(decrypt_all(&cipher[..cipher.len() - 3]).unwrap_err())
                .contains("inside a 16-byte block")
        );
        assert!(fault(decrypt_all(&[]).unwrap_err()).contains("no encrypted data"));
        // Cut at a block boundary: the new last block's "padding" is payload bytes.
        assert!(
            fault(decrypt_all(&cipher[..cipher.len() - 16]).unwrap_err())
                .contains("does not unpad")
        );
    }
}
