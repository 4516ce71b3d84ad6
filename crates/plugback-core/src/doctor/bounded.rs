//! Running a program or a blocking call with a deadline, so that no probe of doctor can
//! hang it.

use crate::cancel::CancelToken;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often a wait looks at the cancel flag.
const POLL: Duration = Duration::from_millis(20);

/// Why a bounded wait gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Late {
    TimedOut(Duration),
    Cancelled,
}

/// What a program printed on standard output, when it ran to a successful end in time.
pub fn run_program(
    program: &Path,
    args: &[&str],
    timeout: Duration,
    cancel: &CancelToken,
) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    // Read on a thread so a chatty program cannot block on a full pipe; a channel rather
    // than a join, as a program that left a child holding the pipe would block a join.
    let (sender, printed) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            let _ = sender.send(bytes);
        });
    }
    let end = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for {}: {e}", program.display())),
        }
        if cancel.is_cancelled() || Instant::now() >= end {
            // Only our own child, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            return Err(if cancel.is_cancelled() {
                "stopped".to_owned()
            } else {
                format!("{} did not finish within {timeout:?}", program.display())
            });
        }
        std::thread::sleep(POLL);
    };
    let bytes = printed
        .recv_timeout(end.saturating_duration_since(Instant::now()) + POLL)
        .unwrap_or_default();
    if !status.success() {
        return Err(format!("{} ended with {status}", program.display()));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Runs a blocking call on its own thread and waits at most `timeout` for it.
///
/// A D-Bus call cannot be interrupted from outside, so a call that is late is left to
/// finish on its thread (it ends with the call, or with the process) while doctor moves on.
pub fn call<T: Send + 'static>(
    timeout: Duration,
    cancel: &CancelToken,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    let (sender, answer) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    let end = Instant::now() + timeout;
    loop {
        if cancel.is_cancelled() {
            return Err(Late::Cancelled);
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Late::TimedOut(timeout));
        }
        match answer.recv_timeout(left.min(POLL)) {
            Ok(value) => return Ok(value),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The thread panicked before answering.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Late::TimedOut(timeout)),
        }
    }
}

/// One probe of a system service (a D-Bus service, a system call), asked with a deadline:
/// ok with what it said, or the finding `failed` makes of why not.
pub fn probe_check(
    (id, name): (&'static str, &'static str),
    timeout: Duration,
    cancel: &CancelToken,
    probe: fn() -> Result<String, String>,
    failed: impl FnOnce(String) -> super::Finding,
) -> Vec<super::Check> {
    let why = match call(timeout, cancel, probe) {
        Ok(Ok(said)) => return vec![super::Check::ok(id, name, said)],
        Ok(Err(why)) => why,
        Err(Late::TimedOut(after)) => format!("no answer within {after:?}"),
        Err(Late::Cancelled) => return vec![super::stopped(id, name)],
    };
    vec![super::Check::found(id, name, failed(why))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_answers_or_is_late() {
        let cancel = CancelToken::new();
        assert_eq!(call(Duration::from_secs(5), &cancel, || 7), Ok(7));
        let slow = call(Duration::from_millis(50), &cancel, || {
            std::thread::sleep(Duration::from_secs(2));
            7
        });
        assert_eq!(slow, Err(Late::TimedOut(Duration::from_millis(50))));
        cancel.cancel();
        let stopped = call(Duration::from_secs(5), &cancel, || {
            std::thread::sleep(Duration::from_secs(2));
            7
        });
        assert_eq!(stopped, Err(Late::Cancelled));
    }

    #[cfg(unix)]
    #[test]
    fn a_program_prints_fails_or_is_stopped() {
        let cancel = CancelToken::new();
        let sh = Path::new("/bin/sh");
        let printed = run_program(sh, &["-c", "echo hello"], Duration::from_secs(10), &cancel);
        assert_eq!(printed.as_deref(), Ok("hello\n"));
        let failed = run_program(sh, &["-c", "exit 3"], Duration::from_secs(10), &cancel);
        assert!(failed.is_err_and(|e| e.contains("exit status: 3")));
        let slow = run_program(sh, &["-c", "sleep 5"], Duration::from_millis(100), &cancel);
        assert!(slow.is_err_and(|e| e.contains("did not finish")));
        let missing = run_program(
            Path::new("/no/such/program"),
            &[],
            Duration::from_secs(1),
            &cancel,
        );
        assert!(missing.is_err_and(|e| e.contains("cannot run")));
    }
}
