//! The job runner with fakes for the phone, the inhibitor and the notifications.

use super::*;
use crate::device::Platform;
use crate::jobs::awake::AwakeGuard;
use std::sync::atomic::AtomicUsize;

/// Counts inhibitors taken and released.
#[derive(Default)]
struct FakeAwake {
    taken: AtomicUsize,
    released: Arc<AtomicUsize>,
    refuse: bool,
}

struct FakeGuard(Arc<AtomicUsize>);
impl AwakeGuard for FakeGuard {}
impl Drop for FakeGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl KeepAwake for FakeAwake {
    fn acquire(&self, _reason: &str) -> Result<Box<dyn AwakeGuard>, String> {
        if self.refuse {
            return Err("no session bus".into());
        }
        self.taken.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(FakeGuard(self.released.clone())))
    }
}

#[derive(Default)]
struct Notes(Mutex<Vec<String>>);
impl Notifier for Notes {
    fn notify(&self, title: &str, _body: &str) {
        lock(&self.0).push(title.to_owned());
    }
}

struct Rig {
    ctx: JobContext,
    awake: Arc<FakeAwake>,
    notes: Arc<Notes>,
    events: Arc<Mutex<Vec<JobEvent>>>,
    dir: tempfile::TempDir,
}

fn rig(confirm: bool, refuse_awake: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let awake = Arc::new(FakeAwake {
        refuse: refuse_awake,
        ..FakeAwake::default()
    });
    let notes = Arc::new(Notes::default());
    let presence = Arc::new(PresenceBoard::default());
    presence.arrived("phone-1", true);
    Rig {
        ctx: JobContext {
            presence,
            awake: awake.clone(),
            notifier: notes.clone(),
            log_dir: Some(dir.path().join("logs")),
            confirm_restart: Arc::new(move |_| confirm),
        },
        awake,
        notes,
        events: Arc::new(Mutex::new(Vec::new())),
        dir,
    }
}

fn spec(platform: Platform) -> JobSpec {
    JobSpec {
        id: "job-1".into(),
        device_id: "phone-1".into(),
        device_name: "Test phone".into(),
        backup: "/backups/x".into(),
        policy: RetryPolicy {
            replug_wait: Duration::from_secs(20),
            settle: Duration::from_millis(10),
            stall_limit: Duration::from_secs(30),
            ..RetryPolicy::for_platform(platform)
        },
    }
}

impl Rig {
    fn run(
        &self,
        spec: &JobSpec,
        cancel: &CancelToken,
        attempt: &mut dyn FnMut(&Sink, &CancelToken) -> Result<AttemptOutcome, RestoreError>,
    ) -> JobReport {
        let seen = self.events.clone();
        run(
            spec,
            &self.ctx,
            cancel,
            Arc::new(move |e| lock(&seen).push(e)),
            attempt,
        )
    }

    fn saw(&self, wanted: impl Fn(&JobEvent) -> bool) -> bool {
        lock(&self.events).iter().any(wanted)
    }
}

/// Waits (bounded) until `cancel` is set: an attempt the watchdog stops.
fn until_cancelled(cancel: &CancelToken) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cancel.is_cancelled() {
        assert!(
            Instant::now() < deadline,
            "the watchdog never stopped the attempt"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn progress(sink: &Sink, done: u64) {
    sink.progress(Progress {
        bytes_done: done,
        bytes_total: Some(1000),
        ..Progress::default()
    });
}

#[test]
fn a_clean_restore_reports_progress_keeps_the_computer_awake_and_logs() {
    let rig = rig(true, false);
    let report = rig.run(
        &spec(Platform::Android),
        &CancelToken::new(),
        &mut |sink, _| {
            sink.phase(Phase::Transferring);
            progress(sink, 500);
            progress(sink, 1000);
            Ok(AttemptOutcome {
                bytes: 1000,
                files: 3,
            })
        },
    );
    assert!(report.ok, "{report:?}");
    assert_eq!((report.bytes, report.files, report.resumes), (1000, 3, 0));
    assert!(report.kept_awake);
    assert_eq!(rig.awake.taken.load(Ordering::SeqCst), 1);
    assert_eq!(
        rig.awake.released.load(Ordering::SeqCst),
        1,
        "let go afterwards"
    );
    assert!(
        rig.saw(
            |e| matches!(e, JobEvent::Progress { progress, .. } if progress.bytes_done == 1000)
        )
    );
    assert!(rig.saw(|e| matches!(e, JobEvent::Phase { phase: Phase::Done })));
    assert_eq!(*lock(&rig.notes.0), vec!["Restore finished".to_owned()]);
    let log = std::fs::read_to_string(report.log.unwrap()).unwrap();
    assert!(log.lines().count() >= 4, "{log}");
    assert!(
        log.lines().last().unwrap().contains("\"finished\""),
        "{log}"
    );
    assert!(rig.dir.path().join("logs/job-1.jsonl").exists());
}

/// Runs an Android job whose first attempt sends some progress, lets `disturb` act on the
/// phone's presence from another thread, and waits for the watchdog to stop it; the next
/// attempt succeeds.
fn resumed_after(rig: &Rig, disturb: impl Fn(&PresenceBoard) + Send + Sync + 'static) -> JobReport {
    disturbed_then_done(rig, disturb, |cancel| {
        until_cancelled(cancel);
        Err(RestoreError::Cancelled)
    })
}

/// An Android job whose first attempt reports some progress, sets `disturb` off on a
/// thread and ends as `ends` says; every later attempt succeeds.
fn disturbed_then_done(
    rig: &Rig,
    disturb: impl Fn(&PresenceBoard) + Send + Sync + 'static,
    ends: impl Fn(&CancelToken) -> Result<AttemptOutcome, RestoreError>,
) -> JobReport {
    let presence = rig.ctx.presence.clone();
    let disturb = Arc::new(disturb);
    let mut attempts = 0;
    rig.run(
        &spec(Platform::Android),
        &CancelToken::new(),
        &mut |sink, cancel| {
            attempts += 1;
            if attempts > 1 {
                return Ok(AttemptOutcome {
                    bytes: 1000,
                    files: 2,
                });
            }
            progress(sink, 100);
            let (board, disturb) = (presence.clone(), disturb.clone());
            std::thread::spawn(move || disturb(&board));
            ends(cancel)
        },
    )
}

#[test]
fn an_unplugged_android_phone_is_waited_for_and_the_restore_resumes() {
    let rig = rig(true, false);
    // The cable is pulled, then the phone comes back a little later.
    let report = resumed_after(&rig, |board| {
        board.left("phone-1");
        std::thread::sleep(Duration::from_millis(300));
        board.arrived("phone-1", true);
    });
    assert!(report.ok, "{report:?}");
    assert_eq!((report.resumes, report.restarts), (1, 0));
    assert!(rig.saw(|e| matches!(
        e,
        JobEvent::Phase {
            phase: Phase::WaitingForPhone
        }
    )));
    assert!(rig.saw(
        |e| matches!(e, JobEvent::Lost { what_next, .. } if what_next.contains("carries on"))
    ));
    assert!(rig.saw(|e| matches!(e, JobEvent::Back { resumed: true })));
    assert_eq!(lock(&rig.notes.0)[0], "Plug the phone back in");
}

fn connection_reset() -> RestoreError {
    RestoreError::Device(crate::device::DeviceError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "reset",
    )))
}

#[test]
fn a_connection_that_breaks_before_the_unplug_is_heard_of_is_still_a_loss() {
    let rig = rig(true, false);
    // An app install's connection fails as the cable goes; the watcher hears of the
    // unplug only afterwards.
    let report = disturbed_then_done(
        &rig,
        |board| {
            std::thread::sleep(Duration::from_millis(200));
            board.left("phone-1");
            std::thread::sleep(Duration::from_millis(300));
            board.arrived("phone-1", true);
        },
        |_| Err(connection_reset()),
    );
    assert!(report.ok, "{report:?}");
    assert_eq!((report.resumes, report.restarts), (1, 0));

    // The same failure with the phone staying put is the failure it is.
    let rig = self::rig(true, false);
    let report = rig.run(
        &spec(Platform::Android),
        &CancelToken::new(),
        &mut |_sink, _cancel| Err(connection_reset()),
    );
    assert!(!report.ok);
    assert_eq!((report.resumes, report.restarts), (0, 0));
    assert_ne!(
        report.error.as_ref().map(|e| e.code.as_str()),
        Some("restore-phone-lost"),
        "{report:?}"
    );
}

#[test]
fn an_iphone_restarts_only_after_the_person_confirms() {
    for confirm in [true, false] {
        let rig = rig(confirm, false);
        let presence = rig.ctx.presence.clone();
        let mut attempts = 0;
        let report = rig.run(&spec(Platform::Ios), &CancelToken::new(), &mut |_, _| {
            attempts += 1;
            if attempts == 1 {
                presence.left("phone-1");
                presence.arrived("phone-1", true);
                return Err(RestoreError::PhoneLost {
                    detail: "unplugged".into(),
                });
            }
            Ok(AttemptOutcome::default())
        });
        assert_eq!(report.ok, confirm, "{report:?}");
        assert_eq!(report.restarts, u32::from(confirm));
        assert!(rig.saw(|e| matches!(e, JobEvent::Lost { what_it_means, .. } if what_it_means.contains("partly restored"))));
        if !confirm {
            assert_eq!(report.error.unwrap().code, "restore-phone-lost");
        }
    }
}

#[test]
fn retries_are_bounded() {
    let rig = rig(true, false);
    let mut spec = spec(Platform::Android);
    spec.policy.max_losses = 2;
    let mut attempts = 0;
    let report = rig.run(&spec, &CancelToken::new(), &mut |_, _| {
        attempts += 1;
        Err(RestoreError::PhoneLost {
            detail: "again".into(),
        })
    });
    assert!(!report.ok);
    assert_eq!(attempts, 3, "the first try and two resumes");
    let error = report.error.unwrap();
    assert_eq!(error.code, "restore-phone-lost");
    assert!(error.message.contains("3 times"), "{}", error.message);
}

#[test]
fn a_phone_that_stays_but_stops_progressing_is_a_stall() {
    let rig = rig(true, false);
    let mut spec = spec(Platform::Android);
    spec.policy.stall_limit = Duration::from_millis(300);
    let report = rig.run(&spec, &CancelToken::new(), &mut |_, cancel| {
        until_cancelled(cancel);
        Err(RestoreError::Cancelled)
    });
    assert_eq!(report.error.unwrap().code, "restore-stalled");
    assert_eq!(report.resumes, 0);
}

#[test]
fn cancel_ends_the_job_and_a_phone_that_never_returns_fails_it() {
    let rig = rig(true, false);
    let cancel = CancelToken::new();
    let stop = cancel.clone();
    let report = rig.run(
        &spec(Platform::Android),
        &cancel,
        &mut |_, attempt_cancel| {
            stop.cancel();
            until_cancelled(attempt_cancel);
            Err(RestoreError::Cancelled)
        },
    );
    assert_eq!(report.error.unwrap().code, "cancelled");

    let rig = self::rig(true, false);
    let mut spec = spec(Platform::Android);
    spec.policy.replug_wait = Duration::from_millis(200);
    let presence = rig.ctx.presence.clone();
    let report = rig.run(&spec, &CancelToken::new(), &mut |_, _| {
        presence.left("phone-1");
        Err(RestoreError::PhoneLost {
            detail: "unplugged".into(),
        })
    });
    let error = report.error.unwrap();
    assert_eq!(error.code, "restore-phone-lost");
    assert!(
        error.message.contains("not plugged back in"),
        "{}",
        error.message
    );
}

#[test]
fn a_computer_that_cannot_be_kept_awake_is_told_not_a_failure() {
    let rig = rig(true, true);
    let report = rig.run(
        &spec(Platform::Android),
        &CancelToken::new(),
        &mut |_, _| Ok(AttemptOutcome::default()),
    );
    assert!(report.ok);
    assert!(!report.kept_awake);
    assert!(rig.saw(|e| matches!(
        e,
        JobEvent::Note {
            code: "doctor-no-sleep-inhibit",
            ..
        }
    )));
}

#[test]
fn a_computer_that_slept_is_told_as_such_and_the_job_waits_for_the_phone_again() {
    let rig = rig(true, false);
    let report = resumed_after(&rig, |board| {
        board.system_resumed();
        std::thread::sleep(Duration::from_millis(200));
        // The phone comes back after the wake, ready again.
        board.arrived("phone-1", true);
    });
    assert!(report.ok, "{report:?}");
    assert_eq!(report.resumes, 1);
    assert!(rig.saw(|e| matches!(e, JobEvent::Lost { what_happened, .. } if what_happened.contains("went to sleep"))));
}
