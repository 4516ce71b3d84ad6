//! The plain-language catalog: for every stable code Plugback can report, what happened
//! and what to do, in the words of a person. Front ends look codes up here; messages in
//! reports stay specific to the file concerned.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub code: &'static str,
    pub title: &'static str,
    pub what_happened: &'static str,
    pub what_to_do: &'static str,
}

const fn entry(
    code: &'static str,
    title: &'static str,
    what_happened: &'static str,
    what_to_do: &'static str,
) -> Explanation {
    Explanation {
        code,
        title,
        what_happened,
        what_to_do,
    }
}

pub const CATALOG: &[Explanation] = &[
    entry(
        "missing-file",
        "A file the backup needs is missing",
        "One of the backup's own description files (Info.plist, Manifest.plist, Status.plist or Manifest.db) is not in the folder.",
        "Copy the whole backup folder again from where it came from. If this is the only copy, make a new backup of the phone.",
    ),
    entry(
        "empty-file",
        "A file in the backup is empty",
        "A file that should hold data has zero bytes, often because a copy or a disk ran out of space.",
        "Copy the backup again from its source, or make a new backup. Do not delete the older copy until the new one verifies.",
    ),
    entry(
        "plist-unreadable",
        "A backup description file cannot be read",
        "A .plist file in the backup is damaged or is not a property list.",
        "Copy the backup again from its source. If that fails, make a new backup of the phone.",
    ),
    entry(
        "snapshot-unfinished",
        "The backup did not finish",
        "The phone stopped before the backup was complete, so some files may be missing.",
        "Make a new backup and keep the phone plugged in and unlocked until it finishes.",
    ),
    entry(
        "manifest-db-corrupt",
        "The backup's file list is damaged",
        "Manifest.db, the database that lists every file in the backup, fails its integrity check.",
        "Copy the backup again from its source. Without a readable file list the phone cannot restore from it.",
    ),
    entry(
        "blob-missing",
        "Files are missing from the backup",
        "The backup's file list names files whose data is not in the folder.",
        "Copy the backup again from its source; the restore would leave these files out.",
    ),
    entry(
        "blob-size-mismatch",
        "A file has the wrong size",
        "A file's data on disk is not the size the backup's file list records. It was cut short or changed.",
        "Copy the backup again from its source. Restoring would give the phone a damaged file.",
    ),
    entry(
        "blob-orphan",
        "An extra file is in the backup folder",
        "The folder holds data that the backup's file list does not mention. It is harmless for a restore.",
        "Nothing is needed. If you did not put it there, the folder may mix two backups: keep it as it is and ask for help.",
    ),
    entry(
        "fileid-mismatch",
        "A file is stored under the wrong name",
        "The backup names each file by a hash of its place on the phone; this entry's name does not match.",
        "The file list was edited or damaged. Copy the backup again from its source.",
    ),
    entry(
        "password-required",
        "This backup is encrypted",
        "The backup was made with \"Encrypt local backup\" on, so its contents need the password set at that time.",
        "Enter the backup password. It is the one chosen in Finder or iTunes (or on the phone for Android), not the phone's passcode.",
    ),
    entry(
        "wrong-password",
        "That password does not open this backup",
        "The password was checked against the backup's keys and does not match. Nothing was changed.",
        "Try again, watching capitals and keyboard layout. It is the backup password, not the phone passcode or the Apple Account password.",
    ),
    entry(
        "decrypt-failed",
        "A file could not be decrypted",
        "The password is right but this file's data does not decrypt cleanly: it is damaged.",
        "Copy the backup again from its source. Other files may still restore.",
    ),
    entry(
        "ab-header-invalid",
        "This Android backup file has a damaged header",
        "The first lines of the .ab file, which say how it is compressed and encrypted, cannot be understood.",
        "Make sure this is the file that `adb backup` wrote, copied whole. Make a new backup if you can.",
    ),
    entry(
        "ab-truncated",
        "This Android backup file is cut short",
        "The file ends before its data does, often because the copy or the backup was interrupted.",
        "Copy the file again, or make a new backup and wait until the phone says it is done.",
    ),
    entry(
        "ab-stream-corrupt",
        "This Android backup's data is damaged",
        "The compressed or encrypted data inside the .ab file does not decode.",
        "Copy the file again from its source, or make a new backup.",
    ),
    entry(
        "tar-invalid",
        "The archive inside the Android backup is damaged",
        "The .ab file decodes, but the archive of app data inside it is malformed.",
        "Copy the file again from its source, or make a new backup.",
    ),
    entry(
        "checksum-mismatch",
        "A file's contents changed",
        "The file's data does not match the checksum recorded when the backup was made.",
        "Copy the backup again from its source. This file would restore damaged.",
    ),
    entry(
        "suspicious-size",
        "The backup is much smaller than it should be",
        "A file or the whole backup is far smaller than its own file list says, as if a copy stopped early.",
        "Check the disk the backup is on has space, then copy the backup again from its source.",
    ),
    entry(
        "unsafe-path",
        "The backup names a file outside itself",
        "An entry tries to reach outside the backup (`..`, an absolute path, or a drive letter). Plugback refuses it.",
        "Do not restore from this backup: it may have been tampered with. Use another copy.",
    ),
    entry(
        "unreadable",
        "Plugback cannot read this backup",
        "The operating system refused to read part of the backup (permissions, a disconnected drive, or a disk error).",
        "Check that the drive is connected and that your account can read the folder, then try again.",
    ),
    entry(
        "record-invalid",
        "An entry in the backup's file list is damaged",
        "One entry in the file list cannot be decoded, so Plugback cannot check that file.",
        "Copy the backup again from its source. Other files may still restore.",
    ),
    entry(
        "manifest-unreadable",
        "The backup's file list cannot be read",
        "The file that lists everything in the backup (plugback-android.json) is damaged, is not a Plugback file list, or was written by a newer Plugback.",
        "If Plugback says the list is from a newer version, update Plugback. Otherwise copy the backup folder again from its source.",
    ),
    entry(
        "not-a-backup",
        "This is not a phone backup",
        "Plugback found no iPhone backup files (Info.plist, Manifest.db) and no Android backup (.ab, plugback-android.json) here.",
        "Pick the backup folder itself: for an iPhone, the folder named after the phone's identifier, inside MobileSync/Backup.",
    ),
    entry(
        "io-error",
        "A file could not be read",
        "The operating system reported an error while reading the backup.",
        "Check that the drive is connected and that your account can read the folder, then try again.",
    ),
    entry(
        "malformed",
        "Part of the backup is malformed",
        "A file in the backup does not have the structure Plugback expects.",
        "Copy the backup again from its source.",
    ),
    entry(
        "cancelled",
        "Stopped",
        "The check was stopped before it finished. Nothing was changed.",
        "Start it again when you are ready.",
    ),
];

/// The explanation for a code, if Plugback has one.
pub fn explain(code: &str) -> Option<&'static Explanation> {
    CATALOG.iter().find(|e| e.code == code)
}

/// Entries whose code, title or text mention every word of `query` (case-insensitive).
pub fn search(query: &str) -> Vec<&'static Explanation> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    CATALOG
        .iter()
        .filter(|e| {
            let text = format!(
                "{} {} {} {}",
                e.code, e.title, e.what_happened, e.what_to_do
            )
            .to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::verify::ProblemCode;

    #[test]
    fn every_problem_code_is_explained() {
        for code in ProblemCode::ALL {
            assert!(
                explain(code.as_str()).is_some(),
                "no explanation for {}",
                code.as_str()
            );
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = CATALOG.iter().map(|e| e.code).collect();
        codes.sort();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len());
    }

    #[test]
    fn search_finds_by_words() {
        let hits = search("wrong password");
        assert!(hits.iter().any(|e| e.code == "wrong-password"));
        assert!(search("zzzz-nothing").is_empty());
    }
}
