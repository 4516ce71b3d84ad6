//! Test-restore from a backup's details: the backup restored into a simulated phone inside
//! Plugback and every file compared (see `crate::test_restore`). Pure logic: the restore
//! runs as a worker job ([`Job::TestRestore`]) that reports progress and its end.

use super::state::{Failure, Job};
use crate::test_restore::TestRestoreReport;
use plugback_core::cancel::CancelToken;
use plugback_core::restore::{Phase, Progress};
use plugback_core::secret::Password;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where one backup's test-restore stands.
#[derive(Clone, Debug)]
pub enum TestRestoreStatus {
    Running {
        phase: Option<Phase>,
        progress: Progress,
        cancel: CancelToken,
    },
    Done(TestRestoreReport),
    Failed(Failure),
    Cancelled,
}

#[derive(Clone, Debug)]
pub struct TestRestoreRun {
    run: u64,
    pub status: TestRestoreStatus,
}

/// What a running test-restore reports.
#[derive(Clone, Debug)]
pub enum TestRestoreUpdate {
    Phase(Phase),
    Progress(Progress),
}

/// The test-restores since the window opened, the last one per backup. One runs at a time: each
/// starts a simulated phone and reads the whole backup.
#[derive(Debug, Default)]
pub struct TestRestores {
    runs: HashMap<PathBuf, TestRestoreRun>,
    next_run: u64,
}

impl TestRestores {
    pub fn get(&self, backup: &Path) -> Option<&TestRestoreRun> {
        self.runs.get(backup)
    }

    pub fn running(&self) -> Option<&Path> {
        self.runs
            .iter()
            .find(|(_, r)| matches!(r.status, TestRestoreStatus::Running { .. }))
            .map(|(path, _)| path.as_path())
    }

    /// The job that test-restores `backup`; None while another runs.
    pub fn start(&mut self, backup: &Path, password: Option<Password>) -> Option<Job> {
        if self.running().is_some() {
            return None;
        }
        self.next_run += 1;
        let cancel = CancelToken::new();
        self.runs.insert(
            backup.to_path_buf(),
            TestRestoreRun {
                run: self.next_run,
                status: TestRestoreStatus::Running {
                    phase: None,
                    progress: Progress::default(),
                    cancel: cancel.clone(),
                },
            },
        );
        Some(Job::TestRestore {
            run: self.next_run,
            path: backup.to_path_buf(),
            password,
            cancel,
        })
    }

    /// Asks every running test-restore to stop; each reports back as cancelled.
    pub fn cancel_all(&self) {
        for run in self.runs.values() {
            if let TestRestoreStatus::Running { cancel, .. } = &run.status {
                cancel.cancel();
            }
        }
    }

    fn by_run(&mut self, run: u64) -> Option<&mut TestRestoreRun> {
        self.runs.values_mut().find(|r| r.run == run)
    }

    pub fn update(&mut self, run: u64, update: TestRestoreUpdate) {
        let Some(TestRestoreRun {
            status: TestRestoreStatus::Running {
                phase, progress, ..
            },
            ..
        }) = self.by_run(run)
        else {
            return;
        };
        match update {
            TestRestoreUpdate::Phase(now) => *phase = Some(now),
            TestRestoreUpdate::Progress(now) => *progress = now,
        }
    }

    pub fn finished(&mut self, run: u64, result: Result<TestRestoreReport, Failure>) {
        let Some(entry) = self.by_run(run) else {
            return;
        };
        let cancelled = matches!(
            &entry.status,
            TestRestoreStatus::Running { cancel, .. } if cancel.is_cancelled()
        );
        entry.status = match result {
            Ok(report) => TestRestoreStatus::Done(report),
            Err(_) if cancelled => TestRestoreStatus::Cancelled,
            Err(failure) => TestRestoreStatus::Failed(failure),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(runs: &mut TestRestores, path: &str) -> u64 {
        match runs.start(Path::new(path), None) {
            Some(Job::TestRestore { run, .. }) => run,
            other => panic!("not a test-restore job: {other:?}"),
        }
    }

    #[test]
    fn one_at_a_time_with_progress_then_the_report() {
        let mut runs = TestRestores::default();
        let run = started(&mut runs, "/b/one");
        assert!(
            runs.start(Path::new("/b/two"), None).is_none(),
            "one at a time"
        );
        runs.update(run, TestRestoreUpdate::Phase(Phase::Transferring));
        runs.update(
            run,
            TestRestoreUpdate::Progress(Progress {
                files_done: 3,
                ..Progress::default()
            }),
        );
        let Some(TestRestoreStatus::Running {
            phase, progress, ..
        }) = runs.get(Path::new("/b/one")).map(|r| &r.status)
        else {
            panic!("running");
        };
        assert_eq!(
            (*phase, progress.files_done),
            (Some(Phase::Transferring), 3)
        );
        let report = TestRestoreReport {
            ok: true,
            ..TestRestoreReport::default()
        };
        runs.finished(run, Ok(report.clone()));
        assert!(matches!(
            runs.get(Path::new("/b/one")).map(|r| &r.status),
            Some(TestRestoreStatus::Done(r)) if *r == report
        ));
        assert!(runs.running().is_none());
        assert!(runs.start(Path::new("/b/two"), None).is_some());
    }

    #[test]
    fn a_cancelled_run_is_cancelled_not_failed_and_stale_reports_are_dropped() {
        let mut runs = TestRestores::default();
        let first = started(&mut runs, "/b/one");
        runs.cancel_all();
        runs.finished(first, Err(Failure::new("stopped")));
        assert!(matches!(
            runs.get(Path::new("/b/one")).map(|r| &r.status),
            Some(TestRestoreStatus::Cancelled)
        ));
        let second = started(&mut runs, "/b/one");
        runs.finished(first, Ok(TestRestoreReport::default()));
        assert!(matches!(
            runs.get(Path::new("/b/one")).map(|r| &r.status),
            Some(TestRestoreStatus::Running { .. })
        ));
        runs.finished(second, Err(Failure::new("adb is not installed")));
        assert!(matches!(
            runs.get(Path::new("/b/one")).map(|r| &r.status),
            Some(TestRestoreStatus::Failed(f)) if f.message == "adb is not installed"
        ));
    }
}
