//! `plugback-sim android`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct AndroidArgs {}

pub fn main(_args: AndroidArgs) -> ExitCode {
    eprintln!("plugback-sim: the simulated android is not built yet");
    ExitCode::from(1)
}
