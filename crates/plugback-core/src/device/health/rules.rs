//! From what was measured to findings a person can act on, and from findings to a grade.
//! Pure: everything it needs comes in as values, so every rule is tested without a phone.

use super::capability::best_link_mbps;
use super::figures::ProbeFigures;
use super::flaps::FlapCount;
use crate::device::usb::{Autosuspend, UsbPhone};
use crate::device::{Device, DeviceState, Platform};
use crate::explain;
use crate::finding::{Finding, Severity, worst};
use serde::Serialize;
use std::time::Duration;

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    Good,
    Fair,
    Poor,
}

impl Grade {
    pub fn of(findings: &[Finding]) -> Grade {
        match worst(findings) {
            Some(Severity::Problem) => Grade::Poor,
            Some(Severity::Warning) => Grade::Fair,
            _ => Grade::Good,
        }
    }
}

/// The computer's system: some fixes are worded for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostOs {
    Linux,
    MacOs,
    Windows,
    Other,
}

impl HostOs {
    pub fn current() -> HostOs {
        if cfg!(target_os = "linux") {
            HostOs::Linux
        } else if cfg!(target_os = "macos") {
            HostOs::MacOs
        } else if cfg!(windows) {
            HostOs::Windows
        } else {
            HostOs::Other
        }
    }
}

/// Everything the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    pub device: &'a Device,
    /// The phone on the USB bus, where this computer gives a USB view.
    pub usb: Option<&'a UsbPhone>,
    pub flaps: FlapCount,
    /// None when the probe could not run (the phone is not ready).
    pub probe: Option<&'a ProbeFigures>,
    pub host: HostOs,
}

// Plain fixes the findings share.
const FIX_CABLE: &str = "Try another cable: a frayed or bent cable drops the connection, and a charge-only cable carries no data.";
const FIX_PORT: &str = "Use another port directly on the computer, not through a hub or a monitor.";
const FIX_USB3: &str = "Move to a USB 3 port (often blue, or marked SS) with a USB 3 cable; the USB-C cable that comes with a phone is usually USB 2.";
const FIX_UNLOCK: &str = "Unlock the phone and keep it unlocked while Plugback works with it.";
const FIX_WINDOWS_SECURITY: &str = "Security software can block the local connection to the Apple Mobile Device Service: allow it (port 27015 on this computer) in your firewall or antivirus, then restart the service.";

/// A USB 2 link carries about this much in practice; a USB 3 link several times more.
const USB2_PRACTICAL_MB_PER_S: f64 = 25.0;
const USB3_PRACTICAL_MB_PER_S: f64 = 100.0;
/// Round trips on a healthy wired link take a few milliseconds.
const SLOW_REPLY_MEDIAN: Duration = Duration::from_millis(25);
const SLOW_REPLY_P99: Duration = Duration::from_millis(250);
const HUNG_REPLY_P99: Duration = Duration::from_secs(2);

/// Every code a finding of the health check can carry.
pub const CODES: &[&str] = &[
    "health-usb1-link",
    "health-usb2-link",
    "health-via-hub",
    "usb-autosuspend-auto",
    "health-flapping",
    "health-slow-replies",
    "health-slow-transfer",
    "health-data-mismatch",
    "health-transport-error",
    "device-locked",
];

/// The findings, worst first.
pub fn findings(evidence: &Evidence) -> Vec<Finding> {
    let mut found = Vec::new();
    phone_state(evidence, &mut found);
    link_speed(evidence, &mut found);
    hub_and_power(evidence, &mut found);
    flapping(evidence, &mut found);
    if let Some(probe) = evidence.probe {
        replies(probe, &mut found);
        throughput(evidence, probe, &mut found);
        errors(evidence, probe, &mut found);
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.severity));
    found
}

fn phone_state(evidence: &Evidence, found: &mut Vec<Finding>) {
    let state = &evidence.device.state;
    if *state == DeviceState::Ready {
        return;
    }
    let fix = explain::explain(state.code())
        .map(|e| e.what_to_do.to_owned())
        .unwrap_or_else(|| FIX_UNLOCK.to_owned());
    found.push(Finding::new(
        state.code(),
        Severity::Problem,
        format!(
            "The phone is {}, so the connection could not be measured.",
            state.name().replace('-', " ")
        ),
        fix,
    ));
}

fn link_speed(evidence: &Evidence, found: &mut Vec<Finding>) {
    let Some(speed) = evidence.device.link.speed_mbps else {
        return;
    };
    if speed < 480 {
        found.push(Finding::new(
            "health-usb1-link",
            Severity::Problem,
            format!(
                "The phone is linked at {speed} Mb/s, the speed of USB 1: a restore would take many times longer than it should."
            ),
            format!("{FIX_CABLE} {FIX_PORT}"),
        ));
        return;
    }
    let Some(best) = best_link_mbps(evidence.device, evidence.usb) else {
        return;
    };
    if best > 480 && speed <= 480 {
        found.push(Finding::new(
            "health-usb2-link",
            Severity::Warning,
            format!(
                "USB 2 cable or port: the restore will be 5–10× slower. This {} can link at {} Gb/s, but it is linked at {speed} Mb/s.",
                evidence.device.model.as_deref().unwrap_or("phone"),
                best / 1000
            ),
            FIX_USB3,
        ));
    }
}

fn hub_and_power(evidence: &Evidence, found: &mut Vec<Finding>) {
    if evidence.device.link.via_hub == Some(true) {
        found.push(Finding::new(
            "health-via-hub",
            Severity::Info,
            "The phone is connected through a hub. A good powered hub is fine; if transfers drop or crawl, the hub is the first suspect.",
            FIX_PORT,
        ));
    }
    if let Some(usb) = evidence.usb
        && usb.autosuspend == Some(Autosuspend::Auto)
    {
        let control = usb
            .sysfs_path
            .as_ref()
            .map(|dir| dir.join("power/control").display().to_string())
            .unwrap_or_else(|| "the phone's power/control file".to_owned());
        found.push(Finding::new(
            "usb-autosuspend-auto",
            Severity::Warning,
            "This computer may power the phone's USB port down when it looks idle, which can cut a long restore.",
            format!("Turn USB autosuspend off for the phone: echo on | sudo tee {control}"),
        ));
    }
}

fn flapping(evidence: &Evidence, found: &mut Vec<Finding>) {
    let detaches = evidence.flaps.detaches;
    if detaches == 0 {
        return;
    }
    let secs = evidence.flaps.window.as_secs().max(1);
    let window = match secs {
        1..60 => format!("{secs} seconds"),
        60..120 => "minute".to_owned(),
        _ => format!("{} minutes", secs.div_ceil(60)),
    };
    let times = if detaches == 1 {
        "once".to_owned()
    } else {
        format!("{detaches} times")
    };
    found.push(Finding::new(
        "health-flapping",
        if detaches >= 2 {
            Severity::Problem
        } else {
            Severity::Warning
        },
        format!(
            "The phone disconnected {times} in the last {window}. If nobody unplugged it, the cable or the port is dropping the connection."
        ),
        format!("{FIX_CABLE} {FIX_PORT}"),
    ));
}

fn replies(probe: &ProbeFigures, found: &mut Vec<Finding>) {
    let (Some(p50), Some(p99)) = (probe.latency(0.5), probe.latency(0.99)) else {
        return;
    };
    if p50 <= SLOW_REPLY_MEDIAN && p99 <= SLOW_REPLY_P99 {
        return;
    }
    found.push(Finding::new(
        "health-slow-replies",
        if p99 > HUNG_REPLY_P99 {
            Severity::Problem
        } else {
            Severity::Warning
        },
        format!(
            "The phone answers slowly: half of its replies took over {} ms, and the slowest 1% over {} ms (a healthy cable: a few ms).",
            p50.as_millis(),
            p99.as_millis()
        ),
        format!("{FIX_UNLOCK} {FIX_CABLE}"),
    ));
}

fn throughput(evidence: &Evidence, probe: &ProbeFigures, found: &mut Vec<Finding>) {
    let (Some(write), Some(read)) = (probe.write_mb_per_s(), probe.read_mb_per_s()) else {
        return;
    };
    let slowest = write.min(read);
    let speed = evidence.device.link.speed_mbps.unwrap_or(480);
    let expected = if speed > 480 {
        USB3_PRACTICAL_MB_PER_S
    } else {
        USB2_PRACTICAL_MB_PER_S
    };
    let severity = if slowest < expected * 0.2 {
        Severity::Problem
    } else if slowest < expected * 0.5 {
        Severity::Warning
    } else {
        return;
    };
    let mut fix = format!("{FIX_CABLE} {FIX_PORT}");
    if speed <= 480 {
        fix.push(' ');
        fix.push_str(FIX_USB3);
    }
    found.push(Finding::new(
        "health-slow-transfer",
        severity,
        format!(
            "Transfers are slow: {write:.1} MB/s to the phone and {read:.1} MB/s back, where this link should carry about {expected:.0} MB/s."
        ),
        fix,
    ));
}

fn errors(evidence: &Evidence, probe: &ProbeFigures, found: &mut Vec<Finding>) {
    if probe.intact == Some(false) {
        found.push(Finding::new(
            "health-data-mismatch",
            Severity::Problem,
            "The test file came back different from what was sent: this connection damages data.",
            format!("Do not restore over this connection. {FIX_CABLE} {FIX_PORT}"),
        ));
    }
    let Some(first) = probe.errors.first() else {
        return;
    };
    if first.code == "device-locked" {
        found.push(Finding::new(
            "device-locked",
            Severity::Problem,
            "The phone is locked, so it refused the test transfer.",
            FIX_UNLOCK,
        ));
        return;
    }
    let blocked = evidence.host == HostOs::Windows
        && evidence.device.platform == Platform::Ios
        && matches!(first.code, "usbmuxd-unavailable" | "device-io");
    let fix = if blocked {
        format!("{FIX_WINDOWS_SECURITY} {FIX_CABLE}")
    } else if first.code == "device-timeout" {
        format!("{FIX_UNLOCK} {FIX_CABLE} {FIX_PORT}")
    } else {
        format!("{FIX_CABLE} {FIX_PORT}")
    };
    found.push(Finding::new(
        "health-transport-error",
        Severity::Problem,
        format!(
            "The test transfer failed: {}{}",
            first.message,
            if probe.errors.len() > 1 {
                format!(" (and {} more errors)", probe.errors.len() - 1)
            } else {
                String::new()
            }
        ),
        fix,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Link;
    use crate::device::health::figures::{ProbeError, ProbePlan};
    use crate::device::usb::UsbPhoneKind;

    fn iphone(model: &str, speed: u32) -> Device {
        Device {
            name: Some("Sam's iPhone".into()),
            model: Some(model.into()),
            os_version: Some("18.1".into()),
            link: Link {
                speed_mbps: Some(speed),
                via_hub: Some(false),
            },
            ..Device::sample(Platform::Ios, "00008130-0001")
        }
    }

    /// A healthy probe: 2 ms round trips, 32 MB each way at 32 MB/s.
    fn healthy_probe() -> ProbeFigures {
        let mut probe = ProbeFigures::new(&ProbePlan::default());
        probe.payload_bytes = 32_000_000;
        probe.round_trips = vec![Duration::from_millis(2); 50];
        probe.write = Some(Duration::from_secs(1));
        probe.read = Some(Duration::from_secs(1));
        probe.intact = Some(true);
        probe.cleaned_up = true;
        probe
    }

    fn evidence<'a>(device: &'a Device, probe: Option<&'a ProbeFigures>) -> Evidence<'a> {
        Evidence {
            device,
            usb: None,
            flaps: FlapCount {
                window: Duration::from_secs(300),
                ..FlapCount::default()
            },
            probe,
            host: HostOs::Linux,
        }
    }

    fn codes(found: &[Finding]) -> Vec<&'static str> {
        found.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_healthy_link_is_good_with_nothing_to_fix() {
        let device = iphone("iPhone 14 Pro", 480);
        let probe = healthy_probe();
        let found = findings(&evidence(&device, Some(&probe)));
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(Grade::of(&found), Grade::Good);
    }

    #[test]
    fn a_usb3_iphone_on_usb2_is_fair_and_says_5_to_10_times_slower() {
        let device = iphone("iPhone 15 Pro", 480);
        let probe = healthy_probe();
        let found = findings(&evidence(&device, Some(&probe)));
        assert_eq!(codes(&found), vec!["health-usb2-link"]);
        assert!(
            found[0]
                .message
                .starts_with("USB 2 cable or port: the restore will be 5–10× slower")
        );
        assert!(found[0].fix.contains("USB 3 port"));
        assert_eq!(Grade::of(&found), Grade::Fair);
        // The same phone at 10 Gb/s is fine.
        let fast = iphone("iPhone 15 Pro", 10_000);
        let mut quick = healthy_probe();
        quick.write = Some(Duration::from_millis(200));
        quick.read = Some(Duration::from_millis(200));
        assert!(findings(&evidence(&fast, Some(&quick))).is_empty());
    }

    #[test]
    fn a_slow_transfer_is_poor_below_a_fifth_and_fair_below_half() {
        let device = iphone("iPhone 14 Pro", 480);
        let mut probe = healthy_probe();
        probe.write = Some(Duration::from_secs(16)); // 2 MB/s
        let found = findings(&evidence(&device, Some(&probe)));
        assert_eq!(codes(&found), vec!["health-slow-transfer"]);
        assert_eq!(found[0].severity, Severity::Problem);
        assert!(
            found[0].message.contains("2.0 MB/s to the phone"),
            "{}",
            found[0].message
        );
        assert!(found[0].fix.contains("another cable"));
        assert_eq!(Grade::of(&found), Grade::Poor);

        probe.write = Some(Duration::from_secs(4)); // 8 MB/s
        let found = findings(&evidence(&device, Some(&probe)));
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(Grade::of(&found), Grade::Fair);
    }

    #[test]
    fn flapping_is_a_warning_once_and_a_problem_after() {
        let device = iphone("iPhone 14 Pro", 480);
        let mut seen = evidence(&device, None);
        seen.flaps.detaches = 1;
        let found = findings(&seen);
        assert_eq!(codes(&found), vec!["health-flapping"]);
        assert!(found[0].message.contains("once in the last 5 minutes"));
        assert_eq!(Grade::of(&found), Grade::Fair);
        seen.flaps.detaches = 3;
        let found = findings(&seen);
        assert!(found[0].message.contains("3 times"));
        seen.flaps.window = Duration::from_secs(6);
        assert!(
            findings(&seen)[0]
                .message
                .contains("3 times in the last 6 seconds")
        );
        assert_eq!(Grade::of(&found), Grade::Poor);
    }

    #[test]
    fn slow_replies_and_damaged_data() {
        let device = iphone("iPhone 14 Pro", 480);
        let mut probe = healthy_probe();
        probe.round_trips = vec![Duration::from_millis(40); 50];
        probe.intact = Some(false);
        let found = findings(&evidence(&device, Some(&probe)));
        assert_eq!(
            codes(&found),
            vec!["health-data-mismatch", "health-slow-replies"]
        );
        assert!(found[0].fix.starts_with("Do not restore"));
    }

    #[test]
    fn errors_name_their_fix_per_cause_and_system() {
        let device = iphone("iPhone 14 Pro", 480);
        let mut probe = healthy_probe();
        probe.write = None;
        probe.read = None;
        probe.errors = vec![ProbeError {
            code: "device-locked",
            message: "the phone is locked".into(),
        }];
        let found = findings(&evidence(&device, Some(&probe)));
        assert_eq!(codes(&found), vec!["device-locked"]);
        assert!(found[0].fix.starts_with("Unlock the phone"));

        probe.errors[0] = ProbeError {
            code: "device-io",
            message: "connection reset".into(),
        };
        let mut on_windows = evidence(&device, Some(&probe));
        on_windows.host = HostOs::Windows;
        let found = findings(&on_windows);
        assert_eq!(codes(&found), vec!["health-transport-error"]);
        assert!(found[0].fix.contains("Security software"));
        let found = findings(&evidence(&device, Some(&probe)));
        assert!(!found[0].fix.contains("Security software"));
        assert!(found[0].message.contains("connection reset"));
    }

    #[test]
    fn a_phone_that_is_not_ready_says_what_to_do() {
        let mut device = iphone("iPhone 14 Pro", 480);
        device.state = DeviceState::TrustPending;
        let found = findings(&evidence(&device, None));
        assert_eq!(codes(&found), vec!["device-trust-pending"]);
        assert!(found[0].fix.contains("Trust"), "{}", found[0].fix);
        assert_eq!(Grade::of(&found), Grade::Poor);
    }

    #[test]
    fn hub_is_noted_and_autosuspend_warned_with_the_file_to_change() {
        let mut device = iphone("iPhone 14 Pro", 480);
        device.link.via_hub = Some(true);
        let usb = UsbPhone {
            port_chain: vec![1, 3],
            autosuspend: Some(Autosuspend::Auto),
            sysfs_path: Some("/sys/bus/usb/devices/1-1.3".into()),
            ..UsbPhone::sample(UsbPhoneKind::Iphone)
        };
        let mut seen = evidence(&device, None);
        seen.usb = Some(&usb);
        let found = findings(&seen);
        assert_eq!(
            codes(&found),
            vec!["usb-autosuspend-auto", "health-via-hub"]
        );
        assert!(
            found[0]
                .fix
                .contains("/sys/bus/usb/devices/1-1.3/power/control")
        );
        assert!(found[1].fix.contains("directly on the computer"));
        assert_eq!(Grade::of(&found), Grade::Fair);
    }

    #[test]
    fn every_finding_code_has_an_explanation() {
        for code in CODES {
            assert!(explain::explain(code).is_some(), "{code} has no entry");
        }
    }

    #[test]
    fn a_usb1_link_is_poor() {
        let device = iphone("iPhone 14 Pro", 12);
        let found = findings(&evidence(&device, None));
        assert_eq!(codes(&found), vec!["health-usb1-link"]);
        assert_eq!(Grade::of(&found), Grade::Poor);
    }
}
