//! What the worker threads do for a restore flow: check a password on this computer, run
//! the checklist, read what can be picked, and run the restore itself as a job.

use crate::gui::state::Failure;
use plugback_core::backup::verify::{self, ProblemCode, ProgressReporter, VerifyOptions};
use plugback_core::cancel::CancelToken;
use plugback_core::device::Device;
use plugback_core::device::snapshot::Sources;
use plugback_core::jobs::awake::AwakeGuard;
use plugback_core::jobs::report::JobError;
use plugback_core::jobs::restore_job::{self, RestoreRequest};
use plugback_core::jobs::{
    DesktopNotifier, JobContext, JobEvent, JobReport, KeepAwake, Notifier, PresenceBoard,
    RestoreChoice, Silent, SystemAwake,
};
use plugback_core::preflight::Preflight;
use plugback_core::restore::android::{AppPlan, FilePlan};
use plugback_core::secret::Password;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an iPhone restore waits for the person to say whether to start again, before
/// it stops (the phone is back and safe; the restore can be started again later).
const ANSWER_WAIT: Duration = Duration::from_secs(30 * 60);
/// How long the phone may take to show as ready before the restore starts.
const READY_WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(200);

/// Keeping the computer awake, when the person turned it off in Settings: the job runs
/// without it, and its report says so.
struct AwakeTurnedOff;

impl KeepAwake for AwakeTurnedOff {
    fn acquire(&self, _reason: &str) -> Result<Box<dyn AwakeGuard>, String> {
        Err("keeping the computer awake is turned off in Plugback's Settings".to_owned())
    }
}

/// What a restore takes from the settings.
#[derive(Clone, Copy, Debug)]
pub struct Effects {
    pub keep_awake: bool,
    pub notify: bool,
}

impl Effects {
    fn awake(self) -> Arc<dyn KeepAwake> {
        if self.keep_awake {
            Arc::new(SystemAwake)
        } else {
            Arc::new(AwakeTurnedOff)
        }
    }

    fn notifier(self) -> Arc<dyn Notifier> {
        if self.notify {
            Arc::new(DesktopNotifier)
        } else {
            Arc::new(Silent)
        }
    }
}

/// Opens the backup with `password` on this computer (a quick verify reads its key bag
/// and, for an iPhone, its encrypted file list). Err names what is wrong.
pub fn check_password(path: &Path, password: Password) -> Result<(), Failure> {
    let options = VerifyOptions::quick().with_password(Some(password));
    let report = verify::verify(path, &options, &ProgressReporter::silent())
        .map_err(|err| Failure::from(&err))?;
    let refused = report.problems.iter().find(|p| {
        matches!(
            p.code,
            ProblemCode::WrongPassword | ProblemCode::PasswordRequired
        )
    });
    match refused {
        Some(problem) => Err(Failure {
            code: Some(problem.code.as_str()),
            message: "This password does not open the backup. Type it again, with the same capitals; it is the one chosen when \"Encrypt local backup\" was turned on.".to_owned(),
        }),
        None => Ok(()),
    }
}

pub fn preflight(
    choice: &RestoreChoice,
    device: &Device,
    sources: &Sources,
    effects: Effects,
    cancel: &CancelToken,
) -> Preflight {
    choice.preflight(device, sources, true, effects.awake().as_ref(), cancel)
}

/// The phone folders and apps an Android backup folder holds, for picking.
pub fn read_selection(path: &Path) -> Result<(Vec<String>, Vec<String>), Failure> {
    let unreadable = |err: plugback_core::restore::RestoreError| Failure {
        code: None,
        message: format!("The backup's list of files and apps could not be read: {err}."),
    };
    let files = FilePlan::from_backup_folder(path).map_err(unreadable)?;
    let apps = AppPlan::from_backup_folder(path).map_err(unreadable)?;
    let mut folders: Vec<String> = files
        .items
        .iter()
        .map(|item| top_folder(&item.phone_path))
        .collect();
    folders.sort();
    folders.dedup();
    Ok((folders, apps.apps.into_iter().map(|a| a.package).collect()))
}

/// The folder a person picks a file by: the first two levels ("/sdcard/DCIM" for
/// "/sdcard/DCIM/Camera/a.jpg"), or the file's own folder when it is shallower.
fn top_folder(phone_path: &str) -> String {
    let parts: Vec<&str> = phone_path.split('/').filter(|p| !p.is_empty()).collect();
    let depth = parts.len().saturating_sub(1).min(2);
    format!("/{}", parts[..depth].join("/"))
}

/// Everything a restore job needs from the window.
pub struct RestoreWork {
    pub job_id: String,
    pub device: Device,
    pub choice: RestoreChoice,
    pub sources: Sources,
    pub presence: Arc<PresenceBoard>,
    pub effects: Effects,
    pub log_dir: Option<PathBuf>,
    pub cancel: CancelToken,
    pub answers: Receiver<bool>,
}

/// Runs the restore to its end on this worker thread. `on_event` gets every job event;
/// `ask` tells the window the engine's restart question. Returns the report.
pub fn restore(
    work: RestoreWork,
    on_event: Arc<dyn Fn(JobEvent) + Send + Sync>,
    ask: Arc<dyn Fn(String) + Send + Sync>,
) -> JobReport {
    let started = Instant::now();
    let failed = |err: &plugback_core::restore::RestoreError| JobReport {
        job: work.job_id.clone(),
        device: work.device.id.clone(),
        backup: work.choice.backup.clone(),
        ok: false,
        restarts: 0,
        resumes: 0,
        bytes: 0,
        files: 0,
        error: Some(JobError::from(err)),
        seconds: started.elapsed().as_secs_f64(),
        kept_awake: false,
        log: None,
    };
    let target = match work.choice.target(&work.device, &work.sources) {
        Ok(target) => target,
        Err(err) => return failed(&err),
    };
    if work
        .presence
        .wait_ready(&work.device.id, READY_WAIT, &work.cancel)
        .is_none()
    {
        let err = plugback_core::restore::RestoreError::PhoneLost {
            detail: "the phone was not connected and ready when the restore was to start".into(),
        };
        return failed(&err);
    }
    let answers = Mutex::new(work.answers);
    let cancel = work.cancel.clone();
    let ctx = JobContext {
        presence: work.presence.clone(),
        awake: work.effects.awake(),
        notifier: work.effects.notifier(),
        log_dir: work.log_dir.clone(),
        confirm_restart: Arc::new(move |question| {
            ask(question.to_owned());
            wait_for_answer(&answers, &cancel)
        }),
    };
    let request = RestoreRequest {
        job_id: work.job_id,
        device: work.device,
        backup: work.choice.backup.clone(),
        target,
        policy: None,
    };
    restore_job::run(&request, &ctx, &work.cancel, on_event)
}

/// Waits for the person's answer (bounded, and stopped by cancel); no answer is "no".
fn wait_for_answer(answers: &Mutex<Receiver<bool>>, cancel: &CancelToken) -> bool {
    let Ok(answers) = answers.lock() else {
        return false;
    };
    let deadline = Instant::now() + ANSWER_WAIT;
    while !cancel.is_cancelled() && Instant::now() < deadline {
        match answers.recv_timeout(POLL) {
            Ok(answer) => return answer,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_picked_by_their_top_folders() {
        assert_eq!(top_folder("/sdcard/DCIM/Camera/a.jpg"), "/sdcard/DCIM");
        assert_eq!(top_folder("/sdcard/DCIM/a.jpg"), "/sdcard/DCIM");
        assert_eq!(top_folder("/sdcard/a.txt"), "/sdcard");
    }

    #[test]
    fn an_answer_is_waited_for_until_cancelled() {
        let (tx, rx) = std::sync::mpsc::channel();
        let answers = Mutex::new(rx);
        let cancel = CancelToken::new();
        tx.send(true).unwrap();
        assert!(wait_for_answer(&answers, &cancel));
        cancel.cancel();
        assert!(!wait_for_answer(&answers, &cancel), "cancelled: no");
        drop(tx);
        assert!(
            !wait_for_answer(&answers, &CancelToken::new()),
            "window gone: no"
        );
    }
}
