//! `adb restore` of a legacy `.ab` archive, over the `restore:` service.
//!
//! What the protocol gives, and so what Plugback can say:
//! - The phone runs `bu restore` on the stream and shows "Full restore" with "Restore my
//!   data" and "Do not restore". For an encrypted archive the person types the backup
//!   password there: the protocol has no field for it, so Plugback cannot pass it on.
//! - Until someone taps "Restore my data", nothing on the phone reads the stream; after
//!   60 s Android gives up and closes it. Plugback's writes therefore stall at first (once
//!   the buffers on the way are full), and start to move when the person confirms.
//! - The host sends the archive, then 1024 zero bytes (adb's own end marker), then waits
//!   for the phone to close the stream. The phone never says what it restored, or why it
//!   stopped: refusal, a wrong password and a damaged archive all just close the stream.
//!   The adb server goes on taking (and dropping) bytes after such a close, so Plugback
//!   also watches for the end of the stream while it writes.
//!
//! So the outcome says what is known: how many bytes the phone took, whether it was seen
//! reading (bytes moving again after the stall: someone confirmed), and that it ended the
//! restore. An archive small enough to sit in the buffers gives no sign of reading at
//! all, and the outcome says that too.
//!
//! Android 12 and later restore app data this way only for apps that allow it (debuggable
//! apps, and system apps that opt in); other apps' data in the archive is skipped by the
//! phone without a word.

use crate::backup::android::ab_stream;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::restore::{Phase, Progress, RestoreError, Sink};
use serde::Serialize;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long Android shows the confirmation (`TIMEOUT_FULL_CONFIRMATION`).
pub const PHONE_CONFIRM_WINDOW: Duration = Duration::from_secs(60);
/// adb's in-band end marker after the archive.
const END_MARKER: usize = 1024;
/// How much is read from the archive and written at a time.
const CHUNK: usize = 64 * 1024;
/// How often a blocked write or read wakes to look at the cancel token and the clock.
const POLL: Duration = Duration::from_millis(100);
/// A write held up at least this long means the buffers on the way are full and the
/// phone is not reading.
const STALL_HINT: Duration = Duration::from_secs(1);
/// Bytes that must move after such a stall before Plugback counts it as the phone
/// reading: more than the phone's own pipe and one adb packet can hold.
const READING_EVIDENCE: u64 = 2 * 1024 * 1024;
/// How often Plugback looks, while writing, whether the phone has ended the restore.
const END_LOOK: Duration = Duration::from_millis(20);

/// Timing of an archive restore.
#[derive(Clone, Debug)]
pub struct AbSettings {
    /// How long the person has to confirm: Android's 60 s and a margin for the
    /// phone's own delay in showing the screen.
    pub confirm_window: Duration,
    /// Once the phone reads, how long it may go without taking a byte (or, after the
    /// last byte, without ending the restore) before the restore counts as stalled.
    pub stall_timeout: Duration,
}

impl Default for AbSettings {
    fn default() -> Self {
        AbSettings {
            confirm_window: PHONE_CONFIRM_WINDOW + Duration::from_secs(5),
            stall_timeout: Duration::from_secs(300),
        }
    }
}

/// What an archive restore did, as far as a computer can know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AbOutcome {
    /// The archive's size; the phone took all of it and the end marker.
    pub archive_bytes: u64,
    pub encrypted: bool,
    /// True when the phone was seen reading after the confirmation screen (someone
    /// tapped "Restore my data"); false when the archive was too small to tell.
    pub reading_seen: bool,
}

/// Streams the archive at `path` to the phone `serial` through `restore:`; see the module
/// documentation. The archive is only read.
pub fn restore(
    server: &AdbServer,
    serial: &str,
    path: &Path,
    settings: &AbSettings,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AbOutcome, RestoreError> {
    let backup_error = |source: io::Error| RestoreError::Backup {
        path: path.to_path_buf(),
        source,
    };
    let (header, _) = ab_stream::read_header(path)
        .map_err(|err| backup_error(io::Error::new(ErrorKind::InvalidData, err.to_string())))?;
    let encrypted = header.encrypted();
    let mut file = File::open(path).map_err(backup_error)?;
    let archive_bytes = file.metadata().map_err(backup_error)?.len();

    sink.phase(Phase::Preparing);
    let stream = open_restore(server, serial, cancel).map_err(|err| classify(err, cancel))?;
    sink.note("android-confirm-restore", confirm_message(encrypted));
    sink.phase(Phase::Transferring);
    let mut run = Run {
        stream,
        settings,
        sink,
        cancel,
        opened: Instant::now(),
        total: archive_bytes + END_MARKER as u64,
        sent: 0,
        held_since: None,
        after_stall: None,
        reading_seen: false,
        last_move: Instant::now(),
        last_report: None,
        last_end_look: None,
    };
    run.report(true);
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(backup_error(err)),
        };
        run.write(&buffer[..n])?;
    }
    if run.sent != archive_bytes {
        return Err(backup_error(io::Error::new(
            ErrorKind::UnexpectedEof,
            "the archive changed size while it was being sent",
        )));
    }
    run.write(&[0u8; END_MARKER])?;
    run.report(true);
    sink.phase(Phase::Finishing);
    run.wait_for_end()?;
    sink.note("android-restore-sent", sent_message(run.reading_seen));
    Ok(AbOutcome {
        archive_bytes,
        encrypted,
        reading_seen: run.reading_seen,
    })
}

fn confirm_message(encrypted: bool) -> String {
    let mut message = String::from(
        "Unlock your phone and tap \"Restore my data\" on the Full restore screen. The phone \
         waits 60 seconds, then gives up.",
    );
    if encrypted {
        message.push_str(
            " This backup is encrypted: type its backup password in the field for it on the \
             phone. adb has no way to pass a password from the computer, so Plugback cannot \
             type it for you.",
        );
    }
    message
}

fn sent_message(reading_seen: bool) -> String {
    let mut message = String::from(
        "The phone took the whole archive and ended the restore. Android does not tell the \
         computer what it restored: open the apps to check. Android 12 and later restore data \
         this way only for apps that allow it.",
    );
    if !reading_seen {
        message.push_str(
            " Plugback did not see the phone read the archive as it went (a small archive, \
             or a busy computer, passes through without waiting for it), so it cannot tell \
             whether \"Restore my data\" was tapped.",
        );
    }
    message
}

struct Run<'a> {
    stream: TcpStream,
    settings: &'a AbSettings,
    sink: &'a Sink,
    cancel: &'a CancelToken,
    opened: Instant,
    /// The archive and the end marker.
    total: u64,
    sent: u64,
    /// Since when the current write has been held up.
    held_since: Option<Instant>,
    /// Bytes moved since the first long hold-up, once there was one.
    after_stall: Option<u64>,
    reading_seen: bool,
    last_move: Instant,
    last_report: Option<Instant>,
    last_end_look: Option<Instant>,
}

impl Run<'_> {
    /// Writes all of `bytes`, waking every [`POLL`] for the cancel token and the clock.
    fn write(&mut self, mut bytes: &[u8]) -> Result<(), RestoreError> {
        while !bytes.is_empty() {
            self.check_clock()?;
            self.check_phone_end()?;
            match self.stream.write(bytes) {
                Ok(0) => return Err(self.ended_early("the connection closed".into())),
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.moved(n as u64);
                }
                Err(err) if is_wait(&err) => {
                    let since = *self.held_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= STALL_HINT && self.after_stall.is_none() {
                        self.after_stall = Some(0);
                    }
                }
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(self.ended_early(err.to_string())),
            }
        }
        Ok(())
    }

    /// The adb server goes on taking bytes after the phone has closed the stream, and
    /// drops them; the close shows only as the end of what the phone says. Looked at
    /// every [`END_LOOK`] without waiting.
    fn check_phone_end(&mut self) -> Result<(), RestoreError> {
        if self
            .last_end_look
            .is_some_and(|last| last.elapsed() < END_LOOK)
        {
            return Ok(());
        }
        self.last_end_look = Some(Instant::now());
        let mut probe = [0u8; 1];
        let looked = self
            .stream
            .set_nonblocking(true)
            .and_then(|()| self.stream.peek(&mut probe));
        let restored = self.stream.set_nonblocking(false);
        match looked {
            Ok(0) => Err(self.ended_early("the phone closed the restore".into())),
            // bu prints nothing; anything it does say is not a result.
            Ok(_) => Ok(()),
            Err(err) if is_wait(&err) || err.kind() == ErrorKind::Interrupted => {
                restored.map_err(|err| self.ended_early(err.to_string()))
            }
            Err(err) => Err(self.ended_early(err.to_string())),
        }
    }

    fn moved(&mut self, n: u64) {
        self.sent += n;
        self.held_since = None;
        self.last_move = Instant::now();
        if let Some(after) = self.after_stall.as_mut() {
            *after += n;
            if *after >= READING_EVIDENCE {
                self.reading_seen = true;
            }
        }
        self.report(false);
    }

    /// After the last byte: waits for the phone to close the stream.
    fn wait_for_end(&mut self) -> Result<(), RestoreError> {
        let mut said = [0u8; 1024];
        loop {
            self.check_clock()?;
            match self.stream.read(&mut said) {
                // bu prints nothing; anything it does say is not a result.
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if is_wait(&err) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                // Closed with bytes of ours still unread on the way: the phone stopped
                // before the end of the archive.
                Err(err) => return Err(self.ended_early(err.to_string())),
            }
        }
        // A phone that ends the stream when its confirmation lapses, without having been
        // seen reading, most likely never restored anything.
        if !self.reading_seen && self.opened.elapsed() >= PHONE_CONFIRM_WINDOW {
            return Err(RestoreError::NotConfirmed {
                window: PHONE_CONFIRM_WINDOW,
            });
        }
        Ok(())
    }

    /// The cancel token, the confirmation window while the phone has not been seen
    /// reading, and the stall timeout once it has.
    fn check_clock(&self) -> Result<(), RestoreError> {
        if self.cancel.is_cancelled() {
            return Err(RestoreError::Cancelled);
        }
        if self.reading_seen {
            if self.last_move.elapsed() >= self.settings.stall_timeout {
                return Err(RestoreError::Stalled {
                    after: self.settings.stall_timeout,
                });
            }
            return Ok(());
        }
        let still_writing = self.sent < self.total;
        if still_writing && self.opened.elapsed() >= self.settings.confirm_window {
            // Nothing read in the whole window: nobody confirmed.
            return Err(RestoreError::NotConfirmed {
                window: self.settings.confirm_window,
            });
        }
        // Everything is on its way and the phone has not closed: it either waits for the
        // person or restores; Android ends the wait itself after 60 s.
        let limit =
            self.settings.confirm_window.max(PHONE_CONFIRM_WINDOW) + self.settings.stall_timeout;
        if !still_writing && self.opened.elapsed() >= limit {
            return Err(RestoreError::Stalled {
                after: self.settings.stall_timeout,
            });
        }
        Ok(())
    }

    /// The phone closed the stream before taking every byte.
    fn ended_early(&self, how: String) -> RestoreError {
        if self.cancel.is_cancelled() {
            return RestoreError::Cancelled;
        }
        if !self.reading_seen && self.opened.elapsed() >= PHONE_CONFIRM_WINDOW {
            return RestoreError::NotConfirmed {
                window: PHONE_CONFIRM_WINDOW,
            };
        }
        RestoreError::EndedEarly {
            sent: self.sent.min(self.total - END_MARKER as u64),
            total: self.total - END_MARKER as u64,
            detail: format!(
                "\"Do not restore\" was tapped, the password typed on the phone was wrong, or \
                 the phone could not read the archive ({how})"
            ),
        }
    }

    fn report(&mut self, now: bool) {
        let archive = self.total - END_MARKER as u64;
        let progress = Progress {
            bytes_done: self.sent.min(archive),
            bytes_total: Some(archive),
            ..Progress::default()
        };
        self.sink
            .paced_progress(&progress, &mut self.last_report, now);
    }
}

fn is_wait(err: &io::Error) -> bool {
    matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn classify(err: DeviceError, cancel: &CancelToken) -> RestoreError {
    if cancel.is_cancelled() || matches!(err, DeviceError::Cancelled) {
        return RestoreError::Cancelled;
    }
    match err {
        DeviceError::Timeout { after, .. } => RestoreError::Stalled { after },
        other => RestoreError::Device(other),
    }
}

/// Opens `restore:` on the phone and returns the bare connection, with [`POLL`] read and
/// write timeouts.
///
/// The two requests are framed here rather than through `SmartSocket`: this stream needs
/// writes that stop every [`POLL`] and report how much went out, so that a phone waiting
/// for its person can be told from one that reads, and a cancel is seen; `SmartSocket`
/// owns its connection and writes whole buffers.
fn open_restore(
    server: &AdbServer,
    serial: &str,
    cancel: &CancelToken,
) -> Result<TcpStream, DeviceError> {
    let mut socket = server.connect(cancel)?;
    socket.request(&format!("host:transport:{serial}"))?;
    socket.request("restore:")?;
    let stream = socket.into_stream();
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_say_what_is_true() {
        assert!(!confirm_message(false).contains("password"));
        assert!(confirm_message(true).contains("cannot type it for you"));
        assert!(sent_message(false).contains("cannot tell"));
        assert!(!sent_message(true).contains("cannot tell"));
    }
}
