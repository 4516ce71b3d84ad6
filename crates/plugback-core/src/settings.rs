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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Folders the person added to the backup list.
    pub backup_folders: Vec<PathBuf>,
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
    fn damaged_file_is_reported_not_panicked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{not json").unwrap();
        let err = Settings::load_from(&path).unwrap_err();
        assert_eq!(err.code(), "settings-damaged");
    }
}
