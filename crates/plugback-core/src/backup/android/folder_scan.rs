//! What is actually in a Plugback Android backup folder, found without following links:
//! the data files (under `files/` and `apps/`), links that lead outside the folder, and the
//! bytes the folder takes.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Default)]
pub struct FolderScan {
    /// Regular files and links under `files/` and `apps/`, relative to the folder, sorted.
    pub data_files: Vec<PathBuf>,
    /// Links anywhere in the folder whose target is outside it, relative, sorted.
    pub escaping_links: Vec<PathBuf>,
    /// Bytes of the regular files (links not followed).
    pub total_bytes: u64,
    /// Places that could not be listed, relative.
    pub unreadable: Vec<(PathBuf, io::Error)>,
}

/// Scans `root`; `canonical_root` is its canonical form, to judge where links lead.
pub fn scan(root: &Path, canonical_root: &Path) -> FolderScan {
    let mut scan = FolderScan::default();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let entries = match fs::read_dir(root.join(&dir)) {
            Ok(entries) => entries,
            Err(err) => {
                scan.unreadable.push((dir, err));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    scan.unreadable.push((dir.clone(), err));
                    continue;
                }
            };
            let relative = dir.join(entry.file_name());
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(err) => {
                    scan.unreadable.push((relative, err));
                    continue;
                }
            };
            if file_type.is_dir() {
                pending.push(relative);
                continue;
            }
            if file_type.is_symlink() {
                if link_escapes(&root.join(&relative), canonical_root) {
                    scan.escaping_links.push(relative.clone());
                }
            } else if file_type.is_file() {
                scan.total_bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
            if is_data_path(&relative) {
                scan.data_files.push(relative);
            }
        }
    }
    scan.data_files.sort();
    scan.escaping_links.sort();
    scan
}

fn is_data_path(relative: &Path) -> bool {
    let mut components = relative.components();
    matches!(components.next(), Some(Component::Normal(first)) if first == "files" || first == "apps")
        && components.next().is_some()
}

/// Whether the link at `link` leads outside `canonical_root`. A dangling link is judged by
/// the text of its target.
pub fn link_escapes(link: &Path, canonical_root: &Path) -> bool {
    if let Ok(target) = fs::canonicalize(link) {
        return !target.starts_with(canonical_root);
    }
    let Ok(target) = fs::read_link(link) else {
        return true;
    };
    let Some(parent) = link.parent().and_then(|p| fs::canonicalize(p).ok()) else {
        return true;
    };
    let mut resolved = if target.is_absolute() {
        PathBuf::new()
    } else {
        parent
    };
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            other => resolved.push(other),
        }
    }
    !resolved.starts_with(canonical_root)
}

/// A relative path with `/` separators, for reports.
pub fn display(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
