//! Test-restore: prove a backup restores, without risking a phone. The backup is restored
//! through Plugback's real restore engine into a simulated phone started inside the app,
//! and every file that arrived is compared with what the backup holds. The strongest check
//! there is: it exercises the same path a real restore takes, end to end.
//!
//! - [`ios`]: an iPhone backup, into a simulated iPhone behind a simulated usbmuxd.
//! - [`android`]: the simulated Android phone and its private adb server ([`adb`]), shared
//!   by [`folder`] (a Plugback Android backup folder: files and apps) and [`archive`] (an
//!   adb backup `.ab`, restored as `adb restore` does, checked by [`archive_compare`]).
//! - [`digest`]: files compared by SHA-256, read in a stream, so a file's size never
//!   decides the memory a test takes.
//!
//! It lives with the front ends, not in the engine, because it starts a simulated phone:
//! the engine never depends on the simulators.

pub(crate) mod adb;
mod android;
mod archive;
mod archive_compare;
mod digest;
mod folder;
mod ios;

use plugback_core::backup::{BackupError, BackupKind, catalog};
use plugback_core::cancel::CancelToken;
use plugback_core::restore::{RestoreError, Sink};
use plugback_core::secret::Password;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// At most this many names are listed per kind of difference.
const LISTED: usize = 20;

/// What a test-restore found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TestRestoreReport {
    pub ok: bool,
    /// What was compared with what, in words.
    pub compared: String,
    pub files_expected: u64,
    pub files_intact: u64,
    pub bytes: u64,
    /// Apps the backup reinstalls (Android backup folders), and those the phone installed
    /// with the backup's very APKs.
    pub apps_expected: u64,
    pub apps_intact: u64,
    /// Files (and apps) the backup holds that did not arrive (first few).
    pub missing: Vec<String>,
    /// Files (and apps) that arrived with other content (first few).
    pub different: Vec<String>,
    /// Files that arrived though the backup does not hold them (first few).
    pub unexpected: Vec<String>,
    /// Parts of the backup the restore could not use, each with why (first few).
    pub left_out: Vec<String>,
    /// How the simulated phone ended a restore it did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_said: Option<String>,
}

impl TestRestoreReport {
    fn new(compared: &str) -> TestRestoreReport {
        TestRestoreReport {
            compared: compared.to_owned(),
            ..TestRestoreReport::default()
        }
    }

    /// Sets `ok` from the counts and lists.
    fn settle(&mut self) {
        self.ok = self.files_intact == self.files_expected
            && self.apps_intact == self.apps_expected
            && self.unexpected.is_empty()
            && self.phone_said.is_none();
    }
}

/// Why a test-restore could not run (as opposed to finding the backup bad).
#[derive(Debug, thiserror::Error)]
pub enum TestRestoreError {
    #[error(
        "{0} is not a backup Plugback can test-restore: it takes iPhone backup folders, \
         Plugback Android backup folders and adb backups (.ab)"
    )]
    Unsupported(String),
    #[error(
        "adb is not installed ({0}): testing an Android backup runs a private adb server. \
         Install adb (on Debian and Ubuntu: sudo apt install adb) and try again"
    )]
    NoAdb(String),
    #[error("the simulated phone could not start or be checked: {0}")]
    Simulator(String),
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

impl TestRestoreError {
    pub fn code(&self) -> String {
        match self {
            Self::Unsupported(_) => "restore-not-supported".into(),
            Self::NoAdb(_) => "test-restore-needs-adb".into(),
            Self::Simulator(_) => "test-restore-simulator".into(),
            Self::Restore(e) => e.code(),
        }
    }

    fn simulator(err: impl std::fmt::Display) -> TestRestoreError {
        TestRestoreError::Simulator(err.to_string())
    }

    /// A backup that cannot be read: a wrong or missing password is told as such, as the
    /// iPhone test-restore does; anything else is a backup that does not restore.
    fn from_backup(path: &Path, err: BackupError) -> TestRestoreError {
        match err {
            BackupError::WrongPassword | BackupError::PasswordRequired => {
                RestoreError::WrongPassword.into()
            }
            BackupError::Cancelled => RestoreError::Cancelled.into(),
            other => RestoreError::Backup {
                path: path.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            }
            .into(),
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
        Some(BackupKind::Ios) => ios::run(backup, password, sink, cancel),
        Some(BackupKind::AndroidFolder) => folder::run(backup, sink, cancel),
        Some(BackupKind::AndroidAb) => archive::run(backup, password, sink, cancel),
        _ => Err(TestRestoreError::Unsupported(backup.display().to_string())),
    }
}

/// What arrived against what the backup holds, each file by its content or its digest.
pub fn compare<Content: PartialEq>(
    expected: &BTreeMap<String, Content>,
    arrived: &BTreeMap<String, Content>,
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
    report.settle();
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

    #[test]
    fn apps_and_the_phone_s_word_count_towards_ok() {
        let mut report = TestRestoreReport {
            files_expected: 2,
            files_intact: 2,
            apps_expected: 1,
            ..TestRestoreReport::default()
        };
        report.settle();
        assert!(!report.ok);
        report.apps_intact = 1;
        report.settle();
        assert!(report.ok);
        report.phone_said = Some("corrupt: bad zlib data".into());
        report.settle();
        assert!(!report.ok);
    }

    #[test]
    fn a_wrong_password_is_told_as_one() {
        let path = Path::new("x.ab");
        assert_eq!(
            TestRestoreError::from_backup(path, BackupError::WrongPassword).code(),
            "wrong-password"
        );
        assert_eq!(
            TestRestoreError::from_backup(path, BackupError::PasswordRequired).code(),
            "wrong-password"
        );
        let cut = BackupError::AbTruncated {
            path: path.to_path_buf(),
        };
        assert_eq!(
            TestRestoreError::from_backup(path, cut).code(),
            "restore-backup-unreadable"
        );
    }
}
