//! Small formatting helpers shared by the commands.

use time::OffsetDateTime;

/// "1.5 GB", "12.0 KB", "17 B": decimal units, as file managers show them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

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
    println!(
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
    fn bytes_read_like_a_file_manager() {
        assert_eq!(human_bytes(17), "17 B");
        assert_eq!(human_bytes(1500), "1.5 KB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(human_date(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(human_date(None), "unknown date");
    }
}
