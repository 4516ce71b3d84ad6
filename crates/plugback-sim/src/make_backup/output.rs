//! Where a backup is written: checks that nothing would be overwritten, and cleans up what
//! the generator itself created when it fails part way.

use super::MakeError;
use super::error::IoContext;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) struct Target {
    path: PathBuf,
    is_folder: bool,
}

impl Target {
    /// Creates `out` as a folder, or accepts it when it exists and is empty.
    pub(crate) fn new_folder(out: &Path) -> Result<Target, MakeError> {
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).at(parent)?;
        }
        match fs::create_dir(out) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                if !out.is_dir() {
                    return Err(MakeError::OutExists {
                        path: out.to_path_buf(),
                    });
                }
                let mut entries = fs::read_dir(out).at(out)?;
                if entries.next().is_some() {
                    return Err(MakeError::OutNotEmpty {
                        path: out.to_path_buf(),
                    });
                }
            }
            Err(err) => return Err(err).at(out),
        }
        Ok(Target {
            path: out.to_path_buf(),
            is_folder: true,
        })
    }

    /// Accepts `out` as the path of a new file (created later with `create_new`, so a file
    /// appearing in between is still never overwritten).
    pub(crate) fn new_file(out: &Path) -> Result<Target, MakeError> {
        if out.symlink_metadata().is_ok() {
            return Err(MakeError::OutExists {
                path: out.to_path_buf(),
            });
        }
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).at(parent)?;
        }
        Ok(Target {
            path: out.to_path_buf(),
            is_folder: false,
        })
    }

    /// Removes what the generator wrote. The folder was new or empty and the file new, so
    /// everything removed here was created by this run.
    pub(crate) fn discard(self) {
        if self.is_folder {
            if let Ok(entries) = fs::read_dir(&self.path) {
                for entry in entries.flatten() {
                    let path = entry.path();
                    let _ = match entry.file_type() {
                        Ok(t) if t.is_dir() => fs::remove_dir_all(&path),
                        _ => fs::remove_file(&path),
                    };
                }
            }
        } else {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Opens a new file for writing, refusing to replace one that exists.
pub(crate) fn create_new(path: &Path) -> Result<fs::File, MakeError> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok(file),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Err(MakeError::OutExists {
            path: path.to_path_buf(),
        }),
        Err(err) => Err(err).at(path),
    }
}
