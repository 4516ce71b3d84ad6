//! Linux details nusb does not give: a USB device's autosuspend setting, and link speeds
//! nusb cannot name. Each reads one attribute of the device's sysfs directory (such as
//! /sys/bus/usb/devices/1-2), so tests use a fake directory tree.

// Used only on Linux; kept building everywhere so its tests run on every system.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::Path;

use super::descriptor::{Autosuspend, LinkSpeed};

/// The device's `power/control`: `on` keeps it awake, `auto` lets the kernel suspend it
/// when idle. None when the file is missing, unreadable or holds something else.
pub fn autosuspend(device_dir: &Path) -> Option<Autosuspend> {
    let text = std::fs::read_to_string(device_dir.join("power").join("control")).ok()?;
    match text.trim() {
        "on" => Some(Autosuspend::Off),
        "auto" => Some(Autosuspend::Auto),
        _ => None,
    }
}

/// The device's `speed` in Mbit/s as the kernel writes it, including rates newer than
/// nusb's `Speed` names (20000 for USB 3.2 2x2).
pub fn speed(device_dir: &Path) -> Option<LinkSpeed> {
    let text = std::fs::read_to_string(device_dir.join("speed")).ok()?;
    LinkSpeed::from_sysfs(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    /// A device directory as the kernel lays it out, with the given attribute files.
    fn fake_device(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = root.join("sys/bus/usb/devices").join(name);
        fs::create_dir_all(dir.join("power")).expect("create fake sysfs");
        for (file, text) in files {
            fs::write(dir.join(file), text).expect("write fake attribute");
        }
        dir
    }

    #[test]
    fn autosuspend_on_and_auto() {
        let root = tempfile::tempdir().expect("tempdir");
        let awake = fake_device(root.path(), "1-2", &[("power/control", "on\n")]);
        let idle = fake_device(root.path(), "1-3.1", &[("power/control", "auto\n")]);
        assert_eq!(autosuspend(&awake), Some(Autosuspend::Off));
        assert_eq!(autosuspend(&idle), Some(Autosuspend::Auto));
    }

    #[test]
    fn autosuspend_unknown_when_missing_or_odd() {
        let root = tempfile::tempdir().expect("tempdir");
        let missing = fake_device(root.path(), "1-4", &[]);
        let odd = fake_device(root.path(), "1-5", &[("power/control", "sometimes\n")]);
        assert_eq!(autosuspend(&missing), None);
        assert_eq!(autosuspend(&odd), None);
        assert_eq!(autosuspend(&root.path().join("no/such/device")), None);
    }

    #[test]
    fn speed_reads_what_the_kernel_writes() {
        let root = tempfile::tempdir().expect("tempdir");
        let usb2 = fake_device(root.path(), "1-2", &[("speed", "480\n")]);
        let usb32 = fake_device(root.path(), "2-1", &[("speed", "20000\n")]);
        let usb1 = fake_device(root.path(), "3-1", &[("speed", "1.5\n")]);
        let none = fake_device(root.path(), "3-2", &[]);
        assert_eq!(speed(&usb2), Some(LinkSpeed::High));
        assert_eq!(speed(&usb32).map(LinkSpeed::mbps), Some(20000));
        assert_eq!(speed(&usb1), Some(LinkSpeed::Low));
        assert_eq!(speed(&none), None);
    }
}
