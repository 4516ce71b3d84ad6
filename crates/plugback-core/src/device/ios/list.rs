//! What usbmuxd alone tells about the phones plugged in: the list now, and attach/detach
//! events as they happen.

use super::mux::{MuxConnection, MuxDevice, MuxEvent, Usbmuxd};
use super::wait::cancelled;
use crate::cancel::CancelToken;
use crate::device::{Device, DeviceError, DeviceEvent, DeviceState, Link, Platform};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// The iPhones usbmuxd sees, each Ready when usbmuxd holds a pair record for it, else
/// NotPaired. Identity, battery and storage need [`super::read`].
pub async fn list(mux: &Usbmuxd, cancel: &CancelToken) -> Result<Vec<Device>, DeviceError> {
    let mut conn = MuxConnection::open(mux, cancel).await?;
    let devices = conn.list_devices().await?;
    let mut listed = Vec::with_capacity(devices.len());
    for device in devices {
        let paired = conn.read_pair_record(&device.udid).await?.is_some();
        listed.push(basic_device(&device, paired));
    }
    Ok(listed)
}

/// The usbmuxd entry for `udid`.
pub(crate) async fn find(
    mux: &Usbmuxd,
    udid: &str,
    cancel: &CancelToken,
) -> Result<MuxDevice, DeviceError> {
    find_on(&mut MuxConnection::open(mux, cancel).await?, udid).await
}

/// [`find`] on a connection already open.
pub(crate) async fn find_on(
    conn: &mut MuxConnection,
    udid: &str,
) -> Result<MuxDevice, DeviceError> {
    conn.list_devices()
        .await?
        .into_iter()
        .find(|d| d.udid == udid)
        .ok_or_else(|| DeviceError::NotFound {
            id: udid.to_owned(),
        })
}

/// A device with only what usbmuxd knows.
pub(crate) fn basic_device(device: &MuxDevice, paired: bool) -> Device {
    Device {
        id: device.udid.clone(),
        platform: Platform::Ios,
        name: None,
        model: None,
        os_version: None,
        sdk: None,
        serial: None,
        state: if paired {
            DeviceState::Ready
        } else {
            DeviceState::NotPaired
        },
        battery: Default::default(),
        storage: Default::default(),
        link: Link {
            speed_mbps: device
                .speed_bps
                .and_then(|bps| u32::try_from(bps / 1_000_000).ok()),
            via_hub: None,
        },
        will_encrypt: None,
    }
}

/// Follows usbmuxd's attach and detach events: phones already plugged in arrive first as
/// Attached, a pairing as Changed (now Ready). The channel ends after an error (sent as the
/// last item), on cancel, or when the receiver is dropped. Needs a running tokio runtime.
pub async fn watch(
    mux: &Usbmuxd,
    cancel: &CancelToken,
) -> Result<mpsc::UnboundedReceiver<Result<DeviceEvent, DeviceError>>, DeviceError> {
    let mut conn = MuxConnection::open(mux, cancel).await?;
    conn.listen().await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (mux, cancel) = (mux.clone(), cancel.clone());
    tokio::spawn(async move {
        let mut known: HashMap<u32, MuxDevice> = HashMap::new();
        loop {
            let event = tokio::select! {
                event = conn.next_event() => event,
                _ = cancelled(&cancel) => return,
                _ = tx.closed() => return,
            };
            let published = match event {
                Ok(event) => translate(event, &mut known, &mux, &cancel).await,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            if let Some(published) = published
                && tx.send(published).is_err()
            {
                return;
            }
        }
    });
    Ok(rx)
}

async fn translate(
    event: MuxEvent,
    known: &mut HashMap<u32, MuxDevice>,
    mux: &Usbmuxd,
    cancel: &CancelToken,
) -> Option<Result<DeviceEvent, DeviceError>> {
    match event {
        MuxEvent::Attached(device) => {
            let paired = match has_pair_record(mux, &device.udid, cancel).await {
                Ok(paired) => paired,
                Err(e) => return Some(Err(e)),
            };
            let published = basic_device(&device, paired);
            known.insert(device.device_id, device);
            Some(Ok(DeviceEvent::Attached(published)))
        }
        MuxEvent::Detached(id) => known.remove(&id).map(|device| {
            Ok(DeviceEvent::Detached {
                id: device.udid,
                platform: Platform::Ios,
            })
        }),
        MuxEvent::Paired(id) => known
            .get(&id)
            .map(|device| Ok(DeviceEvent::Changed(basic_device(device, true)))),
    }
}

async fn has_pair_record(
    mux: &Usbmuxd,
    udid: &str,
    cancel: &CancelToken,
) -> Result<bool, DeviceError> {
    let mut conn = MuxConnection::open(mux, cancel).await?;
    Ok(conn.read_pair_record(udid).await?.is_some())
}
