//! The Android transport against the simulated phone, attached to a private adb server
//! (own HOME and port; no USB, mDNS or emulator scan) with `adb connect`.

use base64::Engine as _;
use plugback_core::cancel::CancelToken;
use plugback_core::device::android::key::android_public_key;
use plugback_core::device::android::{self, AdbKey, DeviceTracker, shell};
use plugback_core::device::{DeviceError, DeviceEvent, DeviceState};
use plugback_core::explain::explain;
use plugback_sim::android::{AndroidConfig, AuthMode, SimAndroid};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::peers::{AdbServer, free_port};
use rsa::pkcs8::DecodePrivateKey;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// How long the tests wait for adb to notice a change.
const DEADLINE: Duration = Duration::from_secs(30);

fn phone(change: impl FnOnce(&mut AndroidConfig)) -> (tempfile::TempDir, SimAndroid) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().to_path_buf());
    config.model = "Pixel Tracker".into();
    config.battery_percent = 57;
    config.charging = true;
    config.temperature_c = 36.6;
    config.free_bytes = 40_000_000_000;
    config.total_bytes = 128_000_000_000;
    change(&mut config);
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    (dir, sim)
}

fn core_server(adb: &AdbServer) -> android::AdbServer {
    android::AdbServer::new(adb.port()).with_adb_path(adb.adb())
}

/// adb retries a lost network transport for about a minute before dropping it.
const DETACH_DEADLINE: Duration = Duration::from_secs(150);

/// Collects tracker events until `done` holds for one of them; all events seen so far.
fn events_until(
    tracker: &mut DeviceTracker,
    what: &str,
    done: impl FnMut(&DeviceEvent) -> bool,
) -> Vec<DeviceEvent> {
    events_until_within(tracker, what, DEADLINE, done)
}

fn events_until_within(
    tracker: &mut DeviceTracker,
    what: &str,
    deadline: Duration,
    mut done: impl FnMut(&DeviceEvent) -> bool,
) -> Vec<DeviceEvent> {
    let end = Instant::now() + deadline;
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < end, "never saw {what}; saw {seen:?}");
        let events = tracker.next_events(Duration::from_millis(500)).unwrap();
        let finished = events.iter().any(&mut done);
        seen.extend(events);
        if finished {
            return seen;
        }
    }
}

fn is_state(event: &DeviceEvent, serial: &str, state: &DeviceState) -> bool {
    match event {
        DeviceEvent::Attached(d) | DeviceEvent::Changed(d) => d.id == serial && &d.state == state,
        DeviceEvent::Detached { .. } => false,
    }
}

#[test]
fn tracker_sees_the_phone_attach_with_its_identity_and_the_unplug() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_dir, sim) = phone(|_| {});
    let serial = sim.address().to_string();
    let server = core_server(&adb);
    let cancel = CancelToken::new();
    let mut tracker = DeviceTracker::start(&server, &cancel).unwrap();

    adb.connect(&serial);
    events_until(&mut tracker, "the phone as ready", |e| {
        is_state(e, &serial, &DeviceState::Ready)
    });

    let device = android::read(&server, &serial, &cancel).unwrap();
    assert_eq!(device.id, serial);
    assert_eq!(device.state, DeviceState::Ready);
    assert_eq!(device.model.as_deref(), Some("Pixel Tracker"));
    assert_eq!(device.os_version.as_deref(), Some("14"));
    assert_eq!(device.serial.as_deref(), Some("PLUGBACK0A1B2C"));
    // The simulated phone has no `settings` command: the name falls back to the model.
    assert_eq!(device.name.as_deref(), Some("Pixel Tracker"));
    assert_eq!(device.battery.level, Some(57));
    assert_eq!(device.battery.charging, Some(true));
    assert_eq!(device.battery.temperature_c, Some(36.6));
    assert_eq!(
        device.storage.total_bytes,
        Some(128_000_000_000 / 1024 * 1024)
    );
    assert_eq!(
        device.storage.free_bytes,
        Some(40_000_000_000 / 1024 * 1024)
    );

    // What adb 29 really does with a pulled network transport: it turns offline at once
    // but keeps retrying, silently on the tracking connection (the tracker's re-read
    // sees it), and drops the phone about a minute later.
    sim.control(ControlCommand::Unplug).unwrap();
    let seen = events_until(&mut tracker, "the phone leave the ready state", |e| {
        !is_state(e, &serial, &DeviceState::Ready)
    });
    assert!(
        matches!(seen.last(), Some(e) if is_state(e, &serial, &DeviceState::Offline)),
        "{seen:?}"
    );
    events_until_within(
        &mut tracker,
        "the phone detach",
        DETACH_DEADLINE,
        |e| matches!(e, DeviceEvent::Detached { id, .. } if *id == serial),
    );
    assert!(tracker.devices().is_empty(), "{:?}", tracker.devices());
}

#[test]
fn an_unauthorized_phone_becomes_ready_once_allowed() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_dir, sim) = phone(|c| c.auth = AuthMode::Prompt);
    let serial = sim.address().to_string();
    let server = core_server(&adb);
    let cancel = CancelToken::new();
    let mut tracker = DeviceTracker::start(&server, &cancel).unwrap();

    adb.connect(&serial);
    events_until(&mut tracker, "the phone as unauthorized", |e| {
        is_state(e, &serial, &DeviceState::Unauthorized)
    });
    // Nothing can be read yet but the state, which has its guidance.
    let device = android::read(&server, &serial, &cancel).unwrap();
    assert_eq!(device.state, DeviceState::Unauthorized);
    assert_eq!(device.battery.level, None);
    let guidance = explain(device.state.code()).unwrap();
    assert!(guidance.what_to_do.contains("Allow USB debugging"));

    sim.control(ControlCommand::Auth(Answer::Accept)).unwrap();
    events_until(&mut tracker, "the phone as ready", |e| {
        is_state(e, &serial, &DeviceState::Ready)
    });
    let device = android::read(&server, &serial, &cancel).unwrap();
    assert_eq!(device.model.as_deref(), Some("Pixel Tracker"));
}

#[test]
fn shell_gives_exit_codes_over_v2_and_output_over_v1_and_exec() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let (_dir, sim) = phone(|_| {});
    let serial = sim.address().to_string();
    let server = core_server(&adb);
    let cancel = CancelToken::new();
    adb.connect(&serial);
    wait_for_ready(&server, &serial);

    let features = shell::features(&server, &serial, &cancel).unwrap();
    assert!(features.iter().any(|f| f == "shell_v2"), "{features:?}");
    let failed = shell::run(&server, &serial, "false", &features, &cancel).unwrap();
    assert_eq!(failed.exit_code, Some(1));
    let missing = shell::run(&server, &serial, "nosuchcommand", &features, &cancel).unwrap();
    assert_eq!(missing.exit_code, Some(127));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nosuchcommand"));
    let echoed = shell::run(&server, &serial, "echo hello", &[], &cancel).unwrap();
    assert_eq!(echoed.stdout_text(), "hello\n");
    assert_eq!(echoed.exit_code, None);
    assert_eq!(
        shell::exec(&server, &serial, "echo raw", &cancel).unwrap(),
        b"raw\n"
    );

    match android::read(&server, "no-such-phone", &cancel) {
        Err(DeviceError::NotFound { id }) => assert_eq!(id, "no-such-phone"),
        other => panic!("{other:?}"),
    }
    match shell::run(&server, "no-such-phone", "true", &features, &cancel) {
        Err(DeviceError::Refused { detail }) => assert!(detail.contains("not found"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

fn wait_for_ready(server: &android::AdbServer, serial: &str) {
    let cancel = CancelToken::new();
    let end = Instant::now() + DEADLINE;
    loop {
        if android::read(server, serial, &cancel).is_ok_and(|d| d.state == DeviceState::Ready) {
            return;
        }
        assert!(Instant::now() < end, "{serial} never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn no_server_and_no_adb_is_adb_unavailable_with_a_fix() {
    let cancel = CancelToken::new();
    let nowhere = tempfile::tempdir().unwrap();
    for server in [
        android::AdbServer::new(free_port()).with_adb_path(nowhere.path().join("adb")),
        android::AdbServer::new(free_port()).with_search_path(""),
        android::AdbServer::new(free_port()).with_search_path(nowhere.path()),
    ] {
        let error = server.ensure_running(&cancel).unwrap_err();
        assert!(
            matches!(error, DeviceError::AdbUnavailable { .. }),
            "{error:?}"
        );
        assert_eq!(error.code(), "adb-unavailable");
        assert!(DeviceTracker::start(&server, &cancel).is_err());
        assert!(android::read(&server, "any", &cancel).is_err());
    }
    let fix = explain("adb-unavailable").unwrap();
    assert!(fix.what_to_do.contains("adb"));
}

#[test]
fn no_server_but_an_adb_program_starts_the_server() {
    let Some(adb) = plugback_sim::peers::require_tool("adb") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = android::AdbServer::new(port)
        .with_search_path(adb.parent().unwrap())
        .with_start_env("HOME", home.path())
        .with_start_env("TMPDIR", home.path())
        .with_start_env("ADB_MDNS", "0")
        .with_start_env("ADB_EMU", "0")
        .with_start_env("ADB_USB", "0");
    let version = server.ensure_running(&CancelToken::new()).unwrap();
    assert!(version >= 39, "host:version {version}");
    // The server it started is ours to stop: the helper kills it on drop.
    let started = AdbServer::start_with_home(home.path(), port).unwrap();
    assert!(home.path().join(".android/adbkey").is_file());
    drop(started);
}

/// A server on a free port that runs `serve` on each connection.
fn fake_server(serve: fn(std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for socket in listener.incoming().take(8).flatten() {
            std::thread::spawn(move || serve(socket));
        }
    });
    port
}

#[test]
fn a_server_that_answers_garbage_is_a_protocol_error() {
    let port = fake_server(|mut socket| {
        let mut request = [0u8; 64];
        let _ = socket.read(&mut request);
        let _ = socket.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
    });
    let server = android::AdbServer::new(port)
        .with_timeout(Duration::from_secs(5))
        // No adb to start: once the fake server stops listening, nothing real takes its port.
        .with_search_path("");
    let cancel = CancelToken::new();
    let error = server.ensure_running(&cancel).unwrap_err();
    assert!(matches!(error, DeviceError::Protocol { .. }), "{error:?}");
    assert!(matches!(
        DeviceTracker::start(&server, &cancel),
        Err(DeviceError::Protocol { .. })
    ));
    assert!(matches!(
        android::read(&server, "x", &cancel),
        Err(DeviceError::Protocol { .. })
    ));

    // OKAY, then a length that is not hex.
    let port = fake_server(|mut socket| {
        let mut request = [0u8; 64];
        let _ = socket.read(&mut request);
        let _ = socket.write_all(b"OKAY+-12");
    });
    let server = android::AdbServer::new(port)
        .with_timeout(Duration::from_secs(5))
        // No adb to start: once the fake server stops listening, nothing real takes its port.
        .with_search_path("");
    let error = server.version(&cancel).unwrap_err();
    assert!(matches!(error, DeviceError::Protocol { .. }), "{error:?}");
}

#[test]
fn a_server_that_never_answers_times_out_or_is_cancelled() {
    let port = fake_server(|socket| {
        std::thread::sleep(Duration::from_secs(20));
        drop(socket);
    });
    let server = android::AdbServer::new(port)
        .with_timeout(Duration::from_secs(1))
        // No adb to start: once the fake server stops listening, nothing real takes its port.
        .with_search_path("");
    let cancel = CancelToken::new();
    match server.ensure_running(&cancel) {
        Err(DeviceError::Timeout { after, .. }) => assert_eq!(after, Duration::from_secs(1)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        android::read(&server, "x", &cancel),
        Err(DeviceError::Timeout { .. })
    ));

    // With a long timeout, cancelling ends the wait.
    let patient = android::AdbServer::new(port)
        .with_timeout(Duration::from_secs(60))
        // No adb to start: once the fake server stops listening, nothing real takes its port.
        .with_search_path("");
    let cancelling = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cancelling.cancel();
    });
    assert!(matches!(
        patient.version(&cancel),
        Err(DeviceError::Cancelled)
    ));
}

#[test]
fn our_public_key_format_matches_the_one_adb_writes() {
    let Some(adb) = AdbServer::start() else {
        return;
    };
    let dir = adb.home().join(".android");
    let pem = std::fs::read_to_string(dir.join("adbkey")).unwrap();
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let ours = android_public_key(&private.to_public_key()).unwrap();
    let written = std::fs::read_to_string(dir.join("adbkey.pub")).unwrap();
    let (encoded, _label) = written.split_once(' ').unwrap();
    let theirs = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .unwrap();
    assert_eq!(theirs.len(), 524);
    assert!(theirs == ours, "adb's public key and ours differ");
    // And Plugback loads adb's key rather than making another.
    let loaded = AdbKey::load_or_create(&dir).unwrap();
    assert_eq!(loaded.private, private);
}

#[test]
fn a_key_plugback_made_is_used_by_adb_and_remembered_by_the_phone() {
    let Some(_) = plugback_sim::peers::require_tool("adb") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".android");
    let key = AdbKey::load_or_create(&dir).unwrap();
    let private_before = std::fs::read(dir.join("adbkey")).unwrap();
    let public_before = std::fs::read_to_string(dir.join("adbkey.pub")).unwrap();
    let port = free_port();

    let (phone_dir, sim) = phone(|c| c.auth = AuthMode::Prompt);
    let serial = sim.address().to_string();
    let adb = AdbServer::start_with_home(home.path(), port).unwrap();
    assert_eq!(std::fs::read(dir.join("adbkey")).unwrap(), private_before);
    assert_eq!(
        std::fs::read_to_string(dir.join("adbkey.pub")).unwrap(),
        public_before
    );

    let server = core_server(&adb);
    let cancel = CancelToken::new();
    let mut tracker = DeviceTracker::start(&server, &cancel).unwrap();
    adb.connect(&serial);
    events_until(&mut tracker, "the prompt", |e| {
        is_state(e, &serial, &DeviceState::Unauthorized)
    });
    sim.control(ControlCommand::Auth(Answer::Accept)).unwrap();
    events_until(&mut tracker, "the phone as ready", |e| {
        is_state(e, &serial, &DeviceState::Ready)
    });
    // The phone remembered our public key, as the key files say it.
    let allowed = std::fs::read_to_string(phone_dir.path().join("adb_keys")).unwrap();
    let ours = public_before.split(' ').next().unwrap();
    assert!(allowed.contains(ours), "adb_keys: {allowed}");
    drop(tracker);
    adb.kill();

    // A new server with the same key is let in without a prompt.
    let again = AdbServer::start_with_home(home.path(), port).unwrap();
    let mut tracker = DeviceTracker::start(&server, &cancel).unwrap();
    again.connect(&serial);
    let seen = events_until(&mut tracker, "the phone as ready again", |e| {
        is_state(e, &serial, &DeviceState::Ready)
    });
    assert!(
        !seen
            .iter()
            .any(|e| is_state(e, &serial, &DeviceState::Unauthorized)),
        "asked again: {seen:?}"
    );
    assert_eq!(std::fs::read(dir.join("adbkey")).unwrap(), private_before);
    drop(key);
}
