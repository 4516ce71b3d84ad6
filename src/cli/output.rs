//! Small formatting helpers shared by the commands.

pub use crate::text::human_bytes;

/// `println!` that never panics: when the reader has gone away (`plugback backups | head`)
/// the command stops quietly with "could not run", instead of a panic message.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit($crate::cli::EXIT_CANNOT_RUN);
        }
    }};
}
pub(crate) use outln;
use time::OffsetDateTime;

/// "2026-11-25 10:00 UTC", or "unknown date".
pub fn human_date(unix: Option<i64>) -> String {
    let Some(dt) = unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()) else {
        return "unknown date".to_owned();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

pub fn print_json(value: &serde_json::Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_owned())
    );
}

/// Prints an error for a person: what went wrong, then the fix from the catalog.
pub fn print_error(code: &str, detail: &str) {
    eprintln!("error: {detail}");
    if let Some(e) = plugback_core::explain::explain(code) {
        eprintln!("  {}", e.what_to_do);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_utc() {
        assert_eq!(human_date(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(human_date(None), "unknown date");
    }
}
