//! AFC: the subset of the Apple File Conduit that a restore uses, jailed in the phone's
//! storage folder.
//!
//! Packets are a 40-byte little-endian header (`"CFA6LPAA"`, entire length, this length,
//! packet number, operation) followed by the operation's header data and then its payload.
//! Replies echo the packet number. A status reply carries its code in the header data; a
//! data reply carries its bytes in the payload (idevice reads them from there,
//! libimobiledevice reads both parts as one).

use crate::iphone::Phone;
use crate::iphone::mobilebackup2::link::{Link, Quiet};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"CFA6LPAA";
const HEADER: usize = 40;
/// The largest packet accepted: hosts write in pieces of at most a few MiB.
const MAX_PACKET: u64 = 64 * 1024 * 1024;
/// The largest FILE_READ answered in one packet.
const MAX_READ: u64 = 4 * 1024 * 1024;
/// A host holds its AFC connection (and the sync lock) open, silent, for a whole restore.
const IDLE_LIMIT: Duration = Duration::from_secs(6 * 60 * 60);

mod op {
    pub const STATUS: u64 = 0x01;
    pub const DATA: u64 = 0x02;
    pub const READ_DIR: u64 = 0x03;
    pub const REMOVE_PATH: u64 = 0x08;
    pub const MAKE_DIR: u64 = 0x09;
    pub const GET_FILE_INFO: u64 = 0x0A;
    pub const GET_DEVINFO: u64 = 0x0B;
    pub const FILE_OPEN: u64 = 0x0D;
    pub const FILE_OPEN_RES: u64 = 0x0E;
    pub const FILE_READ: u64 = 0x0F;
    pub const FILE_WRITE: u64 = 0x10;
    pub const FILE_SEEK: u64 = 0x11;
    pub const FILE_CLOSE: u64 = 0x14;
    pub const FILE_LOCK: u64 = 0x1B;
}

/// AFC status codes (libimobiledevice `afc_error_t`).
mod status {
    pub const SUCCESS: u64 = 0;
    pub const INVALID_ARG: u64 = 7;
    pub const OBJECT_NOT_FOUND: u64 = 8;
    pub const OBJECT_IS_DIR: u64 = 9;
    pub const PERM_DENIED: u64 = 10;
    pub const OP_NOT_SUPPORTED: u64 = 15;
    pub const OBJECT_EXISTS: u64 = 16;
    pub const OP_WOULD_BLOCK: u64 = 19;
    pub const IO_ERROR: u64 = 20;
    pub const DIR_NOT_EMPTY: u64 = 33;
}

/// flock-style lock operations of FILE_LOCK.
const LOCK_SHARED: u64 = 1 | 4;
const LOCK_EXCLUSIVE: u64 = 2 | 4;
const LOCK_UNLOCK: u64 = 8 | 4;

/// Why an AFC connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AfcError {
    #[error("afc: the packet header does not start with CFA6LPAA")]
    BadMagic,
    #[error("afc: a packet announced {entire} bytes with a {this}-byte header part")]
    BadLengths { entire: u64, this: u64 },
    #[error("afc: the host was silent for {} hours", IDLE_LIMIT.as_secs() / 3600)]
    Idle,
    #[error("afc: {0}")]
    Io(#[from] io::Error),
}

/// The file locks of one phone, shared by its AFC connections (flock semantics per path).
#[derive(Default)]
pub struct Locks {
    held: Mutex<HashMap<PathBuf, LockState>>,
    next_connection: AtomicU64,
}

#[derive(Debug)]
enum LockState {
    /// Connections holding a shared lock (with their count of handles).
    Shared(HashMap<u64, u32>),
    Exclusive(u64),
}

impl Locks {
    fn lock_map(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, LockState>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `operation` for `connection` on `path`; returns the AFC status.
    fn apply(&self, connection: u64, path: &Path, operation: u64) -> u64 {
        let mut held = self.lock_map();
        match operation {
            LOCK_UNLOCK => {
                release(&mut held, connection, path);
                status::SUCCESS
            }
            LOCK_EXCLUSIVE => match held.get(path) {
                None => {
                    held.insert(path.to_path_buf(), LockState::Exclusive(connection));
                    status::SUCCESS
                }
                Some(LockState::Exclusive(owner)) if *owner == connection => status::SUCCESS,
                Some(LockState::Shared(owners))
                    if owners.len() == 1 && owners.contains_key(&connection) =>
                {
                    // Upgrading one's own shared lock, as flock allows.
                    held.insert(path.to_path_buf(), LockState::Exclusive(connection));
                    status::SUCCESS
                }
                Some(_) => status::OP_WOULD_BLOCK,
            },
            LOCK_SHARED => match held.get_mut(path) {
                None => {
                    let owners = HashMap::from([(connection, 1)]);
                    held.insert(path.to_path_buf(), LockState::Shared(owners));
                    status::SUCCESS
                }
                Some(LockState::Shared(owners)) => {
                    *owners.entry(connection).or_insert(0) += 1;
                    status::SUCCESS
                }
                Some(LockState::Exclusive(owner)) if *owner == connection => {
                    held.insert(
                        path.to_path_buf(),
                        LockState::Shared(HashMap::from([(connection, 1)])),
                    );
                    status::SUCCESS
                }
                Some(LockState::Exclusive(_)) => status::OP_WOULD_BLOCK,
            },
            _ => status::INVALID_ARG,
        }
    }

    fn release_all(&self, connection: u64) {
        let mut held = self.lock_map();
        let paths: Vec<PathBuf> = held.keys().cloned().collect();
        for path in paths {
            release(&mut held, connection, &path);
        }
    }
}

fn release(held: &mut HashMap<PathBuf, LockState>, connection: u64, path: &Path) {
    let empty = match held.get_mut(path) {
        Some(LockState::Exclusive(owner)) => *owner == connection,
        Some(LockState::Shared(owners)) => {
            owners.remove(&connection);
            owners.is_empty()
        }
        None => false,
    };
    if empty {
        held.remove(path);
    }
}

/// Releases the connection's locks however `serve` ends.
struct ConnectionLocks<'l> {
    locks: &'l Locks,
    id: u64,
}

impl Drop for ConnectionLocks<'_> {
    fn drop(&mut self) {
        self.locks.release_all(self.id);
    }
}

struct OpenFile {
    file: File,
    path: PathBuf,
}

struct Request {
    packet_num: u64,
    operation: u64,
    header_data: Vec<u8>,
    payload: Vec<u8>,
}

enum Reply {
    Status(u64),
    Data(Vec<u8>),
    Handle(u64),
}

/// Serves one AFC connection until the host closes it.
pub fn serve<S: Read + Write>(stream: &mut S, phone: &Phone) -> Result<(), AfcError> {
    let root = phone.storage_dir();
    fs::create_dir_all(&root)?;
    let jail = Jail {
        root: root.canonicalize()?,
    };
    let locks = ConnectionLocks {
        locks: &phone.afc_locks,
        id: phone
            .afc_locks
            .next_connection
            .fetch_add(1, Ordering::Relaxed)
            + 1,
    };
    let mut session = Session {
        jail,
        files: HashMap::new(),
        next_handle: 1,
        connection: locks.id,
        locks: locks.locks,
        phone,
    };
    let mut link = Link::new(stream, Quiet::GiveUpAfter(IDLE_LIMIT));
    loop {
        let request = match read_request(&mut link) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(AfcError::Io(e)) if e.kind() == io::ErrorKind::TimedOut => {
                return Err(AfcError::Idle);
            }
            Err(e) => return Err(e),
        };
        let reply = session.handle(&request);
        send_reply(&mut link, request.packet_num, reply)?;
    }
}

fn read_request<S: Read + Write>(link: &mut Link<'_, S>) -> Result<Option<Request>, AfcError> {
    match link.ensure(HEADER) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && link.buffered().is_empty() => {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    let mut header = [0u8; HEADER];
    link.read_exact(&mut header)?;
    if &header[..8] != MAGIC {
        return Err(AfcError::BadMagic);
    }
    let field = |i: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&header[8 + i * 8..16 + i * 8]);
        u64::from_le_bytes(bytes)
    };
    let (entire, this, packet_num, operation) = (field(0), field(1), field(2), field(3));
    if this < HEADER as u64 || entire < this || entire - HEADER as u64 > MAX_PACKET {
        return Err(AfcError::BadLengths { entire, this });
    }
    let mut header_data = vec![0u8; (this - HEADER as u64) as usize];
    link.read_exact(&mut header_data)?;
    let mut payload = vec![0u8; (entire - this) as usize];
    link.read_exact(&mut payload)?;
    Ok(Some(Request {
        packet_num,
        operation,
        header_data,
        payload,
    }))
}

fn send_reply<S: Read + Write>(
    link: &mut Link<'_, S>,
    packet_num: u64,
    reply: Reply,
) -> io::Result<()> {
    let (operation, header_data, payload) = match reply {
        Reply::Status(code) => (op::STATUS, code.to_le_bytes().to_vec(), Vec::new()),
        Reply::Handle(handle) => (op::FILE_OPEN_RES, handle.to_le_bytes().to_vec(), Vec::new()),
        Reply::Data(bytes) => (op::DATA, Vec::new(), bytes),
    };
    let this = (HEADER + header_data.len()) as u64;
    let entire = this + payload.len() as u64;
    let mut packet = Vec::with_capacity(entire as usize);
    packet.extend_from_slice(MAGIC);
    for value in [entire, this, packet_num, operation] {
        packet.extend_from_slice(&value.to_le_bytes());
    }
    packet.extend_from_slice(&header_data);
    packet.extend_from_slice(&payload);
    link.write_all(&packet)?;
    link.flush()
}

/// Paths from the host, resolved inside the phone's storage and nowhere else.
struct Jail {
    root: PathBuf,
}

impl Jail {
    /// The real path of an AFC path, or the AFC status that refuses it: `..` above the
    /// root and links that lead out of the storage are refused as permission denied.
    fn resolve(&self, afc_path: &[u8]) -> Result<PathBuf, u64> {
        let text = std::str::from_utf8(afc_path).map_err(|_| status::INVALID_ARG)?;
        if text.is_empty() {
            return Err(status::INVALID_ARG);
        }
        let mut parts: Vec<&str> = Vec::new();
        for component in Path::new(text).components() {
            match component {
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(status::PERM_DENIED);
                    }
                }
                Component::Normal(name) => parts.push(name.to_str().ok_or(status::INVALID_ARG)?),
                Component::Prefix(_) => return Err(status::PERM_DENIED),
            }
        }
        let mut path = self.root.clone();
        path.extend(&parts);
        // The deepest part that exists must stay inside the storage once links resolve.
        let mut existing = path.as_path();
        loop {
            if fs::symlink_metadata(existing).is_ok() {
                break;
            }
            existing = existing.parent().ok_or(status::PERM_DENIED)?;
        }
        match existing.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(path),
            Ok(_) => Err(status::PERM_DENIED),
            // A dangling link: it points somewhere that does not exist, maybe outside.
            Err(_) => Err(status::PERM_DENIED),
        }
    }
}

fn nul_terminated(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

fn u64_at(bytes: &[u8], index: usize) -> Option<u64> {
    let slice = bytes.get(index * 8..index * 8 + 8)?;
    let mut array = [0u8; 8];
    array.copy_from_slice(slice);
    Some(u64::from_le_bytes(array))
}

fn io_status(e: &io::Error) -> u64 {
    match e.kind() {
        io::ErrorKind::NotFound => status::OBJECT_NOT_FOUND,
        io::ErrorKind::PermissionDenied => status::PERM_DENIED,
        io::ErrorKind::AlreadyExists => status::OBJECT_EXISTS,
        io::ErrorKind::IsADirectory => status::OBJECT_IS_DIR,
        io::ErrorKind::DirectoryNotEmpty => status::DIR_NOT_EMPTY,
        io::ErrorKind::NotADirectory => status::OBJECT_NOT_FOUND,
        _ => status::IO_ERROR,
    }
}

fn key_values(pairs: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

struct Session<'p> {
    jail: Jail,
    files: HashMap<u64, OpenFile>,
    next_handle: u64,
    connection: u64,
    locks: &'p Locks,
    phone: &'p Phone,
}

impl Session<'_> {
    fn handle(&mut self, request: &Request) -> Reply {
        let data = &request.header_data;
        match request.operation {
            op::FILE_OPEN => self.open(data),
            op::FILE_WRITE => self.write(data, &request.payload),
            op::FILE_READ => self.read(data),
            op::FILE_SEEK => self.seek(data),
            op::FILE_CLOSE => self.close(data),
            op::FILE_LOCK => self.lock(data),
            op::MAKE_DIR => self.with_path(data, |path| {
                fs::create_dir_all(path).map(|()| Reply::Status(status::SUCCESS))
            }),
            op::REMOVE_PATH => self.with_path(data, |path| {
                let meta = fs::symlink_metadata(path)?;
                if meta.is_dir() {
                    fs::remove_dir(path)?;
                } else {
                    fs::remove_file(path)?;
                }
                Ok(Reply::Status(status::SUCCESS))
            }),
            op::GET_FILE_INFO => self.with_path(data, file_info),
            op::READ_DIR => self.with_path(data, |path| {
                let mut names = b".\0..\0".to_vec();
                for entry in fs::read_dir(path)? {
                    names.extend_from_slice(entry?.file_name().as_encoded_bytes());
                    names.push(0);
                }
                Ok(Reply::Data(names))
            }),
            op::GET_DEVINFO => self.device_info(),
            other => {
                eprintln!("plugback-sim: afc: operation {other:#x} is not supported");
                Reply::Status(status::OP_NOT_SUPPORTED)
            }
        }
    }

    fn with_path(&self, data: &[u8], action: impl FnOnce(&Path) -> io::Result<Reply>) -> Reply {
        match self.jail.resolve(nul_terminated(data)) {
            Ok(path) => action(&path).unwrap_or_else(|e| Reply::Status(io_status(&e))),
            Err(code) => Reply::Status(code),
        }
    }

    fn open(&mut self, data: &[u8]) -> Reply {
        let Some(mode) = u64_at(data, 0) else {
            return Reply::Status(status::INVALID_ARG);
        };
        let path = match self.jail.resolve(nul_terminated(&data[8..])) {
            Ok(path) => path,
            Err(code) => return Reply::Status(code),
        };
        let mut options = OpenOptions::new();
        match mode {
            1 => options.read(true),                                         // r
            2 => options.read(true).write(true).create(true),                // r+ (AFC creates)
            3 => options.write(true).create(true).truncate(true),            // w
            4 => options.read(true).write(true).create(true).truncate(true), // w+
            5 => options.append(true).create(true),                          // a
            6 => options.read(true).append(true).create(true),               // a+
            _ => return Reply::Status(status::INVALID_ARG),
        };
        if path.is_dir() {
            return Reply::Status(status::OBJECT_IS_DIR);
        }
        match options.open(&path) {
            Ok(file) => {
                let handle = self.next_handle;
                self.next_handle += 1;
                self.files.insert(handle, OpenFile { file, path });
                Reply::Handle(handle)
            }
            Err(e) => Reply::Status(io_status(&e)),
        }
    }

    fn file(&mut self, data: &[u8]) -> Result<&mut OpenFile, Reply> {
        let handle = u64_at(data, 0).ok_or(Reply::Status(status::INVALID_ARG))?;
        self.files
            .get_mut(&handle)
            .ok_or(Reply::Status(status::INVALID_ARG))
    }

    fn write(&mut self, data: &[u8], payload: &[u8]) -> Reply {
        match self.file(data) {
            Ok(open) => match open.file.write_all(payload) {
                Ok(()) => Reply::Status(status::SUCCESS),
                Err(e) => Reply::Status(io_status(&e)),
            },
            Err(reply) => reply,
        }
    }

    fn read(&mut self, data: &[u8]) -> Reply {
        let wanted = u64_at(data, 1).unwrap_or(0).min(MAX_READ);
        match self.file(data) {
            Ok(open) => {
                let mut bytes = Vec::with_capacity(wanted as usize);
                match (&mut open.file).take(wanted).read_to_end(&mut bytes) {
                    Ok(_) => Reply::Data(bytes),
                    Err(e) => Reply::Status(io_status(&e)),
                }
            }
            Err(reply) => reply,
        }
    }

    fn seek(&mut self, data: &[u8]) -> Reply {
        let (Some(whence), Some(offset)) = (u64_at(data, 1), u64_at(data, 2)) else {
            return Reply::Status(status::INVALID_ARG);
        };
        let offset = offset as i64;
        let position = match whence {
            0 => SeekFrom::Start(offset.max(0) as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Reply::Status(status::INVALID_ARG),
        };
        match self.file(data) {
            Ok(open) => match open.file.seek(position) {
                Ok(_) => Reply::Status(status::SUCCESS),
                Err(e) => Reply::Status(io_status(&e)),
            },
            Err(reply) => reply,
        }
    }

    fn close(&mut self, data: &[u8]) -> Reply {
        let Some(handle) = u64_at(data, 0) else {
            return Reply::Status(status::INVALID_ARG);
        };
        match self.files.remove(&handle) {
            Some(open) => {
                // Closing a descriptor drops its flock, unless another handle of this
                // connection still has the same file open.
                if !self.files.values().any(|f| f.path == open.path) {
                    self.locks.apply(self.connection, &open.path, LOCK_UNLOCK);
                }
                Reply::Status(status::SUCCESS)
            }
            None => Reply::Status(status::INVALID_ARG),
        }
    }

    fn lock(&mut self, data: &[u8]) -> Reply {
        let Some(operation) = u64_at(data, 1) else {
            return Reply::Status(status::INVALID_ARG);
        };
        let connection = self.connection;
        let locks = self.locks;
        match self.file(data) {
            Ok(open) => Reply::Status(locks.apply(connection, &open.path, operation)),
            Err(reply) => reply,
        }
    }

    fn device_info(&self) -> Reply {
        let config = self.phone.config();
        Reply::Data(key_values(&[
            ("Model", config.product_type.clone()),
            ("FSTotalBytes", config.total_bytes.to_string()),
            ("FSFreeBytes", config.free_bytes.to_string()),
            ("FSBlockSize", "4096".to_string()),
        ]))
    }
}

fn file_info(path: &Path) -> io::Result<Reply> {
    let meta = fs::symlink_metadata(path)?;
    let kind = if meta.is_dir() {
        "S_IFDIR"
    } else if meta.file_type().is_symlink() {
        "S_IFLNK"
    } else {
        "S_IFREG"
    };
    let nanos = |time: io::Result<std::time::SystemTime>| {
        time.ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
            .to_string()
    };
    let mut pairs = vec![
        ("st_size", meta.len().to_string()),
        ("st_blocks", meta.len().div_ceil(512).to_string()),
        ("st_nlink", "1".to_string()),
        ("st_ifmt", kind.to_string()),
        ("st_mtime", nanos(meta.modified())),
        (
            "st_birthtime",
            nanos(meta.created().or_else(|_| meta.modified())),
        ),
    ];
    if meta.file_type().is_symlink() {
        pairs.push((
            "st_link_target",
            fs::read_link(path)?.to_string_lossy().into_owned(),
        ));
    }
    Ok(Reply::Data(key_values(&pairs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// A minimal AFC host for the tests.
    struct Host {
        stream: UnixStream,
        packet_num: u64,
    }

    impl Host {
        fn request(
            &mut self,
            operation: u64,
            header_data: &[u8],
            payload: &[u8],
        ) -> (u64, Vec<u8>) {
            self.packet_num += 1;
            let this = (HEADER + header_data.len()) as u64;
            let entire = this + payload.len() as u64;
            let mut packet = MAGIC.to_vec();
            for v in [entire, this, self.packet_num, operation] {
                packet.extend_from_slice(&v.to_le_bytes());
            }
            packet.extend_from_slice(header_data);
            packet.extend_from_slice(payload);
            self.stream.write_all(&packet).unwrap();
            let mut header = [0u8; HEADER];
            self.stream.read_exact(&mut header).unwrap();
            assert_eq!(&header[..8], MAGIC);
            let entire = u64_at(&header[8..], 0).unwrap();
            assert_eq!(u64_at(&header[8..], 2), Some(self.packet_num));
            let reply_op = u64_at(&header[8..], 3).unwrap();
            let mut rest = vec![0u8; entire as usize - HEADER];
            self.stream.read_exact(&mut rest).unwrap();
            (reply_op, rest)
        }

        fn status(&mut self, operation: u64, header_data: &[u8]) -> u64 {
            let (reply_op, rest) = self.request(operation, header_data, &[]);
            assert_eq!(reply_op, op::STATUS);
            u64_at(&rest, 0).unwrap()
        }

        fn open(&mut self, mode: u64, path: &str) -> Result<u64, u64> {
            let mut data = mode.to_le_bytes().to_vec();
            data.extend_from_slice(path.as_bytes());
            data.push(0);
            let (reply_op, rest) = self.request(op::FILE_OPEN, &data, &[]);
            let value = u64_at(&rest, 0).unwrap();
            if reply_op == op::FILE_OPEN_RES {
                Ok(value)
            } else {
                Err(value)
            }
        }

        fn lock(&mut self, handle: u64, operation: u64) -> u64 {
            let mut data = handle.to_le_bytes().to_vec();
            data.extend_from_slice(&operation.to_le_bytes());
            self.status(op::FILE_LOCK, &data)
        }
    }

    fn start(phone: &std::sync::Arc<Phone>) -> (Host, std::thread::JoinHandle<()>) {
        let (host, mut device) = UnixStream::pair().unwrap();
        let phone = phone.clone();
        let thread = std::thread::spawn(move || {
            serve(&mut device, &phone).unwrap();
        });
        host.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (
            Host {
                stream: host,
                packet_num: 0,
            },
            thread,
        )
    }

    fn phone(dir: &Path) -> std::sync::Arc<Phone> {
        std::sync::Arc::new(Phone::new(
            crate::iphone::mobilebackup2::tests_support::config(dir),
        ))
    }

    #[test]
    fn an_exclusive_lock_would_block_another_connection_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let phone = phone(dir.path());
        let (mut first, first_thread) = start(&phone);
        let (mut second, second_thread) = start(&phone);
        let a = first.open(2, "/com.apple.itunes.lock_sync").unwrap();
        let b = second.open(2, "/com.apple.itunes.lock_sync").unwrap();
        assert_eq!(first.lock(a, LOCK_EXCLUSIVE), status::SUCCESS);
        assert_eq!(second.lock(b, LOCK_EXCLUSIVE), status::OP_WOULD_BLOCK);
        assert_eq!(second.lock(b, LOCK_SHARED), status::OP_WOULD_BLOCK);
        assert_eq!(first.lock(a, LOCK_UNLOCK), status::SUCCESS);
        assert_eq!(second.lock(b, LOCK_SHARED), status::SUCCESS);
        assert_eq!(first.lock(a, LOCK_EXCLUSIVE), status::OP_WOULD_BLOCK);
        // Closing the connection releases what it held.
        drop(second);
        second_thread.join().unwrap();
        assert_eq!(first.lock(a, LOCK_EXCLUSIVE), status::SUCCESS);
        drop(first);
        first_thread.join().unwrap();
        assert!(phone.afc_locks.lock_map().is_empty());
    }

    #[test]
    fn writes_read_back_and_file_info_reports_size_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let phone = phone(dir.path());
        let (mut host, thread) = start(&phone);
        let mut mkdir = b"/iTunesRestore".to_vec();
        mkdir.push(0);
        assert_eq!(host.status(op::MAKE_DIR, &mkdir), status::SUCCESS);
        let handle = host
            .open(4, "/iTunesRestore/RestoreApplications.plist")
            .unwrap();
        let (reply, rest) = host.request(op::FILE_WRITE, &handle.to_le_bytes(), b"hello afc");
        assert_eq!(
            (reply, u64_at(&rest, 0)),
            (op::STATUS, Some(status::SUCCESS))
        );
        assert_eq!(
            host.status(op::FILE_CLOSE, &handle.to_le_bytes()),
            status::SUCCESS
        );
        assert_eq!(
            fs::read(
                phone
                    .storage_dir()
                    .join("iTunesRestore/RestoreApplications.plist")
            )
            .unwrap(),
            b"hello afc"
        );
        let mut path = b"/iTunesRestore/RestoreApplications.plist".to_vec();
        path.push(0);
        let (reply, info) = host.request(op::GET_FILE_INFO, &path, &[]);
        assert_eq!(reply, op::DATA);
        let text = String::from_utf8(info).unwrap();
        let fields: Vec<&str> = text.split('\0').collect();
        let value = |key: &str| fields.iter().position(|f| *f == key).map(|i| fields[i + 1]);
        assert_eq!(value("st_size"), Some("9"));
        assert_eq!(value("st_ifmt"), Some("S_IFREG"));

        let read = host
            .open(1, "/iTunesRestore/RestoreApplications.plist")
            .unwrap();
        let mut data = read.to_le_bytes().to_vec();
        data.extend_from_slice(&100u64.to_le_bytes());
        let (reply, bytes) = host.request(op::FILE_READ, &data, &[]);
        assert_eq!((reply, bytes.as_slice()), (op::DATA, &b"hello afc"[..]));

        // Unknown operations get a status and the connection goes on.
        assert_eq!(host.status(0x7F, &[]), status::OP_NOT_SUPPORTED);
        assert_eq!(host.status(op::REMOVE_PATH, &path), status::SUCCESS);
        assert_eq!(
            host.status(op::REMOVE_PATH, &path),
            status::OBJECT_NOT_FOUND
        );
        drop(host);
        thread.join().unwrap();
    }

    #[test]
    fn paths_never_leave_the_storage() {
        let dir = tempfile::tempdir().unwrap();
        let phone = phone(dir.path());
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, b"secret").unwrap();
        fs::create_dir_all(phone.storage_dir()).unwrap();
        std::os::unix::fs::symlink(dir.path(), phone.storage_dir().join("escape")).unwrap();
        let (mut host, thread) = start(&phone);
        for path in [
            "/../outside.txt",
            "../../outside.txt",
            "/a/../../outside.txt",
        ] {
            assert_eq!(host.open(1, path), Err(status::PERM_DENIED), "{path}");
        }
        assert_eq!(
            host.open(1, "/escape/outside.txt"),
            Err(status::PERM_DENIED)
        );
        assert_eq!(host.open(3, "/escape/new.txt"), Err(status::PERM_DENIED));
        let mut mkdir = b"/escape/made".to_vec();
        mkdir.push(0);
        assert_eq!(host.status(op::MAKE_DIR, &mkdir), status::PERM_DENIED);
        assert!(!dir.path().join("made").exists());
        // `..` that stays inside is fine.
        assert!(host.open(3, "/a/../inside.txt").is_ok());
        assert!(phone.storage_dir().join("inside.txt").is_file());
        assert_eq!(fs::read(&outside).unwrap(), b"secret");
        drop(host);
        thread.join().unwrap();
    }

    #[test]
    fn garbage_closes_the_connection_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let phone = phone(dir.path());
        let (mut host, mut device) = UnixStream::pair().unwrap();
        host.write_all(&[0x55; 40]).unwrap();
        assert!(matches!(
            serve(&mut device, &phone),
            Err(AfcError::BadMagic)
        ));
        let (mut host, mut device) = UnixStream::pair().unwrap();
        let mut packet = MAGIC.to_vec();
        for v in [u64::MAX, 40, 1, op::FILE_WRITE] {
            packet.extend_from_slice(&v.to_le_bytes());
        }
        host.write_all(&packet).unwrap();
        assert!(matches!(
            serve(&mut device, &phone),
            Err(AfcError::BadLengths { .. })
        ));
        let (mut host, mut device) = UnixStream::pair().unwrap();
        host.write_all(&MAGIC[..4]).unwrap();
        drop(host);
        assert!(serve(&mut device, &phone).is_err());
    }
}
