//! The checklist's rules, from facts made by hand.

use super::*;
use crate::backup::android::apk_manifest::AppMinSdk;
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
        app_min_sdk: Vec::new(),
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

/// An Android 14 phone (API level 34) and an Android backup folder whose apps need the
/// given levels (or could not be read).
fn android_app_facts(apps: &[(&str, Result<u32, &str>)]) -> Facts {
    let mut f = facts();
    f.device.platform = Platform::Android;
    f.device.os_version = Some("14".into());
    f.device.sdk = Some(34);
    f.backup = BackupSummary::new("/backups/pixel".into(), BackupKind::AndroidFolder);
    f.backup.os_version = Some("14".into());
    f.backup.snapshot = SnapshotState::Finished;
    f.verify = Ok(VerifyReport::new(BackupKind::AndroidFolder, Depth::Quick));
    f.find_my = None;
    f.app_min_sdk = apps
        .iter()
        .map(|(package, min_sdk)| AppMinSdk {
            package: package.to_string(),
            min_sdk: min_sdk.map_err(str::to_string),
        })
        .collect();
    f
}

fn versions_item(f: &Facts) -> Item {
    Preflight::from_facts(f).item("versions").unwrap().clone()
}

#[test]
fn apps_needing_a_newer_android_than_the_phone_warn_by_name_and_do_not_block() {
    let f = android_app_facts(&[
        ("com.example.notes", Ok(24)),
        ("com.example.photos", Ok(35)),
        ("com.example.maps", Ok(36)),
        ("com.example.clock", Ok(34)),
    ]);
    let preflight = Preflight::from_facts(&f);
    assert!(!preflight.blocked(), "{preflight:?}");
    let item = preflight.item("versions").unwrap();
    assert_eq!(item.status, Status::Warn);
    assert_eq!(
        item.message,
        "2 apps need a newer Android than this phone has (Android 14): com.example.maps \
         (Android 16), com.example.photos (Android 15); the phone will refuse them, everything else is restored, and the report names what was left out."
    );
    assert!(
        item.fix
            .starts_with("Update the phone's Android version first")
    );
    assert!(item.fix.contains("--skip-apps") && item.fix.contains("--only"));
    assert!(
        item.fix.contains("Reinstall the backup's apps"),
        "the window's words too"
    );

    let one = android_app_facts(&[("com.example.photos", Ok(35))]);
    let item = versions_item(&one);
    assert!(
        item.message.starts_with("1 app needs a newer Android")
            && item.message.contains("; the phone will refuse it,"),
        "{}",
        item.message
    );
}

#[test]
fn many_apps_too_new_are_counted_after_the_first_five() {
    let packages: Vec<String> = (0..8).map(|i| format!("com.example.app{i}")).collect();
    let apps: Vec<(&str, Result<u32, &str>)> =
        packages.iter().map(|p| (p.as_str(), Ok(35))).collect();
    let item = versions_item(&android_app_facts(&apps));
    assert_eq!(item.status, Status::Warn);
    assert!(item.message.starts_with("8 apps need"), "{}", item.message);
    assert!(
        item.message
            .contains("com.example.app4 (Android 15), and 3 more;")
    );
    assert!(
        !item.message.contains("com.example.app5"),
        "{}",
        item.message
    );
}

#[test]
fn apps_that_fit_or_cannot_be_read_pass_and_say_so() {
    let fit = versions_item(&android_app_facts(&[
        ("com.example.notes", Ok(24)),
        ("com.example.photos", Ok(34)),
    ]));
    assert_eq!(fit.status, Status::Pass);
    assert_eq!(
        fit.message,
        "The phone's system (14) can take a backup from 14. All 2 of its apps run on Android 14."
    );

    let unreadable = versions_item(&android_app_facts(&[
        ("com.example.notes", Ok(24)),
        (
            "com.example.odd",
            Err("base.apk: its AndroidManifest.xml is not Android binary XML"),
        ),
    ]));
    assert_eq!(unreadable.status, Status::Pass);
    assert!(
        unreadable.message.ends_with(
            "Its app runs on Android 14. Which Android com.example.odd needs could not be read \
             (base.apk: its AndroidManifest.xml is not Android binary XML); the phone will say \
             if it cannot install it."
        ),
        "{}",
        unreadable.message
    );

    // Unreadable apps are told alongside the ones that need a newer Android.
    let both = versions_item(&android_app_facts(&[
        ("com.example.photos", Ok(35)),
        ("com.example.odd", Err("x")),
        ("com.example.odder", Err("y")),
    ]));
    assert_eq!(both.status, Status::Warn);
    assert!(
        both.message
            .contains("Which Android 2 apps need could not be read (com.example.odd: x, …)"),
        "{}",
        both.message
    );

    let mut unknown_phone = android_app_facts(&[("com.example.photos", Ok(35))]);
    unknown_phone.device.sdk = None;
    let item = versions_item(&unknown_phone);
    assert_eq!(item.status, Status::Pass);
    assert!(
        item.message.contains("did not say its Android API level"),
        "{}",
        item.message
    );

    // An iPhone backup's apps are not APKs: nothing is said of them.
    let mut iphone = facts();
    iphone.app_min_sdk = android_app_facts(&[("com.example.photos", Ok(35))]).app_min_sdk;
    assert_eq!(status(&iphone, "versions"), Status::Pass);
}

#[test]
fn api_levels_are_named_as_android_releases() {
    assert_eq!(checks::android_name(21), "Android 5.0");
    assert_eq!(checks::android_name(25), "Android 7.1");
    assert_eq!(checks::android_name(28), "Android 9");
    assert_eq!(checks::android_name(32), "Android 12L");
    assert_eq!(checks::android_name(35), "Android 15");
    assert_eq!(checks::android_name(36), "Android 16");
    assert_eq!(checks::android_name(37), "API level 37");
    assert_eq!(checks::android_name(19), "API level 19");
}
