//! Every wait of the iPhone transport goes through here: it ends when the work ends, when
//! the deadline passes, or when the person cancels, whichever comes first.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use std::future::Future;
use std::time::Duration;

/// How often a wait looks at the cancel flag (it is a polled flag, not a waker).
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Runs `work` for at most `after`; `what` names the peer in the timeout error.
pub(crate) async fn bounded<T>(
    what: &str,
    after: Duration,
    cancel: &CancelToken,
    work: impl Future<Output = Result<T, DeviceError>>,
) -> Result<T, DeviceError> {
    tokio::select! {
        result = work => result,
        _ = tokio::time::sleep(after) => Err(DeviceError::Timeout {
            what: what.to_owned(),
            after,
        }),
        _ = cancelled(cancel) => Err(DeviceError::Cancelled),
    }
}

/// Sleeps for `pause`, or less when cancelled.
pub(crate) async fn pause(pause: Duration, cancel: &CancelToken) -> Result<(), DeviceError> {
    tokio::select! {
        _ = tokio::time::sleep(pause) => Ok(()),
        _ = cancelled(cancel) => Err(DeviceError::Cancelled),
    }
}

/// Resolves once the token is cancelled.
pub(crate) async fn cancelled(cancel: &CancelToken) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(CANCEL_POLL).await;
    }
}
