//! Where the adb server is, and starting it when nothing listens there.
//!
//! The server listens on 127.0.0.1 at `ANDROID_ADB_SERVER_PORT` (5037 by default). When
//! nothing answers and an `adb` program is at hand, Plugback runs `adb start-server`
//! with the same port, as adb itself would.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::smart_socket::SmartSocket;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// adb's own default port.
pub const DEFAULT_PORT: u16 = 5037;
/// How long one reply from the server may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `adb start-server` forks the server and waits for it; generous, as a first start
/// also generates the host key.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How to reach (and if needed start) the adb server.
#[derive(Clone, Debug)]
pub struct AdbServer {
    port: u16,
    adb_path: Option<PathBuf>,
    /// Where to look for `adb` when no path is configured; None = this process's PATH.
    search_path: Option<OsString>,
    /// Extra environment for `adb start-server` (a private HOME, ADB_USB=0 …).
    start_env: Vec<(OsString, OsString)>,
    timeout: Duration,
}

impl AdbServer {
    /// The server on `port`, found with the default settings.
    pub fn new(port: u16) -> AdbServer {
        AdbServer {
            port,
            adb_path: None,
            search_path: None,
            start_env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The server adb itself would use: `ANDROID_ADB_SERVER_PORT`, else 5037.
    pub fn from_env() -> AdbServer {
        AdbServer::new(port_from(
            std::env::var("ANDROID_ADB_SERVER_PORT").ok().as_deref(),
        ))
    }

    /// Uses this adb program instead of the one on the PATH.
    pub fn with_adb_path(mut self, adb: impl Into<PathBuf>) -> AdbServer {
        self.adb_path = Some(adb.into());
        self
    }

    /// Looks for `adb` in these directories (PATH syntax) instead of this process's PATH.
    pub fn with_search_path(mut self, path: impl Into<OsString>) -> AdbServer {
        self.search_path = Some(path.into());
        self
    }

    /// Sets a variable for `adb start-server`.
    pub fn with_start_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.start_env.push((key.into(), value.into()));
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> AdbServer {
        self.timeout = timeout;
        self
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A connection to the running server, without starting one.
    pub fn connect(&self, cancel: &CancelToken) -> Result<SmartSocket, DeviceError> {
        SmartSocket::connect(self.address(), self.timeout, cancel)
    }

    /// The server's protocol version (`host:version`); starts the server first when
    /// nothing listens and an adb program is available.
    pub fn ensure_running(&self, cancel: &CancelToken) -> Result<u32, DeviceError> {
        match self.version(cancel) {
            Err(DeviceError::Io(e)) if e.kind() == ErrorKind::ConnectionRefused => {
                self.start(cancel)?;
                self.version(cancel)
            }
            other => other,
        }
    }

    /// `host:version`: a hex number (41 for adb 29 and later versions of the protocol).
    pub fn version(&self, cancel: &CancelToken) -> Result<u32, DeviceError> {
        let mut socket = self.connect(cancel)?;
        let body = socket.query("host:version")?;
        u32::from_str_radix(body.trim(), 16)
            .map_err(|_| socket.protocol(format!("host:version answered {body:?}")))
    }

    /// Runs `adb start-server` aimed at this port and waits for it to answer.
    pub fn start(&self, cancel: &CancelToken) -> Result<(), DeviceError> {
        let adb = self.find_adb().ok_or_else(|| DeviceError::AdbUnavailable {
            detail: format!(
                "nothing listens on {} and no adb program was found{}",
                self.address(),
                match &self.adb_path {
                    Some(path) => format!(" at {}", path.display()),
                    None => " on the PATH".into(),
                }
            ),
        })?;
        let mut command = Command::new(&adb);
        command
            .arg("start-server")
            .env("ANDROID_ADB_SERVER_PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in &self.start_env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| DeviceError::AdbUnavailable {
            detail: format!("cannot run {}: {e}", adb.display()),
        })?;
        let end = Instant::now() + START_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if cancel.is_cancelled() || Instant::now() >= end {
                // Only our own child, by its handle.
                let _ = child.kill();
                let _ = child.wait();
                if cancel.is_cancelled() {
                    return Err(DeviceError::Cancelled);
                }
                return Err(DeviceError::Timeout {
                    what: format!("{} start-server", adb.display()),
                    after: START_DEADLINE,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if !status.success() {
            let mut message = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                use std::io::Read;
                let _ = stderr.read_to_string(&mut message);
            }
            return Err(DeviceError::AdbUnavailable {
                detail: format!(
                    "{} start-server failed ({status}): {}",
                    adb.display(),
                    message.trim()
                ),
            });
        }
        Ok(())
    }

    /// The configured adb if it exists, else the first `adb` on the search path.
    fn find_adb(&self) -> Option<PathBuf> {
        if let Some(path) = &self.adb_path {
            return path.is_file().then(|| path.clone());
        }
        let search = self
            .search_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))?;
        crate::program::find_program(adb_file_name(), Some(&search), &[])
    }
}

fn adb_file_name() -> &'static str {
    if cfg!(windows) { "adb.exe" } else { "adb" }
}

/// `ANDROID_ADB_SERVER_PORT`'s value as adb reads it: a port number, else the default.
pub fn port_from(value: Option<&str>) -> u16 {
    value
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|port| *port != 0)
        .unwrap_or(DEFAULT_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_from_the_environment() {
        assert_eq!(port_from(None), 5037);
        assert_eq!(port_from(Some("15037")), 15037);
        assert_eq!(port_from(Some(" 6000 ")), 6000);
        assert_eq!(port_from(Some("0")), 5037);
        assert_eq!(port_from(Some("not a port")), 5037);
        assert_eq!(port_from(Some("70000")), 5037);
    }

    #[test]
    fn no_adb_anywhere_is_adb_unavailable() {
        let dir = std::env::temp_dir().join("plugback-no-such-dir-for-adb");
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let server = AdbServer::new(free).with_search_path(dir.as_os_str());
        match server.ensure_running(&CancelToken::new()) {
            Err(DeviceError::AdbUnavailable { detail }) => assert!(detail.contains("PATH")),
            other => panic!("{other:?}"),
        }
    }
}
