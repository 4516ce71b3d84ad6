//! The simulated Android phone against `adb_client`, the crate Plugback uses for the adb
//! basics, in both its modes: through Android's adb server, and straight to the phone over
//! TCP (where it speaks the oldest protocol version and verifies every checksum). The
//! checks are the ones the adb command line passes: identity and battery, byte-identical
//! push and pull, an install, the "Allow USB debugging?" prompt, and a pulled cable.

use adb_client::ADBDeviceExt;
use adb_client::server::{ADBServer, DeviceState};
use adb_client::tcp::ADBTcpDevice;
use plugback_sim::android::{AndroidConfig, AuthMode, SimAndroid, text_manifest_apk};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::peers::AdbServer;
use std::net::SocketAddrV4;
use std::path::Path;
use std::time::{Duration, Instant};

fn phone(change: impl FnOnce(&mut AndroidConfig)) -> (tempfile::TempDir, SimAndroid) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.model = "Pixel Client".into();
    config.battery_percent = 57;
    config.temperature_c = 36.6;
    change(&mut config);
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    (dir, sim)
}

/// Content that is not all one byte, so that a shifted or repeated chunk shows.
fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn shell(device: &mut dyn ADBDeviceExt, command: &str) -> String {
    let mut out = Vec::new();
    device
        .shell_command(&command, Some(&mut out), None)
        .unwrap_or_else(|e| panic!("{command}: {e}"));
    String::from_utf8_lossy(&out).into_owned()
}

/// What every mode must do with an attached, authorised phone.
fn the_basics(device: &mut dyn ADBDeviceExt, data_dir: &Path, mode: &str) {
    assert_eq!(
        shell(device, "getprop ro.product.model").trim(),
        "Pixel Client"
    );
    let battery = shell(device, "dumpsys battery");
    assert!(battery.contains("  level: 57\n"), "{mode}: {battery}");
    assert!(
        battery.contains("  temperature: 366\n"),
        "{mode}: {battery}"
    );

    // 0 bytes, one byte, a sync chunk and one more, and a few WRTE packets' worth.
    for (i, len) in [0usize, 1, 65_537, 700_001].into_iter().enumerate() {
        let bytes = content(len, i as u32 + 1);
        let remote = format!("/sdcard/Download/{mode}-{i}.bin");
        device
            .push(&mut bytes.as_slice(), &remote)
            .unwrap_or_else(|e| panic!("{mode} push {len}: {e}"));
        let on_phone = std::fs::read(data_dir.join(format!("sdcard/Download/{mode}-{i}.bin")));
        assert_eq!(
            on_phone.ok().as_deref(),
            Some(bytes.as_slice()),
            "{mode} push {len}"
        );
        let mut back = Vec::new();
        device
            .pull(&remote, &mut back)
            .unwrap_or_else(|e| panic!("{mode} pull {len}: {e}"));
        assert!(
            back == bytes,
            "{mode}: pull of {len} bytes came back different"
        );
    }
    let stat = device
        .stat(&format!("/sdcard/Download/{mode}-2.bin"))
        .unwrap();
    assert_eq!(stat.file_size, 65_537, "{mode}");

    let package = format!("org.plugback.client.{mode}");
    let apk_dir = tempfile::tempdir().unwrap();
    let apk_path = apk_dir.path().join("test.apk");
    std::fs::write(&apk_path, text_manifest_apk(&package)).unwrap();
    device
        .install(&apk_path, None)
        .unwrap_or_else(|e| panic!("{mode} install: {e}"));
    let packages = shell(device, "pm list packages");
    assert!(
        packages.lines().any(|l| l == format!("package:{package}")),
        "{mode}: {packages}"
    );
}

fn server_client(adb: &AdbServer) -> ADBServer {
    let address = SocketAddrV4::new([127, 0, 0, 1].into(), adb.port());
    let wrapper = adb.wrapper_script().to_string_lossy().into_owned();
    ADBServer::new_from_path(address, Some(wrapper))
}

fn server_state(server: &mut ADBServer, serial: &str) -> Option<DeviceState> {
    server
        .devices()
        .unwrap()
        .into_iter()
        .find(|d| d.identifier == serial)
        .map(|d| d.state)
}

fn wait_for(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !check() {
        assert!(Instant::now() < end, "never saw {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn adb_client_through_the_adb_server_does_the_basics() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim) = phone(|_| {});
    let serial = sim.address().to_string();
    let mut server = server_client(&adb);
    server
        .connect_device(match sim.address() {
            std::net::SocketAddr::V4(v4) => v4,
            other => panic!("loopback v4 expected, got {other}"),
        })
        .unwrap();
    wait_for("the phone as device", Duration::from_secs(30), || {
        server_state(&mut server, &serial) == Some(DeviceState::Device)
    });
    let mut device = server.get_device_by_name(&serial).unwrap();
    the_basics(&mut device, dir.path(), "server");
}

#[test]
fn adb_client_through_the_adb_server_sees_the_prompt_and_the_pulled_cable() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_dir, sim) = phone(|c| c.auth = AuthMode::Prompt);
    let serial = sim.address().to_string();
    adb.connect(&serial);
    let mut server = server_client(&adb);
    wait_for("the phone as unauthorized", Duration::from_secs(30), || {
        server_state(&mut server, &serial) == Some(DeviceState::Unauthorized)
    });
    sim.control(ControlCommand::Auth(Answer::Accept)).unwrap();
    wait_for("the phone as device", Duration::from_secs(30), || {
        server_state(&mut server, &serial) == Some(DeviceState::Device)
    });
    sim.control(ControlCommand::Unplug).unwrap();
    wait_for(
        "the phone gone from device",
        Duration::from_secs(30),
        || server_state(&mut server, &serial) != Some(DeviceState::Device),
    );
}

#[test]
fn adb_client_straight_to_the_phone_does_the_basics() {
    let (dir, sim) = phone(|_| {});
    let key_dir = tempfile::tempdir().unwrap();
    // No key file: adb_client signs with a key of the moment, which an auth-free phone
    // does not ask for.
    let mut device =
        ADBTcpDevice::new_with_custom_private_key(sim.address(), key_dir.path().join("adbkey"))
            .unwrap();
    the_basics(&mut device, dir.path(), "direct");
}

#[test]
fn adb_client_straight_to_the_phone_waits_for_the_prompt_and_sees_the_pulled_cable() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    // The adb server made a real key pair in its HOME; adb_client signs with it.
    let key = adb.home().join(".android/adbkey");
    assert!(key.is_file(), "adb start-server makes the host key");
    let (_dir, sim) = phone(|c| c.auth = AuthMode::Prompt);
    let address = sim.address();
    let connecting = {
        let key = key.clone();
        std::thread::spawn(move || ADBTcpDevice::new_with_custom_private_key(address, key))
    };
    // adb_client waits 10 s for the answer after offering its key.
    wait_for("the prompt on the phone", Duration::from_secs(8), || {
        sim.control(ControlCommand::Status)
            .is_ok_and(|status| status.contains("auth_prompt=true"))
    });
    sim.control(ControlCommand::Auth(Answer::Accept)).unwrap();
    let mut device = connecting
        .join()
        .unwrap()
        .expect("accepted after the prompt");
    assert_eq!(
        shell(&mut device, "getprop ro.product.model").trim(),
        "Pixel Client"
    );
    drop(device);

    // The key is remembered: no prompt the second time.
    let mut again = ADBTcpDevice::new_with_custom_private_key(address, &key).unwrap();
    assert_eq!(shell(&mut again, "echo again").trim(), "again");

    sim.control(ControlCommand::Unplug).unwrap();
    let mut out = Vec::new();
    assert!(
        again
            .shell_command(&"echo gone", Some(&mut out), None)
            .is_err(),
        "a command after the cable is pulled must fail, got {:?}",
        String::from_utf8_lossy(&out)
    );
}
