//! The simulated Android phone's adbd core against Android's own adb (server and client):
//! the handshake, AUTH with the "Allow USB debugging?" prompt, shell v2 exit codes, the
//! telemetry commands, streamed installs, a pulled cable and garbage on the wire. One
//! check drives the phone directly with the `adb_client` crate, which speaks the oldest
//! protocol version and verifies checksums.

use plugback_sim::android::{AndroidConfig, AuthMode, SimAndroid, text_manifest_apk};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::peers::{AdbServer, UP_DEADLINE, text};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn start_phone(change: impl FnOnce(&mut AndroidConfig)) -> (tempfile::TempDir, SimAndroid) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    change(&mut config);
    let sim = SimAndroid::start(config, loopback()).unwrap();
    let port = sim.address().port();
    assert!(
        !(5554..=5585).contains(&port),
        "port {port} is in adb's emulator range"
    );
    (dir, sim)
}

/// A phone attached to a private adb server, up as `device`.
fn attached(
    change: impl FnOnce(&mut AndroidConfig),
) -> Option<(tempfile::TempDir, SimAndroid, AdbServer, String)> {
    let adb = AdbServer::start()?;
    let (dir, sim) = start_phone(change);
    let serial = sim.address().to_string();
    adb.attach(&serial);
    Some((dir, sim, adb, serial))
}

#[test]
fn adb_shell_shows_the_configured_phone() {
    let Some((_dir, _sim, adb, serial)) = attached(|c| {
        c.model = "Plugback Test 7".into();
        c.battery_percent = 42;
        c.charging = true;
        c.temperature_c = 36.6;
        c.android_version = "13".into();
        c.sdk = 33;
    }) else {
        return;
    };
    let model = adb.on(&serial, &["shell", "getprop", "ro.product.model"]);
    assert!(model.status.success());
    assert_eq!(text(&model.stdout), "Plugback Test 7\n");
    let sdk = adb.on(&serial, &["shell", "getprop ro.build.version.sdk"]);
    assert_eq!(text(&sdk.stdout), "33\n");

    let battery = text(&adb.on(&serial, &["shell", "dumpsys", "battery"]).stdout);
    assert!(
        battery.starts_with("Current Battery Service state:\n"),
        "{battery}"
    );
    for line in [
        "  level: 42\n",
        "  scale: 100\n",
        "  temperature: 366\n",
        "  status: 2\n",
        "  USB powered: true\n",
    ] {
        assert!(battery.contains(line), "{line:?} missing from {battery}");
    }

    // The banner reached the server: `adb devices -l` shows the model.
    let long = text(&adb.run(&["devices", "-l"]).stdout);
    assert!(
        long.contains("model:Plugback_Test_7") && long.contains("device:shiba"),
        "{long}"
    );

    let df = text(&adb.on(&serial, &["shell", "df", "/sdcard"]).stdout);
    assert!(df.starts_with("Filesystem"), "{df}");
    assert!(
        df.contains("62500000") && df.ends_with("/storage/emulated\n"),
        "{df}"
    );
}

#[test]
fn shell_v2_carries_exit_codes_and_stderr() {
    let Some((_dir, _sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    let failed = adb.on(&serial, &["shell", "false"]);
    assert_eq!(failed.status.code(), Some(1));
    let three = adb.on(&serial, &["shell", "exit 3"]);
    assert_eq!(three.status.code(), Some(3));
    let missing = adb.on(&serial, &["shell", "frobnicate --now"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(missing.stdout.is_empty());
    assert_eq!(
        text(&missing.stderr),
        "/system/bin/sh: frobnicate: inaccessible or not found\n"
    );
    let chained = adb.on(
        &serial,
        &["shell", "echo one && false || echo 'two  words'"],
    );
    assert_eq!(chained.status.code(), Some(0));
    assert_eq!(text(&chained.stdout), "one\ntwo  words\n");

    // Files through the shell stay inside the phone's storage.
    let made = adb.on(
        &serial,
        &[
            "shell",
            "mkdir -p /sdcard/Plugback/x && ls /sdcard/Plugback",
        ],
    );
    assert_eq!(text(&made.stdout), "x\n");
    let escape = adb.on(&serial, &["shell", "cat /../../etc/hostname"]);
    assert_eq!(escape.status.code(), Some(1));
    let readonly = adb.on(&serial, &["shell", "mkdir /system/evil"]);
    assert_eq!(readonly.status.code(), Some(1));
    assert!(text(&readonly.stderr).contains("Read-only file system"));

    // exec-out is raw: no shell protocol, the bytes as they are.
    let raw = adb.on(&serial, &["exec-out", "echo raw"]);
    assert_eq!(text(&raw.stdout), "raw\n");
}

#[test]
fn adb_install_accepts_an_apk_and_refuses_a_non_zip() {
    let Some((dir, _sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("notes.apk");
    std::fs::write(&good, text_manifest_apk("com.plugback.notes")).unwrap();
    let installed = adb.on(&serial, &["install", good.to_str().unwrap()]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    assert!(text(&installed.stdout).contains("Success"));
    let listed = text(&adb.on(&serial, &["shell", "pm", "list", "packages"]).stdout);
    assert!(
        listed.lines().any(|l| l == "package:com.plugback.notes"),
        "{listed}"
    );
    assert!(
        dir.path()
            .join("data/app/com.plugback.notes/base.apk")
            .is_file()
    );
    let record = std::fs::read_to_string(dir.path().join("packages.json")).unwrap();
    assert!(record.contains("com.plugback.notes"), "{record}");

    let bad = work.path().join("bad.apk");
    std::fs::write(
        &bad,
        b"this is a text file pretending to be an APK".repeat(50),
    )
    .unwrap();
    let refused = adb.on(&serial, &["install", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = text(&refused.stdout) + &text(&refused.stderr);
    assert!(said.contains("INSTALL_PARSE_FAILED_NOT_APK"), "{said}");

    // install-multiple drives install-create / install-write / install-commit.
    let split = work.path().join("tool.apk");
    std::fs::write(&split, text_manifest_apk("org.example.tool")).unwrap();
    let multiple = adb.on(&serial, &["install-multiple", split.to_str().unwrap()]);
    assert!(multiple.status.success(), "{}", text(&multiple.stderr));
    let third_party = text(&adb.on(&serial, &["shell", "pm list packages -3"]).stdout);
    assert_eq!(
        third_party,
        "package:com.plugback.notes\npackage:org.example.tool\n"
    );
}

#[test]
fn the_debugging_prompt_keeps_the_host_unauthorized_until_allowed() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim) = start_phone(|c| c.auth = AuthMode::Prompt);
    let address = sim.address();
    let serial = address.to_string();
    adb.connect(&serial);
    adb.wait_for_state(&serial, "unauthorized", UP_DEADLINE);
    // The prompt is on screen once the server has offered its public key.
    let deadline = Instant::now() + UP_DEADLINE;
    let allowed = loop {
        match sim.control(ControlCommand::Auth(Answer::Accept)) {
            Ok(detail) => break detail,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the prompt never showed: {e}"),
        }
    };
    assert_eq!(allowed, "allowed");
    adb.wait_for_state(&serial, "device", UP_DEADLINE);
    let keys = std::fs::read_to_string(dir.path().join("adb_keys")).unwrap();
    let host_key = std::fs::read_to_string(adb.home().join(".android/adbkey.pub")).unwrap();
    assert_eq!(keys.trim(), host_key.trim_end_matches('\0').trim());
    // AdbKeys writes adb_keys 0600; its unit tests check the mode.

    // The phone restarts: the saved key lets the same host straight in.
    adb.run(&["disconnect", &serial]);
    drop(sim);
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.auth = AuthMode::Prompt;
    // The port was the system's choice: until the phone listens again, another test's
    // outgoing connection may briefly hold it, so the restart retries for a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    let again = loop {
        match SimAndroid::start(config.clone(), address) {
            Ok(sim) => break sim,
            Err(e) if Instant::now() < deadline => {
                eprintln!("restarting the phone on {address}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the phone cannot listen on {address} again: {e}"),
        }
    };
    adb.attach(&serial);
    let status = again.control(ControlCommand::Status).unwrap();
    assert!(status.contains("auth_prompt=false"), "{status}");
    let echoed = adb.on(&serial, &["shell", "echo", "allowed"]);
    assert_eq!(text(&echoed.stdout), "allowed\n");
}

#[test]
fn a_phone_that_denies_debugging_stays_unauthorized() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (dir, sim) = start_phone(|c| c.auth = AuthMode::Deny);
    let serial = sim.address().to_string();
    adb.connect(&serial);
    adb.wait_for_state(&serial, "unauthorized", UP_DEADLINE);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(adb.state(&serial).as_deref(), Some("unauthorized"));
    assert!(sim.control(ControlCommand::Auth(Answer::Accept)).is_err());
    let refused = adb.on(&serial, &["shell", "echo", "hi"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("unauthorized"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!dir.path().join("adb_keys").exists());
}

#[test]
fn unplugging_drops_the_phone_and_plugging_brings_it_back() {
    let Some((_dir, sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    assert_eq!(sim.control(ControlCommand::Unplug).unwrap(), "unplugged");
    // adb 29 keeps a lost `adb connect` device listed as offline while it retries
    // (about a minute), then drops it.
    adb.wait_for_state(&serial, "offline", UP_DEADLINE);
    let failed = adb.on(&serial, &["shell", "echo", "hi"]);
    assert!(!failed.status.success());
    assert!(
        TcpStream::connect_timeout(&sim.address(), Duration::from_secs(2)).is_err(),
        "an unplugged phone must not accept connections"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(adb.state(&serial).as_deref(), Some("offline"));
    // Plugged back on the same address, adb's own retry finds it: no new `adb connect`.
    sim.control(ControlCommand::Plug).unwrap();
    adb.wait_for_state(&serial, "device", UP_DEADLINE);
    assert_eq!(
        text(&adb.on(&serial, &["shell", "echo", "back"]).stdout),
        "back\n"
    );
}

#[test]
fn a_byte_fault_cuts_the_stream_and_the_phone_comes_back() {
    let Some((dir, sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    std::fs::write(dir.path().join("sdcard/big.bin"), vec![b'x'; 200_000]).unwrap();
    sim.control(ControlCommand::AddFault(
        "disconnect-after-bytes=50000,back-after-ms=3000"
            .parse()
            .unwrap(),
    ))
    .unwrap();
    let cut = adb.on(&serial, &["exec-out", "cat /sdcard/big.bin"]);
    assert!(
        cut.stdout.len() < 200_000,
        "the whole file arrived ({} bytes) despite the fault",
        cut.stdout.len()
    );
    adb.wait_for_state(&serial, "offline", UP_DEADLINE);
    // The fault fired once; after the replug the same read goes through whole.
    adb.wait_for_state(&serial, "device", UP_DEADLINE);
    let whole = adb.on(&serial, &["exec-out", "cat /sdcard/big.bin"]);
    assert_eq!(whole.stdout.len(), 200_000);
    let status = sim.control(ControlCommand::Status).unwrap();
    assert!(status.contains("faults=none"), "{status}");
}

#[test]
fn offline_keeps_the_transport_but_stops_answering() {
    let Some((_dir, sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    sim.control(ControlCommand::Offline).unwrap();
    adb.wait_until(&serial, UP_DEADLINE, |s| s != Some("device"), "offline");
    adb.connect(&serial);
    adb.wait_for_state(&serial, "offline", UP_DEADLINE);
    sim.control(ControlCommand::Online).unwrap();
    adb.wait_for_state(&serial, "device", UP_DEADLINE);
    assert_eq!(
        text(&adb.on(&serial, &["shell", "echo", "up"]).stdout),
        "up\n"
    );
}

#[test]
fn garbage_closes_only_that_connection() {
    let Some((_dir, sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    for garbage in [
        b"GET / HTTP/1.1\r\nHost: phone\r\n\r\n".to_vec(),
        // A CNXN header whose magic is wrong.
        [b"CNXN".as_slice(), &[0u8; 16], &[1, 2, 3, 4]].concat(),
        // A well-formed header announcing a payload far over the limit.
        [
            b"CNXN".as_slice(),
            &[0, 0, 0, 1],
            &[0, 0, 16, 0],
            &[0xff, 0xff, 0xff, 0x7f],
            &[0; 4],
            &(!u32::from_le_bytes(*b"CNXN")).to_le_bytes(),
        ]
        .concat(),
    ] {
        let mut socket = TcpStream::connect(sim.address()).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket.write_all(&garbage).unwrap();
        let mut reply = Vec::new();
        let read = socket.read_to_end(&mut reply);
        assert!(
            read.is_ok(),
            "the phone did not close the connection: {read:?}"
        );
        assert!(
            reply.is_empty(),
            "the phone answered garbage with {reply:?}"
        );
    }
    assert_eq!(adb.state(&serial).as_deref(), Some("device"));
    assert_eq!(
        text(&adb.on(&serial, &["shell", "echo", "still"]).stdout),
        "still\n"
    );
}

#[test]
fn revoking_the_keys_mid_stream_makes_the_host_unauthorized() {
    let Some((dir, sim, adb, serial)) = attached(|c| {
        c.faults = vec!["revoke-auth-after-bytes=1000".parse().unwrap()];
    }) else {
        return;
    };
    std::fs::write(dir.path().join("sdcard/blob"), vec![7u8; 20_000]).unwrap();
    let _ = adb.on(&serial, &["exec-out", "cat /sdcard/blob"]);
    adb.connect(&serial);
    adb.wait_for_state(&serial, "unauthorized", UP_DEADLINE);
    let status = sim.control(ControlCommand::Status).unwrap();
    assert!(
        status.contains("auth=Prompt") && status.contains("allowed_keys=0"),
        "{status}"
    );
}

#[test]
fn adb_client_speaks_the_old_protocol_directly() {
    let (_dir, sim) = start_phone(|c| c.model = "Direct 1".into());
    let mut device = adb_client::tcp::ADBTcpDevice::new(sim.address()).unwrap();
    let mut out = Vec::new();
    use adb_client::ADBDeviceExt;
    device
        .shell_command(&"getprop ro.product.model", Some(&mut out), None)
        .unwrap();
    assert_eq!(text(&out), "Direct 1\n");
    let mut stat = Vec::new();
    device
        .shell_command(&"stat /sdcard", Some(&mut stat), None)
        .unwrap();
    assert!(
        text(&stat).starts_with("  File: /sdcard\n"),
        "{}",
        text(&stat)
    );
}

#[test]
fn without_shell_v2_adb_falls_back_to_v1_and_exec_installs() {
    // Only `cmd`: adb uses `shell:` (no exit codes) and streams installs to
    // `exec:cmd package 'install' -S N`.
    let Some((_dir, _sim, adb, serial)) = attached(|c| c.features = vec!["cmd".into()]) else {
        return;
    };
    let features = text(&adb.on(&serial, &["features"]).stdout);
    assert_eq!(features.trim(), "cmd");
    let failed = adb.on(&serial, &["shell", "echo out; false"]);
    assert_eq!(text(&failed.stdout), "out\n");
    assert_eq!(
        failed.status.code(),
        Some(0),
        "shell v1 carries no exit code"
    );
    let work = tempfile::tempdir().unwrap();
    let package = work.path().join("v1.apk");
    std::fs::write(&package, text_manifest_apk("com.plugback.viaexec")).unwrap();
    let installed = adb.on(&serial, &["install", package.to_str().unwrap()]);
    assert!(installed.status.success(), "{}", text(&installed.stderr));
    let path = text(
        &adb.on(&serial, &["shell", "pm path com.plugback.viaexec"])
            .stdout,
    );
    assert_eq!(path, "package:/data/app/com.plugback.viaexec/base.apk\n");
}

#[test]
fn slow_and_stalling_links_still_deliver_every_byte() {
    let Some((dir, sim, adb, serial)) = attached(|c| c.link_mbps = Some(480)) else {
        return;
    };
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("sdcard/pattern.bin"), &content).unwrap();
    for fault in ["slow-mbps=5", "stall-after-bytes=100000,ms=300"] {
        sim.control(ControlCommand::AddFault(fault.parse().unwrap()))
            .unwrap();
    }
    let read = adb.on(&serial, &["exec-out", "cat /sdcard/pattern.bin"]);
    assert!(
        read.stdout == content,
        "{} bytes came back, not the file",
        read.stdout.len()
    );
    let status = sim.control(ControlCommand::Status).unwrap();
    assert!(
        status.contains("faults=slow-mbps=5"),
        "the stall fired once: {status}"
    );
}

#[test]
fn a_hostile_phone_sends_one_oversized_frame_and_adb_recovers() {
    let Some((_dir, sim, adb, serial)) = attached(|_| {}) else {
        return;
    };
    sim.control(ControlCommand::AddFault("hostile=paths".parse().unwrap()))
        .unwrap();
    let garbled = adb.on(&serial, &["shell", "echo", "hi"]);
    assert!(!garbled.status.success() || garbled.stdout.is_empty());
    // adb dropped the connection on the bad header and reconnects by itself.
    adb.wait_for_state(&serial, "device", UP_DEADLINE);
    assert_eq!(
        text(&adb.on(&serial, &["shell", "echo", "fine"]).stdout),
        "fine\n"
    );
}

#[test]
fn the_cli_prints_ready_and_answers_control_lines() {
    use std::io::BufRead;
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plugback-sim"))
        .args(["android", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args([
            "--model",
            "Cli Phone",
            "--battery",
            "55",
            "--temperature",
            "25.5",
        ])
        .args([
            "--serial",
            "CLI0001",
            "--fault",
            "stall-after-bytes=10,ms=1",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let address = ready
        .strip_prefix("ready ")
        .expect("ready comes first")
        .to_string();
    let mut say = |line: &str| -> String {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        lines.next().unwrap().unwrap()
    };
    let status = say("status");
    assert!(status.starts_with("ok serial=CLI0001"), "{status}");
    assert!(
        status.contains("faults=stall-after-bytes=10,ms=1"),
        "{status}"
    );
    assert_eq!(say("battery 20 charging"), "ok battery=20");
    assert!(say("bogus").starts_with("error unknown command"));
    assert!(say("auth accept").starts_with("error no \"Allow USB debugging?\""));
    adb.connect(&address);
    adb.wait_for_state(&address, "device", UP_DEADLINE);
    let battery = text(&adb.on(&address, &["shell", "dumpsys battery"]).stdout);
    assert!(
        battery.contains("  level: 20\n") && battery.contains("  temperature: 255\n"),
        "{battery}"
    );
    assert_eq!(
        text(&adb.on(&address, &["shell", "getprop ro.serialno"]).stdout),
        "CLI0001\n"
    );
    assert_eq!(say("quit"), "ok quitting");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the simulator did not stop on quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(code.success());
}
