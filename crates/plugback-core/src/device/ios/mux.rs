//! A small usbmuxd client (plist protocol) that checks every reply before trusting it: a
//! short header, an oversized length or a body that is not a dictionary is a protocol
//! error, never a panic or a huge allocation. It also keeps what idevice's client drops,
//! such as the link speed.

use super::address::{MuxAddress, unavailable};
use super::wait::bounded;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use idevice::ReadWrite;
use plist::{Dictionary, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HEADER_LEN: usize = 16;
/// Replies are device lists and pair records: a few kilobytes. Anything far larger is not
/// usbmuxd.
const MAX_BODY: usize = 4 << 20;
const PLIST_VERSION: u32 = 1;
const PLIST_MESSAGE: u32 = 8;
const PEER: &str = "usbmuxd";

/// Which usbmuxd to talk to, and how long to wait for any one reply.
#[derive(Clone, Debug)]
pub struct Usbmuxd {
    pub address: MuxAddress,
    /// The longest wait for one reply from usbmuxd or one lockdown step on the phone.
    pub reply_timeout: Duration,
}

impl Usbmuxd {
    pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(address: MuxAddress) -> Usbmuxd {
        Usbmuxd {
            address,
            reply_timeout: Self::DEFAULT_REPLY_TIMEOUT,
        }
    }

    /// The usbmuxd `USBMUXD_SOCKET_ADDRESS` names, else the system's.
    pub fn from_env() -> Result<Usbmuxd, DeviceError> {
        MuxAddress::from_env().map(Usbmuxd::new)
    }
}

/// A phone as usbmuxd lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MuxDevice {
    pub device_id: u32,
    pub udid: String,
    /// "USB" or "Network".
    pub connection: String,
    /// Bits per second, where usbmuxd tells.
    pub speed_bps: Option<u64>,
}

/// What a Listen connection reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MuxEvent {
    Attached(MuxDevice),
    Detached(u32),
    Paired(u32),
}

pub(crate) fn protocol(detail: impl Into<String>) -> DeviceError {
    DeviceError::Protocol {
        peer: PEER.to_owned(),
        detail: detail.into(),
    }
}

/// One connection to usbmuxd.
pub(crate) struct MuxConnection {
    stream: Box<dyn ReadWrite>,
    /// A duplicate of the socket, for zero-copy sends once it is a service connection.
    #[cfg(target_os = "linux")]
    raw: Option<std::os::fd::OwnedFd>,
    tag: u32,
    timeout: Duration,
    cancel: CancelToken,
}

impl MuxConnection {
    pub(crate) async fn open(mux: &Usbmuxd, cancel: &CancelToken) -> Result<Self, DeviceError> {
        let (stream, _raw) =
            bounded(PEER, mux.reply_timeout, cancel, connect(&mux.address)).await?;
        Ok(MuxConnection {
            stream,
            #[cfg(target_os = "linux")]
            raw: _raw,
            tag: 0,
            timeout: mux.reply_timeout,
            cancel: cancel.clone(),
        })
    }

    /// Sends one request and waits (bounded) for its reply.
    async fn request(&mut self, kind: &str, extra: Dictionary) -> Result<Dictionary, DeviceError> {
        self.send(kind, extra).await?;
        let (timeout, cancel) = (self.timeout, self.cancel.clone());
        bounded(PEER, timeout, &cancel, self.receive()).await
    }

    async fn send(&mut self, kind: &str, extra: Dictionary) -> Result<(), DeviceError> {
        self.tag = self.tag.wrapping_add(1);
        let mut body = Dictionary::new();
        body.insert("MessageType".into(), kind.into());
        body.insert("ClientVersionString".into(), "plugback".into());
        body.insert("ProgName".into(), "plugback".into());
        body.insert("kLibUSBMuxVersion".into(), Value::Integer(3u64.into()));
        for (key, value) in extra {
            body.insert(key, value);
        }
        let mut xml = Vec::new();
        Value::Dictionary(body)
            .to_writer_xml(&mut xml)
            .map_err(|e| protocol(format!("cannot encode a request: {e}")))?;
        let length =
            u32::try_from(HEADER_LEN + xml.len()).map_err(|_| protocol("request too large"))?;
        let mut packet = Vec::with_capacity(HEADER_LEN + xml.len());
        for word in [length, PLIST_VERSION, PLIST_MESSAGE, self.tag] {
            packet.extend_from_slice(&word.to_le_bytes());
        }
        packet.extend_from_slice(&xml);
        let (timeout, cancel) = (self.timeout, self.cancel.clone());
        bounded(PEER, timeout, &cancel, async {
            self.stream.write_all(&packet).await?;
            self.stream.flush().await?;
            Ok(())
        })
        .await
    }

    /// Reads one message, unbounded in time: callers bound it (Listen waits for ever).
    async fn receive(&mut self) -> Result<Dictionary, DeviceError> {
        let mut header = [0u8; HEADER_LEN];
        read_exact(&mut self.stream, &mut header).await?;
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (length, version, message) = (word(0) as usize, word(4), word(8));
        if length < HEADER_LEN || length - HEADER_LEN > MAX_BODY {
            return Err(protocol(format!("a reply claims {length} bytes")));
        }
        if version != PLIST_VERSION || message != PLIST_MESSAGE {
            return Err(protocol(format!(
                "a reply in protocol version {version}, message type {message} (expected plist)"
            )));
        }
        let mut body = vec![0u8; length - HEADER_LEN];
        read_exact(&mut self.stream, &mut body).await?;
        match Value::from_reader(std::io::Cursor::new(body)) {
            Ok(Value::Dictionary(dict)) => Ok(dict),
            Ok(_) => Err(protocol("a reply that is not a dictionary")),
            Err(e) => Err(protocol(format!(
                "a reply that is not a property list: {e}"
            ))),
        }
    }

    pub(crate) async fn list_devices(&mut self) -> Result<Vec<MuxDevice>, DeviceError> {
        let reply = self.request("ListDevices", Dictionary::new()).await?;
        let Some(Value::Array(list)) = reply.get("DeviceList") else {
            return Err(protocol("ListDevices reply without a DeviceList"));
        };
        Ok(list
            .iter()
            .filter_map(Value::as_dictionary)
            .filter_map(device_of)
            .collect())
    }

    pub(crate) async fn read_buid(&mut self) -> Result<String, DeviceError> {
        let reply = self.request("ReadBUID", Dictionary::new()).await?;
        reply
            .get("BUID")
            .and_then(Value::as_string)
            .map(str::to_owned)
            .ok_or_else(|| protocol("ReadBUID reply without a BUID"))
    }

    /// The stored pair record's bytes; None when usbmuxd holds none for `udid`.
    pub(crate) async fn read_pair_record(
        &mut self,
        udid: &str,
    ) -> Result<Option<Vec<u8>>, DeviceError> {
        let mut extra = Dictionary::new();
        extra.insert("PairRecordID".into(), udid.into());
        let reply = self.request("ReadPairRecord", extra).await?;
        if let Some(data) = reply.get("PairRecordData") {
            return data
                .as_data()
                .map(|d| Some(d.to_vec()))
                .ok_or_else(|| protocol("PairRecordData is not data"));
        }
        match result_number(&reply) {
            Some(0) | None => Err(protocol(
                "ReadPairRecord reply without a record or a result",
            )),
            Some(_) => Ok(None),
        }
    }

    pub(crate) async fn save_pair_record(
        &mut self,
        udid: &str,
        device_id: u32,
        record: Vec<u8>,
    ) -> Result<(), DeviceError> {
        let mut extra = Dictionary::new();
        extra.insert("PairRecordID".into(), udid.into());
        extra.insert("PairRecordData".into(), Value::Data(record));
        extra.insert(
            "DeviceID".into(),
            Value::Integer(u64::from(device_id).into()),
        );
        let reply = self.request("SavePairRecord", extra).await?;
        match result_number(&reply) {
            Some(0) => Ok(()),
            Some(n) => Err(DeviceError::Refused {
                detail: format!("usbmuxd would not save the pair record (result {n})"),
            }),
            None => Err(protocol("SavePairRecord reply without a result")),
        }
    }

    /// The duplicate of the socket, for [`super::zero_copy`]: taken before
    /// [`Self::connect_port`] makes this connection a service's.
    #[cfg(target_os = "linux")]
    pub(crate) fn take_raw(&mut self) -> Option<std::os::fd::OwnedFd> {
        self.raw.take()
    }

    /// Turns this connection into a byte pipe to `port` on the phone.
    pub(crate) async fn connect_port(
        mut self,
        device: &MuxDevice,
        port: u16,
    ) -> Result<Box<dyn ReadWrite>, DeviceError> {
        let mut extra = Dictionary::new();
        extra.insert(
            "DeviceID".into(),
            Value::Integer(u64::from(device.device_id).into()),
        );
        // Network byte order, as usbmuxd expects it.
        extra.insert(
            "PortNumber".into(),
            Value::Integer(u64::from(port.to_be()).into()),
        );
        let reply = self.request("Connect", extra).await?;
        match result_number(&reply) {
            Some(0) => Ok(self.stream),
            Some(2) => Err(DeviceError::NotFound {
                id: device.udid.clone(),
            }),
            Some(3) => Err(DeviceError::Refused {
                detail: format!("the phone refused a connection to port {port}"),
            }),
            Some(n) => Err(protocol(format!("Connect failed with result {n}"))),
            None => Err(protocol("Connect reply without a result")),
        }
    }

    /// Starts listening: the reply must be a success; events follow with [`Self::next_event`].
    pub(crate) async fn listen(&mut self) -> Result<(), DeviceError> {
        let reply = self.request("Listen", Dictionary::new()).await?;
        match result_number(&reply) {
            Some(0) => Ok(()),
            other => Err(protocol(format!("Listen was not accepted ({other:?})"))),
        }
    }

    /// The next attach, detach or pairing; unknown messages are skipped. Not bounded in
    /// time: a quiet usbmuxd is normal while nothing is plugged in.
    pub(crate) async fn next_event(&mut self) -> Result<MuxEvent, DeviceError> {
        loop {
            let message = self.receive().await?;
            let id = || {
                message
                    .get("DeviceID")
                    .and_then(Value::as_unsigned_integer)
                    .and_then(|n| u32::try_from(n).ok())
            };
            match message.get("MessageType").and_then(Value::as_string) {
                Some("Attached") => match device_of(&message) {
                    Some(device) => return Ok(MuxEvent::Attached(device)),
                    None => tracing::warn!("usbmuxd: an Attached event without a device"),
                },
                Some("Detached") => match id() {
                    Some(id) => return Ok(MuxEvent::Detached(id)),
                    None => tracing::warn!("usbmuxd: a Detached event without a DeviceID"),
                },
                Some("Paired") => {
                    if let Some(id) = id() {
                        return Ok(MuxEvent::Paired(id));
                    }
                }
                other => tracing::debug!("usbmuxd: skipping a {other:?} message"),
            }
        }
    }
}

/// The connection, and where zero-copy sends are possible a duplicate of its socket.
type Connected = (Box<dyn ReadWrite>, Option<RawSocket>);
#[cfg(target_os = "linux")]
type RawSocket = std::os::fd::OwnedFd;
#[cfg(not(target_os = "linux"))]
type RawSocket = std::convert::Infallible;

/// A duplicate of `socket` for zero-copy sends; None where there are none or the
/// duplicate cannot be made (the plain path then carries everything).
#[cfg(target_os = "linux")]
fn raw_socket(socket: &impl std::os::fd::AsFd) -> Option<RawSocket> {
    socket.as_fd().try_clone_to_owned().ok()
}
#[cfg(not(target_os = "linux"))]
fn raw_socket<T>(_socket: &T) -> Option<RawSocket> {
    None
}

async fn connect(address: &MuxAddress) -> Result<Connected, DeviceError> {
    let fail = |e: std::io::Error| unavailable(address, &e);
    match address {
        MuxAddress::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr).await.map_err(fail)?;
            // Lockdown and its services send a length, then a body, and wait for the
            // answer: with Nagle's algorithm each exchange stalls on a delayed ACK
            // (about 40 ms on Linux), which made reading a phone take 0.4 s.
            stream.set_nodelay(true).map_err(fail)?;
            let raw = raw_socket(&stream);
            Ok((Box::new(stream), raw))
        }
        #[cfg(unix)]
        MuxAddress::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path).await.map_err(fail)?;
            let raw = raw_socket(&stream);
            Ok((Box::new(stream), raw))
        }
        #[cfg(not(unix))]
        MuxAddress::Unix(_) => Err(fail(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "Unix sockets are not available on this system",
        ))),
    }
}

async fn read_exact(stream: &mut Box<dyn ReadWrite>, buf: &mut [u8]) -> Result<(), DeviceError> {
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(protocol("usbmuxd closed the connection mid-reply"))
        }
        Err(e) => Err(DeviceError::Io(e)),
    }
}

fn result_number(reply: &Dictionary) -> Option<u64> {
    reply.get("Number").and_then(Value::as_unsigned_integer)
}

/// A device from an Attached dictionary (ListDevices entry or Listen event). DeviceID may be
/// at the top or in Properties, depending on the usbmuxd.
fn device_of(entry: &Dictionary) -> Option<MuxDevice> {
    let props = entry.get("Properties").and_then(Value::as_dictionary)?;
    let number = |d: &Dictionary, key: &str| d.get(key).and_then(Value::as_unsigned_integer);
    let device_id = number(entry, "DeviceID").or_else(|| number(props, "DeviceID"))?;
    Some(MuxDevice {
        device_id: u32::try_from(device_id).ok()?,
        udid: props
            .get("SerialNumber")
            .and_then(Value::as_string)?
            .to_owned(),
        connection: props
            .get("ConnectionType")
            .and_then(Value::as_string)
            .unwrap_or("USB")
            .to_owned(),
        speed_bps: number(props, "ConnectionSpeed"),
    })
}
