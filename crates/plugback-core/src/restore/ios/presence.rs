//! Whether the phone is still plugged in, from usbmuxd's own attach and detach events: a
//! pulled cable ends the restore at once even where a connection would not notice, and
//! after a successful restore the phone going away is its reboot.

use crate::cancel::CancelToken;
use crate::device::ios::{self, Usbmuxd};
use crate::device::{DeviceError, DeviceEvent};
use tokio::sync::mpsc::UnboundedReceiver;

pub(super) struct Presence {
    events: Option<UnboundedReceiver<Result<DeviceEvent, DeviceError>>>,
    udid: String,
    /// Ends the watch when the restore is over (dropping the receiver ends it too).
    stop: CancelToken,
}

impl Presence {
    /// Starts watching. Without a watch (usbmuxd refused a Listen), [`Self::gone`] never
    /// resolves and the connections alone tell a lost phone.
    pub(super) async fn watch(mux: &Usbmuxd, udid: &str) -> Presence {
        let stop = CancelToken::new();
        let events = match ios::watch(mux, &stop).await {
            Ok(events) => Some(events),
            Err(e) => {
                tracing::warn!("restore: cannot follow usbmuxd's events: {e}");
                None
            }
        };
        Presence {
            events,
            udid: udid.to_owned(),
            stop,
        }
    }

    /// Resolves once usbmuxd reports the phone detached.
    pub(super) async fn gone(&mut self) {
        if let Some(events) = self.events.as_mut() {
            while let Some(event) = events.recv().await {
                if let Ok(DeviceEvent::Detached { id, .. }) = event
                    && id == self.udid
                {
                    return;
                }
            }
            // The watch ended (usbmuxd went away): the connections will tell.
            self.events = None;
        }
        std::future::pending::<()>().await
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
