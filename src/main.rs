//! Plugback: with no command it opens the window; with a command it runs the CLI.

use clap::Parser;
use plugback::{cli, gui};

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    match args.command {
        None => gui::run(gui::GuiOptions {
            extra_dirs: args.dirs,
            demo: args.demo,
            screenshot: args
                .screenshot
                .map(|path| gui::screenshot::ScreenshotRequest {
                    path,
                    view: args.view,
                }),
        }),
        Some(_) if args.demo => {
            eprintln!(
                "plugback: --demo opens the window with simulated phones; it takes no command. Run `plugback --demo` on its own."
            );
            std::process::exit(cli::EXIT_CANNOT_RUN)
        }
        Some(command) => std::process::exit(cli::run(command, &args.dirs)),
    }
}
