//! Reading one iPhone fully: identity, battery, storage and backup encryption through a
//! lockdown session when this computer is paired; what lockdown gives without a session
//! otherwise.

use super::list::basic_device;
use super::lockdown::{self, is_value_withheld, lockdown_error};
use super::mux::{MuxDevice, Usbmuxd};
use super::session::{self, Opened, Session};
use super::wait::bounded;
use crate::backup::models::display_model;
use crate::cancel::CancelToken;
use crate::device::{Battery, Device, DeviceError, DeviceState, Storage};
use idevice::lockdown::LockdownClient;
use plist::{Dictionary, Value};

const BATTERY_DOMAIN: &str = "com.apple.mobile.battery";
const DISK_DOMAIN: &str = "com.apple.disk_usage";
const BACKUP_DOMAIN: &str = "com.apple.mobile.backup";
const FIND_MY_DOMAIN: &str = "com.apple.fmip";

/// Everything Plugback shows about the iPhone `udid`.
pub async fn read(mux: &Usbmuxd, udid: &str, cancel: &CancelToken) -> Result<Device, DeviceError> {
    match session::open(mux, udid, cancel).await? {
        Opened::Session(session) => read_in_session(mux, *session, cancel).await,
        Opened::NotPaired(found) => read_without_session(mux, &found, cancel).await,
    }
}

/// Whether Find My is on (the iPhone then refuses a restore with error 211); None when the
/// phone does not say or this computer is not paired.
pub async fn find_my(
    mux: &Usbmuxd,
    udid: &str,
    cancel: &CancelToken,
) -> Result<Option<bool>, DeviceError> {
    let Opened::Session(session) = session::open(mux, udid, cancel).await? else {
        return Ok(None);
    };
    let Session { mut client, .. } = *session;
    let answer = ask(
        &mut client,
        mux,
        cancel,
        "IsAssociated",
        Some(FIND_MY_DOMAIN),
    )
    .await?;
    let _ = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.stop_session().await)
    })
    .await;
    Ok(answer.and_then(|v| v.as_boolean()))
}

async fn read_in_session(
    mux: &Usbmuxd,
    session: Session,
    cancel: &CancelToken,
) -> Result<Device, DeviceError> {
    let Session {
        mut client,
        device: found,
        ..
    } = session;
    let general = ask_dict(&mut client, mux, cancel, None).await?;
    let battery = ask_dict(&mut client, mux, cancel, Some(BATTERY_DOMAIN)).await?;
    let disk = ask_dict(&mut client, mux, cancel, Some(DISK_DOMAIN)).await?;
    let will_encrypt = ask(&mut client, mux, cancel, "WillEncrypt", Some(BACKUP_DOMAIN))
        .await?
        .and_then(|v| v.as_boolean());
    // Closing is a courtesy: the values are read whatever it answers.
    let _ = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.stop_session().await)
    })
    .await;

    let mut device = basic_device(&found, true);
    fill_identity(&mut device, &general);
    device.serial = text(&general, "SerialNumber");
    device.battery = battery_of(&battery);
    device.storage = storage_of(&disk);
    device.will_encrypt = will_encrypt;
    device.state = DeviceState::Ready;
    Ok(device)
}

async fn read_without_session(
    mux: &Usbmuxd,
    found: &MuxDevice,
    cancel: &CancelToken,
) -> Result<Device, DeviceError> {
    let mut client = lockdown::open(mux, found, cancel).await?;
    let mut general = Dictionary::new();
    for key in [
        "DeviceName",
        "ProductType",
        "ProductVersion",
        "UniqueDeviceID",
    ] {
        if let Some(value) = ask(&mut client, mux, cancel, key, None).await? {
            general.insert(key.to_owned(), value);
        }
    }
    let mut device = basic_device(found, false);
    fill_identity(&mut device, &general);
    Ok(device)
}

/// One value; None when the phone withholds it or does not have it.
async fn ask(
    client: &mut LockdownClient,
    mux: &Usbmuxd,
    cancel: &CancelToken,
    key: &str,
    domain: Option<&str>,
) -> Result<Option<Value>, DeviceError> {
    let answer = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.get_value(Some(key), domain).await)
    })
    .await?;
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(e) if is_value_withheld(&e) => Ok(None),
        Err(e) => Err(lockdown_error(e)),
    }
}

/// A whole domain; empty when the phone withholds it.
async fn ask_dict(
    client: &mut LockdownClient,
    mux: &Usbmuxd,
    cancel: &CancelToken,
    domain: Option<&str>,
) -> Result<Dictionary, DeviceError> {
    let answer = bounded(lockdown::PEER, mux.reply_timeout, cancel, async {
        Ok(client.get_value(None, domain).await)
    })
    .await?;
    match answer {
        Ok(Value::Dictionary(dict)) => Ok(dict),
        Ok(_) => Ok(Dictionary::new()),
        Err(e) if is_value_withheld(&e) => Ok(Dictionary::new()),
        Err(e) => Err(lockdown_error(e)),
    }
}

fn fill_identity(device: &mut Device, general: &Dictionary) {
    device.name = text(general, "DeviceName");
    device.model = text(general, "ProductType").map(|t| display_model(&t));
    device.os_version = text(general, "ProductVersion");
    if let Some(udid) = text(general, "UniqueDeviceID")
        && udid != device.id
    {
        tracing::warn!("lockdown names the phone {udid}, usbmuxd {}", device.id);
    }
}

fn text(dict: &Dictionary, key: &str) -> Option<String> {
    dict.get(key).and_then(Value::as_string).map(str::to_owned)
}

fn number(dict: &Dictionary, key: &str) -> Option<i128> {
    match dict.get(key)? {
        Value::Integer(n) => n
            .as_signed()
            .map(i128::from)
            .or_else(|| n.as_unsigned().map(i128::from)),
        Value::Real(r) if r.is_finite() => Some(*r as i128),
        _ => None,
    }
}

pub(crate) fn battery_of(domain: &Dictionary) -> Battery {
    let flag = |key: &str| domain.get(key).and_then(Value::as_boolean);
    Battery {
        level: number(domain, "BatteryCurrentCapacity")
            .and_then(|n| u8::try_from(n.clamp(0, 100)).ok()),
        // Charging is only true while a charger is connected: some phones leave
        // BatteryIsCharging set after the cable is pulled.
        charging: match (flag("BatteryIsCharging"), flag("ExternalConnected")) {
            (Some(charging), Some(connected)) => Some(charging && connected),
            (charging, _) => charging,
        },
        // Hundredths of a degree Celsius, where the phone reports it at all.
        temperature_c: number(domain, "Temperature").map(|centi| centi as f32 / 100.0),
    }
}

pub(crate) fn storage_of(domain: &Dictionary) -> Storage {
    let bytes = |key: &str| number(domain, key).and_then(|n| u64::try_from(n).ok());
    Storage {
        free_bytes: bytes("TotalDataAvailable").or_else(|| bytes("AmountDataAvailable")),
        // The data partition, the space a restore fills; the whole disk where not given.
        total_bytes: bytes("TotalDataCapacity").or_else(|| bytes("TotalDiskCapacity")),
    }
}
