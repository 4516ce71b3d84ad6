//! Tiny but real APKs: zip archives with stored (uncompressed) entries, local headers, a
//! central directory and an end record, so "is this a zip" checks pass. Written by hand:
//! a few dozen bytes of layout do not warrant a zip dependency.

use super::super::content::content_bytes;
use flate2::Crc;

/// The bytes of an APK named `name` of `package`, deterministic from the seed.
pub(crate) fn apk_bytes(seed: u64, package: &str, name: &str, date_unix: i64) -> Vec<u8> {
    let identity = format!("apk:{package}/{name}");
    let is_base = name == "base.apk";
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    if is_base {
        // Binary XML chunk header, then the body.
        let mut manifest = content_bytes(
            seed,
            &format!("{identity}/manifest"),
            "AndroidManifest",
            1_536,
        );
        manifest[..4].copy_from_slice(&[0x03, 0x00, 0x08, 0x00]);
        entries.push(("AndroidManifest.xml".into(), manifest));
        let mut dex = content_bytes(seed, &format!("{identity}/dex"), "classes.dex", 6_144);
        dex[..8].copy_from_slice(b"dex\n035\0");
        entries.push(("classes.dex".into(), dex));
    } else {
        let lib = format!(
            "lib/arm64-v8a/lib{}.so",
            package.rsplit('.').next().unwrap_or("app")
        );
        let mut elf = content_bytes(seed, &format!("{identity}/so"), "lib.so", 4_096);
        elf[..4].copy_from_slice(b"\x7fELF");
        entries.push((lib, elf));
    }
    let mut resources = content_bytes(seed, &format!("{identity}/arsc"), "resources.arsc", 2_048);
    resources[..4].copy_from_slice(&[0x02, 0x00, 0x0c, 0x00]);
    entries.push(("resources.arsc".into(), resources));
    entries.push((
        "META-INF/MANIFEST.MF".into(),
        b"Manifest-Version: 1.0\r\nCreated-By: Plugback simulator\r\n\r\n".to_vec(),
    ));
    stored_zip(&entries, dos_date_time(date_unix))
}

/// MS-DOS (date, time) of a Unix time, as zip headers store it (UTC here).
fn dos_date_time(unix: i64) -> (u16, u16) {
    let at =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let year = at.year().clamp(1980, 2107) as u16;
    let date = (year - 1980) << 9 | u16::from(u8::from(at.month())) << 5 | u16::from(at.day());
    let time =
        u16::from(at.hour()) << 11 | u16::from(at.minute()) << 5 | u16::from(at.second() / 2);
    (date, time)
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// Zip 1.0: stored entries need nothing newer.
const VERSION_NEEDED: u16 = 10;

fn stored_zip(entries: &[(String, Vec<u8>)], (date, time): (u16, u16)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let mut crc = Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let offset = out.len() as u32;
        let size = data.len() as u32;
        let name_len = name.len() as u16;

        put32(&mut out, LOCAL_HEADER);
        put16(&mut out, VERSION_NEEDED);
        put16(&mut out, 0); // flags
        put16(&mut out, 0); // method: stored
        put16(&mut out, time);
        put16(&mut out, date);
        put32(&mut out, crc);
        put32(&mut out, size);
        put32(&mut out, size);
        put16(&mut out, name_len);
        put16(&mut out, 0); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        put32(&mut central, CENTRAL_HEADER);
        put16(&mut central, VERSION_NEEDED);
        put16(&mut central, VERSION_NEEDED);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put16(&mut central, time);
        put16(&mut central, date);
        put32(&mut central, crc);
        put32(&mut central, size);
        put32(&mut central, size);
        put16(&mut central, name_len);
        put16(&mut central, 0); // extra
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk number
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0); // external attributes
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    let count = entries.len() as u16;
    put32(&mut out, END_OF_CENTRAL_DIRECTORY);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    out
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn central_directory_points_at_each_local_entry_with_its_crc() {
        let zip = apk_bytes(3, "com.example.notes", "base.apk", 1_795_600_800);
        let end = zip.len() - 22;
        assert_eq!(u32_at(&zip, end), END_OF_CENTRAL_DIRECTORY);
        let count = u16_at(&zip, end + 10) as usize;
        assert_eq!(count, 4);
        let mut at = u32_at(&zip, end + 16) as usize;
        for _ in 0..count {
            assert_eq!(u32_at(&zip, at), CENTRAL_HEADER);
            let crc = u32_at(&zip, at + 16);
            let size = u32_at(&zip, at + 20) as usize;
            let name_len = u16_at(&zip, at + 28) as usize;
            let local = u32_at(&zip, at + 42) as usize;
            assert_eq!(u32_at(&zip, local), LOCAL_HEADER);
            let data_at = local + 30 + u16_at(&zip, local + 26) as usize;
            let mut check = Crc::new();
            check.update(&zip[data_at..data_at + size]);
            assert_eq!(check.sum(), crc);
            at += 46 + name_len;
        }
    }

    #[test]
    fn dos_dates_are_gregorian() {
        // 2026-11-25 10:00:00 UTC.
        let (date, time) = dos_date_time(1_795_600_800);
        assert_eq!((date >> 9) + 1980, 2026);
        assert_eq!((date >> 5) & 0xf, 11);
        assert_eq!(date & 0x1f, 25);
        assert_eq!(time >> 11, 10);
    }
}
