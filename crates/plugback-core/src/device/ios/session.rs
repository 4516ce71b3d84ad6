//! A lockdown session with a paired iPhone, and the services started through it (AFC for
//! the health probe; notification_proxy and mobilebackup2 for restores).

use super::ZeroCopyPipe;
use super::list::find_on;
use super::lockdown::{self, lockdown_error};
use super::mux::{MuxConnection, MuxDevice, Usbmuxd};
use super::wait::bounded;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use idevice::lockdown::LockdownClient;
use idevice::pairing_file::PairingFile;
use idevice::{Idevice, IdeviceError};

/// A lockdown connection with its TLS session started.
pub(crate) struct Session {
    pub client: LockdownClient,
    pub device: MuxDevice,
    pub record: PairingFile,
}

/// What opening a session found.
pub(crate) enum Opened {
    Session(Box<Session>),
    /// The phone is there but this computer holds no usable pairing with it (never paired,
    /// an unreadable record, or the phone forgot this computer).
    NotPaired(MuxDevice),
}

/// Finds `udid`, reads its pair record and starts a lockdown session with it.
pub(crate) async fn open(
    mux: &Usbmuxd,
    udid: &str,
    cancel: &CancelToken,
) -> Result<Opened, DeviceError> {
    // One usbmuxd connection for both questions: each new one costs a round trip.
    let mut conn = MuxConnection::open(mux, cancel).await?;
    let device = find_on(&mut conn, udid).await?;
    let record = conn
        .read_pair_record(udid)
        .await?
        // A record that does not parse is as good as none: pairing again replaces it.
        .and_then(|bytes| PairingFile::from_bytes(&bytes).ok());
    drop(conn);
    let Some(record) = record else {
        return Ok(Opened::NotPaired(device));
    };
    let mut client = lockdown::open(mux, &device, cancel).await?;
    let started = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.start_session(&record).await)
    })
    .await?;
    match started {
        Ok(_legacy) => Ok(Opened::Session(Box::new(Session {
            client,
            device,
            record,
        }))),
        // The phone forgot this computer (Erase, "Reset Location & Privacy").
        Err(IdeviceError::InvalidHostID) => Ok(Opened::NotPaired(device)),
        Err(e) => Err(lockdown_error(e)),
    }
}

/// Starts the lockdown service `name` on the paired phone `udid` and connects to it.
/// The lockdown connection closes once the service is running, as libimobiledevice does.
pub(crate) async fn start_service(
    mux: &Usbmuxd,
    udid: &str,
    name: &str,
    cancel: &CancelToken,
) -> Result<Idevice, DeviceError> {
    start(mux, udid, name, false, cancel)
        .await
        .map(|(service, _)| service)
}

/// [`start_service`], presenting the pair record's escrow bag so that the phone opens its
/// data protection for the service: mobilebackup2 restoring an encrypted backup needs it
/// (without it the phone refuses with MBErrorDomain 208). A record without an escrow bag
/// starts the service plainly, and the phone decides. With it comes the connection's
/// zero-copy pipe where the system has one and the service runs without TLS.
pub(crate) async fn start_service_with_escrow(
    mux: &Usbmuxd,
    udid: &str,
    name: &str,
    cancel: &CancelToken,
) -> Result<(Idevice, Option<ZeroCopyPipe>), DeviceError> {
    start(mux, udid, name, true, cancel).await
}

async fn start(
    mux: &Usbmuxd,
    udid: &str,
    name: &str,
    with_escrow: bool,
    cancel: &CancelToken,
) -> Result<(Idevice, Option<ZeroCopyPipe>), DeviceError> {
    let mut session = match open(mux, udid, cancel).await? {
        Opened::Session(session) => session,
        Opened::NotPaired(_) => {
            return Err(DeviceError::Refused {
                detail: "this computer is not paired with the phone; pair it first".to_owned(),
            });
        }
    };
    let escrow = if with_escrow {
        session.record.escrow_bag.clone()
    } else {
        None
    };
    let started = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(session.client.start_service_with_escrow(name, escrow).await)
    })
    .await?;
    let (port, ssl) = started.map_err(lockdown_error)?;
    let mut connection = MuxConnection::open(mux, cancel).await?;
    let pipe = zero_copy_pipe(&mut connection, ssl);
    let stream = connection.connect_port(&session.device, port).await?;
    let mut service = Idevice::new(stream, lockdown::LABEL);
    service.set_udid(udid.to_owned());
    if ssl {
        let record = &session.record;
        bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
            service
                .start_session(record, false)
                .await
                .map_err(lockdown_error)
        })
        .await?;
    }
    Ok((service, pipe))
}

/// The connection's zero-copy pipe, unless the service speaks TLS (every byte must then
/// go through the cipher) or the system has none.
#[cfg(target_os = "linux")]
fn zero_copy_pipe(connection: &mut MuxConnection, tls: bool) -> Option<ZeroCopyPipe> {
    let raw = connection.take_raw()?;
    if tls {
        return None;
    }
    ZeroCopyPipe::new(raw).ok()
}

#[cfg(not(target_os = "linux"))]
fn zero_copy_pipe(_connection: &mut MuxConnection, _tls: bool) -> Option<ZeroCopyPipe> {
    None
}
