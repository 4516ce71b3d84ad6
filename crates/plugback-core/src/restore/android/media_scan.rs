//! Asking the phone to look for the photos, videos and music just restored, so the
//! gallery and the music player show them without a restart.
//!
//! The request is the `MEDIA_SCANNER_SCAN_FILE` broadcast, sent with `am broadcast` from
//! the shell (the shell user may send it on every Android version). What it scans depends
//! on the Android version: Android 11 (API 30) and later scan a folder with everything
//! below it (MediaProvider's modern scanner walks the tree), so one broadcast per top
//! folder ("/sdcard/DCIM") is enough; older versions scan exactly the one file named, so
//! each media file gets its own broadcast, up to a limit: each `am` call starts a small
//! Java program on the phone, and thousands of them would take longer than the restore.
//! Files past the limit are found by the phone's own scan on its next restart.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::shell;
use serde::Serialize;
use std::collections::BTreeSet;

/// Android 11: the first version whose scanner walks a folder named in the broadcast.
const FOLDER_SCAN_SDK: u32 = 30;
/// The most single-file broadcasts sent to an older phone.
const MAX_FILE_BROADCASTS: usize = 200;
/// Longest command line sent at once; the service name travels in one adb message, which
/// older phones cap at 4 KiB.
const MAX_COMMAND: usize = 3000;
const ACTION: &str = "android.intent.action.MEDIA_SCANNER_SCAN_FILE";
/// What `am broadcast` prints once a broadcast was delivered.
const COMPLETED: &str = "Broadcast completed";
/// The names of the phone's shared storage, where the media scanner looks.
const SHARED_ROOTS: [&str; 3] = ["/sdcard", "/storage/emulated/0", "/storage/self/primary"];
/// Extensions of files the media scanner indexes as photos, videos or audio.
const MEDIA_EXTENSIONS: [&str; 27] = [
    "jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "bmp", "dng", "mp4", "3gp", "3gpp", "mkv",
    "webm", "mov", "avi", "ts", "mp3", "m4a", "aac", "ogg", "oga", "opus", "flac", "wav", "amr",
    "mid",
];

/// What came of asking the phone to rescan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum MediaRescan {
    /// Not asked: nothing went to the phone's shared storage, or the plan said not to.
    NotAsked,
    /// The phone took every broadcast. `not_announced` media files were past the limit
    /// of an older phone; it finds them when it restarts.
    Requested {
        broadcasts: usize,
        not_announced: usize,
    },
    /// The phone did not take the request; the files are there all the same.
    Failed { reason: String },
}

/// Asks the phone `serial` to scan what `phone_paths` put in its shared storage.
pub fn request(
    server: &AdbServer,
    serial: &str,
    phone_paths: &[&str],
    cancel: &CancelToken,
) -> Result<MediaRescan, DeviceError> {
    if !phone_paths.iter().any(|p| shared_parts(p).is_some()) {
        return Ok(MediaRescan::NotAsked);
    }
    let features = shell::features(server, serial, cancel)?;
    let sdk = shell::run(
        server,
        serial,
        "getprop ro.build.version.sdk",
        &features,
        cancel,
    )?
    .stdout_text()
    .trim()
    .parse::<u32>()
    .ok();
    let (targets, not_announced) = scan_targets(sdk, phone_paths);
    let mut broadcasts = 0;
    for batch in command_batches(&targets) {
        let output = shell::run(server, serial, &batch.command, &features, cancel)?;
        let completed = output.stdout_text().matches(COMPLETED).count();
        if completed < batch.broadcasts {
            return Ok(MediaRescan::Failed {
                reason: explain_failure(&output),
            });
        }
        broadcasts += batch.broadcasts;
    }
    Ok(MediaRescan::Requested {
        broadcasts,
        not_announced,
    })
}

/// The phone's words when it did not take a broadcast.
fn explain_failure(output: &shell::ShellOutput) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = output.stdout_text();
    let said = [stderr.trim(), stdout.trim()]
        .into_iter()
        .find(|text| !text.is_empty())
        .and_then(|text| text.lines().next())
        .unwrap_or("no answer")
        .to_string();
    match output.exit_code {
        Some(code) if code != 0 => format!("am broadcast failed (exit status {code}): {said}"),
        _ => format!("am broadcast was not completed: {said}"),
    }
}

/// What to name in broadcasts: top folders from Android 11 on, single media files before
/// (at most [`MAX_FILE_BROADCASTS`]); and how many media files were left unnamed.
fn scan_targets(sdk: Option<u32>, phone_paths: &[&str]) -> (Vec<String>, usize) {
    let shared = phone_paths
        .iter()
        .filter_map(|path| shared_parts(path).map(|parts| (*path, parts)));
    if sdk.is_some_and(|sdk| sdk >= FOLDER_SCAN_SDK) {
        let targets: BTreeSet<String> = shared
            .map(|(path, (root, rest))| match rest.split_once('/') {
                // A file right in the storage's root is named itself.
                None => path.to_string(),
                Some((top, _)) => format!("{root}/{top}"),
            })
            .collect();
        return (targets.into_iter().collect(), 0);
    }
    let media: Vec<String> = shared
        .filter(|(path, _)| is_media(path))
        .map(|(path, _)| path.to_string())
        .collect();
    let not_announced = media.len().saturating_sub(MAX_FILE_BROADCASTS);
    (
        media.into_iter().take(MAX_FILE_BROADCASTS).collect(),
        not_announced,
    )
}

/// The shared-storage root a path is under and the rest of it ("DCIM/Camera/a.jpg").
fn shared_parts(path: &str) -> Option<(&'static str, &str)> {
    SHARED_ROOTS.iter().find_map(|root| {
        let rest = path.strip_prefix(root)?.strip_prefix('/')?;
        (!rest.is_empty()).then_some((*root, rest))
    })
}

fn is_media(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        MEDIA_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    })
}

/// Several broadcasts in one shell command line.
struct Batch {
    command: String,
    broadcasts: usize,
}

/// `am broadcast` commands for `targets`, joined with `;` into lines of at most
/// [`MAX_COMMAND`] bytes (a single longer one goes alone).
fn command_batches(targets: &[String]) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for target in targets {
        let one = broadcast_command(target);
        match batches.last_mut() {
            Some(batch) if batch.command.len() + 3 + one.len() <= MAX_COMMAND => {
                batch.command.push_str(" ; ");
                batch.command.push_str(&one);
                batch.broadcasts += 1;
            }
            _ => batches.push(Batch {
                command: one,
                broadcasts: 1,
            }),
        }
    }
    batches
}

/// One broadcast naming `path` as a `file://` URI. Every byte outside a small safe set is
/// percent-encoded, so the quoted URI holds no character the phone's shell would read.
fn broadcast_command(path: &str) -> String {
    let mut uri = String::from("file://");
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("am broadcast -a {ACTION} -d '{uri}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: [&str; 6] = [
        "/sdcard/DCIM/Camera/IMG_1.jpg",
        "/sdcard/DCIM/Camera/IMG_2.JPG",
        "/sdcard/Music/Caf\u{e9} \u{2615}'s.mp3",
        "/sdcard/Documents/notes.txt",
        "/sdcard/top.png",
        "/data/local/tmp/x.jpg",
    ];

    #[test]
    fn newer_phones_scan_top_folders_of_shared_storage() {
        let (targets, left) = scan_targets(Some(34), &PATHS);
        assert_eq!(
            targets,
            [
                "/sdcard/DCIM",
                "/sdcard/Documents",
                "/sdcard/Music",
                "/sdcard/top.png"
            ]
        );
        assert_eq!(left, 0);
    }

    #[test]
    fn older_phones_scan_each_media_file_up_to_a_limit() {
        let (targets, left) = scan_targets(Some(29), &PATHS);
        assert_eq!(
            targets,
            [
                "/sdcard/DCIM/Camera/IMG_1.jpg",
                "/sdcard/DCIM/Camera/IMG_2.JPG",
                "/sdcard/Music/Caf\u{e9} \u{2615}'s.mp3",
                "/sdcard/top.png"
            ]
        );
        assert_eq!(left, 0);
        let many: Vec<String> = (0..MAX_FILE_BROADCASTS + 5)
            .map(|i| format!("/sdcard/Pictures/{i}.jpg"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let (targets, left) = scan_targets(None, &many);
        assert_eq!((targets.len(), left), (MAX_FILE_BROADCASTS, 5));
    }

    #[test]
    fn nothing_in_shared_storage_needs_no_scan() {
        assert!(shared_parts("/data/local/tmp/a.jpg").is_none());
        assert!(shared_parts("/sdcardx/a.jpg").is_none());
        assert!(shared_parts("/sdcard").is_none());
        assert_eq!(
            shared_parts("/storage/emulated/0/DCIM/a.jpg"),
            Some(("/storage/emulated/0", "DCIM/a.jpg"))
        );
    }

    #[test]
    fn uris_are_encoded_so_the_shell_reads_nothing_in_them() {
        assert_eq!(
            broadcast_command("/sdcard/Music/Caf\u{e9} 'x';$(rm).mp3"),
            "am broadcast -a android.intent.action.MEDIA_SCANNER_SCAN_FILE -d \
             'file:///sdcard/Music/Caf%C3%A9%20%27x%27%3B%24%28rm%29.mp3'"
        );
    }

    #[test]
    fn broadcasts_are_batched_under_the_command_limit() {
        let targets: Vec<String> = (0..100)
            .map(|i| format!("/sdcard/Pictures/photo-{i:03}.jpg"))
            .collect();
        let batches = command_batches(&targets);
        assert!(batches.len() > 1);
        assert_eq!(batches.iter().map(|b| b.broadcasts).sum::<usize>(), 100);
        for batch in &batches {
            assert!(batch.command.len() <= MAX_COMMAND);
            assert_eq!(
                batch.command.matches("am broadcast").count(),
                batch.broadcasts
            );
        }
    }

    #[test]
    fn failures_quote_the_phone() {
        let output = shell::ShellOutput {
            stdout: Vec::new(),
            stderr: b"/system/bin/sh: am: inaccessible or not found\n".to_vec(),
            exit_code: Some(127),
        };
        assert_eq!(
            explain_failure(&output),
            "am broadcast failed (exit status 127): /system/bin/sh: am: inaccessible or not found"
        );
    }
}
