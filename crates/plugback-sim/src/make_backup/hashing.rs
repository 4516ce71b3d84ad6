//! A writer that hashes what passes through it, so a file is hashed while it is written
//! rather than read back.

use sha1::Digest;
use std::io::{self, Write};

pub(crate) struct HashingWriter<W: Write, D: Digest> {
    inner: W,
    hasher: D,
}

impl<W: Write, D: Digest> HashingWriter<W, D> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: D::new(),
        }
    }

    /// The inner writer and the digest of everything written.
    pub(crate) fn finish(self) -> (W, Vec<u8>) {
        (self.inner, self.hasher.finalize().to_vec())
    }
}

impl<W: Write, D: Digest> Write for HashingWriter<W, D> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
