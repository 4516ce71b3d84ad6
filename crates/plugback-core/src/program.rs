//! Finding the programs Plugback relies on (adb, usbmuxd) the way a shell would, so the
//! device layer and doctor agree on what is installed.

use std::ffi::OsStr;
use std::path::PathBuf;

/// The first `name` in the folders of `path` (PATH syntax), then in `extra`. An empty PATH
/// entry would mean the current folder: it is never searched.
pub fn find_program(name: &str, path: Option<&OsStr>, extra: &[PathBuf]) -> Option<PathBuf> {
    let listed: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(p).collect())
        .unwrap_or_default();
    listed
        .iter()
        .chain(extra)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_the_path_then_in_the_extra_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second, extra) = (
            dir.path().join("first"),
            dir.path().join("second"),
            dir.path().join("sbin"),
        );
        for folder in [&first, &second, &extra] {
            std::fs::create_dir(folder).unwrap();
        }
        std::fs::write(second.join("adb"), "").unwrap();
        std::fs::write(extra.join("usbmuxd"), "").unwrap();
        std::fs::create_dir(first.join("usbmuxd")).unwrap(); // a folder is not a program
        let path = std::env::join_paths([&first, &second]).unwrap();
        let extras = [extra.clone()];
        assert_eq!(
            find_program("adb", Some(&path), &extras),
            Some(second.join("adb"))
        );
        assert_eq!(
            find_program("usbmuxd", Some(&path), &extras),
            Some(extra.join("usbmuxd"))
        );
        assert_eq!(find_program("usbmuxd", Some(&path), &[]), None);
        assert_eq!(find_program("adb", None, &[]), None);
    }
}
