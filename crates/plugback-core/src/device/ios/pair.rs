//! Pairing as a guided flow: each attempt ends in one explicit state the person can act on
//! (tap Trust, unlock the phone), and the loop asks again while the prompt is showing.

use super::list::find;
use super::lockdown::{self, lockdown_error};
use super::mux::{MuxConnection, MuxDevice, Usbmuxd, protocol};
use super::wait::{bounded, pause};
use crate::cancel::CancelToken;
use crate::device::{DeviceError, DeviceState};
use idevice::IdeviceError;
use idevice::pairing_file::PairingFile;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How often the loop asks again while "Trust This Computer?" is showing.
const ASK_AGAIN_EVERY: Duration = Duration::from_secs(1);

/// Where one pairing attempt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairOutcome {
    /// Trusted; the pair record is saved in usbmuxd.
    Paired,
    /// "Trust This Computer?" is showing on the phone.
    TrustPending,
    /// The person tapped Don't Trust.
    TrustDenied,
    /// The phone is locked: it shows the prompt only once unlocked.
    PasscodeLocked,
}

impl PairOutcome {
    pub fn state(self) -> DeviceState {
        match self {
            PairOutcome::Paired => DeviceState::Ready,
            PairOutcome::TrustPending => DeviceState::TrustPending,
            PairOutcome::TrustDenied => DeviceState::TrustDenied,
            PairOutcome::PasscodeLocked => DeviceState::PasscodeLocked,
        }
    }

    /// The stable code of the state (the explanation catalog has the long form).
    pub fn code(self) -> &'static str {
        self.state().code()
    }

    /// One line for a person.
    pub fn guidance(self) -> &'static str {
        match self {
            PairOutcome::Paired => "Paired: this computer is trusted by the iPhone.",
            PairOutcome::TrustPending => {
                "Unlock your iPhone and tap Trust, then enter the passcode if it asks."
            }
            PairOutcome::TrustDenied => {
                "The iPhone said Don't Trust. Unplug it, plug it in again and tap Trust."
            }
            PairOutcome::PasscodeLocked => {
                "Your iPhone is locked. Unlock it with its passcode, then try again."
            }
        }
    }

    /// Whether the loop stops here.
    pub fn is_final(self) -> bool {
        self != PairOutcome::TrustPending
    }
}

/// One pairing attempt with the iPhone `udid`. Already paired (usbmuxd holds a record the
/// phone accepts) counts as Paired without asking again.
pub async fn pair_once(
    mux: &Usbmuxd,
    udid: &str,
    cancel: &CancelToken,
) -> Result<PairOutcome, DeviceError> {
    pair_once_as(mux, udid, &new_host_id(), cancel).await
}

/// Pairs, asking again every second while the prompt is showing, and calls `on_state` at
/// each change of state. Ends Paired, TrustDenied or PasscodeLocked; or with
/// `DeviceError::Timeout` after `timeout`, or `DeviceError::Cancelled`.
pub async fn pair(
    mux: &Usbmuxd,
    udid: &str,
    timeout: Duration,
    cancel: &CancelToken,
    mut on_state: impl FnMut(PairOutcome),
) -> Result<PairOutcome, DeviceError> {
    let deadline = Instant::now() + timeout;
    // One HostID for the whole flow: the phone sees one computer asking, not many.
    let host_id = new_host_id();
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = bounded(
            "pairing",
            left,
            cancel,
            pair_once_as(mux, udid, &host_id, cancel),
        )
        .await
        .map_err(|e| retime(e, timeout))?;
        if last != Some(outcome) {
            on_state(outcome);
            last = Some(outcome);
        }
        if outcome.is_final() {
            return Ok(outcome);
        }
        if Instant::now() + ASK_AGAIN_EVERY >= deadline {
            return Err(DeviceError::Timeout {
                what: "the Trust prompt on the iPhone".to_owned(),
                after: timeout,
            });
        }
        pause(ASK_AGAIN_EVERY, cancel).await?;
    }
}

/// The loop's own deadline reads as the whole wait, not the last slice of it.
fn retime(error: DeviceError, timeout: Duration) -> DeviceError {
    match error {
        DeviceError::Timeout { what, .. } if what == "pairing" => DeviceError::Timeout {
            what: "the Trust prompt on the iPhone".to_owned(),
            after: timeout,
        },
        other => other,
    }
}

async fn pair_once_as(
    mux: &Usbmuxd,
    udid: &str,
    host_id: &str,
    cancel: &CancelToken,
) -> Result<PairOutcome, DeviceError> {
    let device = find(mux, udid, cancel).await?;
    if already_paired(mux, &device, cancel).await? {
        return Ok(PairOutcome::Paired);
    }
    let buid = MuxConnection::open(mux, cancel).await?.read_buid().await?;
    let mut client = lockdown::open(mux, &device, cancel).await?;
    let (host_id, host_name) = (host_id.to_owned(), host_name());
    // idevice builds the certificates from what the phone sends and does not expect it to
    // be malformed: run the attempt as its own task so that a panic there is an error here.
    let attempt = tokio::spawn(async move {
        client
            .pair_once(host_id, buid, Some(host_name.as_str()))
            .await
    });
    let answer = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        attempt.await.map_err(|e| DeviceError::Protocol {
            peer: lockdown::PEER.to_owned(),
            detail: format!("the pairing exchange failed: {e}"),
        })
    })
    .await?;
    match answer {
        Ok(record) => {
            save_and_check(mux, &device, record, cancel).await?;
            Ok(PairOutcome::Paired)
        }
        Err(IdeviceError::PairingDialogResponsePending) => Ok(PairOutcome::TrustPending),
        Err(IdeviceError::UserDeniedPairing) => Ok(PairOutcome::TrustDenied),
        Err(IdeviceError::PasswordProtected) => Ok(PairOutcome::PasscodeLocked),
        Err(e) => Err(lockdown_error(e)),
    }
}

/// True when usbmuxd holds a record the phone accepts for a session.
async fn already_paired(
    mux: &Usbmuxd,
    device: &MuxDevice,
    cancel: &CancelToken,
) -> Result<bool, DeviceError> {
    let record = MuxConnection::open(mux, cancel)
        .await?
        .read_pair_record(&device.udid)
        .await?
        .and_then(|bytes| PairingFile::from_bytes(&bytes).ok());
    let Some(record) = record else {
        return Ok(false);
    };
    let mut client = lockdown::open(mux, device, cancel).await?;
    let session = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.start_session(&record).await)
    })
    .await?;
    match session {
        Ok(_legacy) => {
            let _ = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
                Ok(client.stop_session().await)
            })
            .await;
            Ok(true)
        }
        Err(IdeviceError::InvalidHostID) => Ok(false),
        Err(e) => Err(lockdown_error(e)),
    }
}

/// Saves the new record through usbmuxd, then reads it back: a record usbmuxd stores
/// without its keys or escrow bag would pair now and fail at the first backup or restore.
async fn save_and_check(
    mux: &Usbmuxd,
    device: &MuxDevice,
    mut record: PairingFile,
    cancel: &CancelToken,
) -> Result<(), DeviceError> {
    record.udid = Some(device.udid.clone());
    let (host_id, buid) = (record.host_id.clone(), record.system_buid.clone());
    if record.escrow_bag.is_none() {
        return Err(DeviceError::Protocol {
            peer: lockdown::PEER.to_owned(),
            detail: "the phone accepted the pairing without an escrow bag".to_owned(),
        });
    }
    let bytes = record.serialize().map_err(lockdown_error)?;
    let mut conn = MuxConnection::open(mux, cancel).await?;
    conn.save_pair_record(&device.udid, device.device_id, bytes)
        .await?;
    let stored = conn
        .read_pair_record(&device.udid)
        .await?
        .ok_or_else(|| protocol("the pair record just saved cannot be read back"))?;
    let stored = PairingFile::from_bytes(&stored)
        .map_err(|e| protocol(format!("the stored pair record is incomplete: {e}")))?;
    if stored.host_id != host_id || stored.system_buid != buid || stored.escrow_bag.is_none() {
        return Err(protocol(
            "the stored pair record differs from the one saved (HostID, SystemBUID or EscrowBag)",
        ));
    }
    Ok(())
}

/// A new HostID: a random UUID in the upper-case form iTunes and libimobiledevice use.
fn new_host_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// This computer's name, which the phone shows in its list of trusted computers.
fn host_name() -> String {
    let from_file = |path: &str| std::fs::read_to_string(path).ok();
    let from_env = |key: &str| std::env::var(key).ok();
    let from_command = || {
        std::process::Command::new("hostname")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
    };
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| from_env("COMPUTERNAME"))
        .or_else(|| from_env("HOSTNAME"))
        .or_else(from_command)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "Plugback".to_owned())
}
