//! The checklist's rules, from facts made by hand.

use super::*;
use crate::backup::summary::{BackupKind, BackupSummary, SnapshotState};
use crate::backup::verify::{Depth, Problem, ProblemCode, VerifyReport};
use crate::device::health::Grade;
use crate::device::{Battery, Device, DeviceState, Platform, Storage};
use crate::finding::{Finding, Severity};

fn facts() -> Facts {
    let mut backup = BackupSummary::new("/backups/x".into(), BackupKind::Ios);
    backup.os_version = Some("17.5.1".into());
    backup.snapshot = SnapshotState::Finished;
    Facts {
        backup,
        verify: Ok(VerifyReport::new(BackupKind::Ios, Depth::Quick)),
        password_given: false,
        restore_bytes: Some(5_000_000_000),
        device: Device {
            os_version: Some("18.1".into()),
            battery: Battery {
                level: Some(80),
                charging: Some(false),
                temperature_c: Some(31.0),
            },
            storage: Storage {
                free_bytes: Some(20_000_000_000),
                total_bytes: Some(128_000_000_000),
            },
            ..Device::sample(Platform::Ios, "00008030-1")
        },
        find_my: Some(false),
        usb: None,
        health: Some((Grade::Good, Vec::new())),
        power: PowerSource::Mains,
        keep_awake: Ok(()),
        plain_folder: None,
    }
}

fn status(facts: &Facts, id: &str) -> Status {
    Preflight::from_facts(facts)
        .item(id)
        .unwrap_or_else(|| panic!("no {id} item"))
        .status
}

#[test]
fn everything_in_order_passes_and_every_item_that_is_not_a_pass_has_a_fix() {
    let good = Preflight::from_facts(&facts());
    assert!(!good.blocked());
    assert!(
        good.items.iter().all(|i| i.status == Status::Pass),
        "{good:?}"
    );

    let mut bad = facts();
    bad.backup.encrypted = true;
    bad.device.battery.level = Some(20);
    bad.find_my = None;
    bad.power = PowerSource::Battery { percent: Some(30) };
    bad.keep_awake = Err("no system bus".into());
    for item in Preflight::from_facts(&bad).items {
        if item.status != Status::Pass {
            assert!(!item.fix.is_empty(), "{item:?} has no fix");
        }
    }
}

#[test]
fn a_newer_backup_than_the_phone_is_blocked_with_update_the_phone_first() {
    let mut f = facts();
    f.backup.os_version = Some("18.2".into());
    let preflight = Preflight::from_facts(&f);
    let item = preflight.item("versions").unwrap();
    assert_eq!(item.status, Status::Block);
    assert!(item.fix.starts_with("Update the phone first"));
    assert!(preflight.blocked());
    assert!(checks::older("17.5.1", "18.1"));
    assert!(checks::older("18", "18.0.1"));
    assert!(!checks::older("18.1", "18.1.0"));
    assert!(!checks::older("18.10", "18.9"));
}

#[test]
fn the_password_is_needed_and_must_be_right() {
    let mut f = facts();
    f.backup.encrypted = true;
    assert_eq!(status(&f, "backup-password"), Status::Block, "none given");
    f.password_given = true;
    assert_eq!(status(&f, "backup-password"), Status::Pass);
    let mut report = VerifyReport::new(BackupKind::Ios, Depth::Quick);
    report.push(Problem::error(ProblemCode::WrongPassword, "", "wrong"));
    f.verify = Ok(report);
    let preflight = Preflight::from_facts(&f);
    assert_eq!(
        preflight.item("backup-password").unwrap().status,
        Status::Block
    );
    // The wrong password is one problem, told once: not again as a damaged backup.
    assert_eq!(
        preflight.item("backup-verified").unwrap().status,
        Status::Pass
    );
}

#[test]
fn a_damaged_or_unfinished_backup_blocks() {
    let mut f = facts();
    let mut report = VerifyReport::new(BackupKind::Ios, Depth::Quick);
    report.push(Problem::error(
        ProblemCode::BlobMissing,
        "ab/abcd",
        "a file is missing",
    ));
    f.verify = Ok(report);
    let item = Preflight::from_facts(&f)
        .item("backup-verified")
        .unwrap()
        .clone();
    assert_eq!(item.status, Status::Block);
    assert!(item.message.contains("a file is missing"));
    let mut f = facts();
    f.backup.snapshot = SnapshotState::Unfinished;
    assert_eq!(status(&f, "backup-verified"), Status::Block);
}

#[test]
fn phone_state_space_battery_heat_and_find_my() {
    let mut f = facts();
    f.device.state = DeviceState::TrustPending;
    assert_eq!(status(&f, "phone-trusted"), Status::Block);

    let mut f = facts();
    f.device.storage.total_bytes = Some(4_000_000_000);
    assert_eq!(
        status(&f, "phone-space"),
        Status::Block,
        "iPhone: capacity counts"
    );
    let mut f = facts();
    f.device.platform = Platform::Android;
    f.device.storage.free_bytes = Some(1_000_000_000);
    assert_eq!(
        status(&f, "phone-space"),
        Status::Block,
        "Android: free space counts"
    );

    let mut f = facts();
    f.device.battery.level = Some(20);
    assert_eq!(status(&f, "phone-battery"), Status::Warn);
    f.device.battery.charging = Some(true);
    assert_eq!(status(&f, "phone-battery"), Status::Pass);
    f.device.battery.temperature_c = Some(43.0);
    assert_eq!(status(&f, "phone-temperature"), Status::Warn);

    let mut f = facts();
    f.find_my = Some(true);
    assert_eq!(status(&f, "find-my"), Status::Block);
    f.find_my = None;
    let preflight = Preflight::from_facts(&f);
    let item = preflight.item("find-my").unwrap();
    assert_eq!(item.status, Status::Warn);
    assert!(item.message.contains("211"));
    f.device.platform = Platform::Android;
    assert!(Preflight::from_facts(&f).item("find-my").is_none());
}

#[test]
fn connection_and_computer() {
    let mut f = facts();
    f.health = Some((
        Grade::Poor,
        vec![Finding::new(
            "health-flapping",
            Severity::Problem,
            "drops",
            "another cable",
        )],
    ));
    let preflight = Preflight::from_facts(&f);
    let item = preflight.item("cable-health").unwrap();
    assert_eq!(item.status, Status::Warn);
    assert_eq!(item.fix, "another cable");
    assert!(
        !preflight.blocked(),
        "a poor cable warns, it does not block"
    );

    f.power = PowerSource::Battery { percent: None };
    assert_eq!(status(&f, "computer-power"), Status::Warn);
    f.keep_awake = Err("no bus".into());
    assert_eq!(status(&f, "keep-awake"), Status::Warn);
    let mut usb = crate::device::usb::UsbPhone::sample(crate::device::usb::UsbPhoneKind::Iphone);
    usb.autosuspend = Some(crate::device::usb::Autosuspend::Auto);
    usb.sysfs_path = Some("/sys/bus/usb/devices/1-2".into());
    f.usb = Some(usb);
    let preflight = Preflight::from_facts(&f);
    let item = preflight.item("usb-autosuspend").unwrap();
    assert_eq!(item.status, Status::Warn);
    assert!(item.fix.contains("/sys/bus/usb/devices/1-2/power/control"));
}

/// An Android phone and a plain folder of files (a DCIM copy) instead of a backup.
fn plain_folder_facts(files: u64, left_out: u64) -> Facts {
    let mut f = facts();
    f.device.platform = Platform::Android;
    f.backup = BackupSummary::new("/home/me/DCIM copy".into(), BackupKind::AndroidFolder);
    f.verify = Err("a folder of files, not a backup".into());
    f.restore_bytes = Some(3_000_000);
    f.plain_folder = Some(crate::preflight::PlainFolder {
        files,
        bytes: 3_000_000,
        left_out,
    });
    f
}

#[test]
fn a_plain_folder_of_files_is_not_blocked_for_not_being_a_backup() {
    let f = plain_folder_facts(12, 0);
    let preflight = Preflight::from_facts(&f);
    assert!(!preflight.blocked(), "{preflight:?}");
    let backup = preflight.item("backup-verified").unwrap();
    assert_eq!(backup.status, Status::Pass);
    assert!(backup.message.contains("12 files"), "{}", backup.message);
    assert_eq!(status(&f, "versions"), Status::Pass);
    assert_eq!(status(&f, "backup-password"), Status::Pass);

    let with_links = plain_folder_facts(12, 2);
    let item = Preflight::from_facts(&with_links)
        .item("backup-verified")
        .unwrap()
        .clone();
    assert_eq!(item.status, Status::Warn);
    assert!(item.message.contains("2 items"), "{}", item.message);

    let empty = plain_folder_facts(0, 0);
    assert_eq!(status(&empty, "backup-verified"), Status::Block);
    let mut full = plain_folder_facts(12, 0);
    full.device.storage.free_bytes = Some(1_000_000);
    assert_eq!(status(&full, "phone-space"), Status::Block);
}
