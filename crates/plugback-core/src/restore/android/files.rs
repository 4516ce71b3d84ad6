//! Sending a [`FilePlan`] to an Android phone over Plugback's sync client.
//!
//! 1. Preparing: one sync connection; a pipelined STAT of every file in the plan. A file
//!    the phone already has with the same size and mtime is skipped: that is how a restart
//!    resumes, as the phone stamps the mtime only once a file is complete.
//! 2. Transferring: the other files, pipelined (several SENDs on their way, the answers read
//!    behind them), each with its mode and mtime. A file the phone refuses, or that cannot
//!    be read here, is reported and the restore goes on with the next one, on a fresh
//!    connection; too many in a row end it.
//! 3. Finishing: a media rescan, so the gallery shows what arrived.
//!
//! A phone that goes away is [`RestoreError::PhoneLost`] (with how far the restore got); a
//! phone that stops answering for the adb server's timeout (a few of them for the answer to
//! a finished file, as bytes still on their way drain first) is [`RestoreError::Stalled`];
//! the cancel token is looked at between files, between chunks and while waiting.

use super::media_scan::{self, MediaRescan};
use super::plan::{FilePlan, PlanItem};
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::sync::{FileStat, MAX_PATH, SyncClient};
use crate::restore::{Phase, Progress, RestoreError, Sink};
use serde::Serialize;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Notes about single files (left out, refused) past this many are summed up in one.
const MAX_FILE_NOTES: usize = 20;
/// How long each look at whether the phone is still there may take, and how many looks,
/// spaced by [`PRESENCE_PAUSE`]: the adb server may need a moment to mark a phone gone.
const PRESENCE_TIMEOUT: Duration = Duration::from_secs(3);
const PRESENCE_LOOKS: u32 = 3;
const PRESENCE_PAUSE: Duration = Duration::from_millis(100);

/// How the files travel.
#[derive(Clone, Debug)]
pub struct TransferSettings {
    /// Files sent before their answers are read; 1 sends one file at a time.
    pub window: usize,
    /// Files in a row the phone may refuse (or that cannot be read here) before the
    /// restore stops: a phone that refuses everything is full, locked or read-only.
    pub max_failures_in_a_row: u32,
}

impl Default for TransferSettings {
    fn default() -> Self {
        TransferSettings {
            window: 32,
            max_failures_in_a_row: 10,
        }
    }
}

/// A file that did not arrive, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedFile {
    pub phone_path: String,
    pub reason: String,
    /// True when the phone refused it, false when it could not be read on this computer.
    pub by_phone: bool,
}

/// What a finished file restore did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FilesOutcome {
    /// Files sent and stored by the phone.
    pub sent: u64,
    /// Files already on the phone with the same size and mtime, not sent again.
    pub skipped: u64,
    pub bytes_sent: u64,
    pub bytes_skipped: u64,
    /// Files that did not arrive (the restore went on without them).
    pub failed: Vec<FailedFile>,
    /// Files of the source the plan could not use (see `FilePlan::left_out`).
    pub left_out: u64,
    pub media_rescan: MediaRescan,
}

/// Runs the whole file restore; see the module documentation.
pub fn transfer(
    server: &AdbServer,
    serial: &str,
    plan: &FilePlan,
    settings: &TransferSettings,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<FilesOutcome, RestoreError> {
    let mut run = Transfer {
        server,
        serial,
        plan,
        settings,
        sink,
        cancel,
        report: Reporter::new(sink, plan),
        sync: None,
        queue: VecDeque::new(),
        in_flight: VecDeque::new(),
        failures_in_a_row: 0,
        outcome: FilesOutcome {
            sent: 0,
            skipped: 0,
            bytes_sent: 0,
            bytes_skipped: 0,
            failed: Vec::new(),
            left_out: plan.left_out.len() as u64,
            media_rescan: MediaRescan::NotAsked,
        },
    };
    run.note_left_out();
    if !plan.is_empty() {
        run.prepare()?;
        run.send_all()?;
    }
    run.finish()?;
    Ok(run.outcome)
}

/// A file whose bytes went out and whose answer is awaited.
struct InFlight {
    index: usize,
    /// Bytes counted in the progress for it so far.
    written: u64,
}

struct Transfer<'a> {
    server: &'a AdbServer,
    serial: &'a str,
    plan: &'a FilePlan,
    settings: &'a TransferSettings,
    sink: &'a Sink,
    cancel: &'a CancelToken,
    report: Reporter<'a>,
    sync: Option<SyncClient>,
    /// Plan indexes still to send, in order.
    queue: VecDeque<usize>,
    /// Sent, answers awaited, oldest first: the same order as the sync client's queue.
    in_flight: VecDeque<InFlight>,
    failures_in_a_row: u32,
    outcome: FilesOutcome,
}

impl Transfer<'_> {
    /// Connects, and finds what the phone already has.
    fn prepare(&mut self) -> Result<(), RestoreError> {
        self.sink.phase(Phase::Preparing);
        self.report.emit();
        let plan = self.plan;
        let mut to_stat = Vec::new();
        for (index, item) in plan.items.iter().enumerate() {
            // adb refuses a SEND whose "<path>,<mode>" is longer than this.
            if item.phone_path.len() + 1 + item.mode.to_string().len() > MAX_PATH {
                self.fail(
                    index,
                    format!("its place on the phone is longer than adb allows ({MAX_PATH} bytes)"),
                    false,
                )?;
            } else {
                to_stat.push(index);
            }
        }
        // A file whose folder is not on the phone cannot be there: one look per folder
        // spares a look per file on a first restore (thousands of photos in a new folder).
        let mut folders: Vec<&str> = to_stat
            .iter()
            .map(|&i| parent_of(&plan.items[i].phone_path))
            .collect();
        folders.sort_unstable();
        folders.dedup();
        let folder_stats = {
            let sync = self.connect()?;
            sync.stat_many(&folders)
        };
        let folder_stats = folder_stats.map_err(|err| self.classify(err))?;
        let absent: std::collections::HashSet<&str> = folders
            .iter()
            .zip(&folder_stats)
            .filter(|(_, stat)| !stat.is_dir())
            .map(|(folder, _)| *folder)
            .collect();
        let (to_stat, new): (Vec<usize>, Vec<usize>) = to_stat
            .into_iter()
            .partition(|&i| !absent.contains(parent_of(&plan.items[i].phone_path)));
        self.queue.extend(new);
        let paths: Vec<&str> = to_stat
            .iter()
            .map(|&i| plan.items[i].phone_path.as_str())
            .collect();
        let stats = {
            let sync = self.connect()?;
            sync.stat_many(&paths)
        };
        let stats = stats.map_err(|err| self.classify(err))?;
        for (index, stat) in to_stat.into_iter().zip(stats) {
            let item = &plan.items[index];
            if already_there(item, &stat) {
                self.outcome.skipped += 1;
                self.outcome.bytes_skipped += item.size;
                self.report.add_bytes(item.size);
                self.report.file_done();
            } else {
                self.queue.push_back(index);
            }
        }
        if self.outcome.skipped > 0 {
            self.sink.note(
                "restore-files-already-there",
                format!(
                    "{} of {} files are already on the phone, unchanged, and are not sent again.",
                    self.outcome.skipped,
                    self.plan.file_count()
                ),
            );
        }
        self.report.emit();
        Ok(())
    }

    /// Sends the queue, keeping up to `window` files in flight.
    fn send_all(&mut self) -> Result<(), RestoreError> {
        self.sink.phase(Phase::Transferring);
        let window = self.settings.window.max(1);
        loop {
            if self.cancel.is_cancelled() {
                return Err(RestoreError::Cancelled);
            }
            if self.in_flight.len() >= window
                || (self.queue.is_empty() && !self.in_flight.is_empty())
            {
                self.read_answer()?;
                continue;
            }
            let Some(index) = self.queue.pop_front() else {
                break;
            };
            self.send_one(index)?;
        }
        if let Some(sync) = self.sync.as_mut() {
            // Every file has its answer; a phone gone by now loses nothing.
            let _ = sync.quit();
        }
        self.sync = None;
        self.report.set_current(None);
        self.report.emit();
        Ok(())
    }

    fn send_one(&mut self, index: usize) -> Result<(), RestoreError> {
        let plan = self.plan;
        let item = &plan.items[index];
        self.report.set_current(Some(&item.phone_path));
        let file = match open_local(item) {
            Ok(file) => file,
            Err(err) => {
                return self.fail(
                    index,
                    format!("cannot be read on this computer: {err}"),
                    false,
                );
            }
        };
        self.connect()?;
        let Some(sync) = self.sync.as_mut() else {
            return Err(no_connection());
        };
        let mut reader = ItemReader {
            file,
            left: item.size,
            read: 0,
            local_error: None,
            report: &mut self.report,
        };
        let sent = sync.send_pipelined(&item.phone_path, item.mode, item.mtime, &mut reader);
        let (written, local_error) = (reader.read, reader.local_error.take());
        match sent {
            Ok(_) => {
                self.in_flight.push_back(InFlight { index, written });
                Ok(())
            }
            Err(DeviceError::Refused { detail }) => {
                // Refused here, before a byte went out: the path is too long for adb.
                self.report.remove_bytes(written);
                self.fail(index, detail, false)
            }
            Err(_) if local_error.is_some() => {
                self.report.remove_bytes(written);
                let reason = local_error.map_or_else(String::new, |e| e.to_string());
                self.fail(
                    index,
                    format!("cannot be read on this computer: {reason}"),
                    false,
                )?;
                // The phone waits for the rest of that file: hear out what it said about
                // the earlier ones, then start a new connection.
                self.drain(None)?;
                self.sync = None;
                Ok(())
            }
            Err(err) => {
                self.in_flight.push_back(InFlight { index, written });
                self.drain(Some(err))
            }
        }
    }

    /// After a failed write: reads the answers the phone gave before it stopped. A refusal
    /// among them is a refused file (and the restore goes on); otherwise the connection's
    /// failure, `cause`, decides.
    fn drain(&mut self, cause: Option<DeviceError>) -> Result<(), RestoreError> {
        while self
            .sync
            .as_ref()
            .is_some_and(|sync| sync.awaiting_answers() > 0)
        {
            let before = self.outcome.failed.len();
            self.read_answer()?;
            if self.outcome.failed.len() > before {
                // The refusal explains the broken write. The files behind the refused
                // one are queued again, and the next send opens a new connection.
                return Ok(());
            }
        }
        match cause {
            Some(err) => Err(self.classify(err)),
            None => Ok(()),
        }
    }

    /// Reads the answer for the oldest file in flight.
    fn read_answer(&mut self) -> Result<(), RestoreError> {
        let Some(sync) = self.sync.as_mut() else {
            return Err(no_connection());
        };
        let answer = sync.read_send_answer();
        let Some(done) = self.in_flight.pop_front() else {
            return Ok(());
        };
        match answer {
            Ok(_) => {
                let plan = self.plan;
                let item = &plan.items[done.index];
                self.outcome.sent += 1;
                self.outcome.bytes_sent += item.size;
                self.failures_in_a_row = 0;
                self.report.file_done();
                Ok(())
            }
            Err(DeviceError::Refused { detail }) => {
                self.report.remove_bytes(done.written);
                // The phone ended the service: the files after this one got no answer and
                // go again, in order, on a new connection.
                while let Some(later) = self.in_flight.pop_back() {
                    self.report.remove_bytes(later.written);
                    self.queue.push_front(later.index);
                }
                self.sync = None;
                let phone_full = detail.contains("No space left");
                self.fail(done.index, phone_reason(&detail), true)?;
                if phone_full {
                    return Err(RestoreError::Device(DeviceError::Refused {
                        detail: format!("the phone's storage is full ({detail})"),
                    }));
                }
                Ok(())
            }
            Err(err) => {
                self.in_flight.push_front(done);
                Err(self.classify(err))
            }
        }
    }

    /// Records a file that did not arrive; stops the restore after too many in a row.
    fn fail(&mut self, index: usize, reason: String, by_phone: bool) -> Result<(), RestoreError> {
        let plan = self.plan;
        let item = &plan.items[index];
        self.report.file_done();
        if self.outcome.failed.len() < MAX_FILE_NOTES {
            let whose = if by_phone {
                "The phone refused"
            } else {
                "Plugback could not send"
            };
            self.sink.note(
                "restore-file-refused",
                format!("{whose} {}: {reason}", item.phone_path),
            );
        }
        self.outcome.failed.push(FailedFile {
            phone_path: item.phone_path.clone(),
            reason: reason.clone(),
            by_phone,
        });
        self.failures_in_a_row += 1;
        if self.failures_in_a_row >= self.settings.max_failures_in_a_row.max(1) {
            return Err(if by_phone {
                RestoreError::Device(DeviceError::Refused {
                    detail: format!(
                        "the phone refused {} files in a row; the last: {}: {reason}",
                        self.failures_in_a_row, item.phone_path
                    ),
                })
            } else {
                RestoreError::Backup {
                    path: item.local.clone(),
                    source: io::Error::other(format!(
                        "{} files in a row could not be read; the last: {reason}",
                        self.failures_in_a_row
                    )),
                }
            });
        }
        Ok(())
    }

    /// The sync connection, opened when there is none.
    fn connect(&mut self) -> Result<&mut SyncClient, RestoreError> {
        if self.sync.as_ref().is_none_or(|sync| !sync.is_usable()) {
            self.sync = None;
            let opened = SyncClient::open(self.server, self.serial, self.cancel);
            self.sync = Some(opened.map_err(|err| self.classify(err))?);
        }
        self.sync.as_mut().ok_or_else(no_connection)
    }

    /// Asks for a media rescan of what is on the phone now.
    fn finish(&mut self) -> Result<(), RestoreError> {
        if !self.plan.media_rescan || self.outcome.sent + self.outcome.skipped == 0 {
            return Ok(());
        }
        self.sink.phase(Phase::Finishing);
        let failed: std::collections::HashSet<&str> = self
            .outcome
            .failed
            .iter()
            .map(|f| f.phone_path.as_str())
            .collect();
        let on_phone: Vec<&str> = self
            .plan
            .items
            .iter()
            .map(|item| item.phone_path.as_str())
            .filter(|path| !failed.contains(path))
            .collect();
        let rescan = match media_scan::request(self.server, self.serial, &on_phone, self.cancel) {
            Ok(rescan) => rescan,
            Err(DeviceError::Cancelled) => return Err(RestoreError::Cancelled),
            Err(err) => MediaRescan::Failed {
                reason: err.to_string(),
            },
        };
        if let MediaRescan::Failed { reason } = &rescan {
            self.sink.note(
                "restore-media-scan-failed",
                format!(
                    "Every file is on the phone, but the phone did not take the request to look \
                     for new photos, videos and music ({reason})."
                ),
            );
        }
        self.outcome.media_rescan = rescan;
        Ok(())
    }

    fn note_left_out(&self) {
        let left_out = &self.plan.left_out;
        for entry in left_out.iter().take(MAX_FILE_NOTES) {
            self.sink.note(
                "restore-files-left-out",
                format!("{} is not restored: {}", entry.what, entry.reason),
            );
        }
        if left_out.len() > MAX_FILE_NOTES {
            self.sink.note(
                "restore-files-left-out",
                format!(
                    "{} more files of the backup are not restored.",
                    left_out.len() - MAX_FILE_NOTES
                ),
            );
        }
    }

    /// The restore's error for a transport error: a cancel, a stall, a lost phone, or
    /// (the phone still there) the transport's own error.
    fn classify(&self, err: DeviceError) -> RestoreError {
        if self.cancel.is_cancelled() || matches!(err, DeviceError::Cancelled) {
            return RestoreError::Cancelled;
        }
        if let DeviceError::Timeout { after, .. } = err {
            return RestoreError::Stalled { after };
        }
        if phone_is_connected(self.server, self.serial) {
            return RestoreError::Device(err);
        }
        let on_phone = self.outcome.sent + self.outcome.skipped;
        RestoreError::PhoneLost {
            detail: format!(
                "{err}; {on_phone} of {} files were complete on the phone by then, and a new \
                 restore skips them",
                self.plan.file_count()
            ),
        }
    }
}

/// A connection that should be open is not: a mistake in this module, said as such
/// rather than as a panic.
fn no_connection() -> RestoreError {
    RestoreError::Device(DeviceError::Protocol {
        peer: "Plugback's Android restore".into(),
        detail: "no sync connection is open where one should be".into(),
    })
}

/// The same size (v1 STAT carries it modulo 4 GiB) and the same mtime: the file arrived
/// whole before, as the phone sets the mtime only after the last byte.
fn already_there(item: &PlanItem, stat: &FileStat) -> bool {
    stat.is_file() && stat.size == item.size as u32 && stat.mtime == item.mtime
}

/// The phone's FAIL text without the path the sync client puts first.
fn phone_reason(detail: &str) -> String {
    detail
        .split_once(": ")
        .map_or(detail, |(_, reason)| reason)
        .to_string()
}

/// Opens a file of the plan for reading only; it must still be a regular file.
fn open_local(item: &PlanItem) -> io::Result<File> {
    let file = File::open(&item.local)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("it is no longer a regular file"));
    }
    Ok(file)
}

/// True when the adb server lists `serial` as a ready phone; looks a few times, as the
/// server marks a phone gone a moment after its connections drop.
fn phone_is_connected(server: &AdbServer, serial: &str) -> bool {
    let quick = server
        .clone()
        .with_timeout(server.timeout().min(PRESENCE_TIMEOUT));
    // Its own token: the restore's may be what ended it, and this look is short.
    let cancel = CancelToken::new();
    for look in 0..PRESENCE_LOOKS {
        if look > 0 {
            std::thread::sleep(PRESENCE_PAUSE);
        }
        let state = quick
            .connect(&cancel)
            .and_then(|mut socket| socket.query(&format!("host-serial:{serial}:get-state")));
        if !matches!(state, Ok(state) if state.trim() == "device") {
            return false;
        }
    }
    true
}

/// Reads exactly the planned size of a file, counting progress as bytes go out, and
/// keeping a failure of its own apart from the connection's.
struct ItemReader<'r, 'a> {
    file: File,
    left: u64,
    read: u64,
    local_error: Option<io::Error>,
    report: &'r mut Reporter<'a>,
}

impl Read for ItemReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        match self.file.read(&mut buf[..want]) {
            Ok(0) => {
                let err = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file became shorter after the restore started",
                );
                Err(self.keep(err))
            }
            Ok(n) => {
                self.left -= n as u64;
                self.read += n as u64;
                self.report.add_bytes(n as u64);
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => Err(self.keep(err)),
        }
    }
}

impl ItemReader<'_, '_> {
    /// Keeps the failure for the restore and hands the sync client a copy.
    fn keep(&mut self, err: io::Error) -> io::Error {
        let copy = io::Error::new(err.kind(), err.to_string());
        self.local_error = Some(err);
        copy
    }
}

/// Progress for the sink: counts, and reports at most every
/// [`crate::restore::event::PROGRESS_EVERY`].
struct Reporter<'a> {
    sink: &'a Sink,
    progress: Progress,
    last: Option<Instant>,
}

impl<'a> Reporter<'a> {
    fn new(sink: &'a Sink, plan: &FilePlan) -> Reporter<'a> {
        Reporter {
            sink,
            progress: Progress {
                bytes_total: Some(plan.bytes_total()),
                files_total: Some(plan.file_count()),
                ..Progress::default()
            },
            last: None,
        }
    }

    fn add_bytes(&mut self, n: u64) {
        self.progress.bytes_done = self.progress.bytes_done.saturating_add(n);
        self.emit_if_due();
    }

    fn remove_bytes(&mut self, n: u64) {
        self.progress.bytes_done = self.progress.bytes_done.saturating_sub(n);
    }

    fn file_done(&mut self) {
        self.progress.files_done += 1;
        self.emit_if_due();
    }

    fn set_current(&mut self, current: Option<&str>) {
        self.progress.current = current.map(str::to_string);
    }

    fn emit_if_due(&mut self) {
        self.sink
            .paced_progress(&self.progress, &mut self.last, false);
    }

    fn emit(&mut self) {
        self.sink
            .paced_progress(&self.progress, &mut self.last, true);
    }
}

/// The folder of a phone path ("/sdcard/DCIM" for "/sdcard/DCIM/a.jpg"; "/" at the top).
fn parent_of(phone_path: &str) -> &str {
    match phone_path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &phone_path[..at],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_of_a_phone_path() {
        assert_eq!(parent_of("/sdcard/DCIM/a.jpg"), "/sdcard/DCIM");
        assert_eq!(parent_of("/a.txt"), "/");
        assert_eq!(parent_of("a.txt"), "/");
    }

    fn item(size: u64, mtime: u32) -> PlanItem {
        PlanItem {
            local: "unused".into(),
            phone_path: "/sdcard/a".into(),
            size,
            mode: 0o100_644,
            mtime,
        }
    }

    #[test]
    fn a_file_is_there_when_size_and_mtime_match() {
        let there = FileStat {
            mode: 0o100_660,
            size: 10,
            mtime: 1_700_000_000,
        };
        assert!(already_there(&item(10, 1_700_000_000), &there));
        assert!(!already_there(&item(11, 1_700_000_000), &there));
        assert!(!already_there(&item(10, 1_700_000_001), &there));
        let folder = FileStat {
            mode: 0o040_770,
            ..there
        };
        assert!(!already_there(&item(10, 1_700_000_000), &folder));
        assert!(!already_there(&item(0, 0), &FileStat::default()));
        // v1 STAT carries the size modulo 4 GiB.
        let big = FileStat { size: 5, ..there };
        assert!(already_there(&item((1 << 32) + 5, 1_700_000_000), &big));
    }

    #[test]
    fn the_phones_reason_loses_the_path() {
        assert_eq!(
            phone_reason("/sdcard/a: couldn't create file: Is a directory"),
            "couldn't create file: Is a directory"
        );
        assert_eq!(phone_reason("no colon"), "no colon");
    }

    #[test]
    fn reading_stops_at_the_planned_size_and_a_short_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world").unwrap();
        let sink = Sink::discard();
        let plan = FilePlan {
            source: dir.path().into(),
            items: Vec::new(),
            left_out: Vec::new(),
            media_rescan: false,
        };
        let mut report = Reporter::new(&sink, &plan);
        let mut reader = ItemReader {
            file: File::open(&path).unwrap(),
            left: 5,
            read: 0,
            local_error: None,
            report: &mut report,
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(reader.read, 5);
        let mut short = ItemReader {
            file: File::open(&path).unwrap(),
            left: 20,
            read: 0,
            local_error: None,
            report: &mut report,
        };
        let err = short.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(short.local_error.is_some());
        assert_eq!(report.progress.bytes_done, 16);
    }
}
