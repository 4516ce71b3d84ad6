//! notification_proxy: observe, post, relay and shutdown.

/// The observers of one phone's notifications.
#[derive(Default)]
pub struct Hub {}
