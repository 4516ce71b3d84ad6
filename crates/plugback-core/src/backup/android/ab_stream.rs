//! The tar archive inside an `.ab` file, as a stream: file → AES-256-CBC (if encrypted) →
//! zlib (if compressed) → tar. Nothing is held in memory beyond small buffers, so a
//! many-gigabyte backup reads as easily as a small one.
//!
//! Every layer tags its read errors with a [`StreamFault`], so whoever reads the stream can
//! tell a file cut short from damaged data from a disk error.

use super::ab_crypto::{self, MasterKey};
use super::ab_header::{self, AbHeader};
use super::cbc_reader::CbcDecryptReader;
use crate::backup::BackupError;
use crate::secret::Password;
use flate2::bufread::ZlibDecoder;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong below the tar layer.
#[derive(Debug)]
pub enum StreamFault {
    /// The data stops before its end; says which layer noticed and how.
    Truncated(&'static str),
    /// The compressed data does not decode.
    Corrupt(String),
    /// The computer could not read the file.
    Io(io::Error),
}

impl StreamFault {
    fn duplicate(&self) -> Self {
        match self {
            Self::Truncated(what) => Self::Truncated(what),
            Self::Corrupt(detail) => Self::Corrupt(detail.clone()),
            Self::Io(err) => Self::Io(io::Error::new(err.kind(), err.to_string())),
        }
    }

    /// The backup error this fault means, for a reader that knows nothing of the tar inside.
    pub fn to_backup_error(&self, path: &Path) -> BackupError {
        let path = path.to_path_buf();
        match self {
            Self::Truncated(_) => BackupError::AbTruncated { path },
            Self::Corrupt(detail) => BackupError::AbStreamCorrupt {
                path,
                detail: detail.clone(),
            },
            Self::Io(err) => BackupError::io(path, io::Error::new(err.kind(), err.to_string())),
        }
    }
}

impl fmt::Display for StreamFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(what) => f.write_str(what),
            Self::Corrupt(detail) => f.write_str(detail),
            Self::Io(err) => write!(f, "read error: {err}"),
        }
    }
}

impl std::error::Error for StreamFault {}

impl From<StreamFault> for io::Error {
    fn from(fault: StreamFault) -> Self {
        let kind = match &fault {
            StreamFault::Truncated(_) => io::ErrorKind::UnexpectedEof,
            StreamFault::Corrupt(_) => io::ErrorKind::InvalidData,
            StreamFault::Io(err) => err.kind(),
        };
        io::Error::new(kind, fault)
    }
}

/// The fault carried by `err`, however deeply other layers (the tar crate) wrapped it.
pub fn find_fault(err: &io::Error) -> Option<&StreamFault> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = err.get_ref().map(|e| e as _);
    while let Some(e) = current {
        if let Some(fault) = e.downcast_ref::<StreamFault>() {
            return Some(fault);
        }
        current = match e.downcast_ref::<io::Error>() {
            Some(io_err) => io_err.get_ref().map(|e| e as _),
            None => e.source(),
        };
    }
    None
}

/// The file after its header, counting the bytes read (for progress) and tagging disk
/// errors.
struct Source {
    file: BufReader<File>,
    read: Arc<AtomicU64>,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf).map_err(|err| match err.kind() {
            io::ErrorKind::Interrupted => err,
            _ => StreamFault::Io(err).into(),
        })?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Body {
    Plain(Source),
    Encrypted(Box<CbcDecryptReader<Source>>),
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(source) => source.read(buf),
            Self::Encrypted(reader) => reader.read(buf),
        }
    }
}

enum Layers {
    Stored(Body),
    Inflating(Box<ZlibDecoder<BufReader<Body>>>),
}

/// The tar archive inside an `.ab` file. Read errors carry a [`StreamFault`]; turn them into
/// a [`BackupError`] with [`AbTarStream::error_for`].
pub struct AbTarStream {
    path: PathBuf,
    header: AbHeader,
    layers: Layers,
    file_read: Arc<AtomicU64>,
    failed: Option<StreamFault>,
    ended: bool,
    trailing: u64,
}

impl fmt::Debug for AbTarStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbTarStream")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl AbTarStream {
    pub fn header(&self) -> &AbHeader {
        &self.header
    }

    /// Bytes of the `.ab` file read so far, header included.
    pub fn file_bytes_read(&self) -> u64 {
        self.header.len + self.file_read.load(Ordering::Relaxed)
    }

    /// A live counter of the stream bytes read from the file (header excluded), for
    /// progress reporting while another owner reads the stream.
    pub fn byte_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.file_read)
    }

    /// Bytes found after the end of the compressed data (known once the stream has ended).
    pub fn trailing_bytes(&self) -> u64 {
        self.trailing
    }

    /// The backup error for an error this stream returned.
    pub fn error_for(&self, err: &io::Error) -> BackupError {
        match find_fault(err) {
            Some(fault) => fault.to_backup_error(&self.path),
            None => BackupError::io(&self.path, io::Error::new(err.kind(), err.to_string())),
        }
    }

    fn read_layers(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.layers {
            Layers::Stored(body) => body.read(buf),
            Layers::Inflating(decoder) => {
                let n = decoder.read(buf).map_err(inflate_fault)?;
                if n == 0 && !buf.is_empty() {
                    // The compressed data ended: read the rest of the file so that the
                    // encryption padding is checked, and note any bytes after it.
                    self.trailing = io::copy(decoder.get_mut(), &mut io::sink())?;
                }
                Ok(n)
            }
        }
    }
}

/// Tags an inflate error (errors from the layers below are tagged already).
fn inflate_fault(err: io::Error) -> io::Error {
    if find_fault(&err).is_some() {
        return err;
    }
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            StreamFault::Truncated("the compressed data stops before its end").into()
        }
        _ => StreamFault::Corrupt(format!("the compressed data does not decode ({err})")).into(),
    }
}

impl Read for AbTarStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(fault) = &self.failed {
            return Err(fault.duplicate().into());
        }
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        match self.read_layers(buf) {
            Ok(0) => {
                self.ended = true;
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Err(err),
            Err(err) => {
                let fault = match find_fault(&err) {
                    Some(fault) => fault.duplicate(),
                    None => StreamFault::Io(io::Error::new(err.kind(), err.to_string())),
                };
                self.failed = Some(fault.duplicate());
                Err(fault.into())
            }
        }
    }
}

/// Opens the file read-only and parses its header, leaving the reader at the stream.
pub fn read_header(path: &Path) -> Result<(AbHeader, BufReader<File>), BackupError> {
    let file = File::open(path).map_err(|err| BackupError::io(path, err))?;
    let mut reader = BufReader::new(file);
    let header = ab_header::parse(&mut reader).map_err(|err| BackupError::AbHeaderInvalid {
        path: path.to_path_buf(),
        detail: err.to_string(),
    })?;
    Ok((header, reader))
}

/// The stream after an already-parsed header; `key` must be given when it is encrypted.
pub fn stream_after_header(
    path: &Path,
    header: AbHeader,
    reader: BufReader<File>,
    key: Option<MasterKey>,
) -> AbTarStream {
    let file_read = Arc::new(AtomicU64::new(0));
    let source = Source {
        file: reader,
        read: Arc::clone(&file_read),
    };
    let body = match key {
        Some(key) => Body::Encrypted(Box::new(CbcDecryptReader::new(source, &key))),
        None => Body::Plain(source),
    };
    let layers = if header.compressed {
        Layers::Inflating(Box::new(ZlibDecoder::new(BufReader::new(body))))
    } else {
        Layers::Stored(body)
    };
    AbTarStream {
        path: path.to_path_buf(),
        header,
        layers,
        file_read,
        failed: None,
        ended: false,
        trailing: 0,
    }
}

/// The master key for an encrypted header: `PasswordRequired` without a password,
/// `WrongPassword` when it does not open the key.
pub fn unlock(
    header: &AbHeader,
    password: Option<&Password>,
) -> Result<Option<MasterKey>, BackupError> {
    match (&header.encryption, password) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(BackupError::PasswordRequired),
        (Some(aes), Some(password)) => ab_crypto::unlock(aes, header.version, password).map(Some),
    }
}

/// Opens the tar archive inside the `.ab` file at `path` (read-only). The password is
/// needed only when the file is encrypted.
pub fn open_tar_stream(
    path: &Path,
    password: Option<&Password>,
) -> Result<AbTarStream, BackupError> {
    let (header, reader) = read_header(path)?;
    let key = unlock(&header, password)?;
    Ok(stream_after_header(path, header, reader, key))
}
