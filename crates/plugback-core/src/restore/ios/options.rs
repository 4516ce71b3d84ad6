//! What a person (or the job layer) chooses for an iPhone restore, and how long Plugback
//! waits for the phone. Turns into the Options dictionary of mobilebackup2's Restore
//! request.
//!
//! The defaults are those of libimobiledevice's `idevicebackup2 restore` without flags,
//! the client the simulated iPhone is checked against:
//!
//! | field | default | request key |
//! |---|---|---|
//! | `reboot` | on | `RestoreShouldReboot` (idevicebackup2 sends it only to turn it off; the phone's own default is on) |
//! | `copy` | off | `RestoreDontCopyBackup` = !copy (pymobiledevice3 and idevice default to a copy) |
//! | `preserve_settings` | on | `RestorePreserveSettings` (`--settings` turns it off) |
//! | `system_files` | off | `RestoreSystemFiles` (`--system`) |
//! | `remove_items_not_restored` | off | `RemoveItemsNotRestored` (`--remove`) |
//! | `skip_apps` | off | no key: `/iTunesRestore/RestoreApplications.plist` is written unless skipped |
//!
//! Finder's own choices are not documented by Apple; reports of its traffic say it asks for
//! system files and does not preserve the phone's settings (a full replacement). Plugback
//! keeps the conservative defaults above and lets the front end offer the rest.

use crate::secret::Password;
use plist::{Dictionary, Value};
use std::time::Duration;

/// Options of one iPhone restore. `Debug` never shows the password.
#[derive(Clone, Debug)]
pub struct IosRestoreOptions {
    /// Also restore the system domains (settings, keychain where the backup has it).
    pub system_files: bool,
    /// Let the phone reboot at the end, which is when it moves the restored files into
    /// place.
    pub reboot: bool,
    /// Let the phone copy the whole backup to itself before applying it (needs twice the
    /// space on the phone).
    pub copy: bool,
    /// Keep the phone's current settings instead of the backup's.
    pub preserve_settings: bool,
    /// Delete what is on the phone but not in the backup. Cannot be undone, so it is only
    /// sent when the caller built a [`Confirmed`] on purpose, after the person agreed.
    pub remove_items_not_restored: Option<Confirmed>,
    /// Do not ask the phone to reinstall the backup's apps.
    pub skip_apps: bool,
    /// The backup's original phone, for a restore onto another phone; None uses the backup
    /// folder's name (Finder names each backup folder after its phone's UDID).
    pub source_identifier: Option<String>,
    /// The backup's password, for an encrypted backup. Only the phone checks it.
    pub password: Option<Password>,
    pub timeouts: RestoreTimeouts,
}

impl Default for IosRestoreOptions {
    fn default() -> Self {
        IosRestoreOptions {
            system_files: false,
            reboot: true,
            copy: false,
            preserve_settings: true,
            remove_items_not_restored: None,
            skip_apps: false,
            source_identifier: None,
            password: None,
            timeouts: RestoreTimeouts::default(),
        }
    }
}

/// Proof that the person agreed to delete what the backup does not hold. Only
/// [`Confirmed::by_the_person`] makes one, so a default or a copied flag cannot turn the
/// deletion on by accident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confirmed {
    _private: (),
}

impl Confirmed {
    /// Call only after the person confirmed, in words they could not mistake, that items
    /// on the phone that are not in the backup will be deleted.
    pub fn by_the_person() -> Confirmed {
        Confirmed { _private: () }
    }
}

/// How long Plugback waits for the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreTimeouts {
    /// The longest wait for the phone while it prepares: for its first request, and until
    /// it asks for the first file beyond the backup's description files. A full phone
    /// takes minutes here (libimobiledevice users raised its 30 s limit to 2 to 5 minutes).
    pub preparing: Duration,
    /// The longest silence once files flow: no message from the phone, or the phone not
    /// taking the data being sent.
    pub stall_limit: Duration,
    /// After a successful restore, how long to watch for the phone going away to reboot.
    pub reboot_wait: Duration,
}

impl Default for RestoreTimeouts {
    fn default() -> Self {
        RestoreTimeouts {
            preparing: Duration::from_secs(10 * 60),
            stall_limit: Duration::from_secs(5 * 60),
            reboot_wait: Duration::from_secs(20),
        }
    }
}

impl IosRestoreOptions {
    /// The Restore request's `Options` dictionary. Holds the password in clear: the caller
    /// sends it and drops it at once.
    pub(super) fn request_options(&self) -> Dictionary {
        let mut options = Dictionary::new();
        let mut flag = |key: &str, on: bool| {
            options.insert(key.into(), Value::Boolean(on));
        };
        flag("RestoreShouldReboot", self.reboot);
        flag("RestoreDontCopyBackup", !self.copy);
        flag("RestorePreserveSettings", self.preserve_settings);
        flag("RestoreSystemFiles", self.system_files);
        flag(
            "RemoveItemsNotRestored",
            self.remove_items_not_restored.is_some(),
        );
        if let Some(password) = self.password.as_ref().filter(|p| !p.expose().is_empty()) {
            options.insert(
                "Password".into(),
                Value::String(password.expose().to_owned()),
            );
        }
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(options: &Dictionary, key: &str) -> Option<bool> {
        options.get(key).and_then(Value::as_boolean)
    }

    #[test]
    fn defaults_are_those_of_idevicebackup2() {
        let options = IosRestoreOptions::default().request_options();
        assert_eq!(flag(&options, "RestoreShouldReboot"), Some(true));
        assert_eq!(flag(&options, "RestoreDontCopyBackup"), Some(true));
        assert_eq!(flag(&options, "RestorePreserveSettings"), Some(true));
        assert_eq!(flag(&options, "RestoreSystemFiles"), Some(false));
        assert_eq!(flag(&options, "RemoveItemsNotRestored"), Some(false));
        assert!(!options.contains_key("Password"));
    }

    #[test]
    fn removal_needs_a_confirmation_and_the_password_goes_in_options() {
        let options = IosRestoreOptions {
            remove_items_not_restored: Some(Confirmed::by_the_person()),
            copy: true,
            password: Some(Password::new("s3cret")),
            ..Default::default()
        };
        let dict = options.request_options();
        assert_eq!(flag(&dict, "RemoveItemsNotRestored"), Some(true));
        assert_eq!(flag(&dict, "RestoreDontCopyBackup"), Some(false));
        assert_eq!(
            dict.get("Password").and_then(Value::as_string),
            Some("s3cret")
        );
        assert!(!format!("{options:?}").contains("s3cret"));
    }
}
