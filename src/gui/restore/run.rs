//! A running restore as the window follows it: phase, progress, the speed history for
//! the plot, the watchdog's "plug it back in", the restart question, and the report.

use plugback_core::cancel::CancelToken;
use plugback_core::jobs::{JobEvent, JobReport};
use plugback_core::restore::{Phase, Progress};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Instant;

/// Points kept for the throughput plot; older ones are thinned out, so a long restore
/// keeps its whole shape in bounded memory.
const PLOT_POINTS: usize = 600;

/// What the watchdog said when the phone was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    pub what_happened: String,
    pub what_it_means: String,
    pub what_next: String,
}

#[derive(Debug)]
pub struct Run {
    pub job_id: String,
    pub cancel: CancelToken,
    pub started: Instant,
    pub phase: Phase,
    pub progress: Progress,
    pub bytes_per_s: Option<f64>,
    pub eta_s: Option<f64>,
    /// (seconds since start, MB/s) for the plot.
    pub speed: Vec<[f64; 2]>,
    pub lost: Option<Lost>,
    /// The engine asks before an iPhone restore starts again; the person answers here.
    pub question: Option<String>,
    answers: Sender<bool>,
    /// Notes the restore made (an app the phone refused…), code and message.
    pub notes: Vec<(&'static str, String)>,
    pub restarts: u32,
    pub resumes: u32,
    pub report: Option<JobReport>,
}

impl Run {
    /// A run, and the receiving end of the person's answers for the job.
    pub fn new(job_id: String) -> (Run, Receiver<bool>) {
        let (answers, rx) = mpsc::channel();
        let run = Run {
            job_id,
            cancel: CancelToken::new(),
            started: Instant::now(),
            phase: Phase::Preflight,
            progress: Progress::default(),
            bytes_per_s: None,
            eta_s: None,
            speed: Vec::new(),
            lost: None,
            question: None,
            answers,
            notes: Vec::new(),
            restarts: 0,
            resumes: 0,
            report: None,
        };
        (run, rx)
    }

    pub fn is_running(&self) -> bool {
        self.report.is_none()
    }

    pub fn apply(&mut self, event: JobEvent) {
        match event {
            JobEvent::Phase { phase } => self.phase = phase,
            JobEvent::Progress {
                progress,
                bytes_per_s,
                eta_s,
            } => {
                self.progress = progress;
                self.bytes_per_s = bytes_per_s;
                self.eta_s = eta_s;
                if let Some(speed) = bytes_per_s {
                    self.record_speed(self.started.elapsed().as_secs_f64(), speed);
                }
            }
            JobEvent::Note { code, message } => self.notes.push((code, message)),
            JobEvent::Lost {
                what_happened,
                what_it_means,
                what_next,
            } => {
                self.lost = Some(Lost {
                    what_happened,
                    what_it_means,
                    what_next,
                });
                self.bytes_per_s = None;
                self.eta_s = None;
            }
            JobEvent::Back { resumed } => {
                self.lost = None;
                self.question = None;
                if resumed {
                    self.resumes += 1;
                } else {
                    self.restarts += 1;
                    self.progress = Progress::default();
                }
            }
            JobEvent::Finished { report } => {
                self.lost = None;
                self.question = None;
                self.phase = if report.ok {
                    Phase::Done
                } else {
                    Phase::Failed
                };
                self.report = Some(report);
            }
        }
    }

    fn record_speed(&mut self, at_s: f64, bytes_per_s: f64) {
        self.speed.push([at_s, bytes_per_s / 1e6]);
        if self.speed.len() > PLOT_POINTS {
            // Keep every other point: the plot's shape stays, the memory does not grow.
            let mut keep = false;
            self.speed.retain(|_| {
                keep = !keep;
                keep
            });
        }
    }

    /// The engine asks whether to start again (iPhone, after the phone came back).
    pub fn ask(&mut self, question: String) {
        self.question = Some(question);
    }

    /// The person's answer to the restart question.
    pub fn answer(&mut self, start_again: bool) {
        if self.question.take().is_some() {
            // The job may have given up waiting already: then nobody listens.
            let _ = self.answers.send(start_again);
        }
    }

    /// How far along, 0..1 (see [`progress_fraction`]).
    pub fn fraction(&self) -> Option<f32> {
        progress_fraction(&self.progress)
    }
}

/// How far a restore's progress is along, 0..1, from bytes, else files, else the phone's
/// own percentage; None when none of them is known.
pub fn progress_fraction(p: &Progress) -> Option<f32> {
    let ratio = |done: u64, total: Option<u64>| {
        total
            .filter(|t| *t > 0)
            .map(|t| (done as f64 / t as f64).min(1.0) as f32)
    };
    ratio(p.bytes_done, p.bytes_total)
        .or_else(|| ratio(p.files_done, p.files_total))
        .or_else(|| {
            p.phone_percent
                .map(|pct| (pct / 100.0).clamp(0.0, 1.0) as f32)
        })
}

/// The phase in a person's words.
pub fn phase_words(phase: Phase) -> &'static str {
    match phase {
        Phase::Preflight => "Checking before the restore",
        Phase::Preparing => "Getting the phone ready",
        Phase::Transferring => "Sending your data to the phone",
        Phase::Finishing => "The phone is putting your data in place",
        Phase::WaitingForPhone => "Waiting for the phone to be plugged back in",
        Phase::Done => "Done",
        Phase::Failed => "Stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(bytes_done: u64, bytes_total: Option<u64>) -> JobEvent {
        JobEvent::Progress {
            progress: Progress {
                bytes_done,
                bytes_total,
                ..Progress::default()
            },
            bytes_per_s: Some(2e6),
            eta_s: Some(3.0),
        }
    }

    #[test]
    fn progress_loss_and_restart_are_followed() {
        let (mut run, answers) = Run::new("job".into());
        run.apply(progress(25, Some(100)));
        assert_eq!(run.fraction(), Some(0.25));
        assert_eq!(run.speed.len(), 1);
        assert_eq!(run.speed[0][1], 2.0, "MB/s");

        run.apply(JobEvent::Lost {
            what_happened: "The phone was unplugged.".into(),
            what_it_means: "Nothing is lost.".into(),
            what_next: "Plug it back in.".into(),
        });
        assert!(run.lost.is_some());
        assert_eq!(run.bytes_per_s, None, "no speed while the phone is gone");

        run.ask("Start again?".into());
        run.answer(true);
        assert_eq!(answers.try_recv(), Ok(true));
        run.answer(false);
        assert!(answers.try_recv().is_err(), "one answer a question");

        run.apply(JobEvent::Back { resumed: false });
        assert_eq!((run.restarts, run.resumes), (1, 0));
        assert!(run.lost.is_none());
        assert_eq!(run.fraction(), None, "a restart starts from nothing");
    }

    #[test]
    fn the_plot_keeps_a_bounded_history() {
        let (mut run, _answers) = Run::new("job".into());
        for i in 0..10 * PLOT_POINTS as u64 {
            run.apply(progress(i, None));
        }
        assert!(run.speed.len() <= PLOT_POINTS);
        assert!(run.speed.len() > PLOT_POINTS / 2);
    }

    #[test]
    fn fraction_falls_back_to_files_then_the_phones_percentage() {
        let (mut run, _answers) = Run::new("job".into());
        run.progress.files_done = 3;
        run.progress.files_total = Some(4);
        assert_eq!(run.fraction(), Some(0.75));
        run.progress.files_total = None;
        run.progress.phone_percent = Some(40.0);
        assert_eq!(run.fraction(), Some(0.4));
    }
}
