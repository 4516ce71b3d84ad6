//! What both simulated-phone subcommands do once their phone is up: print
//! `ready <address>`, then answer each control line from stdin (see
//! `plugback_sim::control`) with one `ok ...` or `error ...` line, until `quit` or the end
//! of stdin.

use plugback_sim::control::{ControlCommand, spawn_stdin_reader};
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;

/// The exit status of a subcommand: 0, or 1 after printing the error chain.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plugback-sim: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Announces `address`, then hands every control command to `control` and prints its
/// answer. Returns when stdin says `quit` or closes.
pub fn obey_stdin(
    address: impl Display,
    mut control: impl FnMut(ControlCommand) -> Result<String, String>,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {address}")?;
    stdout.flush()?;
    for command in spawn_stdin_reader() {
        if command == ControlCommand::Quit {
            writeln!(stdout, "ok quitting")?;
            stdout.flush()?;
            break;
        }
        match control(command) {
            Ok(detail) => writeln!(stdout, "ok {detail}")?,
            Err(reason) => writeln!(stdout, "error {reason}")?,
        }
        stdout.flush()?;
    }
    Ok(())
}
