//! The MBErrorDomain codes the simulated phone answers with, and why it chose each.
//!
//! | code | when | source |
//! |---|---|---|
//! | 2 | unknown or unsupported request (MessageName) | simulator's choice |
//! | 105 | the backup is larger than the phone's free space (restore), or the computer's free space is too small (backup) | simulator's choice |
//! | 205 | unreadable, empty or unfinished Status/Manifest plists; a damaged Manifest.db; unsafe domain or path; files the computer could not send ("Multiple errors downloading files"); a blob that does not match its record (missing data, wrong size, bad padding) | iOS uses 205 for all of these families |
//! | 207 | encrypted backup and no password, or a wrong password | iOS: "Invalid password" |
//! | 208 | encrypted backup while the phone is locked or the host sent no escrow bag | iOS: "setting protection class (device locked?)" |
//! | 209 | the backup comes from a newer iOS than the phone runs | simulator's choice (iOS refuses, code not documented) |
//! | 211 | Find My is on | iOS: "Find My iPhone must be disabled before restoring" |

pub(crate) const UNSUPPORTED: u64 = 2;
pub(crate) const NO_SPACE: u64 = 105;
pub(crate) const BAD_BACKUP: u64 = 205;
pub(crate) const BAD_PASSWORD: u64 = 207;
pub(crate) const LOCKED: u64 = 208;
pub(crate) const NEWER_IOS: u64 = 209;
pub(crate) const FIND_MY: u64 = 211;

/// A refusal the phone reports in its final Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: u64,
    pub description: String,
}

impl Refusal {
    /// Descriptions end with "(MBErrorDomain/N)", as iOS writes them.
    pub(crate) fn new(code: u64, what: impl AsRef<str>) -> Refusal {
        Refusal {
            code,
            description: format!("{} (MBErrorDomain/{code})", what.as_ref()),
        }
    }
}

/// The refusal for a Manifest.db the phone cannot read.
pub(crate) fn unreadable_database(why: String) -> Refusal {
    Refusal::new(BAD_BACKUP, format!("Error reading backup database: {why}"))
}
