//! `plugback-sim iphone`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct IphoneArgs {}

pub fn main(_args: IphoneArgs) -> ExitCode {
    eprintln!("plugback-sim: the simulated iphone is not built yet");
    ExitCode::from(1)
}
