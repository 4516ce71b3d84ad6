//! The command-line front end: the same engine as the window, for scripts.
//!
//! Exit codes are a contract: 0 all good (warnings allowed), 1 problems found,
//! 2 the command could not run, 3 (restore) blocked by the preflight.

mod backups;
mod devices;
mod diagnostics;
mod doctor;
mod explain;
mod health;
mod info;
mod output;
mod pair;
mod password;
mod restore;
mod test_restore;
mod verify;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEMS: i32 = 1;
pub const EXIT_CANNOT_RUN: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "plugback",
    version = crate::build_info::VERSION_LINE,
    about = "Get your phone's data back over a cable. Without a command, opens the window."
)]
pub struct Args {
    /// Also look for backups in this folder (repeatable). Without a command, the window
    /// lists these too.
    #[arg(long = "dir", global = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Open the window in demo mode: a simulated iPhone and Android phone and sample
    /// backups, so you can try Plugback without a phone. Nothing on this computer is
    /// read or changed.
    #[arg(long)]
    pub demo: bool,

    /// With --demo: open the window, bring it to one view (--view), save a picture of it
    /// as a PNG to FILE, and close. For documentation and checks.
    #[arg(long, value_name = "FILE", requires = "demo")]
    pub screenshot: Option<PathBuf>,

    /// What --screenshot shows.
    #[arg(
        long,
        value_enum,
        value_name = "VIEW",
        default_value = "phones",
        requires = "screenshot"
    )]
    pub view: crate::gui::screenshot::View,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the phone backups on this computer, most recent first.
    Backups {
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
        /// Also count files and apps and measure sizes (reads each backup's file list).
        #[arg(long)]
        stats: bool,
    },
    /// Describe one backup.
    Info {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check that a backup holds what its own file list says, without changing it.
    Verify(verify::VerifyArgs),
    /// Explain a problem or error code in plain words (or search by words).
    Explain {
        /// A code such as `blob-missing`, or words to search for.
        query: Vec<String>,
    },
    /// Pair this computer with an iPhone: it asks "Trust This Computer?" on the phone.
    Pair(pair::PairArgs),
    /// The phones plugged into this computer: identity, state, battery, storage, link.
    Devices(devices::DevicesArgs),
    /// What this computer needs for phones: usbmuxd, adb, USB access, sleep, notifications.
    Doctor(doctor::DoctorArgs),
    /// Check the cable, port and link to a phone: graded good, fair or poor, with fixes.
    Health(health::HealthArgs),
    /// Write a redacted zip of Plugback's logs and the doctor's report, to send for help.
    Diagnostics(diagnostics::DiagnosticsArgs),
    /// Restore a backup to a phone: the preflight, then the restore with the
    /// stay-plugged-in watchdog.
    Restore(restore::RestoreArgs),
    /// Prove a backup restores: restore it into a simulated phone and check every file.
    TestRestore(test_restore::TestRestoreArgs),
}

/// Runs a command and returns the process exit code.
pub fn run(command: Command, dirs: &[PathBuf]) -> i32 {
    match command {
        Command::Backups { json, stats } => backups::run(dirs, json, stats),
        Command::Info { path, json } => info::run(&path, json),
        Command::Verify(args) => verify::run(&args),
        Command::Explain { query } => explain::run(&query.join(" ")),
        Command::Pair(args) => pair::run(&args),
        Command::Devices(args) => devices::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Health(args) => health::run(&args),
        Command::Diagnostics(args) => diagnostics::run(&args),
        Command::Restore(args) => restore::run(&args),
        Command::TestRestore(args) => test_restore::run(&args),
    }
}
