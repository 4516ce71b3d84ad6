//! A private adb server for a test-restore and for demo mode: Plugback reaches Android
//! phones only through an adb server, so the simulated phone gets one of its own, on a
//! free port, with a HOME of its own (its adb key never touches the person's), without
//! USB, mDNS or emulator scanning (it never sees, nor takes over, a real phone). It is
//! told to quit when the guard is dropped, on every path.

use plugback_core::cancel::CancelToken;
use plugback_core::device::DeviceError;
use plugback_core::device::android::{AdbServer, track};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the phone may take to show up as ready after `adb connect`.
const ATTACH_DEADLINE: Duration = Duration::from_secs(30);
/// How long the server may take to go away once told to quit.
const QUIT_DEADLINE: Duration = Duration::from_secs(5);
/// How long one answer from the server may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// The adb program, found where the device layer finds it when it starts a server: the
/// first `adb` on the PATH. Err says where it looked.
pub(crate) fn find_adb() -> Result<PathBuf, String> {
    let name = if cfg!(windows) { "adb.exe" } else { "adb" };
    plugback_core::program::find_program(name, std::env::var_os("PATH").as_deref(), &[])
        .ok_or_else(|| format!("no {name} program on the PATH"))
}

/// A running private adb server; dropping it stops the server.
pub(crate) struct PrivateAdb {
    server: AdbServer,
    /// The server's HOME (its `.android/adbkey`) and TMPDIR (its log), removed after it.
    _home: tempfile::TempDir,
}

impl PrivateAdb {
    /// Starts `adb` as a server on a free port and waits (bounded) until it answers.
    pub(crate) fn start(adb: &Path, cancel: &CancelToken) -> Result<PrivateAdb, DeviceError> {
        let home = tempfile::tempdir()?;
        let port = free_port()?;
        let server = AdbServer::new(port)
            .with_adb_path(adb)
            .with_timeout(REPLY_TIMEOUT)
            .with_start_env("HOME", home.path())
            // Newer adb versions take their folder from here when it is set.
            .with_start_env("ANDROID_USER_HOME", home.path().join(".android"))
            .with_start_env("TMPDIR", home.path())
            .with_start_env("ADB_USB", "0")
            .with_start_env("ADB_MDNS", "0")
            .with_start_env("ADB_EMU", "0");
        // The guard exists before the server does, so a failure half-way still stops it.
        let guard = PrivateAdb {
            server,
            _home: home,
        };
        guard.server.start(cancel)?;
        guard.server.version(cancel)?;
        Ok(guard)
    }

    pub(crate) fn server(&self) -> &AdbServer {
        &self.server
    }

    /// `adb connect ADDRESS`, then waits until the server lists the phone as ready. The
    /// connect reply is not trusted (adb says "failed to authenticate" for a phone that is
    /// still deciding); the device list is.
    pub(crate) fn attach(&self, address: &str, cancel: &CancelToken) -> Result<(), DeviceError> {
        let said = self
            .server
            .connect(cancel)?
            .query(&format!("host:connect:{address}"))?;
        let deadline = Instant::now() + ATTACH_DEADLINE;
        let mut last_state = None;
        loop {
            if cancel.is_cancelled() {
                return Err(DeviceError::Cancelled);
            }
            let listing = self.server.connect(cancel)?.query("host:devices")?;
            let state = track::parse_device_list(&listing)
                .into_iter()
                .find(|device| device.serial == address)
                .map(|device| device.raw_state);
            if state.as_deref() == Some("device") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DeviceError::Timeout {
                    what: format!(
                        "the simulated phone at {address} (adb said {:?}; last listed as {})",
                        said.trim(),
                        state.or(last_state).as_deref().unwrap_or("absent")
                    ),
                    after: ATTACH_DEADLINE,
                });
            }
            last_state = state;
            std::thread::sleep(POLL);
        }
    }

    /// Asks the server to quit (`host:kill`) and waits, bounded, until nothing answers on
    /// its port. A server that never started is simply not there.
    fn quit(&self) {
        // A fresh token: the run's own may be cancelled, and the server must go anyway.
        let cancel = CancelToken::new();
        let Ok(mut socket) = self.server.connect(&cancel) else {
            return;
        };
        if socket.request("host:kill").is_err() {
            return;
        }
        let deadline = Instant::now() + QUIT_DEADLINE;
        while Instant::now() < deadline && self.server.version(&cancel).is_ok() {
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for PrivateAdb {
    fn drop(&mut self) {
        self.quit();
    }
}

/// A loopback port nobody listens on right now (bound, read and released).
pub(crate) fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
