//! `plugback verify PATH`: exit 0 no errors (warnings allowed), 1 errors found, 2 could
//! not run. `--json` prints one document for scripts.

use super::output::{human_bytes, outln, print_error, print_json};
use super::password::PasswordArgs;
use super::{EXIT_CANNOT_RUN, EXIT_OK, EXIT_PROBLEMS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plugback_core::backup::verify::{
    self, ProgressReporter, Severity, VerifyOptions, VerifyProgress, VerifyReport,
};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The backup folder (iPhone, Plugback Android) or .ab file.
    pub path: PathBuf,
    /// Read and decrypt every file, not only the file list.
    #[arg(long)]
    pub deep: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &VerifyArgs) -> i32 {
    let password = match args.password.read() {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_CANNOT_RUN;
        }
    };
    let options = if args.deep {
        VerifyOptions::deep()
    } else {
        VerifyOptions::quick()
    }
    .with_password(password);

    let bar = progress_bar(args.json);
    let observer = |p: &VerifyProgress| update_bar(&bar, p);
    let reporter = ProgressReporter::new(Some(&observer));
    let result = verify::verify(&args.path, &options, &reporter);
    bar.finish_and_clear();

    match result {
        Ok(report) => {
            if args.json {
                print_json(&report_json(&report));
            } else {
                print_report(&report);
            }
            if report.ok() { EXIT_OK } else { EXIT_PROBLEMS }
        }
        Err(err) => {
            if args.json {
                print_json(&json!({
                    "ok": false,
                    "error": {"code": err.code(), "message": err.to_string()},
                }));
            }
            print_error(err.code(), &err.to_string());
            EXIT_CANNOT_RUN
        }
    }
}

/// A bar on a terminal; nothing at all when output goes to a pipe or a file, or with --json.
fn progress_bar(json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

fn update_bar(bar: &ProgressBar, p: &VerifyProgress) {
    if bar.is_hidden() {
        return;
    }
    bar.set_length(p.bytes_total.max(1));
    bar.set_position(p.bytes_done);
    bar.set_message(format!(
        "{}/{} files  {}",
        p.files_done, p.files_total, p.current
    ));
}

fn report_json(report: &VerifyReport) -> serde_json::Value {
    json!({
        "ok": report.ok(),
        "kind": report.kind,
        "depth": report.depth,
        "problems": report.problems,
        "stats": report.stats,
    })
}

fn print_report(report: &VerifyReport) {
    let stats = &report.stats;
    let errors = count(report, Severity::Error);
    let warnings = count(report, Severity::Warning);
    for p in &report.problems {
        let label = match p.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
        };
        if p.path.is_empty() {
            outln!("{label} [{}] {}", p.code.as_str(), p.message);
        } else {
            outln!("{label} [{}] {}: {}", p.code.as_str(), p.path, p.message);
        }
    }
    let depth = match report.depth {
        verify::Depth::Quick => "Quick check",
        verify::Depth::Deep => "Deep check",
    };
    let read = if stats.bytes_read > 0 {
        format!(", read {}", human_bytes(stats.bytes_read))
    } else {
        String::new()
    };
    let verdict = match (errors, warnings) {
        (0, 0) => "no problems found.".to_owned(),
        (0, w) => format!("no errors, {w} warning(s)."),
        (e, w) => format!("{e} error(s), {w} warning(s). Run `plugback explain CODE` for help."),
    };
    outln!(
        "{depth} of {} ({} files{read}, {:.1} s): {verdict}",
        report.kind.as_str(),
        stats.files_expected,
        stats.elapsed_ms as f64 / 1000.0
    );
}

fn count(report: &VerifyReport, severity: Severity) -> usize {
    report
        .problems
        .iter()
        .filter(|p| p.severity == severity)
        .count()
}
