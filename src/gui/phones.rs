//! The phones plugged into this computer as the window knows them: kept up to date from
//! the engine's watcher events, which the worker forwards. Pure logic: no I/O.

use super::state::Failure;
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::PairOutcome;
use plugback_core::device::usb::{UsbEvent, UsbPhone};
use plugback_core::device::watcher::WatchEvent;
use plugback_core::device::{Device, DeviceEvent, DeviceState, Platform};
use std::collections::HashMap;

/// A phone service (usbmuxd for iPhones, the adb server for Android phones) that does not
/// answer: its phones cannot be seen until it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDown {
    pub platform: Platform,
    /// The device error's stable code, for the plain-language catalog.
    pub code: &'static str,
    pub message: String,
}

/// The phones plugged into this computer, as the watcher reports them.
#[derive(Debug, Default)]
pub struct Phones {
    /// Whether the window watches for phones at all.
    pub watching: bool,
    /// Phones a service can reach, in the order they arrived.
    pub devices: Vec<Device>,
    /// Phones seen on USB that no service can reach (USB debugging off, usbmuxd not
    /// running): each has a problem code, which says what to do.
    pub unreachable: Vec<UsbPhone>,
    /// Services that do not answer, at most one entry each.
    pub sources_down: Vec<SourceDown>,
    /// Why watching could not start or stopped, if it did.
    pub problem: Option<String>,
    /// Pairing started from the window, by iPhone UDID: under way or how it ended.
    pub pairing: HashMap<String, Pairing>,
}

/// Pairing this computer with one iPhone, as started from its card.
#[derive(Debug)]
pub enum Pairing {
    /// Under way: the last state the phone reported (none yet), and how to stop it.
    Waiting {
        last: Option<PairOutcome>,
        cancel: CancelToken,
    },
    /// Ended in one of the final states (paired, denied, locked).
    Ended(PairOutcome),
    /// Could not finish: timed out, the phone went away, usbmuxd stopped answering…
    Failed(Failure),
    /// The person pressed Cancel.
    Cancelled,
}

impl Pairing {
    pub fn is_waiting(&self) -> bool {
        matches!(self, Pairing::Waiting { .. })
    }

    /// What the card says about it, in plain words.
    pub fn words(&self) -> String {
        match self {
            Pairing::Waiting { cancel, .. } if cancel.is_cancelled() => "Stopping…".to_owned(),
            Pairing::Waiting { last: None, .. } => {
                "Asking the iPhone to trust this computer…".to_owned()
            }
            Pairing::Waiting { .. } => "Unlock your iPhone and tap Trust on it…".to_owned(),
            Pairing::Ended(PairOutcome::Paired) => PAIRED.to_owned(),
            Pairing::Ended(outcome) => outcome.guidance().to_owned(),
            Pairing::Failed(failure) if failure.code == Some("device-timeout") => {
                "Nobody tapped Trust on the iPhone within 2 minutes. Unlock it and press Pair this iPhone to ask again.".to_owned()
            }
            Pairing::Failed(failure) => failure.message.clone(),
            Pairing::Cancelled => "Pairing stopped. Nothing was changed.".to_owned(),
        }
    }
}

/// What the card says once the iPhone trusts this computer.
pub const PAIRED: &str = "Paired: Plugback can now read this iPhone.";

impl Phones {
    pub fn apply(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::Device(DeviceEvent::Attached(device) | DeviceEvent::Changed(device)) => {
                match self.devices.iter_mut().find(|d| d.id == device.id) {
                    Some(known) => *known = device,
                    None => self.devices.push(device),
                }
            }
            WatchEvent::Device(DeviceEvent::Detached { id, .. }) => {
                self.devices.retain(|d| d.id != id);
                // A pairing with a phone that went away cannot finish: stop it, and start
                // afresh when it comes back.
                if let Some(Pairing::Waiting { cancel, .. }) = self.pairing.get(&id) {
                    cancel.cancel();
                }
                self.pairing.remove(&id);
            }
            WatchEvent::Usb(UsbEvent::Attached(phone)) => {
                if phone.kind.problem_code().is_some() && !self.unreachable.contains(&phone) {
                    self.unreachable.push(phone);
                }
            }
            WatchEvent::Usb(UsbEvent::Detached(phone)) => {
                self.unreachable.retain(|p| *p != phone);
            }
            WatchEvent::SourceDown { platform, error } => {
                let down = SourceDown {
                    platform,
                    code: error.code(),
                    message: error.to_string(),
                };
                self.sources_down.retain(|s| s.platform != platform);
                self.sources_down.push(down);
            }
            WatchEvent::SourceUp { platform } => {
                self.sources_down.retain(|s| s.platform != platform);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty() && self.unreachable.is_empty()
    }

    /// Whether the card of `device` offers "Pair this iPhone": an iPhone that does not
    /// trust this computer (yet), with no pairing under way or finished as paired.
    pub fn can_pair(&self, device: &Device) -> bool {
        let untrusted = matches!(
            device.state,
            DeviceState::NotPaired | DeviceState::TrustPending | DeviceState::TrustDenied
        );
        let settled = self
            .pairing
            .get(&device.id)
            .is_some_and(|p| p.is_waiting() || matches!(p, Pairing::Ended(PairOutcome::Paired)));
        device.platform == Platform::Ios && untrusted && !settled
    }

    /// Starts pairing with the iPhone `udid`; the token stops it. None when it cannot be
    /// offered or is under way already.
    pub fn start_pairing(&mut self, udid: &str) -> Option<CancelToken> {
        let device = self.devices.iter().find(|d| d.id == udid)?;
        if !self.can_pair(device) {
            return None;
        }
        let cancel = CancelToken::new();
        self.pairing.insert(
            udid.to_owned(),
            Pairing::Waiting {
                last: None,
                cancel: cancel.clone(),
            },
        );
        Some(cancel)
    }

    /// A state the phone reported while pairing runs.
    pub fn pairing_progress(&mut self, udid: &str, outcome: PairOutcome) {
        if let Some(Pairing::Waiting { last, .. }) = self.pairing.get_mut(udid) {
            *last = Some(outcome);
        }
    }

    /// How the pairing ended. A report for a pairing no longer waited on (the phone was
    /// unplugged meanwhile) is dropped.
    pub fn pairing_finished(&mut self, udid: &str, result: Result<PairOutcome, Failure>) {
        let Some(pairing) = self.pairing.get_mut(udid) else {
            return;
        };
        if !pairing.is_waiting() {
            return;
        }
        *pairing = match result {
            Ok(outcome) => Pairing::Ended(outcome),
            Err(failure) if failure.code == Some("cancelled") => Pairing::Cancelled,
            Err(failure) => Pairing::Failed(failure),
        };
    }

    /// Asks the pairing with `udid` to stop; it reports back as cancelled.
    pub fn cancel_pairing(&self, udid: &str) {
        if let Some(Pairing::Waiting { cancel, .. }) = self.pairing.get(udid) {
            cancel.cancel();
        }
    }

    /// Stops every pairing under way (the window is closing).
    pub fn cancel_all_pairing(&self) {
        for pairing in self.pairing.values() {
            if let Pairing::Waiting { cancel, .. } = pairing {
                cancel.cancel();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::device::DeviceError;

    fn iphone(id: &str, state: DeviceState) -> Device {
        Device {
            id: id.into(),
            platform: Platform::Ios,
            name: None,
            model: None,
            os_version: None,
            sdk: None,
            serial: None,
            state,
            battery: Default::default(),
            storage: Default::default(),
            link: Default::default(),
            will_encrypt: None,
        }
    }

    fn with(devices: Vec<Device>) -> Phones {
        Phones {
            watching: true,
            devices,
            ..Phones::default()
        }
    }

    #[test]
    fn only_untrusted_iphones_offer_pairing() {
        let mut android = iphone("android", DeviceState::Unauthorized);
        android.platform = Platform::Android;
        let mut android_not_paired = iphone("odd", DeviceState::NotPaired);
        android_not_paired.platform = Platform::Android;
        let phones = with(vec![
            iphone("new", DeviceState::NotPaired),
            iphone("asking", DeviceState::TrustPending),
            iphone("denied", DeviceState::TrustDenied),
            iphone("ready", DeviceState::Ready),
            iphone("locked", DeviceState::PasscodeLocked),
            android,
            android_not_paired,
        ]);
        let offered: Vec<&str> = phones
            .devices
            .iter()
            .filter(|d| phones.can_pair(d))
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(offered, ["new", "asking", "denied"]);
    }

    #[test]
    fn pairing_runs_once_reports_progress_and_ends_paired() {
        let mut phones = with(vec![iphone("u1", DeviceState::NotPaired)]);
        assert!(phones.start_pairing("unknown").is_none());
        let cancel = phones.start_pairing("u1").expect("offered");
        assert!(phones.start_pairing("u1").is_none(), "one at a time");
        assert!(!phones.can_pair(&phones.devices[0]));
        assert_eq!(
            phones.pairing["u1"].words(),
            "Asking the iPhone to trust this computer…"
        );

        phones.pairing_progress("u1", PairOutcome::TrustPending);
        assert_eq!(
            phones.pairing["u1"].words(),
            "Unlock your iPhone and tap Trust on it…"
        );
        phones.pairing_finished("u1", Ok(PairOutcome::Paired));
        assert!(matches!(
            phones.pairing["u1"],
            Pairing::Ended(PairOutcome::Paired)
        ));
        assert_eq!(phones.pairing["u1"].words(), PAIRED);
        assert!(!cancel.is_cancelled());
        // Paired: the card no longer offers it, even before the watcher reads it again.
        assert!(!phones.can_pair(&phones.devices[0]));
        // A late report changes nothing.
        phones.pairing_progress("u1", PairOutcome::TrustDenied);
        assert_eq!(phones.pairing["u1"].words(), PAIRED);
    }

    #[test]
    fn a_denial_or_a_timeout_says_what_to_do_and_offers_pairing_again() {
        let mut phones = with(vec![iphone("u1", DeviceState::NotPaired)]);
        phones.start_pairing("u1").unwrap();
        phones.pairing_finished("u1", Ok(PairOutcome::TrustDenied));
        assert!(phones.pairing["u1"].words().contains("Don't Trust"));
        assert!(phones.can_pair(&phones.devices[0]), "can ask again");

        phones.start_pairing("u1").expect("offered again");
        let timeout = DeviceError::Timeout {
            what: "the Trust prompt on the iPhone".into(),
            after: std::time::Duration::from_secs(120),
        };
        phones.pairing_finished("u1", Err(Failure::from(&timeout)));
        assert!(
            phones.pairing["u1"].words().contains("within 2 minutes"),
            "{:?}",
            phones.pairing["u1"]
        );
        assert!(phones.can_pair(&phones.devices[0]));
    }

    #[test]
    fn cancel_stops_it_and_unplugging_forgets_it() {
        let mut phones = with(vec![iphone("u1", DeviceState::NotPaired)]);
        let cancel = phones.start_pairing("u1").unwrap();
        phones.cancel_pairing("u1");
        assert!(cancel.is_cancelled());
        assert_eq!(phones.pairing["u1"].words(), "Stopping…");
        phones.pairing_finished("u1", Err(Failure::from(&DeviceError::Cancelled)));
        assert!(matches!(phones.pairing["u1"], Pairing::Cancelled));
        assert!(phones.can_pair(&phones.devices[0]));

        let cancel = phones.start_pairing("u1").unwrap();
        phones.apply(WatchEvent::Device(DeviceEvent::Detached {
            id: "u1".into(),
            platform: Platform::Ios,
        }));
        assert!(
            cancel.is_cancelled(),
            "a pairing with a phone gone is stopped"
        );
        assert!(phones.pairing.is_empty());
        // Its last report, arriving after, is dropped.
        phones.pairing_finished("u1", Ok(PairOutcome::Paired));
        assert!(phones.pairing.is_empty());
    }
}
