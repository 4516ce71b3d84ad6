//! Linux: udev rules for phones. An iPhone rule (Apple's vendor id 05ac, as usbmuxd's
//! 39-usbmuxd.rules has) starts usbmuxd when an iPhone is plugged in; an Android rule (an
//! ADB interface or an Android maker's vendor id, with uaccess, a group or a mode, as
//! 51-android.rules has) lets this account open the phone, which the adb server needs.
//!
//! Rules are read as text, not evaluated: enough to say whether such a rule is installed.

use super::Check;
use crate::device::usb::vendors::android_vendor;
use crate::finding::{Finding, Severity};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const IPHONE: (&str, &str) = ("udev-iphone-rules", "udev rules for iPhones");
const ANDROID: (&str, &str) = ("udev-android-rules", "udev rules for Android phones");
/// Rule files are a few kilobytes; anything far larger is not one.
const MAX_RULES_FILE: u64 = 1 << 20;

/// The rule files that matter for phones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneRules {
    /// How many of the rule folders exist.
    pub folders: usize,
    /// Files with a rule for Apple devices.
    pub iphone: Vec<PathBuf>,
    /// Files that give access to Android phones.
    pub android: Vec<PathBuf>,
}

/// Reads the rule folders, most important first. As in udev, a file in an earlier folder
/// hides a file of the same name in a later one (an empty file or a link to /dev/null
/// there turns the rule off).
pub fn scan(dirs: &[PathBuf]) -> PhoneRules {
    let mut rules = PhoneRules::default();
    let mut seen = HashSet::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        rules.folders += 1;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rules"))
            .collect();
        files.sort();
        for file in files {
            let Some(name) = file.file_name().map(|n| n.to_owned()) else {
                continue;
            };
            if !seen.insert(name) {
                continue;
            }
            let text = read_rules(&file);
            if is_iphone_rule(&text) {
                rules.iphone.push(file.clone());
            }
            if is_android_access_rule(&text) {
                rules.android.push(file);
            }
        }
    }
    rules
}

fn read_rules(file: &Path) -> String {
    let small = std::fs::metadata(file).is_ok_and(|m| m.len() <= MAX_RULES_FILE);
    if !small {
        return String::new();
    }
    std::fs::read(file)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The lines that are rules (not comments), lower-cased.
fn rule_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// A rule about Apple devices: `ATTR{idVendor}=="05ac"` or `ENV{PRODUCT}=="5ac/…"`.
pub fn is_iphone_rule(text: &str) -> bool {
    let text = text.to_lowercase();
    rule_lines(&text).any(|l| l.contains("\"05ac\"") || l.contains("\"5ac/"))
}

/// A file that names Android phones (the ADB interface ff/42/01, adb's own marker, or an
/// Android maker's vendor id) and gives someone access (uaccess, a group or a mode).
pub fn is_android_access_rule(text: &str) -> bool {
    let text = text.to_lowercase();
    let names_android = rule_lines(&text).any(|l| {
        l.contains("ff4201")
            || l.contains("ff/42/1")
            || l.contains("adb_user")
            || vendor_ids(l).any(|id| android_vendor(id).is_some())
    });
    let gives_access = rule_lines(&text)
        .any(|l| l.contains("uaccess") || l.contains("group=\"") || l.contains("mode=\""));
    names_android && gives_access
}

/// The vendor ids a rule line matches (`idvendor}=="18d1"`, `id_vendor_id}=="18d1"`).
fn vendor_ids(line: &str) -> impl Iterator<Item = u16> + '_ {
    ["idvendor}==\"", "id_vendor_id}==\""]
        .into_iter()
        .flat_map(move |key| line.match_indices(key).map(move |(at, _)| at + key.len()))
        .filter_map(move |start| line.get(start..start + 4))
        .filter_map(|hex| u16::from_str_radix(hex, 16).ok())
}

/// The two rule checks.
pub fn check(dirs: &[PathBuf]) -> Vec<Check> {
    let rules = scan(dirs);
    if rules.folders == 0 {
        let finding = |what: &str| {
            Finding::new(
                "doctor-udev-rules-missing",
                Severity::Info,
                format!(
                    "no udev rule folder exists here ({what}): this system does not seem to \
                     use udev, as in a container"
                ),
                "Nothing is needed inside a container. On the computer the phone is plugged \
                 into, install the rules as this check says there.",
            )
        };
        return vec![
            Check::found(IPHONE.0, IPHONE.1, finding("iPhones")),
            Check::found(ANDROID.0, ANDROID.1, finding("Android phones")),
        ];
    }
    vec![
        match rules.iphone.first() {
            Some(file) => Check::ok(IPHONE.0, IPHONE.1, file.display().to_string()),
            None => Check::found(
                IPHONE.0,
                IPHONE.1,
                Finding::new(
                    "doctor-udev-rules-missing",
                    Severity::Warning,
                    "no udev rule for iPhones: usbmuxd will not start by itself when an \
                     iPhone is plugged in",
                    "Install usbmuxd, which brings the rule (39-usbmuxd.rules): \
                     `sudo apt install usbmuxd`, or `sudo apt install --reinstall usbmuxd` if \
                     it is installed. Then unplug the iPhone and plug it in again.",
                ),
            ),
        },
        match rules.android.first() {
            Some(file) => Check::ok(ANDROID.0, ANDROID.1, file.display().to_string()),
            None => Check::found(
                ANDROID.0,
                ANDROID.1,
                Finding::new(
                    "doctor-udev-rules-missing",
                    Severity::Warning,
                    "no udev rule gives your account access to Android phones: adb may list \
                     a plugged-in phone as \"no permissions\"",
                    "Install Plugback's package, which brings its own rules \
                     (70-plugback.rules), or the Android rules: \
                     `sudo apt install android-sdk-platform-tools-common` on Debian and Ubuntu \
                     (it brings 51-android.rules), or your distribution's android-udev-rules \
                     package. Then unplug the phone and plug it in again.",
                ),
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const USBMUXD_RULES: &str = "# usbmuxd\nSUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", \
        ENV{PRODUCT}==\"5ac/12[9a][0-9a-f]/*|5ac/8600/*\", ACTION==\"add\", OWNER=\"usbmux\"\n";
    const ANDROID_RULES: &str = r#"SUBSYSTEM!="usb", GOTO="end"
SUBSYSTEM=="usb", ATTR{idVendor}=="18d1", ATTR{idProduct}=="4ee7", ENV{adb_user}="yes"
ENV{adb_user}=="yes", MODE="0660", GROUP="plugdev", TAG+="uaccess"
LABEL="end"
"#;

    fn folders(root: &Path) -> Vec<PathBuf> {
        let dirs: Vec<PathBuf> = ["etc", "run", "lib"].iter().map(|d| root.join(d)).collect();
        for dir in &dirs {
            std::fs::create_dir_all(dir).unwrap();
        }
        dirs
    }

    #[test]
    fn the_debian_rules_are_found() {
        let root = tempfile::tempdir().unwrap();
        let dirs = folders(root.path());
        std::fs::write(dirs[2].join("39-usbmuxd.rules"), USBMUXD_RULES).unwrap();
        std::fs::write(dirs[2].join("51-android.rules"), ANDROID_RULES).unwrap();
        std::fs::write(
            dirs[2].join("70-other.rules"),
            "KERNEL==\"sda\", MODE=\"0600\"",
        )
        .unwrap();
        let rules = scan(&dirs);
        assert_eq!(rules.folders, 3);
        assert_eq!(rules.iphone, [dirs[2].join("39-usbmuxd.rules")]);
        assert_eq!(rules.android, [dirs[2].join("51-android.rules")]);
        let checks = check(&dirs);
        assert!(checks.iter().all(|c| c.code.is_none()), "{checks:?}");
    }

    #[test]
    fn a_file_in_etc_hides_the_packaged_one() {
        let root = tempfile::tempdir().unwrap();
        let dirs = folders(root.path());
        std::fs::write(dirs[2].join("51-android.rules"), ANDROID_RULES).unwrap();
        std::fs::write(dirs[0].join("51-android.rules"), "").unwrap();
        let rules = scan(&dirs);
        assert!(rules.android.is_empty(), "{rules:?}");
        let checks = check(&dirs);
        let android = checks.iter().find(|c| c.id == ANDROID.0).unwrap();
        assert_eq!(android.code, Some("doctor-udev-rules-missing"));
        assert!(
            android
                .fix
                .as_deref()
                .unwrap()
                .contains("android-sdk-platform-tools-common")
        );
        let iphone = checks.iter().find(|c| c.id == IPHONE.0).unwrap();
        assert!(
            iphone
                .fix
                .as_deref()
                .unwrap()
                .contains("apt install usbmuxd")
        );
    }

    #[test]
    fn an_interface_rule_with_uaccess_counts_and_comments_do_not() {
        assert!(is_android_access_rule(
            "SUBSYSTEM==\"usb\", ENV{ID_USB_INTERFACES}==\"*:ff4201:*\", TAG+=\"uaccess\""
        ));
        assert!(is_android_access_rule(
            "SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"04E8\", MODE=\"0666\""
        ));
        // Names a phone but gives nobody access.
        assert!(!is_android_access_rule(
            "ATTR{idVendor}==\"18d1\", ENV{adb_user}=\"yes\""
        ));
        // An unknown vendor with a mode.
        assert!(!is_android_access_rule(
            "ATTR{idVendor}==\"1234\", MODE=\"0666\""
        ));
        assert!(!is_android_access_rule(
            "# ATTR{idVendor}==\"18d1\", TAG+=\"uaccess\"\nKERNEL==\"sda\", MODE=\"0600\""
        ));
        assert!(is_iphone_rule("ATTR{idVendor}==\"05AC\", TAG+=\"uaccess\""));
        assert!(!is_iphone_rule("# ATTR{idVendor}==\"05ac\""));
    }

    #[test]
    fn no_rule_folder_at_all_is_only_worth_knowing() {
        let root = tempfile::tempdir().unwrap();
        let checks = check(&[root.path().join("absent")]);
        assert_eq!(checks.len(), 2);
        for c in &checks {
            assert_eq!(c.status, super::super::CheckStatus::Info, "{c:?}");
            assert_eq!(c.code, Some("doctor-udev-rules-missing"));
        }
    }
}
