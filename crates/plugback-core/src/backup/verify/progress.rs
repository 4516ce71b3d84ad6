//! Progress of a verification, shared by parallel workers and read by a front end.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    /// The item being checked, for display ("HomeDomain/Library/Notes.sqlite").
    pub current: String,
}

type Observer<'a> = dyn Fn(&VerifyProgress) + Send + Sync + 'a;

/// Counts work as it happens and tells an observer, at most every `interval`, so that a
/// front end gets steady updates without being flooded by millions of small files.
pub struct ProgressReporter<'a> {
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    files_total: AtomicU64,
    current: Mutex<String>,
    last_report: Mutex<Instant>,
    interval: Duration,
    observer: Option<&'a Observer<'a>>,
}

impl<'a> ProgressReporter<'a> {
    pub fn new(observer: Option<&'a Observer<'a>>) -> Self {
        Self {
            bytes_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(0),
            current: Mutex::new(String::new()),
            last_report: Mutex::new(Instant::now() - Duration::from_secs(1)),
            interval: Duration::from_millis(50),
            observer,
        }
    }

    pub fn silent() -> Self {
        Self::new(None)
    }

    pub fn set_totals(&self, files: u64, bytes: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
        self.report(true);
    }

    pub fn set_current(&self, item: &str) {
        if self.observer.is_some()
            && let Ok(mut cur) = self.current.lock()
        {
            cur.clear();
            cur.push_str(item);
        }
    }

    pub fn add_bytes(&self, bytes: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        self.report(false);
    }

    pub fn file_done(&self) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        self.report(false);
    }

    pub fn snapshot(&self) -> VerifyProgress {
        VerifyProgress {
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            current: self.current.lock().map(|c| c.clone()).unwrap_or_default(),
        }
    }

    /// Sends a final update, whatever the throttle says.
    pub fn finish(&self) {
        self.report(true);
    }

    fn report(&self, force: bool) {
        let Some(observer) = self.observer else {
            return;
        };
        {
            // try_lock: a worker that loses the race skips this update rather than waiting.
            let Ok(mut last) = self.last_report.try_lock() else {
                if !force {
                    return;
                }
                observer(&self.snapshot());
                return;
            };
            if !force && last.elapsed() < self.interval {
                return;
            }
            *last = Instant::now();
        }
        observer(&self.snapshot());
    }
}
