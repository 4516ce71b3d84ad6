//! The simulated Android phone a test-restore restores into: started in this process with
//! its storage in a temporary folder, attached to a private adb server, and stopped (the
//! server too) when dropped.

use super::TestRestoreError;
use super::adb::{self, PrivateAdb};
use plugback_core::cancel::CancelToken;
use plugback_core::device::android::AdbServer;
use plugback_core::restore::RestoreError;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use std::path::{Path, PathBuf};

/// One simulated phone on its own adb server.
pub(super) struct AttachedPhone {
    // Dropped in this order: the server first (it lets go of the phone), then the phone,
    // then its storage.
    adb: PrivateAdb,
    sim: SimAndroid,
    serial: String,
    storage: tempfile::TempDir,
}

impl AttachedPhone {
    /// Finds adb, starts the phone (as `configure` makes it) and its server, and waits,
    /// bounded, until the server lists the phone as ready.
    pub(super) fn start(
        configure: impl FnOnce(&mut AndroidConfig),
        cancel: &CancelToken,
    ) -> Result<AttachedPhone, TestRestoreError> {
        let program = adb::find_adb().map_err(TestRestoreError::NoAdb)?;
        let storage = tempfile::tempdir().map_err(TestRestoreError::simulator)?;
        let mut config = AndroidConfig::new(storage.path().to_path_buf());
        configure(&mut config);
        let sim = SimAndroid::start(config, ([127, 0, 0, 1], 0).into())
            .map_err(TestRestoreError::simulator)?;
        let serial = sim.address().to_string();
        let adb = PrivateAdb::start(&program, cancel).map_err(RestoreError::Device)?;
        adb.attach(&serial, cancel).map_err(RestoreError::Device)?;
        Ok(AttachedPhone {
            adb,
            sim,
            serial,
            storage,
        })
    }

    pub(super) fn server(&self) -> &AdbServer {
        self.adb.server()
    }

    pub(super) fn serial(&self) -> &str {
        &self.serial
    }

    /// The folder that holds the phone's storage (DATA).
    pub(super) fn data_dir(&self) -> &Path {
        self.storage.path()
    }

    /// Where the phone keeps a phone path ("/sdcard/DCIM/a.jpg"), relative to DATA; None
    /// for a path the phone refuses.
    pub(super) fn place_of(&self, phone_path: &str) -> Option<PathBuf> {
        let host = self.sim.phone().storage().resolve(phone_path).ok()?;
        host.strip_prefix(self.data_dir())
            .ok()
            .map(Path::to_path_buf)
    }
}
