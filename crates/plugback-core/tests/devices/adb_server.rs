//! A private adb server per test: its own HOME (so its own adbkey), its own port, and no
//! USB, mDNS or emulator scanning, so tests neither see nor disturb a developer's phones
//! and servers. `adb kill-server` runs when it is dropped.

use crate::common::require_tool;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one adb command may take before the test gives up on it.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// Where the server keeps its key: a temporary HOME, or one the test owns.
enum Home {
    Owned(tempfile::TempDir),
    Given(PathBuf),
}

pub struct AdbServer {
    adb: PathBuf,
    home: Home,
    port: u16,
}

/// A port nobody listens on right now (bound, read and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl AdbServer {
    /// Starts a server with a fresh HOME; None (after a notice) when adb is not installed.
    pub fn start() -> Option<AdbServer> {
        let home = Home::Owned(tempfile::tempdir().expect("a temporary HOME"));
        Self::start_in(home, free_port())
    }

    /// Starts a server whose HOME is `home` (where `.android/adbkey` may already be).
    pub fn start_with_home(home: &Path, port: u16) -> Option<AdbServer> {
        Self::start_in(Home::Given(home.to_path_buf()), port)
    }

    fn start_in(home: Home, port: u16) -> Option<AdbServer> {
        let adb = require_tool("adb")?;
        let server = AdbServer { adb, home, port };
        let started = server.run(&["start-server"]);
        assert!(
            started.status.success(),
            "adb start-server failed: {}",
            text(&started.stderr)
        );
        Some(server)
    }

    pub fn adb(&self) -> &Path {
        &self.adb
    }

    /// The HOME of this server: `.android/adbkey` lives here.
    pub fn home(&self) -> &Path {
        match &self.home {
            Home::Owned(dir) => dir.path(),
            Home::Given(path) => path,
        }
    }

    /// The port this server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// An adb command aimed at this server.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.adb);
        command
            .args(args)
            .env("HOME", self.home())
            .env("ANDROID_ADB_SERVER_PORT", self.port.to_string())
            .env("ADB_MDNS", "0")
            .env("ADB_EMU", "0")
            .env("ADB_USB", "0")
            .env("TMPDIR", self.home())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `adb args…` to the end (killed after [`COMMAND_DEADLINE`]).
    pub fn run(&self, args: &[&str]) -> Output {
        let child = self.command(args).spawn().expect("spawning adb");
        wait_with_deadline(child, COMMAND_DEADLINE)
    }

    /// `adb connect ADDRESS`; the reply is not trusted (it says "failed to authenticate"
    /// for a phone that is merely asking): watch the state instead.
    pub fn connect(&self, address: &str) -> Output {
        self.run(&["connect", address])
    }

    /// Stops the server now (it is also stopped on drop).
    pub fn kill(&self) {
        let _ = self.run(&["kill-server"]);
    }
}

impl Drop for AdbServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for a child, killing it after `deadline`; its output either way.
pub fn wait_with_deadline(mut child: Child, deadline: Duration) -> Output {
    let end = Instant::now() + deadline;
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for adb") {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("adb took longer than {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}
