//! One restore as a job: attempts run under a watchdog that notices a lost phone (within a
//! second, from the presence board) or a stall, waits for the same phone to come back, then
//! resumes (Android) or restarts after the person confirms (iPhone). Retries are bounded;
//! the computer stays awake while the job runs; every event goes to the log.

use super::awake::{AwakeGuard, KeepAwake};
use super::log::JobLog;
use super::notify::Notifier;
use super::presence::PresenceBoard;
use super::report::{JobError, JobReport};
use super::speed::SpeedMeter;
use crate::cancel::CancelToken;
use crate::restore::{Phase, Progress, RestoreError, RestoreEvent, Sink};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the watchdog looks at the phone and the progress: a loss is seen well
/// within a second.
const WATCH_EVERY: Duration = Duration::from_millis(100);
/// After a loss the phone's transport has normally said it left within this; a phone
/// still listed after it never left (the connection failed, not the cable).
const LOSS_GRACE: Duration = Duration::from_secs(3);
/// How long a failed connection waits to hear whether the phone left: usbmuxd and the
/// adb server say so well within this of the cable being pulled.
const LOSS_SETTLE: Duration = Duration::from_secs(2);

/// What to do once a lost phone is back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterLoss {
    /// Carry on: the restore skips what already arrived (Android files).
    Resume,
    /// Start again from the beginning, once the person agrees (iPhone: the phone may be
    /// partly restored, and only a complete restore leaves it consistent).
    RestartAfterConfirm,
}

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub after_loss: AfterLoss,
    /// Losses survived before the job gives up.
    pub max_losses: u32,
    /// How long to wait for the phone to come back.
    pub replug_wait: Duration,
    /// How long a phone may settle (or reboot) after it is back, before the next attempt.
    pub settle: Duration,
    /// No progress for this long while the phone is still there is a stall.
    pub stall_limit: Duration,
}

impl RetryPolicy {
    pub fn for_platform(platform: crate::device::Platform) -> RetryPolicy {
        use crate::device::Platform;
        RetryPolicy {
            after_loss: match platform {
                Platform::Android => AfterLoss::Resume,
                Platform::Ios => AfterLoss::RestartAfterConfirm,
            },
            max_losses: 5,
            replug_wait: Duration::from_secs(10 * 60),
            settle: match platform {
                Platform::Android => Duration::from_secs(1),
                Platform::Ios => Duration::from_secs(5),
            },
            // A full iPhone prepares for minutes before it asks for the first file.
            stall_limit: Duration::from_secs(10 * 60),
        }
    }
}

/// Where a job's events go (the log, then the caller), from any thread.
type Emit = Arc<dyn Fn(JobEvent) + Send + Sync>;

/// What an attempt achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub bytes: u64,
    pub files: u64,
}

/// What a job reports, beyond the restore's own events.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum JobEvent {
    Phase {
        phase: Phase,
    },
    Progress {
        #[serde(flatten)]
        progress: Progress,
        bytes_per_s: Option<f64>,
        eta_s: Option<f64>,
    },
    Note {
        code: &'static str,
        message: String,
    },
    /// The phone was lost: what happened, what it means for the phone, what happens next.
    Lost {
        what_happened: String,
        what_it_means: String,
        what_next: String,
    },
    /// The phone is back; the job resumes or restarts.
    Back {
        resumed: bool,
    },
    Finished {
        report: JobReport,
    },
}

/// Everything a job needs from around it, shared by all jobs.
#[derive(Clone)]
pub struct JobContext {
    pub presence: Arc<PresenceBoard>,
    pub awake: Arc<dyn KeepAwake>,
    pub notifier: Arc<dyn Notifier>,
    /// Where job logs go; None for no log.
    pub log_dir: Option<PathBuf>,
    /// Asked before an iPhone restore starts again; true to go ahead.
    pub confirm_restart: Arc<dyn Fn(&str) -> bool + Send + Sync>,
}

/// Which restore, to which phone.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub id: String,
    pub device_id: String,
    /// The phone's name for messages ("Sam's iPhone").
    pub device_name: String,
    pub backup: PathBuf,
    pub policy: RetryPolicy,
}

/// Runs the job to its end on this thread: `attempt` is called once, then again after each
/// loss the policy survives. `events` gets every event, the log a line for each.
pub fn run(
    spec: &JobSpec,
    ctx: &JobContext,
    cancel: &CancelToken,
    events: Arc<dyn Fn(JobEvent) + Send + Sync>,
    attempt: &mut dyn FnMut(&Sink, &CancelToken) -> Result<AttemptOutcome, RestoreError>,
) -> JobReport {
    let started = Instant::now();
    let log = Arc::new(Mutex::new(match &ctx.log_dir {
        Some(dir) => JobLog::create(dir, &spec.id).unwrap_or_else(|e| {
            tracing::warn!("no log for job {}: {e}", spec.id);
            JobLog::none()
        }),
        None => JobLog::none(),
    }));
    let emit: Emit = {
        let log = log.clone();
        Arc::new(move |event: JobEvent| {
            lock(&log).write(&event);
            events(event);
        })
    };
    let awake: Option<Box<dyn AwakeGuard>> = match ctx
        .awake
        .acquire(&format!("Plugback is restoring {}", spec.device_name))
    {
        Ok(guard) => Some(guard),
        Err(why) => {
            emit(JobEvent::Note {
                code: "doctor-no-sleep-inhibit",
                message: format!(
                    "This computer cannot be kept awake ({why}): keep it from sleeping until the restore ends."
                ),
            });
            None
        }
    };
    let kept_awake = awake.is_some();

    let mut restarts = 0;
    let mut resumes = 0;
    let mut losses = 0;
    let result = loop {
        let attempt_started = Instant::now();
        let watch = Watchdog::start(spec, ctx, cancel);
        let sink = watch.sink(&emit);
        let outcome = attempt(&sink, &watch.attempt_cancel);
        let verdict = watch.stop();
        let err = match outcome {
            Ok(done) => break Ok(done),
            Err(_) if cancel.is_cancelled() => break Err(RestoreError::Cancelled),
            Err(_) if verdict.stalled => {
                break Err(RestoreError::Stalled {
                    after: spec.policy.stall_limit,
                });
            }
            Err(err) => err,
        };
        let lost = verdict.lost
            || matches!(err, RestoreError::PhoneLost { .. })
            // A broken connection may be the cable, heard of a moment later.
            || (matches!(err, RestoreError::Device(_))
                && ctx.presence.left_since(
                    &spec.device_id,
                    verdict.generation,
                    LOSS_SETTLE,
                    cancel,
                ));
        if !lost {
            break Err(err);
        }
        losses += 1;
        if losses > spec.policy.max_losses {
            break Err(RestoreError::PhoneLost {
                detail: format!(
                    "it was lost {losses} times; Plugback stopped trying (try another cable and port)"
                ),
            });
        }
        let (means, next) = match spec.policy.after_loss {
            AfterLoss::Resume => (
                "What already arrived on the phone is complete and stays there; the file that was being sent is sent again.",
                "Plug the same phone back in and unlock it: the restore carries on by itself, skipping what is already there.",
            ),
            AfterLoss::RestartAfterConfirm => (
                "The iPhone may be partly restored. It is safe, but only a complete restore leaves it consistent.",
                "Plug the same iPhone back in and unlock it. Once it has settled (it may restart), Plugback starts the restore again from the beginning after you confirm. The backup on this computer is not changed.",
            ),
        };
        emit(JobEvent::Phase {
            phase: Phase::WaitingForPhone,
        });
        let slept = ctx.presence.resumed_since(attempt_started);
        // The connection's own words go to the log; the person is told what it means.
        emit(JobEvent::Note {
            code: "restore-phone-lost",
            message: err.to_string(),
        });
        emit(JobEvent::Lost {
            what_happened: if slept {
                format!(
                    "This computer went to sleep during the restore, which cut {} off.",
                    spec.device_name
                )
            } else {
                format!(
                    "{} was disconnected during the restore: the cable came out or moved, \
                     or the phone restarted.",
                    spec.device_name
                )
            },
            what_it_means: means.to_owned(),
            what_next: next.to_owned(),
        });
        ctx.notifier.notify(
            "Plug the phone back in",
            &format!(
                "{} was disconnected during the restore. {next}",
                spec.device_name
            ),
        );
        if ctx
            .presence
            .wait_back(
                &spec.device_id,
                verdict.generation,
                LOSS_GRACE,
                spec.policy.replug_wait,
                cancel,
            )
            .is_none()
        {
            break Err(if cancel.is_cancelled() {
                RestoreError::Cancelled
            } else {
                RestoreError::PhoneLost {
                    detail: format!(
                        "it was not plugged back in within {} minutes",
                        spec.policy.replug_wait.as_secs() / 60
                    ),
                }
            });
        }
        if !settle(spec.policy.settle, cancel) {
            break Err(RestoreError::Cancelled);
        }
        match spec.policy.after_loss {
            AfterLoss::Resume => resumes += 1,
            AfterLoss::RestartAfterConfirm => {
                if !(ctx.confirm_restart)(&format!(
                    "{} is back. Start the restore again from the beginning?",
                    spec.device_name
                )) {
                    break Err(RestoreError::PhoneLost {
                        detail: "the restore was not started again".to_owned(),
                    });
                }
                restarts += 1;
            }
        }
        emit(JobEvent::Back {
            resumed: spec.policy.after_loss == AfterLoss::Resume,
        });
    };
    drop(awake);

    let report = JobReport {
        job: spec.id.clone(),
        device: spec.device_id.clone(),
        backup: spec.backup.clone(),
        ok: result.is_ok(),
        restarts,
        resumes,
        bytes: result.as_ref().map(|o| o.bytes).unwrap_or_default(),
        files: result.as_ref().map(|o| o.files).unwrap_or_default(),
        error: result.as_ref().err().map(JobError::from),
        seconds: started.elapsed().as_secs_f64(),
        kept_awake,
        log: lock(&log).path().map(PathBuf::from),
    };
    emit(JobEvent::Phase {
        phase: if report.ok {
            Phase::Done
        } else {
            Phase::Failed
        },
    });
    if report.ok {
        ctx.notifier.notify(
            "Restore finished",
            &format!("{} has its data back.", spec.device_name),
        );
    }
    emit(JobEvent::Finished {
        report: report.clone(),
    });
    report
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Adds speed and time left to a progress report on its way out.
fn forward_progress(emit: &Emit, meter: &Mutex<SpeedMeter>, progress: Progress) {
    let (speed, eta) = {
        let mut meter = lock(meter);
        meter.record(Instant::now(), progress.bytes_done);
        let remaining = progress
            .bytes_total
            .map(|total| total.saturating_sub(progress.bytes_done));
        (
            meter.bytes_per_s(),
            remaining
                .and_then(|r| meter.eta(r))
                .map(|d| d.as_secs_f64()),
        )
    };
    emit(JobEvent::Progress {
        progress,
        bytes_per_s: speed,
        eta_s: eta,
    })
}

/// Waits `pause`, or less when cancelled; false when cancelled.
fn settle(pause: Duration, cancel: &CancelToken) -> bool {
    let until = Instant::now() + pause;
    while Instant::now() < until {
        if cancel.is_cancelled() {
            return false;
        }
        std::thread::sleep(WATCH_EVERY.min(until.saturating_duration_since(Instant::now())));
    }
    !cancel.is_cancelled()
}

/// What the watchdog saw during one attempt.
struct Verdict {
    lost: bool,
    stalled: bool,
    /// The phone's generation when the attempt began.
    generation: Option<u64>,
}

/// Watches one attempt: the job's cancel, the phone's presence and the progress.
struct Watchdog {
    attempt_cancel: CancelToken,
    done: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    /// Milliseconds since `epoch` of the last progress.
    last_progress: Arc<AtomicU64>,
    epoch: Instant,
    meter: Arc<Mutex<SpeedMeter>>,
    generation: Option<u64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(spec: &JobSpec, ctx: &JobContext, cancel: &CancelToken) -> Watchdog {
        let attempt_cancel = CancelToken::new();
        let done = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let stalled = Arc::new(AtomicBool::new(false));
        let last_progress = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let generation = ctx.presence.generation(&spec.device_id);
        let (presence, id, limit) = (
            ctx.presence.clone(),
            spec.device_id.clone(),
            spec.policy.stall_limit,
        );
        let (job, attempt, finished, lost_flag, stall_flag, last) = (
            cancel.clone(),
            attempt_cancel.clone(),
            done.clone(),
            lost.clone(),
            stalled.clone(),
            last_progress.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                while !finished.load(Ordering::SeqCst) {
                    if job.is_cancelled() {
                        attempt.cancel();
                    } else if presence.generation(&id) != generation {
                        lost_flag.store(true, Ordering::SeqCst);
                        attempt.cancel();
                    } else {
                        let quiet = epoch.elapsed().as_millis() as u64
                            - last
                                .load(Ordering::SeqCst)
                                .min(epoch.elapsed().as_millis() as u64);
                        if Duration::from_millis(quiet) > limit {
                            stall_flag.store(true, Ordering::SeqCst);
                            attempt.cancel();
                        }
                    }
                    std::thread::sleep(WATCH_EVERY);
                }
            })
            .ok();
        Watchdog {
            attempt_cancel,
            done,
            lost,
            stalled,
            last_progress,
            epoch,
            meter: Arc::new(Mutex::new(SpeedMeter::default())),
            generation,
            thread,
        }
    }

    /// The sink the attempt reports to: progress resets the stall clock and gains speed
    /// and time left on its way to `emit`.
    fn sink(&self, emit: &Emit) -> Sink {
        let (last, epoch, meter) = (self.last_progress.clone(), self.epoch, self.meter.clone());
        let emit = emit.clone();
        Sink::new(move |event| {
            // Any word from the restore is a sign of life: a stall is silence.
            last.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
            match event {
                RestoreEvent::Phase { phase } => emit(JobEvent::Phase { phase }),
                RestoreEvent::Note { code, message } => emit(JobEvent::Note { code, message }),
                RestoreEvent::Progress(progress) => forward_progress(&emit, &meter, progress),
            }
        })
    }

    fn stop(mut self) -> Verdict {
        self.done.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Verdict {
            lost: self.lost.load(Ordering::SeqCst),
            stalled: self.stalled.load(Ordering::SeqCst),
            generation: self.generation,
        }
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
