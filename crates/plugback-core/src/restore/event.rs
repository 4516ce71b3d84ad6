//! What a running restore tells whoever watches it: the job layer turns these into speed,
//! ETA, the log and the window's progress; a platform restore only reports facts.

use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a restore reports progress at most: often enough for a smooth bar.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Where a restore stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Checking the backup, the phone and the computer before anything is sent.
    Preflight,
    /// Connecting, taking the phone's sync lock, reading what the phone already has.
    Preparing,
    /// Sending data to the phone.
    Transferring,
    /// The phone is applying what it received (it may reboot).
    Finishing,
    /// The phone was lost; waiting for the same phone to be plugged back in.
    WaitingForPhone,
    Done,
    Failed,
}

/// How far a restore has come. Totals are None where the protocol does not say them
/// (an iPhone asks for files batch by batch).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    pub files_done: u64,
    pub files_total: Option<u64>,
    /// The file or app being sent, as a person would name it.
    pub current: Option<String>,
    /// The phone's own percentage, where it reports one (iPhone).
    pub phone_percent: Option<f64>,
}

/// One thing a restore reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum RestoreEvent {
    Phase {
        phase: Phase,
    },
    Progress(Progress),
    /// Something worth a line in the log and, for a person, in the window.
    Note {
        code: &'static str,
        message: String,
    },
}

/// Where a restore sends its events; cheap to clone, callable from any thread or task.
#[derive(Clone)]
pub struct Sink(Arc<dyn Fn(RestoreEvent) + Send + Sync>);

impl Sink {
    pub fn new(f: impl Fn(RestoreEvent) + Send + Sync + 'static) -> Sink {
        Sink(Arc::new(f))
    }

    /// A sink that drops everything (tests, callers that only want the result).
    pub fn discard() -> Sink {
        Sink::new(|_| {})
    }

    pub fn send(&self, event: RestoreEvent) {
        (self.0)(event)
    }

    pub fn phase(&self, phase: Phase) {
        self.send(RestoreEvent::Phase { phase });
    }

    pub fn progress(&self, progress: Progress) {
        self.send(RestoreEvent::Progress(progress));
    }

    /// Sends `progress` unless one went out less than [`PROGRESS_EVERY`] ago (`last`
    /// remembers when), or always with `now`: a fast transfer would otherwise report
    /// thousands of times a second.
    pub fn paced_progress(&self, progress: &Progress, last: &mut Option<Instant>, now: bool) {
        if now || last.is_none_or(|at| at.elapsed() >= PROGRESS_EVERY) {
            *last = Some(Instant::now());
            self.progress(progress.clone());
        }
    }

    pub fn note(&self, code: &'static str, message: impl Into<String>) {
        self.send(RestoreEvent::Note {
            code,
            message: message.into(),
        });
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}
