//! The command-line front end: the same engine as the window, for scripts.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "plugback", version, about = "Get your phone's data back over a cable.")]
pub struct Args {
    /// Also look for backups in this folder (repeatable). Without a command, the window
    /// lists these too.
    #[arg(long = "dir", global = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {}

/// Runs a command and returns the process exit code.
pub fn run(command: Command) -> i32 {
    match command {}
}
