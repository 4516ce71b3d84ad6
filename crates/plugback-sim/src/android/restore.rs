//! The `restore:` service (`adb restore x.ab`), device side.
//!
//! As on a phone, nothing is read until the person confirms on screen (60 s, then the
//! phone gives up). Then the archive is read as Android's restore reads it: header,
//! AES-256 (password from the confirmation screen), zlib, tar. App data lands under
//! DATA/restored/apps/<package>/<domain>/<path>, shared storage under DATA/sdcard. After
//! the archive's end the host's 1024 zero bytes are drained and the stream closes. The
//! phone never answers the host, even on failure: the outcome goes to
//! DATA/restore-report.json and the log.

mod cbc;
mod header;
mod place;
mod raw;
mod report;
mod tar;

use crate::android::AndroidPhone;
use crate::android::phone::RestoreConfirmation;
use crate::control::Answer;
use flate2::bufread::ZlibDecoder;
use place::{Place, Places};
use raw::RawReader;
use report::{Outcome, Report, Tally};
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::time::Duration;
use tar::{Kind, TarReader};

/// How long Android shows the confirmation (`TIMEOUT_FULL_CONFIRMATION`).
const CONFIRMATION_TIMEOUT: Duration = Duration::from_secs(60);
/// The zero bytes adb writes after the archive ("in-band EOD marker").
const END_MARKER: u64 = 1024;
/// Plaintext allowed after the tar's end inside a zlib stream.
const MAX_TRAILING: u64 = 1024 * 1024;

/// Why a restore did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("the restore was denied on the phone")]
    Denied,
    #[error("nobody confirmed the restore within 60 s")]
    TimedOut,
    #[error("wrong password: {0}")]
    WrongPassword(String),
    #[error("corrupt archive: {0}")]
    Corrupt(String),
    #[error("the host's stream failed before the archive's end: {0}")]
    Interrupted(io::Error),
    #[error("could not write the restore report: {0}")]
    Report(io::Error),
}

/// Why reading the archive stopped.
#[derive(Debug)]
enum ArchiveError {
    WrongPassword(String),
    Corrupt(String),
    Interrupted(io::Error),
}

impl ArchiveError {
    /// A read error from the layers: inflate and tar errors say the data is bad, the
    /// rest that the stream is.
    fn from_read(err: io::Error) -> ArchiveError {
        match err.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                ArchiveError::Corrupt(err.to_string())
            }
            _ => ArchiveError::Interrupted(err),
        }
    }
}

/// Serves one `restore:` stream: waits for the confirmation, restores, reports, returns
/// (the caller then closes the stream, and logs the error of a restore that failed).
pub fn serve<S: Read + Write>(stream: &mut S, phone: &AndroidPhone) -> Result<(), RestoreError> {
    let confirmation = phone.wait_restore_confirmation(CONFIRMATION_TIMEOUT);
    match confirmation {
        Some(RestoreConfirmation {
            answer: Answer::Accept,
            password,
        }) => restore_stream(stream, phone.data_dir(), password.as_deref()),
        Some(RestoreConfirmation {
            answer: Answer::Deny,
            ..
        }) => finish(phone.data_dir(), Report::new(Outcome::Denied)),
        None => finish(phone.data_dir(), Report::new(Outcome::TimedOut)),
    }
}

/// Reads a confirmed restore from `stream` into `data_dir` with `password`, writes the
/// report and drains the end marker.
fn restore_stream<S: Read>(
    stream: &mut S,
    data_dir: &Path,
    password: Option<&str>,
) -> Result<(), RestoreError> {
    let mut raw = RawReader::new(stream);
    let mut report = Report::new(Outcome::Ok);
    let places = Places::new(data_dir);
    match read_archive(&mut raw, password, &places, &mut report) {
        Ok(archive_len) => {
            // What the host sends in all: the archive, then the marker. Anything not
            // read yet is drained, never more, so a host that sends less does not hang us.
            let expected = archive_len + END_MARKER;
            let _ = raw.drain_until_received(expected);
        }
        Err(err) => {
            let (outcome, detail) = match err {
                ArchiveError::WrongPassword(d) => (Outcome::WrongPassword, d),
                ArchiveError::Corrupt(d) => (Outcome::Corrupt, d),
                ArchiveError::Interrupted(e) => (Outcome::Interrupted, e.to_string()),
            };
            report.outcome = outcome;
            report.detail = Some(detail);
        }
    }
    finish(data_dir, report)
}

/// Writes the report and turns its outcome into the result.
fn finish(data_dir: &Path, report: Report) -> Result<(), RestoreError> {
    report.write(data_dir).map_err(RestoreError::Report)?;
    let detail = report.detail.unwrap_or_default();
    match report.outcome {
        Outcome::Ok => Ok(()),
        Outcome::WrongPassword => Err(RestoreError::WrongPassword(detail)),
        Outcome::Corrupt => Err(RestoreError::Corrupt(detail)),
        Outcome::Interrupted => Err(RestoreError::Interrupted(io::Error::other(detail))),
        Outcome::Denied => Err(RestoreError::Denied),
        Outcome::TimedOut => Err(RestoreError::TimedOut),
    }
}

/// Reads the whole archive; returns its length on the wire (header and body, with the
/// body measured by the layer that knows its end).
fn read_archive<S: Read>(
    raw: &mut RawReader<'_, S>,
    password: Option<&str>,
    places: &Places,
    report: &mut Report,
) -> Result<u64, ArchiveError> {
    let header = header::read(raw)?;
    report.version = Some(header.version);
    report.compressed = Some(header.compressed);
    report.encrypted = Some(header.lock.is_some());
    let stream_key = header.stream_key(password)?;
    let header_len = raw.consumed();
    let tally = &mut report.tally;
    let body_len = match (stream_key, header.compressed) {
        (None, false) => walk(TarReader::new(&mut *raw), places, tally)?.consumed(),
        (None, true) => inflate_and_walk(&mut *raw, places, tally)?,
        (Some((key, iv)), false) => {
            let tar = walk(
                TarReader::new(cbc::CbcReader::new(&mut *raw, &key, &iv)),
                places,
                tally,
            )?;
            cbc::ciphertext_len(tar.consumed())
        }
        (Some((key, iv)), true) => {
            let compressed =
                inflate_and_walk(cbc::CbcReader::new(&mut *raw, &key, &iv), places, tally)?;
            cbc::ciphertext_len(compressed)
        }
    };
    Ok(header_len + body_len)
}

/// Inflates and walks the tar; returns the length of the zlib stream.
fn inflate_and_walk<R: BufRead>(
    compressed: R,
    places: &Places,
    tally: &mut Tally,
) -> Result<u64, ArchiveError> {
    let tar = walk(TarReader::new(ZlibDecoder::new(compressed)), places, tally)?;
    let mut zlib = tar.into_inner();
    // Read on to the zlib trailer, so the stream's exact length is known.
    let trailing = io::copy(&mut (&mut zlib).take(MAX_TRAILING + 1), &mut io::sink())
        .map_err(ArchiveError::from_read)?;
    if trailing > MAX_TRAILING {
        return Err(ArchiveError::Corrupt(
            "data goes on after the tar's end".into(),
        ));
    }
    Ok(zlib.total_in())
}

/// Restores every entry of the tar.
fn walk<R: Read>(
    mut tar: TarReader<R>,
    places: &Places,
    tally: &mut Tally,
) -> Result<TarReader<R>, ArchiveError> {
    while let Some(entry) = tar.next_entry()? {
        let place = places.place(&entry.name);
        let (path, shared, package) = match place {
            Place::App { package, path } => (path, false, Some(package)),
            Place::Shared { path } => (path, true, None),
            Place::Skip(why) => {
                tally.skip(&entry.name, &why);
                tar.read_data(entry.size, |_| Ok(()))?;
                continue;
            }
        };
        if entry.kind == Kind::Dir {
            if let Err(err) = places.make_dir(&path) {
                tally.skip(&entry.name, &err.to_string());
            }
            continue;
        }
        let mut file = match places.create_file(&path) {
            Ok(file) => io::BufWriter::with_capacity(256 * 1024, file),
            Err(err) => {
                tally.skip(&entry.name, &err.to_string());
                tar.read_data(entry.size, |_| Ok(()))?;
                continue;
            }
        };
        let failure = tar.read_data(entry.size, |bytes| file.write_all(bytes))?;
        let finished = match failure {
            Some(err) => Err(err),
            None => file
                .into_inner()
                .map_err(|err| err.into_error())
                .and_then(|file| place::finish_file(&file, entry.mtime, entry.mode, shared)),
        };
        match finished {
            Ok(()) => {
                tally.files_restored += 1;
                tally.bytes_restored += entry.size;
                match package {
                    Some(package) => {
                        tally.app_files += 1;
                        tally.packages.insert(package);
                    }
                    None => tally.shared_files += 1,
                }
            }
            Err(err) => {
                let _ = std::fs::remove_file(&path);
                tally.skip(&entry.name, &err.to_string());
            }
        }
    }
    Ok(tar)
}

/// `Read::read` for a reader whose own buffer is the source of truth: copies what
/// `fill_buf` holds, so one buffer serves both traits.
fn read_through_buffer(reader: &mut impl BufRead, out: &mut [u8]) -> io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(out.len());
    out[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

#[cfg(test)]
mod tests;
