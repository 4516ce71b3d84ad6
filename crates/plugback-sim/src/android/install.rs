//! The package manager's install sessions and the list of installed packages.
//!
//! APK bytes are staged in `/data/app/vmdl<session>.tmp/` as on a phone, checked on commit
//! (a zip with a central directory and an AndroidManifest.xml), then kept in
//! `/data/app/<package>/base.apk`. Installed packages are recorded in DATA/packages.json.
//!
//! The package name comes from the base APK's AndroidManifest.xml: binary XML as in real
//! APKs (`binary_manifest`), or text (`package="..."`) as in small hand-made ones. When
//! neither gives one, the split name the host gave is used when it looks like a package
//! name (`com.example.app.apk`), else a name derived from the APK's CRC-32
//! (`com.plugback.sideloaded.a1b2c3d4`). A binary manifest's minSdkVersion above this
//! phone's API level is refused with `INSTALL_FAILED_OLDER_SDK`, as a phone does.

mod binary_manifest;

use crate::android::zip::stored_zip;
use binary_manifest::MinSdk;
use flate2::read::DeflateDecoder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Packages every phone has, listed by `pm list packages`.
const SYSTEM_PACKAGES: [&str; 8] = [
    "android",
    "com.android.settings",
    "com.android.shell",
    "com.android.systemui",
    "com.android.providers.media.module",
    "com.google.android.gms",
    "com.google.android.apps.photos",
    "com.android.chrome",
];

/// Why an install step failed; `Display` is what `pm` prints.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A `Failure [CODE: detail]` line, as the package manager prints it on stdout.
    #[error("Failure [{0}]")]
    Failure(String),
    /// A wrong argument: an error line on stderr.
    #[error("{0}")]
    Usage(String),
    #[error("Failure [INSTALL_FAILED_INTERNAL_ERROR: {0}]")]
    Io(#[from] io::Error),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstalledPackage {
    pub name: String,
    /// Where the APK sits, as a phone path.
    pub path: String,
    pub size: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct PackageList {
    packages: Vec<InstalledPackage>,
}

struct Session {
    /// Split names in the order written, each with its byte count.
    splits: Vec<(String, u64)>,
}

struct State {
    next_session: u32,
    sessions: BTreeMap<u32, Session>,
    packages: Vec<InstalledPackage>,
}

/// The phone's package manager.
pub(crate) struct Installs {
    data_dir: PathBuf,
    /// The phone's API level (ro.build.version.sdk).
    sdk: u32,
    state: Mutex<State>,
}

impl Installs {
    /// Reads DATA/packages.json (a missing or broken file means no installed packages), for
    /// a phone of API level `sdk`.
    pub(crate) fn load(data_dir: &Path, sdk: u32) -> Installs {
        let path = data_dir.join("packages.json");
        let packages = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<PackageList>(&bytes) {
                Ok(list) => list.packages,
                Err(e) => {
                    eprintln!("plugback-sim: ignoring {}: {e}", path.display());
                    Vec::new()
                }
            },
            Err(_) => Vec::new(),
        };
        Installs {
            data_dir: data_dir.to_path_buf(),
            sdk,
            state: Mutex::new(State {
                // Real session ids are large; start somewhere that looks like one.
                next_session: 1_000_000_000 + rand::random::<u32>() % 1_000_000_000,
                sessions: BTreeMap::new(),
                packages,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn session_dir(&self, session: u32) -> PathBuf {
        self.data_dir.join(format!("data/app/vmdl{session}.tmp"))
    }

    /// Every package, system ones first, as `pm list packages` shows them.
    pub(crate) fn package_names(&self) -> Vec<String> {
        let mut names: Vec<String> = SYSTEM_PACKAGES.iter().map(|s| s.to_string()).collect();
        names.extend(self.state().packages.iter().map(|p| p.name.clone()));
        names
    }

    pub(crate) fn installed(&self) -> Vec<InstalledPackage> {
        self.state().packages.clone()
    }

    /// The APK path of a package, for `pm path`.
    pub(crate) fn path_of(&self, name: &str) -> Option<String> {
        if SYSTEM_PACKAGES.contains(&name) {
            return Some(format!("/system/app/{name}/{name}.apk"));
        }
        self.state()
            .packages
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.path.clone())
    }

    /// `install-create`: a new, empty session.
    pub(crate) fn create_session(&self) -> io::Result<u32> {
        let session = {
            let mut state = self.state();
            let session = state.next_session;
            state.next_session = state.next_session.wrapping_add(1).max(1);
            state
                .sessions
                .insert(session, Session { splits: Vec::new() });
            session
        };
        std::fs::create_dir_all(self.session_dir(session))?;
        Ok(session)
    }

    /// `install-write`: streams exactly `size` bytes of one split into the session.
    pub(crate) fn write_split(
        &self,
        session: u32,
        name: &str,
        size: u64,
        free_bytes: u64,
        input: &mut dyn Read,
    ) -> Result<u64, InstallError> {
        if !self.state().sessions.contains_key(&session) {
            return Err(unknown_session(session));
        }
        if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
            return Err(InstallError::Usage(format!(
                "Error: invalid split name {name:?}"
            )));
        }
        if size > free_bytes {
            return Err(InstallError::Failure(
                "INSTALL_FAILED_INSUFFICIENT_STORAGE".into(),
            ));
        }
        let file_name = if name.ends_with(".apk") {
            name.to_string()
        } else {
            format!("{name}.apk")
        };
        let path = self.session_dir(session).join(&file_name);
        let mut file = File::create(&path)?;
        let copied = io::copy(&mut input.take(size), &mut file)?;
        file.flush()?;
        if copied != size {
            return Err(InstallError::Failure(format!(
                "INSTALL_FAILED_INVALID_APK: expected {size} bytes for {file_name}, got {copied}"
            )));
        }
        let mut state = self.state();
        let Some(entry) = state.sessions.get_mut(&session) else {
            return Err(unknown_session(session));
        };
        entry.splits.retain(|(n, _)| *n != file_name);
        entry.splits.push((file_name, size));
        Ok(copied)
    }

    /// `install-commit`: checks every split and installs the package.
    pub(crate) fn commit(
        &self,
        session: u32,
        name_hint: Option<&str>,
    ) -> Result<String, InstallError> {
        let Some(entry) = self.state().sessions.remove(&session) else {
            return Err(unknown_session(session));
        };
        let dir = self.session_dir(session);
        let result = self.commit_splits(session, &dir, &entry, name_hint);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    fn commit_splits(
        &self,
        session: u32,
        dir: &Path,
        entry: &Session,
        name_hint: Option<&str>,
    ) -> Result<String, InstallError> {
        let Some((base_name, _)) = entry
            .splits
            .iter()
            .find(|(n, _)| n.starts_with("base") || !n.starts_with("split"))
            .or(entry.splits.first())
        else {
            return Err(InstallError::Failure(
                "INSTALL_FAILED_INVALID_APK: Failed to find any APKs".into(),
            ));
        };
        let mut manifest = None;
        for (split, _) in &entry.splits {
            let phone_path = format!("/data/app/vmdl{session}.tmp/{split}");
            let apk = ZipSummary::read(&dir.join(split)).map_err(|why| {
                InstallError::Failure(format!(
                    "INSTALL_PARSE_FAILED_NOT_APK: Failed to parse {phone_path}: {why}"
                ))
            })?;
            if split == base_name {
                manifest = Some(apk);
            }
        }
        let Some(base) = manifest else {
            return Err(InstallError::Failure("INSTALL_FAILED_INVALID_APK".into()));
        };
        match &base.min_sdk {
            Some(MinSdk::Level(needed)) if *needed > self.sdk => {
                return Err(InstallError::Failure(format!(
                    "INSTALL_FAILED_OLDER_SDK: Requires newer sdk version #{needed} (current \
                     version is #{})",
                    self.sdk
                )));
            }
            Some(MinSdk::Codename(codename)) => {
                return Err(InstallError::Failure(format!(
                    "INSTALL_FAILED_OLDER_SDK: Requires development platform {codename} but \
                     this is a release platform."
                )));
            }
            _ => {}
        }
        let hint = name_hint.or(Some(base_name.as_str()));
        let package = base
            .manifest_package
            .clone()
            .or_else(|| hint.and_then(package_from_file_name))
            .unwrap_or_else(|| format!("com.plugback.sideloaded.a{:08x}", base.crc));
        if SYSTEM_PACKAGES.contains(&package.as_str()) {
            return Err(InstallError::Failure(format!(
                "INSTALL_FAILED_UPDATE_INCOMPATIBLE: Package {package} signatures do not match \
                 previously installed version; ignoring!"
            )));
        }
        let app_dir = self.data_dir.join("data/app").join(&package);
        let _ = std::fs::remove_dir_all(&app_dir);
        std::fs::create_dir_all(&app_dir)?;
        let mut total = 0;
        for (split, size) in &entry.splits {
            let target = if split == base_name {
                "base.apk"
            } else {
                split.as_str()
            };
            std::fs::rename(dir.join(split), app_dir.join(target))?;
            total += size;
        }
        let installed = InstalledPackage {
            name: package.clone(),
            path: format!("/data/app/{package}/base.apk"),
            size: total,
        };
        let list = {
            let mut state = self.state();
            state.packages.retain(|p| p.name != package);
            state.packages.push(installed);
            PackageList {
                packages: state.packages.clone(),
            }
        };
        self.save(&list)?;
        Ok(package)
    }

    /// `install-abandon`.
    pub(crate) fn abandon(&self, session: u32) -> Result<(), InstallError> {
        if self.state().sessions.remove(&session).is_none() {
            return Err(unknown_session(session));
        }
        let _ = std::fs::remove_dir_all(self.session_dir(session));
        Ok(())
    }

    /// `pm uninstall`.
    pub(crate) fn uninstall(&self, package: &str) -> Result<(), InstallError> {
        let list = {
            let mut state = self.state();
            let before = state.packages.len();
            state.packages.retain(|p| p.name != package);
            if state.packages.len() == before {
                return Err(InstallError::Failure("DELETE_FAILED_INTERNAL_ERROR".into()));
            }
            PackageList {
                packages: state.packages.clone(),
            }
        };
        let _ = std::fs::remove_dir_all(self.data_dir.join("data/app").join(package));
        self.save(&list)?;
        Ok(())
    }

    fn save(&self, list: &PackageList) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(list).map_err(io::Error::other)?;
        let path = self.data_dir.join("packages.json");
        let staging = self.data_dir.join("packages.json.tmp");
        std::fs::write(&staging, json)?;
        std::fs::rename(staging, path)
    }
}

fn unknown_session(session: u32) -> InstallError {
    InstallError::Usage(format!(
        "Exception occurred while executing:\njava.lang.SecurityException: Unable to open \
         session {session}: not found"
    ))
}

/// `com.example.app.apk` → `com.example.app`, when the name looks like a package.
fn package_from_file_name(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".apk").unwrap_or(name);
    is_package_name(stem).then(|| stem.to_string())
}

fn is_package_name(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// What the package manager checks of an APK: it is a zip with an AndroidManifest.xml.
pub(crate) struct ZipSummary {
    pub(crate) manifest_package: Option<String>,
    /// From a binary manifest; None for a text one or one that cannot be read.
    pub(crate) min_sdk: Option<MinSdk>,
    pub(crate) crc: u32,
}

const LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: &[u8; 4] = b"PK\x05\x06";
/// The end record is 22 bytes plus a comment of at most 65 535.
const MAX_END_SEARCH: u64 = 22 + 65_535;
/// Larger manifests are not read for the package name.
const MAX_MANIFEST: u32 = 4 * 1024 * 1024;

impl ZipSummary {
    pub(crate) fn read(path: &Path) -> Result<ZipSummary, String> {
        let fail = || "Failed to load asset path".to_string();
        let mut file = File::open(path).map_err(|_| fail())?;
        let len = file.metadata().map_err(|_| fail())?.len();
        let mut magic = [0u8; 4];
        if len < 22 || file.read_exact(&mut magic).is_err() || &magic != LOCAL_HEADER {
            return Err(fail());
        }
        let tail_len = len.min(MAX_END_SEARCH);
        let mut tail = vec![0u8; tail_len as usize];
        file.seek(SeekFrom::Start(len - tail_len))
            .map_err(|_| fail())?;
        file.read_exact(&mut tail).map_err(|_| fail())?;
        let end = (0..=tail.len() - 22)
            .rev()
            .find(|&i| &tail[i..i + 4] == END_OF_CENTRAL_DIRECTORY)
            .ok_or_else(fail)?;
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let entries = u16_at(&tail, end + 10);
        let cd_size = u32_at(&tail, end + 12);
        let cd_offset = u32_at(&tail, end + 16);
        if u64::from(cd_offset) + u64::from(cd_size) > len || cd_size > 64 * 1024 * 1024 {
            return Err(fail());
        }
        let mut directory = vec![0u8; cd_size as usize];
        file.seek(SeekFrom::Start(u64::from(cd_offset)))
            .map_err(|_| fail())?;
        file.read_exact(&mut directory).map_err(|_| fail())?;
        let mut at = 0usize;
        let mut manifest = None;
        for _ in 0..entries {
            if at + 46 > directory.len() || u32_at(&directory, at) != CENTRAL_HEADER {
                return Err(fail());
            }
            let method = u16_at(&directory, at + 10);
            let compressed = u32_at(&directory, at + 20);
            let name_len = usize::from(u16_at(&directory, at + 28));
            let extra_len = usize::from(u16_at(&directory, at + 30));
            let comment_len = usize::from(u16_at(&directory, at + 32));
            let local_offset = u32_at(&directory, at + 42);
            let name_end = at + 46 + name_len;
            if name_end > directory.len() {
                return Err(fail());
            }
            if &directory[at + 46..name_end] == b"AndroidManifest.xml" {
                manifest = Some((method, compressed, local_offset));
            }
            at = name_end + extra_len + comment_len;
        }
        let Some((method, compressed, offset)) = manifest else {
            return Err("Failed to read manifest: AndroidManifest.xml is missing".into());
        };
        let (manifest_package, min_sdk) =
            match read_entry(&mut file, len, method, compressed, offset) {
                Some(bytes) => match binary_manifest::read(&bytes) {
                    Some(binary) => (binary.package, Some(binary.min_sdk)),
                    None => (text_manifest_package(&bytes), None),
                },
                None => (None, None),
            };
        let mut crc = flate2::Crc::new();
        file.seek(SeekFrom::Start(0)).map_err(|_| fail())?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buffer).map_err(|_| fail())?;
            if n == 0 {
                break;
            }
            crc.update(&buffer[..n]);
        }
        Ok(ZipSummary {
            manifest_package,
            min_sdk,
            crc: crc.sum(),
        })
    }
}

/// The bytes of one entry, stored or deflated; None when it cannot be read simply.
fn read_entry(
    file: &mut File,
    len: u64,
    method: u16,
    compressed: u32,
    offset: u32,
) -> Option<Vec<u8>> {
    if compressed > MAX_MANIFEST || u64::from(offset) + 30 > len {
        return None;
    }
    let mut header = [0u8; 30];
    file.seek(SeekFrom::Start(u64::from(offset))).ok()?;
    file.read_exact(&mut header).ok()?;
    if &header[0..4] != LOCAL_HEADER {
        return None;
    }
    let skip = u64::from(u16::from_le_bytes([header[26], header[27]]))
        + u64::from(u16::from_le_bytes([header[28], header[29]]));
    file.seek(SeekFrom::Current(skip as i64)).ok()?;
    let mut raw = vec![0u8; compressed as usize];
    file.read_exact(&mut raw).ok()?;
    match method {
        0 => Some(raw),
        8 => {
            let mut out = Vec::new();
            DeflateDecoder::new(&raw[..])
                .take(u64::from(MAX_MANIFEST))
                .read_to_end(&mut out)
                .ok()?;
            Some(out)
        }
        _ => None,
    }
}

/// A small but real APK whose text manifest names `package`: what the simulated phone
/// installs under that name. For tests that install apps through a real adb.
pub fn text_manifest_apk(package: &str) -> Vec<u8> {
    let manifest = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<manifest \
         xmlns:android=\"http://schemas.android.com/apk/res/android\" package=\"{package}\"/>\n"
    );
    let dex = [b"dex\n035\0".as_slice(), &[7u8; 3000]].concat();
    stored_zip(
        &[
            ("AndroidManifest.xml", manifest.as_bytes()),
            ("classes.dex", &dex),
        ],
        (0, 0),
    )
}

/// `package="..."` of a text manifest.
fn text_manifest_package(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let manifest = &text[text.find("<manifest")?..];
    let value = &manifest[manifest.find("package=\"")? + "package=\"".len()..];
    let name = &value[..value.find('"')?];
    is_package_name(name).then(|| name.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A zip of `entries`, undated.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        stored_zip(entries, (0, 0))
    }

    fn install(
        installs: &Installs,
        bytes: &[u8],
        hint: Option<&str>,
    ) -> Result<String, InstallError> {
        let session = installs.create_session().unwrap();
        installs.write_split(
            session,
            "base.apk",
            bytes.len() as u64,
            u64::MAX,
            &mut &bytes[..],
        )?;
        installs.commit(session, hint)
    }

    #[test]
    fn zips_install_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let installs = Installs::load(dir.path(), 34);
        let apk = zip(&[
            (
                "AndroidManifest.xml",
                b"<?xml version=\"1.0\"?><manifest package=\"com.example.notes\"/>",
            ),
            ("classes.dex", b"dex\n035\0"),
        ]);
        assert_eq!(install(&installs, &apk, None).unwrap(), "com.example.notes");
        assert!(
            dir.path()
                .join("data/app/com.example.notes/base.apk")
                .is_file()
        );
        let binary = zip(&[("AndroidManifest.xml", &[3, 0, 8, 0, 1, 2])]);
        assert_eq!(
            install(&installs, &binary, Some("org.sample.tool.apk")).unwrap(),
            "org.sample.tool"
        );
        let derived = install(&installs, &binary, None).unwrap();
        assert!(
            derived.starts_with("com.plugback.sideloaded.a"),
            "{derived}"
        );

        let reloaded = Installs::load(dir.path(), 34);
        let names = reloaded.package_names();
        assert!(names.contains(&"com.example.notes".to_string()));
        assert!(names.contains(&"org.sample.tool".to_string()));
        reloaded.uninstall("org.sample.tool").unwrap();
        assert!(
            !Installs::load(dir.path(), 34)
                .package_names()
                .contains(&"org.sample.tool".to_string())
        );
    }

    #[test]
    fn non_zips_and_short_streams_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let installs = Installs::load(dir.path(), 34);
        let err = install(&installs, b"this is not an apk at all, just text", None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Failure [INSTALL_PARSE_FAILED_NOT_APK"),
            "{err}"
        );
        let no_manifest = zip(&[("classes.dex", b"dex")]);
        let err = install(&installs, &no_manifest, None).unwrap_err();
        assert!(err.to_string().contains("NOT_APK"), "{err}");
        let mut truncated = zip(&[("AndroidManifest.xml", b"<manifest/>")]);
        truncated.truncate(truncated.len() - 10);
        assert!(install(&installs, &truncated, None).is_err());

        let session = installs.create_session().unwrap();
        let err = installs
            .write_split(session, "base.apk", 100, u64::MAX, &mut &b"short"[..])
            .unwrap_err();
        assert!(err.to_string().contains("expected 100 bytes"), "{err}");
        installs.abandon(session).unwrap();
        assert!(installs.abandon(session).is_err());
        assert!(installs.commit(session, None).is_err());
        assert_eq!(installs.installed().len(), 0);
    }

    /// The APKs of app `package` in a generated backup folder whose apps declare the
    /// given minSdkVersions.
    fn backup_apks(dir: &Path, package: &str, min_sdk: &[(&str, u32)]) -> Vec<(String, Vec<u8>)> {
        use crate::make_backup::{Kind, Spec, make_backup};
        let mut spec = Spec::new(Kind::AndroidFolder);
        for (app, level) in min_sdk {
            spec.app_min_sdk.insert(app.to_string(), *level);
        }
        let out = dir.join("backup");
        make_backup(&spec, &out).unwrap();
        let mut apks: Vec<(String, Vec<u8>)> = std::fs::read_dir(out.join("apps").join(package))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        apks.sort_by_key(|(name, _)| name != "base.apk");
        apks
    }

    fn install_all(
        installs: &Installs,
        apks: &[(String, Vec<u8>)],
    ) -> Result<String, InstallError> {
        let session = installs.create_session().unwrap();
        for (name, bytes) in apks {
            installs.write_split(session, name, bytes.len() as u64, u64::MAX, &mut &bytes[..])?;
        }
        installs.commit(session, None)
    }

    #[test]
    fn binary_manifests_name_the_package_and_a_newer_min_sdk_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let installs = Installs::load(&dir.path().join("phone"), 34);
        let apks = backup_apks(
            dir.path(),
            "com.example.notes",
            &[("com.example.notes", 34), ("com.example.photos", 35)],
        );
        assert_eq!(apks.len(), 2, "a base and a split");
        let summary = ZipSummary::read(&{
            let path = dir.path().join("base.apk");
            std::fs::write(&path, &apks[0].1).unwrap();
            path
        })
        .unwrap();
        assert_eq!(
            summary.manifest_package.as_deref(),
            Some("com.example.notes")
        );
        assert_eq!(summary.min_sdk, Some(MinSdk::Level(34)));
        assert_eq!(install_all(&installs, &apks).unwrap(), "com.example.notes");

        let photos = dir.path().join("second");
        let apks = backup_apks(&photos, "com.example.photos", &[("com.example.photos", 35)]);
        let err = install_all(&installs, &apks).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Failure [INSTALL_FAILED_OLDER_SDK: Requires newer sdk version #35 (current \
             version is #34)]"
        );
        assert_eq!(installs.installed().len(), 1, "{:?}", installs.installed());
    }

    #[test]
    fn any_bytes_as_a_binary_manifest_are_read_or_refused_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let apks = backup_apks(dir.path(), "com.example.photos", &[]);
        let apk = &apks[0].1;
        // The manifest is the first stored entry: after the 30-byte local header and name.
        let name_len = usize::from(u16::from_le_bytes([apk[26], apk[27]]));
        let size = u32::from_le_bytes([apk[18], apk[19], apk[20], apk[21]]) as usize;
        let manifest = &apk[30 + name_len..30 + name_len + size];
        assert_eq!(
            binary_manifest::read(manifest),
            Some(binary_manifest::BinaryManifest {
                package: Some("com.example.photos".into()),
                min_sdk: MinSdk::Level(24),
            })
        );
        for len in 0..manifest.len() {
            let _ = binary_manifest::read(&manifest[..len]);
        }
        for at in 0..manifest.len() {
            for value in [0x00, 0x7f, 0x80, 0xff] {
                let mut bad = manifest.to_vec();
                bad[at] = value;
                let _ = binary_manifest::read(&bad);
            }
        }
    }
}
