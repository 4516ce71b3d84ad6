//! Writes one file's content as a backup blob: as is, or AES-256-CBC with IV 0 and PKCS#7
//! under the file's own key (what an encrypted iPhone backup stores).

use super::super::MakeError;
use super::super::content::{crypto_rng, random_bytes, write_content};
use super::super::crypto::CbcWriter;
use super::super::error::IoContext;
use super::super::hashing::HashingWriter;
use super::super::output::create_new;
use super::tree::Entry;
use sha1::Sha1;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The per-file key of an encrypted backup, fixed by the seed and the fileID.
pub(crate) fn file_key(seed: u64, file_id: &str) -> [u8; 32] {
    random_bytes(&mut crypto_rng(seed, &format!("file-key:{file_id}")))
}

/// Writes `entry`'s content to `path`, encrypted under `key` when given. Returns the SHA-1
/// of the plaintext when `want_sha1` (the mbdb layout records it).
pub(crate) fn write_blob(
    path: &Path,
    seed: u64,
    entry: &Entry,
    key: Option<&[u8; 32]>,
    want_sha1: bool,
) -> Result<Option<Vec<u8>>, MakeError> {
    let file = BufWriter::with_capacity(64 * 1024, create_new(path)?);
    let size = entry.size();
    let result = match key {
        None => emit(file, seed, entry, size, want_sha1).and_then(|(mut w, digest)| {
            w.flush()?;
            Ok(digest)
        }),
        Some(key) => {
            let cipher = CbcWriter::new(file, key, &[0u8; 16]);
            emit(cipher, seed, entry, size, want_sha1).and_then(|(cipher, digest)| {
                cipher.finish()?.flush()?;
                Ok(digest)
            })
        }
    };
    result.at(path)
}

fn emit<W: Write>(
    mut out: W,
    seed: u64,
    entry: &Entry,
    size: u64,
    want_sha1: bool,
) -> std::io::Result<(W, Option<Vec<u8>>)> {
    let identity = entry.identity();
    if want_sha1 {
        let mut hashing = HashingWriter::<W, Sha1>::new(out);
        write_content(seed, &identity, entry.name(), size, &mut hashing)?;
        let (out, digest) = hashing.finish();
        Ok((out, Some(digest)))
    } else {
        write_content(seed, &identity, entry.name(), size, &mut out)?;
        Ok((out, None))
    }
}
