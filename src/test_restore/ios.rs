//! An iPhone backup restored into a simulated iPhone behind a simulated usbmuxd, both in
//! this process; every file the phone received is compared with the backup's content.

use super::{TestRestoreError, TestRestoreReport, compare, digest};
use plugback_core::backup::{BackupKind, catalog};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::restore::ios::IosRestoreOptions;
use plugback_core::restore::{RestoreError, Sink};
use plugback_core::secret::Password;
use plugback_sim::iphone::restore_check::expected_digests;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const COMPARED: &str = "every file of the backup, by its SHA-256, with what the simulated \
                        iPhone received";

pub(super) fn run(
    backup: &Path,
    password: Option<&Password>,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    let summary = catalog::summarize(backup, BackupKind::Ios)
        .map_err(|e| TestRestoreError::Unsupported(e.to_string()))?;
    // The expected content first: a wrong password is told before any phone starts.
    let expected = expected_digests(backup, password.map(Password::expose)).map_err(|e| {
        if e.to_string().to_lowercase().contains("password") {
            TestRestoreError::Restore(RestoreError::WrongPassword)
        } else {
            TestRestoreError::Restore(RestoreError::Backup {
                path: backup.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    })?;

    let dir = tempfile::tempdir().map_err(TestRestoreError::simulator)?;
    let sim = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp(([127, 0, 0, 1], 0).into()),
        &dir.path().join("usbmuxd"),
    )
    .map_err(TestRestoreError::simulator)?;
    let mut config = IphoneConfig::new(dir.path().join("phone"));
    config.trust = TrustMode::Accept;
    config.find_my = false;
    if let Some(product) = &summary.product_type {
        config.product_type = product.clone();
    }
    // A phone that can take this backup: the backup's iOS or the simulator's, the newer.
    if let Some(version) = &summary.os_version
        && plugback_core::preflight::checks::older(&config.ios_version, version)
    {
        config.ios_version = version.clone();
    }
    // Room for the backup however large it is.
    let needed: u64 = expected.values().map(|file| file.size).sum();
    config.free_bytes = config.free_bytes.max(needed.saturating_mul(2));
    config.total_bytes = config.total_bytes.max(config.free_bytes.saturating_mul(2));
    let phone = sim
        .add_iphone(config)
        .map_err(TestRestoreError::simulator)?;
    let mux = Usbmuxd::new(
        MuxAddress::parse(&sim.address().to_string()).map_err(TestRestoreError::simulator)?,
    );
    let udid = phone.udid().to_owned();
    let options = IosRestoreOptions {
        password: password.cloned(),
        // The backup folder's name says which phone it came from; the simulated phone
        // is another one: a cross-device restore.
        source_identifier: None,
        ..IosRestoreOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TestRestoreError::simulator)?;
    let outcome = runtime.block_on(async {
        let paired = ios::pair(&mux, &udid, Duration::from_secs(30), cancel, |_| {})
            .await
            .map_err(RestoreError::Device)?;
        if paired != PairOutcome::Paired {
            return Err(RestoreError::Device(
                plugback_core::device::DeviceError::Refused {
                    detail: "the simulated phone did not pair".into(),
                },
            ));
        }
        plugback_core::restore::ios::restore(&mux, &udid, backup, &options, sink, cancel).await
    })?;
    let expected: BTreeMap<String, [u8; 32]> = expected
        .into_iter()
        .map(|(name, file)| (name, file.sha256))
        .collect();
    let arrived: BTreeMap<String, [u8; 32]> = digest::tree(&phone.phone().restored_dir(), cancel)
        .map_err(|err| err.into_error(TestRestoreError::simulator))?
        .into_iter()
        .map(|(place, sha256)| (place.to_string_lossy().into_owned(), sha256))
        .collect();
    let mut report = compare(&expected, &arrived, outcome.bytes_sent);
    report.compared = COMPARED.to_owned();
    Ok(report)
}
