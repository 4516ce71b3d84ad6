//! The simulated usbmuxd: the plist protocol (version 1) over TCP or a Unix socket, shared
//! by one or more simulated iPhones (DeviceIDs 1, 2, …).
//!
//! Every message starts with a 16-byte little-endian header {length including the header,
//! version, message type, tag}. Replies use version 1, message type 8 (plist), the
//! request's tag, and an XML body: libusbmuxd parses replies as XML only.
//!
//! State (pair records, the BUID) lives in the usbmuxd's own folder, as the real daemon
//! keeps it in /var/lib/lockdown.

use crate::iphone::Phone;
use crate::iphone::dispatch;
use crate::iphone::lockdown::new_uuid;
use crate::iphone::pairing::write_private_file;
use crate::iphone::phone::{EventSink, PhoneEvent};
use crate::iphone::socket::{MuxStream, SocketSet};
use plist::{Dictionary, Value};
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

#[cfg(unix)]
use std::os::unix::net::UnixListener;

pub const HEADER_LEN: usize = 16;
/// The plist protocol; 0 is the old binary one.
pub const VERSION_PLIST: u32 = 1;
pub const VERSION_BINARY: u32 = 0;
pub const MESSAGE_PLIST: u32 = 8;

pub const RESULT_OK: u64 = 0;
pub const RESULT_BADCOMMAND: u64 = 1;
pub const RESULT_BADDEV: u64 = 2;
pub const RESULT_CONNREFUSED: u64 = 3;
pub const RESULT_BADVERSION: u64 = 6;

/// No usbmuxd request comes near this; pair records are a few KiB.
const MAX_MESSAGE: u32 = 1024 * 1024;
/// A client that sends nothing for this long (outside Listen) is gone.
const CLIENT_IDLE: Duration = Duration::from_secs(5 * 60);
/// A host that takes nothing from the socket for this long (a full send buffer) is gone;
/// kept for the device pipes that follow a Connect too.
const WRITE_LIMIT: Duration = Duration::from_secs(5 * 60);
/// How long to pause after a failed accept before trying again.
const POLL: Duration = Duration::from_millis(25);

/// Where the usbmuxd listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsbmuxdAddr {
    Tcp(SocketAddr),
    #[cfg(unix)]
    Unix(PathBuf),
}

impl std::fmt::Display for UsbmuxdAddr {
    /// The form `USBMUXD_SOCKET_ADDRESS` takes: `host:port`, or the socket's path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsbmuxdAddr::Tcp(addr) => write!(f, "{addr}"),
            #[cfg(unix)]
            UsbmuxdAddr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The header of one usbmuxd message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: u32,
    pub version: u32,
    pub message: u32,
    pub tag: u32,
}

/// Why a usbmuxd message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    #[error("a message announced {0} bytes, less than its own 16-byte header")]
    TooShort(u32),
    #[error("a message announced {0} bytes, more than any usbmuxd request")]
    TooLong(u32),
    #[error("the message body is not a property list: {0}")]
    NotAPlist(String),
    #[error("the message has no MessageType")]
    NoMessageType,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Header {
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, MuxError> {
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let header = Header {
            length: word(0),
            version: word(4),
            message: word(8),
            tag: word(12),
        };
        if (header.length as usize) < HEADER_LEN {
            return Err(MuxError::TooShort(header.length));
        }
        if header.length > MAX_MESSAGE {
            return Err(MuxError::TooLong(header.length));
        }
        Ok(header)
    }

    pub fn body_len(&self) -> usize {
        self.length as usize - HEADER_LEN
    }
}

/// Reads one message; None at a clean end of stream before a header.
pub fn read_message<R: Read>(reader: &mut R) -> Result<Option<(Header, Vec<u8>)>, MuxError> {
    let mut bytes = [0u8; HEADER_LEN];
    match reader.read_exact(&mut bytes) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let header = Header::parse(&bytes)?;
    let mut body = vec![0u8; header.body_len()];
    reader.read_exact(&mut body)?;
    Ok(Some((header, body)))
}

/// Parses a request body (XML or binary plist) into its dictionary and MessageType.
pub fn parse_request(body: &[u8]) -> Result<(String, Dictionary), MuxError> {
    let value = Value::from_reader(io::Cursor::new(body))
        .map_err(|e| MuxError::NotAPlist(e.to_string()))?;
    let dict = value
        .into_dictionary()
        .ok_or_else(|| MuxError::NotAPlist("not a dictionary".into()))?;
    let kind = dict
        .get("MessageType")
        .and_then(Value::as_string)
        .ok_or(MuxError::NoMessageType)?
        .to_string();
    Ok((kind, dict))
}

/// One reply or event, framed: version 1, plist, `tag`, XML body.
pub fn encode_message(tag: u32, body: &Dictionary) -> io::Result<Vec<u8>> {
    let mut xml = Vec::new();
    Value::Dictionary(body.clone())
        .to_writer_xml(&mut xml)
        .map_err(io::Error::other)?;
    let length = u32::try_from(HEADER_LEN + xml.len())
        .map_err(|_| io::Error::other("a usbmuxd message over 4 GiB"))?;
    let mut out = Vec::with_capacity(length as usize);
    for word in [length, VERSION_PLIST, MESSAGE_PLIST, tag] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&xml);
    Ok(out)
}

fn result(number: u64) -> Dictionary {
    let mut d = Dictionary::new();
    d.insert("MessageType".into(), "Result".into());
    d.insert("Number".into(), Value::Integer(number.into()));
    d
}

/// Pair record IDs are UDIDs; anything else could name a file outside the state folder.
fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

struct Device {
    id: u32,
    phone: Arc<Phone>,
}

/// Everything the usbmuxd's threads share.
struct Shared {
    state_dir: PathBuf,
    buid: String,
    devices: Mutex<Vec<Device>>,
    listeners: Mutex<Vec<mpsc::Sender<Dictionary>>>,
    /// Every accepted client socket, so that stopping cuts them all.
    clients: SocketSet,
    stop: AtomicBool,
}

impl Shared {
    fn devices(&self) -> MutexGuard<'_, Vec<Device>> {
        self.devices.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn listeners(&self) -> MutexGuard<'_, Vec<mpsc::Sender<Dictionary>>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn broadcast(&self, event: Dictionary) {
        self.listeners().retain(|tx| tx.send(event.clone()).is_ok());
    }

    fn phone(&self, device_id: u32) -> Option<Arc<Phone>> {
        self.devices()
            .iter()
            .find(|d| d.id == device_id)
            .map(|d| d.phone.clone())
    }

    fn attached_entries(&self) -> Vec<Dictionary> {
        self.devices()
            .iter()
            .filter(|d| d.phone.is_plugged())
            .map(|d| attached(d.id, &d.phone))
            .collect()
    }
}

/// The `Attached` dictionary of a device: in ListDevices and in Listen events. DeviceID
/// is both at the top (idevice reads it there) and in Properties (libusbmuxd does).
fn attached(device_id: u32, phone: &Phone) -> Dictionary {
    let config = phone.config();
    let product_id: u64 = if config.product_type.starts_with("iPad") {
        0x12ab
    } else {
        0x12a8
    };
    let mut props = Dictionary::new();
    props.insert(
        "ConnectionSpeed".into(),
        Value::Integer((u64::from(config.link_mbps) * 1_000_000).into()),
    );
    props.insert("ConnectionType".into(), "USB".into());
    props.insert(
        "DeviceID".into(),
        Value::Integer(u64::from(device_id).into()),
    );
    props.insert(
        "LocationID".into(),
        Value::Integer((0x0010_0000u64 + (u64::from(device_id) << 12)).into()),
    );
    props.insert("ProductID".into(), Value::Integer(product_id.into()));
    props.insert("SerialNumber".into(), config.udid.into());
    let mut d = Dictionary::new();
    d.insert(
        "DeviceID".into(),
        Value::Integer(u64::from(device_id).into()),
    );
    d.insert("MessageType".into(), "Attached".into());
    d.insert("Properties".into(), Value::Dictionary(props));
    d
}

fn device_event(kind: &str, device_id: u32) -> Dictionary {
    let mut d = Dictionary::new();
    d.insert(
        "DeviceID".into(),
        Value::Integer(u64::from(device_id).into()),
    );
    d.insert("MessageType".into(), kind.into());
    d
}

enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    fn accept(&self) -> io::Result<MuxStream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Ok(MuxStream::Tcp(s))
            }
            #[cfg(unix)]
            Listener::Unix(l) => Ok(MuxStream::Unix(l.accept()?.0)),
        }
    }
}

/// A running usbmuxd. Dropping it stops it: the listener closes, every connection is cut
/// and every thread ends.
pub struct MuxServer {
    shared: Arc<Shared>,
    address: UsbmuxdAddr,
    accept_thread: Option<JoinHandle<()>>,
    unix_path: Option<PathBuf>,
}

impl MuxServer {
    /// Listens on `listen` (TCP port 0 picks a free port) and keeps its state in `state_dir`.
    pub fn start(listen: UsbmuxdAddr, state_dir: &Path) -> io::Result<MuxServer> {
        fs::create_dir_all(state_dir)?;
        let buid = load_or_create_buid(state_dir)?;
        let (listener, address, unix_path) = match &listen {
            UsbmuxdAddr::Tcp(addr) => {
                let l = TcpListener::bind(addr)?;
                let bound = l.local_addr()?;
                (Listener::Tcp(l), UsbmuxdAddr::Tcp(bound), None)
            }
            #[cfg(unix)]
            UsbmuxdAddr::Unix(path) => {
                // A socket file left by a simulator that died; a live one would refuse.
                if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
                    let _ = fs::remove_file(path);
                }
                let l = UnixListener::bind(path)?;
                (
                    Listener::Unix(l),
                    UsbmuxdAddr::Unix(path.clone()),
                    Some(path.clone()),
                )
            }
        };
        let shared = Arc::new(Shared {
            state_dir: state_dir.to_path_buf(),
            buid,
            devices: Mutex::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
            clients: SocketSet::default(),
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        let accept_thread = std::thread::Builder::new()
            .name("usbmuxd-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(MuxServer {
            shared,
            address,
            accept_thread: Some(accept_thread),
            unix_path,
        })
    }

    pub fn address(&self) -> &UsbmuxdAddr {
        &self.address
    }

    /// The folder that holds the pair records and the BUID.
    pub fn state_dir(&self) -> &Path {
        &self.shared.state_dir
    }

    /// The SystemBUID that `ReadBUID` answers.
    pub fn buid(&self) -> &str {
        &self.shared.buid
    }

    /// True when a phone with this UDID is already in this usbmuxd.
    pub fn has_udid(&self, udid: &str) -> bool {
        self.shared
            .devices()
            .iter()
            .any(|d| d.phone.config().udid == udid)
    }

    /// Plugs `phone` into this usbmuxd; returns its DeviceID.
    pub fn add_phone(&self, phone: Arc<Phone>) -> u32 {
        let id = {
            let mut devices = self.shared.devices();
            let id = devices.iter().map(|d| d.id).max().unwrap_or(0) + 1;
            devices.push(Device {
                id,
                phone: phone.clone(),
            });
            id
        };
        let weak_shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let weak_phone = Arc::downgrade(&phone);
        let sink: EventSink = Arc::new(move |event| {
            let (Some(shared), Some(phone)) = (weak_shared.upgrade(), weak_phone.upgrade()) else {
                return;
            };
            let message = match event {
                PhoneEvent::Attached => attached(id, &phone),
                PhoneEvent::Detached => device_event("Detached", id),
            };
            shared.broadcast(message);
        });
        phone.attach(sink);
        if phone.is_plugged() {
            self.shared.broadcast(attached(id, &phone));
        }
        id
    }
}

impl Drop for MuxServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        wake_acceptor(&self.address);
        for device in self.shared.devices().iter() {
            device.phone.retire();
        }
        self.shared.clients.shutdown_all();
        self.shared.listeners().clear();
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        if let Some(path) = &self.unix_path {
            let _ = fs::remove_file(path);
        }
    }
}

fn load_or_create_buid(state_dir: &Path) -> io::Result<String> {
    let path = state_dir.join("SystemConfiguration.plist");
    if let Ok(value) = Value::from_file(&path)
        && let Some(buid) = value
            .as_dictionary()
            .and_then(|d| d.get("SystemBUID"))
            .and_then(Value::as_string)
    {
        return Ok(buid.to_string());
    }
    let buid = new_uuid();
    let mut d = Dictionary::new();
    d.insert("SystemBUID".into(), buid.clone().into());
    let mut xml = Vec::new();
    Value::Dictionary(d)
        .to_writer_xml(&mut xml)
        .map_err(io::Error::other)?;
    write_private_file(&path, &xml)?;
    Ok(buid)
}

/// The accept loop blocks in accept (a polling loop would delay every new connection by
/// up to its poll interval, which the attach benchmark would count); stopping wakes it
/// with a connection of its own.
fn wake_acceptor(address: &UsbmuxdAddr) {
    match address {
        UsbmuxdAddr::Tcp(addr) => {
            let mut target = *addr;
            if target.ip().is_unspecified() {
                target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let _ = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(1));
        }
        #[cfg(unix)]
        UsbmuxdAddr::Unix(path) => {
            let _ = std::os::unix::net::UnixStream::connect(path);
        }
    }
}

fn accept_loop(listener: Listener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok(_) if shared.stop.load(Ordering::SeqCst) => break,
            Ok(stream) => {
                let client_shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("usbmuxd-client".into())
                    .spawn(move || serve_client(stream, client_shared));
                if let Err(e) = spawned {
                    eprintln!("plugback-sim: usbmuxd: no thread for a client: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("plugback-sim: usbmuxd: accept failed: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
    drop(listener);
}

/// What a request leaves the connection to do next.
enum Next {
    Continue,
    /// The socket now belongs to a device port.
    Pipe(dispatch::Target, Arc<Phone>),
    Listen,
}

fn serve_client(stream: MuxStream, shared: Arc<Shared>) {
    let id = match shared.clients.insert(&stream) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("plugback-sim: usbmuxd: {e}");
            return;
        }
    };
    // Close the race with a stop that began while this client was being accepted.
    if !shared.stop.load(Ordering::SeqCst)
        && let Err(e) = serve_requests(stream, &shared)
    {
        eprintln!("plugback-sim: usbmuxd: closing a client: {e}");
    }
    shared.clients.remove(id);
}

fn serve_requests(mut stream: MuxStream, shared: &Arc<Shared>) -> Result<(), MuxError> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_IDLE))?;
    stream.set_write_timeout(Some(WRITE_LIMIT))?;
    loop {
        let Some((header, body)) = read_message(&mut stream)? else {
            return Ok(());
        };
        if header.version != VERSION_PLIST && header.version != VERSION_BINARY {
            reply(&mut stream, header.tag, &result(RESULT_BADVERSION))?;
            continue;
        }
        if header.message != MESSAGE_PLIST {
            reply(&mut stream, header.tag, &result(RESULT_BADCOMMAND))?;
            continue;
        }
        let (kind, request) = parse_request(&body)?;
        match handle(shared, &kind, &request, &mut stream, header.tag)? {
            Next::Continue => {}
            Next::Pipe(target, phone) => {
                stream.set_read_timeout(None)?;
                dispatch::run(target, stream, phone);
                return Ok(());
            }
            Next::Listen => return listen(stream, shared),
        }
    }
}

fn reply(stream: &mut MuxStream, tag: u32, body: &Dictionary) -> io::Result<()> {
    let bytes = encode_message(tag, body)?;
    stream.write_all(&bytes)?;
    stream.flush()
}

fn handle(
    shared: &Arc<Shared>,
    kind: &str,
    request: &Dictionary,
    stream: &mut MuxStream,
    tag: u32,
) -> Result<Next, MuxError> {
    let text = |key: &str| request.get(key).and_then(Value::as_string);
    let number = |key: &str| request.get(key).and_then(Value::as_unsigned_integer);
    match kind {
        "ListDevices" => {
            let list = shared
                .attached_entries()
                .into_iter()
                .map(Value::Dictionary)
                .collect();
            let mut d = Dictionary::new();
            d.insert("DeviceList".into(), Value::Array(list));
            reply(stream, tag, &d)?;
        }
        "Listen" => {
            reply(stream, tag, &result(RESULT_OK))?;
            return Ok(Next::Listen);
        }
        "Connect" => {
            let phone = number("DeviceID")
                .and_then(|id| u32::try_from(id).ok())
                .and_then(|id| shared.phone(id))
                .filter(|phone| phone.is_plugged());
            let Some(phone) = phone else {
                reply(stream, tag, &result(RESULT_BADDEV))?;
                return Ok(Next::Continue);
            };
            // PortNumber is in network byte order, read as a little-endian integer.
            let port = number("PortNumber")
                .and_then(|p| u16::try_from(p).ok())
                .map(u16::swap_bytes);
            match port.and_then(|port| dispatch::target(&phone, port)) {
                Some(target) => {
                    reply(stream, tag, &result(RESULT_OK))?;
                    return Ok(Next::Pipe(target, phone));
                }
                None => reply(stream, tag, &result(RESULT_CONNREFUSED))?,
            }
        }
        "ReadBUID" => {
            let mut d = Dictionary::new();
            d.insert("BUID".into(), shared.buid.clone().into());
            reply(stream, tag, &d)?;
        }
        "ReadPairRecord" => {
            let record = text("PairRecordID")
                .filter(|id| plain_id(id))
                .and_then(|id| fs::read(shared.state_dir.join(format!("{id}.plist"))).ok());
            match record {
                Some(bytes) => {
                    let mut d = Dictionary::new();
                    d.insert("PairRecordData".into(), Value::Data(bytes));
                    reply(stream, tag, &d)?;
                }
                None => reply(stream, tag, &result(RESULT_BADDEV))?,
            }
        }
        "SavePairRecord" => {
            let id = text("PairRecordID").filter(|id| plain_id(id));
            let data = request.get("PairRecordData").and_then(Value::as_data);
            let valid = data.is_some_and(|d| Value::from_reader(io::Cursor::new(d)).is_ok());
            match (id, data) {
                (Some(id), Some(data)) if valid => {
                    let path = shared.state_dir.join(format!("{id}.plist"));
                    if let Err(e) = write_private_file(&path, data) {
                        eprintln!("plugback-sim: usbmuxd: {}: {e}", path.display());
                        reply(stream, tag, &result(RESULT_BADCOMMAND))?;
                        return Ok(Next::Continue);
                    }
                    reply(stream, tag, &result(RESULT_OK))?;
                    let device = number("DeviceID")
                        .and_then(|n| u32::try_from(n).ok())
                        .or_else(|| {
                            shared
                                .devices()
                                .iter()
                                .find(|d| d.phone.config().udid == id)
                                .map(|d| d.id)
                        });
                    if let Some(device) = device {
                        shared.broadcast(device_event("Paired", device));
                    }
                }
                _ => reply(stream, tag, &result(RESULT_BADCOMMAND))?,
            }
        }
        "DeletePairRecord" => {
            let removed = text("PairRecordID")
                .filter(|id| plain_id(id))
                .is_some_and(|id| {
                    fs::remove_file(shared.state_dir.join(format!("{id}.plist"))).is_ok()
                });
            let code = if removed { RESULT_OK } else { RESULT_BADDEV };
            reply(stream, tag, &result(code))?;
        }
        other => {
            eprintln!("plugback-sim: usbmuxd: unknown request {other:?}");
            reply(stream, tag, &result(RESULT_BADCOMMAND))?;
        }
    }
    Ok(Next::Continue)
}

/// A Listen client: an Attached per device now, then every event as it happens, until the
/// client closes or the usbmuxd stops.
fn listen(mut stream: MuxStream, shared: &Arc<Shared>) -> Result<(), MuxError> {
    let (tx, rx) = mpsc::channel();
    {
        let mut listeners = shared.listeners();
        for entry in shared.attached_entries() {
            let _ = tx.send(entry);
        }
        listeners.push(tx);
    }
    let mut probe = [0u8; 64];
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(event) => reply(&mut stream, 0, &event)?,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if shared.stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
                // A Listen client sends nothing more; a read that ends the stream means
                // it has gone.
                stream.set_read_timeout(Some(Duration::from_millis(1)))?;
                match stream.read(&mut probe) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(length: u32, version: u32, message: u32, tag: u32) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, w) in [length, version, message, tag].into_iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    #[test]
    fn header_is_little_endian_and_checked() {
        let h = Header::parse(&header(300, 1, 8, 7)).unwrap();
        assert_eq!(
            h,
            Header {
                length: 300,
                version: 1,
                message: 8,
                tag: 7
            }
        );
        assert_eq!(h.body_len(), 284);
        assert!(matches!(
            Header::parse(&header(15, 1, 8, 0)),
            Err(MuxError::TooShort(15))
        ));
        assert!(matches!(
            Header::parse(&header(MAX_MESSAGE + 1, 1, 8, 0)),
            Err(MuxError::TooLong(_))
        ));
    }

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let mut body = Dictionary::new();
        body.insert("MessageType".into(), "ListDevices".into());
        let wire = encode_message(9, &body).unwrap();
        let (h, payload) = read_message(&mut wire.as_slice()).unwrap().unwrap();
        assert_eq!((h.version, h.message, h.tag), (1, 8, 9));
        assert!(payload.starts_with(b"<?xml"));
        let (kind, _) = parse_request(&payload).unwrap();
        assert_eq!(kind, "ListDevices");

        assert!(read_message(&mut [].as_slice()).unwrap().is_none());
        // A header promising more than arrives.
        let mut short = header(100, 1, 8, 0).to_vec();
        short.extend_from_slice(b"abc");
        assert!(matches!(
            read_message(&mut short.as_slice()),
            Err(MuxError::Io(_))
        ));
        assert!(matches!(
            parse_request(b"not a plist"),
            Err(MuxError::NotAPlist(_))
        ));
        let mut no_type = Vec::new();
        Value::Dictionary(Dictionary::new())
            .to_writer_xml(&mut no_type)
            .unwrap();
        assert!(matches!(
            parse_request(&no_type),
            Err(MuxError::NoMessageType)
        ));
    }

    #[test]
    fn pair_record_ids_cannot_be_paths() {
        assert!(plain_id("00008030-001D35093EF2402E"));
        assert!(!plain_id("../x"));
        assert!(!plain_id(""));
        assert!(!plain_id("a/b"));
    }
}
