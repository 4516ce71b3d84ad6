//! The host's side of the restore stream as a `BufRead`, counting what arrived so that
//! the end marker can be drained exactly.

use std::io::{self, BufRead, Read};

const BUFFER: usize = 256 * 1024;
/// Header lines are short (the longest, the master key blob, is under 200 characters).
pub(super) const MAX_LINE: usize = 4096;

pub(super) struct RawReader<'s, S> {
    stream: &'s mut S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    received: u64,
}

impl<'s, S: Read> RawReader<'s, S> {
    pub(super) fn new(stream: &'s mut S) -> Self {
        RawReader {
            stream,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            received: 0,
        }
    }

    /// Bytes consumed so far.
    pub(super) fn consumed(&self) -> u64 {
        self.received - (self.end - self.start) as u64
    }

    /// One `\n`-terminated header line without its terminator. None when the line is
    /// longer than [`MAX_LINE`] or the host closed first.
    pub(super) fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        loop {
            let available = self.fill_buf()?;
            if available.is_empty() {
                return Ok(None);
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            line.extend_from_slice(&available[..take]);
            self.consume(take);
            if line.len() > MAX_LINE + 1 {
                return Ok(None);
            }
            if done {
                line.pop();
                return Ok(Some(line));
            }
        }
    }

    /// Reads and drops what the host sends until `total` bytes have arrived in all (or
    /// the host closes); what is buffered already counts.
    pub(super) fn drain_until_received(&mut self, total: u64) -> io::Result<()> {
        while self.received < total {
            self.start = self.end;
            if self.fill_buf()?.is_empty() {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<S: Read> Read for RawReader<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        super::read_through_buffer(self, out)
    }
}

impl<S: Read> BufRead for RawReader<'_, S> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            loop {
                match self.stream.read(&mut self.buf) {
                    Ok(n) => {
                        self.end = n;
                        self.received += n as u64;
                        break;
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_counted() {
        let mut input: &[u8] = b"ANDROID BACKUP\n5\nrest";
        let mut raw = RawReader::new(&mut input);
        assert_eq!(raw.read_line().unwrap().unwrap(), b"ANDROID BACKUP");
        assert_eq!(raw.read_line().unwrap().unwrap(), b"5");
        assert_eq!(raw.consumed(), 17);
        assert_eq!(raw.read_line().unwrap(), None);

        let long = vec![b'a'; MAX_LINE + 10];
        let mut input: &[u8] = &long;
        assert_eq!(RawReader::new(&mut input).read_line().unwrap(), None);
    }
}
