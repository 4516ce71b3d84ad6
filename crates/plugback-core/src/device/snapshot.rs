//! Every phone plugged into this computer, both platforms at once: what `plugback devices`
//! prints and what the window's phone list starts from.
//!
//! A platform whose service is missing (no usbmuxd, no adb) does not hide the other: each
//! source reports whether it answered, with the error that explains why not.

use crate::cancel::CancelToken;
use crate::device::android::{self, AdbServer};
use crate::device::ios::{self, Usbmuxd};
use crate::device::usb::{Presence, UsbPresence};
use crate::device::{Device, DeviceError, DeviceEvent, Platform};

/// Where phones are looked for.
pub struct Sources {
    pub usbmuxd: Result<Usbmuxd, DeviceError>,
    pub adb: AdbServer,
}

impl Clone for Sources {
    /// The window watches phones and restores to them through the same sources.
    fn clone(&self) -> Sources {
        Sources {
            usbmuxd: match &self.usbmuxd {
                Ok(mux) => Ok(mux.clone()),
                Err(err) => Err(clone_error(err)),
            },
            adb: self.adb.clone(),
        }
    }
}

impl Sources {
    /// usbmuxd from `USBMUXD_SOCKET_ADDRESS` or the system default; the adb server from
    /// `ANDROID_ADB_SERVER_PORT` (started when `adb` is on the PATH).
    pub fn from_env() -> Sources {
        Sources {
            usbmuxd: Usbmuxd::from_env(),
            adb: AdbServer::from_env(),
        }
    }
}

/// The phones found, and each source that could not be asked.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub devices: Vec<Device>,
    /// (platform, why it could not be asked), for each source that failed.
    pub unavailable: Vec<(Platform, DeviceError)>,
    /// What the USB bus shows, which gives link speed and hubs; `Unavailable` where this
    /// computer gives no USB view (containers, CI), and then links stay unknown.
    pub usb: Option<Presence>,
}

/// Lists the phones of both platforms and reads each in full where it lets us (a phone
/// that is not trusted or authorized yet gives what it can, with its state). A phone that
/// cannot be read is still listed, with what the list said of it.
pub fn snapshot(sources: &Sources, cancel: &CancelToken) -> Snapshot {
    let mut snap = Snapshot::default();
    match &sources.usbmuxd {
        Ok(mux) => match ios::block_on(read_iphones(mux, cancel)) {
            Ok(mut phones) => snap.devices.append(&mut phones),
            Err(err) => snap.unavailable.push((Platform::Ios, err)),
        },
        Err(err) => snap.unavailable.push((Platform::Ios, clone_error(err))),
    }
    match read_androids(&sources.adb, cancel) {
        Ok(mut phones) => snap.devices.append(&mut phones),
        Err(err) => snap.unavailable.push((Platform::Android, err)),
    }
    let usb = UsbPresence::presence();
    if let Presence::Available { phones } = &usb {
        crate::device::usb::fill_links(&mut snap.devices, phones);
    }
    snap.usb = Some(usb);
    snap.devices.sort_by(|a, b| a.id.cmp(&b.id));
    snap
}

async fn read_iphones(mux: &Usbmuxd, cancel: &CancelToken) -> Result<Vec<Device>, DeviceError> {
    let listed = ios::list(mux, cancel).await?;
    let mut phones = Vec::with_capacity(listed.len());
    for seen in listed {
        let full = ios::read(mux, &seen.id, cancel).await;
        phones.push(merge(seen, full));
    }
    Ok(phones)
}

fn read_androids(server: &AdbServer, cancel: &CancelToken) -> Result<Vec<Device>, DeviceError> {
    server.ensure_running(cancel)?;
    let body = server.connect(cancel)?.query("host:devices-l")?;
    Ok(android::track::parse_device_list(&body)
        .iter()
        .map(|tracked| {
            let seen = tracked.to_device();
            let full = android::read(server, &tracked.serial, cancel);
            merge(seen, full)
        })
        .collect())
}

/// The full read where it worked, else what the list said: a phone that fails to answer
/// mid-read is still one the person has plugged in.
fn merge(seen: Device, full: Result<Device, DeviceError>) -> Device {
    match full {
        Ok(mut device) => {
            if device.link.speed_mbps.is_none() {
                device.link = seen.link;
            }
            if device.model.is_none() {
                device.model = seen.model;
            }
            device
        }
        Err(err) => {
            tracing::warn!(id = %seen.id, code = err.code(), "could not read the phone: {err}");
            seen
        }
    }
}

/// The phone `wanted` names among `devices`: its id (any case), or the start of exactly one
/// id, as a person types a UDID or a serial.
pub fn pick<'a>(devices: &'a [Device], wanted: &str) -> Result<&'a Device, DeviceError> {
    if let Some(exact) = devices.iter().find(|d| d.id.eq_ignore_ascii_case(wanted)) {
        return Ok(exact);
    }
    let wanted_lower = wanted.to_ascii_lowercase();
    let matching: Vec<&Device> = devices
        .iter()
        .filter(|d| !wanted.is_empty() && d.id.to_ascii_lowercase().starts_with(&wanted_lower))
        .collect();
    match matching.as_slice() {
        [only] => Ok(only),
        [] => Err(DeviceError::NotFound {
            id: wanted.to_owned(),
        }),
        several => Err(DeviceError::NotFound {
            id: format!(
                "{wanted} (it starts {} ids: {}; give more of it)",
                several.len(),
                several
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// The events that turn one list into the next, by stable id.
pub fn diff(before: &[Device], after: &[Device]) -> Vec<DeviceEvent> {
    let mut events = Vec::new();
    for old in before {
        if !after.iter().any(|new| new.id == old.id) {
            events.push(DeviceEvent::Detached {
                id: old.id.clone(),
                platform: old.platform,
            });
        }
    }
    for new in after {
        match before.iter().find(|old| old.id == new.id) {
            None => events.push(DeviceEvent::Attached(new.clone())),
            Some(old) if old != new => events.push(DeviceEvent::Changed(new.clone())),
            Some(_) => {}
        }
    }
    events
}

/// DeviceError holds io::Error, which does not clone; a source's error is reported as
/// often as it is asked, so rebuild it with the same code and words.
fn clone_error(err: &DeviceError) -> DeviceError {
    match err {
        DeviceError::UsbmuxdUnavailable { address, detail } => DeviceError::UsbmuxdUnavailable {
            address: address.clone(),
            detail: detail.clone(),
        },
        other => DeviceError::Protocol {
            peer: "usbmuxd".into(),
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Battery;

    fn phone(id: &str, level: u8) -> Device {
        Device {
            battery: Battery {
                level: Some(level),
                ..Battery::default()
            },
            ..Device::sample(Platform::Ios, id)
        }
    }

    #[test]
    fn diff_names_what_came_changed_and_went() {
        let before = [phone("a", 50), phone("b", 50)];
        let after = [phone("b", 51), phone("c", 20)];
        let events = diff(&before, &after);
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(matches!(&events[0], DeviceEvent::Detached { id, .. } if id == "a"));
        assert!(matches!(&events[1], DeviceEvent::Changed(d) if d.id == "b"));
        assert!(matches!(&events[2], DeviceEvent::Attached(d) if d.id == "c"));
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn pick_by_id_or_unique_prefix() {
        let phones = [
            phone("00008030-AB", 1),
            phone("00008030-CD", 1),
            phone("R58M", 1),
        ];
        assert_eq!(pick(&phones, "r58m").unwrap().id, "R58M");
        assert_eq!(pick(&phones, "00008030-c").unwrap().id, "00008030-CD");
        let several = pick(&phones, "00008030").unwrap_err().to_string();
        assert!(
            several.contains("2 ids") && several.contains("give more"),
            "{several}"
        );
        assert!(matches!(
            pick(&phones, "x"),
            Err(DeviceError::NotFound { .. })
        ));
        assert!(matches!(
            pick(&phones, ""),
            Err(DeviceError::NotFound { .. })
        ));
    }

    #[test]
    fn a_failed_read_keeps_what_the_list_said() {
        let mut seen = phone("x", 10);
        seen.link.speed_mbps = Some(480);
        let kept = merge(seen.clone(), Err(DeviceError::Cancelled));
        assert_eq!(kept, seen);
        let mut full = phone("x", 77);
        full.model = Some("iPhone 14 Pro".into());
        let merged = merge(seen, Ok(full));
        assert_eq!(merged.battery.level, Some(77));
        assert_eq!(merged.link.speed_mbps, Some(480));
    }
}
