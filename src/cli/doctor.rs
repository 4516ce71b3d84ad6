//! `plugback doctor [--json]`: what this computer needs for phones (usbmuxd, adb, USB
//! access, sleep, notifications), each finding with its fix.

use super::output::{outln, print_json};
use super::{EXIT_OK, EXIT_PROBLEMS};
use plugback_core::cancel::CancelToken;
use plugback_core::doctor::{self, CheckStatus, DoctorEnv, DoctorReport};
use serde_json::json;

/// Replaces the system program folders (/usr/sbin, /sbin …) that doctor searches for
/// usbmuxd, in PATH syntax; empty means none. For tests and unusual installs.
const SYSTEM_PROGRAM_DIRS_VARIABLE: &str = "PLUGBACK_DOCTOR_SBIN";

#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Print one JSON document instead of a line per check.
    #[arg(long)]
    pub json: bool,
}

/// What doctor looks at on this computer (with the override for tests).
pub fn environment() -> DoctorEnv {
    let mut env = DoctorEnv::from_system();
    if let Some(dirs) = std::env::var_os(SYSTEM_PROGRAM_DIRS_VARIABLE) {
        env.system_program_dirs = std::env::split_paths(&dirs)
            .filter(|dir| !dir.as_os_str().is_empty())
            .collect();
    }
    env
}

pub fn run(args: &DoctorArgs) -> i32 {
    let report = doctor::run(&environment(), &CancelToken::new());
    if args.json {
        print_json(&json!({
            "os": report.os,
            "ok": !report.has_problems(),
            "worst": report.worst(),
            "checks": report.checks,
            "findings": report.findings,
        }));
    } else {
        print_human(&report);
    }
    if report.has_problems() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    }
}

fn print_human(report: &DoctorReport) {
    for check in &report.checks {
        outln!(
            "{:<8} {}: {}",
            check.status.name(),
            check.name,
            check.detail
        );
        if check.status != CheckStatus::Ok
            && let Some(fix) = &check.fix
        {
            outln!("         fix: {fix}");
        }
    }
    let count = |status: CheckStatus| report.checks.iter().filter(|c| c.status == status).count();
    let (problems, warnings) = (count(CheckStatus::Problem), count(CheckStatus::Warning));
    outln!();
    if problems == 0 && warnings == 0 {
        outln!("This computer has what Plugback needs for phones.");
    } else {
        outln!(
            "{problems} problem{}, {warnings} warning{}.",
            if problems == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
    }
}
