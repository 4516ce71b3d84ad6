//! adb's file sync protocol (service `sync:`), host side: STAT, SEND, RECV and QUIT, v1.
//!
//! Every message is `{4-byte id, u32 little-endian value}`; a request's value is the length
//! of the path that follows. SEND's path is `"<path>,<mode>"` and is followed by DATA chunks
//! of at most 64 KiB and a DONE carrying the mtime; the phone then answers OKAY or FAIL
//! with its reason. RECV is answered by DATA chunks up to a DONE, or by FAIL.
//!
//! Our own client rather than adb_client's: adb_client pushes every file as mode 0777 with
//! the current time as mtime (and an 8-byte DONE that breaks the framing for whatever
//! follows), has no deadline on its reads and no cancel path, and cannot keep one sync
//! connection open for many files, which pipelined restores need.
//!
//! Every length the phone sends is checked before anything is allocated for it. After a
//! FAIL the phone ends the service, and after a transport or framing error nobody knows
//! where in the stream the two sides are: in both cases the client refuses further
//! requests instead of misreading the stream.
//!
//! Many small files cost a round trip each when every answer is awaited before the next
//! request, so STAT and SEND can also be pipelined ([`SyncClient::stat_many`],
//! [`SyncClient::send_pipelined`]): requests go out back to back and the answers, which
//! the phone gives in order, are read behind them, as adb's own client does for folders.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::shell;
use crate::device::android::smart_socket::SmartSocket;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};

/// The largest DATA payload either side may send (adb's `SYNC_DATA_MAX`).
pub const SYNC_DATA_MAX: usize = 64 * 1024;
/// The longest path a request may carry; adbd refuses longer ones and hangs up.
pub const MAX_PATH: usize = 1024;
/// The longest FAIL message accepted. adbd's messages are an errno text and perhaps a path
/// (well under 2 KiB); adb's own client reads them into a 64 KiB buffer.
const MAX_FAIL_MESSAGE: usize = SYNC_DATA_MAX;
/// The most one write of a SEND carries: four DATA chunks with their headers.
const SEND_BATCH: usize = 4 * (SYNC_DATA_MAX + 8);
/// How much of the stream one read may take in: several DATA chunks at once.
const READ_BUFFER: usize = 256 * 1024;
/// How many of the stream's timeouts the answer to a finished SEND may take. The bytes
/// still queued between here and the phone (socket buffers, the adb server) drain at the
/// link's speed before the phone can answer, which on a slow link is longer than one
/// ordinary silence.
const SEND_REPLY_TIMEOUTS: u32 = 6;
/// How many STAT requests [`SyncClient::stat_many`] sends before reading their answers:
/// enough to hide the round trip, few enough that the answers (16 bytes each) never fill
/// a buffer on the way back while the requests are still being written.
const STAT_WINDOW: usize = 128;

/// The mode adb gives a pushed file when it is told nothing: a regular file, rw-r--r--.
pub const DEFAULT_FILE_MODE: u32 = 0o100_644;

const fn id(tag: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*tag)
}

const ID_STAT: u32 = id(b"STAT");
const ID_SEND: u32 = id(b"SEND");
const ID_RECV: u32 = id(b"RECV");
const ID_DATA: u32 = id(b"DATA");
const ID_DONE: u32 = id(b"DONE");
const ID_OKAY: u32 = id(b"OKAY");
const ID_FAIL: u32 = id(b"FAIL");
const ID_QUIT: u32 = id(b"QUIT");

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// What STAT (v1, `lstat` on the phone) says about a path. The phone reports a path that
/// does not exist (or that it may not look at) as all zeros.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    /// File type and permission bits, as in `struct stat`.
    pub mode: u32,
    /// Size in bytes; v1 carries 32 bits, so larger files show their size modulo 4 GiB.
    pub size: u32,
    /// Last modification, seconds since 1970.
    pub mtime: u32,
}

impl FileStat {
    pub fn exists(&self) -> bool {
        self.mode != 0
    }

    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// The permission bits alone (rwx for owner, group and others, and the special bits).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// The byte stream a sync client speaks over: a phone's `sync:` service through the adb
/// server in Plugback, a scripted buffer in tests.
pub trait SyncStream {
    /// Reads what is there, waiting at most the stream's timeout: Ok(0) at its end.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError>;
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError>;
    fn is_cancelled(&self) -> bool;
    /// Who is on the other end, for error messages.
    fn peer(&self) -> &str;
}

impl SyncStream for SmartSocket {
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        SmartSocket::read_some(self, buf)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
        SmartSocket::write_all(self, bytes).map_err(|err| match err {
            // The socket's write timeout: the phone stopped taking bytes.
            DeviceError::Io(e)
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                DeviceError::Timeout {
                    what: self.peer().to_string(),
                    after: self.timeout(),
                }
            }
            other => other,
        })
    }

    fn is_cancelled(&self) -> bool {
        self.cancel_token().is_cancelled()
    }

    fn peer(&self) -> &str {
        SmartSocket::peer(self)
    }
}

/// Whether the connection can take another request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Ready,
    /// Writing a pipelined SEND failed: no new request may go out, but the answers the
    /// phone gave before it stopped can still be read (they say which files arrived and
    /// why it stopped). Holds why.
    Draining(String),
    /// Why it cannot: the phone ended the service, or the stream's position is unknown.
    Unusable(String),
}

/// Why writing a SEND stopped: the file being sent could not be read on this computer,
/// or the stream to the phone failed.
enum SendWriteError {
    Local(std::io::Error),
    Stream(DeviceError),
}

/// One `sync:` connection to a phone. Requests run one at a time; the connection serves
/// any number of them until an error makes it unusable.
pub struct SyncClient<S: SyncStream = SmartSocket> {
    stream: S,
    inbox: Box<[u8]>,
    start: usize,
    end: usize,
    state: State,
    /// The paths of pipelined SENDs whose answers are still to be read, oldest first.
    awaiting: VecDeque<String>,
    /// Reused for the messages of a SEND, so a small file leaves in one write.
    outbox: Vec<u8>,
}

impl SyncClient<SmartSocket> {
    /// Opens `sync:` on the phone `serial` through the adb server. Every read then waits
    /// at most the server's timeout and looks at `cancel` while it waits.
    pub fn open(
        server: &AdbServer,
        serial: &str,
        cancel: &CancelToken,
    ) -> Result<SyncClient<SmartSocket>, DeviceError> {
        let socket = shell::open_service(server, serial, "sync:", cancel)?;
        Ok(SyncClient::new(socket))
    }
}

impl<S: SyncStream> SyncClient<S> {
    /// A client on a stream where `sync:` has already been accepted.
    pub fn new(stream: S) -> SyncClient<S> {
        SyncClient {
            stream,
            inbox: vec![0u8; READ_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            state: State::Ready,
            awaiting: VecDeque::new(),
            outbox: Vec::new(),
        }
    }

    /// True while the connection can take another request (while pipelined answers are
    /// awaited, only another pipelined SEND).
    pub fn is_usable(&self) -> bool {
        self.state == State::Ready
    }

    /// How many pipelined SENDs still wait for their answer to be read.
    pub fn awaiting_answers(&self) -> usize {
        self.awaiting.len()
    }

    /// STAT: the mode, size and mtime of `path` (not following a final symbolic link).
    /// A path that does not exist gives mode 0, not an error.
    pub fn stat(&mut self, path: &str) -> Result<FileStat, DeviceError> {
        self.ready()?;
        check_path(path, path.len())?;
        self.guard(|client| {
            client.write_request(ID_STAT, path.as_bytes())?;
            client.read_stat_reply()
        })
    }

    /// STAT of every path in `paths`, in order, pipelined: a window of requests goes out
    /// at once and their answers are read behind it, so a long list costs a few round
    /// trips instead of one per path.
    pub fn stat_many<P: AsRef<str>>(&mut self, paths: &[P]) -> Result<Vec<FileStat>, DeviceError> {
        self.ready()?;
        for path in paths {
            check_path(path.as_ref(), path.as_ref().len())?;
        }
        self.guard(|client| {
            let mut found = Vec::with_capacity(paths.len());
            let mut requests = Vec::new();
            for window in paths.chunks(STAT_WINDOW) {
                client.check_cancel()?;
                requests.clear();
                for path in window {
                    let path = path.as_ref().as_bytes();
                    requests.extend_from_slice(&header(ID_STAT, path.len() as u32));
                    requests.extend_from_slice(path);
                }
                client.stream.write_all(&requests)?;
                for _ in window {
                    found.push(client.read_stat_reply()?);
                }
            }
            Ok(found)
        })
    }

    fn read_stat_reply(&mut self) -> Result<FileStat, DeviceError> {
        let mut reply = [0u8; 16];
        self.read_exact(&mut reply)?;
        let field = |at: usize| {
            u32::from_le_bytes([reply[at], reply[at + 1], reply[at + 2], reply[at + 3]])
        };
        if field(0) != ID_STAT {
            return Err(self.protocol(format!("STAT answered {}", id_name(field(0)))));
        }
        Ok(FileStat {
            mode: field(4),
            size: field(8),
            mtime: field(12),
        })
    }

    /// SEND: writes everything `data` yields to `path` on the phone with `mode` (type and
    /// permission bits, e.g. [`DEFAULT_FILE_MODE`]) and `mtime` (seconds since 1970),
    /// replacing any file there. Returns the number of bytes sent once the phone has
    /// stored them. The phone's FAIL is [`DeviceError::Refused`] with its reason.
    pub fn send(
        &mut self,
        path: &str,
        mode: u32,
        mtime: u32,
        data: &mut dyn Read,
    ) -> Result<u64, DeviceError> {
        self.ready()?;
        let spec = format!("{path},{mode}");
        check_path(path, spec.len())?;
        self.guard(|client| client.send_file(path, &spec, mtime, data))
    }

    /// SEND without waiting for the phone's answer, so the next file can follow at once:
    /// the phone stores each file while the next one is on its way. Returns the number of
    /// bytes written. Answers come back in order and are read with
    /// [`SyncClient::read_send_answer`]; until all are read, only further pipelined SENDs
    /// are accepted.
    ///
    /// When the stream fails mid-file, the file stays queued: a phone that refuses a file
    /// answers FAIL and hangs up, which breaks a later write, so reading the queued
    /// answers tells which files arrived and why the phone stopped. When `data` itself
    /// fails (`DeviceError::Io`), the file leaves the queue, as the phone never got all of
    /// it; earlier answers can still be read. Either way no new request may follow.
    pub fn send_pipelined(
        &mut self,
        path: &str,
        mode: u32,
        mtime: u32,
        data: &mut dyn Read,
    ) -> Result<u64, DeviceError> {
        self.usable()?;
        let spec = format!("{path},{mode}");
        check_path(path, spec.len())?;
        self.awaiting.push_back(path.to_string());
        match self.write_send(&spec, mtime, data) {
            Ok(sent) => Ok(sent),
            Err(SendWriteError::Local(e)) => {
                self.awaiting.pop_back();
                self.state = State::Draining(format!("the file for {path} could not be read: {e}"));
                Err(DeviceError::Io(e))
            }
            Err(SendWriteError::Stream(err @ DeviceError::Io(_))) => {
                self.state = State::Draining(format!("sending {path} failed: {err}"));
                Err(err)
            }
            Err(SendWriteError::Stream(err)) => {
                // A timeout or a cancel: waiting longer for answers would only delay.
                self.awaiting.clear();
                self.state = State::Unusable(format!("sending {path} failed: {err}"));
                Err(err)
            }
        }
    }

    /// Reads the answer to the oldest pipelined SEND: its path once the phone has stored
    /// it. The phone's FAIL is [`DeviceError::Refused`] with its reason; then (as after any
    /// error) the later files got no answer and the connection is done.
    pub fn read_send_answer(&mut self) -> Result<String, DeviceError> {
        if let State::Unusable(_) = self.state {
            return self.usable().map(|()| String::new());
        }
        let Some(path) = self.awaiting.front().cloned() else {
            return Err(self.protocol("no SEND is waiting for its answer".into()));
        };
        // As patient as for a single SEND: bytes of earlier files may still be draining
        // towards the phone. (A phone that hung up ends the wait at once.)
        match self.read_send_reply(&path, SEND_REPLY_TIMEOUTS) {
            Ok(()) => {
                self.awaiting.pop_front();
                Ok(path)
            }
            Err(err) => {
                self.awaiting.clear();
                if !matches!(self.state, State::Unusable(_)) {
                    self.state = State::Unusable(format!("an earlier request failed: {err}"));
                }
                Err(err)
            }
        }
    }

    /// SEND of bytes already in memory.
    pub fn send_bytes(
        &mut self,
        path: &str,
        mode: u32,
        mtime: u32,
        mut bytes: &[u8],
    ) -> Result<(), DeviceError> {
        self.send(path, mode, mtime, &mut bytes).map(|_| ())
    }

    /// RECV: copies the file at `path` on the phone into `out`; returns its length. The
    /// phone's FAIL (no such file, no permission) is [`DeviceError::Refused`]. When `out`
    /// fails, the rest of the file is still read (and dropped) so the connection stays
    /// usable, and the error is `DeviceError::Io`.
    pub fn recv(&mut self, path: &str, out: &mut dyn Write) -> Result<u64, DeviceError> {
        self.ready()?;
        check_path(path, path.len())?;
        let mut local_failure = None;
        let received = self.guard(|client| client.recv_file(path, out, &mut local_failure))?;
        match local_failure {
            Some(e) => Err(DeviceError::Io(e)),
            None => Ok(received),
        }
    }

    /// QUIT: ends the service; the phone closes the connection.
    pub fn quit(&mut self) -> Result<(), DeviceError> {
        self.ready()?;
        self.state = State::Unusable("it was ended with QUIT".into());
        self.stream.write_all(&header(ID_QUIT, 0))
    }

    fn send_file(
        &mut self,
        path: &str,
        spec: &str,
        mtime: u32,
        data: &mut dyn Read,
    ) -> Result<u64, DeviceError> {
        let sent = match self.write_send(spec, mtime, data) {
            Ok(sent) => sent,
            Err(SendWriteError::Local(e)) => return Err(DeviceError::Io(e)),
            Err(SendWriteError::Stream(err)) => return Err(self.reason_for_broken_send(path, err)),
        };
        self.read_send_reply(path, SEND_REPLY_TIMEOUTS)?;
        Ok(sent)
    }

    /// Writes a whole SEND: the request, the file as DATA chunks, and DONE with `mtime`.
    /// The file is read straight into the outgoing buffer behind each chunk's header, and
    /// messages leave in writes of up to [`SEND_BATCH`]: a small file goes out in a single
    /// write, and a large one wakes the adb server a quarter as often as chunk by chunk.
    fn write_send(
        &mut self,
        spec: &str,
        mtime: u32,
        data: &mut dyn Read,
    ) -> Result<u64, SendWriteError> {
        self.check_cancel().map_err(SendWriteError::Stream)?;
        let mut out = std::mem::take(&mut self.outbox);
        out.clear();
        out.extend_from_slice(&header(ID_SEND, spec.len() as u32));
        out.extend_from_slice(spec.as_bytes());
        let mut sent: u64 = 0;
        loop {
            self.check_cancel().map_err(SendWriteError::Stream)?;
            let start = out.len();
            out.resize(start + 8 + SYNC_DATA_MAX, 0);
            let n = fill(data, &mut out[start + 8..]).map_err(SendWriteError::Local)?;
            out.truncate(start + 8 + n);
            if n == 0 {
                out.truncate(start);
                break;
            }
            out[start..start + 8].copy_from_slice(&header(ID_DATA, n as u32));
            sent += n as u64;
            if out.len() + 8 + SYNC_DATA_MAX > SEND_BATCH {
                self.stream
                    .write_all(&out)
                    .map_err(SendWriteError::Stream)?;
                out.clear();
            }
        }
        out.extend_from_slice(&header(ID_DONE, mtime));
        self.stream
            .write_all(&out)
            .map_err(SendWriteError::Stream)?;
        self.outbox = out;
        Ok(sent)
    }

    /// The answer to a finished SEND, waited for up to `patience` of the stream's
    /// timeouts.
    fn read_send_reply(&mut self, path: &str, patience: u32) -> Result<(), DeviceError> {
        // Only the wait for the first byte is patient: once the answer has started, the
        // rest follows at once or not at all.
        let mut waited = 1;
        while let Err(err) = self.buffer_more_if_empty() {
            match err {
                DeviceError::Timeout { .. } if waited < patience => waited += 1,
                other => return Err(other),
            }
        }
        let (id, value) = self.read_header()?;
        match id {
            ID_OKAY => Ok(()),
            ID_FAIL => Err(self.read_fail(path, value)),
            other => Err(self.protocol(format!("SEND {path:?} answered {}", id_name(other)))),
        }
    }

    /// A write during SEND failed. The phone may have refused the file and hung up, in
    /// which case its FAIL is waiting to be read and says more than "broken pipe".
    fn reason_for_broken_send(&mut self, path: &str, err: DeviceError) -> DeviceError {
        if !matches!(err, DeviceError::Io(_)) {
            return err;
        }
        match self.read_header() {
            Ok((ID_FAIL, len)) => self.read_fail(path, len),
            _ => err,
        }
    }

    /// Reads the file up to DONE. A failure of `out` is kept in `local_failure` and the
    /// rest of the file is still read, so the connection stays in step.
    fn recv_file(
        &mut self,
        path: &str,
        out: &mut dyn Write,
        local_failure: &mut Option<std::io::Error>,
    ) -> Result<u64, DeviceError> {
        self.write_request(ID_RECV, path.as_bytes())?;
        let mut chunk = vec![0u8; SYNC_DATA_MAX];
        let mut received: u64 = 0;
        loop {
            self.check_cancel()?;
            let (id, value) = self.read_header()?;
            match id {
                ID_DATA => {
                    let len = value as usize;
                    if len > SYNC_DATA_MAX {
                        return Err(self.protocol(format!(
                            "RECV {path:?}: a DATA chunk of {len} bytes (at most {SYNC_DATA_MAX} are allowed)"
                        )));
                    }
                    self.read_exact(&mut chunk[..len])?;
                    if local_failure.is_none() {
                        match out.write_all(&chunk[..len]) {
                            Ok(()) => received += len as u64,
                            Err(e) => *local_failure = Some(e),
                        }
                    }
                }
                ID_DONE => return Ok(received),
                ID_FAIL => return Err(self.read_fail(path, value)),
                other => {
                    return Err(self.protocol(format!("RECV {path:?} answered {}", id_name(other))));
                }
            }
        }
    }

    /// Reads the `len`-byte message of a FAIL; the phone has ended the service.
    fn read_fail(&mut self, path: &str, len: u32) -> DeviceError {
        let len = len as usize;
        if len > MAX_FAIL_MESSAGE {
            return self.protocol(format!(
                "a FAIL message of {len} bytes (at most {MAX_FAIL_MESSAGE} are accepted)"
            ));
        }
        let mut message = vec![0u8; len];
        if let Err(err) = self.read_exact(&mut message) {
            return err;
        }
        let message = String::from_utf8_lossy(&message);
        self.state = State::Unusable(format!("the phone ended the sync service: {message}"));
        DeviceError::Refused {
            detail: format!("{path}: {message}"),
        }
    }

    /// Runs one request; any error it ends in leaves the connection unusable, as the two
    /// sides may no longer agree on where in the stream they are.
    fn guard<T>(
        &mut self,
        request: impl FnOnce(&mut Self) -> Result<T, DeviceError>,
    ) -> Result<T, DeviceError> {
        let result = request(self);
        if let Err(err) = &result
            && self.state == State::Ready
        {
            self.state = State::Unusable(format!("an earlier request failed: {err}"));
        }
        result
    }

    /// Whether a new request of any kind may go out.
    fn ready(&self) -> Result<(), DeviceError> {
        self.usable()?;
        if !self.awaiting.is_empty() {
            // Their answers come first in the stream: another reply would be misread.
            return Err(self.protocol(format!(
                "{} pipelined SEND answers must be read before another request",
                self.awaiting.len()
            )));
        }
        Ok(())
    }

    /// Whether the connection can still carry requests (pipelined SENDs included).
    fn usable(&self) -> Result<(), DeviceError> {
        match &self.state {
            State::Ready => Ok(()),
            State::Draining(why) | State::Unusable(why) => Err(DeviceError::Protocol {
                peer: self.stream.peer().to_string(),
                detail: format!("this sync connection cannot be used any more ({why})"),
            }),
        }
    }

    fn write_request(&mut self, id: u32, path: &[u8]) -> Result<(), DeviceError> {
        self.check_cancel()?;
        let mut request = Vec::with_capacity(8 + path.len());
        request.extend_from_slice(&header(id, path.len() as u32));
        request.extend_from_slice(path);
        self.stream.write_all(&request)
    }

    fn read_header(&mut self) -> Result<(u32, u32), DeviceError> {
        let mut bytes = [0u8; 8];
        self.read_exact(&mut bytes)?;
        Ok((
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        ))
    }

    /// Fills `out` from the buffered stream.
    fn read_exact(&mut self, out: &mut [u8]) -> Result<(), DeviceError> {
        let mut filled = 0;
        while filled < out.len() {
            self.buffer_more_if_empty()?;
            let take = (self.end - self.start).min(out.len() - filled);
            out[filled..filled + take].copy_from_slice(&self.inbox[self.start..self.start + take]);
            self.start += take;
            filled += take;
        }
        Ok(())
    }

    /// When nothing is buffered, waits (the stream's timeout at most) for more. Nothing
    /// buffered is consumed, so a timeout here loses no bytes.
    fn buffer_more_if_empty(&mut self) -> Result<(), DeviceError> {
        if self.start < self.end {
            return Ok(());
        }
        self.check_cancel()?;
        let n = self.stream.read_some(&mut self.inbox)?;
        if n == 0 {
            return Err(DeviceError::Io(std::io::Error::new(
                ErrorKind::ConnectionAborted,
                format!(
                    "{} closed the sync connection in the middle of a reply (was the phone unplugged?)",
                    self.stream.peer()
                ),
            )));
        }
        self.start = 0;
        self.end = n;
        Ok(())
    }

    fn check_cancel(&self) -> Result<(), DeviceError> {
        if self.stream.is_cancelled() {
            return Err(DeviceError::Cancelled);
        }
        Ok(())
    }

    fn protocol(&self, detail: String) -> DeviceError {
        DeviceError::Protocol {
            peer: self.stream.peer().to_string(),
            detail,
        }
    }
}

/// A message header: the id and its value, both little-endian.
fn header(id: u32, value: u32) -> [u8; 8] {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&id.to_le_bytes());
    bytes[4..].copy_from_slice(&value.to_le_bytes());
    bytes
}

/// An id as text for messages: "OKAY", or hex when it is not printable.
fn id_name(id: u32) -> String {
    let bytes = id.to_le_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        format!("{:?}", String::from_utf8_lossy(&bytes))
    } else {
        format!("0x{id:08x}")
    }
}

/// Refuses, before anything is sent, a path the phone would refuse by hanging up:
/// `wire_len` is the length of what the request carries.
fn check_path(path: &str, wire_len: usize) -> Result<(), DeviceError> {
    if wire_len > MAX_PATH {
        return Err(DeviceError::Refused {
            detail: format!(
                "{path}: too long for adb ({wire_len} bytes; at most {MAX_PATH} are allowed)"
            ),
        });
    }
    Ok(())
}

/// Reads until `buf` is full or `data` ends; the number of bytes read.
fn fill(data: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::time::Duration;

    /// A scripted phone: replies are handed out at most `slice` bytes per read, so every
    /// reply straddles reads; what the client writes is kept.
    struct FakeStream {
        replies: VecDeque<u8>,
        slice: usize,
        written: Vec<u8>,
        cancel: CancelToken,
        /// Writes fail once this many bytes have been written.
        broken_after: Option<usize>,
    }

    impl SyncStream for FakeStream {
        fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError> {
            if self.replies.is_empty() {
                // A quiet phone: what the real stream reports after its timeout.
                return Err(DeviceError::Timeout {
                    what: "the fake phone".into(),
                    after: Duration::from_secs(1),
                });
            }
            let n = buf.len().min(self.slice).min(self.replies.len());
            for (slot, byte) in buf.iter_mut().zip(self.replies.drain(..n)) {
                *slot = byte;
            }
            Ok(n)
        }

        fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
            if let Some(limit) = self.broken_after
                && self.written.len() + bytes.len() > limit
            {
                return Err(DeviceError::Io(std::io::Error::new(
                    ErrorKind::BrokenPipe,
                    "broken pipe",
                )));
            }
            self.written.extend_from_slice(bytes);
            Ok(())
        }

        fn is_cancelled(&self) -> bool {
            self.cancel.is_cancelled()
        }

        fn peer(&self) -> &str {
            "the fake phone"
        }
    }

    /// A stream whose replies end (the connection closes) after `replies`.
    struct ClosingStream(FakeStream);

    impl SyncStream for ClosingStream {
        fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError> {
            if self.0.replies.is_empty() {
                return Ok(0);
            }
            self.0.read_some(buf)
        }
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
            self.0.write_all(bytes)
        }
        fn is_cancelled(&self) -> bool {
            self.0.is_cancelled()
        }
        fn peer(&self) -> &str {
            self.0.peer()
        }
    }

    fn fake(replies: &[u8]) -> FakeStream {
        FakeStream {
            replies: replies.iter().copied().collect(),
            slice: 3,
            written: Vec::new(),
            cancel: CancelToken::new(),
            broken_after: None,
        }
    }

    fn client(replies: &[u8]) -> SyncClient<FakeStream> {
        SyncClient::new(fake(replies))
    }

    fn msg(tag: &[u8; 4], value: u32) -> Vec<u8> {
        header(id(tag), value).to_vec()
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn stat_reply(mode: u32, size: u32, mtime: u32) -> Vec<u8> {
        cat(&[
            b"STAT",
            &mode.to_le_bytes(),
            &size.to_le_bytes(),
            &mtime.to_le_bytes(),
        ])
    }

    fn assert_unusable<S: SyncStream>(client: &mut SyncClient<S>) {
        assert!(!client.is_usable());
        match client.stat("/sdcard") {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(detail.contains("cannot be used any more"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stat_sends_the_path_and_reads_mode_size_and_mtime() {
        let mut c = client(&cat(&[
            &stat_reply(0o100_644, 1234, 1_700_000_000),
            &stat_reply(0, 0, 0),
        ]));
        let found = c.stat("/sdcard/a.jpg").unwrap();
        assert_eq!(
            found,
            FileStat {
                mode: 0o100_644,
                size: 1234,
                mtime: 1_700_000_000
            }
        );
        assert!(found.exists() && found.is_file() && !found.is_dir());
        assert_eq!(found.permissions(), 0o644);
        let missing = c.stat("/nope").unwrap();
        assert!(!missing.exists());
        assert!(c.is_usable());
        assert_eq!(
            c.stream.written,
            cat(&[
                &msg(b"STAT", 13),
                b"/sdcard/a.jpg",
                &msg(b"STAT", 5),
                b"/nope"
            ])
        );
    }

    #[test]
    fn a_stat_answered_with_something_else_is_a_protocol_error() {
        let mut c = client(&cat(&[b"DENT", &[0u8; 12]]));
        match c.stat("/sdcard") {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(detail.contains("DENT"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn send_frames_the_mode_chunks_of_64_kib_and_the_mtime() {
        let data: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let mut c = client(&msg(b"OKAY", 0));
        let sent = c
            .send(
                "/sdcard/Download/x.bin",
                0o100_640,
                1_600_000_123,
                &mut &data[..],
            )
            .unwrap();
        assert_eq!(sent, 150_000);
        let spec = format!("/sdcard/Download/x.bin,{}", 0o100_640);
        let expected = cat(&[
            &msg(b"SEND", spec.len() as u32),
            spec.as_bytes(),
            &msg(b"DATA", 65_536),
            &data[..65_536],
            &msg(b"DATA", 65_536),
            &data[65_536..131_072],
            &msg(b"DATA", 150_000 - 131_072),
            &data[131_072..],
            &msg(b"DONE", 1_600_000_123),
        ]);
        assert!(c.stream.written == expected, "framing differs");
        assert!(c.is_usable());
    }

    #[test]
    fn an_empty_file_is_send_and_done() {
        let mut c = client(&msg(b"OKAY", 0));
        c.send_bytes("/data/local/tmp/e", 0o100_644, 7, &[])
            .unwrap();
        let spec = format!("/data/local/tmp/e,{}", 0o100_644);
        assert_eq!(
            c.stream.written,
            cat(&[
                &msg(b"SEND", spec.len() as u32),
                spec.as_bytes(),
                &msg(b"DONE", 7)
            ])
        );
    }

    #[test]
    fn send_refused_carries_the_phones_reason_and_ends_the_connection() {
        let reason = b"couldn't create file: Read-only file system";
        let mut c = client(&cat(&[&msg(b"FAIL", reason.len() as u32), reason]));
        match c.send_bytes("/system/x", 0o100_644, 0, b"abc") {
            Err(DeviceError::Refused { detail }) => {
                assert_eq!(
                    detail,
                    "/system/x: couldn't create file: Read-only file system"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_phone_that_hangs_up_during_send_is_heard_out() {
        // adbd refuses a bad request with FAIL and closes without reading the DATA.
        let reason = b"bad mode";
        let mut stream = fake(&cat(&[&msg(b"FAIL", reason.len() as u32), reason]));
        stream.broken_after = Some(100);
        let mut c = SyncClient::new(stream);
        match c.send_bytes("/sdcard/a", 0o100_644, 0, &[0u8; 1000]) {
            Err(DeviceError::Refused { detail }) => {
                assert!(detail.ends_with("bad mode"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        // Without a FAIL to read, the write error itself.
        let mut stream = fake(b"");
        stream.broken_after = Some(100);
        let mut c = SyncClient::new(ClosingStream(stream));
        match c.send_bytes("/sdcard/a", 0o100_644, 0, &[0u8; 1000]) {
            Err(DeviceError::Io(e)) => assert_eq!(e.kind(), ErrorKind::BrokenPipe),
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_fail_message_of_absurd_length_is_not_read() {
        let mut c = client(&cat(&[&msg(b"FAIL", 0xffff_fff0), b"short"]));
        match c.send_bytes("/sdcard/a", 0o100_644, 0, b"x") {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(
                    detail.contains("FAIL message of 4294967280 bytes"),
                    "{detail}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_send_answered_with_garbage_is_a_protocol_error() {
        let mut c = client(&msg(b"DATA", 4));
        assert!(matches!(
            c.send_bytes("/sdcard/a", 0o100_644, 0, b"x"),
            Err(DeviceError::Protocol { .. })
        ));
        assert_unusable(&mut c);
    }

    #[test]
    fn recv_collects_data_chunks_until_done() {
        let mut c = client(&cat(&[
            &msg(b"DATA", 5),
            b"hello",
            &msg(b"DATA", 0),
            &msg(b"DATA", 6),
            b" world",
            &msg(b"DONE", 0),
            &stat_reply(0o040_771, 4096, 1),
        ]));
        let mut out = Vec::new();
        assert_eq!(c.recv("/sdcard/hello.txt", &mut out).unwrap(), 11);
        assert_eq!(out, b"hello world");
        assert_eq!(
            c.stream.written,
            cat(&[&msg(b"RECV", 17), b"/sdcard/hello.txt"])
        );
        // The connection serves the next request.
        assert!(c.stat("/sdcard").unwrap().is_dir());
    }

    #[test]
    fn recv_refused_carries_the_phones_reason() {
        let reason = b"open failed: No such file or directory";
        let mut c = client(&cat(&[&msg(b"FAIL", reason.len() as u32), reason]));
        match c.recv("/sdcard/missing", &mut Vec::new()) {
            Err(DeviceError::Refused { detail }) => {
                assert_eq!(
                    detail,
                    "/sdcard/missing: open failed: No such file or directory"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_data_chunk_over_64_kib_is_refused_before_reading_it() {
        let mut c = client(&cat(&[&msg(b"DATA", 65_537), &[0u8; 16]]));
        let mut out = Vec::new();
        match c.recv("/sdcard/big", &mut out) {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(detail.contains("65537"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert!(out.is_empty());
        assert_unusable(&mut c);
        // Nor does an absurd length allocate anything.
        let mut c = client(&msg(b"DATA", u32::MAX));
        assert!(matches!(
            c.recv("/sdcard/big", &mut Vec::new()),
            Err(DeviceError::Protocol { .. })
        ));
    }

    #[test]
    fn recv_answered_with_an_unknown_id_is_a_protocol_error() {
        let mut c = client(&cat(&[
            &msg(b"DATA", 2),
            b"ok",
            &[0xff, 0, 0x10, 1, 0, 0, 0, 0],
        ]));
        match c.recv("/sdcard/a", &mut Vec::new()) {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(detail.contains("0x011000ff"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_reply_cut_short_by_the_phone_leaving_is_an_io_error() {
        let mut c = SyncClient::new(ClosingStream(fake(&cat(&[&msg(b"DATA", 10), b"only"]))));
        match c.recv("/sdcard/a", &mut Vec::new()) {
            Err(DeviceError::Io(e)) => {
                assert_eq!(e.kind(), ErrorKind::ConnectionAborted);
                assert!(e.to_string().contains("unplugged"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_unusable(&mut c);
    }

    #[test]
    fn a_quiet_phone_times_out() {
        let mut c = client(&stat_reply(1, 2, 3)[..10]);
        assert!(matches!(
            c.stat("/sdcard"),
            Err(DeviceError::Timeout { .. })
        ));
        assert_unusable(&mut c);
    }

    #[test]
    fn the_answer_to_a_send_may_take_several_timeouts() {
        /// Silent for `quiet` reads, then the scripted replies.
        struct SlowToAnswer(FakeStream, u32);
        impl SyncStream for SlowToAnswer {
            fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, DeviceError> {
                if self.1 > 0 {
                    self.1 -= 1;
                    return Err(DeviceError::Timeout {
                        what: "the fake phone".into(),
                        after: Duration::from_secs(1),
                    });
                }
                self.0.read_some(buf)
            }
            fn write_all(&mut self, bytes: &[u8]) -> Result<(), DeviceError> {
                self.0.write_all(bytes)
            }
            fn is_cancelled(&self) -> bool {
                false
            }
            fn peer(&self) -> &str {
                "the fake phone"
            }
        }
        let mut c = SyncClient::new(SlowToAnswer(
            fake(&msg(b"OKAY", 0)),
            SEND_REPLY_TIMEOUTS - 1,
        ));
        c.send_bytes("/sdcard/a", 0o100_644, 0, b"x").unwrap();
        let mut c = SyncClient::new(SlowToAnswer(fake(&msg(b"OKAY", 0)), SEND_REPLY_TIMEOUTS));
        assert!(matches!(
            c.send_bytes("/sdcard/a", 0o100_644, 0, b"x"),
            Err(DeviceError::Timeout { .. })
        ));
    }

    #[test]
    fn a_failing_destination_still_reads_the_file_to_its_end() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut c = client(&cat(&[
            &msg(b"DATA", 3),
            b"abc",
            &msg(b"DATA", 3),
            b"def",
            &msg(b"DONE", 0),
            &stat_reply(0o100_600, 6, 9),
        ]));
        match c.recv("/sdcard/a", &mut Full) {
            Err(DeviceError::Io(e)) => assert_eq!(e.kind(), ErrorKind::StorageFull),
            other => panic!("{other:?}"),
        }
        assert!(c.is_usable());
        assert_eq!(c.stat("/sdcard/a").unwrap().size, 6);
    }

    #[test]
    fn cancelling_stops_a_transfer_and_the_connection() {
        let stream = fake(&msg(b"OKAY", 0));
        stream.cancel.cancel();
        let mut c = SyncClient::new(stream);
        assert!(matches!(
            c.send_bytes("/sdcard/a", 0o100_644, 0, &[1u8; 10]),
            Err(DeviceError::Cancelled)
        ));
        assert!(c.stream.written.is_empty());
        assert!(!c.is_usable());
    }

    #[test]
    fn over_long_paths_are_refused_without_a_word_to_the_phone() {
        let long = format!("/sdcard/{}", "a".repeat(MAX_PATH));
        let mut c = client(b"");
        assert!(matches!(c.stat(&long), Err(DeviceError::Refused { .. })));
        assert!(matches!(
            c.recv(&long, &mut Vec::new()),
            Err(DeviceError::Refused { .. })
        ));
        // SEND's limit counts ",<mode>" too.
        let almost = format!("/{}", "a".repeat(MAX_PATH - 1));
        assert!(matches!(
            c.send_bytes(&almost, 0o100_644, 0, b""),
            Err(DeviceError::Refused { .. })
        ));
        assert!(c.stream.written.is_empty());
        assert!(c.is_usable());
    }

    #[test]
    fn quit_says_quit_and_ends_the_connection() {
        let mut c = client(b"");
        c.quit().unwrap();
        assert_eq!(c.stream.written, b"QUIT\0\0\0\0");
        assert_unusable(&mut c);
    }

    fn send_framing(path: &str, mode: u32, mtime: u32, data: &[u8]) -> Vec<u8> {
        let spec = format!("{path},{mode}");
        let mut out = cat(&[&msg(b"SEND", spec.len() as u32), spec.as_bytes()]);
        for chunk in data.chunks(SYNC_DATA_MAX) {
            out.extend_from_slice(&msg(b"DATA", chunk.len() as u32));
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&msg(b"DONE", mtime));
        out
    }

    #[test]
    fn pipelined_sends_are_framed_as_single_ones_and_answered_in_order() {
        let mut c = client(&cat(&[
            &msg(b"OKAY", 0),
            &msg(b"OKAY", 0),
            &stat_reply(0o100_644, 3, 7),
        ]));
        c.send_pipelined("/sdcard/a", 0o100_644, 7, &mut &b"abc"[..])
            .unwrap();
        c.send_pipelined("/sdcard/b", 0o100_600, 8, &mut &b""[..])
            .unwrap();
        assert_eq!(
            c.stream.written,
            cat(&[
                &send_framing("/sdcard/a", 0o100_644, 7, b"abc"),
                &send_framing("/sdcard/b", 0o100_600, 8, b""),
            ])
        );
        assert_eq!(c.awaiting_answers(), 2);
        // Another kind of request would read a SEND's answer as its own.
        match c.stat("/sdcard/a") {
            Err(DeviceError::Protocol { detail, .. }) => {
                assert!(detail.contains("must be read"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.read_send_answer().unwrap(), "/sdcard/a");
        assert_eq!(c.read_send_answer().unwrap(), "/sdcard/b");
        assert_eq!(c.awaiting_answers(), 0);
        assert!(matches!(
            c.read_send_answer(),
            Err(DeviceError::Protocol { .. })
        ));
        assert_eq!(c.stat("/sdcard/a").unwrap().size, 3);
    }

    #[test]
    fn a_refused_pipelined_file_is_named_and_the_rest_get_no_answer() {
        let reason = b"couldn't create file: No space left on device";
        let mut c = client(&cat(&[
            &msg(b"OKAY", 0),
            &msg(b"FAIL", reason.len() as u32),
            reason,
        ]));
        for path in ["/sdcard/a", "/sdcard/b", "/sdcard/c"] {
            c.send_pipelined(path, 0o100_644, 1, &mut &b"x"[..])
                .unwrap();
        }
        assert_eq!(c.read_send_answer().unwrap(), "/sdcard/a");
        match c.read_send_answer() {
            Err(DeviceError::Refused { detail }) => assert_eq!(
                detail,
                "/sdcard/b: couldn't create file: No space left on device"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.awaiting_answers(), 0);
        assert_unusable(&mut c);
        assert!(c.read_send_answer().is_err());
    }

    #[test]
    fn after_a_broken_pipelined_write_the_answers_given_are_still_read() {
        let reason = b"write failed: No space left on device";
        let mut stream = fake(&cat(&[
            &msg(b"OKAY", 0),
            &msg(b"FAIL", reason.len() as u32),
            reason,
        ]));
        let first = send_framing("/sdcard/a", 0o100_644, 1, b"xy").len();
        stream.broken_after = Some(2 * first + 10);
        let mut c = SyncClient::new(stream);
        c.send_pipelined("/sdcard/a", 0o100_644, 1, &mut &b"xy"[..])
            .unwrap();
        c.send_pipelined("/sdcard/b", 0o100_644, 1, &mut &b"xy"[..])
            .unwrap();
        match c.send_pipelined("/sdcard/c", 0o100_644, 1, &mut &[0u8; 100][..]) {
            Err(DeviceError::Io(e)) => assert_eq!(e.kind(), ErrorKind::BrokenPipe),
            other => panic!("{other:?}"),
        }
        assert!(!c.is_usable());
        assert_eq!(c.awaiting_answers(), 3);
        // No new request goes out, but what the phone said is heard.
        assert!(matches!(
            c.send_pipelined("/sdcard/d", 0o100_644, 1, &mut &b""[..]),
            Err(DeviceError::Protocol { .. })
        ));
        assert_eq!(c.read_send_answer().unwrap(), "/sdcard/a");
        match c.read_send_answer() {
            Err(DeviceError::Refused { detail }) => {
                assert!(detail.starts_with("/sdcard/b: "), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.awaiting_answers(), 0);
    }

    #[test]
    fn a_file_that_cannot_be_read_leaves_the_queue() {
        struct Unreadable;
        impl Read for Unreadable {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(ErrorKind::PermissionDenied, "denied"))
            }
        }
        let mut c = client(&msg(b"OKAY", 0));
        c.send_pipelined("/sdcard/a", 0o100_644, 1, &mut &b"x"[..])
            .unwrap();
        match c.send_pipelined("/sdcard/b", 0o100_644, 1, &mut Unreadable) {
            Err(DeviceError::Io(e)) => assert_eq!(e.kind(), ErrorKind::PermissionDenied),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.awaiting_answers(), 1);
        assert_eq!(c.read_send_answer().unwrap(), "/sdcard/a");
        assert!(!c.is_usable());
    }

    #[test]
    fn stat_many_keeps_the_order_across_windows() {
        let count = STAT_WINDOW + 3;
        let paths: Vec<String> = (0..count).map(|i| format!("/sdcard/f{i}")).collect();
        let replies: Vec<u8> = (0..count as u32)
            .flat_map(|i| stat_reply(0o100_644, i, 1_000 + i))
            .collect();
        let mut c = client(&replies);
        let found = c.stat_many(&paths).unwrap();
        assert_eq!(found.len(), count);
        for (i, stat) in found.iter().enumerate() {
            assert_eq!((stat.size, stat.mtime), (i as u32, 1_000 + i as u32));
        }
        let expected: Vec<u8> = paths
            .iter()
            .flat_map(|p| cat(&[&msg(b"STAT", p.len() as u32), p.as_bytes()]))
            .collect();
        assert_eq!(c.stream.written, expected);
        assert!(c.is_usable());
        // An over-long path refuses the whole list before a word goes to the phone.
        let long = format!("/sdcard/{}", "a".repeat(MAX_PATH));
        let mut c = client(b"");
        assert!(matches!(
            c.stat_many(&["/sdcard", long.as_str()]),
            Err(DeviceError::Refused { .. })
        ));
        assert!(c.stream.written.is_empty());
    }
}
