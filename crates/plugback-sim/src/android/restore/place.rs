//! Where restored entries land: app data under DATA/restored/apps/<package>/…, shared
//! storage (`shared/0/…`) under DATA/sdcard. Names that climb out with `..`, absolute
//! names, and paths through symbolic links are refused.

use std::fs::{File, FileTimes, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// Where one tar entry goes.
#[derive(Debug, PartialEq)]
pub(super) enum Place {
    App {
        package: String,
        path: PathBuf,
    },
    Shared {
        path: PathBuf,
    },
    /// Not restored, and why.
    Skip(String),
}

pub(super) struct Places {
    restored: PathBuf,
    shared: PathBuf,
}

impl Places {
    pub(super) fn new(data_dir: &Path) -> Places {
        Places {
            restored: data_dir.join("restored"),
            shared: data_dir.join("sdcard"),
        }
    }

    pub(super) fn place(&self, name: &str) -> Place {
        let parts = match clean_components(name) {
            Ok(parts) => parts,
            Err(why) => return Place::Skip(why),
        };
        match parts.as_slice() {
            ["apps", package, rest @ ..] => {
                let mut path = self.restored.join("apps").join(package);
                path.extend(rest);
                Place::App {
                    package: package.to_string(),
                    path,
                }
            }
            ["shared", "0", rest @ ..] => {
                let mut path = self.shared.clone();
                path.extend(rest);
                Place::Shared { path }
            }
            ["shared", volume, ..] => Place::Skip(format!(
                "shared storage volume {volume:?} is not on this phone"
            )),
            _ => Place::Skip("neither app data nor shared storage".into()),
        }
    }

    /// The folder a place must stay inside.
    fn root_of(&self, path: &Path) -> &Path {
        if path.starts_with(&self.shared) {
            &self.shared
        } else {
            &self.restored
        }
    }

    /// Creates the folder `path` (and its parents).
    pub(super) fn make_dir(&self, path: &Path) -> io::Result<()> {
        refuse_links(self.root_of(path), path)?;
        std::fs::create_dir_all(path)
    }

    /// Creates `path` afresh for writing, replacing a file (never following a link).
    pub(super) fn create_file(&self, path: &Path) -> io::Result<File> {
        refuse_links(self.root_of(path), path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(io::ErrorKind::IsADirectory.into()),
            Ok(_) => std::fs::remove_file(path)?,
            Err(_) => {}
        }
        OpenOptions::new().write(true).create_new(true).open(path)
    }
}

/// Stamps a restored file's mtime and permissions, as Android's restore does. Shared
/// storage shows every file as rw-rw----; app files keep their mode, never less than
/// owner read/write so the phone can hand them back.
pub(super) fn finish_file(file: &File, mtime: i64, mode: u32, shared: bool) -> io::Result<()> {
    // A time past what the host can represent leaves the file's own time.
    if let Some(time) = UNIX_EPOCH.checked_add(Duration::from_secs(mtime.max(0) as u64)) {
        file.set_times(FileTimes::new().set_modified(time).set_accessed(time))?;
    }
    let permissions = if shared {
        0o660
    } else {
        (mode & 0o777) | 0o600
    };
    set_permissions(file, permissions);
    Ok(())
}

#[cfg(unix)]
fn set_permissions(file: &File, permissions: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(permissions));
}

#[cfg(not(unix))]
fn set_permissions(_file: &File, _permissions: u32) {}

/// The components of a tar name, with `.` and empty ones dropped. Absolute names, `..`
/// and NUL are refused.
fn clean_components(name: &str) -> Result<Vec<&str>, String> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Err("absolute name".into());
    }
    if name.contains('\0') {
        return Err("NUL in name".into());
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("name climbs out with ..".into()),
            // On Windows hosts a backslash or a drive colon would act as a separator.
            p if cfg!(windows) && (p.contains('\\') || p.contains(':')) => {
                return Err("name with a separator of the host".into());
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("empty name".into());
    }
    Ok(parts)
}

/// Refuses `path` if an existing folder on the way from `root` is a symbolic link, so no
/// write can be steered out of the phone's storage.
fn refuse_links(root: &Path, path: &Path) -> io::Result<()> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| io::Error::new(io::ErrorKind::PermissionDenied, "outside the phone"))?;
    let mut walked = root.to_path_buf();
    for part in relative.parent().into_iter().flat_map(|p| p.components()) {
        walked.push(part);
        match std::fs::symlink_metadata(&walked) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} is a symbolic link", walked.display()),
                ));
            }
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_the_phone_folders() {
        let places = Places::new(Path::new("/d"));
        assert_eq!(
            places.place("apps/com.x/f/a/b.txt"),
            Place::App {
                package: "com.x".into(),
                path: PathBuf::from("/d/restored/apps/com.x/f/a/b.txt")
            }
        );
        assert_eq!(
            places.place("apps/com.x/_manifest"),
            Place::App {
                package: "com.x".into(),
                path: PathBuf::from("/d/restored/apps/com.x/_manifest")
            }
        );
        assert_eq!(
            places.place("shared/0/DCIM/./a.jpg"),
            Place::Shared {
                path: PathBuf::from("/d/sdcard/DCIM/a.jpg")
            }
        );
        for bad in [
            "apps/../../etc/passwd",
            "/apps/x/f/a",
            "shared/0/../../x",
            "",
            "shared/1/a",
            "other/x",
        ] {
            assert!(matches!(places.place(bad), Place::Skip(_)), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_on_the_way_are_refused() {
        let data = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("sdcard")).unwrap();
        std::os::unix::fs::symlink(outside.path(), data.path().join("sdcard/out")).unwrap();
        let places = Places::new(data.path());
        let Place::Shared { path } = places.place("shared/0/out/sub/x") else {
            panic!()
        };
        assert!(places.create_file(&path).is_err());
        assert!(places.make_dir(&path).is_err());
        assert!(!outside.path().join("sub").exists());
        // A link as the file itself is replaced, not followed.
        std::fs::write(outside.path().join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(outside.path().join("victim"), data.path().join("sdcard/v"))
            .unwrap();
        let Place::Shared { path } = places.place("shared/0/v") else {
            panic!()
        };
        drop(places.create_file(&path).unwrap());
        assert_eq!(
            std::fs::read(outside.path().join("victim")).unwrap(),
            b"keep"
        );
    }
}
