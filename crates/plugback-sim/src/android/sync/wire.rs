//! The sync protocol's framing: four-character ids read as little-endian u32s, and a
//! buffered view of the host's byte stream.
//!
//! The host's requests arrive as one byte stream whose boundaries have nothing to do with
//! the adb packets that carried them, so everything is read through one large buffer and
//! file data is copied from it straight into the file.

use std::io::{self, Read, Write};

const fn id(tag: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*tag)
}

pub(super) const ID_LSTAT_V1: u32 = id(b"STAT");
pub(super) const ID_STAT_V2: u32 = id(b"STA2");
pub(super) const ID_LSTAT_V2: u32 = id(b"LST2");
pub(super) const ID_LIST_V1: u32 = id(b"LIST");
pub(super) const ID_LIST_V2: u32 = id(b"LIS2");
pub(super) const ID_DENT_V1: u32 = id(b"DENT");
pub(super) const ID_DENT_V2: u32 = id(b"DNT2");
pub(super) const ID_SEND_V1: u32 = id(b"SEND");
pub(super) const ID_RECV_V1: u32 = id(b"RECV");
pub(super) const ID_DATA: u32 = id(b"DATA");
pub(super) const ID_DONE: u32 = id(b"DONE");
pub(super) const ID_OKAY: u32 = id(b"OKAY");
pub(super) const ID_FAIL: u32 = id(b"FAIL");
pub(super) const ID_QUIT: u32 = id(b"QUIT");

/// The largest DATA payload (`SYNC_DATA_MAX`).
pub(super) const SYNC_DATA_MAX: usize = 64 * 1024;
/// The longest path a request may carry.
pub(super) const MAX_PATH: usize = 1024;
/// Big enough to hold many DATA chunks, so one read from the stream feeds several writes.
const BUFFER: usize = 1024 * 1024;

/// An id as text for log lines: "SEND", or hex when it is not printable.
pub(super) fn id_name(id: u32) -> String {
    let bytes = id.to_le_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        format!("{id:08x}")
    }
}

/// Where a copy of stream bytes into a file failed.
pub(super) enum CopyError {
    /// The host's stream failed or ended.
    Stream(io::Error),
    /// The file could not take the bytes; `left` stream bytes of the copy remain unread.
    Sink { err: io::Error, left: usize },
}

/// The connection to the host: buffered reads, unbuffered writes.
pub(super) struct Conn<'s, S> {
    stream: &'s mut S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<'s, S: Read + Write> Conn<'s, S> {
    pub(super) fn new(stream: &'s mut S) -> Self {
        Conn {
            stream,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more of the stream into the buffer. Ok(false) when the host has closed.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Fills `out` completely; a host that closes first is an `UnexpectedEof`.
    pub(super) fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.start == self.end && !self.fill()? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let n = (out.len() - done).min(self.end - self.start);
            out[done..done + n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            done += n;
        }
        Ok(())
    }

    /// Reads an (id, u32) pair, the shape of every request and data message. None when
    /// the host closed cleanly before the first byte.
    pub(super) fn read_header(&mut self) -> io::Result<Option<(u32, u32)>> {
        if self.start == self.end && !self.fill()? {
            return Ok(None);
        }
        let mut raw = [0u8; 8];
        self.read_exact(&mut raw)?;
        let [a, b, c, d, e, f, g, h] = raw;
        Ok(Some((
            u32::from_le_bytes([a, b, c, d]),
            u32::from_le_bytes([e, f, g, h]),
        )))
    }

    /// Like [`Conn::read_header`], but the host closing is an error.
    pub(super) fn expect_header(&mut self) -> io::Result<(u32, u32)> {
        self.read_header()?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    /// Reads `len` bytes (a bounded length: callers check it first).
    pub(super) fn read_vec(&mut self, len: usize) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; len];
        self.read_exact(&mut out)?;
        Ok(out)
    }

    /// Copies the next `len` stream bytes into `sink`, straight from the buffer.
    pub(super) fn copy_to(
        &mut self,
        mut len: usize,
        sink: &mut impl Write,
    ) -> Result<(), CopyError> {
        while len > 0 {
            if self.start == self.end {
                match self.fill() {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(CopyError::Stream(io::ErrorKind::UnexpectedEof.into()));
                    }
                    Err(err) => return Err(CopyError::Stream(err)),
                }
            }
            let n = len.min(self.end - self.start);
            if let Err(err) = sink.write_all(&self.buffered()[..n]) {
                self.start += n;
                return Err(CopyError::Sink { err, left: len - n });
            }
            self.start += n;
            len -= n;
        }
        Ok(())
    }

    /// Reads and drops the next `len` stream bytes.
    pub(super) fn skip(&mut self, len: usize) -> io::Result<()> {
        match self.copy_to(len, &mut io::sink()) {
            Ok(()) => Ok(()),
            Err(CopyError::Stream(err) | CopyError::Sink { err, .. }) => Err(err),
        }
    }

    pub(super) fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }

    /// `OKAY` with a zero length: a SEND arrived whole.
    pub(super) fn send_okay(&mut self) -> io::Result<()> {
        self.send(&message(ID_OKAY, 0))?;
        self.flush()
    }

    /// `FAIL` with its reason.
    pub(super) fn send_fail(&mut self, reason: &str) -> io::Result<()> {
        let mut out = message(ID_FAIL, reason.len() as u32).to_vec();
        out.extend_from_slice(reason.as_bytes());
        self.send(&out)?;
        self.flush()
    }
}

/// An (id, u32) message.
pub(super) fn message(id: u32, value: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&id.to_le_bytes());
    out[4..].copy_from_slice(&value.to_le_bytes());
    out
}
