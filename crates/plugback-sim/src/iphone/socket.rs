//! The sockets of the simulated usbmuxd: TCP or Unix, behind one type, and the set of open
//! sockets that an unplug (or stopping the simulator) shuts down at once.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[cfg(unix)]
use std::os::unix::net::UnixStream;

/// One accepted usbmuxd connection; after a `Connect` it is the pipe to a device port.
#[derive(Debug)]
pub enum MuxStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl MuxStream {
    pub fn try_clone(&self) -> io::Result<MuxStream> {
        Ok(match self {
            MuxStream::Tcp(s) => MuxStream::Tcp(s.try_clone()?),
            #[cfg(unix)]
            MuxStream::Unix(s) => MuxStream::Unix(s.try_clone()?),
        })
    }

    /// Closes both directions: a thread blocked reading it wakes with end of stream.
    pub fn shutdown(&self) {
        let _ = match self {
            MuxStream::Tcp(s) => s.shutdown(Shutdown::Both),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MuxStream::Tcp(s) => s.set_read_timeout(timeout),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            MuxStream::Tcp(s) => s.set_write_timeout(timeout),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match self {
            MuxStream::Tcp(s) => s.set_nonblocking(nonblocking),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.set_nonblocking(nonblocking),
        }
    }
}

impl Read for MuxStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MuxStream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for MuxStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MuxStream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MuxStream::Tcp(s) => s.flush(),
            #[cfg(unix)]
            MuxStream::Unix(s) => s.flush(),
        }
    }
}

/// Open sockets, each held as a clone so that another thread can shut it down.
#[derive(Debug, Default)]
pub struct SocketSet {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, MuxStream>>,
}

impl SocketSet {
    /// Adds a clone of `stream`; the returned id takes it out again with [`SocketSet::remove`].
    pub fn insert(&self, stream: &MuxStream) -> io::Result<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let clone = stream.try_clone()?;
        self.lock().insert(id, clone);
        Ok(id)
    }

    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Shuts every socket down and forgets them all.
    pub fn shutdown_all(&self) {
        let drained: Vec<MuxStream> = self.lock().drain().map(|(_, s)| s).collect();
        for stream in drained {
            stream.shutdown();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, MuxStream>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}
