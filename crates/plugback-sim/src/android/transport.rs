//! One adb connection from a host: the handshake (CNXN, AUTH), the streams it opens and
//! their flow control.
//!
//! The connection's own thread reads messages and routes them; each stream runs its
//! service on a thread of its own and sees a plain byte stream ([`StreamIo`]): the
//! payloads of the host's WRTE messages in order, however the host cut them. Writes go out
//! as WRTE messages of at most the agreed payload size, one in flight per stream, as adb
//! requires.

use crate::android::auth::{self, HostKey};
use crate::android::faults::{FaultAction, StreamMeter};
use crate::android::sim::Device;
use crate::android::wire::{self, Packet, WireError};
use crate::android::{AuthMode, shell};
use crate::fault::Fault;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Once a message has started arriving, the rest must follow within this time.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a write to the host may block before the connection is given up.
const SOCKET_WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stream waits for the host's next WRTE or for the OKAY of its own WRTE.
const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// Protocol violations: the host may have at most this many unacknowledged WRTEs queued.
const MAX_QUEUED_WRITES: usize = 4;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the handshake stands.
struct Handshake {
    /// The agreed protocol version; the oldest one until the host's CNXN arrives.
    version: u32,
    /// The agreed largest payload.
    max_payload: u32,
    host_connected: bool,
    authorized: bool,
    cnxn_sent: bool,
    token: Option<[u8; auth::TOKEN_LEN]>,
    /// The key of an "Allow USB debugging?" prompt on screen.
    pending_key: Option<HostKey>,
}

/// What one stream has received and not yet handed to its service.
#[derive(Default)]
struct Inbox {
    chunks: VecDeque<Vec<u8>>,
    /// The host sent CLSE, or the connection is gone.
    closed: bool,
    /// Our last WRTE awaits the host's OKAY.
    awaiting_okay: bool,
}

struct StreamShared {
    local_id: u32,
    remote_id: u32,
    inbox: Mutex<Inbox>,
    changed: Condvar,
}

impl StreamShared {
    /// Waits (up to `deadline`) for the host to change the inbox; TimedOut, saying
    /// `waiting_for`, once the deadline has passed.
    fn wait_for_change<'a>(
        &self,
        inbox: MutexGuard<'a, Inbox>,
        deadline: Instant,
        waiting_for: &str,
    ) -> io::Result<MutexGuard<'a, Inbox>> {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                waiting_for.to_string(),
            ));
        }
        Ok(self
            .changed
            .wait_timeout(inbox, deadline - now)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|p| p.into_inner().0))
    }

    fn mark_closed(&self) {
        lock(&self.inbox).closed = true;
        self.changed.notify_all();
    }
}

/// One host's connection to the phone.
pub(crate) struct Connection {
    device: Arc<Device>,
    socket: TcpStream,
    writer: Mutex<TcpStream>,
    handshake: Mutex<Handshake>,
    streams: Mutex<HashMap<u32, Arc<StreamShared>>>,
    next_local_id: AtomicU32,
    closed: AtomicBool,
    peer: String,
}

/// A service a host can open.
enum Service {
    Shell(shell::ShellRequest),
    Sync,
    Restore,
    Reboot,
}

impl Service {
    fn parse(name: &str) -> Option<Service> {
        if name == "sync:" {
            return Some(Service::Sync);
        }
        if name.starts_with("restore:") {
            return Some(Service::Restore);
        }
        if name.starts_with("reboot:") {
            return Some(Service::Reboot);
        }
        shell::ShellRequest::parse(name).map(Service::Shell)
    }
}

impl Connection {
    /// Wraps an accepted socket. The caller registers it with the device and runs it.
    pub(crate) fn new(device: Arc<Device>, socket: TcpStream) -> io::Result<Arc<Connection>> {
        let writer = socket.try_clone()?;
        writer.set_write_timeout(Some(SOCKET_WRITE_TIMEOUT))?;
        let _ = socket.set_nodelay(true);
        let peer = socket
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown host".into());
        Ok(Arc::new(Connection {
            device,
            socket,
            writer: Mutex::new(writer),
            handshake: Mutex::new(Handshake {
                version: wire::A_VERSION_MIN,
                max_payload: wire::MAX_PAYLOAD,
                host_connected: false,
                authorized: false,
                cnxn_sent: false,
                token: None,
                pending_key: None,
            }),
            streams: Mutex::new(HashMap::new()),
            next_local_id: AtomicU32::new(1),
            closed: AtomicBool::new(false),
            peer,
        }))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Reads and routes messages until the host leaves, the cable is pulled or the host
    /// breaks the protocol; then closes the connection.
    pub(crate) fn run(self: &Arc<Self>) {
        if let Err(e) = self.read_loop()
            && !self.is_closed()
        {
            eprintln!(
                "plugback-sim: adb connection from {}: {e}; closing it",
                self.peer
            );
        }
        self.close();
    }

    fn read_loop(self: &Arc<Self>) -> Result<(), WireError> {
        let mut reader = self.socket.try_clone()?;
        loop {
            // An idle host is normal: wait without a deadline for the first byte (a pulled
            // cable shuts the socket down and wakes this up), then demand the rest soon.
            reader.set_read_timeout(None)?;
            match reader.peek(&mut [0u8; 1]) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            reader.set_read_timeout(Some(MESSAGE_TIMEOUT))?;
            let limit = {
                let handshake = lock(&self.handshake);
                if handshake.host_connected {
                    handshake.max_payload
                } else {
                    wire::MAX_PAYLOAD
                }
            };
            let packet = match wire::read_packet(&mut reader, limit) {
                Ok(packet) => packet,
                Err(WireError::Closed) => return Ok(()),
                Err(e) => return Err(e),
            };
            if self.is_closed() {
                return Ok(());
            }
            self.handle(packet)?;
        }
    }

    fn handle(self: &Arc<Self>, packet: Packet) -> Result<(), WireError> {
        match packet.command {
            wire::A_CNXN => self.on_host_cnxn(&packet),
            wire::A_AUTH => self.on_auth(&packet),
            _ if !lock(&self.handshake).cnxn_sent => {
                // adbd ignores everything else until the connection is up.
                Ok(())
            }
            wire::A_OPEN => self.on_open(&packet),
            wire::A_WRTE => self.on_write(packet),
            wire::A_OKAY => {
                if let Some(stream) = self.stream(packet.arg1) {
                    lock(&stream.inbox).awaiting_okay = false;
                    stream.changed.notify_all();
                }
                Ok(())
            }
            wire::A_CLSE => {
                let stream = lock(&self.streams).remove(&packet.arg1);
                if let Some(stream) = stream {
                    stream.mark_closed();
                }
                Ok(())
            }
            _ => {
                eprintln!(
                    "plugback-sim: adb host sent {} after connecting; ignored",
                    wire::command_name(packet.command)
                );
                Ok(())
            }
        }
    }

    fn stream(&self, local_id: u32) -> Option<Arc<StreamShared>> {
        lock(&self.streams).get(&local_id).cloned()
    }

    fn on_host_cnxn(self: &Arc<Self>, packet: &Packet) -> Result<(), WireError> {
        if packet.arg1 < 256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("host CNXN offers a max payload of {} bytes", packet.arg1),
            )
            .into());
        }
        // A second CNXN restarts the connection: the host lost track of it.
        for (_, stream) in lock(&self.streams).drain() {
            stream.mark_closed();
        }
        let mode = self.device.phone.config().auth;
        let send_token = {
            let mut handshake = lock(&self.handshake);
            handshake.version = packet.arg0.min(wire::A_VERSION);
            handshake.max_payload = packet.arg1.min(wire::MAX_PAYLOAD);
            handshake.host_connected = true;
            handshake.cnxn_sent = false;
            handshake.pending_key = None;
            if mode == AuthMode::None {
                handshake.authorized = true;
            }
            !handshake.authorized
        };
        if send_token {
            self.send_token()?;
        }
        self.send_cnxn_when_ready()?;
        Ok(())
    }

    fn send_token(&self) -> io::Result<()> {
        let token = auth::new_token();
        lock(&self.handshake).token = Some(token);
        self.send(Packet::new(
            wire::A_AUTH,
            wire::AUTH_TOKEN,
            0,
            token.to_vec(),
        ))
    }

    fn on_auth(self: &Arc<Self>, packet: &Packet) -> Result<(), WireError> {
        let mode = self.device.phone.config().auth;
        let (token, already) = {
            let handshake = lock(&self.handshake);
            (
                handshake.token,
                handshake.authorized || !handshake.host_connected,
            )
        };
        if already {
            return Ok(());
        }
        match packet.arg0 {
            wire::AUTH_SIGNATURE => {
                let Some(token) = token else { return Ok(()) };
                let good =
                    mode != AuthMode::Deny && self.device.keys.verify(&token, &packet.payload);
                if good {
                    lock(&self.handshake).authorized = true;
                    self.send_cnxn_when_ready()?;
                } else {
                    self.send_token()?;
                }
            }
            wire::AUTH_RSAPUBLICKEY => match HostKey::parse(&packet.payload) {
                Ok(key) if mode == AuthMode::Prompt => {
                    eprintln!(
                        "plugback-sim: \"Allow USB debugging?\" shown for {}",
                        key.line
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("an unnamed host")
                    );
                    lock(&self.handshake).pending_key = Some(key);
                }
                Ok(_) => {
                    // The person taps Deny at once; the host stays unauthorized.
                }
                Err(e) => eprintln!("plugback-sim: adb host offered a bad public key: {e}"),
            },
            other => eprintln!("plugback-sim: adb host sent AUTH type {other}; ignored"),
        }
        Ok(())
    }

    /// The key of the "Allow USB debugging?" prompt, taken off the screen.
    pub(crate) fn take_pending_key(&self) -> Option<HostKey> {
        lock(&self.handshake).pending_key.take()
    }

    pub(crate) fn has_pending_key(&self) -> bool {
        lock(&self.handshake).pending_key.is_some()
    }

    /// The person allowed this host: the connection comes up.
    pub(crate) fn authorize(&self) -> io::Result<()> {
        lock(&self.handshake).authorized = true;
        self.send_cnxn_when_ready()
    }

    pub(crate) fn is_online(&self) -> bool {
        lock(&self.handshake).cnxn_sent
    }

    /// Sends the phone's CNXN once the host has connected and is allowed, unless the
    /// phone is offline (then [`Device`] calls this again when it comes back).
    pub(crate) fn send_cnxn_when_ready(&self) -> io::Result<()> {
        if self.device.is_offline() {
            return Ok(());
        }
        let (version, max_payload) = {
            let mut handshake = lock(&self.handshake);
            if !handshake.host_connected || !handshake.authorized || handshake.cnxn_sent {
                return Ok(());
            }
            handshake.cnxn_sent = true;
            (handshake.version, handshake.max_payload)
        };
        let banner = banner(&self.device.phone.config());
        self.send(Packet::new(wire::A_CNXN, version, max_payload, banner))
    }

    fn on_open(self: &Arc<Self>, packet: &Packet) -> Result<(), WireError> {
        let remote_id = packet.arg0;
        if remote_id == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "OPEN with local id 0").into());
        }
        let end = packet
            .payload
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        let name = String::from_utf8_lossy(&packet.payload[..end]).into_owned();
        // arg1 is a delayed-ack window, which this phone does not offer.
        let service = match Service::parse(&name) {
            Some(service) if packet.arg1 == 0 => service,
            _ => {
                eprintln!("plugback-sim: refusing adb service {name:?}");
                self.send(Packet::new(wire::A_CLSE, 0, remote_id, Vec::new()))?;
                return Ok(());
            }
        };
        let local_id = self.next_local_id.fetch_add(1, Ordering::SeqCst);
        let shared = Arc::new(StreamShared {
            local_id,
            remote_id,
            inbox: Mutex::new(Inbox::default()),
            changed: Condvar::new(),
        });
        lock(&self.streams).insert(local_id, shared.clone());
        self.send(Packet::new(wire::A_OKAY, local_id, remote_id, Vec::new()))?;
        let connection = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("adb-stream-{local_id}"))
            .spawn(move || connection.serve(shared, service, name));
        if let Err(e) = spawned {
            eprintln!("plugback-sim: cannot start a thread for {local_id}: {e}");
            let stream = lock(&self.streams).remove(&local_id);
            if let Some(stream) = stream {
                self.send(Packet::new(
                    wire::A_CLSE,
                    local_id,
                    stream.remote_id,
                    Vec::new(),
                ))?;
            }
        }
        Ok(())
    }

    fn on_write(&self, packet: Packet) -> Result<(), WireError> {
        let Some(stream) = self.stream(packet.arg1) else {
            // The stream may have just closed on our side; adbd ignores such a WRTE.
            return Ok(());
        };
        let mut inbox = lock(&stream.inbox);
        if inbox.chunks.len() >= MAX_QUEUED_WRITES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "host sent WRTE after WRTE without waiting for OKAY",
            )
            .into());
        }
        inbox.chunks.push_back(packet.payload);
        drop(inbox);
        stream.changed.notify_all();
        Ok(())
    }

    /// Runs one service on its stream, then closes the stream.
    fn serve(self: Arc<Self>, shared: Arc<StreamShared>, service: Service, name: String) {
        let phone = self.device.phone.clone();
        let mut io = StreamIo {
            connection: self.clone(),
            shared: shared.clone(),
            current: Vec::new(),
            position: 0,
            meter: StreamMeter::default(),
            may_misbehave: matches!(service, Service::Shell(_)),
        };
        let result: Result<(), String> = match service {
            Service::Shell(request) => shell::serve(&mut io, &self.device, request),
            Service::Reboot => {
                self.device.reboot();
                Ok(())
            }
            Service::Sync => {
                crate::android::sync::serve(&mut io, &phone).map_err(|e| e.to_string())
            }
            Service::Restore => {
                crate::android::restore::serve(&mut io, &phone).map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result
            && !self.is_closed()
        {
            eprintln!("plugback-sim: adb service {name:?}: {e}");
        }
        let still_open = lock(&self.streams).remove(&shared.local_id).is_some();
        if still_open && !self.is_closed() {
            let _ = self.send(Packet::new(
                wire::A_CLSE,
                shared.local_id,
                shared.remote_id,
                Vec::new(),
            ));
        }
    }

    /// Sends one message, with the byte-sum check when the host is old enough to want it.
    fn send(&self, packet: Packet) -> io::Result<()> {
        let with_check = lock(&self.handshake).version <= wire::A_VERSION_MIN;
        self.send_raw(&packet.encode(with_check))
    }

    fn send_raw(&self, bytes: &[u8]) -> io::Result<()> {
        if self.is_closed() {
            return Err(io::ErrorKind::NotConnected.into());
        }
        let result = lock(&self.writer).write_all(bytes);
        if result.is_err() {
            self.close();
        }
        result
    }

    fn max_payload(&self) -> usize {
        lock(&self.handshake).max_payload as usize
    }

    /// Drops the connection: the socket shuts, every stream's service sees the end.
    pub(crate) fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        for (_, stream) in lock(&self.streams).drain() {
            stream.mark_closed();
        }
        self.device.forget(self);
    }

    fn apply(&self, actions: Vec<FaultAction>) {
        for action in actions {
            match action {
                FaultAction::Unplug(back_after) => {
                    eprintln!("plugback-sim: fault: unplugging");
                    self.device.unplug(back_after);
                }
                FaultAction::Stall(pause) => {
                    eprintln!("plugback-sim: fault: stalling for {} ms", pause.as_millis());
                    std::thread::sleep(pause);
                }
                FaultAction::RevokeAuth => {
                    eprintln!("plugback-sim: fault: revoking USB debugging authorisations");
                    self.device.revoke_auth();
                }
            }
        }
    }
}

/// The banner of the phone's CNXN: its identity and the features it implements.
fn banner(config: &crate::android::AndroidConfig) -> Vec<u8> {
    let head = format!(
        "device::ro.product.name={};ro.product.model={};ro.product.device={};features=",
        config.product, config.model, config.device
    );
    let mut banner = head;
    let mut first = true;
    for feature in &config.features {
        // The banner goes out before sizes are agreed, so it must fit the old 4 KiB limit.
        if banner.len() + feature.len() + 1 > wire::MAX_PAYLOAD_V1 {
            eprintln!("plugback-sim: feature list too long for the banner; cut at {feature:?}");
            break;
        }
        if !first {
            banner.push(',');
        }
        banner.push_str(feature);
        first = false;
    }
    banner.into_bytes()
}

/// A stream as its service sees it: the host's bytes in, WRTE messages out.
pub struct StreamIo {
    connection: Arc<Connection>,
    shared: Arc<StreamShared>,
    current: Vec<u8>,
    position: usize,
    meter: StreamMeter,
    /// `hostile=paths` may garble this stream's first message (shell-like streams only).
    may_misbehave: bool,
}

impl StreamIo {
    /// The largest payload a WRTE may carry on this connection.
    pub fn max_payload(&self) -> usize {
        self.connection.max_payload()
    }

    /// Bytes this stream has carried so far, both directions.
    pub fn bytes_carried(&self) -> u64 {
        self.meter.bytes()
    }

    fn broken(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the adb connection is gone",
        )
    }

    fn count(&mut self, n: usize) -> io::Result<()> {
        let actions = self.meter.record(&self.connection.device.phone, n);
        self.connection.apply(actions);
        if self.connection.is_closed() {
            return Err(self.broken());
        }
        Ok(())
    }

    /// Waits for the next WRTE payload; None once the host closed the stream.
    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + STREAM_IDLE_TIMEOUT;
        let mut inbox = lock(&self.shared.inbox);
        loop {
            if let Some(chunk) = inbox.chunks.pop_front() {
                return Ok(Some(chunk));
            }
            if inbox.closed {
                return Ok(None);
            }
            inbox = self.shared.wait_for_change(
                inbox,
                deadline,
                "the host sent nothing on this stream for too long",
            )?;
        }
    }

    /// Sends the one-off garbage frame of `hostile=paths`: a header that announces more
    /// than the agreed maximum payload. A correct host drops the connection.
    fn misbehave_once(&mut self) -> bool {
        if !self.may_misbehave {
            return false;
        }
        self.may_misbehave = false;
        if !self
            .connection
            .device
            .phone
            .config()
            .faults
            .contains(&Fault::HostilePaths)
            || !self.connection.device.take_hostile_turn()
        {
            return false;
        }
        eprintln!("plugback-sim: fault: sending an over-long WRTE header");
        let mut header = Packet::new(
            wire::A_WRTE,
            self.shared.local_id,
            self.shared.remote_id,
            Vec::new(),
        )
        .encode(true);
        let bogus = (self.max_payload() as u32).saturating_add(1);
        header[12..16].copy_from_slice(&bogus.to_le_bytes());
        let _ = self.connection.send_raw(&header);
        self.connection.close();
        true
    }
}

impl Read for StreamIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.position >= self.current.len() {
            match self.next_chunk()? {
                None => return Ok(0),
                Some(chunk) => {
                    // Acknowledge as the chunk is taken: the host may send the next one
                    // while this one is consumed, and never more.
                    let okay = Packet::new(
                        wire::A_OKAY,
                        self.shared.local_id,
                        self.shared.remote_id,
                        Vec::new(),
                    );
                    self.connection.send(okay).map_err(|_| self.broken())?;
                    let len = chunk.len();
                    self.current = chunk;
                    self.position = 0;
                    self.count(len)?;
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

impl Write for StreamIo {
    /// Sends at most one WRTE, after the OKAY of the previous one.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.misbehave_once() {
            return Err(self.broken());
        }
        let mut n = buf.len().min(self.max_payload());
        if let Some(room) = self.meter.room(&self.connection.device.phone) {
            // Stop exactly at a fault's threshold, so it fires after N bytes and not later.
            n = n.min(room.max(1) as usize);
        }
        {
            let deadline = Instant::now() + STREAM_IDLE_TIMEOUT;
            let mut inbox = lock(&self.shared.inbox);
            while inbox.awaiting_okay && !inbox.closed {
                inbox = self.shared.wait_for_change(
                    inbox,
                    deadline,
                    "the host did not acknowledge a WRTE",
                )?;
            }
            if inbox.closed {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the host closed the stream",
                ));
            }
            inbox.awaiting_okay = true;
        }
        let packet = Packet::new(
            wire::A_WRTE,
            self.shared.local_id,
            self.shared.remote_id,
            buf[..n].to_vec(),
        );
        self.connection.send(packet).map_err(|_| self.broken())?;
        self.count(n)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
