//! "Try the demo" while no phone is plugged in: someone without a phone at hand can open a
//! second Plugback window in demo mode, with simulated phones and sample backups. The
//! program is started by a worker job ([`Job::OpenDemo`]), never from the UI thread.

use super::state::{Failure, Job};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a demo window that fails at once (no display, say) is waited for, so that its
/// failure is said instead of "opened".
const STARTUP_GRACE: Duration = Duration::from_secs(3);

/// Where the offer stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DemoLaunch {
    Offered,
    Opening,
    Opened,
    Failed(String),
}

/// The offer of the demo, when this window can make it (its own program is known).
#[derive(Clone, Debug)]
pub struct DemoOffer {
    program: PathBuf,
    pub status: DemoLaunch,
}

impl DemoOffer {
    pub fn new(program: PathBuf) -> Self {
        Self {
            program,
            status: DemoLaunch::Offered,
        }
    }

    /// The job that opens the demo window; None while one is opening.
    pub fn request(&mut self) -> Option<Job> {
        if self.status == DemoLaunch::Opening {
            return None;
        }
        self.status = DemoLaunch::Opening;
        Some(Job::OpenDemo {
            program: self.program.clone(),
        })
    }

    /// How opening it went.
    pub fn opened(&mut self, result: Result<(), Failure>) {
        self.status = match result {
            Ok(()) => DemoLaunch::Opened,
            Err(failure) => DemoLaunch::Failed(failure.message),
        };
    }
}

/// Starts `program --demo` and waits briefly for an early failure. Blocks: call it on a
/// worker thread. The demo window then lives on its own; a thread waits for it so that it
/// leaves no zombie process behind.
pub fn open(program: &Path) -> Result<(), Failure> {
    open_within(program, STARTUP_GRACE)
}

fn open_within(program: &Path, grace: Duration) -> Result<(), Failure> {
    let mut child = Command::new(program)
        .arg("--demo")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| {
            Failure::new(format!(
                "The demo could not start ({err}). Open a terminal and run: {} --demo",
                program.display()
            ))
        })?;
    let started = Instant::now();
    while started.elapsed() < grace {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(Failure::new(format!(
                    "The demo window closed at once ({status}). Open a terminal and run \
                     \u{201c}{} --demo\u{201d} to see why.",
                    program.display()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => break,
        }
    }
    // Reaps the demo when it closes; the thread ends with it.
    let _ = std::thread::Builder::new()
        .name("plugback-demo-window".to_owned())
        .spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_launch_at_a_time_and_its_outcome_is_kept() {
        let mut offer = DemoOffer::new(PathBuf::from("plugback"));
        let job = offer.request().expect("a job");
        assert!(matches!(job, Job::OpenDemo { ref program } if program == Path::new("plugback")));
        assert!(offer.request().is_none(), "one at a time");
        offer.opened(Err(Failure::new("no display")));
        assert_eq!(offer.status, DemoLaunch::Failed("no display".to_owned()));
        assert!(
            offer.request().is_some(),
            "a failed launch can be tried again"
        );
        offer.opened(Ok(()));
        assert_eq!(offer.status, DemoLaunch::Opened);
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_fails_at_once_is_reported_with_what_to_run() {
        let failure = open(Path::new("false")).expect_err("`false` exits 1");
        assert!(
            failure.message.contains("closed at once"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("false --demo"),
            "{}",
            failure.message
        );
        let missing = open(Path::new("/nonexistent/plugback")).expect_err("no such program");
        assert!(
            missing.message.contains("could not start"),
            "{}",
            missing.message
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_keeps_running_counts_as_opened() {
        // `sleep --demo` is refused by sleep, so a script stands in for a window that stays.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("stays-open");
        std::fs::write(&script, "#!/bin/sh\nsleep 2\n").unwrap();
        let mut perms = std::fs::metadata(&script).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).unwrap();
        assert_eq!(open_within(&script, Duration::from_millis(300)), Ok(()));
    }
}
