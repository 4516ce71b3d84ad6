//! Words and numbers as the window shows them: dates in local time, sizes, kinds.

use plugback_core::backup::{BackupKind, SnapshotState};
use time::{OffsetDateTime, UtcOffset};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "25 Nov 2026, 10:00" in this computer's time zone; "25 Nov 2026, 10:00 UTC" when the
/// zone cannot be told; "Unknown date" when the backup does not say.
pub fn local_date(unix: Option<i64>) -> String {
    let Some(utc) = unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()) else {
        return "Unknown date".to_owned();
    };
    match UtcOffset::local_offset_at(utc) {
        Ok(offset) => date_at(utc, offset, false),
        Err(_) => date_at(utc, UtcOffset::UTC, true),
    }
}

/// The date of `moment` as seen at `offset`, optionally marked as UTC.
pub fn date_at(moment: OffsetDateTime, offset: UtcOffset, mark_utc: bool) -> String {
    let dt = moment.to_offset(offset);
    let month = MONTHS
        .get(usize::from(u8::from(dt.month())).saturating_sub(1))
        .copied()
        .unwrap_or("?");
    let suffix = if mark_utc { " UTC" } else { "" };
    format!(
        "{} {month} {}, {:02}:{:02}{suffix}",
        dt.day(),
        dt.year(),
        dt.hour(),
        dt.minute()
    )
}

pub use crate::text::human_bytes as bytes;

/// A length of time a person reads at a glance: "45 s", "3 min", "1 h 20 min".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s.div_ceil(60)),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// "About 3 min left"; "Less than a minute left" near the end.
pub fn time_left(seconds: f64) -> String {
    if seconds < 60.0 {
        "Less than a minute left".to_owned()
    } else {
        format!("About {} left", duration(seconds))
    }
}

pub fn kind(kind: BackupKind) -> &'static str {
    match kind {
        BackupKind::Ios => "iPhone",
        BackupKind::IosLegacyMbdb => "iPhone (old format)",
        BackupKind::AndroidAb => "Android (adb)",
        BackupKind::AndroidFolder => "Android (Plugback)",
    }
}

pub fn snapshot(state: SnapshotState) -> &'static str {
    match state {
        SnapshotState::Finished => "Complete",
        SnapshotState::Unfinished => "Did not finish",
        SnapshotState::Unknown => "Not recorded",
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value { "Yes" } else { "No" }
}

/// "1 error", "3 warnings".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_a_person_writes_them() {
        let moment = OffsetDateTime::from_unix_timestamp(1_795_600_800).unwrap();
        assert_eq!(
            date_at(moment, UtcOffset::UTC, true),
            "25 Nov 2026, 10:00 UTC"
        );
        let plus_one = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert_eq!(date_at(moment, plus_one, false), "25 Nov 2026, 11:00");
        assert_eq!(local_date(None), "Unknown date");
    }

    #[test]
    fn counts() {
        assert_eq!(count(1, "error", "errors"), "1 error");
        assert_eq!(count(2, "warning", "warnings"), "2 warnings");
    }
}
