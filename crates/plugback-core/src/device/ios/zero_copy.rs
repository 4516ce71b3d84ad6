//! Sending a file's bytes to the phone without copying them through Plugback: on Linux,
//! `sendfile` moves them from the page cache to the usbmuxd socket inside the kernel. A
//! restore is almost all file bytes, so this halves the CPU it takes.
//!
//! It writes on a duplicate of the service connection's socket, beside the stream that
//! idevice and the DeviceLink code use; callers only use it between whole messages of
//! that stream, so the bytes stay in order. Only for a connection without TLS: with TLS
//! every byte must go through the cipher. Written by hand over libc: no crate offers an
//! async `sendfile` on a socket tokio already drives.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

/// The raw socket of a service connection, for zero-copy sends.
pub struct ZeroCopyPipe {
    socket: AsyncFd<OwnedFd>,
}

impl std::fmt::Debug for ZeroCopyPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroCopyPipe").finish_non_exhaustive()
    }
}

impl ZeroCopyPipe {
    /// Takes a duplicate of the connection's socket (non-blocking, as tokio set it).
    /// Needs a tokio runtime: the socket's readiness comes from its reactor.
    pub(crate) fn new(socket: OwnedFd) -> io::Result<ZeroCopyPipe> {
        // SAFETY: an OwnedFd is open for as long as it lives, and the AsyncFd owns it.
        let socket =
            unsafe { AsyncFd::register_with_interest(socket, tokio::io::Interest::WRITABLE) }
                .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(ZeroCopyPipe { socket })
    }

    /// Sends `bytes` (a header), telling the kernel more follows at once, so that the
    /// header and the file's bytes after it leave together.
    pub async fn send_header(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let sent = self
                .when_writable(|fd| {
                    // SAFETY: a valid socket and a buffer of `bytes.len()` readable bytes.
                    let n = unsafe {
                        libc::send(
                            fd,
                            bytes.as_ptr().cast(),
                            bytes.len(),
                            libc::MSG_MORE | libc::MSG_NOSIGNAL,
                        )
                    };
                    usize::try_from(n).map_err(|_| io::Error::last_os_error())
                })
                .await?;
            if sent == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[sent..];
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset`. A file that ends sooner (it changed
    /// during the restore) is `UnexpectedEof`; a failure to read the file is
    /// [`FileOrSocket::File`], anything else the connection's.
    pub async fn send_file(
        &self,
        file: &File,
        offset: u64,
        len: usize,
    ) -> Result<(), FileOrSocket> {
        let mut position = libc::off_t::try_from(offset)
            .map_err(|_| FileOrSocket::File(io::ErrorKind::InvalidInput.into()))?;
        let mut left = len;
        while left > 0 {
            let sent = self
                .when_writable(|fd| {
                    // SAFETY: valid descriptors and a valid offset pointer; the kernel
                    // reads the file from `position` and advances it.
                    let n = unsafe { libc::sendfile(fd, file.as_raw_fd(), &mut position, left) };
                    usize::try_from(n).map_err(|_| io::Error::last_os_error())
                })
                .await
                .map_err(|e| match e.raw_os_error() {
                    // Errors of the file's side: its disk, or a file sendfile cannot map.
                    Some(libc::EIO | libc::EINVAL | libc::EOVERFLOW) => FileOrSocket::File(e),
                    _ => FileOrSocket::Socket(e),
                })?;
            if sent == 0 {
                return Err(FileOrSocket::File(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter during the restore",
                )));
            }
            left -= sent;
        }
        Ok(())
    }

    /// Runs `op` on the socket once it can take bytes, again after each "would block".
    async fn when_writable(
        &self,
        mut op: impl FnMut(i32) -> io::Result<usize>,
    ) -> io::Result<usize> {
        loop {
            let mut ready = self.socket.writable().await?;
            match ready.try_io(|socket| op(socket.get_ref().as_raw_fd())) {
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(result) => return result,
                Err(_would_block) => {}
            }
        }
    }
}

/// Which side of a zero-copy send failed.
#[derive(Debug)]
pub enum FileOrSocket {
    File(io::Error),
    Socket(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_file_leaves_whole_behind_its_header_and_a_short_file_is_told() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let (mut phone, ours) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            phone.read_to_end(&mut got).unwrap();
            got
        });
        runtime.block_on(async {
            let pipe = ZeroCopyPipe::new(OwnedFd::from(ours)).unwrap();
            let file = File::open(&path).unwrap();
            pipe.send_header(b"HEAD").await.unwrap();
            // Far more than a socket buffer holds: the sends wait for the reader.
            pipe.send_file(&file, 1000, data.len() - 1000)
                .await
                .unwrap();
            match pipe.send_file(&file, data.len() as u64 - 10, 20).await {
                Err(FileOrSocket::File(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
                other => panic!("a short file was not told: {other:?}"),
            }
        });
        let got = reader.join().unwrap();
        assert_eq!(&got[..4], b"HEAD");
        assert_eq!(&got[4..data.len() + 4 - 1000], &data[1000..]);
        assert_eq!(&got[data.len() + 4 - 1000..], &data[data.len() - 10..]);
    }
}
