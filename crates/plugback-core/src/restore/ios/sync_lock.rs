//! The phone's sync lock, taken as Finder and libimobiledevice take it, so that nothing
//! else syncs with the phone during the restore and the phone shows that a sync is on:
//!
//! 1. notification_proxy: post `com.apple.itunes-mobdev.syncWillStart`;
//! 2. AFC: open `/com.apple.itunes.lock_sync` (read-write, created if missing);
//! 3. post `syncLockRequest` (which asks another holder to let go);
//! 4. lock the file exclusively, without blocking, retrying while it would block;
//! 5. post `syncDidStart`.
//!
//! [`SyncLock::release`] undoes whatever was done (unlock, close, `syncDidFinish`) and is
//! called on every path, errors and cancel included; each step is bounded on its own so a
//! phone that is gone cannot hold it up.

use super::super::RestoreError;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::ios::afc_file::AfcFile;
use crate::device::ios::lockdown::service_error;
use crate::device::ios::wait::{bounded, pause};
use idevice::IdeviceError;
use idevice::afc::AfcClient;
use idevice::afc::errors::AfcError;
use idevice::afc::opcode::{AfcFopenMode, AfcLockOp};
use idevice::notification_proxy::NotificationProxyClient;
use std::time::Duration;

pub(super) const LOCK_FILE: &str = "/com.apple.itunes.lock_sync";
const WILL_START: &str = "com.apple.itunes-mobdev.syncWillStart";
const LOCK_REQUEST: &str = "com.apple.itunes-mobdev.syncLockRequest";
const DID_START: &str = "com.apple.itunes-mobdev.syncDidStart";
const DID_FINISH: &str = "com.apple.itunes-mobdev.syncDidFinish";
/// As libimobiledevice: 50 tries 200 ms apart, ten seconds for another holder to let go.
const LOCK_TRIES: u32 = 50;
const LOCK_PAUSE: Duration = Duration::from_millis(200);
const AFC_PEER: &str = "the iPhone (AFC)";
const NP_PEER: &str = "the iPhone (notification_proxy)";

/// The sync lock and the two connections it lives on. AFC is shared with the other
/// small writes of a restore (the apps list).
pub(super) struct SyncLock {
    pub afc: AfcClient,
    notifications: NotificationProxyClient,
    step: Duration,
    tries: u32,
    file: Option<AfcFile>,
    locked: bool,
    announced: bool,
}

impl SyncLock {
    /// Nothing is done yet; `step` bounds each request to the phone.
    pub(super) fn new(
        afc: AfcClient,
        notifications: NotificationProxyClient,
        step: Duration,
    ) -> SyncLock {
        SyncLock {
            afc,
            notifications,
            step,
            tries: LOCK_TRIES,
            file: None,
            locked: false,
            announced: false,
        }
    }

    pub(super) async fn acquire(&mut self, cancel: &CancelToken) -> Result<(), RestoreError> {
        self.post(WILL_START, cancel).await?;
        self.announced = true;
        let file = afc_step(
            self.step,
            cancel,
            AfcFile::open(&mut self.afc, LOCK_FILE, AfcFopenMode::Rw),
        )
        .await?;
        self.file = Some(file);
        self.post(LOCK_REQUEST, cancel).await?;
        for _ in 0..self.tries {
            let tried = bounded(AFC_PEER, self.step, cancel, async {
                Ok(file.lock(&mut self.afc, AfcLockOp::ExclusiveLock).await)
            })
            .await
            .map_err(device)?;
            match tried {
                Ok(()) => {
                    self.locked = true;
                    return self.post(DID_START, cancel).await;
                }
                Err(IdeviceError::Afc(AfcError::OpWouldBlock)) => {
                    pause(LOCK_PAUSE, cancel).await.map_err(device)?;
                }
                Err(e) => return Err(device(service_error(AFC_PEER, e))),
            }
        }
        Err(RestoreError::Device(DeviceError::Refused {
            detail: "another program is syncing with the phone (Finder, iTunes or a sync \
                     tool, on this computer or another); close it and try again"
                .to_owned(),
        }))
    }

    /// Undoes what [`Self::acquire`] did, each request bounded by `step`. Never fails: a
    /// phone that is gone has dropped the lock with the connection. Not tied to the
    /// restore's cancel token, so a cancelled restore still lets go of the phone.
    pub(super) async fn release(&mut self, step: Duration) {
        let cancel = CancelToken::new();
        self.step = step;
        if let Some(file) = self.file.take() {
            if std::mem::take(&mut self.locked) {
                let _ = afc_step(step, &cancel, file.lock(&mut self.afc, AfcLockOp::Unlock)).await;
            }
            let _ = afc_step(step, &cancel, file.close(&mut self.afc)).await;
        }
        if std::mem::take(&mut self.announced) {
            let _ = self.post(DID_FINISH, &cancel).await;
        }
    }

    async fn post(&mut self, name: &str, cancel: &CancelToken) -> Result<(), RestoreError> {
        let notifications = &mut self.notifications;
        bounded(NP_PEER, self.step, cancel, async {
            notifications
                .post_notification(name)
                .await
                .map_err(|e| service_error(NP_PEER, e))
        })
        .await
        .map_err(device)
    }
}

/// One AFC request, bounded by `step` and the cancel token.
pub(super) async fn afc_step<T>(
    step: Duration,
    cancel: &CancelToken,
    request: impl Future<Output = Result<T, IdeviceError>>,
) -> Result<T, RestoreError> {
    bounded(AFC_PEER, step, cancel, async {
        request.await.map_err(|e| service_error(AFC_PEER, e))
    })
    .await
    .map_err(device)
}

/// A device-layer error in the restore's terms: a cancel is the restore's cancel.
pub(super) fn device(error: DeviceError) -> RestoreError {
    match error {
        DeviceError::Cancelled => RestoreError::Cancelled,
        other => RestoreError::Device(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd, session};
    use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, UsbmuxdAddr};

    async fn connect(mux: &Usbmuxd, udid: &str) -> SyncLock {
        let cancel = CancelToken::new();
        let np = session::start_service(mux, udid, "com.apple.mobile.notification_proxy", &cancel)
            .await
            .unwrap();
        let afc = session::start_service(mux, udid, "com.apple.afc", &cancel)
            .await
            .unwrap();
        SyncLock::new(
            AfcClient::new(afc),
            NotificationProxyClient::new(np),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn the_lock_is_exclusive_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimUsbmuxd::start(
            UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            &dir.path().join("usbmuxd"),
        )
        .unwrap();
        let phone = sim
            .add_iphone(IphoneConfig::new(dir.path().join("phone")))
            .unwrap();
        let UsbmuxdAddr::Tcp(address) = sim.address() else {
            panic!("the simulator listens on TCP");
        };
        let mux = Usbmuxd::new(MuxAddress::Tcp(*address));
        let udid = phone.udid().to_owned();
        let cancel = CancelToken::new();
        let work = async {
            let paired = ios::pair(&mux, &udid, Duration::from_secs(30), &cancel, |_| {}).await;
            assert_eq!(paired.unwrap(), PairOutcome::Paired);
            let mut first = connect(&mux, &udid).await;
            first.acquire(&cancel).await.unwrap();

            let mut second = connect(&mux, &udid).await;
            second.tries = 2;
            let busy = second.acquire(&cancel).await.unwrap_err();
            assert_eq!(busy.code(), "device-refused", "{busy}");
            second.release(Duration::from_secs(1)).await;

            // `first` keeps its connections open: only its own unlock frees the lock.
            first.release(Duration::from_secs(1)).await;
            let mut third = connect(&mux, &udid).await;
            third.tries = 2;
            third.acquire(&cancel).await.unwrap();
            third.release(Duration::from_secs(1)).await;
            drop(first);
        };
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(60), work)
                    .await
                    .expect("the lock exchange did not finish in time")
            });
    }
}
