//! Linux: whether this account may open Android phones on USB, which the adb server (it
//! runs as this account) needs. iPhones are opened by usbmuxd, a system service, so this
//! account needs no access to them.
//!
//! With an Android phone plugged in, its device node is opened for reading and writing and
//! closed at once: opening claims nothing, so the adb server keeps the phone, and it is the
//! same test the kernel applies to adb. Without one, the account's groups and session tell
//! whether the rules would give it access.

use super::{Check, DoctorEnv};
use crate::device::usb::{UsbPhone, UsbPhoneKind};
use crate::device::{DeviceError, Platform};
use crate::finding::{Finding, Severity};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

const ID: &str = "usb-access";
const NAME: &str = "USB access to Android phones";
/// The group the Android rules (51-android.rules) give phones to.
const PHONE_GROUP: &str = "plugdev";

/// This process's user and groups, from /proc/self/status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub uid: Option<u32>,
    pub groups: Vec<u32>,
}

/// Reads the `Uid:` (effective, the second number) and `Groups:` lines.
pub fn parse_status(text: &str) -> Account {
    let mut account = Account::default();
    for line in text.lines() {
        if let Some(ids) = line.strip_prefix("Uid:") {
            account.uid = ids.split_whitespace().nth(1).and_then(|n| n.parse().ok());
        } else if let Some(ids) = line.strip_prefix("Groups:") {
            account.groups = ids
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
        }
    }
    account
}

/// The number of group `name` in a group database (`name:x:46:members`).
pub fn group_id(database: &str, name: &str) -> Option<u32> {
    database.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == name)
            .then(|| fields.nth(1)?.trim().parse().ok())
            .flatten()
    })
}

/// The device node of a USB device from its sysfs folder: /dev/bus/usb/BUS/DEVICE.
pub fn device_node(sysfs_dir: &Path, dev_bus_usb: &Path) -> Option<PathBuf> {
    let number = |file: &str| -> Option<u32> {
        std::fs::read_to_string(sysfs_dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let (bus, device) = (number("busnum")?, number("devnum")?);
    Some(
        dev_bus_usb
            .join(format!("{bus:03}"))
            .join(format!("{device:03}")),
    )
}

/// Whether this account may open a device node.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Access {
    Allowed,
    Denied(PathBuf),
    /// No node to try (no /dev/bus/usb, as in a container).
    Unknown,
}

fn try_open(node: &Path) -> Access {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(node)
    {
        Ok(_) => Access::Allowed,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Access::Denied(node.to_path_buf()),
        Err(_) => Access::Unknown,
    }
}

/// The phones the adb server must open itself.
fn needs_account_access(phone: &UsbPhone) -> bool {
    matches!(
        phone.kind,
        UsbPhoneKind::AndroidAdb | UsbPhoneKind::AndroidFastboot
    )
}

/// The USB access check, from the USB scan doctor already made.
pub fn check(env: &DoctorEnv, usb: &Result<Vec<UsbPhone>, DeviceError>) -> Check {
    let phones = match usb {
        Ok(phones) => phones,
        Err(e) => return not_visible(&format!("{e}"), env),
    };
    let iphones = if phones.iter().any(|p| p.platform() == Platform::Ios) {
        "; iPhones are opened by usbmuxd, not by your account"
    } else {
        ""
    };
    let androids: Vec<&UsbPhone> = phones.iter().filter(|p| needs_account_access(p)).collect();
    if androids.is_empty() {
        return without_phone(env, iphones);
    }
    let mut denied = Vec::new();
    let mut allowed = 0;
    for phone in &androids {
        let access = phone
            .sysfs_path
            .as_deref()
            .and_then(|dir| device_node(dir, &env.dev_bus_usb))
            .map_or(Access::Unknown, |node| try_open(&node));
        match access {
            Access::Allowed => allowed += 1,
            Access::Denied(node) => denied.push(format!(
                "the {} phone at {} ({})",
                phone.maker.unwrap_or("Android"),
                phone.location(),
                node.display()
            )),
            Access::Unknown => {}
        }
    }
    if !denied.is_empty() {
        return Check::found(
            ID,
            NAME,
            Finding::new(
                "doctor-no-usb-access",
                Severity::Problem,
                format!("your account may not open {}", denied.join(", ")),
                access_fix(),
            ),
        );
    }
    if allowed == 0 {
        return not_visible("the phones' device nodes cannot be found", env);
    }
    Check::ok(
        ID,
        NAME,
        format!(
            "your account can open the Android phone{} plugged in{iphones}",
            if allowed == 1 { "" } else { "s" }
        ),
    )
}

/// No Android phone plugged in: would the rules give this account access to one?
fn without_phone(env: &DoctorEnv, iphones: &str) -> Check {
    let account = parse_status(&std::fs::read_to_string(&env.process_status).unwrap_or_default());
    let in_group = std::fs::read_to_string(&env.group_file)
        .ok()
        .and_then(|db| group_id(&db, PHONE_GROUP))
        .is_some_and(|gid| account.groups.contains(&gid));
    let why = if account.uid == Some(0) {
        Some("Plugback runs as root".to_owned())
    } else if in_group {
        Some(format!(
            "your account is in the {PHONE_GROUP} group, which the Android rules give phones to"
        ))
    } else {
        env.seat.as_ref().map(|seat| {
            format!(
                "you are in a local session (seat {seat}), which udev's uaccess rules give \
                 phones to"
            )
        })
    };
    match why {
        Some(why) => Check::ok(
            ID,
            NAME,
            format!("no Android phone is plugged in; {why}{iphones}"),
        ),
        None => Check::found(
            ID,
            NAME,
            Finding::new(
                "doctor-no-usb-access",
                Severity::Warning,
                format!(
                    "your account is not in the {PHONE_GROUP} group and this is not a local \
                     desktop session, so it may not be allowed to open an Android phone{iphones}"
                ),
                access_fix(),
            ),
        ),
    }
}

/// USB cannot be seen at all: worth knowing, nothing to fix here.
fn not_visible(reason: &str, env: &DoctorEnv) -> Check {
    let nodes = if env.dev_bus_usb.exists() {
        String::new()
    } else {
        format!(", and there is no {}", env.dev_bus_usb.display())
    };
    Check::found(
        ID,
        NAME,
        Finding::new(
            "usb-unavailable",
            Severity::Info,
            format!(
                "this computer shows Plugback no USB devices ({reason}{nodes}), as in a \
                 container: access cannot be checked here"
            ),
            "Nothing is needed inside a container. Run plugback doctor on the computer the \
             phone is plugged into to check USB access there.",
        ),
    )
}

fn access_fix() -> String {
    format!(
        "Install the Android udev rules (`sudo apt install android-sdk-platform-tools-common`), \
         add your account to the {PHONE_GROUP} group (`sudo usermod -aG {PHONE_GROUP} $USER`), \
         log out and back in, then unplug the phone and plug it in again."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_from_proc_status() {
        let status = "Name:\tplugback\nUid:\t1000\t1001\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n\
                      Groups:\t24 27 46 1000 \n";
        assert_eq!(
            parse_status(status),
            Account {
                uid: Some(1001),
                groups: vec![24, 27, 46, 1000],
            }
        );
        assert_eq!(parse_status(""), Account::default());
    }

    #[test]
    fn group_numbers_from_the_group_database() {
        let db = "root:x:0:\nplugdevs:x:99:\nplugdev:x:46:alice,bob\nbroken\n";
        assert_eq!(group_id(db, "plugdev"), Some(46));
        assert_eq!(group_id(db, "root"), Some(0));
        assert_eq!(group_id(db, "adbusers"), None);
        assert_eq!(group_id("plugdev:x:not-a-number:", "plugdev"), None);
    }

    #[test]
    fn the_device_node_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("busnum"), "3\n").unwrap();
        std::fs::write(dir.path().join("devnum"), "17\n").unwrap();
        assert_eq!(
            device_node(dir.path(), Path::new("/dev/bus/usb")),
            Some(PathBuf::from("/dev/bus/usb/003/017"))
        );
        std::fs::remove_file(dir.path().join("devnum")).unwrap();
        assert_eq!(device_node(dir.path(), Path::new("/dev/bus/usb")), None);
    }

    fn env_in(root: &Path, status: &str, groups: &str, seat: Option<&str>) -> DoctorEnv {
        let mut env = DoctorEnv::from_system();
        env.process_status = root.join("status");
        env.group_file = root.join("group");
        env.dev_bus_usb = root.join("dev-bus-usb");
        env.seat = seat.map(str::to_owned);
        std::fs::write(&env.process_status, status).unwrap();
        std::fs::write(&env.group_file, groups).unwrap();
        env
    }

    #[test]
    fn without_a_phone_groups_and_sessions_decide() {
        let dir = tempfile::tempdir().unwrap();
        let groups = "plugdev:x:46:\n";
        let user = "Uid:\t1000\t1000\t1000\t1000\nGroups:\t100\n";
        let none: Result<Vec<UsbPhone>, DeviceError> = Ok(Vec::new());

        let outsider = check(&env_in(dir.path(), user, groups, None), &none);
        assert_eq!(outsider.code, Some("doctor-no-usb-access"));
        assert_eq!(outsider.status, super::super::CheckStatus::Warning);
        assert!(outsider.fix.unwrap().contains("usermod -aG plugdev"));

        let member = "Uid:\t1000\t1000\t1000\t1000\nGroups:\t46 100\n";
        let ok = check(&env_in(dir.path(), member, groups, None), &none);
        assert_eq!(ok.code, None, "{ok:?}");
        assert!(ok.detail.contains("plugdev"));

        let seated = check(&env_in(dir.path(), user, groups, Some("seat0")), &none);
        assert_eq!(seated.code, None, "{seated:?}");
        assert!(seated.detail.contains("seat0"));

        let root = check(
            &env_in(dir.path(), "Uid:\t0\t0\t0\t0\n", groups, None),
            &none,
        );
        assert_eq!(root.code, None);
    }

    #[test]
    fn no_usb_view_is_info() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_in(dir.path(), "", "", None);
        let failed = Err(DeviceError::Io(std::io::Error::new(
            ErrorKind::NotFound,
            "/sys/bus/usb/devices not found",
        )));
        let c = check(&env, &failed);
        assert_eq!(c.code, Some("usb-unavailable"));
        assert_eq!(c.status, super::super::CheckStatus::Info);
        assert!(c.detail.contains("/sys/bus/usb"), "{}", c.detail);
    }
}
