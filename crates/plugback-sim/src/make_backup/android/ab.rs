//! `adb backup` archives: the text header, then the tar stream, zlib-compressed when asked
//! and AES-256-CBC-encrypted under a random master key when a password is given.

use super::super::content::{content_bytes, crypto_rng, random_bytes, write_content};
use super::super::crypto::{CbcWriter, encrypt_cbc, pbkdf2_sha1};
use super::super::error::IoContext;
use super::super::output::create_new;
use super::super::{MakeError, Spec, Totals};
use super::apk::apk_bytes;
use super::tar::{self, TarEntry};
use super::{APPS, Device, spread_mtime};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// PBKDF2 rounds Android uses for both the user key and the master key checksum.
pub(crate) const ROUNDS: u32 = 10_000;
/// Android's system uid, which owns the `_manifest` and apk entries.
const SYSTEM_UID: u32 = 1000;

/// One app data file in the archive.
struct DataFile {
    package: &'static str,
    uid: u32,
    domain: &'static str,
    relative: String,
    size: u64,
    mode: u32,
}

pub(crate) fn write(spec: &Spec, out: &Path) -> Result<Totals, MakeError> {
    let device = Device::new(spec);
    let mut file = BufWriter::with_capacity(256 * 1024, create_new(out)?);
    let header = Header::new(spec);
    file.write_all(&header.text).at(out)?;

    let mut totals = Totals::default();
    let result = match (&header.stream_key, spec.ab_compressed) {
        (None, false) => write_tar(file, spec, &device, &mut totals).and_then(|mut w| w.flush()),
        (None, true) => {
            let zlib = ZlibEncoder::new(file, Compression::best());
            write_tar(zlib, spec, &device, &mut totals).and_then(|z| z.finish()?.flush())
        }
        (Some((key, iv)), false) => {
            let cipher = CbcWriter::new(file, key, iv);
            write_tar(cipher, spec, &device, &mut totals).and_then(|c| c.finish()?.flush())
        }
        (Some((key, iv)), true) => {
            let zlib = ZlibEncoder::new(CbcWriter::new(file, key, iv), Compression::best());
            write_tar(zlib, spec, &device, &mut totals).and_then(|z| z.finish()?.finish()?.flush())
        }
    };
    result.at(out)?;
    Ok(totals)
}

/// The header lines and, for an encrypted archive, the key and IV of the stream.
struct Header {
    text: Vec<u8>,
    stream_key: Option<([u8; 32], [u8; 16])>,
}

impl Header {
    fn new(spec: &Spec) -> Header {
        let mut text = format!(
            "ANDROID BACKUP\n{}\n{}\n",
            spec.ab_version,
            u8::from(spec.ab_compressed)
        );
        let Some(password) = spec.password.as_deref() else {
            text.push_str("none\n");
            return Header {
                text: text.into_bytes(),
                stream_key: None,
            };
        };
        let mut rng = crypto_rng(spec.seed, "ab-encryption");
        let user_salt: [u8; 64] = random_bytes(&mut rng);
        let checksum_salt: [u8; 64] = random_bytes(&mut rng);
        let user_iv: [u8; 16] = random_bytes(&mut rng);
        let master_iv: [u8; 16] = random_bytes(&mut rng);
        let master_key: [u8; 32] = random_bytes(&mut rng);

        let user_key = pbkdf2_sha1(
            &password_bytes(password, spec.ab_version),
            &user_salt,
            ROUNDS,
        );
        let checksum = pbkdf2_sha1(
            &master_key_as_password(&master_key, spec.ab_version),
            &checksum_salt,
            ROUNDS,
        );
        let mut blob = Vec::with_capacity(83);
        for part in [&master_iv[..], &master_key[..], &checksum[..]] {
            blob.push(part.len() as u8);
            blob.extend_from_slice(part);
        }
        let encrypted_blob = encrypt_cbc(&user_key, &user_iv, &blob);
        text.push_str(&format!(
            "AES-256\n{}\n{}\n{ROUNDS}\n{}\n{}\n",
            hex::encode_upper(user_salt),
            hex::encode_upper(checksum_salt),
            hex::encode_upper(user_iv),
            hex::encode_upper(encrypted_blob),
        ));
        Header {
            text: text.into_bytes(),
            stream_key: Some((master_key, master_iv)),
        }
    }
}

/// The bytes Android's PBKDF2 sees for a password: UTF-8 from version 2 on; version 1
/// archives come from the 8-bit variant, which keeps the low byte of each UTF-16 unit.
fn password_bytes(password: &str, version: u8) -> Vec<u8> {
    if version >= 2 {
        password.as_bytes().to_vec()
    } else {
        password.encode_utf16().map(|unit| unit as u8).collect()
    }
}

/// The master key as the "password" of its checksum. Android turns each byte into a Java
/// char by sign extension (0x80..0xFF become U+FF80..U+FFFF), then PBKDF2 encodes the
/// chars as UTF-8 (version 2+); the version 1 variant keeps the raw bytes.
pub(crate) fn master_key_as_password(master_key: &[u8], version: u8) -> Vec<u8> {
    if version < 2 {
        return master_key.to_vec();
    }
    let mut out = Vec::with_capacity(master_key.len() * 3);
    for byte in master_key {
        let unit = *byte as i8 as i16 as u16;
        let ch = char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    out
}

fn write_tar<W: Write>(
    mut out: W,
    spec: &Spec,
    device: &Device,
    totals: &mut Totals,
) -> io::Result<W> {
    let files = data_files(spec);
    for (package, version_code, _) in APPS {
        let has_apk = package == APPS[0].0;
        let manifest = app_manifest(spec.seed, package, version_code, device.sdk, has_apk);
        let entry = TarEntry {
            package,
            domain: "",
            relative: "_manifest",
            mode: 0o600,
            uid: SYSTEM_UID,
            size: manifest.len() as u64,
            // Android stamps the manifest with time 0.
            mtime: 0,
        };
        write_bytes(&mut out, &entry, &manifest)?;
        if has_apk {
            // With `adb backup -apk` the apk precedes the app's data, as restore requires.
            let apk = apk_bytes(spec, package, "base.apk");
            let entry = TarEntry {
                package,
                domain: "a",
                relative: "base.apk",
                mode: 0o644,
                uid: SYSTEM_UID,
                size: apk.len() as u64,
                mtime: spec.date_unix,
            };
            write_bytes(&mut out, &entry, &apk)?;
        }
        for (index, file) in files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.package == package)
        {
            let entry = TarEntry {
                package,
                domain: file.domain,
                relative: &file.relative,
                mode: file.mode,
                uid: file.uid,
                size: file.size,
                mtime: spread_mtime(spec.date_unix, index),
            };
            tar::write_header(&mut out, &entry)?;
            let name = file.relative.rsplit('/').next().unwrap_or(&file.relative);
            write_content(spec.seed, &entry.full_name(), name, file.size, &mut out)?;
            tar::pad(&mut out, file.size)?;
            totals.add(file.size);
        }
    }
    tar::finish(&mut out)?;
    Ok(out)
}

fn write_bytes(out: &mut impl Write, entry: &TarEntry<'_>, bytes: &[u8]) -> io::Result<()> {
    tar::write_header(out, entry)?;
    out.write_all(bytes)?;
    tar::pad(out, bytes.len() as u64)
}

/// The `_manifest` of a package: format version, package, versionCode, platform SDK,
/// installer, apk flag, signature count and signatures (hex of the signing certificate).
fn app_manifest(seed: u64, package: &str, version_code: u32, sdk: u32, has_apk: bool) -> Vec<u8> {
    let mut certificate = content_bytes(seed, &format!("cert:{package}"), "cert.der", 704);
    certificate[..4].copy_from_slice(&[0x30, 0x82, 0x02, 0xbc]);
    format!(
        "1\n{package}\n{version_code}\n{sdk}\ncom.android.vending\n{}\n1\n{}\n",
        u8::from(has_apk),
        hex::encode(certificate)
    )
    .into_bytes()
}

/// The apps' data files: every edge size, unicode and over-long names (which need pax
/// headers), then `spec.files` extra files split between the two apps.
fn data_files(spec: &Spec) -> Vec<DataFile> {
    const MIB: u64 = 1024 * 1024;
    let [(notes, _, notes_uid), (photos, _, photos_uid)] = APPS;
    let long_name = format!(
        "attachments/{}/meeting-notes-with-a-very-long-name.txt",
        "shared-with-the-whole-family-and-friends".repeat(2)
    );
    let mut files = vec![
        (notes, "f", ".launched".to_string(), 1, 0o600),
        (
            notes,
            "f",
            "notes/Caf\u{e9} \u{2615}.txt".to_string(),
            4096,
            0o600,
        ),
        (
            notes,
            "f",
            "\u{30e1}\u{30e2}/\u{65e5}\u{8a18}.txt".to_string(),
            15,
            0o600,
        ),
        (notes, "f", long_name, 16, 0o600),
        (notes, "db", "notes.db".to_string(), 65537, 0o660),
        (notes, "db", "notes.db-journal".to_string(), 0, 0o600),
        (
            notes,
            "sp",
            "com.example.notes_preferences.xml".to_string(),
            17,
            0o660,
        ),
        (photos, "f", "Fotos/IMG_0001.jpg".to_string(), MIB, 0o600),
        (
            photos,
            "f",
            "Fotos/IMG_0002.jpg".to_string(),
            300_000,
            0o600,
        ),
        (
            photos,
            "sp",
            "com.example.photos_preferences.xml".to_string(),
            2048,
            0o660,
        ),
    ];
    if spec.ab_version >= 4 {
        // Version 4 added device-protected storage.
        files.push((notes, "d_f", "boot-state.bin".to_string(), 16, 0o600));
    }
    for i in 0..spec.files {
        let n = i / 2;
        let bucket = n / 1000;
        if i % 2 == 0 {
            files.push((
                notes,
                "f",
                format!("archive/{bucket:03}/note-{n:06}.txt"),
                spec.file_size,
                0o600,
            ));
        } else {
            files.push((
                photos,
                "f",
                format!("import/{bucket:03}/IMG_{n:06}.jpg"),
                spec.file_size,
                0o600,
            ));
        }
    }
    files
        .into_iter()
        .map(|(package, domain, relative, size, mode)| DataFile {
            package,
            uid: if package == notes {
                notes_uid
            } else {
                photos_uid
            },
            domain,
            relative,
            size,
            mode,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_password_mangles_high_bytes_from_version_2() {
        let key = [0x41, 0x80, 0xff];
        assert_eq!(master_key_as_password(&key, 1), key);
        assert_eq!(
            master_key_as_password(&key, 2),
            [0x41, 0xef, 0xbe, 0x80, 0xef, 0xbf, 0xbf]
        );
    }
}
