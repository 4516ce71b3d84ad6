//! An `.ab` archive against what the simulated Android phone restored from it: every file
//! of the archive, read with the tar crate from Plugback's decrypted, decompressed stream,
//! by SHA-256 with the phone's copy (app data under DATA/restored/apps, shared storage
//! under DATA/sdcard), and the phone's files the archive does not account for.
//!
//! Whether the archive is whole and sound was settled before the restore by Plugback's own
//! reader (`archive::read_through`, which also refuses oversized long-name and pax records
//! the tar crate would hold in memory); this second read only learns names and contents.

use super::digest::{self, Unhashed};
use super::{LISTED, TestRestoreError, TestRestoreReport, push};
use plugback_core::backup::BackupError;
use plugback_core::backup::android::ab_stream;
use plugback_core::backup::safe_path;
use plugback_core::cancel::CancelToken;
use plugback_core::restore::RestoreError;
use plugback_core::secret::Password;
use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use tar::EntryType;

const COMPARED: &str = "every file of the archive (app data and shared storage), by its \
                        SHA-256, with what the simulated Android phone restored";

/// Reads the archive to its end and checks each file against the phone's copy; then looks
/// for files the phone has that the archive does not hold.
pub(super) fn compare(
    backup: &Path,
    password: Option<&Password>,
    data_dir: &Path,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    let unreadable = |err| archive_error(backup, err);
    let stream = ab_stream::open_tar_stream(backup, password)
        .map_err(|err| TestRestoreError::from_backup(backup, err))?;
    let mut archive = tar::Archive::new(stream);
    let mut report = TestRestoreReport::new(COMPARED);
    // Places on the phone the archive's files account for.
    let mut claimed = HashSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        if !matches!(
            entry.header().entry_type(),
            EntryType::Regular | EntryType::Continuous
        ) {
            continue;
        }
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        let place = match (safe_path::tar_name_problem(&raw_name), place_of(&name)) {
            (None, Some(place)) => place,
            (Some(why), _) => {
                leave_out(&mut report, &name, why);
                continue;
            }
            (None, None) => {
                let why = "neither app data nor shared storage, which is all a phone restores";
                leave_out(&mut report, &name, why);
                continue;
            }
        };
        report.files_expected += 1;
        let in_archive =
            digest::sha256(&mut entry, cancel).map_err(|err| err.into_error(unreadable))?;
        let on_phone = File::open(data_dir.join(&place))
            .ok()
            .map(|file| digest::sha256(file, cancel));
        match on_phone {
            None => push(&mut report.missing, &name),
            Some(Ok(digest)) if digest == in_archive => report.files_intact += 1,
            Some(Err(Unhashed::Cancelled)) => return Err(RestoreError::Cancelled.into()),
            // A copy that cannot be read back is no copy of the archive's file.
            Some(_) => push(&mut report.different, &name),
        }
        claimed.insert(place);
    }
    for folder in ["restored", "sdcard"] {
        let on_phone = digest::files_under(data_dir, Path::new(folder))
            .map_err(TestRestoreError::simulator)?;
        for place in on_phone.iter().filter(|place| !claimed.contains(*place)) {
            push(&mut report.unexpected, &archive_name(place));
        }
    }
    Ok(report)
}

/// A read of the archive that failed part-way, told as Plugback's reader tells it.
fn archive_error(backup: &Path, err: io::Error) -> TestRestoreError {
    let err = match ab_stream::find_fault(&err) {
        Some(fault) => fault.to_backup_error(backup),
        None => BackupError::Malformed {
            path: backup.to_path_buf(),
            detail: err.to_string(),
        },
    };
    TestRestoreError::from_backup(backup, err)
}

fn leave_out(report: &mut TestRestoreReport, name: &str, why: &str) {
    if report.left_out.len() < LISTED {
        report.left_out.push(format!("{name}: {why}"));
    }
}

/// Where the simulated phone puts an archive entry, relative to DATA: `apps/<package>/…`
/// under `restored/apps`, `shared/0/…` (shared storage) under `sdcard`. None for entries a
/// phone does not restore.
fn place_of(name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let (mut place, rest) = match parts.as_slice() {
        ["apps", package, rest @ ..] => (Path::new("restored/apps").join(package), rest),
        ["shared", "0", rest @ ..] => (PathBuf::from("sdcard"), rest),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    place.extend(rest);
    Some(place)
}

/// The archive's name for a place on the phone, for the report.
fn archive_name(place: &Path) -> String {
    let parts: Vec<String> = place
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.split_first() {
        Some((first, rest)) if first == "sdcard" => format!("shared/0/{}", rest.join("/")),
        Some((first, rest)) if first == "restored" => rest.join("/"),
        _ => parts.join("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_sim::android::{AndroidConfig, AndroidPhone};
    use plugback_sim::make_backup::{KdfCost, Kind, Spec, make_backup};

    /// A generated archive restored by the simulated phone's own restore service, fed
    /// straight from memory (no adb needed); returns the phone's DATA.
    fn restored(password: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.ab");
        let mut spec = Spec::new(Kind::AndroidAb);
        spec.kdf_cost = KdfCost::Low;
        spec.password = password.map(str::to_owned);
        spec.files = 4;
        make_backup(&spec, &path).unwrap();
        let data = dir.path().join("phone");
        std::fs::create_dir(&data).unwrap();
        let mut config = AndroidConfig::new(data.clone());
        config.auto_confirm_restore = true;
        config.restore_password = password.map(str::to_owned);
        let phone = AndroidPhone::new(config).unwrap();
        let mut sent = std::fs::read(&path).unwrap();
        sent.extend_from_slice(&[0; 1024]);
        plugback_sim::android::restore::serve(&mut io::Cursor::new(sent), &phone).unwrap();
        (dir, path, data)
    }

    #[test]
    fn every_file_is_compared_byte_for_byte() {
        let (_dir, path, data) = restored(Some("pw"));
        let password = Password::new("pw");
        let cancel = CancelToken::new();
        let report = compare(&path, Some(&password), &data, &cancel).unwrap();
        assert!(report.files_expected > 4, "{report:?}");
        assert_eq!(report.files_intact, report.files_expected, "{report:?}");
        assert!(report.missing.is_empty() && report.different.is_empty());
        assert!(report.unexpected.is_empty(), "{report:?}");

        let notes = data.join("restored/apps/com.example.notes");
        // Same size, one byte changed; one byte longer; gone; one file too many.
        let mut changed = std::fs::read(notes.join("db/notes.db")).unwrap();
        changed[40_000] ^= 1;
        std::fs::write(notes.join("db/notes.db"), changed).unwrap();
        let mut longer = std::fs::read(notes.join("sp/com.example.notes_preferences.xml")).unwrap();
        longer.push(b'\n');
        std::fs::write(notes.join("sp/com.example.notes_preferences.xml"), longer).unwrap();
        std::fs::remove_file(notes.join("f/.launched")).unwrap();
        std::fs::write(data.join("sdcard/Download/stray.txt"), b"x").unwrap();
        let report = compare(&path, Some(&password), &data, &cancel).unwrap();
        assert_eq!(report.files_intact, report.files_expected - 3, "{report:?}");
        assert_eq!(
            report.different,
            [
                "apps/com.example.notes/db/notes.db",
                "apps/com.example.notes/sp/com.example.notes_preferences.xml"
            ]
        );
        assert_eq!(report.missing, ["apps/com.example.notes/f/.launched"]);
        assert_eq!(report.unexpected, ["shared/0/Download/stray.txt"]);
    }

    #[test]
    fn an_archive_cut_short_is_told_as_unreadable() {
        let (_dir, path, data) = restored(None);
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let err = compare(&path, None, &data, &CancelToken::new()).unwrap_err();
        assert_eq!(err.code(), "restore-backup-unreadable", "{err}");

        std::fs::write(&path, &whole).unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = compare(&path, None, &data, &cancel).unwrap_err();
        assert_eq!(err.code(), "cancelled", "{err}");
    }

    #[test]
    fn entries_land_where_the_phone_puts_them() {
        assert_eq!(
            place_of("apps/com.x/f/a/b.txt"),
            Some(PathBuf::from("restored/apps/com.x/f/a/b.txt"))
        );
        assert_eq!(
            place_of("apps/com.x/_manifest"),
            Some(PathBuf::from("restored/apps/com.x/_manifest"))
        );
        assert_eq!(
            place_of("shared/0/DCIM/./a.jpg"),
            Some(PathBuf::from("sdcard/DCIM/a.jpg"))
        );
        for not_restored in ["shared/1/a", "other/x", "apps/com.x", "shared/0"] {
            assert_eq!(place_of(not_restored), None, "{not_restored}");
        }
        assert_eq!(
            archive_name(Path::new("restored/apps/com.x/f/a")),
            "apps/com.x/f/a"
        );
        assert_eq!(
            archive_name(Path::new("sdcard/DCIM/a.jpg")),
            "shared/0/DCIM/a.jpg"
        );
    }
}
