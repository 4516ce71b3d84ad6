//! One device model for both platforms: what the engine, the window and the command line
//! know of a phone plugged into this computer.

use serde::Serialize;

/// Which kind of phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Ios,
    Android,
}

/// Where a phone stands with this computer: each state has guidance for a person in the
/// explanation catalog under [`DeviceState::code`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum DeviceState {
    /// Trusted (iPhone) or authorized (Android): everything can be read.
    Ready,
    /// iPhone: not paired with this computer yet.
    NotPaired,
    /// iPhone: "Trust This Computer?" is showing on the phone.
    TrustPending,
    /// iPhone: the person tapped Don't Trust.
    TrustDenied,
    /// iPhone: locked with a passcode; it must be unlocked to pair.
    PasscodeLocked,
    /// Android: "Allow USB debugging?" not answered yet (or denied).
    Unauthorized,
    /// Android: the adb connection exists but the phone does not answer.
    Offline,
    /// Android: the computer may not open the USB device (udev rules, plugdev group).
    NoPermissions(String),
    /// Android: in recovery mode.
    Recovery,
    /// Android: in sideload mode.
    Sideload,
    /// Android: in the bootloader.
    Bootloader,
    /// A state adb reports that Plugback does not know; kept as adb wrote it.
    Other(String),
}

impl DeviceState {
    /// The state as scripts read it: `ready`, `not-paired`, `unauthorized`… (the code
    /// without its `device-` prefix), or adb's own words for a state Plugback does not know.
    pub fn name(&self) -> &str {
        match self {
            DeviceState::Other(raw) => raw,
            known => known.code().trim_start_matches("device-"),
        }
    }

    /// Stable code, for scripts and the explanation catalog.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceState::Ready => "device-ready",
            DeviceState::NotPaired => "device-not-paired",
            DeviceState::TrustPending => "device-trust-pending",
            DeviceState::TrustDenied => "device-trust-denied",
            DeviceState::PasscodeLocked => "device-passcode-locked",
            DeviceState::Unauthorized => "device-unauthorized",
            DeviceState::Offline => "device-offline",
            DeviceState::NoPermissions(_) => "device-no-permissions",
            DeviceState::Recovery => "device-recovery",
            DeviceState::Sideload => "device-sideload",
            DeviceState::Bootloader => "device-bootloader",
            DeviceState::Other(_) => "device-other-state",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Battery {
    /// Percent, 0 to 100.
    pub level: Option<u8>,
    pub charging: Option<bool>,
    pub temperature_c: Option<f32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Storage {
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The negotiated USB speed, where known (480 = USB 2 high speed).
    pub speed_mbps: Option<u32>,
    /// True when a hub sits between the phone and the computer; None where unknown.
    pub via_hub: Option<bool>,
}

/// One phone, joined from its USB presence and its transport.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    /// Stable id: the UDID of an iPhone, the serial of an Android phone.
    pub id: String,
    pub platform: Platform,
    /// The name the owner gave it, where the phone tells.
    pub name: Option<String>,
    /// Marketing model name ("iPhone 14 Pro", "Pixel 8"), or the raw identifier.
    pub model: Option<String>,
    pub os_version: Option<String>,
    /// Android: the API level (`ro.build.version.sdk`, 34 for Android 14).
    pub sdk: Option<u32>,
    pub serial: Option<String>,
    pub state: DeviceState,
    pub battery: Battery,
    pub storage: Storage,
    pub link: Link,
    /// iPhone: backups will be encrypted (lockdown WillEncrypt).
    pub will_encrypt: Option<bool>,
}

#[cfg(test)]
impl Device {
    /// A ready phone known only by `id`: tests set what they check.
    pub(crate) fn sample(platform: Platform, id: &str) -> Device {
        Device {
            id: id.into(),
            platform,
            name: None,
            model: None,
            os_version: None,
            sdk: None,
            serial: None,
            state: DeviceState::Ready,
            battery: Battery::default(),
            storage: Storage::default(),
            link: Link::default(),
            will_encrypt: None,
        }
    }
}

/// What the engine publishes about phones.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceEvent {
    Attached(Device),
    Changed(Device),
    Detached { id: String, platform: Platform },
}
