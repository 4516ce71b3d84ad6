//! Whether this computer runs on mains power: a laptop on battery may sleep or die before
//! a long restore ends.

use serde::Serialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PowerSource {
    Mains,
    /// Running on its battery, at this percentage where known.
    Battery {
        percent: Option<u8>,
    },
    /// The system does not say (no power-supply information).
    Unknown,
}

impl PowerSource {
    /// This computer's power source now.
    pub fn current() -> PowerSource {
        if cfg!(target_os = "linux") {
            from_sysfs(Path::new("/sys/class/power_supply"))
        } else {
            PowerSource::Unknown
        }
    }
}

/// Reads Linux's power-supply folder: mains when an AC adapter is online or when there is
/// no battery at all (a desktop); battery when a battery discharges with no adapter online.
pub fn from_sysfs(dir: &Path) -> PowerSource {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return PowerSource::Unknown;
    };
    let read = |path: &Path, name: &str| {
        std::fs::read_to_string(path.join(name))
            .map(|s| s.trim().to_owned())
            .ok()
    };
    let mut mains_online = false;
    let mut battery: Option<Option<u8>> = None;
    for entry in entries.flatten() {
        let path = entry.path();
        match read(&path, "type").as_deref() {
            Some("Mains") => mains_online |= read(&path, "online").as_deref() == Some("1"),
            Some("Battery") if read(&path, "scope").as_deref() != Some("Device") => {
                battery = Some(read(&path, "capacity").and_then(|c| c.parse().ok()));
            }
            _ => {}
        }
    }
    match (mains_online, battery) {
        (true, _) | (false, None) => PowerSource::Mains,
        (false, Some(percent)) => PowerSource::Battery { percent },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(root: &Path, name: &str, files: &[(&str, &str)]) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), format!("{text}\n")).unwrap();
        }
    }

    #[test]
    fn laptop_on_battery_on_mains_and_a_desktop() {
        let dir = tempfile::tempdir().unwrap();
        supply(dir.path(), "AC", &[("type", "Mains"), ("online", "0")]);
        supply(
            dir.path(),
            "BAT0",
            &[("type", "Battery"), ("capacity", "42")],
        );
        // A wireless mouse's battery is not the computer's.
        supply(
            dir.path(),
            "hid-mouse",
            &[("type", "Battery"), ("scope", "Device")],
        );
        assert_eq!(
            from_sysfs(dir.path()),
            PowerSource::Battery { percent: Some(42) }
        );
        supply(dir.path(), "AC", &[("online", "1")]);
        assert_eq!(from_sysfs(dir.path()), PowerSource::Mains);

        let desktop = tempfile::tempdir().unwrap();
        supply(
            desktop.path(),
            "hid-mouse",
            &[("type", "Battery"), ("scope", "Device")],
        );
        assert_eq!(from_sysfs(desktop.path()), PowerSource::Mains);
        assert_eq!(
            from_sysfs(&desktop.path().join("missing")),
            PowerSource::Unknown
        );
    }
}
