//! Where usbmuxd listens: `USBMUXD_SOCKET_ADDRESS` when set, else the system's place; and,
//! when nothing answers there, why, in words that lead to the fix on this computer.

use crate::device::DeviceError;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// The variable libimobiledevice and idevice read too, so one setting serves every tool.
pub const ADDRESS_VARIABLE: &str = "USBMUXD_SOCKET_ADDRESS";

/// The usbmuxd socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MuxAddress {
    /// A Unix socket (Linux, macOS).
    Unix(PathBuf),
    /// A TCP address (Windows' Apple Mobile Device Service, or a forwarded usbmuxd).
    Tcp(SocketAddr),
}

impl MuxAddress {
    /// `/var/run/usbmuxd` on Unix, `127.0.0.1:27015` on Windows.
    pub fn system_default() -> MuxAddress {
        if cfg!(unix) {
            MuxAddress::Unix(PathBuf::from("/var/run/usbmuxd"))
        } else {
            MuxAddress::Tcp(SocketAddr::from(([127, 0, 0, 1], 27015)))
        }
    }

    /// `USBMUXD_SOCKET_ADDRESS` when set and not empty, else the system default.
    pub fn from_env() -> Result<MuxAddress, DeviceError> {
        match std::env::var(ADDRESS_VARIABLE) {
            Ok(text) if !text.trim().is_empty() => MuxAddress::parse(&text),
            _ => Ok(MuxAddress::system_default()),
        }
    }

    /// Reads `host:port`, `[v6]:port`, `UNIX:/path` (libusbmuxd's form) or a bare path.
    pub fn parse(text: &str) -> Result<MuxAddress, DeviceError> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("UNIX:") {
            return Ok(MuxAddress::Unix(PathBuf::from(path)));
        }
        if text.starts_with('/') || !text.contains(':') {
            return Ok(MuxAddress::Unix(PathBuf::from(text)));
        }
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(MuxAddress::Tcp(addr));
        }
        // A host name such as localhost:27015.
        text.to_socket_addrs()
            .ok()
            .and_then(|mut found| found.next())
            .map(MuxAddress::Tcp)
            .ok_or_else(|| DeviceError::UsbmuxdUnavailable {
                address: text.to_owned(),
                detail: format!(
                    "{ADDRESS_VARIABLE} must be host:port or the path of a socket; \
                     correct it or unset it to use the system's usbmuxd"
                ),
            })
    }
}

impl fmt::Display for MuxAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MuxAddress::Unix(path) => write!(f, "{}", path.display()),
            MuxAddress::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// The error for a usbmuxd that cannot be reached at `address`.
pub(crate) fn unavailable(address: &MuxAddress, cause: &std::io::Error) -> DeviceError {
    let advice = if *address == MuxAddress::system_default() {
        usbmuxd_advice()
    } else {
        format!(
            "nothing answers at this address: start the usbmuxd it names, \
             or unset {ADDRESS_VARIABLE} to use the system's"
        )
    };
    DeviceError::UsbmuxdUnavailable {
        address: address.to_string(),
        detail: format!("{cause}; {advice}"),
    }
}

/// What to do about a missing usbmuxd on this operating system.
pub fn usbmuxd_advice() -> String {
    if cfg!(windows) {
        "the Apple Mobile Device Service is not running: install Apple Devices (from the \
         Microsoft Store) or iTunes, then make sure the service is started"
            .to_owned()
    } else if cfg!(target_os = "macos") {
        "usbmuxd is part of macOS and should always run: unplug and replug the iPhone, or \
         restart the Mac"
            .to_owned()
    } else {
        linux_advice(usbmuxd_installed())
    }
}

/// Linux: "not installed" and "not running" have different fixes.
pub fn linux_advice(installed: bool) -> String {
    if installed {
        "usbmuxd is installed but not running: plug the iPhone in (that starts it), or run \
         `sudo systemctl start usbmuxd`"
            .to_owned()
    } else {
        "usbmuxd is not installed: install it with `sudo apt install usbmuxd` (or your \
         distribution's usbmuxd package), then plug the iPhone in again"
            .to_owned()
    }
}

/// Whether a usbmuxd program is in the usual system folders or on the PATH.
fn usbmuxd_installed() -> bool {
    let mut dirs: Vec<PathBuf> = ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter().any(|dir| is_file(&dir.join("usbmuxd")))
}

fn is_file(path: &Path) -> bool {
    path.is_file()
}
