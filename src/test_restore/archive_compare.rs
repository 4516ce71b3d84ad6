//! An `.ab` archive against what the simulated Android phone restored from it: every file
//! of the archive, read with Plugback's own `.ab` reader, byte for byte with the phone's
//! copy (app data under DATA/restored/apps, shared storage under DATA/sdcard), and the
//! phone's files the archive does not account for.

use super::{LISTED, TestRestoreError, TestRestoreReport, push};
use plugback_core::backup::BackupError;
use plugback_core::backup::android::ab_stream;
use plugback_core::backup::android::tar_walk::{self, EntryKind, Flow, TarEntryInfo, TarVisitor};
use plugback_core::cancel::CancelToken;
use plugback_core::secret::Password;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

const COMPARED: &str = "every file of the archive (app data and shared storage), byte for \
                        byte, with what the simulated Android phone restored";

/// Reads the archive to its end with Plugback's reader and checks each file against the
/// phone's copy; then looks for files the phone has that the archive does not hold.
pub(super) fn compare(
    backup: &Path,
    password: Option<&Password>,
    data_dir: &Path,
    cancel: &CancelToken,
) -> Result<TestRestoreReport, TestRestoreError> {
    let stream = ab_stream::open_tar_stream(backup, password)
        .map_err(|err| TestRestoreError::from_backup(backup, err))?;
    let heard = Rc::new(RefCell::new(Heard::default()));
    let reader = Overheard {
        inner: stream,
        heard: Rc::clone(&heard),
    };
    let mut checker = Checker {
        data_dir,
        heard,
        cancel,
        current: None,
        claimed: HashSet::new(),
        report: TestRestoreReport::new(COMPARED),
        lost: None,
        buffer: Vec::new(),
    };
    let walked = tar_walk::walk(reader, backup, &mut checker);
    checker.finish_entry();
    if let Some(why) = checker.lost {
        return Err(TestRestoreError::Simulator(why));
    }
    walked.map_err(|err| TestRestoreError::from_backup(backup, err))?;
    let mut on_phone = Vec::new();
    for folder in ["restored", "sdcard"] {
        files_in(data_dir, Path::new(folder), &mut on_phone)
            .map_err(TestRestoreError::simulator)?;
    }
    let mut report = checker.report;
    for place in on_phone.iter().filter(|p| !checker.claimed.contains(*p)) {
        push(&mut report.unexpected, &archive_name(place));
    }
    Ok(report)
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

/// Every regular file under DATA/`folder`, relative to DATA; an absent folder has none.
fn files_in(data_dir: &Path, folder: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut pending = vec![folder.to_path_buf()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(data_dir.join(&relative)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// What the archive reader last read from the stream, and how much it read since the
/// checker last looked.
#[derive(Default)]
struct Heard {
    last: Vec<u8>,
    since: u64,
}

/// The archive's stream, passed through unchanged, with what was read kept in [`Heard`].
///
/// The reader tells a visitor of each entry before reading its contents, and of each read
/// of contents right after it, with nothing buffered on the way (see `tar_walk`): so the
/// bytes read between the two calls are that entry's contents. The checker makes sure the
/// counts agree every time, and stops rather than guess when they do not. This gets the
/// contents from Plugback's own reader, pax and long names included, without a second tar
/// parser.
struct Overheard<R> {
    inner: R,
    heard: Rc<RefCell<Heard>>,
}

impl<R: Read> Read for Overheard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut heard = self.heard.borrow_mut();
        heard.last.clear();
        heard.last.extend_from_slice(&buf[..n]);
        heard.since += n as u64;
        Ok(n)
    }
}

/// One archive file being compared with the phone's copy.
struct Current {
    name: String,
    /// None when the phone has no file there.
    on_phone: Option<BufReader<File>>,
    differs: bool,
}

impl Current {
    /// The next `contents` of the archive's file against the next bytes of the phone's.
    fn check(&mut self, contents: &[u8], buffer: &mut Vec<u8>) {
        let Some(file) = self.on_phone.as_mut().filter(|_| !self.differs) else {
            return;
        };
        buffer.resize(contents.len(), 0);
        if file.read_exact(buffer).is_err() || buffer[..] != contents[..] {
            self.differs = true;
        }
    }
}

struct Checker<'a> {
    data_dir: &'a Path,
    heard: Rc<RefCell<Heard>>,
    cancel: &'a CancelToken,
    current: Option<Current>,
    /// Places on the phone the archive's files account for.
    claimed: HashSet<PathBuf>,
    report: TestRestoreReport,
    /// Why the comparison could not follow the reader, when it could not.
    lost: Option<String>,
    buffer: Vec<u8>,
}

impl Checker<'_> {
    /// Counts the file compared so far: intact only when the phone's copy ends where the
    /// archive's does.
    fn finish_entry(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        match current.on_phone {
            None => push(&mut self.report.missing, &current.name),
            Some(mut file) => {
                let mut extra = [0u8; 1];
                if !current.differs && matches!(file.read(&mut extra), Ok(0)) {
                    self.report.files_intact += 1;
                } else {
                    push(&mut self.report.different, &current.name);
                }
            }
        }
    }

    fn leave_out(&mut self, name: &str, why: &str) {
        if self.report.left_out.len() < LISTED {
            self.report.left_out.push(format!("{name}: {why}"));
        }
    }
}

impl TarVisitor for Checker<'_> {
    fn entry(&mut self, entry: &TarEntryInfo) -> Result<Flow, BackupError> {
        self.finish_entry();
        // What was read up to here was headers, not contents.
        self.heard.borrow_mut().since = 0;
        if entry.kind != EntryKind::File {
            return Ok(Flow::Continue);
        }
        if let Some(why) = entry.unsafe_reason {
            self.leave_out(&entry.name, why);
            return Ok(Flow::Continue);
        }
        let Some(place) = place_of(&entry.name) else {
            self.leave_out(
                &entry.name,
                "neither app data nor shared storage, which is all a phone restores",
            );
            return Ok(Flow::Continue);
        };
        self.report.files_expected += 1;
        let on_phone = File::open(self.data_dir.join(&place))
            .ok()
            .map(BufReader::new);
        self.claimed.insert(place);
        self.current = Some(Current {
            name: entry.name.clone(),
            on_phone,
            differs: false,
        });
        Ok(Flow::Continue)
    }

    fn data(&mut self, bytes: u64) -> Result<(), BackupError> {
        if self.cancel.is_cancelled() {
            return Err(BackupError::Cancelled);
        }
        let mut heard = self.heard.borrow_mut();
        let since = std::mem::take(&mut heard.since);
        if since != bytes || heard.last.len() as u64 != bytes {
            self.lost = Some(format!(
                "the archive reader reported {bytes} bytes of contents where {since} were read"
            ));
            // Stops the walk; `lost` says why.
            return Err(BackupError::Cancelled);
        }
        if let Some(current) = self.current.as_mut() {
            current.check(&heard.last, &mut self.buffer);
        }
        Ok(())
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
