//! Plugback: with no command it opens the window; with a command it runs the CLI.

mod cli;
mod gui;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    match args.command {
        None => gui::run(gui::GuiOptions {
            extra_dirs: args.dirs,
        }),
        Some(command) => std::process::exit(cli::run(command)),
    }
}
