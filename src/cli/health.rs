//! `plugback health DEVICE [--json]`: how good the cable, port and link are for a restore,
//! graded good, fair or poor, with what to do. Exit 0 good or fair, 1 poor, 2 could not run.

use super::output::{outln, print_error, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK, EXIT_PROBLEMS};
use plugback_core::cancel::CancelToken;
use plugback_core::device::health::{self, CheckOptions, Grade, HealthReport, ProbePlan};
use plugback_core::device::snapshot::{self, Sources};
use plugback_core::device::{DeviceError, Platform};
use plugback_core::finding::Severity;
use serde_json::json;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct HealthArgs {
    /// The phone: its UDID or serial, or the start of it when that is unique.
    pub device: String,
    /// Print one JSON document: grade, findings and the measured figures.
    #[arg(long)]
    pub json: bool,
    /// Size of the test file written to the phone and read back, in MB.
    #[arg(long, value_name = "MB", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub probe_mb: u64,
    /// Watch the phone for disconnections for at least this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub observe: u64,
}

pub fn run(args: &HealthArgs) -> i32 {
    let cancel = CancelToken::new();
    let snap = snapshot::snapshot(&Sources::from_env(), &cancel);
    let device = match snapshot::pick(&snap.devices, &args.device) {
        Ok(device) => device.clone(),
        Err(err) => {
            // A missing service is the likelier reason a phone is not found: say it too.
            for (_, why) in &snap.unavailable {
                print_error(why.code(), &why.to_string());
            }
            return cannot_run(args, &err);
        }
    };
    let options = CheckOptions {
        plan: ProbePlan {
            payload_bytes: args.probe_mb * 1_000_000,
            ..ProbePlan::default()
        },
        observe: Duration::from_secs(args.observe),
        history: None,
    };
    eprintln!(
        "Checking the connection to {} (about {} s; keep the phone plugged in)…",
        device.name.as_deref().unwrap_or(&device.id),
        args.observe
    );
    let report = match health::check(Sources::from_env(), device, &options, &cancel) {
        Ok(report) => report,
        Err(err) => return cannot_run(args, &err),
    };
    if args.json {
        print_json(&report.to_json());
    } else {
        print_report(&report);
    }
    match report.grade {
        Grade::Good | Grade::Fair => EXIT_OK,
        Grade::Poor => EXIT_PROBLEMS,
    }
}

fn cannot_run(args: &HealthArgs, err: &DeviceError) -> i32 {
    if args.json {
        print_json(&json!({
            "device": args.device,
            "error": {"code": err.code(), "message": err.to_string()},
        }));
    } else {
        print_error(err.code(), &err.to_string());
    }
    EXIT_CANNOT_RUN
}

fn print_report(report: &HealthReport) {
    let d = &report.device;
    let platform = match d.platform {
        Platform::Ios => "iPhone",
        Platform::Android => "Android",
    };
    let grade = match report.grade {
        Grade::Good => "GOOD",
        Grade::Fair => "FAIR",
        Grade::Poor => "POOR",
    };
    outln!(
        "{} ({platform}, {}): connection {grade}",
        d.name.as_deref().or(d.model.as_deref()).unwrap_or(&d.id),
        d.id
    );
    outln!("  Link:     {}", link_line(report));
    outln!(
        "  Drops:    {} in the last {} s",
        match report.flaps.detaches {
            0 => "none".to_owned(),
            1 => "1 disconnection".to_owned(),
            n => format!("{n} disconnections"),
        },
        report.flaps.window.as_secs()
    );
    if let Some(probe) = &report.probe {
        if let (Some(p50), Some(p99)) = (probe.latency(0.5), probe.latency(0.99)) {
            outln!(
                "  Replies:  median {:.1} ms, slowest 1% {:.1} ms ({} requests)",
                p50.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0,
                probe.round_trips.len()
            );
        }
        let rate = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{r:.1} MB/s"));
        outln!(
            "  Transfer: {} MB test file: {} to the phone, {} back{}{}",
            probe.payload_bytes / 1_000_000,
            rate(probe.write_mb_per_s()),
            rate(probe.read_mb_per_s()),
            match probe.intact {
                Some(true) => ", intact",
                Some(false) => ", DAMAGED",
                None => "",
            },
            if probe.cleaned_up {
                "; removed again"
            } else {
                "; could not be removed"
            }
        );
    }
    if report.findings.is_empty() {
        outln!("Nothing to fix: this connection is fit for a restore.");
    }
    for finding in &report.findings {
        let label = match finding.severity {
            Severity::Info => "note",
            Severity::Warning => "warning",
            Severity::Problem => "problem",
        };
        outln!("{label}: {}", finding.message);
        outln!("    Fix: {}", finding.fix);
    }
}

fn link_line(report: &HealthReport) -> String {
    let link = &report.device.link;
    let mut parts = vec![match link.speed_mbps {
        Some(speed) => format!("{speed} Mb/s"),
        None => "speed unknown".to_owned(),
    }];
    if let Some(best) = report.best_link_mbps {
        parts.push(format!("this phone can do {best} Mb/s"));
    }
    parts.push(
        match link.via_hub {
            Some(true) => "through a hub",
            Some(false) => "directly on the computer",
            None if !report.usb_visible => "USB not visible on this computer",
            None => "port unknown",
        }
        .to_owned(),
    );
    parts.join(", ")
}
