//! The checklist, from facts gathered beforehand to items a person can act on. Pure: every
//! rule is tested without a phone.

use super::power::PowerSource;
use super::{Item, Status};
use crate::backup::android::apk_manifest::AppMinSdk;
use crate::backup::summary::{BackupSummary, SnapshotState};
use crate::backup::verify::{Severity as ProblemSeverity, VerifyReport};
use crate::device::health::Grade;
use crate::device::usb::{Autosuspend, UsbPhone};
use crate::device::{Device, DeviceState, Platform};
use crate::explain;
use crate::finding::Finding;

/// Everything the checklist looks at, read before the phone is touched.
#[derive(Clone, Debug)]
pub struct Facts {
    pub backup: BackupSummary,
    /// The quick verification (with the password, for an encrypted backup); Err when it
    /// could not run at all.
    pub verify: Result<VerifyReport, String>,
    pub password_given: bool,
    /// Bytes the restore will put on the phone, where known.
    pub restore_bytes: Option<u64>,
    pub device: Device,
    /// iPhone: whether Find My is on, where the phone says.
    pub find_my: Option<bool>,
    pub usb: Option<UsbPhone>,
    /// The connection health check's grade and findings, when one was run.
    pub health: Option<(Grade, Vec<Finding>)>,
    pub power: PowerSource,
    /// Whether the computer can be kept awake, and why not.
    pub keep_awake: Result<(), String>,
    /// Android: the restore sends a plain folder of files (a DCIM copy), not a backup.
    pub plain_folder: Option<PlainFolder>,
    /// Android backup folder: the lowest API level each app installs on, read from its
    /// APKs (or why it could not be); empty for other backups.
    pub app_min_sdk: Vec<AppMinSdk>,
}

/// A plain folder of files chosen for an Android restore: there is no backup index to
/// verify it against, so its own files are what the restore sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainFolder {
    pub files: u64,
    pub bytes: u64,
    /// Entries a phone cannot take as files (links, sockets, unreadable names).
    pub left_out: u64,
}

/// A phone this warm is throttled and may shut a restore down.
const HOT_C: f32 = 40.0;
const LOW_BATTERY: u8 = 50;

pub fn evaluate(facts: &Facts) -> Vec<Item> {
    let mut items = vec![backup_verified(facts), password(facts)];
    items.push(match &facts.plain_folder {
        Some(_) => pass(
            "versions",
            "A folder of files suits any Android version: there is no app or setting in it.",
        ),
        None => versions(facts),
    });
    items.push(trusted(facts));
    items.push(space(facts));
    items.push(battery(facts));
    items.push(temperature(facts));
    if facts.device.platform == Platform::Ios {
        items.push(find_my(facts));
    }
    items.push(cable(facts));
    items.push(power(facts));
    if let Some(item) = autosuspend(facts) {
        items.push(item);
    }
    items.push(awake(facts));
    items
}

fn item(
    id: &'static str,
    status: Status,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Item {
    Item {
        id,
        status,
        message: message.into(),
        fix: fix.into(),
    }
}

fn pass(id: &'static str, message: impl Into<String>) -> Item {
    item(id, Status::Pass, message, "")
}

fn backup_verified(facts: &Facts) -> Item {
    const ID: &str = "backup-verified";
    if let Some(folder) = &facts.plain_folder {
        return plain_folder(ID, folder);
    }
    if facts.backup.snapshot == SnapshotState::Unfinished {
        return item(
            ID,
            Status::Block,
            "The backup did not finish: the phone stopped before it was complete.",
            explain_fix("snapshot-unfinished"),
        );
    }
    match &facts.verify {
        Err(why) => item(
            ID,
            Status::Block,
            format!("The backup could not be checked: {why}"),
            "Choose the backup folder itself (the one holding Manifest.db, or the .ab file), then check again.",
        ),
        Ok(report) => {
            let errors: Vec<_> = report
                .problems
                .iter()
                .filter(|p| p.severity == ProblemSeverity::Error)
                // The password has an item of its own.
                .filter(|p| !matches!(p.code.as_str(), "password-required" | "wrong-password"))
                .collect();
            match errors.first() {
                None => pass(ID, "The backup is complete: every file it lists is there."),
                Some(first) => item(
                    ID,
                    Status::Block,
                    format!(
                        "The backup has {} problem{}: {}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" },
                        first.message
                    ),
                    explain_fix(first.code.as_str()),
                ),
            }
        }
    }
}

/// A folder of files has nothing to verify against: it is checked for being usable.
fn plain_folder(id: &'static str, folder: &PlainFolder) -> Item {
    if folder.files == 0 {
        return item(
            id,
            Status::Block,
            "The folder has no files Plugback can send to a phone.",
            "Choose the folder that holds the photos or files to restore (for example a copy of DCIM), then check again.",
        );
    }
    let what = format!(
        "A folder of {} file{} ({}), not a backup: it has no list to check it against, so each file is read as it is sent.",
        folder.files,
        if folder.files == 1 { "" } else { "s" },
        human(folder.bytes)
    );
    if folder.left_out == 0 {
        return pass(id, what);
    }
    item(
        id,
        Status::Warn,
        format!(
            "{what} {} item{} in it cannot go to a phone (links or special files) and will be left out.",
            folder.left_out,
            if folder.left_out == 1 { "" } else { "s" }
        ),
        "Nothing to do unless you need those items: the restore report lists them.",
    )
}

fn password(facts: &Facts) -> Item {
    const ID: &str = "backup-password";
    if facts.plain_folder.is_some() {
        return pass(ID, "A folder of files needs no password.");
    }
    if !facts.backup.encrypted {
        return pass(ID, "The backup is not encrypted: no password is needed.");
    }
    let problem = |code| {
        facts
            .verify
            .as_ref()
            .is_ok_and(|r| r.problems.iter().any(|p| p.code.as_str() == code))
    };
    if !facts.password_given || problem("password-required") {
        item(
            ID,
            Status::Block,
            "The backup is encrypted, and its password is needed to restore it.",
            "Enter the password that was set when the backup was made (in Finder or iTunes: \"Encrypt local backup\").",
        )
    } else if problem("wrong-password") {
        item(
            ID,
            Status::Block,
            "The password does not open this backup. Nothing was sent to the phone.",
            explain_fix("wrong-password"),
        )
    } else {
        pass(
            ID,
            "The password opens the backup (checked on this computer).",
        )
    }
}

fn versions(facts: &Facts) -> Item {
    const ID: &str = "versions";
    let apps = match facts.device.platform {
        Platform::Android => apps_fit(facts),
        Platform::Ios => AppsFit::default(),
    };
    if let Some(warn) = apps.warn {
        return warn;
    }
    let (Some(backup), Some(phone)) = (&facts.backup.os_version, &facts.device.os_version) else {
        return item(
            ID,
            Status::Warn,
            format!(
                "The backup's or the phone's system version is not known, so they cannot be compared.{}",
                apps.note
            ),
            "Check that the phone runs the same system version as the backup, or a newer one.",
        );
    };
    if facts.device.platform == Platform::Ios && older(phone, backup) {
        return item(
            ID,
            Status::Block,
            format!(
                "The backup comes from iOS {backup}, and this iPhone has iOS {phone}: an iPhone cannot restore a backup from a newer iOS."
            ),
            "Update the phone first: Settings, General, Software Update. Then restore.",
        );
    }
    pass(
        ID,
        format!(
            "The phone's system ({phone}) can take a backup from {backup}.{}",
            apps.note
        ),
    )
}

/// How the backup's apps fit the phone's Android: a Warn naming those that need a newer
/// one, or a sentence for the Pass (empty when the backup has no apps).
#[derive(Default)]
struct AppsFit {
    warn: Option<Item>,
    note: String,
}

/// At most this many apps are named in a sentence; the rest are counted.
const APPS_NAMED: usize = 5;

fn apps_fit(facts: &Facts) -> AppsFit {
    let apps = &facts.app_min_sdk;
    if apps.is_empty() {
        return AppsFit::default();
    }
    let unreadable: Vec<_> = apps
        .iter()
        .filter_map(|app| app.min_sdk.as_ref().err().map(|why| (&app.package, why)))
        .collect();
    let unreadable_note = match unreadable.as_slice() {
        [] => String::new(),
        [(package, why)] => format!(
            " Which Android {package} needs could not be read ({why}); the phone will say if it cannot install it."
        ),
        [(package, why), ..] => format!(
            " Which Android {} apps need could not be read ({package}: {why}, …); the phone will say if it cannot install them.",
            unreadable.len(),
        ),
    };
    let Some(phone_sdk) = facts.device.sdk else {
        return AppsFit {
            warn: None,
            note: format!(
                " The phone did not say its Android API level, so the apps' needs were not compared.{unreadable_note}"
            ),
        };
    };
    let mut too_new: Vec<(&str, u32)> = apps
        .iter()
        .filter_map(|app| match app.min_sdk {
            Ok(level) if level > phone_sdk => Some((app.package.as_str(), level)),
            _ => None,
        })
        .collect();
    if too_new.is_empty() {
        let readable = apps.len() - unreadable.len();
        let fit = match readable {
            0 => String::new(),
            1 => format!(" Its app runs on {}.", android_name(phone_sdk)),
            n => format!(" All {n} of its apps run on {}.", android_name(phone_sdk)),
        };
        return AppsFit {
            warn: None,
            note: format!("{fit}{unreadable_note}"),
        };
    }
    too_new.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut named: Vec<String> = too_new
        .iter()
        .take(APPS_NAMED)
        .map(|(package, level)| format!("{package} ({})", android_name(*level)))
        .collect();
    if too_new.len() > APPS_NAMED {
        named.push(format!("and {} more", too_new.len() - APPS_NAMED));
    }
    let (count, they) = match too_new.len() {
        1 => ("1 app needs".to_string(), "the phone will refuse it"),
        n => (format!("{n} apps need"), "the phone will refuse them"),
    };
    let warn = item(
        "versions",
        Status::Warn,
        format!(
            "{count} a newer Android than this phone has ({}): {}; {they}, everything else is restored, and the report names what was left out.{unreadable_note}",
            android_name(phone_sdk),
            named.join(", "),
        ),
        "Update the phone's Android version first (Settings, System, Software update), or restore without those apps: in the window, untick \u{201c}Reinstall the backup's apps\u{201d} or choose \u{201c}Only restore what I pick\u{201d}; on the command line, --skip-apps leaves every app out and --only names the folders and apps to restore.",
    );
    AppsFit {
        warn: Some(warn),
        note: String::new(),
    }
}

/// "Android 14" for API level 34; "API level N" for a level this table does not know.
pub fn android_name(sdk: u32) -> String {
    let release = match sdk {
        21 => "5.0",
        22 => "5.1",
        23 => "6.0",
        24 => "7.0",
        25 => "7.1",
        26 => "8.0",
        27 => "8.1",
        28 => "9",
        29 => "10",
        30 => "11",
        31 => "12",
        32 => "12L",
        33 => "13",
        34 => "14",
        35 => "15",
        36 => "16",
        _ => return format!("API level {sdk}"),
    };
    format!("Android {release}")
}

/// True when version `a` is older than `b` ("17.5.1" < "18.1").
pub fn older(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x < y;
        }
    }
    false
}

fn trusted(facts: &Facts) -> Item {
    const ID: &str = "phone-trusted";
    let state = &facts.device.state;
    if *state == DeviceState::Ready {
        return pass(
            ID,
            match facts.device.platform {
                Platform::Ios => "The iPhone trusts this computer.",
                Platform::Android => "The phone allows USB debugging from this computer.",
            },
        );
    }
    item(
        ID,
        Status::Block,
        format!("The phone is {}.", state.name().replace('-', " ")),
        explain_fix(state.code()),
    )
}

fn space(facts: &Facts) -> Item {
    const ID: &str = "phone-space";
    let Some(needed) = facts.restore_bytes else {
        return item(
            ID,
            Status::Warn,
            "How much the restore needs is not known yet.",
            "Make sure the phone has room for the backup's content.",
        );
    };
    let storage = &facts.device.storage;
    // An iPhone restore replaces the phone's content: the whole data partition counts.
    let room = match facts.device.platform {
        Platform::Ios => storage.total_bytes.or(storage.free_bytes),
        Platform::Android => storage.free_bytes,
    };
    match room {
        None => item(
            ID,
            Status::Warn,
            "The phone did not say how much room it has.",
            "Make sure the phone has room for the backup's content.",
        ),
        Some(room) if room < needed => item(
            ID,
            Status::Block,
            format!(
                "The restore needs {} and the phone has room for {}.",
                human(needed),
                human(room)
            ),
            match facts.device.platform {
                Platform::Ios => {
                    "Restore to an iPhone with more storage, or make a smaller backup."
                }
                Platform::Android => {
                    "Free space on the phone (delete videos or apps you no longer need), or restore fewer folders."
                }
            },
        ),
        Some(room) => pass(
            ID,
            format!(
                "The phone has room: {} needed, {} available.",
                human(needed),
                human(room)
            ),
        ),
    }
}

fn battery(facts: &Facts) -> Item {
    const ID: &str = "phone-battery";
    let battery = &facts.device.battery;
    match (battery.level, battery.charging) {
        (_, Some(true)) => pass(ID, "The phone is charging."),
        (Some(level), _) if level >= LOW_BATTERY => {
            pass(ID, format!("The phone's battery is at {level}%."))
        }
        (Some(level), _) => item(
            ID,
            Status::Warn,
            format!(
                "The phone's battery is at {level}% and not charging: a long restore may empty it."
            ),
            "Plug the phone into a charger or a port that charges it, or let it charge to 50% first.",
        ),
        (None, _) => item(
            ID,
            Status::Warn,
            "The phone's battery level is not known.",
            "Make sure the phone is charged to at least half, or charging.",
        ),
    }
}

fn temperature(facts: &Facts) -> Item {
    const ID: &str = "phone-temperature";
    match facts.device.battery.temperature_c {
        Some(t) if t >= HOT_C => item(
            ID,
            Status::Warn,
            format!(
                "The phone is hot ({t:.0} °C): it may slow down or stop the restore to cool off."
            ),
            "Take the phone out of its case, keep it out of the sun and let it cool before restoring.",
        ),
        Some(t) => pass(ID, format!("The phone's temperature is fine ({t:.0} °C).")),
        None => pass(ID, "The phone does not report its temperature."),
    }
}

fn find_my(facts: &Facts) -> Item {
    const ID: &str = "find-my";
    match facts.find_my {
        Some(false) => pass(ID, "Find My is off."),
        Some(true) => item(
            ID,
            Status::Block,
            "Find My is on: the iPhone refuses a restore while it is (error 211).",
            explain_fix("mb-211"),
        ),
        None => item(
            ID,
            Status::Warn,
            "The iPhone did not say whether Find My is on. If it is, the iPhone refuses the restore with error 211.",
            "On the iPhone, open Settings, tap your name, then Find My, and turn Find My iPhone off.",
        ),
    }
}

fn cable(facts: &Facts) -> Item {
    const ID: &str = "cable-health";
    match &facts.health {
        None => pass(
            ID,
            "The connection was not checked (run the health check to be sure).",
        ),
        Some((Grade::Poor, findings)) => {
            let first = findings.first();
            item(
                ID,
                Status::Warn,
                format!(
                    "The connection is poor{}",
                    first
                        .map(|f| format!(": {}", f.message))
                        .unwrap_or_default()
                ),
                first.map(|f| f.fix.clone()).unwrap_or_default(),
            )
        }
        Some((grade, _)) => pass(
            ID,
            format!(
                "The connection is {}.",
                match grade {
                    Grade::Good => "good",
                    _ => "fair",
                }
            ),
        ),
    }
}

fn power(facts: &Facts) -> Item {
    const ID: &str = "computer-power";
    match facts.power {
        PowerSource::Battery { percent } => item(
            ID,
            Status::Warn,
            format!(
                "This computer runs on its battery{}: it may sleep or run out during the restore.",
                percent.map(|p| format!(" ({p}%)")).unwrap_or_default()
            ),
            "Plug the computer into mains power before restoring.",
        ),
        PowerSource::Mains => pass(ID, "This computer is on mains power."),
        PowerSource::Unknown => pass(ID, "This computer does not say how it is powered."),
    }
}

fn autosuspend(facts: &Facts) -> Option<Item> {
    let usb = facts.usb.as_ref()?;
    (usb.autosuspend == Some(Autosuspend::Auto)).then(|| {
        item(
            "usb-autosuspend",
            Status::Warn,
            "This computer may power the phone's USB port down when it looks idle, which can cut a long restore.",
            match &usb.sysfs_path {
                Some(dir) => format!(
                    "Turn USB autosuspend off for the phone: echo on | sudo tee {}",
                    dir.join("power/control").display()
                ),
                None => explain_fix("usb-autosuspend-auto"),
            },
        )
    })
}

fn awake(facts: &Facts) -> Item {
    const ID: &str = "keep-awake";
    match &facts.keep_awake {
        Ok(()) => pass(
            ID,
            "Plugback can keep this computer awake during the restore.",
        ),
        Err(why) => item(
            ID,
            Status::Warn,
            // The system's own words are technical: they follow the fix, not the sentence.
            "Plugback cannot keep this computer awake: the system's power service refused or \
             did not answer. If the computer sleeps, the restore stops.",
            format!(
                "{} (The system said: {why}.)",
                explain_fix("doctor-no-sleep-inhibit")
            ),
        ),
    }
}

fn explain_fix(code: &str) -> String {
    explain::explain(code)
        .map(|e| e.what_to_do.to_owned())
        .unwrap_or_default()
}

fn human(bytes: u64) -> String {
    const GB: f64 = 1e9;
    const MB: f64 = 1e6;
    let b = bytes as f64;
    if b >= GB {
        format!("{:.1} GB", b / GB)
    } else {
        format!("{:.0} MB", (b / MB).max(1.0))
    }
}
