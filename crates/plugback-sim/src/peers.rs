//! Test support for checking against real third-party clients: finding a tool (or failing
//! when CI requires it), free ports, and a private adb server per test: its own HOME (so
//! its own adbkey), its own port, and no USB, mDNS or emulator scanning, so tests neither
//! see nor disturb a developer's phones and servers. `adb kill-server` runs when it is
//! dropped. Plugback's own tests and the simulators' tests share it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one adb command may take before the test gives up on it.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// How long a phone may take to show up in a given state.
pub const UP_DEADLINE: Duration = Duration::from_secs(30);

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

/// The shared test fixtures (`../shared/fixtures` beside the workspace). None (with a
/// printed notice) where they are absent; a failure instead when
/// `PLUGBACK_REQUIRE_SHARED=1`, so CI cannot skip the tests that read them.
pub fn shared_fixtures() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if root.join("README.txt").is_file() {
        return Some(root);
    }
    if std::env::var("PLUGBACK_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "PLUGBACK_REQUIRE_SHARED=1 but the shared fixtures are not at {}",
            root.display()
        );
    }
    eprintln!(
        "notice: shared fixtures not found at {}; skipping this test",
        root.display()
    );
    None
}

/// Finds `tool` on the PATH. When it is missing, returns None after a notice, or panics
/// when PLUGBACK_REQUIRE_PEERS=1 so that CI cannot skip silently.
pub fn require_tool(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        if std::env::var("PLUGBACK_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{tool} is required (PLUGBACK_REQUIRE_PEERS=1) but is not on the PATH");
        }
        eprintln!("notice: {tool} is not installed; skipping this test");
    }
    found
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

    /// The adb program this server was started with.
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

    /// A script that runs adb aimed at this server: for clients that start "their" adb
    /// server themselves (adb_client does before every request), so they reach this one
    /// instead of starting a default one on port 5037.
    pub fn wrapper_script(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.home().join("adb-for-this-server.sh");
        let script = format!(
            "#!/bin/sh\nexec env HOME='{}' ANDROID_ADB_SERVER_PORT={} ADB_MDNS=0 ADB_EMU=0 \
             ADB_USB=0 TMPDIR='{}' '{}' \"$@\"\n",
            self.home().display(),
            self.port,
            self.home().display(),
            self.adb.display()
        );
        std::fs::write(&path, script).expect("writing the adb wrapper");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("making the adb wrapper executable");
        path
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

    /// `adb -s SERIAL args…`.
    pub fn on(&self, serial: &str, args: &[&str]) -> Output {
        self.run(&aimed_at(serial, args))
    }

    /// `adb -s SERIAL args…`, started and left running.
    pub fn spawn_on(&self, serial: &str, args: &[&str]) -> Child {
        self.command(&aimed_at(serial, args))
            .spawn()
            .expect("spawning adb")
    }

    /// `adb connect ADDRESS`; the reply is not trusted (it says "failed to authenticate"
    /// for a phone that is merely asking): poll [`AdbServer::state`] instead.
    pub fn connect(&self, address: &str) -> Output {
        self.run(&["connect", address])
    }

    /// `adb connect ADDRESS`, then waits until the phone is up as `device`.
    pub fn attach(&self, address: &str) {
        self.connect(address);
        self.wait_for_state(address, "device", UP_DEADLINE);
    }

    /// The state `adb devices` shows for `serial` (device, offline, unauthorized…), or
    /// None when it is not listed.
    pub fn state(&self, serial: &str) -> Option<String> {
        let listing = text(&self.run(&["devices"]).stdout);
        listing.lines().find_map(|line| {
            let (name, state) = line.split_once('\t')?;
            (name == serial).then(|| state.trim().to_string())
        })
    }

    /// Polls until `serial` is listed in `state`; panics with the last listing after
    /// `deadline`.
    pub fn wait_for_state(&self, serial: &str, state: &str, deadline: Duration) {
        self.wait_until(serial, deadline, |s| s == Some(state), state);
    }

    /// Polls until `accept` holds for the state of `serial` (None = not listed).
    pub fn wait_until(
        &self,
        serial: &str,
        deadline: Duration,
        accept: impl Fn(Option<&str>) -> bool,
        what: &str,
    ) -> Option<String> {
        let end = Instant::now() + deadline;
        loop {
            let state = self.state(serial);
            if accept(state.as_deref()) {
                return state;
            }
            assert!(
                Instant::now() < end,
                "{serial} never became {what}; last seen as {state:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl AdbServer {
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

/// `-s SERIAL` before `args`.
fn aimed_at<'a>(serial: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["-s", serial];
    all.extend_from_slice(args);
    all
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
