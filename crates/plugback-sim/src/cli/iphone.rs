//! `plugback-sim iphone`: one simulated iPhone behind a usbmuxd of its own.
//!
//! Prints `ready <address>` once listening; then reads control lines on stdin (see
//! `plugback_sim::control`) and answers each with one `ok ...` or `error ...` line.

use super::phone_state::PhoneState;
use super::serve;
use anyhow::Context;
use plugback_sim::fault::Fault;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TrustArg {
    /// Trust every host at once.
    Accept,
    /// Show the prompt and wait for `trust accept` or `trust deny` on stdin.
    Prompt,
    /// Refuse every host.
    Deny,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(clap::Args)]
pub struct IphoneArgs {
    /// Where usbmuxd listens: HOST:PORT for TCP (port 0 picks a free one), or a path for a
    /// Unix socket. Point clients at it with USBMUXD_SOCKET_ADDRESS=<the ready address>
    /// (libimobiledevice's tools take a Unix socket as UNIX:<path>).
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// The phone's folder: storage/ (what AFC sees), restored/ (what a restore wrote),
    /// pairings/, device_key.pem; usbmuxd's pair records go in usbmuxd/.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The UDID (usbmuxd's SerialNumber).
    #[arg(long, value_name = "UDID", default_value = plugback_sim::iphone::phone::DEFAULT_UDID)]
    udid: String,
    /// The name shown on the phone and in DeviceName.
    #[arg(long, value_name = "NAME", default_value = "iPhone 14 Pro")]
    name: String,
    /// ProductType, e.g. iPhone15,2.
    #[arg(long, value_name = "TYPE", default_value = "iPhone15,2")]
    product_type: String,
    /// ProductVersion (iOS version); 10 or later, the TLS a simulator can speak.
    #[arg(long, value_name = "VERSION", default_value = "18.1")]
    ios: String,
    #[command(flatten)]
    state: PhoneState,
    /// Find My iPhone (a restore refuses to run while it is on).
    #[arg(long, value_name = "on|off", default_value = "off")]
    find_my: OnOff,
    /// How the phone answers "Trust This Computer?".
    #[arg(long, value_name = "accept|prompt|deny", default_value = "accept")]
    trust: TrustArg,
    /// The phone is locked: a host that is not paired yet cannot pair.
    #[arg(long)]
    passcode_locked: bool,
    /// The link speed usbmuxd reports, in Mbit/s (480 is USB 2).
    #[arg(long, value_name = "N", default_value_t = 480)]
    link_mbps: u32,
    /// Backups are encrypted (lockdownd's WillEncrypt).
    #[arg(long)]
    will_encrypt: bool,
    /// A fault to inject; repeatable. disconnect-after-bytes=N[,back-after-ms=M],
    /// disconnect-at-percent=P[,back-after-ms=M], stall-after-bytes=N,ms=M, flap=N,
    /// slow-mbps=N, hostile=paths.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<Fault>,
}

pub fn main(args: IphoneArgs) -> ExitCode {
    serve::exit_code(run(args))
}

fn listen_address(text: &str) -> anyhow::Result<UsbmuxdAddr> {
    if let Ok(addr) = text.parse() {
        return Ok(UsbmuxdAddr::Tcp(addr));
    }
    #[cfg(unix)]
    if text.contains('/') || !text.contains(':') {
        return Ok(UsbmuxdAddr::Unix(PathBuf::from(text)));
    }
    anyhow::bail!("--listen {text:?} is neither HOST:PORT nor a socket path")
}

fn config(args: &IphoneArgs) -> anyhow::Result<IphoneConfig> {
    if let Some(fault) = args
        .faults
        .iter()
        .find(|f| matches!(f, Fault::RevokeAuthAfterBytes { .. }))
    {
        anyhow::bail!("--fault {fault} applies to Android phones only");
    }
    let major: u32 = args
        .ios
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .with_context(|| format!("--ios {:?} is not a version like 17.5", args.ios))?;
    if major < 10 {
        anyhow::bail!("--ios must be 10 or later: hosts use TLS 1.0 with older phones");
    }
    let mut config = IphoneConfig::new(args.data.clone());
    config.udid = args.udid.clone();
    config.name = args.name.clone();
    config.product_type = args.product_type.clone();
    config.ios_version = args.ios.clone();
    config.battery_percent = args.state.battery;
    config.charging = args.state.charging;
    config.temperature_c = args.state.temperature;
    if let Some((free, total)) = args.state.storage(config.total_bytes) {
        config.free_bytes = free;
        config.total_bytes = total;
    }
    config.find_my = matches!(args.find_my, OnOff::On);
    config.trust = match args.trust {
        TrustArg::Accept => TrustMode::Accept,
        TrustArg::Prompt => TrustMode::Prompt,
        TrustArg::Deny => TrustMode::Deny,
    };
    config.passcode_locked = args.passcode_locked;
    config.link_mbps = args.link_mbps;
    config.faults = args.faults.clone();
    Ok(config)
}

fn run(args: IphoneArgs) -> anyhow::Result<()> {
    let listen = listen_address(&args.listen)?;
    let config = config(&args)?;
    let mux = SimUsbmuxd::start(listen, &args.data.join("usbmuxd"))
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let phone = mux.add_iphone(config)?;
    phone.phone().set_will_encrypt(args.will_encrypt);
    serve::obey_stdin(mux.address(), |command| phone.control(command))?;
    drop(mux);
    Ok(())
}
