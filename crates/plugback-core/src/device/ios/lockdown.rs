//! Opening lockdownd (port 62078) on a phone through usbmuxd, and what idevice's errors
//! mean for Plugback.

use super::mux::{MuxConnection, MuxDevice, Usbmuxd};
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use idevice::lockdown::LockdownClient;
use idevice::{Idevice, IdeviceError};

pub(crate) const LOCKDOWN_PORT: u16 = 62078;
pub(crate) const LABEL: &str = "plugback";
pub(crate) const PEER: &str = "the iPhone (lockdownd)";

/// A fresh, session-less lockdown client for `device`.
pub(crate) async fn open(
    mux: &Usbmuxd,
    device: &MuxDevice,
    cancel: &CancelToken,
) -> Result<LockdownClient, DeviceError> {
    let conn = MuxConnection::open(mux, cancel).await?;
    let stream = conn.connect_port(device, LOCKDOWN_PORT).await?;
    let mut idevice = Idevice::new(stream, LABEL);
    idevice.set_udid(device.udid.clone());
    Ok(LockdownClient::new(idevice))
}

/// The device layer's meaning of an idevice error from lockdown.
pub(crate) fn lockdown_error(error: IdeviceError) -> DeviceError {
    service_error(PEER, error)
}

/// The device layer's meaning of an idevice error from `peer` (lockdown or a service).
pub(crate) fn service_error(peer: &str, error: IdeviceError) -> DeviceError {
    match error {
        IdeviceError::Socket(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DeviceError::Protocol {
                peer: peer.to_owned(),
                detail: "the phone closed the connection (unplugged?)".to_owned(),
            }
        }
        IdeviceError::Socket(e) => DeviceError::Io(e),
        IdeviceError::InvalidHostID => DeviceError::Refused {
            detail: "the phone does not know this computer's pairing; pair again".to_owned(),
        },
        IdeviceError::GetProhibited | IdeviceError::SessionInactive => DeviceError::Refused {
            detail: format!("{error}: the phone needs to trust this computer first"),
        },
        IdeviceError::PasswordProtected | IdeviceError::DeviceLocked => DeviceError::Locked,
        IdeviceError::UserDeniedPairing => DeviceError::Refused {
            detail: "the person tapped Don't Trust on the phone".to_owned(),
        },
        other => DeviceError::Protocol {
            peer: peer.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Errors that mean "this value is not given", not "the phone is gone".
pub(crate) fn is_value_withheld(error: &IdeviceError) -> bool {
    matches!(
        error,
        IdeviceError::GetProhibited
            | IdeviceError::SessionInactive
            | IdeviceError::UnknownErrorType(_)
            | IdeviceError::UnexpectedResponse(_)
    )
}
