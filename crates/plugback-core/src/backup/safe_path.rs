//! Which names inside a backup are safe to turn into places on this computer: shared by
//! the iPhone and Android formats, so one set of rules guards every path a backup names.
//! Unsafe names are refused, never normalised: a backup that needs `..` to say where a file
//! goes was made wrong or tampered with, and guessing would hide that.

use std::path::{Component, Path, PathBuf};

/// Longest phone path accepted (Linux's PATH_MAX).
const MAX_PHONE_PATH: usize = 4096;
/// Longest package or APK name accepted (a file name on every common file system).
const MAX_NAME: usize = 255;

/// Why a name relative to the backup (an iPhone domain or relativePath, a tar entry) could
/// reach outside it, or None when it is fine. Checked as raw bytes: NUL, backslashes,
/// absolute names, drive prefixes (`C:`) and `..` components. An empty name is allowed
/// here: an iPhone domain's own folder has an empty relativePath.
pub fn relative_name_problem(name: &[u8]) -> Option<&'static str> {
    if name.contains(&0) {
        return Some("contains a NUL character");
    }
    if name.contains(&b'\\') {
        return Some("contains a backslash");
    }
    if name.first() == Some(&b'/') {
        return Some("is an absolute path");
    }
    if is_drive_prefix(name.split(|&b| b == b'/').next().unwrap_or_default()) {
        return Some("starts with a drive letter");
    }
    if name.split(|&b| b == b'/').any(|part| part == b"..") {
        return Some("contains a `..` component");
    }
    None
}

/// Why a tar entry name is unsafe, or None when it is fine: the relative-name rules, and
/// a tar entry must have a name.
pub fn tar_name_problem(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        return Some("has an empty name");
    }
    relative_name_problem(name)
}

/// Why a link target inside a tar entry could reach outside the backup, or None.
pub fn tar_link_problem(target: &[u8]) -> Option<&'static str> {
    if target.first() == Some(&b'/') {
        return Some("links to an absolute path");
    }
    if target.contains(&b'\\') {
        return Some("links to a name with a backslash");
    }
    if target.split(|&b| b == b'/').any(|part| part == b"..") {
        return Some("links through a `..` component");
    }
    None
}

fn is_drive_prefix(part: &[u8]) -> bool {
    matches!(part, [letter, b':', ..] if letter.is_ascii_alphabetic())
}

/// Why a phone path from a Plugback folder manifest is unsafe, or None. A phone path is
/// absolute ("/sdcard/DCIM/x.jpg") with no empty, `.` or `..` component, no backslash
/// and no NUL.
pub fn phone_path_problem(path: &str) -> Option<&'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Some("is not an absolute phone path (it must start with /)");
    };
    if path.len() > MAX_PHONE_PATH {
        return Some("is longer than any phone path");
    }
    if path.contains('\0') {
        return Some("contains a NUL character");
    }
    if path.contains('\\') {
        return Some("contains a backslash");
    }
    for part in rest.split('/') {
        match part {
            "" => return Some("has an empty component (`//` or a trailing /)"),
            "." => return Some("contains a `.` component"),
            ".." => return Some("contains a `..` component"),
            _ => {}
        }
    }
    None
}

/// Why a package name is not a Java-style package name, or None: dot-separated
/// identifiers made of ASCII letters, digits and `_`, none starting with a digit.
pub fn package_problem(package: &str) -> Option<&'static str> {
    if package.is_empty() {
        return Some("is empty");
    }
    if package.len() > MAX_NAME {
        return Some("is longer than any package name");
    }
    let valid_identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if package.split('.').all(valid_identifier) {
        None
    } else {
        Some("is not a package name (letters, digits and _ between dots)")
    }
}

/// Why an APK file name is unsafe, or None: one plain file name.
pub fn file_name_problem(name: &str) -> Option<&'static str> {
    match name {
        "" => Some("is empty"),
        "." | ".." => Some("is `.` or `..`"),
        _ if name.len() > MAX_NAME => Some("is longer than any file name"),
        _ if name.contains(['/', '\\']) => Some("contains a path separator"),
        _ if name.contains('\0') => Some("contains a NUL character"),
        _ => None,
    }
}

/// `base` joined with already-validated `parts`, or None when one part would not stay a
/// plain name on this operating system (on Windows `C:` or `aux` style parts change what a
/// join means).
pub fn join_plain<'a>(base: &Path, parts: impl IntoIterator<Item = &'a str>) -> Option<PathBuf> {
    let mut path = base.to_path_buf();
    for part in parts {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(normal)), None) if normal == part => path.push(part),
            _ => return None,
        }
    }
    Some(path)
}

/// The components of a phone path that passed [`phone_path_problem`].
pub fn phone_path_parts(path: &str) -> impl Iterator<Item = &str> {
    path.trim_start_matches('/').split('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_names() {
        assert_eq!(tar_name_problem(b"apps/com.x/f/a.txt"), None);
        assert_eq!(tar_name_problem(b"shared/0/DCIM/"), None);
        assert_eq!(tar_name_problem(b"a/..b/c..d"), None);
        assert!(tar_name_problem(b"/etc/passwd").is_some());
        assert!(tar_name_problem(b"apps/../../x").is_some());
        assert!(tar_name_problem(b"..").is_some());
        assert!(tar_name_problem(b"apps\\x").is_some());
        assert!(tar_name_problem(b"C:/x").is_some());
        assert!(tar_name_problem(b"").is_some());
        assert_eq!(
            tar_link_problem(b"../sibling/x"),
            Some("links through a `..` component")
        );
        assert_eq!(tar_link_problem(b"same-dir"), None);
    }

    #[test]
    fn phone_paths() {
        assert_eq!(phone_path_problem("/sdcard/DCIM/Camera/IMG_0001.jpg"), None);
        assert_eq!(phone_path_problem("/sdcard/a..b/..c"), None);
        for bad in [
            "sdcard/x",
            "",
            "/",
            "/sdcard//x",
            "/sdcard/x/",
            "/sdcard/./x",
            "/sdcard/../../etc/passwd",
            "/sdcard\\x",
            "/sdcard/x\0",
        ] {
            assert!(phone_path_problem(bad).is_some(), "{bad:?} accepted");
        }
        let parts: Vec<_> = phone_path_parts("/sdcard/DCIM/a.jpg").collect();
        assert_eq!(parts, ["sdcard", "DCIM", "a.jpg"]);
    }

    #[test]
    fn packages_and_file_names() {
        assert_eq!(package_problem("com.example.notes"), None);
        assert_eq!(package_problem("android"), None);
        assert_eq!(package_problem("com.example_2.a1"), None);
        for bad in [
            "",
            "com..x",
            ".com",
            "com.",
            "com.1x",
            "com/x",
            "../x",
            "com.my-app",
            "é.x",
        ] {
            assert!(package_problem(bad).is_some(), "{bad:?} accepted");
        }
        assert_eq!(file_name_problem("base.apk"), None);
        for bad in ["", ".", "..", "a/b.apk", "a\\b.apk", "a\0"] {
            assert!(file_name_problem(bad).is_some(), "{bad:?} accepted");
        }
    }

    #[test]
    fn joins_stay_below_the_base() {
        let base = Path::new("backup");
        assert_eq!(
            join_plain(base, ["files", "sdcard", "a.jpg"]),
            Some(PathBuf::from("backup/files/sdcard/a.jpg"))
        );
        assert_eq!(join_plain(base, ["files", ".."]), None);
        assert_eq!(join_plain(base, ["/etc"]), None);
    }
}
