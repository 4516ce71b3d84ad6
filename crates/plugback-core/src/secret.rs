//! Backup passwords: held in memory only, wiped on drop, never printed.

use std::fmt;
use zeroize::Zeroizing;

#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// Reads a password from the first line of `text`, without its line ending:
    /// files and pipes almost always end with a newline the person did not type.
    pub fn from_first_line(text: &str) -> Self {
        let line = text.lines().next().unwrap_or("");
        Self::new(line.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new("hunter2");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn first_line_drops_the_newline() {
        assert_eq!(Password::from_first_line("pw\r\nmore").expose(), "pw");
        assert_eq!(Password::from_first_line("").expose(), "");
    }
}
