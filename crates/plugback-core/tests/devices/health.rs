//! The health check through the engine API, against the simulated iPhone: the figures it
//! measures, and the findings a bad cable (slow, flapping, USB 2 for a USB 3 phone) gives.

use super::ios::Rig;
use plugback_core::cancel::CancelToken;
use plugback_core::device::android::{self, AdbServer};
use plugback_core::device::health::{self, CheckOptions, Grade, HealthReport, ProbePlan};
use plugback_core::device::ios::{self, MuxAddress, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::{DeviceState, Platform};
use plugback_core::finding::Severity;
use plugback_sim::control::ControlCommand;
use plugback_sim::fault::Fault;
use plugback_sim::iphone::{IphoneConfig, SimIphone};
use plugback_sim::peers::free_port;
use std::path::Path;
use std::time::Duration;

/// A phone on `rig` with `change` applied, paired with this computer when `paired`.
fn phone(rig: &Rig, paired: bool, change: impl FnOnce(&mut IphoneConfig)) -> SimIphone {
    let mut config = rig.config("phone");
    change(&mut config);
    let phone = rig.add(config);
    if paired {
        let outcome = ios::block_on(ios::pair(
            &rig.mux(),
            phone.udid(),
            Duration::from_secs(30),
            &CancelToken::new(),
            |_| {},
        ))
        .unwrap();
        assert_eq!(outcome, ios::PairOutcome::Paired);
    }
    phone
}

/// The rig's usbmuxd, and an adb server that cannot start (no adb in its search path), so
/// only the iPhone is looked at.
fn sources(rig: &Rig) -> Sources {
    Sources {
        usbmuxd: Ok(rig.mux()),
        adb: AdbServer::new(free_port()).with_search_path(rig.dir.path().join("no-adb")),
    }
}

fn check(rig: &Rig, phone: &SimIphone, options: &CheckOptions) -> HealthReport {
    let cancel = CancelToken::new();
    let device = ios::block_on(ios::read(&rig.mux(), phone.udid(), &cancel)).unwrap();
    health::check(sources(rig), device, options, &cancel).unwrap()
}

/// The finding with `code`; panics with the codes found when there is none.
fn finding<'a>(report: &'a HealthReport, code: &str) -> &'a plugback_core::finding::Finding {
    report
        .findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} finding in {:?}", codes(report)))
}

fn small(payload_bytes: u64, observe: Duration) -> CheckOptions {
    CheckOptions {
        plan: ProbePlan {
            payload_bytes,
            round_trips: 20,
        },
        observe,
        history: None,
    }
}

fn codes(report: &HealthReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

/// Files the probe may have left in the phone's storage.
fn leftovers(storage: &Path) -> Vec<String> {
    std::fs::read_dir(storage)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains("plugback-health"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_good_link_is_graded_good_with_every_figure_measured() {
    let rig = Rig::new();
    let phone = phone(&rig, true, |_| {});
    let report = check(&rig, &phone, &small(4_000_000, Duration::from_millis(500)));
    assert_eq!(report.grade, Grade::Good, "{:?}", report.findings);
    assert!(report.findings.is_empty());
    assert_eq!(report.device.platform, Platform::Ios);
    assert_eq!(report.device.link.speed_mbps, Some(480));
    assert_eq!(
        report.best_link_mbps,
        Some(480),
        "an iPhone 14 Pro is USB 2"
    );
    let probe = report.probe.as_ref().expect("a ready phone is probed");
    assert_eq!(probe.round_trips.len(), 20);
    assert!(probe.write.is_some() && probe.read.is_some());
    assert_eq!(probe.intact, Some(true));
    assert!(probe.cleaned_up);
    assert!(probe.errors.is_empty(), "{:?}", probe.errors);
    assert!(leftovers(&rig.dir.path().join("phone/storage")).is_empty());
    assert_eq!(report.flaps.detaches, 0);

    let json = report.to_json();
    assert_eq!(json["grade"], "good");
    assert_eq!(json["figures"]["latency_ms"]["samples"], 20);
    assert_eq!(json["figures"]["throughput"]["payload_bytes"], 4_000_000);
    assert_eq!(json["figures"]["throughput"]["intact"], true);
    assert!(
        json["figures"]["throughput"]["write_mb_per_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn a_slow_link_is_poor_with_the_slow_transfer_finding_and_its_fix() {
    let rig = Rig::new();
    let phone = phone(&rig, true, |c| {
        c.faults.push(Fault::SlowLink { mb_per_s: 2 })
    });
    let report = check(&rig, &phone, &small(2_000_000, Duration::from_millis(500)));
    assert_eq!(report.grade, Grade::Poor, "{:?}", report.findings);
    let slow = finding(&report, "health-slow-transfer");
    assert_eq!(slow.severity, Severity::Problem);
    assert!(slow.fix.contains("another cable"), "{}", slow.fix);
    let write = report.probe.as_ref().unwrap().write_mb_per_s().unwrap();
    assert!(
        write < 5.0,
        "the simulator limits the link to 2 MB/s, measured {write}"
    );
    assert!(leftovers(&rig.dir.path().join("phone/storage")).is_empty());
}

#[test]
fn a_usb3_iphone_on_a_usb2_link_is_told_it_will_be_5_to_10_times_slower() {
    let rig = Rig::new();
    let phone = phone(&rig, true, |c| {
        c.product_type = "iPhone16,1".into();
        c.name = "Work iPhone".into();
        c.link_mbps = 480;
    });
    let report = check(&rig, &phone, &small(1_000_000, Duration::from_millis(200)));
    assert_eq!(report.device.model.as_deref(), Some("iPhone 15 Pro"));
    assert_eq!(report.best_link_mbps, Some(10_000));
    assert_eq!(codes(&report), vec!["health-usb2-link"]);
    assert!(
        report.findings[0]
            .message
            .starts_with("USB 2 cable or port: the restore will be 5–10× slower")
    );
    assert_eq!(report.grade, Grade::Fair);
}

#[test]
fn a_flapping_cable_gives_the_flapping_finding() {
    let rig = Rig::new();
    let phone = phone(&rig, true, |_| {});
    let cancel = CancelToken::new();
    let device = ios::block_on(ios::read(&rig.mux(), phone.udid(), &cancel)).unwrap();
    let sources = sources(&rig);
    let checking = std::thread::spawn(move || {
        health::check(
            sources,
            device,
            &small(1_000_000, Duration::from_secs(6)),
            &cancel,
        )
        .unwrap()
    });
    // Unplugged and plugged back twice, a second apart, while the check watches.
    std::thread::sleep(Duration::from_millis(300));
    phone
        .control(ControlCommand::AddFault(Fault::Flap { times: 2 }))
        .unwrap();
    let report = checking.join().unwrap();
    assert!(
        report.flaps.detaches >= 2,
        "the check saw {:?}",
        report.flaps
    );
    let flapping = finding(&report, "health-flapping");
    assert_eq!(flapping.severity, Severity::Problem);
    assert!(flapping.fix.contains("another cable") && flapping.fix.contains("hub"));
    assert_eq!(report.grade, Grade::Poor);
}

#[test]
fn a_phone_that_does_not_trust_this_computer_is_not_probed_and_says_what_to_do() {
    let rig = Rig::new();
    let phone = phone(&rig, false, |_| {});
    let report = check(&rig, &phone, &small(1_000_000, Duration::from_millis(200)));
    assert_eq!(report.device.state, DeviceState::NotPaired);
    assert!(report.probe.is_none());
    assert_eq!(codes(&report), vec!["device-not-paired"]);
    assert!(!report.findings[0].fix.is_empty());
    assert_eq!(report.grade, Grade::Poor);
}

#[test]
fn a_phone_unplugged_during_the_probe_is_a_transport_error_not_a_hang() {
    let rig = Rig::new();
    let phone = phone(&rig, true, |c| {
        c.faults.push(Fault::DisconnectAfterBytes {
            bytes: 3_000_000,
            back_after: Some(Duration::from_millis(300)),
        })
    });
    let report = check(&rig, &phone, &small(8_000_000, Duration::from_secs(1)));
    let probe = report.probe.as_ref().unwrap();
    assert!(
        !probe.errors.is_empty(),
        "the unplug was not seen: {probe:?}"
    );
    assert!(codes(&report).contains(&"health-transport-error"));
    assert!(codes(&report).contains(&"health-flapping"));
    assert_eq!(report.grade, Grade::Poor);
    let storage = rig.dir.path().join("phone/storage");
    assert_eq!(
        leftovers(&storage).len(),
        1,
        "the cut transfer leaves its file"
    );

    // The phone is back (the fault fires once): the next check removes the old file too.
    let again = check(&rig, &phone, &small(1_000_000, Duration::from_millis(100)));
    assert!(again.probe.as_ref().unwrap().errors.is_empty(), "{again:?}");
    assert!(leftovers(&storage).is_empty(), "{:?}", leftovers(&storage));
}

#[test]
fn an_android_phone_on_a_slow_link_is_poor_and_its_test_file_is_removed() {
    let Some(adb) = plugback_sim::peers::AdbServer::start() else {
        return;
    };
    let (dir, _sim, serial) = super::android_health::attached_phone(&adb, &["slow-mbps=2"]);
    let server = super::android_health::core_server(&adb);
    let cancel = CancelToken::new();
    let device = android::read(&server, &serial, &cancel).unwrap();
    assert_eq!(device.state, DeviceState::Ready);
    let sources = Sources {
        usbmuxd: Ok(Usbmuxd::new(MuxAddress::Tcp(
            format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        ))),
        adb: server,
    };
    let report = health::check(
        sources,
        device,
        &small(2_000_000, Duration::from_millis(500)),
        &cancel,
    )
    .unwrap();
    assert_eq!(report.device.platform, Platform::Android);
    let slow = finding(&report, "health-slow-transfer");
    assert_eq!(slow.severity, Severity::Problem);
    assert_eq!(report.grade, Grade::Poor);
    let probe = report.probe.as_ref().unwrap();
    assert_eq!(probe.intact, Some(true));
    assert!(probe.cleaned_up);
    let tmp = dir.path().join("data/local/tmp");
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("plugback-health"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
