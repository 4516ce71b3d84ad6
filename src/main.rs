//! Plugback: with no command it opens the window; with a command it runs the CLI.

use clap::Parser;
use plugback::{cli, gui};

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    match args.command {
        None => gui::run(gui::GuiOptions {
            extra_dirs: args.dirs,
        }),
        Some(command) => std::process::exit(cli::run(command, &args.dirs)),
    }
}
