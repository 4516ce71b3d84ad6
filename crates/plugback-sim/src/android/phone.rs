//! One simulated Android phone: its configuration, its live state (battery, prompts on
//! screen) and its storage.

use crate::android::storage::Storage;
use crate::control::Answer;
use crate::fault::Fault;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the phone answers "Allow USB debugging?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `ro.adb.secure=0`: no prompt, every host is let in.
    None,
    /// Asks for a signature; unknown keys wait for the control channel's `auth accept`.
    Prompt,
    /// The person always taps Deny: no host is ever let in.
    Deny,
}

/// The adb features this simulator implements, advertised in its CNXN banner by default.
pub const IMPLEMENTED_FEATURES: [&str; 8] = [
    "shell_v2",
    "cmd",
    "stat_v2",
    "ls_v2",
    "fixed_push_mkdir",
    "fixed_push_symlink_timestamp",
    "abb_exec",
    "apex",
];

/// What a simulated Android phone is, and how it behaves.
#[derive(Clone, Debug)]
pub struct AndroidConfig {
    /// The folder that holds the phone's storage, its adb_keys and its installed packages.
    pub data_dir: PathBuf,
    pub serial: String,
    pub model: String,
    pub product: String,
    pub device: String,
    pub manufacturer: String,
    pub android_version: String,
    pub sdk: u32,
    pub battery_percent: u8,
    pub charging: bool,
    pub temperature_c: f32,
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub auth: AuthMode,
    /// Features announced in the CNXN banner.
    pub features: Vec<String>,
    /// Accept every `adb restore` without waiting for `confirm-restore`.
    pub auto_confirm_restore: bool,
    /// The backup password an auto-confirmed restore types on the confirmation screen.
    pub restore_password: Option<String>,
    /// A link speed cap in Mbit/s for stream data, like a USB 2 cable's; None = unlimited.
    pub link_mbps: Option<u32>,
    pub faults: Vec<Fault>,
}

impl AndroidConfig {
    /// A Pixel 8 on Android 14, 80 % charged, with 64 GB free of 128 GB.
    pub fn new(data_dir: PathBuf) -> Self {
        AndroidConfig {
            data_dir,
            serial: "PLUGBACK0A1B2C".into(),
            model: "Pixel 8".into(),
            product: "shiba".into(),
            device: "shiba".into(),
            manufacturer: "Google".into(),
            android_version: "14".into(),
            sdk: 34,
            battery_percent: 80,
            charging: false,
            temperature_c: 30.0,
            free_bytes: 64_000_000_000,
            total_bytes: 128_000_000_000,
            auth: AuthMode::None,
            features: IMPLEMENTED_FEATURES.iter().map(|f| f.to_string()).collect(),
            auto_confirm_restore: false,
            restore_password: None,
            link_mbps: None,
            faults: Vec::new(),
        }
    }
}

/// The restore confirmation screen ("Full restore": Restore my data / Do not restore).
#[derive(Default)]
struct RestorePrompt {
    showing: bool,
    answer: Option<RestoreConfirmation>,
}

/// What the person did on the restore confirmation screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreConfirmation {
    pub answer: Answer,
    /// The backup password typed on the screen, for an encrypted archive.
    pub password: Option<String>,
}

/// The live phone, shared by every connection to it.
pub struct AndroidPhone {
    config: Mutex<AndroidConfig>,
    data_dir: PathBuf,
    storage: Storage,
    restore_prompt: Mutex<RestorePrompt>,
    restore_answered: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AndroidPhone {
    /// Creates the phone and its storage folders under `config.data_dir`.
    pub fn new(config: AndroidConfig) -> io::Result<Self> {
        let storage = Storage::new(&config.data_dir)?;
        Ok(AndroidPhone {
            data_dir: config.data_dir.clone(),
            config: Mutex::new(config),
            storage,
            restore_prompt: Mutex::new(RestorePrompt::default()),
            restore_answered: Condvar::new(),
        })
    }

    /// A snapshot of the configuration as it is now (battery and faults change at run time).
    pub fn config(&self) -> AndroidConfig {
        lock(&self.config).clone()
    }

    /// Changes the live configuration.
    pub fn update(&self, change: impl FnOnce(&mut AndroidConfig)) {
        change(&mut lock(&self.config));
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Shows the restore confirmation and waits for the answer: Accept at once with
    /// `auto_confirm_restore`, else the control channel's confirm-restore / deny-restore,
    /// or None once `timeout` has passed (Android gives up after 60 s).
    pub fn wait_restore_confirmation(&self, timeout: Duration) -> Option<RestoreConfirmation> {
        let config = self.config();
        if config.auto_confirm_restore {
            return Some(RestoreConfirmation {
                answer: Answer::Accept,
                password: config.restore_password,
            });
        }
        let deadline = Instant::now() + timeout;
        let mut prompt = lock(&self.restore_prompt);
        prompt.showing = true;
        prompt.answer = None;
        let answer = loop {
            if let Some(answer) = prompt.answer.take() {
                break Some(answer);
            }
            let now = Instant::now();
            if now >= deadline {
                break None;
            }
            prompt = self
                .restore_answered
                .wait_timeout(prompt, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        };
        prompt.showing = false;
        answer
    }

    /// True while the restore confirmation is on screen.
    pub fn restore_prompt_showing(&self) -> bool {
        lock(&self.restore_prompt).showing
    }

    /// Taps a button on the restore confirmation. Refused when none is on screen, as a
    /// tap on a phone without the prompt does nothing.
    pub fn answer_restore(&self, answer: Answer, password: Option<String>) -> Result<(), String> {
        let mut prompt = lock(&self.restore_prompt);
        if !prompt.showing {
            return Err("no restore confirmation is on screen".into());
        }
        prompt.answer = Some(RestoreConfirmation { answer, password });
        self.restore_answered.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn restore_confirmation_waits_for_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let phone = Arc::new(AndroidPhone::new(AndroidConfig::new(dir.path().into())).unwrap());
        assert!(phone.answer_restore(Answer::Accept, None).is_err());
        let waiter = {
            let phone = phone.clone();
            std::thread::spawn(move || phone.wait_restore_confirmation(Duration::from_secs(10)))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !phone.restore_prompt_showing() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        phone
            .answer_restore(Answer::Accept, Some("typed on the phone".into()))
            .unwrap();
        assert_eq!(
            waiter.join().unwrap(),
            Some(RestoreConfirmation {
                answer: Answer::Accept,
                password: Some("typed on the phone".into())
            })
        );
        assert!(!phone.restore_prompt_showing());
    }

    #[test]
    fn restore_confirmation_times_out_or_auto_accepts() {
        let dir = tempfile::tempdir().unwrap();
        let phone = AndroidPhone::new(AndroidConfig::new(dir.path().into())).unwrap();
        assert_eq!(
            phone.wait_restore_confirmation(Duration::from_millis(20)),
            None
        );
        phone.update(|c| {
            c.auto_confirm_restore = true;
            c.restore_password = Some("pw".into());
        });
        assert_eq!(
            phone.wait_restore_confirmation(Duration::from_secs(60)),
            Some(RestoreConfirmation {
                answer: Answer::Accept,
                password: Some("pw".into())
            })
        );
    }
}
