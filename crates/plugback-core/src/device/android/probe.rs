//! The link probe of the health check on an Android phone: round trips (STAT of
//! `/data/local/tmp` on one sync connection), then a payload written with SEND and read
//! back with RECV, each timed, and the temporary file removed again through the shell.
//!
//! `/data/local/tmp` because the shell user may write there on every Android version, and
//! nothing there shows up in the person's gallery or file manager.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::shell;
use crate::device::android::sync::{DEFAULT_FILE_MODE, SyncClient};
use crate::device::health::figures::{ProbeFigures, ProbePlan, payload, temporary_name};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the probe's file goes, and what the round trips look at.
pub const PROBE_DIR: &str = "/data/local/tmp";
/// The longest the removal of the file may wait for each answer after the probe was
/// cancelled: the file is still worth removing, but not worth a long wait.
const CLEANUP_AFTER_CANCEL_TIMEOUT: Duration = Duration::from_secs(3);
/// Printed by the removal command once `rm` succeeded: shell v1 has no exit status, so
/// this is how an old phone says it worked.
const REMOVED_MARKER: &str = "plugback-probe-file-removed";
/// Every name `temporary_name` gives, as a shell pattern.
const LEFTOVER_PATTERN: &str = "plugback-health-*.tmp";

/// Probes the phone `serial`. Stops at the first error and records it in the figures,
/// keeping what was measured before; never panics.
pub fn probe(
    server: &AdbServer,
    serial: &str,
    plan: &ProbePlan,
    cancel: &CancelToken,
) -> ProbeFigures {
    let mut figures = ProbeFigures::new(plan);
    let path = format!("{PROBE_DIR}/{}", temporary_name());
    let mut file_may_exist = false;
    if let Err(err) = measure(
        server,
        serial,
        plan,
        cancel,
        &path,
        &mut figures,
        &mut file_may_exist,
    ) {
        figures.record_error(&err);
    }
    figures.cleaned_up = if file_may_exist {
        match remove(server, serial, &path, cancel) {
            Ok(()) => true,
            Err(err) => {
                // The first error is the one that tells what went wrong; a cleanup that
                // fails after it (the phone is gone) adds nothing.
                if figures.errors.is_empty() {
                    figures.record_error(&err);
                }
                false
            }
        }
    } else {
        // Nothing was written, so nothing is left behind.
        true
    };
    figures
}

fn measure(
    server: &AdbServer,
    serial: &str,
    plan: &ProbePlan,
    cancel: &CancelToken,
    path: &str,
    figures: &mut ProbeFigures,
    file_may_exist: &mut bool,
) -> Result<(), DeviceError> {
    let mut sync = SyncClient::open(server, serial, cancel)?;
    for _ in 0..plan.round_trips {
        let started = Instant::now();
        sync.stat(PROBE_DIR)?;
        figures.round_trips.push(started.elapsed());
    }

    let bytes = payload(plan.payload_bytes);
    *file_may_exist = true;
    let started = Instant::now();
    sync.send_bytes(path, DEFAULT_FILE_MODE, now_seconds(), &bytes)?;
    figures.write = Some(started.elapsed());

    let mut compare = CompareWriter::new(&bytes);
    let started = Instant::now();
    sync.recv(path, &mut compare)?;
    figures.read = Some(started.elapsed());
    figures.intact = Some(compare.matches());

    // The phone closes the service on QUIT; a failure here measured nothing.
    let _ = sync.quit();
    Ok(())
}

/// Removes the probe's file with `rm -f`, through the shell.
fn remove(
    server: &AdbServer,
    serial: &str,
    path: &str,
    cancel: &CancelToken,
) -> Result<(), DeviceError> {
    // A cancelled probe still removes its file: with a token of its own, so the removal
    // is not cancelled at once, and a short timeout, so it does not keep the person waiting.
    let (server, cancel) = if cancel.is_cancelled() {
        let short = server.timeout().min(CLEANUP_AFTER_CANCEL_TIMEOUT);
        (server.clone().with_timeout(short), CancelToken::new())
    } else {
        (server.clone(), cancel.clone())
    };
    let features = shell::features(&server, serial, &cancel)?;
    // The path is PROBE_DIR and a name of letters, digits, '-' and '.': nothing to quote.
    // The pattern also takes any file an earlier probe could not remove (its phone was
    // unplugged mid-transfer).
    let leftovers = format!("{PROBE_DIR}/{}", LEFTOVER_PATTERN);
    let command = format!("rm -f {path} {leftovers} && echo {REMOVED_MARKER}");
    let output = shell::run(&server, serial, &command, &features, &cancel)?;
    if output.succeeded() && output.stdout_text().contains(REMOVED_MARKER) {
        Ok(())
    } else {
        Err(DeviceError::Refused {
            detail: format!(
                "rm -f {path} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

fn now_seconds() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// Compares what is written with the expected bytes as it arrives, so reading the payload
/// back needs no second copy of it, and a phone that sends more than was written cannot
/// make Plugback hold more than the payload.
struct CompareWriter<'a> {
    expected: &'a [u8],
    seen: usize,
    same: bool,
}

impl<'a> CompareWriter<'a> {
    fn new(expected: &'a [u8]) -> CompareWriter<'a> {
        CompareWriter {
            expected,
            seen: 0,
            same: true,
        }
    }

    /// True when exactly the expected bytes were written.
    fn matches(&self) -> bool {
        self.same && self.seen == self.expected.len()
    }
}

impl Write for CompareWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.same {
            let end = self.seen.saturating_add(buf.len());
            self.same = self.expected.get(self.seen..end) == Some(buf);
        }
        self.seen = self.seen.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_writer_wants_exactly_the_expected_bytes() {
        let expected = b"hello world";
        let mut same = CompareWriter::new(expected);
        same.write_all(b"hello").unwrap();
        same.write_all(b" world").unwrap();
        assert!(same.matches());

        let mut short = CompareWriter::new(expected);
        short.write_all(b"hello").unwrap();
        assert!(!short.matches());

        let mut long = CompareWriter::new(expected);
        long.write_all(b"hello world!").unwrap();
        assert!(!long.matches());

        let mut changed = CompareWriter::new(expected);
        changed.write_all(b"hellO").unwrap();
        changed.write_all(b" world").unwrap();
        assert!(!changed.matches());
    }

    #[test]
    fn the_probe_file_name_needs_no_quoting() {
        let name = temporary_name();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "{name}"
        );
    }

    #[test]
    fn no_server_is_one_error_and_nothing_left_behind() {
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        // No adb to start on that port: the probe must fail, not start a server.
        let server = AdbServer::new(free)
            .with_timeout(Duration::from_secs(2))
            .with_search_path("");
        let plan = ProbePlan {
            payload_bytes: 1000,
            round_trips: 3,
        };
        let figures = probe(&server, "any", &plan, &CancelToken::new());
        assert_eq!(figures.errors.len(), 1, "{:?}", figures.errors);
        assert_eq!(figures.errors[0].code, "device-io");
        assert!(figures.round_trips.is_empty());
        assert_eq!(figures.write, None);
        assert_eq!(figures.intact, None);
        assert_eq!(figures.payload_bytes, 1000);
        assert!(figures.cleaned_up);
    }
}
