//! `plugback pair DEVICE`: pairs this computer with an iPhone through its "Trust This
//! Computer?" prompt, printing each state with what to do. Exit 0 paired, 1 denied, locked
//! or timed out, 2 could not run (no usbmuxd, no such phone, bad arguments).

use super::output::{outln, print_error, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK, EXIT_PROBLEMS};
use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, PairOutcome, Usbmuxd};
use plugback_core::device::{DeviceError, snapshot};
use serde_json::json;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct PairArgs {
    /// The iPhone's UDID, or the start of it when that is unique.
    pub device: String,
    /// Print one JSON document with the final outcome (states go to standard error).
    #[arg(long)]
    pub json: bool,
    /// Stop waiting for the Trust prompt after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

pub fn run(args: &PairArgs) -> i32 {
    let cancel = CancelToken::new();
    let mux = match Usbmuxd::from_env() {
        Ok(mux) => mux,
        Err(err) => return cannot_run(args, None, &err),
    };
    let udid = match ios::block_on(resolve(&mux, &args.device, &cancel)) {
        Ok(udid) => udid,
        Err(err) => return cannot_run(args, None, &err),
    };
    let json = args.json;
    let show = |outcome: PairOutcome| {
        if json {
            eprintln!("{}", outcome.guidance());
        } else {
            outln!("{}", outcome.guidance());
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    match ios::block_on(ios::pair(&mux, &udid, timeout, &cancel, show)) {
        Ok(outcome) => {
            if json {
                print_json(&json!({
                    "device": udid,
                    "outcome": outcome,
                    "state": outcome.code(),
                    "message": outcome.guidance(),
                }));
            }
            if outcome == PairOutcome::Paired {
                EXIT_OK
            } else {
                EXIT_PROBLEMS
            }
        }
        Err(err @ DeviceError::Timeout { .. }) => {
            if json {
                print_json(&json!({
                    "device": udid,
                    "outcome": "timeout",
                    "state": PairOutcome::TrustPending.code(),
                    "error": {"code": err.code(), "message": err.to_string()},
                }));
            } else {
                print_error(err.code(), &err.to_string());
            }
            EXIT_PROBLEMS
        }
        Err(err) => cannot_run(args, Some(&udid), &err),
    }
}

fn cannot_run(args: &PairArgs, udid: Option<&str>, err: &DeviceError) -> i32 {
    if args.json {
        print_json(&json!({
            "device": udid.unwrap_or(&args.device),
            "outcome": "error",
            "error": {"code": err.code(), "message": err.to_string()},
        }));
    } else {
        print_error(err.code(), &err.to_string());
    }
    EXIT_CANNOT_RUN
}

/// The UDID `wanted` names: itself, or the one plugged-in iPhone whose UDID starts with it.
async fn resolve(mux: &Usbmuxd, wanted: &str, cancel: &CancelToken) -> Result<String, DeviceError> {
    let phones = ios::list(mux, cancel).await?;
    Ok(snapshot::pick(&phones, wanted)?.id.clone())
}
