//! `plugback diagnostics --out FILE`: one redacted zip to send when asking for help: the
//! job logs, the doctor's report and what Plugback is, naming no phone, person or folder
//! and holding no password or key.

use super::output::{outln, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK};
use plugback_core::cancel::CancelToken;
use plugback_core::diagnostics::{self, DiagnosticsInputs};
use plugback_core::{doctor, explain};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DiagnosticsArgs {
    /// Where to write the zip.
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON document instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &DiagnosticsArgs) -> i32 {
    let inputs = DiagnosticsInputs {
        log_dir: plugback_core::settings::data_dir().map(|d| d.join("logs")),
        doctor: Some(doctor::run(
            &super::doctor::environment(),
            &CancelToken::new(),
        )),
        version: crate::build_info::VERSION_LINE.to_owned(),
        home: directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()),
    };
    match diagnostics::export(&args.out, &inputs) {
        Ok(summary) => {
            if args.json {
                print_json(&json!({
                    "ok": true,
                    "file": args.out,
                    "logs": summary.logs,
                    "lines_left_out": summary.lines_left_out,
                    "phones": summary.phones_pseudonymised,
                }));
            } else {
                outln!(
                    "Wrote {}: {} job log{}, the doctor's report and Plugback's version. Phones are numbered, names and your home folder hidden, and no password or key is in it: send this file when you ask for help.",
                    args.out.display(),
                    summary.logs,
                    if summary.logs == 1 { "" } else { "s" }
                );
            }
            EXIT_OK
        }
        Err(err) => {
            let fix = explain::explain(err.code()).map(|e| e.what_to_do);
            if args.json {
                print_json(&json!({
                    "ok": false,
                    "error": {"code": err.code(), "message": err.to_string(), "fix": fix},
                }));
            } else {
                eprintln!("{err}");
                if let Some(fix) = fix {
                    eprintln!("{fix}");
                }
            }
            EXIT_CANNOT_RUN
        }
    }
}
