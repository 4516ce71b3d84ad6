//! The text header of an `adb backup` file: magic, version, compression, encryption and,
//! for encrypted files, the five lines that wrap the master key. Parsing is strict: every
//! line is bounded, and anything Android would not have written is refused with the line's
//! number and the reason.

use std::fmt;
use std::io::{BufRead, Read};

pub const MAGIC: &str = "ANDROID BACKUP";
/// Versions Android has written (UserBackupManagerService: 1 initial … 5 key/value packages).
pub const VERSIONS: std::ops::RangeInclusive<u32> = 1..=5;
/// PBKDF2 salts are 512 bits (PBKDF2_SALT_SIZE).
pub const SALT_LEN: usize = 64;
pub const IV_LEN: usize = 16;
/// Three length-prefixed fields of at most 255 bytes, PKCS#7-padded to 16 bytes.
pub const MAX_KEY_BLOB: usize = 784;
/// Android uses 10 000 rounds; anything past this is refused rather than spun on.
pub const MAX_ROUNDS: u32 = 1_000_000;
/// Longer than any line Android writes (the key blob is at most 1 568 hex digits).
const MAX_LINE: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbHeader {
    pub version: u32,
    pub compressed: bool,
    pub encryption: Option<AesParams>,
    /// Bytes the header takes: the stream starts right after.
    pub len: u64,
}

/// The AES-256 header lines, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct AesParams {
    pub user_salt: Vec<u8>,
    pub checksum_salt: Vec<u8>,
    pub rounds: u32,
    pub user_iv: [u8; IV_LEN],
    /// The master IV, key and checksum, encrypted with the key derived from the password.
    pub master_key_blob: Vec<u8>,
}

impl fmt::Debug for AesParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesParams")
            .field("rounds", &self.rounds)
            .field("master_key_blob_len", &self.master_key_blob.len())
            .finish_non_exhaustive()
    }
}

impl AbHeader {
    pub fn encrypted(&self) -> bool {
        self.encryption.is_some()
    }
}

/// What is wrong with the header, naming the line (1-based) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} ({}) {}",
            self.line,
            line_name(self.line),
            self.reason
        )
    }
}

fn line_name(line: usize) -> &'static str {
    match line {
        1 => "magic",
        2 => "format version",
        3 => "compression flag",
        4 => "encryption",
        5 => "password salt",
        6 => "master key checksum salt",
        7 => "key derivation rounds",
        8 => "password key IV",
        9 => "encrypted master key",
        _ => "header",
    }
}

/// Reads the header from the start of `reader`, leaving it positioned at the stream.
pub fn parse(reader: &mut impl BufRead) -> Result<AbHeader, HeaderError> {
    let mut lines = LineReader {
        reader,
        line: 0,
        len: 0,
    };
    let magic = lines.next()?;
    if magic != MAGIC.as_bytes() {
        return Err(lines.error("is not \"ANDROID BACKUP\": this is not an adb backup file"));
    }
    let version = parse_version(&lines.next()?).map_err(|r| lines.error(r))?;
    let compressed = match lines.next()?.as_slice() {
        b"0" => false,
        b"1" => true,
        _ => return Err(lines.error("must be 0 or 1")),
    };
    let encryption = match lines.next()?.as_slice() {
        b"none" => None,
        b"AES-256" => Some(parse_aes(&mut lines)?),
        _ => return Err(lines.error("must be \"none\" or \"AES-256\"")),
    };
    Ok(AbHeader {
        version,
        compressed,
        encryption,
        len: lines.len,
    })
}

fn parse_version(line: &[u8]) -> Result<u32, String> {
    let text = std::str::from_utf8(line)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    match text.and_then(|t| t.parse::<u32>().ok()) {
        Some(v) if VERSIONS.contains(&v) => Ok(v),
        Some(v) => Err(format!(
            "is {v}; Plugback knows versions {} to {}",
            VERSIONS.start(),
            VERSIONS.end()
        )),
        None => Err("is not a number".into()),
    }
}

fn parse_aes(lines: &mut LineReader<'_, impl BufRead>) -> Result<AesParams, HeaderError> {
    let user_salt = lines.hex_exact(SALT_LEN)?;
    let checksum_salt = lines.hex_exact(SALT_LEN)?;
    let rounds_line = lines.next()?;
    let rounds = std::str::from_utf8(&rounds_line)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u32>().ok())
        .ok_or_else(|| lines.error("is not a number"))?;
    if rounds == 0 || rounds > MAX_ROUNDS {
        return Err(lines.error(format!(
            "is {rounds}; Android uses 10000 and Plugback accepts 1 to {MAX_ROUNDS}"
        )));
    }
    let user_iv: [u8; IV_LEN] = lines
        .hex_exact(IV_LEN)?
        .try_into()
        .map_err(|_| lines.error("has the wrong length"))?;
    let master_key_blob = lines.hex()?;
    if master_key_blob.is_empty()
        || !master_key_blob.len().is_multiple_of(16)
        || master_key_blob.len() > MAX_KEY_BLOB
    {
        return Err(lines.error(format!(
            "is {} bytes; it must be a whole number of 16-byte blocks, at most {MAX_KEY_BLOB}",
            master_key_blob.len()
        )));
    }
    Ok(AesParams {
        user_salt,
        checksum_salt,
        rounds,
        user_iv,
        master_key_blob,
    })
}

struct LineReader<'r, R> {
    reader: &'r mut R,
    line: usize,
    len: u64,
}

impl<R: BufRead> LineReader<'_, R> {
    fn error(&self, reason: impl Into<String>) -> HeaderError {
        HeaderError {
            line: self.line,
            reason: reason.into(),
        }
    }

    /// The next line without its `\n`, reading at most MAX_LINE + 1 bytes.
    fn next(&mut self) -> Result<Vec<u8>, HeaderError> {
        self.line += 1;
        let mut line = Vec::new();
        let limit = MAX_LINE as u64 + 1;
        match self
            .reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut line)
        {
            Ok(_) => {}
            Err(err) => return Err(self.error(format!("cannot be read: {err}"))),
        }
        self.len += line.len() as u64;
        match line.pop() {
            Some(b'\n') if line.last() == Some(&b'\r') => Err(self.error(
                "ends with a carriage return: the file was converted as text somewhere (for \
                 example captured through `adb shell` on Windows), which damages all of it",
            )),
            Some(b'\n') => Ok(line),
            None => Err(self.error("is missing: the file ends before it")),
            Some(_) if line.len() >= MAX_LINE => Err(self.error(format!(
                "is longer than {MAX_LINE} bytes, which no Android backup writes"
            ))),
            Some(_) => Err(self.error("is missing its line end: the file ends inside it")),
        }
    }

    fn hex(&mut self) -> Result<Vec<u8>, HeaderError> {
        let line = self.next()?;
        hex::decode(&line).map_err(|err| {
            self.error(match err {
                hex::FromHexError::OddLength => {
                    format!("has an odd number of hex digits ({})", line.len())
                }
                hex::FromHexError::InvalidHexCharacter { c, index } => {
                    format!(
                        "has {c:?} at position {} where a hex digit belongs",
                        index + 1
                    )
                }
                other => other.to_string(),
            })
        })
    }

    fn hex_exact(&mut self, len: usize) -> Result<Vec<u8>, HeaderError> {
        let bytes = self.hex()?;
        if bytes.len() != len {
            return Err(self.error(format!("is {} bytes; Android writes {len}", bytes.len())));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: &str = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\
                        00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

    fn aes_header(version: u32, user_salt: &str, rounds: &str, blob: &str) -> String {
        format!(
            "ANDROID BACKUP\n{version}\n1\nAES-256\n{user_salt}\n{SALT}\n{rounds}\n\
             000102030405060708090a0b0c0d0e0f\n{blob}\n"
        )
    }

    fn parse_str(text: &str) -> Result<AbHeader, HeaderError> {
        let mut bytes = text.as_bytes();
        parse(&mut bytes)
    }

    #[test]
    fn plain_headers_of_every_version() {
        for version in 1..=5 {
            let text = format!("ANDROID BACKUP\n{version}\n0\nnone\n");
            let input = format!("{text}tar bytes");
            let mut reader = input.as_bytes();
            let header = parse(&mut reader).unwrap();
            assert_eq!(header.version, version);
            assert!(!header.compressed);
            assert!(!header.encrypted());
            assert_eq!(header.len, text.len() as u64);
            assert_eq!(reader, b"tar bytes");
        }
    }

    #[test]
    fn encrypted_header_decodes_every_line() {
        let blob = "AB".repeat(96);
        let header = parse_str(&aes_header(5, SALT, "10000", &blob)).unwrap();
        let aes = header.encryption.unwrap();
        assert_eq!(aes.user_salt.len(), 64);
        assert_eq!(aes.checksum_salt[..2], [0x00, 0x11]);
        assert_eq!(aes.rounds, 10000);
        assert_eq!(aes.user_iv[15], 0x0f);
        assert_eq!(aes.master_key_blob, vec![0xAB; 96]);
        assert!(header.compressed);
    }

    fn line_of(result: Result<AbHeader, HeaderError>) -> usize {
        result.expect_err("header accepted").line
    }

    #[test]
    fn bad_headers_name_their_line() {
        let blob = "AB".repeat(96);
        assert_eq!(line_of(parse_str("ANDROID BACKUP!\n5\n0\nnone\n")), 1);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n6\n0\nnone\n")), 2);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n0\n0\nnone\n")), 2);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n+5\n0\nnone\n")), 2);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n5\n2\nnone\n")), 3);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n5\n0\nAES-128\n")), 4);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n5\n0\nnone\r\n")), 4);
        assert!(
            parse_str("ANDROID BACKUP\r\n5\r\n")
                .unwrap_err()
                .reason
                .contains("carriage return")
        );
        // An extra hex pair on the salt line, as in abe's negative fixtures.
        let long_salt = format!("{SALT}DD");
        assert_eq!(
            line_of(parse_str(&aes_header(1, &long_salt, "10000", &blob))),
            5
        );
        let odd_salt = format!("{SALT}D");
        let err = parse_str(&aes_header(1, &odd_salt, "10000", &blob)).unwrap_err();
        assert!(err.reason.contains("odd"), "{err}");
        let bad_hex = SALT.replacen('A', "Z", 1);
        let err = parse_str(&aes_header(1, &bad_hex, "10000", &blob)).unwrap_err();
        assert!(err.reason.contains("'Z'"), "{err}");
        assert_eq!(line_of(parse_str(&aes_header(1, SALT, "0", &blob))), 7);
        assert_eq!(
            line_of(parse_str(&aes_header(1, SALT, "99999999", &blob))),
            7
        );
        assert_eq!(line_of(parse_str(&aes_header(1, SALT, "1e4", &blob))), 7);
        assert_eq!(
            line_of(parse_str(&aes_header(1, SALT, "10000", &"AB".repeat(95)))),
            9
        );
        assert_eq!(line_of(parse_str(&aes_header(1, SALT, "10000", ""))), 9);
    }

    #[test]
    fn missing_lines_are_named() {
        let err = parse_str("ANDROID BACKUP\n5\n0\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.to_string().contains("encryption"), "{err}");
        assert!(err.reason.contains("missing"), "{err}");
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n5\n1\nAES-256\n")), 5);
        assert_eq!(line_of(parse_str("ANDROID BACKUP\n5")), 2);
        assert_eq!(line_of(parse_str("")), 1);
    }

    #[test]
    fn lines_are_bounded() {
        // A huge file with no line end: the parser must stop after MAX_LINE bytes.
        let mut garbage = std::io::repeat(b'A').take(1 << 30);
        let mut reader = std::io::BufReader::new(&mut garbage);
        let err = parse(&mut reader).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("longer"), "{err}");
        let text = format!("ANDROID BACKUP\n{}\n", "5".repeat(5000));
        assert!(parse_str(&text).unwrap_err().reason.contains("longer"));
    }
}
