//! mobilebackup2, the device side: DeviceLink handshake, Hello, then Restore, Backup,
//! Info and List requests, each driving the host with DeviceLink messages until its final
//! Response.
//!
//! After a successful restore the phone reboots (unless the host sent
//! `RestoreShouldReboot: false`): once the host has closed the connection, or
//! [`REBOOT_GRACE`] after the Response, whichever comes first, it calls
//! `Phone::reboot(REBOOT_DOWNTIME)`. The grace lets libimobiledevice unlock the sync lock
//! and post syncDidFinish first, as it does before closing.

mod backup;
mod devicelink;
mod errors;
pub mod hostile;
mod info;
pub(crate) mod link;
mod manifest;
mod restore;
pub mod restore_check;
mod transfer;
mod unlock;

use crate::iphone::plist_frame::FrameError;
use crate::iphone::{Phone, ServiceContext};
use link::{Link, Quiet};
use plist::{Dictionary, Value};
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::time::Duration;

/// How long the phone waits for the host between messages before giving up.
pub const HOST_QUIET_LIMIT: Duration = Duration::from_secs(120);
/// How long after a successful restore the phone reboots at the latest.
pub const REBOOT_GRACE: Duration = Duration::from_secs(5);
/// How long a reboot keeps the phone away from usbmuxd.
pub const REBOOT_DOWNTIME: Duration = Duration::from_millis(1500);
/// The mobilebackup2 protocol versions the simulated phone speaks.
const PROTOCOL_VERSIONS: [f64; 2] = [2.0, 2.1];

/// Why a mobilebackup2 connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Mobilebackup2Error {
    #[error("mobilebackup2: {0}")]
    Frame(#[from] FrameError),
    #[error("mobilebackup2: the host broke the protocol: {0}")]
    Protocol(String),
    #[error("mobilebackup2: the host closed the connection in the middle of an exchange")]
    HostClosed,
    #[error("mobilebackup2: cannot build the backup: {0}")]
    Backup(String),
    #[error("mobilebackup2: {0}")]
    Io(#[from] io::Error),
}

impl Mobilebackup2Error {
    fn from_io(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Mobilebackup2Error::HostClosed
        } else {
            Mobilebackup2Error::Io(e)
        }
    }
}

/// Serves one mobilebackup2 connection until the host disconnects.
pub fn serve<S: Read + Write>(
    stream: &mut S,
    phone: &Phone,
    ctx: &ServiceContext,
) -> Result<(), Mobilebackup2Error> {
    let (reboot_tx, reboot_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let mut reboot_rx = Some(reboot_rx);
        let result = session(stream, phone, ctx, &mut || {
            if let Some(rx) = reboot_rx.take() {
                scope.spawn(move || {
                    // Either the connection ends (the sender is dropped) or the grace runs out.
                    let _ = rx.recv_timeout(REBOOT_GRACE);
                    phone.reboot(REBOOT_DOWNTIME);
                });
            }
        });
        drop(reboot_tx);
        if let Err(e) = &result {
            eprintln!("plugback-sim: {e}");
        }
        result
    })
}

/// Ends the session; after a protocol error the phone says goodbye first, as iOS does.
fn end_session<S: Read + Write>(
    link: &mut Link<'_, S>,
    result: Result<(), Mobilebackup2Error>,
) -> Result<(), Mobilebackup2Error> {
    if let Err(Mobilebackup2Error::Protocol(_)) = &result {
        let _ = devicelink::send_disconnect(link);
    }
    result
}

fn session<S: Read + Write>(
    stream: &mut S,
    phone: &Phone,
    ctx: &ServiceContext,
    arm_reboot: &mut dyn FnMut(),
) -> Result<(), Mobilebackup2Error> {
    let mut link = Link::new(stream, Quiet::GiveUpAfter(HOST_QUIET_LIMIT));
    let result = requests(&mut link, phone, ctx, arm_reboot);
    end_session(&mut link, result)
}

fn requests<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    ctx: &ServiceContext,
    arm_reboot: &mut dyn FnMut(),
) -> Result<(), Mobilebackup2Error> {
    let io = |e: io::Error| Mobilebackup2Error::from_io(e);
    devicelink::handshake(link)?;
    loop {
        let Some(message) = devicelink::receive(link)? else {
            return Ok(());
        };
        match message.name.as_str() {
            "DLMessageDisconnect" => return Ok(()),
            "DLMessageProcessMessage" => {}
            other => {
                return Err(Mobilebackup2Error::Protocol(format!(
                    "unexpected {other} while waiting for a request"
                )));
            }
        }
        let (request, name) = devicelink::process_message(&message)?;
        match name {
            "Hello" => hello(link, request).map_err(io)?,
            "Restore" => {
                let outcome = restore::run(link, phone, ctx, request).map_err(flatten_eof)?;
                if outcome.reboot {
                    arm_reboot();
                }
                if outcome.close {
                    return Ok(());
                }
            }
            "Backup" => backup::run(link, phone, request).map_err(flatten_eof)?,
            "Info" => info::run(link, phone, request, info::Query::Info).map_err(flatten_eof)?,
            "List" => info::run(link, phone, request, info::Query::List).map_err(flatten_eof)?,
            other => {
                let refusal = errors::Refusal::new(
                    errors::UNSUPPORTED,
                    format!("The simulated iPhone does not support the {other:?} request"),
                );
                devicelink::send_response(link, refusal.code, Some(&refusal.description), None)
                    .map_err(io)?;
            }
        }
    }
}

fn flatten_eof(e: Mobilebackup2Error) -> Mobilebackup2Error {
    match e {
        Mobilebackup2Error::Io(e) => Mobilebackup2Error::from_io(e),
        Mobilebackup2Error::Frame(FrameError::Io(e)) => Mobilebackup2Error::from_io(e),
        other => other,
    }
}

/// Hello: pick the highest protocol version both sides speak; ErrorCode 1 when none.
fn hello<S: Read + Write>(link: &mut Link<'_, S>, request: &Dictionary) -> io::Result<()> {
    let offered: Vec<f64> = request
        .get("SupportedProtocolVersions")
        .and_then(Value::as_array)
        .map(|versions| versions.iter().filter_map(Value::as_real).collect())
        .unwrap_or_default();
    let common = PROTOCOL_VERSIONS
        .iter()
        .rev()
        .find(|v| offered.iter().any(|o| (o - **v).abs() < 1e-9));
    let mut dict = Dictionary::new();
    dict.insert("MessageName".into(), Value::String("Response".into()));
    match common {
        Some(version) => {
            dict.insert("ErrorCode".into(), Value::from(0u64));
            dict.insert("ProtocolVersion".into(), Value::Real(*version));
        }
        None => {
            dict.insert("ErrorCode".into(), Value::from(1u64));
            dict.insert(
                "ErrorDescription".into(),
                Value::String("No common protocol version (MBErrorDomain/1)".into()),
            );
        }
    }
    devicelink::send_process_message(link, dict)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::iphone::IphoneConfig;
    use std::path::Path;

    /// The default phone (iOS 18.1, unlocked, Find My off), its data in `dir`.
    pub(crate) fn config(dir: &Path) -> IphoneConfig {
        IphoneConfig::new(dir)
    }
}

#[cfg(test)]
mod tests;
