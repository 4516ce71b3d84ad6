//! Tiny but real APKs: zip archives with stored entries, written by the same zip writer
//! the simulated phone's tests use, each with a binary AndroidManifest.xml.

use super::super::Spec;
use super::super::content::content_bytes;
use super::APPS;
use super::axml::{Manifest, manifest_xml};
use crate::android::zip::stored_zip;

/// The minSdkVersion of an app the spec does not name: Android 7.0.
const DEFAULT_MIN_SDK: u32 = 24;
/// The targetSdkVersion every app declares (at least its minSdkVersion): Android 14.
const TARGET_SDK: u32 = 34;

/// The bytes of an APK named `name` of `package`, deterministic from the spec.
pub(crate) fn apk_bytes(spec: &Spec, package: &str, name: &str) -> Vec<u8> {
    let seed = spec.seed;
    let identity = format!("apk:{package}/{name}");
    let is_base = name == "base.apk";
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    // Every APK, split ones too, carries its own manifest; a split's names the split and
    // leaves `<uses-sdk>` to the base, as bundletool's config splits do.
    let min_sdk = spec
        .app_min_sdk
        .get(package)
        .copied()
        .unwrap_or(DEFAULT_MIN_SDK);
    let version_code = APPS
        .iter()
        .find(|(p, _, _)| *p == package)
        .map_or(1, |(_, code, _)| *code);
    let split = name
        .strip_prefix("split_")
        .map(|n| n.strip_suffix(".apk").unwrap_or(n));
    let manifest = manifest_xml(&Manifest {
        package,
        version_code,
        split,
        sdk: is_base.then_some((min_sdk, TARGET_SDK.max(min_sdk))),
    });
    entries.push(("AndroidManifest.xml".into(), manifest));
    if is_base {
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
    stored_zip(&entries, dos_date_time(spec.date_unix))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::android::zip::{CENTRAL_HEADER, END_OF_CENTRAL_DIRECTORY, LOCAL_HEADER};
    use flate2::Crc;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn central_directory_points_at_each_local_entry_with_its_crc() {
        let mut spec = Spec::new(crate::make_backup::Kind::AndroidFolder);
        spec.seed = 3;
        let zip = apk_bytes(&spec, "com.example.notes", "base.apk");
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
