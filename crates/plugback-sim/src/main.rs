//! `plugback-sim`: generated phone backups and simulated phones for Plugback's tests,
//! benchmarks and demo mode.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "plugback-sim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a realistic phone backup, deterministic from --seed.
    MakeBackup(cli::make_backup::MakeBackupArgs),
    /// Runs a simulated iPhone behind a usbmuxd of its own.
    Iphone(cli::iphone::IphoneArgs),
    /// Runs a simulated Android phone (adbd over TCP).
    Android(cli::android::AndroidArgs),
}

fn main() -> ExitCode {
    // clap exits with status 2 on bad arguments.
    match Cli::parse().command {
        Command::MakeBackup(args) => cli::make_backup::main(args),
        Command::Iphone(args) => cli::iphone::main(args),
        Command::Android(args) => cli::android::main(args),
    }
}
