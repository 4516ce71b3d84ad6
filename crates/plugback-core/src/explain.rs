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
    // Device layer: Android
    entry(
        "adb-unavailable",
        "Android phones cannot be reached",
        "Plugback talks to Android phones through Android's adb server, which is not running, and no adb program was found to start it.",
        "Install Android's platform tools (the adb program): on Linux the package is usually called adb or android-tools-adb; on Windows and macOS download Google's SDK Platform-Tools. Then make sure adb is on the PATH (Plugback looks for it there) and try again.",
    ),
    entry(
        "device-unauthorized",
        "The phone has not allowed this computer yet",
        "The phone is connected, but USB debugging for this computer has not been allowed on the phone, so nothing can be read from it.",
        "Unlock the phone and tap Allow on 'Allow USB debugging?'. If no prompt appears, open Developer options, tap Revoke USB debugging authorizations, and plug the cable in again.",
    ),
    entry(
        "device-offline",
        "The phone is connected but not answering",
        "The computer sees the phone, but the phone does not answer over USB debugging. A loose or charge-only cable, a hub, USB tethering or a sleeping phone can cause this.",
        "Unlock the phone, unplug the cable and plug it in again, preferably straight into the computer. If it stays offline, turn USB debugging off and on in Developer options, or restart the phone.",
    ),
    entry(
        "device-no-permissions",
        "This computer may not open the phone",
        "The phone is plugged in, but your account is not allowed to open its USB device. On Linux this means the udev rules for Android phones are missing or your account is not in the plugdev group.",
        "On Linux, install the Android udev rules (the android-sdk-platform-tools-common or android-udev-rules package), add your account to the plugdev group (sudo usermod -aG plugdev $USER), log out and back in, then unplug the phone and plug it in again.",
    ),
    entry(
        "device-recovery",
        "The phone is in recovery mode",
        "The phone started into its recovery screen instead of Android, so its data cannot be reached.",
        "Choose Reboot system now on the phone's recovery screen and wait for Android to start, then unlock the phone.",
    ),
    entry(
        "device-sideload",
        "The phone is waiting for a system update",
        "The phone is in sideload mode, where it only accepts an update package. Its data cannot be reached in this mode.",
        "Cancel sideload on the phone (or choose Reboot system now) and wait for Android to start, then unlock the phone.",
    ),
    entry(
        "device-bootloader",
        "The phone is in its bootloader",
        "The phone shows its bootloader (fastboot) screen instead of Android, so its data cannot be reached.",
        "Choose Start (or Reboot) on the phone with its volume and power buttons and wait for Android to start, then unlock the phone.",
    ),
    entry(
        "device-other-state",
        "The phone is not ready yet",
        "Android's adb server reports the phone in a state Plugback cannot work with yet, such as connecting or authorizing.",
        "Wait a few seconds with the phone unlocked. If the state does not change, unplug the cable and plug it in again.",
    ),
    // Device layer: iPhone
    entry(
        "usbmuxd-unavailable",
        "iPhones cannot be reached",
        "Plugback talks to iPhones through usbmuxd, the small system service that handles iPhones on USB. It is not running on this computer, or it is not installed.",
        if cfg!(windows) {
            "Install Apple Devices from the Microsoft Store (or iTunes): it brings the Apple Mobile Device Service. Then make sure that service is started (Services, Apple Mobile Device Service, Start), plug the iPhone in and try again."
        } else if cfg!(target_os = "macos") {
            "usbmuxd is part of macOS and normally always runs. Unplug the iPhone and plug it in again; if that does not help, restart the Mac."
        } else {
            "If usbmuxd is not installed, install it (sudo apt install usbmuxd, or your distribution's usbmuxd package). If it is installed, plug the iPhone in, which starts it, or run sudo systemctl start usbmuxd. Then try again."
        },
    ),
    entry(
        "device-timeout",
        "The phone stopped answering",
        "The phone, or the service that talks to it, did not answer in time. A phone that locked itself, a loose cable or a busy computer can cause this.",
        "Unlock the phone and keep it unlocked, check the cable is firmly in (straight into the computer, not through a hub), and try again.",
    ),
    entry(
        "device-protocol",
        "The phone gave an answer Plugback does not understand",
        "A reply from the phone or from the service that talks to it did not follow the expected format. A different program may be answering in its place, or the connection was cut mid-reply.",
        "Unplug the phone and plug it in again, then try again. If it keeps happening, restart the computer so the phone services start fresh.",
    ),
    entry(
        "device-not-found",
        "The phone is not connected",
        "Plugback cannot see the phone asked for: it is unplugged, or its cable only charges.",
        "Plug the phone in with a data cable, unlock it, and check it appears in Plugback's device list. Use the id Plugback lists for it.",
    ),
    entry(
        "device-refused",
        "The phone refused",
        "The phone answered, but would not do what was asked, usually because it does not trust this computer yet or because it is locked.",
        "Unlock the phone. If it asks whether to trust this computer, tap Trust. If it still refuses, pair it again with Plugback.",
    ),
    entry(
        "device-key",
        "A pairing key cannot be read or written",
        "Plugback keeps keys that let a phone recognise this computer (the adb key, iPhone pair records). One of them could not be read or saved.",
        "Check that the disk is not full and that your account may write to its home folder, then try again. Pairing again creates a new key.",
    ),
    entry(
        "device-io",
        "The connection to the phone failed",
        "Reading from or writing to the phone's connection failed, often because the phone was unplugged or went to sleep.",
        "Plug the phone in again, unlock it and try again. A different cable or USB port helps if it keeps happening.",
    ),
    entry(
        "device-ready",
        "The phone is ready",
        "The phone trusts this computer and everything Plugback needs can be read from it.",
        "Nothing is needed. Keep the phone plugged in while Plugback works.",
    ),
    entry(
        "device-not-paired",
        "The iPhone is not paired with this computer",
        "The iPhone is plugged in, but it has not been asked to trust this computer yet (or has forgotten it), so only its name, model and iOS version can be read.",
        "Pair it: unlock the iPhone, start pairing (Pair this iPhone in Plugback's window, or plugback pair), and tap Trust on the iPhone when it asks.",
    ),
    entry(
        "device-trust-pending",
        "The iPhone is asking whether to trust this computer",
        "\"Trust This Computer?\" is showing on the iPhone, and Plugback waits for the answer.",
        "Unlock your iPhone and tap Trust, then enter the iPhone's passcode if it asks.",
    ),
    entry(
        "device-trust-denied",
        "The iPhone does not trust this computer",
        "Don't Trust was tapped on the iPhone, so it will not share anything with this computer.",
        "Unplug the iPhone and plug it in again, unlock it, and tap Trust this time. If it no longer asks, open Settings, General, Transfer or Reset iPhone, Reset, Reset Location & Privacy, then plug it in again.",
    ),
    entry(
        "device-passcode-locked",
        "The iPhone is locked",
        "The iPhone is locked with its passcode, and it only asks whether to trust a computer once it is unlocked.",
        "Unlock the iPhone with its passcode and keep it on the home screen, then try again.",
    ),
    // Device layer: USB presence
    entry(
        "usb-unavailable",
        "Plugback cannot see this computer's USB ports",
        "This computer does not let Plugback look at its USB devices, for example inside a container or a sandbox, or without permission. Phones still work through their own services, but Plugback cannot check the cable's speed or spot a phone with USB debugging off.",
        "Nothing is needed to back up or restore. To get cable checks, run Plugback directly on the computer rather than in a container or sandbox; on Linux, make sure /sys/bus/usb exists and is readable.",
    ),
    entry(
        "usb-debugging-off",
        "USB debugging is off, or the cable only charges",
        "An Android phone is plugged in and shows up on USB, but without its USB debugging connection, so Plugback cannot talk to it.",
        "On the phone, open Settings, About phone, and tap Build number seven times to unlock Developer options. Then open Developer options, turn on USB debugging, and plug the cable in again. If it is already on, pull down the notification shade, tap the USB notification and choose File transfer, or try a data cable: some cables only charge.",
    ),
    entry(
        "usb-iphone-no-usbmux",
        "The iPhone is on USB but its data link is not switched on",
        "The iPhone is plugged in, but usbmuxd, the service that opens the iPhone's data link, has not taken it over. It is usually not running.",
        if cfg!(windows) {
            "Install Apple Devices from the Microsoft Store (or iTunes) and make sure the Apple Mobile Device Service is started. Then unplug the iPhone and plug it in again."
        } else if cfg!(target_os = "macos") {
            "Unplug the iPhone and plug it in again. If it keeps happening, restart the Mac."
        } else {
            "Install usbmuxd if it is missing (sudo apt install usbmuxd, or your distribution's package), or start it with sudo systemctl start usbmuxd. Then unplug the iPhone and plug it in again."
        },
    ),
    entry(
        "usb-autosuspend-auto",
        "The computer may put the phone's USB port to sleep",
        "The computer's power saving is allowed to suspend the phone's USB connection when it looks idle. During a long backup or restore this can cut the connection.",
        "Keep the computer on mains power during a restore. On Linux, turn autosuspend off for the phone: echo on | sudo tee /sys/bus/usb/devices/<port>/power/control (Plugback shows the port), or set usbcore.autosuspend=-1 on the kernel command line for good.",
    ),
    entry(
        "usb-slow-link",
        "The phone is connected at USB 1 speed",
        "The phone and the computer agreed on 12 Mbit/s or less, about forty times slower than USB 2. A worn or charge-oriented cable, an old hub or a front-panel port usually causes this. A large backup or restore would take many hours.",
        "Use a different cable, preferably the one that came with the phone, and plug it straight into a port at the back of the computer, not into a hub or keyboard. Then plug the phone in again.",
    ),
    // Device layer: the phone is locked
    entry(
        "device-locked",
        "The phone is locked",
        "The phone is locked with its passcode, and a locked phone refuses to share its files.",
        "Unlock the phone and keep it unlocked (on the home screen) while Plugback works with it.",
    ),
    // Health check: the cable, the port and the link
    entry(
        "health-usb1-link",
        "The phone is linked at USB 1 speed",
        "The phone and the computer agreed on 12 Mbit/s or less, forty times slower than USB 2: a worn cable, an old hub or a loose port usually causes this.",
        "Try another cable, preferably the one that came with the phone, plugged straight into a port on the computer rather than a hub or a keyboard.",
    ),
    entry(
        "health-usb2-link",
        "USB 2 cable or port: the restore will be 5–10× slower",
        "This phone can link at USB 3 speed (5 or 10 Gbit/s), but it is linked at USB 2 (480 Mbit/s), so a restore takes several times longer than it needs to. The cable or the port is USB 2: the USB-C cable that comes with a phone usually is.",
        "Use a USB 3 cable (marked SS, 5 Gbps, 10 Gbps, or a USB 3 USB-C cable) in a USB 3 port on the computer (often blue, or marked SS). The restore also works as it is, only slower.",
    ),
    entry(
        "health-via-hub",
        "The phone is connected through a hub",
        "Something sits between the phone and the computer: a hub, a dock, a monitor or a keyboard with USB ports. A good powered hub is fine, but unpowered or worn hubs drop connections and slow transfers.",
        "If the health check shows drops or slow transfers, plug the phone straight into a port on the computer. On a repair bench, use a powered hub and keep it if the check is good.",
    ),
    entry(
        "health-flapping",
        "The phone keeps disconnecting",
        "The phone dropped off and came back by itself. A restore would be interrupted each time. A frayed or bent cable, a loose port or a weak hub usually causes this.",
        "Try another cable, and another port directly on the computer, not through a hub. Clean the phone's port of lint gently. Then run the health check again.",
    ),
    entry(
        "health-slow-replies",
        "The phone answers slowly",
        "Small requests to the phone took far longer than the few milliseconds a healthy cable gives. The phone may be busy, locked or overheating, or the connection may be retrying.",
        "Unlock the phone, let it cool down if it is warm, close other programs that talk to phones, and try another cable. Then run the health check again.",
    ),
    entry(
        "health-slow-transfer",
        "Transfers to the phone are slow",
        "A test file written to the phone and read back moved far slower than this kind of link should carry, so a restore would take much longer than it should.",
        "Try another cable and another port directly on the computer, preferably a USB 3 port. Avoid hubs and front-panel ports. Then run the health check again.",
    ),
    entry(
        "health-data-mismatch",
        "The connection damaged the test data",
        "A test file read back from the phone was different from what Plugback wrote. Over a healthy cable this never happens.",
        "Do not restore over this connection. Use another cable and another port, then run the health check again until it passes.",
    ),
    entry(
        "health-transport-error",
        "The connection failed during the health check",
        "The test transfer to the phone stopped with an error: the phone was unplugged, stopped answering, or the connection broke.",
        if cfg!(windows) {
            "Keep the phone unlocked and plugged in, and try another cable and port. Security software can block the local connection to the Apple Mobile Device Service: allow it in your firewall or antivirus, then restart the service."
        } else {
            "Keep the phone unlocked and plugged in, try another cable and another port directly on the computer, then run the health check again."
        },
    ),
    // Finder and iTunes: the numbered errors people meet when they restore an iPhone's
    // system software there. Plugback does not install system software; these entries say
    // what the numbers mean and what helps, because people search for them.
    entry(
        "apple-9",
        "Error 9 in Finder or iTunes: the iPhone dropped off during its update",
        "The iPhone stopped answering while Finder or iTunes was installing its system software. Most often the cable or port let go for a moment; sometimes it is the phone's hardware.",
        "Use Apple's cable or another good one, plug it straight into the computer (no hub), and try again. If it happens again with another cable and computer, the phone needs a repair shop.",
    ),
    entry(
        "apple-10",
        "Error 10 in Finder or iTunes: the computer's software is too old for this iPhone",
        "The iPhone's system software is newer than what Finder or iTunes on this computer knows how to install.",
        "Update the computer (macOS, or iTunes from Microsoft Store on Windows), then try again.",
    ),
    entry(
        "apple-14",
        "Error 14 in Finder or iTunes: the cable or the downloaded system software",
        "The connection dropped during the update, or the system software file Finder or iTunes downloaded is damaged.",
        "Try another cable and another USB port straight on the computer. If it happens again, restart the computer and try again so that the software is downloaded anew.",
    ),
    entry(
        "apple-1671",
        "Error 1671 in Finder or iTunes: still downloading",
        "Finder or iTunes is still downloading the iPhone's system software, or security software on the computer blocks the download from Apple's servers.",
        "Wait for the download to finish (the arrow at the top of iTunes shows it). If it never does, let security software allow connections to Apple, then try again.",
    ),
    entry(
        "apple-4005",
        "Error 4005 in Finder or iTunes: the update stopped on the iPhone",
        "Something went wrong on the iPhone while its system software was being installed: the connection was interrupted, or the phone could not finish.",
        "Update the computer, restart it and the iPhone, and try again with another cable plugged straight into the computer. If it keeps failing, put the iPhone in recovery mode and restore again; after that, a repair shop.",
    ),
    entry(
        "apple-4013",
        "Error 4013 or 4014 in Finder or iTunes: the iPhone disconnected during the update",
        "The iPhone stopped answering, or restarted, while Finder or iTunes was installing its system software. Often the cable or port; sometimes the phone's hardware (error 4014 is the same with the phone failing to start again).",
        "Update the computer and restart it and the iPhone. Use Apple's cable or another good one, straight into the computer, not through a hub, and try again. If it happens again on another computer, the phone needs a repair shop.",
    ),
    entry(
        "apple-4014",
        "Error 4014 in Finder or iTunes: the iPhone did not come back during the update",
        "Finder or iTunes lost the iPhone while installing its system software, and the phone did not start again on its own.",
        "Update the computer, use another good cable straight into the computer, and try the update again; if the phone shows the recovery screen, choose Update before Restore. If it fails again on another computer, the phone needs a repair shop.",
    ),
    // iPhone restore: the phone's own refusals (MBErrorDomain codes) and the engine's
    entry(
        "mb-102",
        "The iPhone could not set up the restore",
        "The iPhone could not move the data of an earlier, unfinished restore out of the way (it says \"Error moving incomplete restore directory into place\"). This usually follows a restore that was interrupted.",
        "Restart the iPhone (turn it off and on again), unlock it, plug it back in and start the restore again.",
    ),
    entry(
        "mb-105",
        "The iPhone does not have enough free space",
        "The backup holds more data than the iPhone has room for.",
        "Free space on the iPhone (Settings › General › iPhone Storage: remove apps, videos or downloads you can get back later), then start the restore again. Restoring to an iPhone with more storage also works.",
    ),
    entry(
        "mb-205",
        "The iPhone found the backup incomplete or damaged",
        "The iPhone checked the backup while receiving it and refused it: a file is missing, has the wrong size or cannot be read, or the backup's own description files are damaged.",
        "Verify the backup in Plugback to see what is wrong with it. Copy the backup again from where it came from, or restore a different backup.",
    ),
    entry(
        "mb-207",
        "The backup password is wrong",
        "The backup is encrypted and the iPhone did not accept the password it was given. Only the iPhone can check it.",
        "Enter the password again, carefully: it is the one chosen for encrypted backups in Finder or iTunes, not the iPhone's passcode or your Apple Account password. Check for a space at the start or end.",
    ),
    entry(
        "mb-208",
        "The iPhone is locked",
        "The iPhone could not open its protected storage to restore an encrypted backup. It does that only while it is unlocked and trusts this computer.",
        "Unlock the iPhone with its passcode and keep it unlocked until the restore finishes. If it keeps happening, pair the iPhone with this computer again (answer Trust on the iPhone), then restore again.",
    ),
    entry(
        "mb-209",
        "The backup comes from a newer iOS",
        "The backup was made by an iPhone running a newer version of iOS than this iPhone runs, and an iPhone never restores a backup from a newer iOS.",
        "Update this iPhone (Settings › General › Software Update) to the same iOS version as the backup or newer, then restore again.",
    ),
    entry(
        "mb-211",
        "Find My is turned on",
        "The iPhone will not be restored while Find My iPhone is on: it protects a lost or stolen iPhone from being overwritten.",
        "On the iPhone, open Settings › your name › Find My › Find My iPhone and turn it off (it asks for your Apple Account password). Then start the restore again. You can turn Find My back on afterwards.",
    ),
    entry(
        "mb-unknown",
        "The iPhone refused the restore",
        "The iPhone stopped the restore with an error Plugback has no explanation for. Its own words are in the message.",
        "Restart the iPhone, unlock it, plug it in directly (no hub) and try again. If it happens again, note the error number and message and ask for help.",
    ),
    entry(
        "restore-phone-lost",
        "The phone was disconnected during the restore",
        "The connection to the phone ended in the middle of the restore: the cable was pulled or moved, the phone restarted, or the port lost power. The phone may now hold part of the backup.",
        "Plug the phone back in, directly into the computer with a cable you trust, and unlock it. An Android restore carries on where it stopped; an iPhone restore starts again from the beginning, and a restore that runs to the end puts everything in place.",
    ),
    entry(
        "restore-stalled",
        "The restore stopped moving",
        "The phone is still connected but has neither asked for nor taken any data for too long. The phone, the cable or the connection is stuck.",
        "Unplug the phone, restart it, plug it back in directly into the computer and start the restore again. If it stalls at the same point again, try another cable and another port.",
    ),
    entry(
        "restore-unsafe-path",
        "The phone asked for a file outside the backup",
        "During the restore the phone asked for a file that is not part of the backup being restored (a path leading elsewhere on this computer). Plugback refused and sent nothing from outside the backup. A normal iPhone never asks for that.",
        "Do not restore to this device again until you know what it is: it may not be a genuine iPhone, or something between it and the computer is tampering with the connection. Your files on this computer were not sent.",
    ),
    entry(
        "restore-backup-unreadable",
        "A file of the backup could not be read",
        "The phone asked for a file of the backup that is missing or could not be read from the disk, so the restore could not complete.",
        "Verify the backup in Plugback. If the backup is on an external drive, check that it is still connected. Copy the backup again from where it came from if files are missing.",
    ),
    entry(
        "restore-request-refused",
        "The phone asked to change files on this computer",
        "During a restore the phone only needs to read the backup, but it asked to create, move, remove or upload files. Plugback refused: a restore never changes the backup.",
        "Nothing is needed if the restore finishes. If it fails, restart the iPhone and try again; if the phone keeps asking, ask for help.",
    ),
    entry(
        "restore-apps-skipped",
        "The phone will not reinstall the backup's apps",
        "The backup's Info.plist, which lists the apps to reinstall, is missing or cannot be read. The phone still restores the data.",
        "After the restore, install your apps again from the App Store; their data comes back when each app is installed. To have them reinstalled automatically, copy the backup again from its source and restore again.",
    ),
    entry(
        "preflight-blocked",
        "The restore was not started",
        "A check before the restore found something that would make it fail or harm the phone's data (the checklist says which). Nothing was sent to the phone.",
        "Fix the items marked BLOCK in the checklist, each has its own fix, then start the restore again.",
    ),
    entry(
        "restore-not-confirmed",
        "The restore was not confirmed",
        "A restore replaces what is on the phone, so Plugback asks before it starts; no answer came (or the answer was no).",
        "Start it again and answer yes, or add --yes when a script starts it.",
    ),
    entry(
        "restore-stopped-unexpectedly",
        "Plugback stopped the restore unexpectedly",
        "Something inside Plugback went wrong while the restore ran, so it was stopped. The backup on this computer was only read and is unchanged.",
        "Leave the phone plugged in, start the restore again, and if it happens again export the diagnostics (Logs, Export diagnostics) and report it.",
    ),
    entry(
        "restore-wrong-backup",
        "This backup does not fit this phone",
        "An iPhone backup can only be restored to an iPhone, and an Android backup or folder only to an Android phone.",
        "Choose a backup made from a phone of the same kind, or plug in the phone the backup belongs to.",
    ),
    entry(
        "restore-not-supported",
        "Plugback cannot restore this yet",
        "This kind of backup cannot be restored from here yet.",
        "Check the backup with plugback verify; to restore it, use the tool that made it for now.",
    ),
    entry(
        "password-unreadable",
        "The password could not be read",
        "The password file or standard input given for the backup's password could not be read.",
        "Check the path of --password-file and that your account may read it, or pass the password on standard input with --password-stdin.",
    ),
    entry(
        "restore-incomplete",
        "Some files did not reach the phone",
        "The restore finished, but the phone refused or could not store some files (the message names the first). The rest arrived.",
        "Check that the phone has free space and that the folder is one the phone lets a computer write to, then run the restore again: files already on the phone are skipped, so only the missing ones are sent.",
    ),
    // Android restore: notes about single files and the end of the restore
    entry(
        "restore-files-already-there",
        "Some files are already on the phone",
        "These files are on the phone already, with the same size and date as in the backup, so they are not sent again. This is how a restore that was interrupted carries on where it stopped.",
        "Nothing is needed.",
    ),
    entry(
        "restore-file-refused",
        "A file did not reach the phone",
        "The phone would not store this file (its own reason is in the message), or the file could not be read from the backup on this computer. The restore carries on with the other files.",
        "If the phone says it has no space left, free some space on it. If the file could not be read here, check that the drive with the backup is still connected and verify the backup. Then run the restore again: only what is missing is sent.",
    ),
    entry(
        "restore-files-left-out",
        "A file of the backup cannot be restored",
        "The backup's file list describes this file in a way Plugback cannot use (a damaged entry), its data is missing from the backup folder or has the wrong size, or it is a link or a special file rather than a regular file. The other files are restored.",
        "Verify the backup in Plugback to see what is wrong with it. If the file matters, copy the backup again from where it came from and restore again.",
    ),
    entry(
        "restore-media-scan-failed",
        "The phone may not show the restored photos yet",
        "Every file is on the phone, but the phone did not take Plugback's request to look for new photos, videos and music, so the gallery or the music app may not list them yet.",
        "Restart the phone: it looks for new photos, videos and music as it starts. The files are there in the meantime, in the Files app.",
    ),
    // Android apps (APK installs) and adb restore of .ab archives
    entry(
        "app-install-no-space",
        "The phone has no room for this app",
        "The phone's package manager refused the app because its storage is too full to hold it.",
        "Free some space on the phone (Settings, Storage), then restore the apps again.",
    ),
    entry(
        "app-install-conflict",
        "The phone already has a different version of this app",
        "An app with the same name is on the phone already, and it is newer or was signed by another developer, so Android will not replace it with the copy in the backup.",
        "If you want the backup's version, uninstall the app on the phone first (its data on the phone goes with it), then restore the apps again. Otherwise keep the one on the phone.",
    ),
    entry(
        "app-install-unsupported",
        "This app is not made for this phone",
        "The app in the backup needs another Android version, another kind of processor or a feature this phone lacks, so Android will not install it.",
        "Install the app from the app store instead: it offers the version made for this phone.",
    ),
    entry(
        "app-install-bad-apk",
        "The app's files in the backup are damaged",
        "Android could not read the app's installation files (APKs) from the backup, or a part of a split app is missing.",
        "Verify the backup in Plugback. Install the app from the app store instead, or copy the backup again from where it came from.",
    ),
    entry(
        "app-install-blocked",
        "The phone does not allow this install",
        "The phone's settings, its owner's restrictions or its app checks stopped the install (for example installs from a computer are turned off, or the phone asked and nobody agreed).",
        "Unlock the phone and watch its screen during the install; allow installs over USB in the developer options if the phone has that setting. Then restore the apps again.",
    ),
    entry(
        "app-install-failed",
        "The phone did not install this app",
        "The phone's package manager refused the app with a reason Plugback does not sort; the message gives the phone's own words.",
        "Restart the phone and restore the apps again. If it still fails, install the app from the app store.",
    ),
    entry(
        "android-confirm-restore",
        "Confirm the restore on the phone",
        "The phone now shows a Full restore screen. Nothing is restored until someone taps Restore my data there; after 60 seconds the phone gives up. For an encrypted backup the password is typed on that screen: adb gives the computer no way to pass it on.",
        "Unlock the phone, tap Restore my data, and type the backup password if the screen asks for it. Keep the phone plugged in until Plugback says the restore ended.",
    ),
    entry(
        "android-restore-not-confirmed",
        "Nobody confirmed the restore on the phone in time",
        "The phone waited for someone to tap Restore my data, and the 60 seconds it allows passed, so it restored nothing. If you did tap it in time, the phone may still be restoring, as it sends no word to the computer.",
        "Start the restore again with the phone unlocked in your hand, and tap Restore my data as soon as the screen appears. If the phone still shows the screen now, tap Do not restore first.",
    ),
    entry(
        "android-restore-ended-early",
        "The phone ended the restore before the end of the backup",
        "The phone closed the restore before it had taken the whole backup file. That happens when Do not restore is tapped, when the password typed on the phone is wrong, or when the phone cannot read the file. The phone does not tell the computer which.",
        "Start again and tap Restore my data. For an encrypted backup, type the backup password exactly (it is the password chosen when the backup was made, not the screen lock). Verify the backup in Plugback if it ends early again.",
    ),
    entry(
        "android-restore-sent",
        "The phone took the whole backup",
        "Every byte of the backup reached the phone and the phone ended the restore. Android does not tell the computer what it restored. Since Android 12 it puts back the data only of apps that allow it, and text messages need the phone's own tools.",
        "Open the apps on the phone to check their data. Apps whose data did not come back can often restore it from their own account or cloud backup.",
    ),
    // Test-restore: a backup restored into a simulated phone inside Plugback
    entry(
        "test-restore-needs-adb",
        "Testing an Android backup needs adb",
        "A test restore of an Android backup runs a simulated Android phone inside Plugback and talks to it through a private adb server (adb is Android's own connection program), just as a real restore would. No adb program was found on this computer, so the test could not start. Nothing was changed.",
        if cfg!(windows) {
            "Download Google's SDK Platform-Tools for Windows, unzip it, add its folder to the PATH, and run the test again."
        } else if cfg!(target_os = "macos") {
            "Install Google's platform tools (brew install android-platform-tools, or download SDK Platform-Tools and add its folder to the PATH), then run the test again."
        } else {
            "Install adb: sudo apt install adb on Debian and Ubuntu (android-tools on Fedora and Arch), make sure it is on the PATH, and run the test again."
        },
    ),
    entry(
        "test-restore-simulator",
        "The simulated phone for the test could not run",
        "A test restore starts a simulated phone inside Plugback (and, for Android, a private adb server for it) in a temporary folder. It could not be started or checked, so the test did not run. This says nothing about the backup.",
        "Make sure the temporary folder has free space for a copy of the backup, then run the test again. If it keeps failing, report it with the message shown.",
    ),
    // Diagnostics: the redacted export
    entry(
        "diagnostics-not-written",
        "The diagnostics file could not be written",
        "Plugback gathers its logs and the doctor's report into one zip file, but the place chosen for it could not be written: the folder may not exist, be read-only, or the disk may be full. Nothing else was changed.",
        "Choose another place for the file, such as your Documents or Desktop folder, and try again.",
    ),
    // Doctor: what this computer needs for phones
    entry(
        "doctor-usbmuxd-missing",
        "usbmuxd is not installed",
        "usbmuxd is the small system service through which every program on this computer, Plugback included, talks to iPhones. It is not installed here.",
        if cfg!(windows) {
            "Install Apple Devices from the Microsoft Store (or iTunes): it brings the Apple Mobile Device Service, Windows' usbmuxd. Then plug the iPhone in."
        } else if cfg!(target_os = "macos") {
            "usbmuxd is part of macOS. If it is missing, the system needs repair: update macOS or restart the Mac."
        } else {
            "Install it: sudo apt install usbmuxd on Debian and Ubuntu, or your distribution's usbmuxd package. Then plug the iPhone in."
        },
    ),
    entry(
        "doctor-usbmuxd-not-running",
        "usbmuxd is not running",
        "Nothing answers where usbmuxd should listen. On Linux this is normal while no iPhone is plugged in: plugging one in starts it. When USBMUXD_SOCKET_ADDRESS is set, Plugback looks at the usbmuxd it names instead.",
        if cfg!(windows) {
            "Open Services, find Apple Mobile Device Service and start it (set it to start automatically). If it is missing, install Apple Devices or iTunes."
        } else if cfg!(target_os = "macos") {
            "Unplug the iPhone and plug it in again; if that does not help, restart the Mac."
        } else {
            "Plug the iPhone in, which starts usbmuxd, or run sudo systemctl start usbmuxd. If USBMUXD_SOCKET_ADDRESS is set, start the usbmuxd it names or unset it."
        },
    ),
    entry(
        "doctor-usbmuxd-unreachable",
        "usbmuxd does not answer",
        "Something accepts connections where usbmuxd listens, but it does not answer as usbmuxd does: usbmuxd is stuck, or another program took its place.",
        if cfg!(windows) {
            "Restart the Apple Mobile Device Service (Services, Apple Mobile Device Service, Restart), then try again."
        } else if cfg!(target_os = "macos") {
            "Unplug the iPhone and plug it in again; if that does not help, restart the Mac."
        } else {
            "Restart it with sudo systemctl restart usbmuxd, or unplug and replug the iPhone. If USBMUXD_SOCKET_ADDRESS is set, check that it names a usbmuxd."
        },
    ),
    entry(
        "doctor-usbmuxd-address-invalid",
        "USBMUXD_SOCKET_ADDRESS is not an address",
        "The environment variable USBMUXD_SOCKET_ADDRESS tells Plugback (and other iPhone tools) where usbmuxd listens, and its value cannot be read as an address.",
        "Set it to host:port (such as 127.0.0.1:27015) or to the path of a socket, or unset it to use the system's usbmuxd.",
    ),
    entry(
        "doctor-adb-missing",
        "adb is not installed",
        "adb is Android's own tool, whose server Plugback talks to for Android phones. No adb program is on the PATH, so Plugback cannot start that server.",
        if cfg!(windows) {
            "Download Google's SDK Platform-Tools for Windows, unzip it, and add its folder to the PATH."
        } else if cfg!(target_os = "macos") {
            "Install it with brew install android-platform-tools, or download Google's SDK Platform-Tools and add its folder to the PATH."
        } else {
            "Install it: sudo apt install adb on Debian and Ubuntu (android-tools on Fedora and Arch), and make sure it is on the PATH."
        },
    ),
    entry(
        "doctor-adb-unusable",
        "adb does not run",
        "An adb program is on the PATH, but asking it its version failed: it is broken, made for another system, or not adb at all.",
        "Reinstall adb (sudo apt install --reinstall adb on Debian and Ubuntu, or a fresh download of Google's SDK Platform-Tools), or put a working adb first on the PATH.",
    ),
    entry(
        "doctor-adb-server-down",
        "The adb server is not running",
        "Nothing listens on the adb server's port (ANDROID_ADB_SERVER_PORT, else 5037). This is normal until a program needs it: Plugback starts it when it looks for Android phones.",
        "Nothing is needed when adb is installed. To start it now, run adb start-server. If adb is not installed, install it first.",
    ),
    entry(
        "doctor-adb-server-unreachable",
        "Something else answers on the adb server's port",
        "A program listens on the adb server's port but does not answer as an adb server does: the server is stuck, or another program uses the port.",
        "Run adb kill-server and then adb start-server. If another program uses the port, stop it, or choose another port for adb and Plugback with ANDROID_ADB_SERVER_PORT.",
    ),
    entry(
        "doctor-adb-version-mismatch",
        "Two versions of adb are on this computer",
        "The running adb server comes from a different adb than the one on the PATH. The next adb command restarts the server, which drops connected phones for a moment.",
        "Use one adb: run adb kill-server, then plug the phone in again, so the adb on the PATH starts its own server. Remove other copies of adb (from old SDKs or phone tools) if it keeps happening.",
    ),
    entry(
        "doctor-udev-rules-missing",
        "Linux has no rules for phones",
        "udev rules tell Linux what to do when a device is plugged in. Without the rule for iPhones usbmuxd does not start by itself; without a rule for Android phones your account may not open them, and adb lists them as \"no permissions\".",
        "For iPhones install usbmuxd (sudo apt install usbmuxd), which brings its rule. For Android phones install Plugback's package, which brings its own rules (70-plugback.rules), or sudo apt install android-sdk-platform-tools-common, or your distribution's android-udev-rules package. Then unplug the phone and plug it in again.",
    ),
    entry(
        "doctor-no-usb-access",
        "Your account may not open Android phones",
        "The adb server runs as your account and must open the phone's USB device. Linux gives that access through udev rules to the plugdev group or to the person at the computer's own screen, and your account has neither here.",
        "Install the Android udev rules (sudo apt install android-sdk-platform-tools-common), add your account to the plugdev group (sudo usermod -aG plugdev $USER), log out and back in, then unplug the phone and plug it in again.",
    ),
    entry(
        "doctor-no-sleep-inhibit",
        "Plugback cannot keep this computer awake",
        "During a long restore Plugback asks the system not to sleep. Here the system refused or did not answer (on Linux it asks systemd-logind over D-Bus, which a container or a system without systemd does not have).",
        "Set the computer's power settings to never sleep while a restore runs, and keep it on mains power.",
    ),
    entry(
        "doctor-no-notifications",
        "Plugback cannot show notifications here",
        "Plugback tells you when a restore ends with a desktop notification. No notification service answers here, as over SSH, in a container or without a desktop session.",
        "Nothing is needed: Plugback still shows progress in its window and on the command line. For notifications, run Plugback in a desktop session.",
    ),
    entry(
        "doctor-internal",
        "A check of this computer failed unexpectedly",
        "One of doctor's checks stopped with an internal error, so its result is missing.",
        "Run plugback doctor again. If it keeps happening, report it together with the output of plugback doctor --json.",
    ),
];

/// The explanation for a code, if Plugback has one.
pub fn explain(code: &str) -> Option<&'static Explanation> {
    let known = |code: &str| CATALOG.iter().find(|e| e.code == code);
    // An iPhone error number Plugback has no entry for still gets the general one.
    known(code).or_else(|| {
        code.starts_with("mb-")
            .then(|| known("mb-unknown"))
            .flatten()
    })
}

/// Entries whose code, title or text mention every word of `query` (case-insensitive).
pub fn search(query: &str) -> Vec<&'static Explanation> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let mut found: Vec<&'static Explanation> = CATALOG
        .iter()
        .filter(|e| {
            let text = format!(
                "{} {} {} {}",
                e.code, e.title, e.what_happened, e.what_to_do
            )
            .to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect();
    // "4013" or "211" names one code: that entry first, then the ones that mention it.
    let named = |e: &Explanation| {
        words.len() == 1 && (e.code == words[0] || e.code.ends_with(&format!("-{}", words[0])))
    };
    found.sort_by_key(|e| !named(e));
    found
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
    fn the_numbers_people_search_for_are_found() {
        for number in ["9", "10", "14", "1671", "4005", "4013", "4014"] {
            assert_eq!(
                search(number).first().map(|e| e.code.to_owned()),
                Some(format!("apple-{number}")),
                "the entry for {number} is not first"
            );
        }
        for number in ["102", "105", "205", "207", "208", "211"] {
            assert_eq!(
                search(number).first().map(|e| e.code.to_owned()),
                Some(format!("mb-{number}")),
                "the entry for MBErrorDomain {number} is not first"
            );
        }
        let unauthorized = search("unauthorized");
        assert!(unauthorized.iter().any(|e| e.code == "device-unauthorized"));
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
