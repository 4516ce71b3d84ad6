//! `plugback-sim android`: one simulated Android phone, an adbd over TCP.
//!
//! Prints `ready <address>` once listening (attach it with `adb connect <address>`); then
//! reads control lines on stdin (see `plugback_sim::control`) and answers each with one
//! `ok ...` or `error ...` line.

use super::phone_state::PhoneState;
use super::serve;
use anyhow::Context;
use plugback_sim::android::{AndroidConfig, AuthMode, SimAndroid};
use plugback_sim::fault::Fault;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum AuthArg {
    /// No "Allow USB debugging?" prompt (ro.adb.secure=0).
    None,
    /// Ask for a signature; unknown hosts wait for `auth accept` or `auth deny` on stdin.
    Prompt,
    /// The person taps Deny: no host is ever allowed.
    Deny,
}

#[derive(clap::Args)]
pub struct AndroidArgs {
    /// Where adbd listens, HOST:PORT (port 0 picks a free one outside 5554-5585).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The phone's folder: sdcard/ (shared storage), data/local/tmp/, data/app/,
    /// adb_keys and packages.json.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The serial number (ro.serialno).
    #[arg(long, value_name = "S")]
    serial: Option<String>,
    /// The model (ro.product.model).
    #[arg(long, value_name = "M")]
    model: Option<String>,
    /// The Android version (ro.build.version.release).
    #[arg(long = "android", value_name = "V")]
    android_version: Option<String>,
    /// The API level (ro.build.version.sdk).
    #[arg(long, value_name = "N")]
    sdk: Option<u32>,
    #[command(flatten)]
    state: PhoneState,
    /// How the phone answers "Allow USB debugging?".
    #[arg(long, value_name = "none|prompt|deny", default_value = "none")]
    auth: AuthArg,
    /// The features announced to hosts, comma-separated (default: those implemented).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// Accept every `adb restore` without waiting for `confirm-restore`.
    #[arg(long)]
    auto_confirm_restore: bool,
    /// The backup password an auto-confirmed restore types on the phone, for encrypted
    /// archives (with the control channel, type it after `confirm-restore` instead).
    #[arg(long, value_name = "PASSWORD", requires = "auto_confirm_restore")]
    restore_password: Option<String>,
    /// Cap stream data at this link speed, in Mbit/s (480 is USB 2).
    #[arg(long, value_name = "N")]
    link_mbps: Option<u32>,
    /// A fault to inject; repeatable. disconnect-after-bytes=N[,back-after-ms=M],
    /// stall-after-bytes=N,ms=M, flap=N, slow-mbps=N, revoke-auth-after-bytes=N,
    /// hostile=paths.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<Fault>,
}

pub fn main(args: AndroidArgs) -> ExitCode {
    serve::exit_code(run(args))
}

fn config(args: &AndroidArgs) -> anyhow::Result<AndroidConfig> {
    if let Some(fault) = args
        .faults
        .iter()
        .find(|f| matches!(f, Fault::DisconnectAtPercent { .. }))
    {
        anyhow::bail!("--fault {fault} applies to iPhones only; use disconnect-after-bytes");
    }
    let mut config = AndroidConfig::new(args.data.clone());
    if let Some(serial) = &args.serial {
        config.serial = serial.clone();
    }
    if let Some(model) = &args.model {
        config.model = model.clone();
    }
    if let Some(version) = &args.android_version {
        config.android_version = version.clone();
    }
    if let Some(sdk) = args.sdk {
        config.sdk = sdk;
    }
    config.battery_percent = args.state.battery;
    config.charging = args.state.charging;
    config.temperature_c = args.state.temperature;
    if let Some((free, total)) = args.state.storage(config.total_bytes) {
        config.free_bytes = free;
        config.total_bytes = total;
    }
    config.auth = match args.auth {
        AuthArg::None => AuthMode::None,
        AuthArg::Prompt => AuthMode::Prompt,
        AuthArg::Deny => AuthMode::Deny,
    };
    if let Some(features) = &args.features {
        config.features = features
            .iter()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
    }
    config.auto_confirm_restore = args.auto_confirm_restore;
    config.restore_password = args.restore_password.clone();
    config.link_mbps = args.link_mbps;
    config.faults = args.faults.clone();
    Ok(config)
}

fn run(args: AndroidArgs) -> anyhow::Result<()> {
    let config = config(&args)?;
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create {}", args.data.display()))?;
    let phone = SimAndroid::start(config, args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    serve::obey_stdin(phone.address(), |command| phone.control(command))?;
    drop(phone);
    Ok(())
}
