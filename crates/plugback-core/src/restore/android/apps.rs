//! Putting a backup's apps back on an Android phone: APK installs over adb, the way
//! `adb install-multiple` does them.
//!
//! One install session per app: `install-create -S <total bytes>`, then `install-write -S
//! <size> <session> <name> -` for each APK (a split app has several), with the bytes
//! streamed on the same connection, then `install-commit <session>`. Any failure after the
//! session exists abandons it (`install-abandon`), so the phone keeps no half-staged app.
//!
//! Three ways reach the package manager, tried in this order: `abb_exec:package\0…`
//! (Android 11 and later, feature `abb_exec`), `exec:cmd package …` (feature `cmd`), and
//! `exec:pm …` (every Android). A way the phone does not offer (the adb server refuses the
//! service, or the shell does not know the command) moves on to the next one.
//!
//! What this restores, honestly: the apps themselves, as the package manager installs
//! them from the APKs in the backup. Not their data: a computer can put app data back only
//! through `adb restore`, and only for apps that allow it (see `ab`).

use super::plan::LeftOut;
use crate::backup::android::FOLDER_MANIFEST;
use crate::backup::android::folder_manifest::{self, AppRecord, ManifestError};
use crate::backup::safe_path;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::shell;
use crate::device::android::smart_socket::SmartSocket;
use crate::restore::{Phase, Progress, RestoreError, Sink};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How much is read from the backup and written to the phone at a time.
const CHUNK: usize = 64 * 1024;
/// The package manager answers in a line or two; more than this is not an answer.
const MAX_ANSWER: usize = 64 * 1024;

/// One APK of an app, in the backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApkFile {
    pub local: PathBuf,
    /// The name it is written under in the install session (`base.apk`,
    /// `split_config.arm64_v8a.apk`).
    pub name: String,
    pub size: u64,
    /// The sha256 the backup records, checked as the bytes go out; None for APKs picked
    /// by hand.
    pub sha256: Option<[u8; 32]>,
}

/// One app to install: its package name and its APKs (one, or a base and its splits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppItem {
    pub package: String,
    pub apks: Vec<ApkFile>,
}

impl AppItem {
    pub fn bytes(&self) -> u64 {
        self.apks.iter().map(|apk| apk.size).sum()
    }
}

/// The apps one restore installs, in order.
#[derive(Clone, Debug, Default)]
pub struct AppPlan {
    pub apps: Vec<AppItem>,
    /// Apps of the backup that cannot be installed (damaged entries, missing APKs).
    pub left_out: Vec<LeftOut>,
}

/// The part of the manifest read here beyond what `folder_manifest` checks.
#[derive(Deserialize)]
struct AppList {
    apps: Vec<serde_json::Value>,
}

impl AppPlan {
    /// Every app of a Plugback Android backup folder (`apps/<package>/*.apk`, with sizes
    /// and sha256 in its manifest). An app with a damaged entry or a missing APK is left
    /// out and said so; a name reaching outside the backup refuses the whole backup.
    pub fn from_backup_folder(root: &Path) -> Result<AppPlan, RestoreError> {
        let manifest_path = root.join(FOLDER_MANIFEST);
        let backup_error = |source| RestoreError::Backup {
            path: manifest_path.clone(),
            source,
        };
        let manifest = folder_manifest::load(root).map_err(|err| match err {
            ManifestError::Io(source) => backup_error(source),
            ManifestError::Invalid(reason) => {
                backup_error(io::Error::new(io::ErrorKind::InvalidData, reason))
            }
        })?;
        // `load` checked the top of the file; the app records are read from it here.
        let bytes = fs::read(&manifest_path).map_err(backup_error)?;
        let list: AppList = serde_json::from_slice(&bytes)
            .map_err(|err| backup_error(io::Error::new(io::ErrorKind::InvalidData, err)))?;
        let (_, problems) = manifest.expected_blobs();
        if let Some(problem) = problems
            .iter()
            .find(|p| p.code == crate::backup::verify::ProblemCode::UnsafePath)
        {
            return Err(RestoreError::UnsafeName {
                path: problem.path.clone(),
                why: "is named in the backup's file list but would reach outside the backup; \
                      this copy may have been tampered with"
                    .into(),
            });
        }
        let canonical_root = fs::canonicalize(root).map_err(|source| RestoreError::Backup {
            path: root.to_path_buf(),
            source,
        })?;
        let mut plan = AppPlan::default();
        for (index, value) in list.apps.iter().enumerate() {
            let Ok(record) = serde_json::from_value::<AppRecord>(value.clone()) else {
                plan.leave_out(
                    format!("{FOLDER_MANIFEST} app entry {}", index + 1),
                    "its entry in the backup's app list is damaged",
                );
                continue;
            };
            match app_item(root, &canonical_root, &record) {
                Ok(item) => plan.apps.push(item),
                Err(reason) => plan.leave_out(record.package.clone(), &reason),
            }
        }
        Ok(plan)
    }

    /// Keeps only the named packages, in the plan's order. A name the plan does not hold
    /// is an error: a person asked for an app this backup cannot give back.
    pub fn only<S: AsRef<str>>(mut self, packages: &[S]) -> Result<AppPlan, RestoreError> {
        for wanted in packages {
            let wanted = wanted.as_ref();
            if !self.apps.iter().any(|app| app.package == wanted) {
                let why = match self.left_out.iter().find(|l| l.what == wanted) {
                    Some(left) => format!("cannot be installed from this backup: {}", left.reason),
                    None => "is not in this backup".to_string(),
                };
                return Err(RestoreError::Backup {
                    path: PathBuf::from(wanted),
                    source: io::Error::new(io::ErrorKind::NotFound, why),
                });
            }
        }
        self.apps
            .retain(|app| packages.iter().any(|p| p.as_ref() == app.package));
        self.left_out
            .retain(|left| packages.iter().any(|p| p.as_ref() == left.what));
        Ok(self)
    }

    pub fn bytes_total(&self) -> u64 {
        self.apps.iter().map(AppItem::bytes).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    fn leave_out(&mut self, what: String, reason: &str) {
        self.left_out.push(LeftOut {
            what,
            phone_path: None,
            reason: reason.to_string(),
        });
    }
}

/// An app's APKs, each a regular file inside the backup with the recorded size.
fn app_item(root: &Path, canonical_root: &Path, record: &AppRecord) -> Result<AppItem, String> {
    if safe_path::package_problem(&record.package).is_some() {
        return Err("its package name is not one Android allows".into());
    }
    if record.apks.is_empty() {
        return Err("the backup lists no APK for it".into());
    }
    let mut apks = Vec::new();
    for (index, apk) in record.apks.iter().enumerate() {
        let local = safe_path::join_plain(root, ["apps", record.package.as_str(), &apk.name])
            .ok_or_else(|| format!("the APK name {:?} is not a plain file name", apk.name))?;
        let real = fs::canonicalize(&local)
            .map_err(|err| format!("{} cannot be read from the backup: {err}", apk.name))?;
        if !real.starts_with(canonical_root) {
            return Err(format!("{} is a link leading outside the backup", apk.name));
        }
        let meta = fs::metadata(&real)
            .map_err(|err| format!("{} cannot be read from the backup: {err}", apk.name))?;
        if !meta.is_file() || meta.len() != apk.size {
            return Err(format!(
                "{} is {} bytes in the backup folder, but the backup's file list says {}: it \
                 was damaged or changed",
                apk.name,
                meta.len(),
                apk.size
            ));
        }
        let mut sha256 = [0u8; 32];
        if hex::decode_to_slice(&apk.sha256, &mut sha256).is_err() {
            return Err(format!("the checksum recorded for {} is damaged", apk.name));
        }
        apks.push(ApkFile {
            local,
            name: session_name(&apk.name, index),
            size: apk.size,
            sha256: Some(sha256),
        });
    }
    Ok(AppItem {
        package: record.package.clone(),
        apks,
    })
}

/// The name an APK is written under: its own when it is plain (letters, digits, `._-`,
/// ending in `.apk`), as the phone's shell then needs no quoting; else a made-up one.
fn session_name(name: &str, index: usize) -> String {
    let plain = name.ends_with(".apk")
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if plain {
        name.to_string()
    } else if index == 0 {
        "base.apk".into()
    } else {
        format!("split_{index}.apk")
    }
}

/// Why the package manager refused an app, grouped by what a person can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstallFailure {
    /// `INSTALL_FAILED_INSUFFICIENT_STORAGE`.
    NoSpace,
    /// An installed app of the same name is signed by someone else, or is newer
    /// (`UPDATE_INCOMPATIBLE`, `VERSION_DOWNGRADE`, `DUPLICATE_PERMISSION` …).
    Conflict,
    /// The app is not made for this phone (`OLDER_SDK`, `NO_MATCHING_ABIS`,
    /// `MISSING_FEATURE`, `MISSING_SHARED_LIBRARY`, `DEPRECATED_SDK_VERSION`).
    Unsupported,
    /// The APK is damaged or not an APK (`INVALID_APK`, `INSTALL_PARSE_FAILED_…`,
    /// `MISSING_SPLIT`).
    BadApk,
    /// The phone's owner or a policy blocks installs (`USER_RESTRICTED`,
    /// `VERIFICATION_FAILURE`, `ABORTED`).
    Blocked,
    /// Anything else.
    Other,
}

impl InstallFailure {
    /// Sorts a package manager failure code (`INSTALL_FAILED_OLDER_SDK`).
    pub fn from_code(code: &str) -> InstallFailure {
        let code = code.trim();
        let failed = code.strip_prefix("INSTALL_FAILED_").unwrap_or("");
        if code.starts_with("INSTALL_PARSE_FAILED_") {
            return InstallFailure::BadApk;
        }
        match failed {
            "INSUFFICIENT_STORAGE" | "MEDIA_UNAVAILABLE" => InstallFailure::NoSpace,
            "UPDATE_INCOMPATIBLE"
            | "VERSION_DOWNGRADE"
            | "DUPLICATE_PERMISSION"
            | "CONFLICTING_PROVIDER"
            | "SHARED_USER_INCOMPATIBLE"
            | "ALREADY_EXISTS"
            | "DUPLICATE_PACKAGE"
            | "REPLACE_COULDNT_DELETE"
            | "PERMISSION_MODEL_DOWNGRADE" => InstallFailure::Conflict,
            "OLDER_SDK"
            | "NEWER_SDK"
            | "NO_MATCHING_ABIS"
            | "CPU_ABI_INCOMPATIBLE"
            | "MISSING_FEATURE"
            | "MISSING_SHARED_LIBRARY"
            | "DEPRECATED_SDK_VERSION"
            | "TEST_ONLY" => InstallFailure::Unsupported,
            "INVALID_APK" | "INVALID_URI" | "MISSING_SPLIT" | "DEXOPT" | "BAD_SIGNATURE"
            | "NO_CERTIFICATES" => InstallFailure::BadApk,
            "USER_RESTRICTED" | "VERIFICATION_FAILURE" | "VERIFICATION_TIMEOUT" | "ABORTED" => {
                InstallFailure::Blocked
            }
            _ => InstallFailure::Other,
        }
    }

    /// The stable code of a refused install (see `explain`).
    pub fn code(self) -> &'static str {
        match self {
            InstallFailure::NoSpace => "app-install-no-space",
            InstallFailure::Conflict => "app-install-conflict",
            InstallFailure::Unsupported => "app-install-unsupported",
            InstallFailure::BadApk => "app-install-bad-apk",
            InstallFailure::Blocked => "app-install-blocked",
            InstallFailure::Other => "app-install-failed",
        }
    }
}

/// An app the phone did not install.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedApp {
    pub package: String,
    pub failure: InstallFailure,
    /// What the phone said (`Failure [INSTALL_FAILED_OLDER_SDK: …]`), or why Plugback
    /// stopped.
    pub phone_says: String,
}

impl FailedApp {
    pub fn to_error(&self) -> RestoreError {
        RestoreError::AppNotInstalled {
            package: self.package.clone(),
            failure: self.failure,
            phone_says: self.phone_says.clone(),
        }
    }
}

/// What an app restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AppsOutcome {
    /// Packages installed, in order.
    pub installed: Vec<String>,
    pub failed: Vec<FailedApp>,
    pub bytes_sent: u64,
    /// Apps of the backup the plan could not use.
    pub left_out: u64,
}

/// Installs every app of `plan` on the phone `serial`; see the module documentation.
/// An app the phone refuses is noted and the others go on; when every app was refused,
/// the first refusal is the error. A lost phone, a stall or a cancel end the restore.
pub fn install(
    server: &AdbServer,
    serial: &str,
    plan: &AppPlan,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<AppsOutcome, RestoreError> {
    let mut outcome = AppsOutcome {
        left_out: plan.left_out.len() as u64,
        ..AppsOutcome::default()
    };
    for left in &plan.left_out {
        sink.note(
            "restore-files-left-out",
            format!("The app {} is not installed: {}", left.what, left.reason),
        );
    }
    if plan.is_empty() {
        return Ok(outcome);
    }
    sink.phase(Phase::Preparing);
    let features = shell::features(server, serial, cancel).map_err(|e| classify(e, cancel))?;
    let mut installer = Installer {
        server,
        serial,
        cancel,
        route: Route::first_for(&features),
        report: Reporter::new(sink, plan),
    };
    sink.phase(Phase::Transferring);
    for app in &plan.apps {
        if cancel.is_cancelled() {
            return Err(RestoreError::Cancelled);
        }
        match installer.install_app(app) {
            Ok(()) => {
                outcome.installed.push(app.package.clone());
                outcome.bytes_sent += app.bytes();
            }
            Err(Step::Refused(failed)) => {
                sink.note(
                    failed.failure.code(),
                    format!(
                        "The phone did not install {}: {}",
                        failed.package, failed.phone_says
                    ),
                );
                outcome.failed.push(failed);
            }
            Err(Step::Fatal(err)) => return Err(err),
        }
        installer.report.app_done();
    }
    installer.report.emit();
    if outcome.installed.is_empty()
        && let Some(first) = outcome.failed.first()
    {
        return Err(first.to_error());
    }
    Ok(outcome)
}

/// How one step ended badly: the phone refused this app (the restore goes on), or the
/// restore cannot go on.
enum Step {
    Refused(FailedApp),
    Fatal(RestoreError),
}

/// How Plugback reaches the package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Abb,
    Cmd,
    Pm,
}

impl Route {
    fn first_for(features: &[String]) -> Route {
        let has = |name: &str| features.iter().any(|f| f == name);
        if has("abb_exec") {
            Route::Abb
        } else if has("cmd") {
            Route::Cmd
        } else {
            Route::Pm
        }
    }

    fn next(self) -> Option<Route> {
        match self {
            Route::Abb => Some(Route::Cmd),
            Route::Cmd => Some(Route::Pm),
            Route::Pm => None,
        }
    }

    /// The adb service that runs `package <args…>` this way. Arguments are plain words
    /// (numbers, options, checked split names), so the shell routes need no quoting.
    fn service(self, args: &[&str]) -> String {
        match self {
            Route::Abb => {
                let mut service = String::from("abb_exec:package");
                for arg in args {
                    service.push('\0');
                    service.push_str(arg);
                }
                service
            }
            Route::Cmd => format!("exec:cmd package {}", args.join(" ")),
            Route::Pm => format!("exec:pm {}", args.join(" ")),
        }
    }
}

struct Installer<'a> {
    server: &'a AdbServer,
    serial: &'a str,
    cancel: &'a CancelToken,
    route: Route,
    report: Reporter<'a>,
}

impl Installer<'_> {
    fn install_app(&mut self, app: &AppItem) -> Result<(), Step> {
        let session = self.create_session(app)?;
        let written = self.write_and_commit(app, &session);
        if written.is_err() {
            // Whatever went wrong, the phone must not keep a half-staged app. A phone that
            // is gone drops the session by itself.
            self.abandon(&session);
        }
        written
    }

    /// `install-create`, moving on to the next route when the phone lacks this one.
    fn create_session(&mut self, app: &AppItem) -> Result<String, Step> {
        let total = app.bytes().to_string();
        loop {
            let service = self.route.service(&["install-create", "-S", &total]);
            let answer = shell::open_service(self.server, self.serial, &service, self.cancel)
                .and_then(|mut socket| read_answer(&mut socket));
            let unavailable = match &answer {
                Err(DeviceError::Refused { .. }) => true,
                Ok(text) => route_unknown(text),
                Err(_) => false,
            };
            if unavailable && let Some(next) = self.route.next() {
                self.route = next;
                continue;
            }
            let text = answer.map_err(|err| self.fatal(err))?;
            return parse_session(&text).ok_or_else(|| refused(app, &text));
        }
    }

    fn write_and_commit(&mut self, app: &AppItem, session: &str) -> Result<(), Step> {
        for apk in &app.apks {
            self.report.set_current(&app.package, &apk.name);
            self.write_apk(app, session, apk)?;
        }
        let service = self.route.service(&["install-commit", session]);
        let text = shell::open_service(self.server, self.serial, &service, self.cancel)
            .and_then(|mut socket| read_answer(&mut socket))
            .map_err(|err| self.fatal(err))?;
        if text.lines().any(|line| line.trim() == "Success") {
            Ok(())
        } else {
            Err(refused(app, &text))
        }
    }

    /// `install-write -S <size> <session> <name> -`, the APK's bytes on the same stream.
    fn write_apk(&mut self, app: &AppItem, session: &str, apk: &ApkFile) -> Result<(), Step> {
        let size = apk.size.to_string();
        let args = ["install-write", "-S", &size, session, &apk.name, "-"];
        let mut socket = shell::open_service(
            self.server,
            self.serial,
            &self.route.service(&args),
            self.cancel,
        )
        .map_err(|err| self.fatal(err))?;
        let mut file = File::open(&apk.local).map_err(|source| backup_step(apk, source))?;
        let mut hasher = Sha256::new();
        let mut left = apk.size;
        let mut buffer = vec![0u8; CHUNK];
        while left > 0 {
            if self.cancel.is_cancelled() {
                return Err(Step::Fatal(RestoreError::Cancelled));
            }
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match file.read(&mut buffer[..want]) {
                Ok(0) => {
                    let short = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the APK became shorter after the restore started",
                    );
                    return Err(backup_step(apk, short));
                }
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(backup_step(apk, err)),
            };
            hasher.update(&buffer[..n]);
            if let Err(err) = socket.write_all(&buffer[..n]) {
                // The phone may have stopped reading to say why (no space, say).
                return Err(match read_answer(&mut socket) {
                    Ok(text) if text.contains("Failure") => refused(app, &text),
                    _ => self.fatal(err),
                });
            }
            left -= n as u64;
            self.report.add_bytes(n as u64);
        }
        if let Some(expected) = apk.sha256
            && hasher.finalize().as_slice() != expected
        {
            return Err(backup_step(
                apk,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "its checksum is not the one the backup recorded: it was damaged or changed",
                ),
            ));
        }
        let text = read_answer(&mut socket).map_err(|err| self.fatal(err))?;
        if text.trim_start().starts_with("Success") {
            Ok(())
        } else {
            Err(refused(app, &text))
        }
    }

    /// `install-abandon`; best effort, as the restore already has its error.
    fn abandon(&self, session: &str) {
        let service = self.route.service(&["install-abandon", session]);
        // Its own token: a cancelled restore still abandons its session.
        let quick = self
            .server
            .clone()
            .with_timeout(self.server.timeout().min(Duration::from_secs(5)));
        let cancel = CancelToken::new();
        let _ = shell::open_service(&quick, self.serial, &service, &cancel)
            .and_then(|mut socket| read_answer(&mut socket));
    }

    fn fatal(&self, err: DeviceError) -> Step {
        Step::Fatal(classify(err, self.cancel))
    }
}

/// A transport error as the restore's: a cancel, a stall, or the error itself (a phone
/// that is gone shows as the adb server's refusal or a closed connection).
fn classify(err: DeviceError, cancel: &CancelToken) -> RestoreError {
    if cancel.is_cancelled() || matches!(err, DeviceError::Cancelled) {
        return RestoreError::Cancelled;
    }
    match err {
        DeviceError::Timeout { after, .. } => RestoreError::Stalled { after },
        DeviceError::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            RestoreError::Stalled {
                after: Duration::ZERO,
            }
        }
        other => RestoreError::Device(other),
    }
}

fn backup_step(apk: &ApkFile, source: io::Error) -> Step {
    Step::Fatal(RestoreError::Backup {
        path: apk.local.clone(),
        source,
    })
}

/// The phone's refusal of `app`, sorted by its failure code.
fn refused(app: &AppItem, text: &str) -> Step {
    let phone_says = text.trim();
    let phone_says = if phone_says.is_empty() {
        "the phone ended the install without a word".to_string()
    } else {
        phone_says.lines().take(3).collect::<Vec<_>>().join(" ")
    };
    Step::Refused(FailedApp {
        package: app.package.clone(),
        failure: failure_code(&phone_says).map_or(InstallFailure::Other, InstallFailure::from_code),
        phone_says,
    })
}

/// `INSTALL_FAILED_OLDER_SDK` out of `Failure [INSTALL_FAILED_OLDER_SDK: Requires …]`.
fn failure_code(text: &str) -> Option<&str> {
    let inside = &text[text.find("Failure [")? + "Failure [".len()..];
    let end = inside.find([':', ']', ' ']).unwrap_or(inside.len());
    let code = &inside[..end];
    (!code.is_empty()).then_some(code)
}

/// `Success: created install session [1234]` → `1234`.
fn parse_session(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| l.starts_with("Success: created install session"))?;
    let id = &line[line.find('[')? + 1..line.rfind(']')?];
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// The phone's shell does not know the command this route runs.
fn route_unknown(text: &str) -> bool {
    text.contains("Can't find service")
        || text.contains("inaccessible or not found")
        || text.contains(": not found")
}

/// Reads the phone's answer up to the end of the stream.
fn read_answer(socket: &mut SmartSocket) -> Result<String, DeviceError> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read_some(&mut chunk)?;
        if n == 0 {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        if out.len() + n > MAX_ANSWER {
            return Err(socket.protocol(format!(
                "the package manager said more than {MAX_ANSWER} bytes"
            )));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Progress for the sink, at most every [`crate::restore::event::PROGRESS_EVERY`].
struct Reporter<'a> {
    sink: &'a Sink,
    progress: Progress,
    last: Option<Instant>,
}

impl<'a> Reporter<'a> {
    fn new(sink: &'a Sink, plan: &AppPlan) -> Reporter<'a> {
        Reporter {
            sink,
            progress: Progress {
                bytes_total: Some(plan.bytes_total()),
                files_total: Some(plan.apps.len() as u64),
                ..Progress::default()
            },
            last: None,
        }
    }

    fn set_current(&mut self, package: &str, apk: &str) {
        self.progress.current = Some(format!("{package} ({apk})"));
    }

    fn add_bytes(&mut self, n: u64) {
        self.progress.bytes_done = self.progress.bytes_done.saturating_add(n);
        self.sink
            .paced_progress(&self.progress, &mut self.last, false);
    }

    fn app_done(&mut self) {
        self.progress.files_done += 1;
        self.emit();
    }

    fn emit(&mut self) {
        self.sink
            .paced_progress(&self.progress, &mut self.last, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes_are_read_and_sorted() {
        let text = "Failure [INSTALL_FAILED_OLDER_SDK: Requires newer sdk version #34]";
        assert_eq!(failure_code(text), Some("INSTALL_FAILED_OLDER_SDK"));
        assert_eq!(
            failure_code("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]"),
            Some("INSTALL_FAILED_INSUFFICIENT_STORAGE")
        );
        assert_eq!(failure_code("Success"), None);
        assert_eq!(
            InstallFailure::from_code("INSTALL_FAILED_OLDER_SDK"),
            InstallFailure::Unsupported
        );
        assert_eq!(
            InstallFailure::from_code("INSTALL_PARSE_FAILED_NOT_APK"),
            InstallFailure::BadApk
        );
        assert_eq!(
            InstallFailure::from_code("INSTALL_FAILED_UPDATE_INCOMPATIBLE"),
            InstallFailure::Conflict
        );
        assert_eq!(
            InstallFailure::from_code("INSTALL_FAILED_INSUFFICIENT_STORAGE").code(),
            "app-install-no-space"
        );
        assert_eq!(
            InstallFailure::from_code("SOMETHING_NEW"),
            InstallFailure::Other
        );
    }

    #[test]
    fn sessions_and_routes() {
        assert_eq!(
            parse_session("Success: created install session [1234567890]\n").as_deref(),
            Some("1234567890")
        );
        assert_eq!(parse_session("Success: created install session []"), None);
        assert_eq!(parse_session("Failure [x]"), None);
        assert_eq!(
            Route::Abb.service(&["install-create", "-S", "10"]),
            ["abb_exec:package", "install-create", "-S", "10"].join("\0")
        );
        assert_eq!(
            Route::Cmd.service(&["install-commit", "7"]),
            "exec:cmd package install-commit 7"
        );
        assert_eq!(
            Route::Pm.service(&["install-commit", "7"]),
            "exec:pm install-commit 7"
        );
        assert_eq!(Route::first_for(&["cmd".into()]), Route::Cmd);
        assert_eq!(Route::first_for(&[]), Route::Pm);
        assert!(route_unknown("cmd: Can't find service: package\n"));
        assert!(route_unknown(
            "/system/bin/sh: cmd: inaccessible or not found\n"
        ));
    }

    #[test]
    fn odd_apk_names_get_plain_session_names() {
        assert_eq!(session_name("base.apk", 0), "base.apk");
        assert_eq!(
            session_name("split_config.arm64_v8a.apk", 1),
            "split_config.arm64_v8a.apk"
        );
        assert_eq!(session_name("my app.apk", 0), "base.apk");
        assert_eq!(session_name("-S.apk", 2), "split_2.apk");
        assert_eq!(session_name("a;rm.apk", 1), "split_1.apk");
    }
}
