//! First run: what this computer lacks before a phone can be seen (usbmuxd for iPhones,
//! adb for Android phones, and on Linux the USB rules that let them be reached), taken
//! from the doctor's report with the exact commands its fixes name. Pure logic.

use super::state::{Failure, Job};
use plugback_core::doctor::{CheckStatus, DoctorReport};

/// Doctor's finding codes that stop phones from being seen at all.
const BLOCKING_CODES: [&str; 3] = [
    "doctor-usbmuxd-missing",
    "doctor-adb-missing",
    "doctor-udev-rules-missing",
];

/// One thing to install, as the "Before you plug in a phone" card shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// What is missing, in a few words.
    pub what: String,
    /// What doctor found.
    pub detail: String,
    /// What to do, as doctor words it.
    pub fix: String,
    /// The commands the fix names, to copy as they are.
    pub commands: Vec<String>,
}

/// The first-run check of this computer.
#[derive(Debug, Default)]
pub enum FirstRun {
    /// Not asked for (tests, or already done in another way).
    #[default]
    NotRun,
    Checking,
    Done {
        report: Box<DoctorReport>,
        missing: Vec<Missing>,
    },
    /// Doctor could not run: nothing is said, as nothing is known to be missing.
    Failed(Failure),
}

impl FirstRun {
    /// Starts the check once.
    pub fn start(&mut self) -> Vec<Job> {
        if !matches!(self, FirstRun::NotRun) {
            return Vec::new();
        }
        *self = FirstRun::Checking;
        vec![Job::RunDoctor]
    }

    pub fn finished(&mut self, result: Result<Box<DoctorReport>, Failure>) {
        *self = match result {
            Ok(report) => FirstRun::Done {
                missing: missing(&report),
                report,
            },
            Err(failure) => FirstRun::Failed(failure),
        };
    }

    /// What to show on the card; empty when all is well or not known.
    pub fn missing(&self) -> &[Missing] {
        match self {
            FirstRun::Done { missing, .. } => missing,
            _ => &[],
        }
    }

    /// The doctor's report, for Export diagnostics.
    pub fn report(&self) -> Option<&DoctorReport> {
        match self {
            FirstRun::Done { report, .. } => Some(report),
            _ => None,
        }
    }
}

/// What stops phones from being seen, from doctor's report. Only warnings and problems:
/// an "info" (no udev in a container, the system's usbmuxd not needed) asks for nothing.
pub fn missing(report: &DoctorReport) -> Vec<Missing> {
    report
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Warning | CheckStatus::Problem))
        .filter_map(|check| {
            let code = check.code.filter(|code| BLOCKING_CODES.contains(code))?;
            let fix = check.fix.clone().unwrap_or_default();
            Some(Missing {
                what: what(code, check.id).to_owned(),
                detail: check.detail.clone(),
                commands: commands(&fix),
                fix,
            })
        })
        .collect()
}

fn what(code: &str, check_id: &str) -> &'static str {
    match (code, check_id) {
        ("doctor-usbmuxd-missing", _) => "The iPhone service (usbmuxd) is not installed",
        ("doctor-adb-missing", _) => "Android's adb program is not installed",
        (_, "udev-iphone-rules") => "The USB rule for iPhones is missing",
        _ => "The USB rules for Android phones are missing",
    }
}

/// The commands quoted in `fix` (between backticks), each once.
pub fn commands(fix: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let pieces: Vec<&str> = fix.split('`').collect();
    // Quoted text sits between the odd and even backticks: every second piece, but not
    // the text after a backtick that is never closed.
    let closed = pieces.len() - usize::from(pieces.len().is_multiple_of(2));
    for piece in pieces[..closed].iter().skip(1).step_by(2) {
        let command = piece.trim();
        if !command.is_empty() && !found.iter().any(|c| c == command) {
            found.push(command.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::doctor::Check;
    use plugback_core::finding::{Finding, Severity};

    fn report(checks: Vec<Check>) -> DoctorReport {
        let findings = checks.iter().filter_map(Check::finding).collect();
        DoctorReport {
            os: "linux",
            checks,
            findings,
        }
    }

    fn found(id: &'static str, code: &'static str, severity: Severity, fix: &str) -> Check {
        Check::found(
            id,
            "name",
            Finding::new(code, severity, format!("{id} found"), fix),
        )
    }

    #[test]
    fn missing_services_and_rules_become_lines_with_their_commands() {
        let report = report(vec![
            found(
                "usbmuxd-installed",
                "doctor-usbmuxd-missing",
                Severity::Problem,
                "Install it: `sudo apt install usbmuxd`, then plug the iPhone in.",
            ),
            found(
                "adb-installed",
                "doctor-adb-missing",
                Severity::Problem,
                "Install adb: `sudo apt install adb` on Debian and Ubuntu.",
            ),
            found(
                "udev-android-rules",
                "doctor-udev-rules-missing",
                Severity::Warning,
                "Install the rules: `sudo apt install android-sdk-platform-tools-common` or \
                 `sudo apt install android-sdk-platform-tools-common` again.",
            ),
            // Nothing to do here: only worth knowing, or not about seeing phones at all.
            found(
                "udev-iphone-rules",
                "doctor-udev-rules-missing",
                Severity::Info,
                "Nothing is needed inside a container.",
            ),
            found(
                "sleep",
                "doctor-no-sleep-inhibit",
                Severity::Warning,
                "`systemctl`",
            ),
            Check::ok("usbmuxd-running", "usbmuxd running", "pid 1"),
        ]);
        let lines = missing(&report);
        let whats: Vec<&str> = lines.iter().map(|m| m.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "The iPhone service (usbmuxd) is not installed",
                "Android's adb program is not installed",
                "The USB rules for Android phones are missing"
            ]
        );
        assert_eq!(lines[0].commands, ["sudo apt install usbmuxd"]);
        assert_eq!(lines[0].detail, "usbmuxd-installed found");
        assert!(lines[1].fix.starts_with("Install adb:"));
        assert_eq!(
            lines[2].commands,
            ["sudo apt install android-sdk-platform-tools-common"],
            "each command once"
        );
    }

    #[test]
    fn a_computer_with_everything_gets_no_card() {
        let all_well = report(vec![
            Check::ok(
                "usbmuxd-installed",
                "usbmuxd installed",
                "/usr/sbin/usbmuxd",
            ),
            Check::ok("adb-installed", "adb installed", "/usr/bin/adb"),
        ]);
        assert!(missing(&all_well).is_empty());
        let mut first_run = FirstRun::default();
        assert!(matches!(first_run.start().as_slice(), [Job::RunDoctor]));
        assert!(first_run.start().is_empty(), "once");
        first_run.finished(Ok(Box::new(all_well)));
        assert!(first_run.missing().is_empty());
        assert!(first_run.report().is_some());
    }

    #[test]
    fn commands_are_the_quoted_parts_only() {
        assert_eq!(commands("Run `a b` then `c`; an odd ` stays"), ["a b", "c"]);
        assert!(commands("No command here.").is_empty());
    }
}
