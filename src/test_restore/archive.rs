//! An adb backup (`.ab`) restored into a simulated Android phone through Plugback's real
//! `adb restore`, the phone confirming on its own (with the password for an encrypted
//! archive, as a person types it on a real phone). Then the archive is read again, and
//! every file in it is compared, by its SHA-256, with what the phone restored.
//!
//! A real phone tells the computer nothing about a restore; the simulated one also keeps
//! what it restored and its own account of how the restore ended, which is what makes
//! this check possible ([`super::archive_compare`]).

use super::android::AttachedPhone;
use super::archive_compare::compare;
use super::{TestRestoreError, TestRestoreReport};
use plugback_core::backup::BackupError;
use plugback_core::backup::android::ab_stream;
use plugback_core::backup::android::tar_walk::{self, Flow, TarEntryInfo, TarVisitor};
use plugback_core::cancel::CancelToken;
use plugback_core::restore::android::{AbSettings, restore_ab};
use plugback_core::restore::{RestoreError, Sink};
use plugback_core::secret::Password;
use std::path::Path;
use std::time::{Duration, Instant};
/// The phone's account of the restore is written before it ends the stream; a little
/// slack for a busy computer.
const ACCOUNT_DEADLINE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);
/// The simulated phone runs on this computer and reads as fast as it is sent to: a minute
/// without progress means it is stuck, where a real phone gets five.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) fn run(
    backup: &Path,
    password: Option<&Password>,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    // The archive read to its end first, as the iPhone test reads its backup first: a
    // wrong password or a damaged archive is told before any phone starts (a phone given
    // an archive cut short would wait for the rest until the restore stalls).
    read_through(backup, password, cancel)
        .map_err(|err| TestRestoreError::from_backup(backup, err))?;

    let phone = AttachedPhone::start(
        |config| {
            config.auto_confirm_restore = true;
            config.restore_password = password.map(|p| p.expose().to_owned());
        },
        cancel,
    )?;
    let settings = AbSettings {
        stall_timeout: STALL_TIMEOUT,
        ..AbSettings::default()
    };
    let bytes = match restore_ab(
        phone.server(),
        phone.serial(),
        backup,
        &settings,
        sink,
        cancel,
    ) {
        Ok(outcome) => outcome.archive_bytes,
        // The phone stopped part-way: what it did restore is still compared, and its
        // account says why it stopped.
        Err(RestoreError::EndedEarly { sent, .. }) => sent,
        Err(other) => return Err(other.into()),
    };
    let phone_said = phone_account(phone.data_dir(), cancel)?;
    let mut report = compare(backup, password, phone.data_dir(), cancel)?;
    report.bytes = bytes;
    report.phone_said = phone_said;
    report.settle();
    Ok(report)
}

/// Reads the whole archive with Plugback's reader, which checks the password, the
/// compression and the tar to its end.
fn read_through(
    backup: &Path,
    password: Option<&Password>,
    cancel: &CancelToken,
) -> Result<(), BackupError> {
    struct Reading<'a>(&'a CancelToken);
    impl TarVisitor for Reading<'_> {
        fn entry(&mut self, _: &TarEntryInfo) -> Result<Flow, BackupError> {
            Ok(Flow::Continue)
        }
        fn data(&mut self, _: u64) -> Result<(), BackupError> {
            if self.0.is_cancelled() {
                return Err(BackupError::Cancelled);
            }
            Ok(())
        }
    }
    let stream = ab_stream::open_tar_stream(backup, password)?;
    tar_walk::walk(stream, backup, &mut Reading(cancel)).map(drop)
}

/// How the phone says the restore ended: None when it restored the whole archive.
fn phone_account(data_dir: &Path, cancel: &CancelToken) -> Result<Option<String>, RestoreError> {
    let path = data_dir.join("restore-report.json");
    let deadline = Instant::now() + ACCOUNT_DEADLINE;
    let bytes = loop {
        if let Ok(bytes) = std::fs::read(&path) {
            break bytes;
        }
        if cancel.is_cancelled() {
            return Err(RestoreError::Cancelled);
        }
        if Instant::now() >= deadline {
            return Ok(Some("the phone gave no account of the restore".into()));
        }
        std::thread::sleep(POLL);
    };
    let account: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let outcome = account["outcome"].as_str().unwrap_or("unknown");
    if outcome == "ok" {
        return Ok(None);
    }
    Ok(Some(match account["detail"].as_str() {
        Some(detail) => format!("{outcome}: {detail}"),
        None => outcome.to_owned(),
    }))
}
