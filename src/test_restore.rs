//! Test-restore: prove a backup restores, without risking a phone. The backup is restored
//! through Plugback's real restore engine into a simulated phone started inside the app,
//! and every file that arrived is compared with what the backup holds. The strongest check
//! there is: it exercises the same path a real restore takes, end to end.
//!
//! It lives with the front ends, not in the engine, because it starts a simulated phone:
//! the engine never depends on the simulators.

use plugback_core::backup::{BackupKind, catalog};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::restore::ios::IosRestoreOptions;
use plugback_core::restore::{RestoreError, Sink};
use plugback_core::secret::Password;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// At most this many names are listed per kind of difference.
const LISTED: usize = 20;

/// What a test-restore found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TestRestoreReport {
    pub ok: bool,
    pub files_expected: u64,
    pub files_intact: u64,
    pub bytes: u64,
    /// Files the backup holds that did not arrive (first few).
    pub missing: Vec<String>,
    /// Files that arrived with other content (first few).
    pub different: Vec<String>,
    /// Files that arrived though the backup does not hold them (first few).
    pub unexpected: Vec<String>,
}

/// Why a test-restore could not run (as opposed to finding the backup bad).
#[derive(Debug, thiserror::Error)]
pub enum TestRestoreError {
    #[error("{0} is not a backup Plugback can test-restore (iPhone backups for now)")]
    Unsupported(String),
    #[error("the simulated phone could not start: {0}")]
    Simulator(String),
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

impl TestRestoreError {
    pub fn code(&self) -> String {
        match self {
            Self::Unsupported(_) => "restore-not-supported".into(),
            Self::Simulator(_) => "device-io".into(),
            Self::Restore(e) => e.code(),
        }
    }
}

/// Restores `backup` into a simulated phone and compares what arrived.
pub fn run(
    backup: &Path,
    password: Option<&Password>,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    match catalog::detect_kind(backup) {
        Some(BackupKind::Ios) => iphone(backup, password, sink, cancel),
        _ => Err(TestRestoreError::Unsupported(backup.display().to_string())),
    }
}

fn iphone(
    backup: &Path,
    password: Option<&Password>,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    let summary = catalog::summarize(backup, BackupKind::Ios)
        .map_err(|e| TestRestoreError::Unsupported(e.to_string()))?;
    // The expected content first: a wrong password is told before any phone starts.
    let expected = expected_files(backup, password.map(Password::expose)).map_err(|e| {
        if e.to_string().to_lowercase().contains("password") {
            TestRestoreError::Restore(RestoreError::WrongPassword)
        } else {
            TestRestoreError::Restore(RestoreError::Backup {
                path: backup.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    })?;

    let dir = tempfile::tempdir().map_err(|e| TestRestoreError::Simulator(e.to_string()))?;
    let sim = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp(([127, 0, 0, 1], 0).into()),
        &dir.path().join("usbmuxd"),
    )
    .map_err(|e| TestRestoreError::Simulator(e.to_string()))?;
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
    let needed: u64 = expected.values().map(|c| c.len() as u64).sum();
    config.free_bytes = config.free_bytes.max(needed.saturating_mul(2));
    config.total_bytes = config.total_bytes.max(config.free_bytes.saturating_mul(2));
    let phone = sim
        .add_iphone(config)
        .map_err(|e| TestRestoreError::Simulator(e.to_string()))?;
    let mux = Usbmuxd::new(
        MuxAddress::parse(&sim.address().to_string())
            .map_err(|e| TestRestoreError::Simulator(e.to_string()))?,
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
        .map_err(|e| TestRestoreError::Simulator(e.to_string()))?;
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
    let arrived = files_under(&phone.phone().restored_dir())
        .map_err(|e| TestRestoreError::Simulator(e.to_string()))?;
    Ok(compare(&expected, &arrived, outcome.bytes_sent))
}

/// What arrived against what the backup holds.
pub fn compare(
    expected: &BTreeMap<String, Vec<u8>>,
    arrived: &BTreeMap<String, Vec<u8>>,
    bytes: u64,
) -> TestRestoreReport {
    let mut report = TestRestoreReport {
        files_expected: expected.len() as u64,
        bytes,
        ..TestRestoreReport::default()
    };
    for (name, content) in expected {
        match arrived.get(name) {
            Some(got) if got == content => report.files_intact += 1,
            Some(_) => push(&mut report.different, name),
            None => push(&mut report.missing, name),
        }
    }
    for name in arrived.keys().filter(|n| !expected.contains_key(*n)) {
        push(&mut report.unexpected, name);
    }
    report.ok = report.files_intact == report.files_expected && report.unexpected.is_empty();
    report
}

fn push(list: &mut Vec<String>, name: &str) {
    if list.len() < LISTED {
        list.push(name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_difference_is_named() {
        let expected: BTreeMap<String, Vec<u8>> = [
            ("A/a".to_owned(), b"1".to_vec()),
            ("A/b".to_owned(), b"2".to_vec()),
            ("A/c".to_owned(), b"3".to_vec()),
        ]
        .into();
        let mut arrived = expected.clone();
        assert!(compare(&expected, &arrived, 3).ok);
        arrived.remove("A/a");
        arrived.insert("A/b".into(), b"x".to_vec());
        arrived.insert("A/z".into(), b"9".to_vec());
        let report = compare(&expected, &arrived, 3);
        assert!(!report.ok);
        assert_eq!(report.files_intact, 1);
        assert_eq!(report.missing, ["A/a"]);
        assert_eq!(report.different, ["A/b"]);
        assert_eq!(report.unexpected, ["A/z"]);
    }
}
