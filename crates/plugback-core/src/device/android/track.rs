//! The adb server's device list (`host:devices[-l]`, `host:track-devices[-l]`) and the
//! tracker that turns its updates into attach, change and detach events.
//!
//! The list is text meant for people, so the parser is forgiving: a state may contain
//! spaces (`no permissions (missing udev rules? …); see [http://…]`), a serial may too
//! (`(no serial number)`), and the long form pads the serial to 22 columns and appends
//! `usb:… product:… model:… device:… transport_id:N`. A line it cannot split is skipped
//! with a log line; a state it does not know becomes [`DeviceState::Other`].

use crate::cancel::CancelToken;
use crate::device::android::server::AdbServer;
use crate::device::android::smart_socket::SmartSocket;
use crate::device::{
    Battery, Device, DeviceError, DeviceEvent, DeviceState, Link, Platform, Storage,
};
use std::time::{Duration, Instant};

/// One phone as the adb server lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackedDevice {
    pub serial: String,
    /// The state as adb wrote it (`device`, `unauthorized`, `no permissions (…)` …).
    pub raw_state: String,
    pub product: Option<String>,
    pub model: Option<String>,
    pub device: Option<String>,
    /// The USB path (`1-4`), where the server says.
    pub usb: Option<String>,
    pub transport_id: Option<u64>,
}

impl TrackedDevice {
    pub fn state(&self) -> DeviceState {
        state_from(&self.raw_state)
    }

    /// What the list alone tells of the phone; [`crate::device::android::read`] adds
    /// the rest.
    pub fn to_device(&self) -> Device {
        Device {
            id: self.serial.clone(),
            platform: Platform::Android,
            name: None,
            // adb writes spaces in the model as underscores.
            model: self.model.as_ref().map(|m| m.replace('_', " ")),
            os_version: None,
            sdk: None,
            serial: None,
            state: self.state(),
            battery: Battery::default(),
            storage: Storage::default(),
            link: Link::default(),
            will_encrypt: None,
        }
    }
}

/// Fields the long listing appends after the state.
const LONG_FIELDS: [&str; 6] = [
    "usb",
    "product",
    "model",
    "device",
    "transport_id",
    "features",
];

/// Maps adb's state text to the device model's state.
pub fn state_from(raw: &str) -> DeviceState {
    let raw = raw.trim();
    match raw {
        "device" => DeviceState::Ready,
        "unauthorized" => DeviceState::Unauthorized,
        "offline" => DeviceState::Offline,
        "recovery" => DeviceState::Recovery,
        "sideload" => DeviceState::Sideload,
        "bootloader" => DeviceState::Bootloader,
        _ if raw.starts_with("no permissions") => DeviceState::NoPermissions(raw.to_string()),
        // host, connecting, authorizing, rescue, unknown, detached and future words.
        other => DeviceState::Other(other.to_string()),
    }
}

/// Parses a whole listing; lines that cannot be split are skipped (and logged).
pub fn parse_device_list(text: &str) -> Vec<TrackedDevice> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let parsed = parse_device_line(line);
            if parsed.is_none() {
                tracing::warn!("adb device list: skipping a line that has no state: {line:?}");
            }
            parsed
        })
        .collect()
}

/// One line of `devices` (`serial\tstate`) or `devices -l` (`serial<spaces>state
/// fields…`); None when no serial and state can be told apart.
pub fn parse_device_line(line: &str) -> Option<TrackedDevice> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (serial, rest) = match line.split_once('\t') {
        Some((serial, rest)) => (serial.trim().to_string(), rest.trim().to_string()),
        None => split_spaced(line.trim())?,
    };
    if serial.is_empty() {
        return None;
    }
    let mut device = TrackedDevice {
        serial,
        ..TrackedDevice::default()
    };
    // Peel known `key:value` fields off the end; what remains is the state.
    let mut tokens: Vec<&str> = rest.split_whitespace().collect();
    while let Some(last) = tokens.last() {
        let Some((key, value)) = last.split_once(':') else {
            break;
        };
        if !LONG_FIELDS.contains(&key) {
            break;
        }
        let value = value.to_string();
        match key {
            "usb" => device.usb = Some(value),
            "product" => device.product = Some(value),
            "model" => device.model = Some(value),
            "device" => device.device = Some(value),
            "transport_id" => device.transport_id = value.parse().ok(),
            _ => {}
        }
        tokens.pop();
    }
    if tokens.is_empty() {
        return None;
    }
    device.raw_state = tokens.join(" ");
    Some(device)
}

/// Splits a long-form line without a tab into serial and the rest (state and fields).
fn split_spaced(line: &str) -> Option<(String, String)> {
    // The no-permissions state has spaces of its own: it starts where its words start.
    if let Some(at) = line.find(" no permissions") {
        return Some((line[..at].trim().to_string(), line[at..].trim().to_string()));
    }
    // Otherwise the state is the first word after the serial that is followed only by
    // fields; a serial with spaces keeps all its words.
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let first_field = tokens
        .iter()
        .position(|t| {
            t.split_once(':')
                .is_some_and(|(k, _)| LONG_FIELDS.contains(&k))
        })
        .unwrap_or(tokens.len());
    if first_field < 2 {
        return None;
    }
    let state_word = tokens[first_field - 1];
    // Cut at the last occurrence of the state word before the fields, so the serial's
    // own spacing survives.
    let fields_start = if first_field < tokens.len() {
        line.find(&format!(" {}", tokens[first_field]))?
    } else {
        line.len()
    };
    let state_at = line[..fields_start].rfind(state_word)?;
    let serial = line[..state_at].trim();
    if serial.is_empty() {
        return None;
    }
    Some((serial.to_string(), line[state_at..].trim().to_string()))
}

/// How often the tracker re-reads `host:devices-l` on its own. adb does not announce
/// every change on its tracking connection: a network transport whose phone went away
/// turns `offline` while adb retries, and trackers hear nothing of it (seen with adb
/// 29.0.6). A re-read every few seconds catches those without spawning anything.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(2);

/// A live `host:track-devices-l` connection (or `host:track-devices` where the server
/// has no long form): every change of any phone re-sends the whole list.
pub struct DeviceTracker {
    server: AdbServer,
    cancel: CancelToken,
    socket: SmartSocket,
    known: Vec<TrackedDevice>,
    long_form: bool,
    last_sync: Instant,
}

impl DeviceTracker {
    /// Opens the tracking connection (starting the server if needed).
    pub fn start(server: &AdbServer, cancel: &CancelToken) -> Result<DeviceTracker, DeviceError> {
        server.ensure_running(cancel)?;
        let mut socket = server.connect(cancel)?;
        let long_form = match socket.request("host:track-devices-l") {
            Ok(()) => true,
            // Older servers (adb 29) know only the short form.
            Err(DeviceError::Refused { .. }) => {
                socket = server.connect(cancel)?;
                socket.request("host:track-devices")?;
                false
            }
            Err(e) => return Err(e),
        };
        Ok(DeviceTracker {
            server: server.clone(),
            cancel: cancel.clone(),
            socket,
            known: Vec::new(),
            long_form,
            last_sync: Instant::now(),
        })
    }

    /// True when the server sends the long form (with product, model and device).
    pub fn long_form(&self) -> bool {
        self.long_form
    }

    /// The last list received.
    pub fn devices(&self) -> &[TrackedDevice] {
        &self.known
    }

    /// Waits up to `wait` for the next list pushed by the server; None when none came.
    pub fn next_list(&mut self, wait: Duration) -> Result<Option<Vec<TrackedDevice>>, DeviceError> {
        if !self.socket.wait_readable(wait)? {
            return Ok(None);
        }
        let body = self.socket.read_block()?;
        Ok(Some(parse_device_list(&body)))
    }

    /// Waits up to `wait` for a change and returns what changed since the last list: from
    /// the tracking connection, or from the periodic re-read.
    pub fn next_events(&mut self, wait: Duration) -> Result<Vec<DeviceEvent>, DeviceError> {
        let list = match self.next_list(wait)? {
            Some(list) => list,
            None if self.last_sync.elapsed() >= RESYNC_INTERVAL => {
                self.last_sync = Instant::now();
                let body = self.server.connect(&self.cancel)?.query("host:devices-l")?;
                parse_device_list(&body)
            }
            None => return Ok(Vec::new()),
        };
        let list = keep_known_fields(&self.known, list);
        let events = diff(&self.known, &list);
        self.known = list;
        Ok(events)
    }
}

/// A short-form list has no product, model or device: keep what a long-form list said
/// of the same phone, so switching between the two forms is no change.
fn keep_known_fields(before: &[TrackedDevice], after: Vec<TrackedDevice>) -> Vec<TrackedDevice> {
    after
        .into_iter()
        .map(|mut new| {
            if let Some(old) = before.iter().find(|old| old.serial == new.serial) {
                new.product = new.product.or_else(|| old.product.clone());
                new.model = new.model.or_else(|| old.model.clone());
                new.device = new.device.or_else(|| old.device.clone());
                new.usb = new.usb.or_else(|| old.usb.clone());
                new.transport_id = new.transport_id.or(old.transport_id);
            }
            new
        })
        .collect()
}

/// The events that turn list `before` into list `after`, keyed by serial.
pub fn diff(before: &[TrackedDevice], after: &[TrackedDevice]) -> Vec<DeviceEvent> {
    let mut events = Vec::new();
    for old in before {
        if !after.iter().any(|new| new.serial == old.serial) {
            events.push(DeviceEvent::Detached {
                id: old.serial.clone(),
                platform: Platform::Android,
            });
        }
    }
    for new in after {
        match before.iter().find(|old| old.serial == new.serial) {
            None => events.push(DeviceEvent::Attached(new.to_device())),
            Some(old) if old != new => events.push(DeviceEvent::Changed(new.to_device())),
            Some(_) => {}
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_PERMISSIONS: &str = "no permissions (missing udev rules? user is in the plugdev group); see [http://developer.android.com/tools/device.html]";

    fn one(line: &str) -> TrackedDevice {
        parse_device_line(line).unwrap_or_else(|| panic!("no device in {line:?}"))
    }

    #[test]
    fn short_form_states() {
        for (word, state) in [
            ("device", DeviceState::Ready),
            ("unauthorized", DeviceState::Unauthorized),
            ("offline", DeviceState::Offline),
            ("recovery", DeviceState::Recovery),
            ("sideload", DeviceState::Sideload),
            ("bootloader", DeviceState::Bootloader),
            ("host", DeviceState::Other("host".into())),
            ("connecting", DeviceState::Other("connecting".into())),
            ("authorizing", DeviceState::Other("authorizing".into())),
            ("rescue", DeviceState::Other("rescue".into())),
            ("frobnicated", DeviceState::Other("frobnicated".into())),
        ] {
            let d = one(&format!("R58M12ABCDE\t{word}"));
            assert_eq!(d.serial, "R58M12ABCDE");
            assert_eq!(d.state(), state, "{word}");
        }
    }

    #[test]
    fn no_permissions_keeps_its_spaces_in_both_forms() {
        let d = one(&format!("0123456789ABCDEF\t{NO_PERMISSIONS}"));
        assert_eq!(d.serial, "0123456789ABCDEF");
        assert_eq!(d.state(), DeviceState::NoPermissions(NO_PERMISSIONS.into()));

        let d = one(&format!(
            "0123456789ABCDEF       {NO_PERMISSIONS} usb:1-4 transport_id:3"
        ));
        assert_eq!(d.serial, "0123456789ABCDEF");
        assert_eq!(d.raw_state, NO_PERMISSIONS);
        assert_eq!(d.usb.as_deref(), Some("1-4"));
        assert_eq!(d.transport_id, Some(3));
        assert_eq!(d.state().code(), "device-no-permissions");
    }

    #[test]
    fn long_form_fields() {
        let d = one(
            "127.0.0.1:40555        device product:fakephone model:Fake_Phone_1 device:fake transport_id:1",
        );
        assert_eq!(d.serial, "127.0.0.1:40555");
        assert_eq!(d.state(), DeviceState::Ready);
        assert_eq!(d.product.as_deref(), Some("fakephone"));
        assert_eq!(d.model.as_deref(), Some("Fake_Phone_1"));
        assert_eq!(d.device.as_deref(), Some("fake"));
        assert_eq!(d.transport_id, Some(1));
        assert_eq!(d.to_device().model.as_deref(), Some("Fake Phone 1"));

        let d = one(
            "39211FDJH00BCF         device usb:3-2 product:shiba model:Pixel_8 device:shiba transport_id:12",
        );
        assert_eq!(d.usb.as_deref(), Some("3-2"));
        assert_eq!(d.model.as_deref(), Some("Pixel_8"));

        let d = one("emulator-5554          unauthorized transport_id:2");
        assert_eq!(d.state(), DeviceState::Unauthorized);
        assert_eq!(d.transport_id, Some(2));

        let d = one("R58M12ABCDE            offline usb:1-1 transport_id:7");
        assert_eq!(d.state(), DeviceState::Offline);
    }

    #[test]
    fn serials_with_spaces() {
        let d = one("(no serial number)\tdevice");
        assert_eq!(d.serial, "(no serial number)");
        assert_eq!(d.state(), DeviceState::Ready);

        let d =
            one("(no serial number)     device usb:1-2 product:x model:y device:z transport_id:4");
        assert_eq!(d.serial, "(no serial number)");
        assert_eq!(d.state(), DeviceState::Ready);
        assert_eq!(d.model.as_deref(), Some("y"));

        let d = one("(no serial number)     unauthorized usb:1-2 transport_id:4");
        assert_eq!(d.serial, "(no serial number)");
        assert_eq!(d.state(), DeviceState::Unauthorized);

        let d = one(
            "adb-R58M12ABCDE-AbCdEf._adb-tls-connect._tcp device product:a model:b device:c transport_id:9",
        );
        assert_eq!(d.serial, "adb-R58M12ABCDE-AbCdEf._adb-tls-connect._tcp");
    }

    #[test]
    fn a_whole_listing_survives_odd_lines() {
        let listing = format!(
            "R58M12ABCDE\tdevice\n\n0123456789ABCDEF\t{NO_PERMISSIONS}\nlonelyword\n\t\n\
             emulator-5554\toffline\n192.168.1.20:5555\tsomething new\nXYZ\x00\tdevice\n"
        );
        let list = parse_device_list(&listing);
        let serials: Vec<&str> = list.iter().map(|d| d.serial.as_str()).collect();
        assert_eq!(
            serials,
            [
                "R58M12ABCDE",
                "0123456789ABCDEF",
                "emulator-5554",
                "192.168.1.20:5555",
                "XYZ\0"
            ]
        );
        assert_eq!(list[3].state(), DeviceState::Other("something new".into()));
        assert!(parse_device_list("").is_empty());
    }

    #[test]
    fn lines_without_a_state_are_skipped() {
        for line in [
            "",
            "   ",
            "serialonly",
            "\tdevice",
            "transport_id:3",
            "a product:x",
        ] {
            assert_eq!(parse_device_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn short_lists_keep_the_long_fields() {
        let long = vec![one(
            "A      device product:p model:M device:d transport_id:3",
        )];
        let short = keep_known_fields(&long, vec![one("A\tdevice")]);
        assert_eq!(short, long);
        assert!(diff(&long, &short).is_empty());
        let offline = keep_known_fields(&long, vec![one("A\toffline")]);
        assert!(
            matches!(&diff(&long, &offline)[..], [DeviceEvent::Changed(d)] if d.state == DeviceState::Offline && d.model.as_deref() == Some("M"))
        );
    }

    #[test]
    fn every_android_state_is_explained() {
        for state in [
            DeviceState::Unauthorized,
            DeviceState::Offline,
            DeviceState::NoPermissions(NO_PERMISSIONS.into()),
            DeviceState::Recovery,
            DeviceState::Sideload,
            DeviceState::Bootloader,
            DeviceState::Other("connecting".into()),
        ] {
            let entry = crate::explain::explain(state.code());
            assert!(
                entry.is_some_and(|e| !e.what_to_do.is_empty()),
                "{}",
                state.code()
            );
        }
        assert!(crate::explain::explain("adb-unavailable").is_some());
    }

    #[test]
    fn diff_reports_attach_change_detach() {
        let a = one("A\tunauthorized");
        let a_ready = one("A\tdevice");
        let b = one("B\tdevice");
        let events = diff(&[], std::slice::from_ref(&a));
        assert!(
            matches!(&events[..], [DeviceEvent::Attached(d)] if d.state == DeviceState::Unauthorized)
        );
        let events = diff(std::slice::from_ref(&a), &[a_ready.clone(), b.clone()]);
        assert_eq!(events.len(), 2);
        assert!(
            matches!(&events[0], DeviceEvent::Changed(d) if d.id == "A" && d.state == DeviceState::Ready)
        );
        assert!(matches!(&events[1], DeviceEvent::Attached(d) if d.id == "B"));
        let events = diff(&[a_ready, b], &[]);
        assert_eq!(events.len(), 2);
        assert!(
            events
                .iter()
                .all(|e| matches!(e, DeviceEvent::Detached { .. }))
        );
    }
}
