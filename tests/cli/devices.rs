//! `plugback devices` with a simulated iPhone (USBMUXD_SOCKET_ADDRESS) and a simulated
//! Android phone behind a private adb server (ANDROID_ADB_SERVER_PORT, own HOME).

use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::ControlCommand;
use plugback_sim::iphone::IphoneConfig;
use plugback_sim::peers::require_tool;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn with_env(cmd: &mut Command, home: &Path, mux: &str, adb_port: u16) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("TMPDIR", home)
        .env("USBMUXD_SOCKET_ADDRESS", mux)
        .env("ANDROID_ADB_SERVER_PORT", adb_port.to_string())
        .env("ADB_MDNS", "0")
        .env("ADB_EMU", "0")
        .env("ADB_USB", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

#[test]
fn devices_json_lists_both_phones_with_identity_battery_and_storage() {
    let Some(adb) = require_tool("adb") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    let mut iphone = IphoneConfig::new(dir.path().join("iphone"));
    iphone.battery_percent = 64;
    iphone.charging = true;
    let iphone = mux.add_iphone(iphone).unwrap();
    let mut android = AndroidConfig::new(dir.path().join("android"));
    android.battery_percent = 41;
    android.temperature_c = 33.5;
    let android = SimAndroid::start(android, "127.0.0.1:0".parse().unwrap()).unwrap();
    let mux_address = mux.address().to_string();
    let adb_port = free_port();
    let run_adb = |args: &[&str]| {
        let mut cmd = Command::new(&adb);
        cmd.args(args);
        with_env(&mut cmd, &home, &mux_address, adb_port);
        cmd.output().unwrap()
    };
    let serial = android.address().to_string();
    run_adb(&["start-server"]);
    run_adb(&["connect", &serial]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&run_adb(&["devices"]).stdout)
        .contains(&format!("{serial}\tdevice"))
    {
        assert!(Instant::now() < deadline, "adb never attached the phone");
        std::thread::sleep(Duration::from_millis(100));
    }
    let plugback = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugback"));
        cmd.args(args);
        with_env(&mut cmd, &home, &mux_address, adb_port);
        cmd.output().unwrap()
    };
    // Trust first, so the iPhone can be read in full.
    let paired = plugback(&["pair", iphone.udid(), "--timeout", "30"]);
    assert_eq!(paired.status.code(), Some(0), "{}", super::printed(&paired));

    let out = plugback(&["devices", "--json"]);
    run_adb(&["kill-server"]);
    assert_eq!(out.status.code(), Some(0), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = doc["devices"].as_array().unwrap();
    let find = |id: &str| {
        devices
            .iter()
            .find(|d| d["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {doc}"))
    };
    let ios = find(iphone.udid());
    assert_eq!(ios["platform"], "ios", "{ios}");
    assert_eq!(ios["state"], "ready", "{ios}");
    assert_eq!(ios["model"], "iPhone 14 Pro", "{ios}");
    assert_eq!(ios["os_version"], "18.1", "{ios}");
    assert_eq!(ios["battery"]["level"], 64, "{ios}");
    assert_eq!(ios["battery"]["charging"], true, "{ios}");
    assert!(ios["storage"]["free_bytes"].as_u64().unwrap() > 0, "{ios}");
    assert_eq!(ios["link"]["speed_mbps"], 480, "{ios}");
    let droid = find(&serial);
    assert_eq!(droid["platform"], "android", "{droid}");
    assert_eq!(droid["state"], "ready", "{droid}");
    assert_eq!(droid["model"], "Pixel 8", "{droid}");
    assert_eq!(droid["os_version"], "14", "{droid}");
    assert_eq!(droid["battery"]["level"], 41, "{droid}");
    assert_eq!(droid["battery"]["temperature_c"], 33.5, "{droid}");
    assert!(
        droid["storage"]["total_bytes"].as_u64().unwrap() > 0,
        "{droid}"
    );
    assert_eq!(doc["unavailable"].as_array().unwrap().len(), 0, "{doc}");
}

#[test]
fn devices_says_what_is_missing_when_no_service_answers() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugback"));
    cmd.args(["devices", "--json"]);
    // Nothing listens on either port, and no adb can be found to start a server.
    with_env(
        &mut cmd,
        &home,
        &format!("127.0.0.1:{}", free_port()),
        free_port(),
    );
    cmd.env("PATH", dir.path());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = doc["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["usbmuxd-unavailable", "adb-unavailable"], "{doc}");
    for entry in doc["unavailable"].as_array().unwrap() {
        assert!(
            entry["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "{entry}"
        );
    }
}

/// Reads a child's standard output a line at a time, each wait bounded.
struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn of(child: &mut std::process::Child) -> Lines {
        use std::io::BufRead;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines(rx)
    }

    /// The first JSON line that `wanted` accepts, skipping the others; panics after 30 s.
    fn until(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .0
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} within 30 s"));
            let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("--watch --json printed a line that is not JSON ({e}): {line}")
            });
            if wanted(&event) {
                return event;
            }
        }
    }
}

#[test]
fn devices_watch_follows_phones_arriving_being_read_and_leaving() {
    let Some(adb) = require_tool("adb") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    let iphone = mux
        .add_iphone(IphoneConfig::new(dir.path().join("iphone")))
        .unwrap();
    let mut android = AndroidConfig::new(dir.path().join("android"));
    android.battery_percent = 77;
    let android = SimAndroid::start(android, "127.0.0.1:0".parse().unwrap()).unwrap();
    let (mux_address, adb_port) = (mux.address().to_string(), free_port());
    let run_adb = |args: &[&str]| {
        let mut cmd = Command::new(&adb);
        cmd.args(args);
        with_env(&mut cmd, &home, &mux_address, adb_port);
        cmd.output().unwrap()
    };
    run_adb(&["start-server"]);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugback"));
    cmd.args(["devices", "--watch", "--json"]);
    with_env(&mut cmd, &home, &mux_address, adb_port);
    let mut child = cmd.spawn().unwrap();
    let lines = Lines::of(&mut child);
    let is = |event: &Value, kind: &str, id: &str| event["event"] == kind && event["id"] == id;

    // Plugged in before the watch began: announced first.
    let udid = iphone.udid().to_owned();
    let first = lines.until("the iPhone's arrival", |e| is(e, "attached", &udid));
    assert_eq!(first["device"]["platform"], "ios", "{first}");
    // Read in full right after: an iPhone that does not trust this computer yet still
    // gives its name and model.
    let read = lines.until("the iPhone's read", |e| is(e, "changed", &udid));
    assert_eq!(read["device"]["model"], "iPhone 14 Pro", "{read}");
    assert_eq!(read["device"]["state"], "not-paired", "{read}");

    // An Android phone arriving while the watch runs.
    let serial = android.address().to_string();
    run_adb(&["connect", &serial]);
    lines.until("the Android phone's arrival", |e| {
        is(e, "attached", &serial)
    });
    let read = lines.until("the Android phone's read", |e| {
        is(e, "changed", &serial) && e["device"]["battery"]["level"] == 77
    });
    assert_eq!(read["device"]["model"], "Pixel 8", "{read}");
    assert_eq!(read["device"]["state"], "ready", "{read}");

    // Both leave.
    iphone.control(ControlCommand::Unplug).unwrap();
    lines.until("the iPhone's departure", |e| is(e, "detached", &udid));
    run_adb(&["disconnect", &serial]);
    lines.until("the Android phone's departure", |e| {
        is(e, "detached", &serial)
    });

    let _ = child.kill();
    let _ = child.wait();
    run_adb(&["kill-server"]);
}
