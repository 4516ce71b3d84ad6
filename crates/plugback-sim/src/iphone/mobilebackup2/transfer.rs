//! The raw file-transfer stream that follows DLMessageDownloadFiles (host to phone) and
//! DLMessageUploadFiles (phone to host):
//!
//! ```text
//! u32be len(path) ‖ path
//! blocks: u32be (n+1) ‖ code ‖ n bytes     0x0C data, 0x00 end, 0x06 / 0x0B error text
//! ... next path ..., and u32be 0 after the last one
//! ```

use super::Mobilebackup2Error;
use super::link::Link;
use std::io::{self, Read, Write};

pub(crate) const CODE_SUCCESS: u8 = 0x00;
pub(crate) const CODE_ERROR_LOCAL: u8 = 0x06;
pub(crate) const CODE_ERROR_REMOTE: u8 = 0x0B;
pub(crate) const CODE_FILE_DATA: u8 = 0x0C;

/// Paths in the stream are at most this long; the phone only asks for short ones, except
/// the deliberately over-long hostile path, which the host echoes.
const MAX_PATH: u32 = 64 * 1024;
/// Error texts are a line or two.
const MAX_ERROR_TEXT: u32 = 64 * 1024;
/// Blocks the phone sends when uploading.
const UPLOAD_BLOCK: usize = 64 * 1024;

/// How one file of a batch ended, as the host reported it.
#[derive(Debug)]
pub(crate) enum FileEnd {
    Complete,
    /// The host could not send it (0x06 or 0x0B with its text).
    HostError(String),
}

/// Where the files of a DownloadFiles batch go, as they stream in.
pub(crate) trait Receiver {
    /// A file starts; `path` is what the host echoed.
    fn start(&mut self, path: &str);
    fn data(&mut self, bytes: &[u8]);
    fn end(&mut self, end: FileEnd);
}

/// Reads the stream of one DownloadFiles batch up to and including its terminating zero,
/// handing each file to `receiver`. Returns how many files the host announced.
pub(crate) fn receive_batch<S: Read + Write>(
    link: &mut Link<'_, S>,
    receiver: &mut dyn Receiver,
) -> Result<usize, Mobilebackup2Error> {
    let mut files = 0;
    loop {
        let path_len = link.read_u32_be()?;
        if path_len == 0 {
            return Ok(files);
        }
        if path_len > MAX_PATH {
            return Err(Mobilebackup2Error::Protocol(format!(
                "the host announced a {path_len}-byte path"
            )));
        }
        let mut path = vec![0u8; path_len as usize];
        link.read_exact(&mut path)?;
        let path = String::from_utf8_lossy(&path).into_owned();
        files += 1;
        receiver.start(&path);
        loop {
            let block_len = link.read_u32_be()?;
            if block_len == 0 {
                // The host gave up in the middle of this file and ended the batch
                // (libimobiledevice does this when its socket write fails).
                receiver.end(FileEnd::HostError(
                    "the host stopped sending this file".into(),
                ));
                return Ok(files);
            }
            let code = link.read_u8()?;
            let body = u64::from(block_len - 1);
            match code {
                CODE_FILE_DATA => link.stream_to(body, &mut |bytes| {
                    receiver.data(bytes);
                    Ok(())
                })?,
                CODE_SUCCESS => {
                    link.stream_to(body, &mut |_| Ok(()))?;
                    receiver.end(FileEnd::Complete);
                    break;
                }
                CODE_ERROR_LOCAL | CODE_ERROR_REMOTE => {
                    if block_len - 1 > MAX_ERROR_TEXT {
                        return Err(Mobilebackup2Error::Protocol(format!(
                            "the host sent a {body}-byte error text"
                        )));
                    }
                    let mut text = vec![0u8; body as usize];
                    link.read_exact(&mut text)?;
                    receiver.end(FileEnd::HostError(
                        String::from_utf8_lossy(&text).into_owned(),
                    ));
                    break;
                }
                other => {
                    return Err(Mobilebackup2Error::Protocol(format!(
                        "unknown file-transfer code {other:#04x} for {path}"
                    )));
                }
            }
        }
    }
}

/// Writes one file of an UploadFiles batch: device path, host path, data blocks, end.
pub(crate) fn upload_file<S: Read + Write>(
    link: &mut Link<'_, S>,
    device_path: &str,
    host_path: &str,
    content: &mut dyn Read,
    scratch: &mut Vec<u8>,
) -> io::Result<u64> {
    let mut names = Vec::with_capacity(8 + device_path.len() + host_path.len());
    for name in [device_path, host_path] {
        names.extend_from_slice(&(name.len() as u32).to_be_bytes());
        names.extend_from_slice(name.as_bytes());
    }
    link.write_all(&names)?;
    scratch.resize(5 + UPLOAD_BLOCK, 0);
    let mut sent = 0u64;
    loop {
        let n = match content.read(&mut scratch[5..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Tell the host, as the phone does, then end the file.
                let text = e.to_string();
                let mut block = ((text.len() + 1) as u32).to_be_bytes().to_vec();
                block.push(CODE_ERROR_REMOTE);
                block.extend_from_slice(text.as_bytes());
                link.write_all(&block)?;
                return Err(e);
            }
        };
        scratch[..4].copy_from_slice(&((n + 1) as u32).to_be_bytes());
        scratch[4] = CODE_FILE_DATA;
        link.write_all(&scratch[..5 + n])?;
        sent += n as u64;
    }
    let mut end = 1u32.to_be_bytes().to_vec();
    end.push(CODE_SUCCESS);
    link.write_all(&end)?;
    Ok(sent)
}

/// Ends an UploadFiles batch.
pub(crate) fn end_upload<S: Read + Write>(link: &mut Link<'_, S>) -> io::Result<()> {
    link.write_all(&0u32.to_be_bytes())?;
    link.flush()
}
