//! The apps to reinstall: `/iTunesRestore/RestoreApplications.plist` on the phone (AFC),
//! the XML of the backup's Info.plist `Applications` dictionary, written before the Restore
//! request as libimobiledevice does. The phone reinstalls these apps after it reboots.

use super::super::{RestoreError, Sink};
use super::sync_lock::afc_step;
use crate::backup::ios::plist_read::{MAX_PLIST_VALUES, plist_value};
use crate::cancel::CancelToken;
use crate::device::ios::afc_file::AfcFile;
use idevice::afc::AfcClient;
use idevice::afc::opcode::AfcFopenMode;
use plist::Value;
use std::path::Path;
use std::time::Duration;

const DIR: &str = "/iTunesRestore";
const FILE: &str = "/iTunesRestore/RestoreApplications.plist";
/// AFC writes go in pieces of this size, each bounded on its own.
const WRITE_PIECE: usize = 1 << 20;
/// Info.plist with hundreds of apps and their icons is tens of megabytes at most.
const MAX_INFO_PLIST: u64 = 512 << 20;

/// The XML to write, or None when the backup lists no apps (or its Info.plist cannot be
/// read: the phone restores the data anyway, without reinstalling apps).
pub(super) fn applications_xml(backup_dir: &Path, sink: &Sink) -> Option<Vec<u8>> {
    let path = backup_dir.join("Info.plist");
    let note = |why: String| {
        sink.note(
            "restore-apps-skipped",
            format!("The phone will not be asked to reinstall apps: {why}"),
        );
        None
    };
    let bytes = match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > MAX_INFO_PLIST => {
            return note("Info.plist is larger than any real one".into());
        }
        Ok(_) => match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => return note(format!("Info.plist cannot be read ({e})")),
        },
        Err(e) => return note(format!("Info.plist cannot be read ({e})")),
    };
    let info = match plist_value(&bytes, MAX_PLIST_VALUES) {
        Ok(Value::Dictionary(info)) => info,
        Ok(_) => return note("Info.plist is not a dictionary".into()),
        Err(why) => return note(format!("Info.plist cannot be read ({why})")),
    };
    let apps = info.get("Applications")?;
    let mut xml = Vec::new();
    match apps.to_writer_xml(&mut xml) {
        Ok(()) => Some(xml),
        Err(e) => note(format!("the list of apps cannot be written out ({e})")),
    }
}

/// Writes the list to the phone.
pub(super) async fn write(
    afc: &mut AfcClient,
    xml: &[u8],
    step: Duration,
    cancel: &CancelToken,
) -> Result<(), RestoreError> {
    afc_step(step, cancel, afc.mk_dir(DIR)).await?;
    let file = afc_step(step, cancel, AfcFile::open(afc, FILE, AfcFopenMode::Wr)).await?;
    let mut written = Ok(());
    for piece in xml.chunks(WRITE_PIECE) {
        written = afc_step(step, cancel, file.write(afc, piece)).await;
        if written.is_err() {
            break;
        }
    }
    let closed = afc_step(step, cancel, file.close(afc)).await;
    written.and(closed)
}

/// Removes the list after a failed restore, so that a later restore starts clean (as
/// libimobiledevice does). Best effort, never cancelled.
pub(super) async fn remove(afc: &mut AfcClient, step: Duration) {
    let cancel = CancelToken::new();
    let _ = afc_step(step, &cancel, afc.remove(FILE)).await;
    let _ = afc_step(step, &cancel, afc.remove(DIR)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use plist::Dictionary;

    #[test]
    fn the_list_is_the_xml_of_the_applications_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        let mut apps = Dictionary::new();
        apps.insert(
            "com.example.notes".into(),
            Value::Dictionary(Dictionary::from_iter([(
                "ApplicationSINF".to_owned(),
                Value::Data(vec![1, 2, 3]),
            )])),
        );
        let mut info = Dictionary::new();
        info.insert("Applications".into(), Value::Dictionary(apps.clone()));
        info.insert("Device Name".into(), Value::String("Phone".into()));
        Value::Dictionary(info)
            .to_file_binary(dir.path().join("Info.plist"))
            .unwrap();
        let xml = applications_xml(dir.path(), &Sink::discard()).unwrap();
        assert!(xml.starts_with(b"<?xml"));
        let back = Value::from_reader_xml(std::io::Cursor::new(xml)).unwrap();
        assert_eq!(back, Value::Dictionary(apps));
    }

    #[test]
    fn no_info_plist_means_no_list_and_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let notes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = notes.clone();
        let sink = Sink::new(move |event| seen.lock().unwrap().push(event));
        assert!(applications_xml(dir.path(), &sink).is_none());
        assert_eq!(notes.lock().unwrap().len(), 1);
    }
}
