use super::*;
use plugback_core::backup::BackupKind;
use plugback_core::backup::verify::{Depth, ProgressReporter, VerifyOptions, verify};
use plugback_core::secret::Password;
use std::net::TcpStream;
use std::time::Duration;

/// The whole sample set stays small, so the demo starts at once.
const MOST_BYTES: u64 = 8 * 1024 * 1024;

fn started() -> Demo {
    Demo::start(&CancelToken::new()).expect("the demo starts")
}

fn answers(address: std::net::SocketAddr) -> bool {
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

#[test]
fn the_samples_are_one_of_each_kind_small_and_only_one_is_locked() {
    let demo = started();
    let samples = demo.samples();
    let kinds: Vec<BackupKind> = samples.all.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            BackupKind::Ios,
            BackupKind::Ios,
            BackupKind::IosLegacyMbdb,
            BackupKind::AndroidFolder,
            BackupKind::AndroidAb
        ]
    );
    let locked: Vec<bool> = samples.all.iter().map(|s| s.encrypted).collect();
    assert_eq!(locked, [false, true, false, false, false]);
    let bytes: u64 = samples.all.iter().map(|s| s.made.bytes).sum();
    assert!(bytes < MOST_BYTES, "{bytes} bytes of samples");
    for sample in &samples.all {
        assert!(sample.made.path.starts_with(demo.backups_dir()));
    }
    // The demo iPhone's backups name the phone the window sees; the other iPhone's not.
    assert_eq!(samples.all[0].device_id.as_deref(), Some(demo.iphone_id()));
    assert_eq!(samples.all[1].device_id.as_deref(), Some(demo.iphone_id()));
    assert_ne!(samples.all[2].device_id.as_deref(), Some(demo.iphone_id()));
    assert_eq!(
        samples.all[3].device_id.as_deref(),
        Some(samples.pixel_serial.as_str())
    );
    assert_eq!(
        demo.password_hint(),
        "The encrypted backup's password is demo."
    );
}

#[test]
fn the_hinted_password_opens_the_encrypted_sample() {
    let demo = started();
    let locked = &demo.samples().all[1].made.path;
    let options = VerifyOptions {
        depth: Depth::Quick,
        password: Some(Password::new(samples::PASSWORD)),
        cancel: CancelToken::new(),
    };
    let report = verify(locked, &options, &ProgressReporter::new(None))
        .expect("the hinted password opens the encrypted sample");
    assert!(report.ok(), "{report:?}");
}

#[test]
fn without_adb_the_demo_says_why_and_how_to_fix_it() {
    let demo = started();
    match (demo.android_id(), demo.android_missing()) {
        (Some(_), None) => {}
        (None, Some(missing)) => {
            assert!(
                missing.starts_with("The demo has no Android phone"),
                "{missing}"
            );
        }
        other => panic!("either a phone or a reason, never both or neither: {other:?}"),
    }
    if adb::find_adb().is_err() {
        let advice = explain("adb-unavailable").unwrap().what_to_do;
        assert!(demo.android_missing().unwrap().ends_with(advice));
    }
}

#[test]
fn unplug_and_replug_reach_the_simulated_iphone() {
    let demo = started();
    let id = demo.iphone_id().to_owned();
    demo.simulate(&id, Simulate::Unplug).unwrap();
    assert_eq!(
        demo.iphone.control(ControlCommand::Unplug).unwrap(),
        "already unplugged"
    );
    demo.simulate(&id, Simulate::Replug).unwrap();
    assert_eq!(
        demo.iphone.control(ControlCommand::Plug).unwrap(),
        "already plugged"
    );
    let refused = demo
        .simulate("no-such-phone", Simulate::Unplug)
        .unwrap_err();
    assert!(refused.contains("no-such-phone"), "{refused}");
}

#[test]
fn dropping_the_demo_stops_its_servers_and_removes_its_folder() {
    let demo = started();
    let listening = demo.listening();
    let expected = if demo.android_id().is_some() { 2 } else { 1 };
    assert_eq!(listening.len(), expected, "{listening:?}");
    for address in &listening {
        assert!(answers(*address), "{address} answers while the demo runs");
    }
    let root = demo.root().to_path_buf();
    drop(demo);
    for address in &listening {
        assert!(
            !answers(*address),
            "{address} still answers after the demo stopped"
        );
    }
    assert!(!root.exists(), "{} is left behind", root.display());
}

#[test]
fn unplug_and_replug_take_the_android_phone_off_the_adb_list_and_back() {
    let demo = started();
    let Some(serial) = demo.android_id().map(str::to_owned) else {
        // No adb here: the missing phone is covered above.
        return;
    };
    let server = demo.android.as_ref().unwrap().adb.server().clone();
    let listed = || {
        let devices = server
            .connect(&CancelToken::new())
            .and_then(|mut socket| socket.query("host:devices"))
            .unwrap();
        plugback_core::device::android::track::parse_device_list(&devices)
            .into_iter()
            .find(|device| device.serial == serial)
            .map(|device| device.raw_state)
    };
    assert_eq!(listed().as_deref(), Some("device"));
    demo.simulate(&serial, Simulate::Unplug).unwrap();
    assert_eq!(listed(), None, "an unplugged phone leaves the list");
    demo.simulate(&serial, Simulate::Replug).unwrap();
    assert_eq!(listed().as_deref(), Some("device"));
}
