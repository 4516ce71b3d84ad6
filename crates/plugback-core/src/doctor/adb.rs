//! Android's adb: the program is on the PATH, it runs (`adb version`), and its server
//! answers on the port Plugback uses. Doctor never starts a server; Plugback does that
//! itself when it needs one.

use super::bounded::run_program;
use super::{Check, DoctorEnv, stopped};
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::AdbServer;
use crate::finding::{Finding, Severity};
use crate::program::find_program;
use std::io::ErrorKind;
use std::path::PathBuf;

const PROGRAM: (&str, &str) = ("adb-installed", "adb installed");
const VERSION: (&str, &str) = ("adb-version", "adb version");
const SERVER: (&str, &str) = ("adb-server", "adb server");

/// What `adb version` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdbVersion {
    /// "Android Debug Bridge version 1.0.41".
    pub first_line: String,
    /// The protocol number at the end of the first line (41), which the server reports
    /// as its `host:version`.
    pub protocol: Option<u32>,
    /// The release from the "Version 29.0.6-debian" line.
    pub release: Option<String>,
}

impl AdbVersion {
    fn describe(&self) -> String {
        match &self.release {
            Some(release) => format!("{}, release {release}", self.first_line),
            None => self.first_line.clone(),
        }
    }
}

/// Reads `adb version`'s output; None when it is not adb's.
pub fn parse_version(output: &str) -> Option<AdbVersion> {
    let mut lines = output.lines().map(str::trim).filter(|l| !l.is_empty());
    let first_line = lines.next()?;
    if !first_line.starts_with("Android Debug Bridge") {
        return None;
    }
    let protocol = first_line
        .rsplit(|c: char| c == '.' || c.is_whitespace())
        .next()
        .and_then(|last| last.parse().ok());
    let release = lines
        .find_map(|line| line.strip_prefix("Version "))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    Some(AdbVersion {
        first_line: first_line.to_owned(),
        protocol,
        release,
    })
}

/// The adb checks: program, version (when there is a program), server.
pub fn check(env: &DoctorEnv, cancel: &CancelToken) -> Vec<Check> {
    let name = if cfg!(windows) { "adb.exe" } else { "adb" };
    // Only the PATH, as Plugback itself looks for adb only there.
    let program = find_program(name, env.path.as_deref(), &[]);
    let server = AdbServer::new(env.adb_port).with_timeout(env.probe_timeout);
    let answer = server.version(cancel);
    let mut checks = vec![program_check(&program, answer.is_ok())];
    let mut client_protocol = None;
    if let Some(adb) = &program {
        let (check, version) = version_check(adb, env, cancel);
        client_protocol = version.and_then(|v| v.protocol);
        checks.push(check);
    }
    checks.push(server_check(
        &server,
        answer,
        program.is_some(),
        client_protocol,
    ));
    checks
}

fn program_check(program: &Option<PathBuf>, server_answers: bool) -> Check {
    let (id, name) = PROGRAM;
    match program {
        Some(path) => Check::ok(id, name, path.display().to_string()),
        None => Check::found(
            id,
            name,
            Finding::new(
                "doctor-adb-missing",
                // A server started by another copy of adb still serves phones today, but
                // Plugback could not start it again.
                if server_answers {
                    Severity::Warning
                } else {
                    Severity::Problem
                },
                "no adb program on the PATH",
                install_advice(),
            ),
        ),
    }
}

fn version_check(
    adb: &std::path::Path,
    env: &DoctorEnv,
    cancel: &CancelToken,
) -> (Check, Option<AdbVersion>) {
    let (id, name) = VERSION;
    match run_program(adb, &["version"], env.program_timeout, cancel) {
        Ok(output) => match parse_version(&output) {
            Some(version) => (Check::ok(id, name, version.describe()), Some(version)),
            None => (
                unusable(adb, "it does not answer as adb does".to_owned()),
                None,
            ),
        },
        Err(_) if cancel.is_cancelled() => (stopped(id, name), None),
        Err(why) => (unusable(adb, why), None),
    }
}

fn unusable(adb: &std::path::Path, why: String) -> Check {
    Check::found(
        VERSION.0,
        VERSION.1,
        Finding::new(
            "doctor-adb-unusable",
            Severity::Problem,
            format!("`{} version` failed: {why}", adb.display()),
            format!(
                "Reinstall adb, or put a working adb first on the PATH. {}",
                install_advice()
            ),
        ),
    )
}

fn server_check(
    server: &AdbServer,
    answer: Result<u32, DeviceError>,
    have_adb: bool,
    client_protocol: Option<u32>,
) -> Check {
    let (id, name) = SERVER;
    let address = server.address();
    match answer {
        Ok(version) => match client_protocol {
            Some(client) if client != version => Check::found(
                id,
                name,
                Finding::new(
                    "doctor-adb-version-mismatch",
                    Severity::Warning,
                    format!(
                        "the server on {address} speaks protocol {version}, the adb on the \
                         PATH {client}: the next adb command restarts the server, which drops \
                         connected phones for a moment"
                    ),
                    "Use one adb: run `adb kill-server`, then plug the phone in again, so \
                     the adb on the PATH starts its own server. Remove other copies of adb \
                     (from old SDKs or phone tools) if it keeps happening.",
                ),
            ),
            _ => Check::ok(
                id,
                name,
                format!("answers on {address}, protocol version {version}"),
            ),
        },
        Err(DeviceError::Cancelled) => stopped(id, name),
        Err(DeviceError::Io(e)) if e.kind() == ErrorKind::ConnectionRefused => {
            let (severity, fix) = if have_adb {
                (
                    Severity::Info,
                    "Nothing is needed: Plugback starts the adb server when it looks for \
                     Android phones. To start it now, run `adb start-server`."
                        .to_owned(),
                )
            } else {
                (
                    Severity::Warning,
                    format!("Nothing can start it without adb. {}", install_advice()),
                )
            };
            Check::found(
                id,
                name,
                Finding::new(
                    "doctor-adb-server-down",
                    severity,
                    format!("nothing listens on {address}"),
                    fix,
                ),
            )
        }
        Err(e) => Check::found(
            id,
            name,
            Finding::new(
                "doctor-adb-server-unreachable",
                Severity::Problem,
                format!(
                    "port {} does not answer as an adb server: {e}",
                    server.port()
                ),
                format!(
                    "Run `adb kill-server` and then `adb start-server`. If another program \
                     uses port {}, stop it, or choose another port for adb and Plugback with \
                     ANDROID_ADB_SERVER_PORT.",
                    server.port()
                ),
            ),
        ),
    }
}

/// How to install adb on this system.
fn install_advice() -> String {
    if cfg!(windows) {
        "Download Google's SDK Platform-Tools for Windows, unzip it, and add its folder to \
         the PATH."
    } else if cfg!(target_os = "macos") {
        "Install Google's platform tools: `brew install android-platform-tools`, or download \
         SDK Platform-Tools and add its folder to the PATH."
    } else {
        "Install adb: `sudo apt install adb` on Debian and Ubuntu (android-tools on Fedora \
         and Arch), and make sure it is on the PATH."
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_adb_version() {
        let out = "Android Debug Bridge version 1.0.41\nVersion 29.0.6-debian\n\
                   Installed as /usr/lib/android-sdk/platform-tools/adb\n";
        assert_eq!(
            parse_version(out),
            Some(AdbVersion {
                first_line: "Android Debug Bridge version 1.0.41".into(),
                protocol: Some(41),
                release: Some("29.0.6-debian".into()),
            })
        );
    }

    #[test]
    fn platform_tools_adb_version_with_more_lines() {
        let out = "Android Debug Bridge version 1.0.41\r\nVersion 35.0.2-12147458\r\n\
                   Installed as /opt/platform-tools/adb\r\nRunning on Linux 6.1.0 (x86_64)\r\n";
        let version = parse_version(out).unwrap();
        assert_eq!(version.protocol, Some(41));
        assert_eq!(version.release.as_deref(), Some("35.0.2-12147458"));
        assert_eq!(
            version.describe(),
            "Android Debug Bridge version 1.0.41, release 35.0.2-12147458"
        );
    }

    #[test]
    fn other_output_is_not_adb() {
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("adb: command not found"), None);
        let odd = parse_version("Android Debug Bridge\n").unwrap();
        assert_eq!(odd.protocol, None);
        assert_eq!(odd.release, None);
    }

    #[test]
    fn a_refused_port_is_a_down_server_whose_fix_depends_on_adb() {
        let server = AdbServer::new(1);
        let refused = || Err(DeviceError::Io(ErrorKind::ConnectionRefused.into()));
        let with_adb = server_check(&server, refused(), true, None);
        assert_eq!(with_adb.code, Some("doctor-adb-server-down"));
        assert_eq!(with_adb.status, super::super::CheckStatus::Info);
        let without = server_check(&server, refused(), false, None);
        assert_eq!(without.status, super::super::CheckStatus::Warning);
        assert!(without.fix.unwrap().contains("Nothing can start it"));
    }

    #[test]
    fn a_server_of_another_protocol_is_a_warning() {
        let server = AdbServer::new(5037);
        let same = server_check(&server, Ok(41), true, Some(41));
        assert_eq!(same.code, None);
        assert!(
            same.detail.contains("protocol version 41"),
            "{}",
            same.detail
        );
        let other = server_check(&server, Ok(40), true, Some(41));
        assert_eq!(other.code, Some("doctor-adb-version-mismatch"));
    }
}
