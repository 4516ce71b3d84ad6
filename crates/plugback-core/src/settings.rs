//! Plugback's persisted settings and its own folders (through `directories`, so each OS
//! gets its usual place).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("org", "Plugback", "Plugback")
}

/// Plugback's own data folder (on Linux, where it keeps backups it makes).
pub fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.data_dir().to_path_buf())
}

pub fn settings_path() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("settings.json"))
}

/// The window's colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Dark,
    Light,
    /// Follow the computer's own light or dark setting; also what a theme this version
    /// does not know (from a newer Plugback) reads as, so the rest of the file still loads.
    #[default]
    #[serde(other)]
    System,
}

/// `#[serde(default)]`: a file from an older Plugback, missing newer fields, still loads,
/// with those fields at their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Folders the person added to the backup list.
    pub backup_folders: Vec<PathBuf>,
    pub theme: Theme,
    /// Show desktop notifications while a restore runs.
    pub restore_notifications: bool,
    /// Keep the computer from sleeping while a restore runs.
    pub keep_awake_during_restore: bool,
    /// The adb program to use; `None` finds adb on the PATH.
    pub adb_program: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            backup_folders: Vec::new(),
            theme: Theme::System,
            restore_notifications: true,
            keep_awake_during_restore: true,
            adb_program: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read or write the settings file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the settings file {path} is damaged ({detail}); Plugback started with defaults")]
    Damaged { path: PathBuf, detail: String },
    #[error("this computer has no home folder to keep settings in")]
    NoHome,
}

impl SettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "settings-io",
            Self::Damaged { .. } => "settings-damaged",
            Self::NoHome => "settings-no-home",
        }
    }
}

impl Settings {
    /// Loads settings; a missing file means defaults.
    pub fn load() -> Result<Self, SettingsError> {
        let path = settings_path().ok_or(SettingsError::NoHome)?;
        Self::load_from(&path)
    }

    pub fn load_from(path: &Path) -> Result<Self, SettingsError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SettingsError::Damaged {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(SettingsError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn save(&self) -> Result<(), SettingsError> {
        let path = settings_path().ok_or(SettingsError::NoHome)?;
        self.save_to(&path)
    }

    /// Writes to a temporary file and renames it, so a crash never leaves half a file.
    pub fn save_to(&self, path: &Path) -> Result<(), SettingsError> {
        let io = |source| SettingsError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(self).expect("settings always serialise");
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Adds a folder unless it is already there. Returns whether it was added.
    pub fn add_backup_folder(&mut self, dir: PathBuf) -> bool {
        if self.backup_folders.contains(&dir) {
            return false;
        }
        self.backup_folders.push(dir);
        true
    }

    /// Forgets a folder (the folder itself is left alone). Returns whether it was listed.
    pub fn remove_backup_folder(&mut self, dir: &Path) -> bool {
        let before = self.backup_folders.len();
        self.backup_folders.retain(|d| d != dir);
        self.backup_folders.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_absence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.json");
        assert_eq!(Settings::load_from(&path).unwrap(), Settings::default());
        let mut s = Settings::default();
        assert!(s.add_backup_folder("/backups/a".into()));
        assert!(!s.add_backup_folder("/backups/a".into()));
        s.save_to(&path).unwrap();
        assert_eq!(Settings::load_from(&path).unwrap(), s);
    }

    #[test]
    fn an_older_file_with_only_folders_loads_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, br#"{"backup_folders": ["/backups/a"]}"#).unwrap();
        let loaded = Settings::load_from(&path).unwrap();
        assert_eq!(loaded.backup_folders, vec![PathBuf::from("/backups/a")]);
        assert_eq!(loaded.theme, Theme::System);
        assert!(loaded.restore_notifications);
        assert!(loaded.keep_awake_during_restore);
        assert_eq!(loaded.adb_program, None);
    }

    #[test]
    fn new_fields_round_trip_and_folders_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let mut s = Settings {
            theme: Theme::Dark,
            restore_notifications: false,
            keep_awake_during_restore: false,
            adb_program: Some("/opt/platform-tools/adb".into()),
            ..Settings::default()
        };
        s.add_backup_folder("/backups/a".into());
        s.add_backup_folder("/backups/b".into());
        assert!(s.remove_backup_folder(Path::new("/backups/a")));
        assert!(!s.remove_backup_folder(Path::new("/backups/a")));
        s.save_to(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""theme": "dark""#), "{text}");
        let loaded = Settings::load_from(&path).unwrap();
        assert_eq!(loaded, s);
        assert_eq!(loaded.backup_folders, vec![PathBuf::from("/backups/b")]);
    }

    #[test]
    fn damaged_file_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = Settings::load_from(&path).unwrap_err();
        assert_eq!(err.code(), "settings-damaged");
    }

    #[test]
    fn a_theme_from_a_newer_plugback_reads_as_system_and_the_rest_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, r#"{"backup_folders": ["/b"], "theme": "sepia"}"#).unwrap();
        let settings = Settings::load_from(&path).unwrap();
        assert_eq!(settings.theme, Theme::System);
        assert_eq!(settings.backup_folders, vec![PathBuf::from("/b")]);
    }
}
