//! One thing a check found, in words for a person, with what to do about it. The health
//! check and doctor both speak in findings, so the window and the command line show them
//! alike.

use serde::Serialize;

/// How much a finding matters. Ordered: the worst finding decides a grade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing needs doing.
    Info,
    /// Works, but worse than it could: slower, or at risk.
    Warning,
    /// Will fail or already fails until it is fixed.
    Problem,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code; `crate::explain` has its entry.
    pub code: &'static str,
    pub severity: Severity,
    /// What was found, specific to this phone or computer ("linked at 480 Mb/s").
    pub message: String,
    /// What to do about it, in plain words.
    pub fix: String,
}

impl Finding {
    pub fn new(
        code: &'static str,
        severity: Severity,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The worst severity among `findings`; None when there are none.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_finding_wins() {
        let info = Finding::new("a", Severity::Info, "m", "f");
        let problem = Finding::new("b", Severity::Problem, "m", "f");
        let warning = Finding::new("c", Severity::Warning, "m", "f");
        assert_eq!(worst(&[]), None);
        assert_eq!(worst(std::slice::from_ref(&info)), Some(Severity::Info));
        assert_eq!(worst(&[info, problem, warning]), Some(Severity::Problem));
    }
}
