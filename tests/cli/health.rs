//! `plugback health` against the simulated iPhone: a cable the simulator slows down is
//! graded poor with the finding and fix it calls for, in JSON and in words.

use plugback_sim::fault::Fault;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd};
use plugback_sim::peers::free_port;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn plugback(home: &Path, mux: &SimUsbmuxd, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plugback"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("USBMUXD_SOCKET_ADDRESS", mux.address().to_string())
        // No adb server here, and none can be started: only the iPhone is looked at.
        .env("ANDROID_ADB_SERVER_PORT", free_port().to_string())
        .env("PATH", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_slow_cable_is_graded_poor_with_its_finding_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    let mut config = IphoneConfig::new(dir.path().join("phone"));
    config.faults.push(Fault::SlowLink { mb_per_s: 2 });
    let phone = mux.add_iphone(config).unwrap();
    let prefix = &phone.udid()[..12];

    // Not trusted yet: poor, and the finding says to pair.
    let out = plugback(&home, &mux, &["health", prefix, "--json", "--observe", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["grade"], "poor", "{doc}");
    assert_eq!(doc["findings"][0]["code"], "device-not-paired", "{doc}");

    let paired = plugback(&home, &mux, &["pair", prefix, "--timeout", "30"]);
    assert_eq!(paired.status.code(), Some(0), "{}", super::printed(&paired));

    let args = ["health", prefix, "--probe-mb", "2", "--observe", "1"];
    let out = plugback(&home, &mux, &[&args[..], &["--json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["id"], phone.udid(), "{doc}");
    assert_eq!(doc["grade"], "poor", "{doc}");
    let slow = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "health-slow-transfer")
        .unwrap_or_else(|| panic!("no slow-transfer finding: {doc}"));
    assert_eq!(slow["severity"], "problem", "{doc}");
    assert!(
        slow["fix"].as_str().unwrap().contains("another cable"),
        "{doc}"
    );
    let figures = &doc["figures"];
    assert_eq!(figures["link"]["speed_mbps"], 480, "{doc}");
    assert_eq!(figures["latency_ms"]["samples"], 50, "{doc}");
    assert_eq!(figures["throughput"]["payload_bytes"], 2_000_000, "{doc}");
    assert_eq!(figures["throughput"]["intact"], true, "{doc}");
    assert_eq!(figures["throughput"]["cleaned_up"], true, "{doc}");
    assert!(
        figures["throughput"]["write_mb_per_s"].as_f64().unwrap() < 5.0,
        "{doc}"
    );
    assert_eq!(figures["flapping"]["detaches"], 0, "{doc}");
    assert_eq!(
        figures["transport_errors"].as_array().unwrap().len(),
        0,
        "{doc}"
    );

    // In words: the grade, the figures, the finding and its fix.
    let out = plugback(&home, &mux, &args);
    assert_eq!(out.status.code(), Some(1), "{}", super::printed(&out));
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.contains("connection POOR"), "{words}");
    assert!(words.contains("problem: Transfers are slow"), "{words}");
    assert!(words.contains("Fix: Try another cable"), "{words}");
}

#[test]
fn an_unknown_phone_cannot_be_checked() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    let out = plugback(&home, &mux, &["health", "nosuchphone", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "device-not-found", "{doc}");
}
