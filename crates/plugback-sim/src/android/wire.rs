//! adb's transport framing: a 24-byte little-endian header, then the payload.
//!
//! `{command, arg0, arg1, data_length, data_check, magic}` with `magic = !command`. The
//! check is a plain byte sum, sent only when the peer speaks version 0x01000000 (newer
//! peers ignore it, and real adbd sends zero to them).

use std::io::{self, Read, Write};

pub const A_CNXN: u32 = u32::from_le_bytes(*b"CNXN");
pub const A_AUTH: u32 = u32::from_le_bytes(*b"AUTH");
pub const A_OPEN: u32 = u32::from_le_bytes(*b"OPEN");
pub const A_OKAY: u32 = u32::from_le_bytes(*b"OKAY");
pub const A_WRTE: u32 = u32::from_le_bytes(*b"WRTE");
pub const A_CLSE: u32 = u32::from_le_bytes(*b"CLSE");
pub const A_STLS: u32 = u32::from_le_bytes(*b"STLS");

/// The oldest protocol version; peers at this version verify byte-sum checks.
pub const A_VERSION_MIN: u32 = 0x0100_0000;
/// The newest version adbd speaks: checks may be zero.
pub const A_VERSION: u32 = 0x0100_0001;
/// The largest payload either side may send once connected.
pub const MAX_PAYLOAD: u32 = 1024 * 1024;
/// CNXN and AUTH go out before the sizes are agreed, so they must fit the old limit.
pub const MAX_PAYLOAD_V1: usize = 4 * 1024;

pub const AUTH_TOKEN: u32 = 1;
pub const AUTH_SIGNATURE: u32 = 2;
pub const AUTH_RSAPUBLICKEY: u32 = 3;

pub const HEADER_LEN: usize = 24;

/// One adb message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub command: u32,
    pub arg0: u32,
    pub arg1: u32,
    pub payload: Vec<u8>,
}

/// Why an incoming message was refused; the connection is closed after any of these.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection closed")]
    Closed,
    #[error("bad magic {magic:#010x} for command {command:#010x}")]
    BadMagic { command: u32, magic: u32 },
    #[error("unknown command {0:#010x}")]
    UnknownCommand(u32),
    #[error("payload of {length} bytes exceeds the limit of {limit}")]
    TooLong { length: u32, limit: u32 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Packet {
    pub fn new(command: u32, arg0: u32, arg1: u32, payload: Vec<u8>) -> Self {
        Packet {
            command,
            arg0,
            arg1,
            payload,
        }
    }

    /// The header and payload as sent on the wire; `with_check` fills in the byte sum.
    pub fn encode(&self, with_check: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        let check = if with_check {
            byte_sum(&self.payload)
        } else {
            0
        };
        for word in [
            self.command,
            self.arg0,
            self.arg1,
            self.payload.len() as u32,
            check,
            !self.command,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// The check adb puts in `data_check`: the sum of the payload's bytes.
pub fn byte_sum(payload: &[u8]) -> u32 {
    payload
        .iter()
        .fold(0u32, |sum, &byte| sum.wrapping_add(u32::from(byte)))
}

/// The name of a command for logs, e.g. "WRTE".
pub fn command_name(command: u32) -> String {
    let bytes = command.to_le_bytes();
    if bytes.iter().all(|b| b.is_ascii_uppercase()) {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        format!("{command:#010x}")
    }
}

/// Checks a header and returns the payload length it announces.
pub fn parse_header(
    header: &[u8; HEADER_LEN],
    max_payload: u32,
) -> Result<(u32, u32, u32, u32), WireError> {
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let (command, arg0, arg1, length, magic) = (word(0), word(4), word(8), word(12), word(20));
    if magic != !command {
        return Err(WireError::BadMagic { command, magic });
    }
    if ![A_CNXN, A_AUTH, A_OPEN, A_OKAY, A_WRTE, A_CLSE, A_STLS].contains(&command) {
        return Err(WireError::UnknownCommand(command));
    }
    if length > max_payload {
        return Err(WireError::TooLong {
            length,
            limit: max_payload,
        });
    }
    Ok((command, arg0, arg1, length))
}

/// Reads one message with blocking reads. A clean end of stream before the header is
/// [`WireError::Closed`].
pub fn read_packet<R: Read>(reader: &mut R, max_payload: u32) -> Result<Packet, WireError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match reader.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(WireError::Closed),
            Ok(0) => return Err(WireError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(WireError::Io(e)),
        }
    }
    let (command, arg0, arg1, length) = parse_header(&header, max_payload)?;
    let mut payload = vec![0u8; length as usize];
    reader.read_exact(&mut payload)?;
    Ok(Packet::new(command, arg0, arg1, payload))
}

/// Writes one message.
pub fn write_packet<W: Write>(writer: &mut W, packet: &Packet, with_check: bool) -> io::Result<()> {
    writer.write_all(&packet.encode(with_check))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_adb() {
        let bytes = Packet::new(A_WRTE, 7, 9, b"abc".to_vec()).encode(true);
        assert_eq!(&bytes[0..4], b"WRTE");
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 9);
        assert_eq!(u32::from_le_bytes(bytes[12..16].try_into().unwrap()), 3);
        assert_eq!(
            u32::from_le_bytes(bytes[16..20].try_into().unwrap()),
            u32::from(b'a') + u32::from(b'b') + u32::from(b'c')
        );
        assert_eq!(
            u32::from_le_bytes(bytes[20..24].try_into().unwrap()),
            !A_WRTE
        );
        assert_eq!(&bytes[24..], b"abc");
        let zero_check = Packet::new(A_OKAY, 1, 2, vec![1]).encode(false);
        assert_eq!(&zero_check[16..20], &[0, 0, 0, 0]);
    }

    #[test]
    fn round_trip_and_refusals() {
        let packet = Packet::new(A_OPEN, 3, 0, b"shell:ls\0".to_vec());
        let bytes = packet.encode(false);
        assert_eq!(read_packet(&mut &bytes[..], MAX_PAYLOAD).unwrap(), packet);

        let mut bad_magic = bytes.clone();
        bad_magic[20] ^= 1;
        assert!(matches!(
            read_packet(&mut &bad_magic[..], MAX_PAYLOAD),
            Err(WireError::BadMagic { .. })
        ));
        let unknown = Packet::new(0x1234_5678, 0, 0, vec![]).encode(false);
        assert!(matches!(
            read_packet(&mut &unknown[..], MAX_PAYLOAD),
            Err(WireError::UnknownCommand(_))
        ));
        assert!(matches!(
            read_packet(&mut &bytes[..], 4),
            Err(WireError::TooLong {
                length: 9,
                limit: 4
            })
        ));
        assert!(matches!(
            read_packet(&mut &[][..], MAX_PAYLOAD),
            Err(WireError::Closed)
        ));
        assert!(matches!(
            read_packet(&mut &bytes[..10], MAX_PAYLOAD),
            Err(WireError::Io(_))
        ));
    }
}
