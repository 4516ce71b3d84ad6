//! A buffered, duplex view of one service connection, shared by the phone's services.
//!
//! Every read goes through one buffer the link owns, so a read timeout in the middle of a
//! frame loses nothing: the bytes already received stay buffered, and the caller can wait
//! again or give up. Reads of bulk data hand out slices of that buffer, so streaming a
//! file costs no allocation per chunk.

use crate::iphone::plist_frame::{FrameError, write_binary_plist, write_xml_plist};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Bulk reads pull up to this much at once from the socket.
const READ_BUFFER: usize = 1024 * 1024;

/// What the link does when the socket's own read timeout fires.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Quiet {
    /// Keep waiting until the host has been silent this long, then fail with `TimedOut`.
    GiveUpAfter(Duration),
    /// Return `WouldBlock` at once, so the caller can do other work (relay notifications)
    /// and wait again; buffered bytes are kept.
    ReturnToCaller,
}

pub(crate) struct Link<'s, S> {
    stream: &'s mut S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    quiet: Quiet,
    /// Bytes received, for logs and reports.
    pub(crate) received: u64,
}

/// True for the errors a socket read timeout produces.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<'s, S: Read + Write> Link<'s, S> {
    pub(crate) fn new(stream: &'s mut S, quiet: Quiet) -> Self {
        Link {
            stream,
            buf: vec![0u8; READ_BUFFER],
            start: 0,
            end: 0,
            quiet,
            received: 0,
        }
    }

    pub(crate) fn set_quiet(&mut self, quiet: Quiet) {
        self.quiet = quiet;
    }

    /// Bytes received but not consumed yet.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more from the socket. `Ok(0)` is the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() {
            // Move the unread tail to the front to make room.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let quiet_since = Instant::now();
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    self.received += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => match self.quiet {
                    Quiet::ReturnToCaller => return Err(io::ErrorKind::WouldBlock.into()),
                    Quiet::GiveUpAfter(limit) if quiet_since.elapsed() < limit => continue,
                    Quiet::GiveUpAfter(limit) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the host sent nothing for {} s", limit.as_secs()),
                        ));
                    }
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes sure `n` bytes are buffered. Idempotent: after a `WouldBlock` the caller may
    /// call it again and nothing is lost. A clean end of stream is `UnexpectedEof`.
    pub(crate) fn ensure(&mut self, n: usize) -> io::Result<()> {
        if n > self.buf.len() {
            self.buf.resize(n, 0);
        }
        if self.start + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub(crate) fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.start == self.end && self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let n = (self.end - self.start).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.consume(n);
            done += n;
        }
        Ok(())
    }

    pub(crate) fn read_u32_be(&mut self) -> io::Result<u32> {
        let mut bytes = [0u8; 4];
        self.read_exact(&mut bytes)?;
        Ok(u32::from_be_bytes(bytes))
    }

    pub(crate) fn read_u8(&mut self) -> io::Result<u8> {
        let mut byte = [0u8; 1];
        self.read_exact(&mut byte)?;
        Ok(byte[0])
    }

    /// Passes the next `n` bytes to `sink` in slices of the link's buffer.
    pub(crate) fn stream_to(
        &mut self,
        mut n: u64,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        while n > 0 {
            if self.start == self.end && self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let take = ((self.end - self.start) as u64).min(n) as usize;
            sink(&self.buf[self.start..self.start + take])?;
            self.consume(take);
            n -= take as u64;
        }
        Ok(())
    }

    /// Reads one u32-big-endian-framed plist (XML or binary). Nothing is consumed until
    /// the whole frame is here, so a `WouldBlock` can be retried.
    pub(crate) fn read_plist(&mut self, max_len: u32) -> Result<plist::Value, FrameError> {
        match self.ensure(4) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && self.start == self.end => {
                return Err(FrameError::Closed);
            }
            Err(e) => return Err(e.into()),
        }
        let header = &self.buf[self.start..self.start + 4];
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if len > max_len {
            return Err(FrameError::TooLong { len, max: max_len });
        }
        self.ensure(4 + len as usize)?;
        let body = &self.buf[self.start + 4..self.start + 4 + len as usize];
        let value = plist::Value::from_reader(io::Cursor::new(body));
        self.consume(4 + len as usize);
        Ok(value?)
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }

    pub(crate) fn send_binary_plist(&mut self, value: &plist::Value) -> io::Result<()> {
        write_binary_plist(self.stream, value)
    }

    pub(crate) fn send_xml_plist(&mut self, value: &plist::Value) -> io::Result<()> {
        write_xml_plist(self.stream, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that yields its bytes in small pieces with a timeout between each.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        tick: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.tick = !self.tick;
            if self.tick {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = out.len().min(3).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for Trickle {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_timeout_mid_frame_loses_nothing() {
        let value = plist::Value::Array(vec![plist::Value::String("DLMessagePing".into())]);
        let mut wire = Vec::new();
        write_binary_plist(&mut wire, &value).unwrap();
        write_binary_plist(&mut wire, &value).unwrap();
        let mut stream = Trickle {
            data: wire,
            pos: 0,
            tick: false,
        };
        let mut link = Link::new(&mut stream, Quiet::ReturnToCaller);
        let mut frames = 0;
        let mut timeouts = 0;
        while frames < 2 {
            match link.read_plist(1024) {
                Ok(v) => {
                    assert_eq!(v, value);
                    frames += 1;
                }
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => timeouts += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(timeouts > 2);
        assert!(matches!(
            link.read_plist(1024),
            Err(FrameError::Closed) | Err(FrameError::Io(_))
        ));
    }
}
