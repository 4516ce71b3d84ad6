//! What a person chose for a restore (a backup, a password, options, a selection) turned
//! into the job's target and checked by the preflight. The window's wizard and the command
//! line both go through here, so they restore the same way.

use super::restore_job::RestoreTarget;
use crate::backup::{BackupKind, catalog};
use crate::cancel::CancelToken;
use crate::device::health::{self, CheckOptions, ProbePlan};
use crate::device::snapshot::Sources;
use crate::device::{Device, DeviceState, Platform, ios};
use crate::jobs::KeepAwake;
use crate::preflight::{self, Preflight};
use crate::restore::RestoreError;
use crate::restore::android::{AbSettings, AppPlan, FilePlan};
use crate::restore::ios::IosRestoreOptions;
use crate::secret::Password;
use std::path::PathBuf;
use std::time::Duration;

/// Where a plain folder of files goes on an Android phone unless the person says.
pub const DEFAULT_PHONE_FOLDER: &str = "/sdcard/Restored";

/// A restore as the person chose it. `Debug` never shows the password.
#[derive(Clone, Debug)]
pub struct RestoreChoice {
    /// An iPhone backup folder, a Plugback Android backup folder, an `.ab` archive, or
    /// (Android) any folder of files.
    pub backup: PathBuf,
    pub password: Option<Password>,
    /// Do not reinstall the backup's apps.
    pub skip_apps: bool,
    /// iPhone: also restore system files (settings, keychain where the backup has them).
    pub system_files: bool,
    /// iPhone: let the phone restart at the end (when it moves the files into place).
    pub reboot: bool,
    /// Android: only these phone folders (`/sdcard/DCIM`) and apps (`com.example.notes`);
    /// empty for everything.
    pub only: Vec<String>,
    /// Android: where a plain folder of files goes on the phone.
    pub phone_folder: String,
}

impl RestoreChoice {
    /// Everything in `backup`, with the usual options.
    pub fn new(backup: PathBuf) -> RestoreChoice {
        RestoreChoice {
            backup,
            password: None,
            skip_apps: false,
            system_files: false,
            reboot: true,
            only: Vec::new(),
            phone_folder: DEFAULT_PHONE_FOLDER.to_owned(),
        }
    }

    /// The restore's transport and what it sends, from the backup's kind and the phone's
    /// platform, reached through `sources`.
    pub fn target(
        &self,
        device: &Device,
        sources: &Sources,
    ) -> Result<RestoreTarget, RestoreError> {
        let kind = catalog::detect_kind(&self.backup);
        match (device.platform, kind) {
            (Platform::Ios, Some(BackupKind::Ios)) => Ok(RestoreTarget::Iphone {
                mux: sources.clone().usbmuxd?,
                options: IosRestoreOptions {
                    system_files: self.system_files,
                    reboot: self.reboot,
                    skip_apps: self.skip_apps,
                    password: self.password.clone(),
                    ..IosRestoreOptions::default()
                },
            }),
            (Platform::Android, Some(BackupKind::AndroidFolder) | None) => {
                let (files, apps) = self.android_plans(kind.is_some())?;
                Ok(RestoreTarget::Android {
                    server: sources.adb.clone(),
                    files,
                    apps,
                })
            }
            (Platform::Android, Some(BackupKind::AndroidAb)) => Ok(RestoreTarget::AndroidArchive {
                server: sources.adb.clone(),
                settings: AbSettings::default(),
            }),
            (Platform::Ios, _) => {
                Err(self.wrong_backup("is not an iPhone backup Plugback can restore to an iPhone"))
            }
            (Platform::Android, Some(_)) => {
                Err(self.wrong_backup("is an iPhone backup, and the phone is an Android phone"))
            }
        }
    }

    fn wrong_backup(&self, why: &str) -> RestoreError {
        RestoreError::WrongBackup {
            backup: self.backup.clone(),
            why: why.to_owned(),
        }
    }

    /// What an Android restore sends: the backup's files (or a plain folder's) and its
    /// apps, narrowed by `only`: entries starting with `/` are phone folders, the others apps.
    fn android_plans(
        &self,
        is_backup: bool,
    ) -> Result<(Option<FilePlan>, Option<AppPlan>), RestoreError> {
        let (folders, packages): (Vec<&String>, Vec<&String>) =
            self.only.iter().partition(|only| only.starts_with('/'));
        let selective = !self.only.is_empty();
        let files = if selective && folders.is_empty() {
            None
        } else {
            let plan = if is_backup {
                FilePlan::from_backup_folder(&self.backup)?
            } else {
                FilePlan::from_folder(&self.backup, &self.phone_folder)?
            };
            Some(if folders.is_empty() {
                plan
            } else {
                plan.only(&folders)?
            })
        };
        let apps = if !is_backup || self.skip_apps || (selective && packages.is_empty()) {
            None
        } else {
            let plan = AppPlan::from_backup_folder(&self.backup)?;
            Some(if packages.is_empty() {
                plan
            } else {
                plan.only(&packages)?
            })
        };
        Ok((files, apps))
    }

    /// The checklist for this restore to `device`: the backup (read only, with the
    /// password), Find My on an iPhone, a short cable check unless `measure_cable` is
    /// false, and this computer. Blocks for seconds: run it on a worker thread.
    pub fn preflight(
        &self,
        device: &Device,
        sources: &Sources,
        measure_cable: bool,
        awake: &dyn KeepAwake,
        cancel: &CancelToken,
    ) -> Preflight {
        let find_my = match (device.platform, &sources.usbmuxd) {
            (Platform::Ios, Ok(mux)) => ios::block_on(ios::find_my(mux, &device.id, cancel))
                .ok()
                .flatten(),
            _ => None,
        };
        let health = (measure_cable && device.state == DeviceState::Ready)
            .then(|| {
                health::check(
                    sources.clone(),
                    device.clone(),
                    &quick_cable_check(),
                    cancel,
                )
                .ok()
            })
            .flatten();
        let facts = preflight::gather::gather(
            &self.backup,
            self.password.as_ref(),
            device,
            find_my,
            health.as_ref(),
            awake,
        );
        Preflight::from_facts(&facts)
    }
}

/// A cable check short enough to run before every restore (a few seconds).
fn quick_cable_check() -> CheckOptions {
    CheckOptions {
        plan: ProbePlan {
            payload_bytes: 8_000_000,
            round_trips: 20,
        },
        observe: Duration::from_secs(2),
        history: None,
    }
}

/// A job id that sorts by time and names the phone: `restore-20261125-181500-00008110abcd`.
pub fn job_id(device: &Device) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "restore-{:04}{:02}{:02}-{:02}{:02}{:02}-{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        device
            .id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect::<String>()
    )
}
