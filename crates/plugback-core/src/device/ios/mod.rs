//! The iPhone transport: usbmuxd for the list of phones and their attach/detach events,
//! lockdown (through the pinned `idevice` crate) for identity, battery, storage and
//! pairing.
//!
//! Everything is async on tokio; every wait has a deadline ([`Usbmuxd::reply_timeout`] for
//! one reply) and ends early on a [`crate::cancel::CancelToken`]. [`block_on`] runs one of
//! these calls from code without a runtime (the command line, a worker thread).

mod address;
pub(crate) mod afc_file;
mod list;
pub(crate) mod lockdown;
mod mux;
mod pair;
mod probe;
mod read;
pub(crate) mod session;
pub(crate) mod wait;
#[cfg(target_os = "linux")]
pub mod zero_copy;
/// Zero-copy sends on a service connection, where the system has them.
#[cfg(target_os = "linux")]
pub use zero_copy::ZeroCopyPipe;
#[cfg(not(target_os = "linux"))]
pub type ZeroCopyPipe = std::convert::Infallible;

pub use address::{ADDRESS_VARIABLE, MuxAddress, linux_advice, usbmuxd_advice};
pub use list::{list, watch};
pub use mux::Usbmuxd;
pub use pair::{PairOutcome, pair, pair_once};
pub use probe::probe;
pub use read::{find_my, read};

use crate::device::DeviceError;
use std::future::Future;

/// Runs `work` on a private single-threaded tokio runtime and returns its result.
pub fn block_on<T>(work: impl Future<Output = Result<T, DeviceError>>) -> Result<T, DeviceError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}
