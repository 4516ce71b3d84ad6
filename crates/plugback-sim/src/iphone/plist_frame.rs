//! The framing lockdownd and every plist service share: a u32 big-endian length, then a
//! plist, XML or binary.

use std::io::{self, Read, Write};

/// The largest plist a simulated phone accepts from a host. Real hosts send a few KiB; a
/// pair record with certificates is under 16 KiB. Anything near this is a broken or hostile
/// host, and reading it into memory is what must not happen.
pub const MAX_PLIST_FRAME: u32 = 16 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the connection closed")]
    Closed,
    #[error("a frame announced {len} bytes, more than the {max} allowed")]
    TooLong { len: u32, max: u32 },
    #[error("the frame is not a property list: {0}")]
    NotAPlist(#[from] plist::Error),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one length-prefixed plist (XML or binary, detected by the plist crate).
/// A clean end of stream before the length is `Closed`.
pub fn read_plist<R: Read>(reader: &mut R, max_len: u32) -> Result<plist::Value, FrameError> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len);
    if len > max_len {
        return Err(FrameError::TooLong { len, max: max_len });
    }
    let mut body = vec![0u8; len as usize];
    reader.read_exact(&mut body)?;
    Ok(plist::Value::from_reader(io::Cursor::new(body))?)
}

/// Writes one length-prefixed XML plist, as lockdownd and notification_proxy do.
pub fn write_xml_plist<W: Write>(writer: &mut W, value: &plist::Value) -> io::Result<()> {
    let mut body = Vec::new();
    value.to_writer_xml(&mut body).map_err(io::Error::other)?;
    write_frame(writer, &body)
}

/// Writes one length-prefixed binary plist, as DeviceLink and mobilebackup2 do.
pub fn write_binary_plist<W: Write>(writer: &mut W, value: &plist::Value) -> io::Result<()> {
    let mut body = Vec::new();
    value
        .to_writer_binary(&mut body)
        .map_err(io::Error::other)?;
    write_frame(writer, &body)
}

fn write_frame<W: Write>(writer: &mut W, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::other("a plist frame larger than 4 GiB"))?;
    // One write for header and body: two small writes would cost a round trip each with
    // Nagle on some stacks.
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    writer.write_all(&frame)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_encodings() {
        let value = plist::Value::Dictionary(
            [(
                "Request".to_string(),
                plist::Value::String("QueryType".into()),
            )]
            .into_iter()
            .collect(),
        );
        for binary in [false, true] {
            let mut wire = Vec::new();
            if binary {
                write_binary_plist(&mut wire, &value).unwrap();
            } else {
                write_xml_plist(&mut wire, &value).unwrap();
            }
            let back = read_plist(&mut wire.as_slice(), MAX_PLIST_FRAME).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn refuses_oversized_and_garbage_frames() {
        let mut wire = (MAX_PLIST_FRAME + 1).to_be_bytes().to_vec();
        wire.extend_from_slice(b"xx");
        assert!(matches!(
            read_plist(&mut wire.as_slice(), MAX_PLIST_FRAME),
            Err(FrameError::TooLong { .. })
        ));
        let mut wire = 5u32.to_be_bytes().to_vec();
        wire.extend_from_slice(b"hello");
        assert!(matches!(
            read_plist(&mut wire.as_slice(), MAX_PLIST_FRAME),
            Err(FrameError::NotAPlist(_))
        ));
        assert!(matches!(
            read_plist(&mut [].as_slice(), MAX_PLIST_FRAME),
            Err(FrameError::Closed)
        ));
    }
}
