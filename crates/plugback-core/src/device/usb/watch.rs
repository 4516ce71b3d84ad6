//! Follows phones arriving and leaving on USB: nusb's hotplug stream, narrowed to phones.

use std::collections::HashMap;
use std::hash::Hash;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::mpsc;

use super::UsbEvent;
use super::classify::{UsbPhone, classify};
use super::descriptor::UsbDescriptor;
use super::enumerate;
use crate::cancel::CancelToken;
use crate::device::DeviceError;

/// Remembers which USB devices are phones, since a disconnection names only the device's id.
#[derive(Debug)]
pub struct PhoneTracker<K> {
    phones: HashMap<K, UsbPhone>,
}

impl<K: Hash + Eq> Default for PhoneTracker<K> {
    fn default() -> Self {
        Self {
            phones: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> PhoneTracker<K> {
    /// A device appeared: an event when it is a phone. A device seen again under the same id
    /// (a re-enumeration) replaces the earlier one.
    pub fn connected(&mut self, id: K, device: &UsbDescriptor) -> Option<UsbEvent> {
        let phone = classify(device)?;
        self.phones.insert(id, phone.clone());
        Some(UsbEvent::Attached(phone))
    }

    /// A device left: an event when it was a phone.
    pub fn disconnected(&mut self, id: &K) -> Option<UsbEvent> {
        self.phones.remove(id).map(UsbEvent::Detached)
    }

    pub fn phones(&self) -> impl Iterator<Item = &UsbPhone> {
        self.phones.values()
    }
}

/// Starts following USB: phones already plugged in arrive first as Attached. The channel
/// ends on cancel or when the receiver is dropped. Needs a running tokio runtime. Fails
/// where the system gives no USB view or no hotplug notifications.
pub fn watch(cancel: &CancelToken) -> Result<mpsc::UnboundedReceiver<UsbEvent>, DeviceError> {
    // The watch opens before the listing, so no device slips between the two.
    let mut hotplug = nusb::watch_devices().map_err(enumerate::io_error)?;
    let present = nusb::MaybeFuture::wait(nusb::list_devices()).map_err(enumerate::io_error)?;
    let mut tracker = PhoneTracker::default();
    let (tx, rx) = mpsc::unbounded_channel();
    for info in present {
        if let Some(event) = tracker.connected(info.id(), &enumerate::describe(&info)) {
            let _ = tx.send(event);
        }
    }
    let cancel = cancel.clone();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = next_hotplug_event(&mut hotplug) => event,
                _ = cancelled(&cancel) => return,
                _ = tx.closed() => return,
            };
            let published = match event {
                Some(nusb::hotplug::HotplugEvent::Connected(info)) => {
                    tracker.connected(info.id(), &enumerate::describe(&info))
                }
                Some(nusb::hotplug::HotplugEvent::Disconnected(id)) => tracker.disconnected(&id),
                None => return,
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

async fn next_hotplug_event(
    hotplug: &mut nusb::hotplug::HotplugWatch,
) -> Option<nusb::hotplug::HotplugEvent> {
    std::future::poll_fn(|cx| Pin::new(&mut *hotplug).poll_next(cx)).await
}

/// How often a running watch looks at its cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(100);

async fn cancelled(cancel: &CancelToken) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(CANCEL_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::usb::classify::{ADB_INTERFACE, STILL_IMAGE_INTERFACE, UsbPhoneKind};
    use crate::device::usb::descriptor::InterfaceClass;

    fn pixel() -> UsbDescriptor {
        UsbDescriptor {
            vendor_id: 0x18D1,
            product_id: 0x4EE2,
            interfaces: vec![STILL_IMAGE_INTERFACE, ADB_INTERFACE],
            serial: Some("8A1X0".into()),
            port_chain: vec![1],
            ..UsbDescriptor::default()
        }
    }

    fn mouse() -> UsbDescriptor {
        UsbDescriptor {
            vendor_id: 0x046D,
            product_id: 0xC077,
            interfaces: vec![InterfaceClass::new(3, 1, 2)],
            ..UsbDescriptor::default()
        }
    }

    #[test]
    fn phones_attach_and_detach_other_devices_are_ignored() {
        let mut tracker = PhoneTracker::default();
        assert_eq!(tracker.connected(7, &mouse()), None);
        let attached = tracker.connected(3, &pixel());
        let Some(UsbEvent::Attached(phone)) = attached else {
            panic!("expected Attached, got {attached:?}");
        };
        assert_eq!(phone.kind, UsbPhoneKind::AndroidAdb);
        assert_eq!(tracker.phones().count(), 1);
        assert_eq!(tracker.disconnected(&7), None);
        assert_eq!(tracker.disconnected(&3), Some(UsbEvent::Detached(phone)));
        assert_eq!(
            tracker.disconnected(&3),
            None,
            "a second disconnection is silent"
        );
        assert_eq!(tracker.phones().count(), 0);
    }

    #[test]
    fn reconnection_under_the_same_id_replaces_the_phone() {
        let mut tracker = PhoneTracker::default();
        tracker.connected(1, &pixel());
        let mut debugging_off = pixel();
        debugging_off.interfaces = vec![STILL_IMAGE_INTERFACE];
        tracker.connected(1, &debugging_off);
        let kinds: Vec<_> = tracker.phones().map(|p| p.kind).collect();
        assert_eq!(kinds, vec![UsbPhoneKind::AndroidDebuggingOff]);
    }

    /// Without hardware: where this computer gives a USB view the watch starts and ends on
    /// cancel; where it does not (containers), it fails at once instead of hanging.
    #[tokio::test]
    async fn watch_ends_on_cancel_or_fails_at_once() {
        let cancel = CancelToken::new();
        match watch(&cancel) {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(mut events) => {
                cancel.cancel();
                let drained = tokio::time::timeout(Duration::from_secs(5), async {
                    while events.recv().await.is_some() {}
                })
                .await;
                assert!(drained.is_ok(), "the channel did not close after cancel");
            }
        }
    }
}
