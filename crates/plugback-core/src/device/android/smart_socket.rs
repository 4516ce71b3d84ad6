//! The adb server's smart-socket protocol: a request is `<4 hex digits: length><service>`,
//! the answer `OKAY`, or `FAIL<4 hex digits><message>`; host queries then send one
//! `<4 hex><body>` block. After `host:transport:<serial>` the same socket carries one
//! device service (`shell…:`, `exec:`).
//!
//! Every read has a deadline and looks at the cancel token between short slices, so a
//! server or phone that goes quiet ends in [`DeviceError::Timeout`], never in a hang.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How often a blocked read wakes up to look at the cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(100);
/// Services are short; the server refuses longer requests anyway.
const MAX_REQUEST: usize = 0xffff;

/// One connection to the adb server.
pub struct SmartSocket {
    stream: TcpStream,
    peer: String,
    timeout: Duration,
    cancel: CancelToken,
}

impl SmartSocket {
    /// Connects to the server at `address`; `timeout` bounds the connect and every
    /// later read.
    pub fn connect(
        address: SocketAddr,
        timeout: Duration,
        cancel: &CancelToken,
    ) -> Result<SmartSocket, DeviceError> {
        let peer = format!("the adb server at {address}");
        let stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| match e.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => DeviceError::Timeout {
                what: peer.clone(),
                after: timeout,
            },
            _ => DeviceError::Io(e),
        })?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(SmartSocket {
            stream,
            peer,
            timeout,
            cancel: cancel.clone(),
        })
    }

    /// Who is on the other end, for error messages.
    /// The connection itself, once a service is open on it, for a caller that streams
    /// with its own timing (an `.ab` restore writes in short polled steps).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// Sends one request and reads its OKAY; FAIL becomes [`DeviceError::Refused`] with
    /// the server's message.
    pub fn request(&mut self, service: &str) -> Result<(), DeviceError> {
        if service.len() > MAX_REQUEST {
            return Err(DeviceError::Protocol {
                peer: self.peer.clone(),
                detail: format!("request of {} bytes is too long", service.len()),
            });
        }
        let framed = format!("{:04x}{service}", service.len());
        self.stream.write_all(framed.as_bytes())?;
        self.read_status()
    }

    /// Reads `OKAY` or `FAIL<hex4><message>`.
    pub fn read_status(&mut self) -> Result<(), DeviceError> {
        let mut status = [0u8; 4];
        self.read_exact(&mut status)?;
        match &status {
            b"OKAY" => Ok(()),
            b"FAIL" => {
                let message = self.read_block()?;
                Err(DeviceError::Refused { detail: message })
            }
            other => Err(self.protocol(format!(
                "expected OKAY or FAIL, got {:?}",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Reads one `<hex4><body>` block. The length has four hex digits, so a hostile
    /// server can announce at most 64 KiB.
    pub fn read_block(&mut self) -> Result<String, DeviceError> {
        let length = self.read_hex_length()?;
        let mut body = vec![0u8; length];
        self.read_exact(&mut body)?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Sends a host query and returns its block (`host:version`, `host:devices-l`,
    /// `host-serial:<serial>:features` …).
    pub fn query(&mut self, service: &str) -> Result<String, DeviceError> {
        self.request(service)?;
        self.read_block()
    }

    /// Waits up to `wait` for the next byte to arrive without consuming it: true when one
    /// is there, false when the wait ended first. The end of the stream is an error.
    pub fn wait_readable(&mut self, wait: Duration) -> Result<bool, DeviceError> {
        let mut probe = [0u8; 1];
        match self.until(Instant::now() + wait, |stream| stream.peek(&mut probe))? {
            None => Ok(false),
            Some(0) => Err(self.closed()),
            Some(_) => Ok(true),
        }
    }

    fn read_hex_length(&mut self) -> Result<usize, DeviceError> {
        let mut digits = [0u8; 4];
        self.read_exact(&mut digits)?;
        std::str::from_utf8(&digits)
            .ok()
            .and_then(|text| usize::from_str_radix(text, 16).ok())
            .ok_or_else(|| {
                self.protocol(format!(
                    "expected a 4-digit hex length, got {:?}",
                    String::from_utf8_lossy(&digits)
                ))
            })
    }

    /// Fills `buf`, or fails with Timeout once the deadline passes without it filling.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), DeviceError> {
        let end = Instant::now() + self.timeout;
        let mut filled = 0;
        while filled < buf.len() {
            match self.until(end, |stream| stream.read(&mut buf[filled..]))? {
                None => return Err(self.timed_out()),
                Some(0) => return Err(self.closed()),
                Some(n) => filled += n,
            }
        }
        Ok(())
    }

    /// Reads what is there: Ok(0) at the end of the stream, Timeout after a silence as
    /// long as the timeout.
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let end = Instant::now() + self.timeout;
        self.until(end, |stream| stream.read(buf))?
            .ok_or_else(|| self.timed_out())
    }

    /// Runs `io` on the socket until it succeeds (Some) or `end` passes (None), waking at
    /// least every [`CANCEL_POLL`] so a cancel is seen without waiting for the peer.
    fn until<T>(
        &mut self,
        end: Instant,
        mut io: impl FnMut(&mut TcpStream) -> std::io::Result<T>,
    ) -> Result<Option<T>, DeviceError> {
        loop {
            self.check_cancel()?;
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream.set_read_timeout(Some(left.min(CANCEL_POLL)))?;
            match io(&mut self.stream) {
                Ok(value) => return Ok(Some(value)),
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn timed_out(&self) -> DeviceError {
        DeviceError::Timeout {
            what: self.peer.clone(),
            after: self.timeout,
        }
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        self.stream.write_all(bytes).map_err(DeviceError::Io)
    }

    fn check_cancel(&self) -> Result<(), DeviceError> {
        if self.cancel.is_cancelled() {
            return Err(DeviceError::Cancelled);
        }
        Ok(())
    }

    fn closed(&self) -> DeviceError {
        self.protocol("the connection closed in the middle of a reply".into())
    }

    pub fn protocol(&self, detail: String) -> DeviceError {
        DeviceError::Protocol {
            peer: self.peer.clone(),
            detail,
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that answers every connection with `reply` and then waits.
    fn fake_server(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut socket, _)) = listener.accept() {
                let mut request = [0u8; 16];
                let _ = socket.read(&mut request);
                let _ = socket.write_all(reply);
                std::thread::sleep(Duration::from_secs(3));
            }
        });
        address
    }

    fn socket(address: SocketAddr) -> SmartSocket {
        SmartSocket::connect(address, Duration::from_secs(1), &CancelToken::new()).unwrap()
    }

    #[test]
    fn okay_then_block() {
        let mut s = socket(fake_server(b"OKAY0004002a"));
        assert_eq!(s.query("host:version").unwrap(), "002a");
    }

    #[test]
    fn fail_carries_the_message() {
        let mut s = socket(fake_server(b"FAIL0010device not found"));
        match s.request("host:transport:x") {
            Err(DeviceError::Refused { detail }) => assert_eq!(detail, "device not found"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_status_and_length_are_protocol_errors() {
        let mut s = socket(fake_server(b"HTTP/1.1 400"));
        assert!(matches!(
            s.request("host:version"),
            Err(DeviceError::Protocol { .. })
        ));
        let mut s = socket(fake_server(b"OKAYzz12"));
        assert!(matches!(
            s.query("host:version"),
            Err(DeviceError::Protocol { .. })
        ));
    }

    #[test]
    fn a_short_block_times_out() {
        let mut s = socket(fake_server(b"OKAY0100abc"));
        assert!(matches!(
            s.query("host:version"),
            Err(DeviceError::Timeout { .. })
        ));
    }

    #[test]
    fn cancel_ends_a_wait() {
        let address = fake_server(b"");
        let cancel = CancelToken::new();
        let mut s = SmartSocket::connect(address, Duration::from_secs(30), &cancel).unwrap();
        cancel.cancel();
        assert!(matches!(
            s.request("host:version"),
            Err(DeviceError::Cancelled)
        ));
    }
}
