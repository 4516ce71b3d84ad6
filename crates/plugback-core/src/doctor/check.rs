//! One line of doctor's report: what was checked, how it went, and, when it did not go
//! well, the finding with its fix.

use crate::finding::{Finding, Severity};
use serde::Serialize;

/// How one check went. `Info` is for what could not be checked here or needs nothing
/// (no USB view in a container): neither a pass nor a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Info,
    Warning,
    Problem,
}

impl CheckStatus {
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Info => "info",
            CheckStatus::Warning => "warning",
            CheckStatus::Problem => "problem",
        }
    }

    fn of(severity: Severity) -> CheckStatus {
        match severity {
            Severity::Info => CheckStatus::Info,
            Severity::Warning => CheckStatus::Warning,
            Severity::Problem => CheckStatus::Problem,
        }
    }

    fn severity(self) -> Option<Severity> {
        match self {
            CheckStatus::Ok => None,
            CheckStatus::Info => Some(Severity::Info),
            CheckStatus::Warning => Some(Severity::Warning),
            CheckStatus::Problem => Some(Severity::Problem),
        }
    }
}

/// One thing doctor looked at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id of the check, for scripts: "usbmuxd-running".
    pub id: &'static str,
    /// For people: "usbmuxd running".
    pub name: &'static str,
    pub status: CheckStatus,
    /// What was found: a path, a version, why not.
    pub detail: String,
    /// The finding's code (`crate::explain` has it) when the status is not ok.
    pub code: Option<&'static str>,
    /// What to do, when the status is not ok.
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(id: &'static str, name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            name,
            status: CheckStatus::Ok,
            detail: detail.into(),
            code: None,
            fix: None,
        }
    }

    /// A check that did not pass: `finding` gives its status, detail, code and fix.
    pub fn found(id: &'static str, name: &'static str, finding: Finding) -> Check {
        Check {
            id,
            name,
            status: CheckStatus::of(finding.severity),
            detail: finding.message,
            code: Some(finding.code),
            fix: Some(finding.fix),
        }
    }

    /// The finding behind a check that did not pass.
    pub fn finding(&self) -> Option<Finding> {
        let severity = self.status.severity()?;
        Some(Finding::new(
            self.code.unwrap_or("doctor"),
            severity,
            self.detail.clone(),
            self.fix.clone().unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_check_has_no_finding_and_a_failing_one_keeps_its_own() {
        assert_eq!(Check::ok("a", "A", "fine").finding(), None);
        let finding = Finding::new("doctor-x", Severity::Warning, "found", "do this");
        let check = Check::found("b", "B", finding.clone());
        assert_eq!(check.status, CheckStatus::Warning);
        assert_eq!(check.finding(), Some(finding));
    }
}
