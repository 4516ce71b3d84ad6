//! The `.ab` text header, and for encrypted archives the master key it unlocks.
//!
//! Lines: "ANDROID BACKUP", the version (1–5), "1"/"0" for compressed, then "none" or
//! "AES-256" followed by the user-key salt, the checksum salt, the PBKDF2 rounds, the
//! user-key IV and the encrypted master key blob, all hex but the rounds.

use super::ArchiveError;
use super::raw::RawReader;
use aes::Aes256;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use std::io::Read;

/// Android writes 10,000 rounds; the bound keeps a hostile header from stalling the phone.
const MAX_ROUNDS: u32 = 1_000_000;

/// The AES-256 master key and IV of an encrypted stream.
pub(super) type StreamKey = ([u8; 32], [u8; 16]);

/// What the header says about the stream that follows.
pub(super) struct Header {
    pub version: u32,
    pub compressed: bool,
    /// What locks the stream's key, when it is encrypted.
    pub lock: Option<Keys>,
}

impl Header {
    /// The master key and IV of an encrypted stream, which `password` must unlock; None
    /// for a plain stream.
    pub(super) fn stream_key(
        &self,
        password: Option<&str>,
    ) -> Result<Option<StreamKey>, ArchiveError> {
        let Some(keys) = &self.lock else {
            return Ok(None);
        };
        let Some(password) = password else {
            return Err(ArchiveError::WrongPassword(
                "the archive is encrypted and no password was given".into(),
            ));
        };
        // Android tries the 8-bit PBKDF2 variant only for version 1 archives.
        let variants: &[Variant] = if self.version == 1 {
            &[Variant::Utf8, Variant::EightBit]
        } else {
            &[Variant::Utf8]
        };
        let found = variants.iter().find_map(|v| keys.unlock(password, *v));
        found.map(Some).ok_or_else(|| {
            ArchiveError::WrongPassword("the master key checksum does not match".into())
        })
    }
}

/// Reads the header lines.
pub(super) fn read<S: Read>(raw: &mut RawReader<'_, S>) -> Result<Header, ArchiveError> {
    let mut line = |what: &str| -> Result<String, ArchiveError> {
        let bytes = raw
            .read_line()
            .map_err(ArchiveError::Interrupted)?
            .ok_or_else(|| {
                ArchiveError::Corrupt(format!("the header's {what} line is missing or too long"))
            })?;
        String::from_utf8(bytes)
            .map_err(|_| ArchiveError::Corrupt(format!("the header's {what} line is not text")))
    };
    if line("magic")? != "ANDROID BACKUP" {
        return Err(ArchiveError::Corrupt(
            "not an Android backup (bad magic line)".into(),
        ));
    }
    let version: u32 = line("version")?
        .trim()
        .parse()
        .map_err(|_| ArchiveError::Corrupt("the version is not a number".into()))?;
    if !(1..=5).contains(&version) {
        return Err(ArchiveError::Corrupt(format!(
            "unsupported backup version {version}"
        )));
    }
    let compressed = match line("compression")?.trim() {
        "0" => false,
        "1" => true,
        other => {
            return Err(ArchiveError::Corrupt(format!(
                "bad compression flag {other:?}"
            )));
        }
    };
    let lock = match line("encryption")?.trim() {
        "none" => None,
        "AES-256" => {
            let user_salt = hex_line(&line("user salt")?, "user salt")?;
            let checksum_salt = hex_line(&line("checksum salt")?, "checksum salt")?;
            let rounds: u32 = line("rounds")?
                .trim()
                .parse()
                .ok()
                .filter(|r| (1..=MAX_ROUNDS).contains(r))
                .ok_or_else(|| ArchiveError::Corrupt("bad PBKDF2 round count".into()))?;
            let user_iv: [u8; 16] = hex_line(&line("user IV")?, "user IV")?
                .try_into()
                .map_err(|_| ArchiveError::Corrupt("the user IV is not 16 bytes".into()))?;
            let blob = hex_line(&line("master key")?, "master key")?;
            Some(Keys {
                user_salt,
                checksum_salt,
                rounds,
                user_iv,
                blob,
            })
        }
        other => {
            return Err(ArchiveError::Corrupt(format!(
                "unknown encryption {other:?}"
            )));
        }
    };
    Ok(Header {
        version,
        compressed,
        lock,
    })
}

fn hex_line(text: &str, what: &str) -> Result<Vec<u8>, ArchiveError> {
    hex::decode(text.trim()).map_err(|_| ArchiveError::Corrupt(format!("the {what} is not hex")))
}

/// How Java's PBKDF2 turns a char[] into bytes.
#[derive(Clone, Copy)]
enum Variant {
    /// `PBKDF2WithHmacSHA1`: UTF-8.
    Utf8,
    /// `PBKDF2WithHmacSHA1And8bit`: the low byte of each char.
    EightBit,
}

pub(super) struct Keys {
    user_salt: Vec<u8>,
    checksum_salt: Vec<u8>,
    rounds: u32,
    user_iv: [u8; 16],
    blob: Vec<u8>,
}

impl Keys {
    /// The stream's master key and IV, if `password` under `variant` opens the blob and
    /// the master key matches its checksum.
    fn unlock(&self, password: &str, variant: Variant) -> Option<StreamKey> {
        let password_bytes: Vec<u8> = match variant {
            Variant::Utf8 => password.as_bytes().to_vec(),
            Variant::EightBit => password.encode_utf16().map(|unit| unit as u8).collect(),
        };
        let user_key = pbkdf2_sha1(&password_bytes, &self.user_salt, self.rounds);
        let mut out = vec![0u8; self.blob.len()];
        let plain = cbc::Decryptor::<Aes256>::new(&user_key.into(), &self.user_iv.into())
            .decrypt_padded_b2b::<Pkcs7>(&self.blob, &mut out)
            .ok()?;
        // [u8 len][IV][u8 len][master key][u8 len][checksum]
        let mut parts = Vec::with_capacity(3);
        let mut rest = plain;
        for _ in 0..3 {
            let (&len, tail) = rest.split_first()?;
            let len = usize::from(len);
            if tail.len() < len {
                return None;
            }
            parts.push(&tail[..len]);
            rest = &tail[len..];
        }
        let iv: [u8; 16] = parts[0].try_into().ok()?;
        let master_key: [u8; 32] = parts[1].try_into().ok()?;
        let checksum = pbkdf2_sha1(
            &master_key_as_chars(&master_key, variant),
            &self.checksum_salt,
            self.rounds,
        );
        (checksum[..] == *parts[2]).then_some((master_key, iv))
    }
}

/// The master key as the password of its own checksum: Java widens each byte to a char
/// with sign extension, so 0x80..0xFF become U+FF80..U+FFFF; UTF-8 then spends three bytes
/// on each of those, while the 8-bit variant gets the original byte back.
fn master_key_as_chars(master_key: &[u8], variant: Variant) -> Vec<u8> {
    match variant {
        Variant::EightBit => master_key.to_vec(),
        Variant::Utf8 => {
            let mut out = Vec::with_capacity(master_key.len() * 3);
            for &byte in master_key {
                let unit = u32::from(byte as i8 as i16 as u16);
                let ch = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            out
        }
    }
}

fn pbkdf2_sha1(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 32>(password, salt, rounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_key_bytes_become_three_utf8_bytes() {
        assert_eq!(
            master_key_as_chars(&[0x41, 0x80, 0xff], Variant::Utf8),
            [0x41, 0xef, 0xbe, 0x80, 0xef, 0xbf, 0xbf]
        );
        assert_eq!(
            master_key_as_chars(&[0x41, 0x80], Variant::EightBit),
            [0x41, 0x80]
        );
    }

    #[test]
    fn header_lines_are_checked() {
        let parse = |text: &[u8]| {
            let mut input = text;
            let mut raw = RawReader::new(&mut input);
            read(&mut raw).map(|h| (h.version, h.compressed, h.lock.is_some()))
        };
        assert_eq!(
            parse(b"ANDROID BACKUP\n5\n1\nnone\n").unwrap(),
            (5, true, false)
        );
        assert_eq!(
            parse(b"ANDROID BACKUP\n1\n0\nnone\n").unwrap(),
            (1, false, false)
        );
        assert!(matches!(
            parse(b"ANDROID BACKUP\n6\n1\nnone\n"),
            Err(ArchiveError::Corrupt(_))
        ));
        assert!(matches!(
            parse(b"ANDROID BACKUX\n5\n1\nnone\n"),
            Err(ArchiveError::Corrupt(_))
        ));
        assert!(matches!(
            parse(b"ANDROID BACKUP\n5\n1\nROT13\n"),
            Err(ArchiveError::Corrupt(_))
        ));
        assert!(matches!(
            parse(b"ANDROID BACKUP\n5"),
            Err(ArchiveError::Corrupt(_))
        ));
        let encrypted =
            b"ANDROID BACKUP\n5\n1\nAES-256\n00\n00\n10\n00000000000000000000000000000000\n00\n";
        assert_eq!(parse(encrypted).unwrap(), (5, true, true));
        let mut input = &encrypted[..];
        let header = read(&mut RawReader::new(&mut input)).unwrap();
        assert!(matches!(
            header.stream_key(None),
            Err(ArchiveError::WrongPassword(_))
        ));
    }

    #[test]
    fn master_key_blobs_of_any_length_are_refused_without_a_panic() {
        for blob in [String::new(), "00".into(), "00".repeat(16), "ab".repeat(95)] {
            let text = format!(
                "ANDROID BACKUP\n5\n1\nAES-256\n00\n00\n10\n{}\n{blob}\n",
                "00".repeat(16)
            );
            let mut input = text.as_bytes();
            let mut raw = RawReader::new(&mut input);
            let result = read(&mut raw).and_then(|h| h.stream_key(Some("pw")));
            assert!(
                matches!(result, Err(ArchiveError::WrongPassword(_))),
                "{blob}"
            );
        }
    }
}
