//! `plugback restore --device ID --backup PATH`: the preflight, then the restore as a job
//! with the stay-plugged-in watchdog. Exit 0 restored, 1 failed, 2 could not run, 3 blocked
//! by the preflight. With `--json`, one JSON document a line; the last one is
//! `{"ok", "restarts", "resumes", "bytes", "files", "error"}`.

use super::output::{outln, print_error};
use super::password::PasswordArgs;
use super::{EXIT_CANNOT_RUN, EXIT_OK, EXIT_PROBLEMS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plugback_core::cancel::CancelToken;
use plugback_core::device::snapshot::{self, Sources};
use plugback_core::device::watcher::WatcherThread;
use plugback_core::explain;
use plugback_core::jobs::choice::{self, RestoreChoice};
use plugback_core::jobs::restore_job::{self, RestoreRequest};
use plugback_core::jobs::{
    DesktopNotifier, JobContext, JobEvent, JobReport, PresenceBoard, SystemAwake, sleep_watch,
};
use plugback_core::preflight::{Preflight, Status};
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Exit code when the preflight blocks the restore.
pub const EXIT_BLOCKED: i32 = 3;

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The phone: its UDID or serial, or the start of it when that is unique.
    #[arg(long)]
    pub device: String,
    /// The backup: an iPhone backup folder, a Plugback Android backup folder, or (Android)
    /// any folder of files.
    #[arg(long)]
    pub backup: PathBuf,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Do not reinstall the backup's apps.
    #[arg(long)]
    pub skip_apps: bool,
    /// iPhone: also restore system files (settings, keychain where the backup has them).
    #[arg(long)]
    pub system: bool,
    /// iPhone: do not let the phone restart at the end.
    #[arg(long)]
    pub no_reboot: bool,
    /// Android: restore only this phone folder (`/sdcard/DCIM`) or app (`com.example.notes`);
    /// repeatable.
    #[arg(long = "only", value_name = "FOLDER_OR_APP")]
    pub only: Vec<String>,
    /// Android: where a plain folder of files goes on the phone.
    #[arg(long, value_name = "PHONE_FOLDER", default_value = "/sdcard/Restored")]
    pub to: String,
    /// iPhone: after a disconnect, start again without asking.
    #[arg(long)]
    pub auto_restart: bool,
    /// Do not ask before starting.
    #[arg(long)]
    pub yes: bool,
    /// Do not measure the cable before the restore (saves a few seconds).
    #[arg(long)]
    pub skip_cable_check: bool,
    /// One JSON document a line: the preflight, events, then the result.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &RestoreArgs) -> i32 {
    let out = Output { json: args.json };
    let password = match args.password.read() {
        Ok(password) => password,
        Err(message) => return out.cannot_run("password-unreadable", &message),
    };
    let cancel = CancelToken::new();
    let sources = Sources::from_env();
    let snap = snapshot::snapshot(&sources, &cancel);
    let device = match snapshot::pick(&snap.devices, &args.device) {
        Ok(device) => device.clone(),
        Err(err) => {
            for (_, why) in &snap.unavailable {
                print_error(why.code(), &why.to_string());
            }
            return out.cannot_run(err.code(), &err.to_string());
        }
    };
    let choice = RestoreChoice {
        backup: args.backup.clone(),
        password,
        skip_apps: args.skip_apps,
        system_files: args.system,
        reboot: !args.no_reboot,
        only: args.only.clone(),
        phone_folder: args.to.clone(),
    };
    let target = match choice.target(&device, &sources) {
        Ok(target) => target,
        Err(err) => return out.cannot_run(&err.code(), &err.to_string()),
    };

    let awake = SystemAwake;
    let preflight = choice.preflight(&device, &sources, !args.skip_cable_check, &awake, &cancel);
    out.preflight(&preflight);
    if preflight.blocked() {
        out.result(None, Some(("preflight-blocked", "The preflight found something that must be fixed first; nothing was sent to the phone.")));
        return EXIT_BLOCKED;
    }
    if !args.yes
        && !ask(&format!(
            "Restore {} to {}? What the backup holds replaces what is on the phone.",
            args.backup.display(),
            device.name.as_deref().unwrap_or(&device.id)
        ))
    {
        return out.cannot_run(
            "restore-not-confirmed",
            "The restore was not started. Run it again with --yes to start without asking.",
        );
    }

    let ctx = match context(args.auto_restart) {
        Ok(ctx) => ctx,
        Err(message) => return out.cannot_run("device-io", &message),
    };
    // The watcher announces the phones already plugged in within moments.
    if ctx
        .presence
        .wait_ready(&device.id, Duration::from_secs(15), &cancel)
        .is_none()
    {
        return out.cannot_run(
            "restore-phone-lost",
            "The phone is no longer connected. Plug it in, unlock it and try again.",
        );
    }
    let request = RestoreRequest {
        job_id: choice::job_id(&device),
        device,
        backup: args.backup.clone(),
        target,
        policy: None,
    };
    let printer = out.printer();
    let report = restore_job::run(&request, &ctx, &cancel, printer);
    out.result(Some(&report), None);
    if report.ok { EXIT_OK } else { EXIT_PROBLEMS }
}

fn context(auto_restart: bool) -> Result<JobContext, String> {
    let watcher = WatcherThread::start(Sources::from_env()).map_err(|e| e.to_string())?;
    let presence = PresenceBoard::follow(watcher).map_err(|e| e.to_string())?;
    // Without a system bus (a container) a sleep shows as the phone leaving instead.
    let _ = sleep_watch::follow(presence.clone());
    let interactive = std::io::stdin().is_terminal();
    Ok(JobContext {
        presence,
        awake: Arc::new(SystemAwake),
        notifier: Arc::new(DesktopNotifier),
        log_dir: plugback_core::settings::data_dir().map(|d| d.join("logs")),
        confirm_restart: Arc::new(move |question| auto_restart || (interactive && ask(question))),
    })
}

/// Asks a yes/no question on the terminal; false when there is no terminal to ask on.
fn ask(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Prints for a person or, with --json, a JSON document a line.
#[derive(Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    fn line(&self, value: &Value) {
        outln!("{value}");
    }

    fn cannot_run(&self, code: &str, message: &str) -> i32 {
        if self.json {
            self.result(None, Some((code, message)));
        } else {
            print_error(code, message);
        }
        EXIT_CANNOT_RUN
    }

    fn preflight(&self, preflight: &Preflight) {
        if self.json {
            self.line(&json!({"event": "preflight", "items": preflight.items}));
            return;
        }
        outln!("Before the restore:");
        for item in &preflight.items {
            let mark = match item.status {
                Status::Pass => "ok   ",
                Status::Warn => "warn ",
                Status::Block => "BLOCK",
            };
            outln!("  {mark} {}", item.message);
            if item.status != Status::Pass && !item.fix.is_empty() {
                outln!("        {}", item.fix);
            }
        }
    }

    /// The last line: the result for scripts, or a sentence for a person.
    fn result(&self, report: Option<&JobReport>, failure: Option<(&str, &str)>) {
        let error = match (report.and_then(|r| r.error.as_ref()), failure) {
            (Some(e), _) => Some(json!({"code": e.code, "message": e.message, "fix": e.fix})),
            (None, Some((code, message))) => Some(json!({
                "code": code,
                "message": message,
                "fix": explain::explain(code).map(|e| e.what_to_do),
            })),
            (None, None) => None,
        };
        if self.json {
            self.line(&json!({
                "ok": report.is_some_and(|r| r.ok),
                "restarts": report.map_or(0, |r| r.restarts),
                "resumes": report.map_or(0, |r| r.resumes),
                "bytes": report.map_or(0, |r| r.bytes),
                "files": report.map_or(0, |r| r.files),
                "error": error,
            }));
            return;
        }
        match report {
            Some(r) if r.ok => outln!(
                "Restored: {} files, {} sent{}.",
                r.files,
                super::output::human_bytes(r.bytes),
                match (r.restarts, r.resumes) {
                    (0, 0) => String::new(),
                    (restarts, 0) => format!(", after {restarts} restart(s)"),
                    (_, resumes) => format!(", resumed {resumes} time(s)"),
                }
            ),
            _ => {
                if let Some(error) = error {
                    print_error(
                        error["code"].as_str().unwrap_or_default(),
                        error["message"].as_str().unwrap_or_default(),
                    );
                }
            }
        }
    }

    /// Where the job's events go: JSON lines, or a progress bar and sentences.
    fn printer(&self) -> Arc<dyn Fn(JobEvent) + Send + Sync> {
        if self.json {
            return Arc::new(|event| {
                if !matches!(event, JobEvent::Finished { .. })
                    && let Ok(value) = serde_json::to_value(&event)
                {
                    outln!("{value}");
                }
            });
        }
        let bar = progress_bar();
        Arc::new(move |event| match event {
            JobEvent::Phase { phase } => bar.set_message(format!("{phase:?}")),
            JobEvent::Progress { progress, .. } => {
                if let Some(total) = progress.bytes_total {
                    bar.set_length(total);
                }
                bar.set_position(progress.bytes_done);
                if let Some(current) = progress.current {
                    bar.set_message(current);
                }
            }
            JobEvent::Note { message, .. } => bar.println(format!("note: {message}")),
            JobEvent::Lost {
                what_happened,
                what_it_means,
                what_next,
            } => bar.println(format!(
                "\nPlug the phone back in.\n  {what_happened}\n  {what_it_means}\n  {what_next}\n"
            )),
            JobEvent::Back { resumed } => bar.println(if resumed {
                "The phone is back: the restore carries on."
            } else {
                "The phone is back: the restore starts again."
            }),
            JobEvent::Finished { .. } => bar.finish_and_clear(),
        })
    }
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}
