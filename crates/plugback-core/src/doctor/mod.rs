//! Checks of this computer: what Plugback needs to see and restore phones.
//!
//! - [`usbmuxd`]: the iPhone service is installed, running and answering.
//! - [`adb`]: Android's adb program is there, runs, and its server answers (never started
//!   from here: doctor only looks).
//! - [`udev`] and [`usb_access`] (Linux): rules that give access to phones, and whether this
//!   account may open them.
//! - [`sleep`] and [`notifications`]: whether Plugback can keep the computer awake during a
//!   restore and tell the person when it ends.
//!
//! Everything it looks at comes from a [`DoctorEnv`], so tests can point it at temporary
//! folders and fake services. Every probe is bounded by a short timeout and the probes run
//! side by side, so doctor ends within seconds anywhere, even in a container without USB,
//! D-Bus or a desktop session.

pub mod adb;
pub mod bounded;
pub mod check;
pub mod notifications;
pub mod sleep;
pub mod udev;
pub mod usb_access;
pub mod usbmuxd;

pub use check::{Check, CheckStatus};

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::usb::{UsbPhone, UsbPresence};
use crate::finding::{self, Finding, Severity};
use serde::Serialize;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The longest wait for one answer from a service (usbmuxd, the adb server, D-Bus).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest run of a program doctor asks (`adb version`).
pub const PROGRAM_TIMEOUT: Duration = Duration::from_secs(5);

/// What doctor looks at. [`DoctorEnv::from_system`] reads the real places.
#[derive(Clone, Debug)]
pub struct DoctorEnv {
    /// Where programs are looked for, in PATH syntax; None = nowhere.
    pub path: Option<OsString>,
    /// Folders of system programs that a person's PATH often lacks (usbmuxd lives in
    /// /usr/sbin on Debian), searched after `path` for usbmuxd.
    pub system_program_dirs: Vec<PathBuf>,
    /// `USBMUXD_SOCKET_ADDRESS` when set and not empty: Plugback then uses that usbmuxd.
    pub usbmuxd_address: Option<String>,
    /// The adb server's port (`ANDROID_ADB_SERVER_PORT`, else 5037).
    pub adb_port: u16,
    /// udev's rule folders, most important first (a file in an earlier folder hides the
    /// file of the same name in a later one, as udev does).
    pub udev_rule_dirs: Vec<PathBuf>,
    /// Where USB device nodes live (/dev/bus/usb).
    pub dev_bus_usb: PathBuf,
    /// The group database (/etc/group), to find plugdev's number.
    pub group_file: PathBuf,
    /// This process's status (/proc/self/status): its user and groups.
    pub process_status: PathBuf,
    /// `XDG_SEAT`: set in a local desktop session, whose person udev's uaccess rules give
    /// access to phones.
    pub seat: Option<String>,
    /// The phones on USB now (normally [`UsbPresence::scan`]).
    pub usb_scan: fn() -> Result<Vec<UsbPhone>, DeviceError>,
    /// Takes and releases a sleep inhibitor; says how (normally [`sleep::inhibit_once`]).
    pub sleep_probe: fn() -> Result<String, String>,
    /// Asks for the notification service; says which (normally
    /// [`notifications::server_information`]).
    pub notification_probe: fn() -> Result<String, String>,
    pub probe_timeout: Duration,
    pub program_timeout: Duration,
}

impl DoctorEnv {
    /// The real environment of this process and computer.
    pub fn from_system() -> DoctorEnv {
        DoctorEnv {
            path: std::env::var_os("PATH"),
            system_program_dirs: ["/usr/sbin", "/sbin", "/usr/local/sbin"]
                .iter()
                .map(PathBuf::from)
                .collect(),
            usbmuxd_address: std::env::var(crate::device::ios::ADDRESS_VARIABLE)
                .ok()
                .filter(|value| !value.trim().is_empty()),
            adb_port: crate::device::android::server::port_from(
                std::env::var("ANDROID_ADB_SERVER_PORT").ok().as_deref(),
            ),
            udev_rule_dirs: [
                "/etc/udev/rules.d",
                "/run/udev/rules.d",
                "/usr/local/lib/udev/rules.d",
                "/lib/udev/rules.d",
                "/usr/lib/udev/rules.d",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            dev_bus_usb: PathBuf::from("/dev/bus/usb"),
            group_file: PathBuf::from("/etc/group"),
            process_status: PathBuf::from("/proc/self/status"),
            seat: std::env::var("XDG_SEAT").ok().filter(|s| !s.is_empty()),
            usb_scan: UsbPresence::scan,
            sleep_probe: sleep::inhibit_once,
            notification_probe: notifications::server_information,
            probe_timeout: PROBE_TIMEOUT,
            program_timeout: PROGRAM_TIMEOUT,
        }
    }
}

/// Everything doctor checked, in order, with the findings of the checks that did not pass.
#[derive(Clone, Debug, Serialize)]
pub struct DoctorReport {
    /// "linux", "macos", "windows": the fixes are for this system.
    pub os: &'static str,
    pub checks: Vec<Check>,
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    fn new(checks: Vec<Check>) -> DoctorReport {
        let findings = checks.iter().filter_map(Check::finding).collect();
        DoctorReport {
            os: std::env::consts::OS,
            checks,
            findings,
        }
    }

    /// The worst finding's severity; None when every check passed.
    pub fn worst(&self) -> Option<Severity> {
        finding::worst(&self.findings)
    }

    /// Whether something will fail until it is fixed.
    pub fn has_problems(&self) -> bool {
        self.worst() == Some(Severity::Problem)
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// Runs every check. Services are asked side by side, each within its timeout; a cancel
/// ends the waits early, and the checks it cut short say so.
pub fn run(env: &DoctorEnv, cancel: &CancelToken) -> DoctorReport {
    // Local and quick: read first, as usbmuxd's and USB access's verdicts depend on it.
    let usb = (env.usb_scan)();
    let iphone_on_usb = usb.as_ref().is_ok_and(|phones| {
        phones
            .iter()
            .any(|p| p.platform() == crate::device::Platform::Ios)
    });
    let (mux, android, sleep, notify) = std::thread::scope(|scope| {
        let mux = scope.spawn(|| usbmuxd::check(env, iphone_on_usb, cancel));
        let android = scope.spawn(|| adb::check(env, cancel));
        let sleep = scope.spawn(|| sleep::check(env, cancel));
        let notify = scope.spawn(|| notifications::check(env, cancel));
        (
            joined(mux, "usbmuxd"),
            joined(android, "adb"),
            joined(sleep, "sleep"),
            joined(notify, "notifications"),
        )
    });
    let mut checks = Vec::new();
    checks.extend(mux);
    checks.extend(android);
    if cfg!(target_os = "linux") {
        checks.extend(udev::check(&env.udev_rule_dirs));
        checks.push(usb_access::check(env, &usb));
    }
    checks.extend(sleep);
    checks.extend(notify);
    DoctorReport::new(checks)
}

/// A probe's checks; a probe that panicked becomes a problem of its own rather than
/// taking doctor down with it.
fn joined(handle: std::thread::ScopedJoinHandle<'_, Vec<Check>>, what: &'static str) -> Vec<Check> {
    handle.join().unwrap_or_else(|_| {
        vec![Check::found(
            "doctor-internal",
            "doctor",
            Finding::new(
                "doctor-internal",
                Severity::Problem,
                format!("the {what} check failed unexpectedly"),
                "Run plugback doctor again; if it keeps happening, report it with this output.",
            ),
        )]
    })
}

/// The check a cancel cut short.
fn stopped(id: &'static str, name: &'static str) -> Check {
    Check::found(
        id,
        name,
        Finding::new(
            "cancelled",
            Severity::Info,
            "stopped before this check finished",
            "Run plugback doctor again to finish the checks.",
        ),
    )
}

#[cfg(test)]
mod tests;
