//! The library API of the simulated iPhone: start a usbmuxd, plug phones into it, drive
//! them with the same commands as the control channel.
//!
//! ```no_run
//! use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, UsbmuxdAddr};
//! use plugback_sim::control::ControlCommand;
//! let mux = SimUsbmuxd::start(UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()), "state".as_ref())?;
//! let phone = mux.add_iphone(IphoneConfig::new("phone"))?;
//! // USBMUXD_SOCKET_ADDRESS=<mux.address()> idevice_id -l  now lists phone.udid()
//! phone.control(ControlCommand::Unplug).unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::control::ControlCommand;
use crate::fault::Fault;
use crate::iphone::pairing::PairingError;
use crate::iphone::usbmuxd::MuxServer;
use crate::iphone::{IphoneConfig, Phone};
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use crate::iphone::usbmuxd::UsbmuxdAddr;

/// Why a phone could not be added.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("a phone with UDID {0} is already plugged into this usbmuxd")]
    DuplicateUdid(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error(transparent)]
    Pairing(#[from] PairingError),
}

/// A running simulated usbmuxd. Dropping it stops it and every phone in it.
pub struct SimUsbmuxd {
    server: MuxServer,
}

impl SimUsbmuxd {
    /// Listens on `listen` (TCP port 0 lets the system choose) and keeps pair records and
    /// the BUID in `state_dir`.
    pub fn start(listen: UsbmuxdAddr, state_dir: &Path) -> io::Result<SimUsbmuxd> {
        Ok(SimUsbmuxd {
            server: MuxServer::start(listen, state_dir)?,
        })
    }

    /// The bound address, in the form `USBMUXD_SOCKET_ADDRESS` takes (`to_string()`).
    pub fn address(&self) -> &UsbmuxdAddr {
        self.server.address()
    }

    /// Where the usbmuxd keeps the hosts' pair records (`<UDID>.plist`) and its BUID.
    pub fn state_dir(&self) -> &Path {
        self.server.state_dir()
    }

    pub fn buid(&self) -> &str {
        self.server.buid()
    }

    /// Plugs a new phone in: its data folder is created, its key made (or loaded), and
    /// Listen clients see it attach.
    pub fn add_iphone(&self, config: IphoneConfig) -> Result<SimIphone, SimError> {
        let io_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| SimError::Io { path, source }
        };
        std::fs::create_dir_all(&config.data_dir).map_err(io_err(&config.data_dir))?;
        let phone = Arc::new(Phone::new(config));
        std::fs::create_dir_all(phone.storage_dir()).map_err(io_err(&phone.storage_dir()))?;
        phone.identity()?;
        let udid = phone.config().udid;
        if self.server.has_udid(&udid) {
            return Err(SimError::DuplicateUdid(udid));
        }
        let device_id = self.server.add_phone(phone.clone());
        Ok(SimIphone {
            phone,
            device_id,
            udid,
        })
    }
}

/// A handle on one simulated iPhone.
#[derive(Clone)]
pub struct SimIphone {
    phone: Arc<Phone>,
    device_id: u32,
    udid: String,
}

impl SimIphone {
    pub fn phone(&self) -> Arc<Phone> {
        self.phone.clone()
    }

    pub fn udid(&self) -> &str {
        &self.udid
    }

    /// The DeviceID usbmuxd gave the phone.
    pub fn device_id(&self) -> u32 {
        self.device_id
    }

    /// Runs one control command, as a control line would: `Ok(detail)` for an `ok` line,
    /// `Err(reason)` for an `error` line.
    pub fn control(&self, command: ControlCommand) -> Result<String, String> {
        apply_control(&self.phone, command)
    }
}

/// The iPhone's meaning of each control command.
pub fn apply_control(phone: &Phone, command: ControlCommand) -> Result<String, String> {
    match command {
        ControlCommand::Unplug => Ok(if phone.unplug() {
            "unplugged".into()
        } else {
            "already unplugged".into()
        }),
        ControlCommand::Plug => Ok(if phone.plug() {
            "plugged".into()
        } else {
            "already plugged".into()
        }),
        ControlCommand::Trust(answer) => {
            let was_showing = phone.answer_trust(answer);
            let word = match answer {
                crate::control::Answer::Accept => "accepted",
                crate::control::Answer::Deny => "denied",
            };
            Ok(if was_showing {
                format!("trust {word}")
            } else {
                format!("trust {word} ahead of the next prompt")
            })
        }
        ControlCommand::Battery { percent, charging } => {
            phone.update(|c| {
                c.battery_percent = percent;
                if let Some(charging) = charging {
                    c.charging = charging;
                }
            });
            let c = phone.config();
            Ok(format!(
                "battery={} charging={}",
                c.battery_percent,
                if c.charging { "yes" } else { "no" }
            ))
        }
        ControlCommand::Temperature { celsius } => {
            phone.update(|c| c.temperature_c = celsius);
            Ok(format!("temperature={celsius:.1}"))
        }
        ControlCommand::AddFault(Fault::RevokeAuthAfterBytes { .. }) => {
            Err("revoke-auth-after-bytes applies to Android phones only".into())
        }
        ControlCommand::AddFault(fault) => {
            let spec = fault.to_string();
            phone.add_fault(fault);
            Ok(format!("fault {spec}"))
        }
        ControlCommand::Status => Ok(phone.status_line()),
        ControlCommand::Auth(_) => {
            Err("auth answers Android's prompt; an iPhone asks with trust accept|deny".into())
        }
        ControlCommand::Offline
        | ControlCommand::Online
        | ControlCommand::ConfirmRestore { .. } => {
            Err("that command applies to Android phones only".into())
        }
        ControlCommand::Quit => {
            Err("quit stops the simulator binary; drop the SimUsbmuxd to stop a library one".into())
        }
    }
}

#[cfg(test)]
#[path = "sim_tests.rs"]
mod tests;
