//! A host-side sync client written from the protocol description, to drive the phone's
//! `sync:` and `restore:` services in-process over a socket pair.

use plugback_sim::android::{AndroidConfig, AndroidPhone};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub const DATA_MAX: usize = 64 * 1024;

/// A phone with its storage in a temporary folder.
pub fn phone(change: impl FnOnce(&mut AndroidConfig)) -> (tempfile::TempDir, Arc<AndroidPhone>) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AndroidConfig::new(dir.path().join("phone"));
    change(&mut config);
    let phone = Arc::new(AndroidPhone::new(config).unwrap());
    (dir, phone)
}

/// The host's end of a service stream; the phone side runs on a thread.
pub struct Host<T> {
    pub stream: UnixStream,
    pub service: Option<JoinHandle<T>>,
}

impl<T: Send + 'static> Host<T> {
    pub fn start(
        phone: &Arc<AndroidPhone>,
        serve: impl FnOnce(&mut UnixStream, &AndroidPhone) -> T + Send + 'static,
    ) -> Host<T> {
        let (host, mut device) = UnixStream::pair().unwrap();
        host.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let phone = phone.clone();
        let service = std::thread::spawn(move || serve(&mut device, &phone));
        Host {
            stream: host,
            service: Some(service),
        }
    }

    /// Waits for the service to end and returns its result.
    pub fn finish(mut self) -> T {
        self.service.take().unwrap().join().unwrap()
    }
}

fn id(tag: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*tag)
}

pub fn request(id_tag: &[u8; 4], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id(id_tag).to_le_bytes());
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path);
    out
}

/// The bytes of a whole v1 push: SEND, DATA chunks, DONE.
pub fn push_bytes(remote: &str, mode: u32, content: &[u8], mtime: u32, chunk: usize) -> Vec<u8> {
    let mut out = request(b"SEND", format!("{remote},{mode}").as_bytes());
    for piece in content.chunks(chunk) {
        out.extend_from_slice(b"DATA");
        out.extend_from_slice(&(piece.len() as u32).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(b"DONE");
    out.extend_from_slice(&mtime.to_le_bytes());
    out
}

pub fn read_u32(stream: &mut UnixStream) -> u32 {
    let mut raw = [0u8; 4];
    stream.read_exact(&mut raw).unwrap();
    u32::from_le_bytes(raw)
}

fn read_tag(stream: &mut UnixStream) -> [u8; 4] {
    let mut raw = [0u8; 4];
    stream.read_exact(&mut raw).unwrap();
    raw
}

/// OKAY → Ok, FAIL → Err(message).
pub fn read_status(stream: &mut UnixStream) -> Result<(), String> {
    let tag = read_tag(stream);
    let len = read_u32(stream) as usize;
    match &tag {
        b"OKAY" => Ok(()),
        b"FAIL" => {
            let mut msg = vec![0u8; len];
            stream.read_exact(&mut msg).unwrap();
            Err(String::from_utf8(msg).unwrap())
        }
        other => panic!("unexpected status {:?}", String::from_utf8_lossy(other)),
    }
}

pub fn push(
    stream: &mut UnixStream,
    remote: &str,
    content: &[u8],
    mtime: u32,
) -> Result<(), String> {
    stream
        .write_all(&push_bytes(remote, 0o100_644, content, mtime, DATA_MAX - 8))
        .unwrap();
    read_status(stream)
}

pub fn pull(stream: &mut UnixStream, remote: &str) -> Result<Vec<u8>, String> {
    stream
        .write_all(&request(b"RECV", remote.as_bytes()))
        .unwrap();
    let mut out = Vec::new();
    loop {
        let tag = read_tag(stream);
        let len = read_u32(stream) as usize;
        match &tag {
            b"DATA" => {
                assert!(len <= DATA_MAX, "DATA of {len} bytes");
                let start = out.len();
                out.resize(start + len, 0);
                stream.read_exact(&mut out[start..]).unwrap();
            }
            b"DONE" => return Ok(out),
            b"FAIL" => {
                let mut msg = vec![0u8; len];
                stream.read_exact(&mut msg).unwrap();
                return Err(String::from_utf8(msg).unwrap());
            }
            other => panic!("unexpected {:?}", String::from_utf8_lossy(other)),
        }
    }
}

/// STAT (v1): (mode, size, mtime).
pub fn stat_v1(stream: &mut UnixStream, remote: &str) -> (u32, u32, u32) {
    stream
        .write_all(&request(b"STAT", remote.as_bytes()))
        .unwrap();
    assert_eq!(&read_tag(stream), b"STAT");
    (read_u32(stream), read_u32(stream), read_u32(stream))
}

/// The fields of a v2 stat that the tests look at.
#[derive(Debug)]
pub struct StatV2 {
    pub error: u32,
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
}

fn parse_v2(raw: &[u8; 68]) -> StatV2 {
    let u32_at = |i: usize| u32::from_le_bytes(raw[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(raw[i..i + 8].try_into().unwrap());
    // Offsets after the id: error 0, dev 4, ino 12, mode 20, nlink 24, uid 28, gid 32,
    // size 36, atime 44, mtime 52, ctime 60.
    StatV2 {
        error: u32_at(0),
        mode: u32_at(20),
        size: u64_at(36),
        mtime: u64_at(52) as i64,
    }
}

pub fn stat_v2(stream: &mut UnixStream, tag: &[u8; 4], remote: &str) -> StatV2 {
    stream.write_all(&request(tag, remote.as_bytes())).unwrap();
    assert_eq!(&read_tag(stream), tag);
    let mut raw = [0u8; 68];
    stream.read_exact(&mut raw).unwrap();
    parse_v2(&raw)
}

/// LIST or LIS2: (name, mode, size, mtime) per entry.
pub fn list(stream: &mut UnixStream, v2: bool, remote: &str) -> Vec<(String, u32, u64, i64)> {
    let tag = if v2 { b"LIS2" } else { b"LIST" };
    stream.write_all(&request(tag, remote.as_bytes())).unwrap();
    let mut out = Vec::new();
    loop {
        let entry_tag = read_tag(stream);
        let (mode, size, mtime) = if v2 {
            let mut raw = [0u8; 68];
            stream.read_exact(&mut raw).unwrap();
            let st = parse_v2(&raw);
            (st.mode, st.size, st.mtime)
        } else {
            (
                read_u32(stream),
                u64::from(read_u32(stream)),
                i64::from(read_u32(stream)),
            )
        };
        let name_len = read_u32(stream) as usize;
        if &entry_tag == b"DONE" {
            assert_eq!(name_len, 0);
            return out;
        }
        assert_eq!(&entry_tag, if v2 { b"DNT2" } else { b"DENT" });
        let mut name = vec![0u8; name_len];
        stream.read_exact(&mut name).unwrap();
        out.push((String::from_utf8(name).unwrap(), mode, size, mtime));
    }
}

/// True once the phone has closed its end within the read timeout: EOF, or a reset when
/// it closed with bytes of ours unread.
pub fn closed_by_phone(stream: &mut UnixStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
    }
}
