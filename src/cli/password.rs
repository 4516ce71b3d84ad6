//! How a command takes a backup password: from a file or standard input, never from the
//! command line, where other users of the computer could read it.

use plugback_core::secret::Password;
use std::io::Read;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default)]
pub struct PasswordArgs {
    /// Read the backup password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "password_stdin")]
    pub password_file: Option<PathBuf>,
    /// Read the backup password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordArgs {
    /// The password, if one was given; Err says, for a person, why it could not be read.
    pub fn read(&self) -> Result<Option<Password>, String> {
        if let Some(file) = &self.password_file {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the password file {}: {e}", file.display()))?;
            return Ok(Some(Password::from_first_line(&text)));
        }
        if self.password_stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            return Ok(Some(Password::from_first_line(&text)));
        }
        Ok(None)
    }
}
