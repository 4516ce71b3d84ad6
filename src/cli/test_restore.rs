//! `plugback test-restore PATH`: restores the backup into a simulated phone inside
//! Plugback and checks that every file arrived intact. Exit 0 everything intact, 1 not
//! (the report says what), 2 could not run.

use super::output::{outln, print_error, print_json};
use super::password::PasswordArgs;
use super::{EXIT_CANNOT_RUN, EXIT_OK, EXIT_PROBLEMS};
use crate::test_restore::{self, TestRestoreReport};
use plugback_core::cancel::CancelToken;
use plugback_core::explain;
use plugback_core::restore::Sink;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
iPhone backups restore into a simulated iPhone. Android backups restore into a simulated \
Android phone through a private adb server that Plugback starts and stops itself, so adb \
must be installed (on Debian and Ubuntu: sudo apt install adb). No real phone is touched \
and the backup is only read.

Exit status: 0 every file (and app) arrived intact, 1 something did not (the report names \
it), 2 the check could not run.")]
pub struct TestRestoreArgs {
    /// The backup: an iPhone backup folder, a Plugback Android backup folder, or an adb
    /// backup (.ab) file.
    pub path: PathBuf,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &TestRestoreArgs) -> i32 {
    let password = match args.password.read() {
        Ok(password) => password,
        Err(message) => {
            print_error("password-unreadable", &message);
            return EXIT_CANNOT_RUN;
        }
    };
    if !args.json {
        eprintln!("Restoring into a simulated phone inside Plugback (no real phone is touched)…");
    }
    let result = test_restore::run(
        &args.path,
        password.as_ref(),
        &Sink::discard(),
        &CancelToken::new(),
    );
    match result {
        Ok(report) => {
            if args.json {
                print_json(&serde_json::to_value(&report).unwrap_or_default());
            } else {
                print_report(&report);
            }
            if report.ok { EXIT_OK } else { EXIT_PROBLEMS }
        }
        Err(err) => {
            let code = err.code();
            if args.json {
                print_json(&json!({
                    "ok": false,
                    "error": {
                        "code": code,
                        "message": err.to_string(),
                        "fix": explain::explain(&code).map(|e| e.what_to_do),
                    },
                }));
            } else {
                print_error(&code, &err.to_string());
            }
            // A refusal by the phone, a backup that cannot be read or one that names
            // places outside itself is a finding about the backup; anything else means
            // the check could not run.
            match code.as_str() {
                c if c.starts_with("mb-") => EXIT_PROBLEMS,
                "restore-backup-unreadable" | "unsafe-path" => EXIT_PROBLEMS,
                _ => EXIT_CANNOT_RUN,
            }
        }
    }
}

fn print_report(report: &TestRestoreReport) {
    outln!("Compared: {}.", report.compared);
    if report.ok {
        outln!(
            "Every file arrived intact: {} of {}{} ({}). This backup restores.",
            report.files_intact,
            report.files_expected,
            apps_part(report),
            super::output::human_bytes(report.bytes)
        );
        return;
    }
    outln!(
        "{} of {} files arrived intact{}.",
        report.files_intact,
        report.files_expected,
        apps_part(report)
    );
    if let Some(said) = &report.phone_said {
        outln!("  the phone stopped the restore: {said}");
    }
    for (label, names) in [
        ("missing", &report.missing),
        ("different", &report.different),
        ("not in the backup", &report.unexpected),
        ("left out", &report.left_out),
    ] {
        for name in names {
            outln!("  {label}: {name}");
        }
    }
}

/// ", 2 of 2 apps installed" for a backup that reinstalls apps; nothing otherwise.
fn apps_part(report: &TestRestoreReport) -> String {
    if report.apps_expected == 0 {
        return String::new();
    }
    format!(
        ", {} of {} apps installed with the backup's APKs",
        report.apps_intact, report.apps_expected
    )
}
