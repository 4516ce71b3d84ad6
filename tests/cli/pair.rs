//! `plugback pair` against the simulated iPhone, found through USBMUXD_SOCKET_ADDRESS.

use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, TrustMode};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

fn sim() -> (tempfile::TempDir, SimUsbmuxd) {
    let dir = tempfile::tempdir().unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    (dir, mux)
}

fn phone_config(dir: &tempfile::TempDir, name: &str, trust: TrustMode) -> IphoneConfig {
    let mut config = IphoneConfig::new(dir.path().join(name));
    config.trust = trust;
    config
}

/// `plugback pair ARGS` with a private home inside the simulator's folder.
fn pair_cmd(mux: &SimUsbmuxd, args: &[&str]) -> Command {
    let home = mux.state_dir().with_file_name("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugback"));
    cmd.arg("pair")
        .args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("USBMUXD_SOCKET_ADDRESS", mux.address().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn pair_by_udid_prefix_guides_through_the_prompt_and_exits_0() {
    let (dir, mux) = sim();
    let phone = mux
        .add_iphone(phone_config(&dir, "phone", TrustMode::Prompt))
        .unwrap();
    let child = pair_cmd(&mux, &[&phone.udid()[..12], "--timeout", "60"])
        .spawn()
        .unwrap();
    // Answer once the prompt has been asked for.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !phone
        .control(ControlCommand::Status)
        .unwrap()
        .contains("prompt=showing")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    phone
        .control(ControlCommand::Trust(Answer::Accept))
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = super::printed(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("Unlock your iPhone and tap Trust"), "{said}");
    assert!(said.contains("Paired"), "{said}");
    assert!(
        mux.state_dir()
            .join(format!("{}.plist", phone.udid()))
            .is_file()
    );
}

#[test]
fn a_denial_exits_1_with_json_and_an_unknown_phone_exits_2() {
    let (dir, mux) = sim();
    let phone = mux
        .add_iphone(phone_config(&dir, "phone", TrustMode::Deny))
        .unwrap();
    let out = pair_cmd(&mux, &[phone.udid(), "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "trust-denied");
    assert_eq!(doc["state"], "device-trust-denied");
    assert_eq!(doc["device"], phone.udid());

    let out = pair_cmd(&mux, &["FFFF", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", super::printed(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "device-not-found");
}

#[test]
fn an_unanswered_prompt_exits_1_after_the_timeout() {
    let (dir, mux) = sim();
    let phone = mux
        .add_iphone(phone_config(&dir, "phone", TrustMode::Prompt))
        .unwrap();
    let out = pair_cmd(&mux, &[phone.udid(), "--timeout", "2"])
        .output()
        .unwrap();
    let said = super::printed(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("tap Trust"), "{said}");
    assert!(said.contains("did not answer within"), "{said}");
}
