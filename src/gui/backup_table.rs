//! How the backups table is ordered and narrowed: by any column, newest first at the
//! start, and to the phones plugged in when the person asks. Pure logic over the scan's
//! list and the counted sizes.

use super::format;
use plugback_core::backup::BackupSummary;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Device,
    Model,
    Date,
    Os,
    Kind,
    Size,
    Encrypted,
    State,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Device,
        Column::Model,
        Column::Date,
        Column::Os,
        Column::Kind,
        Column::Size,
        Column::Encrypted,
        Column::State,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Device => "Device",
            Column::Model => "Model",
            Column::Date => "Date",
            Column::Os => "OS",
            Column::Kind => "Type",
            Column::Size => "Size",
            Column::Encrypted => "Encrypted",
            Column::State => "State",
        }
    }

    /// Dates and sizes are most useful largest first; words from A.
    fn starts_descending(self) -> bool {
        matches!(self, Column::Date | Column::Size)
    }
}

/// The table's order and filter, as the person set them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableView {
    pub sort: Column,
    pub descending: bool,
    /// Only backups of a phone plugged in now.
    pub only_plugged_in: bool,
}

impl Default for TableView {
    fn default() -> Self {
        Self {
            sort: Column::Date,
            descending: true,
            only_plugged_in: false,
        }
    }
}

impl TableView {
    /// A click on a column's title: sort by it, or turn the order round if it already is.
    pub fn clicked(&mut self, column: Column) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column.starts_descending();
        }
    }

    /// Whether the table is sorted by `column`, and then whether downwards (largest,
    /// newest or last in the alphabet first).
    pub fn sorted_by(&self, column: Column) -> Option<bool> {
        (self.sort == column).then_some(self.descending)
    }

    /// The rows to show, in order. `plugged_in` holds the ids (UDID or serial) of the
    /// phones plugged in; `size` gives a backup's counted size. Unknown values sort last
    /// either way, so a backup whose date cannot be read never tops the list.
    pub fn rows<'a>(
        &self,
        backups: &'a [BackupSummary],
        plugged_in: &[&str],
        size: impl Fn(&BackupSummary) -> Option<u64>,
    ) -> Vec<&'a BackupSummary> {
        let mut rows: Vec<&BackupSummary> = backups
            .iter()
            .filter(|b| {
                !self.only_plugged_in
                    || b.device_id
                        .as_deref()
                        .is_some_and(|id| plugged_in.contains(&id))
            })
            .collect();
        rows.sort_by(|a, b| {
            let order = match self.sort {
                Column::Device => known(
                    text(a.device_name.as_deref()),
                    text(b.device_name.as_deref()),
                ),
                Column::Model => known(text(a.model.as_deref()), text(b.model.as_deref())),
                Column::Date => known(a.date_unix, b.date_unix),
                Column::Os => known(
                    a.os_version.as_deref().map(version),
                    b.os_version.as_deref().map(version),
                ),
                Column::Kind => known(Some(format::kind(a.kind)), Some(format::kind(b.kind))),
                Column::Size => known(size(a), size(b)),
                Column::Encrypted => known(Some(a.encrypted), Some(b.encrypted)),
                Column::State => known(
                    Some(format::snapshot(a.snapshot)),
                    Some(format::snapshot(b.snapshot)),
                ),
            };
            let order = match order {
                Known(o) if self.descending => o.reverse(),
                Known(o) => o,
                Unknown(o) => o,
            };
            // Equal keys keep a stable, sensible order: newest first.
            order.then_with(|| b.date_unix.cmp(&a.date_unix))
        });
        rows
    }
}

/// An ordering of two keys where missing ones go last whatever the direction.
enum KeyOrder {
    Known(Ordering),
    /// One or both keys missing: already in final order.
    Unknown(Ordering),
}
use KeyOrder::{Known, Unknown};

fn known<T: Ord>(a: Option<T>, b: Option<T>) -> KeyOrder {
    match (a, b) {
        (Some(a), Some(b)) => Known(a.cmp(&b)),
        (Some(_), None) => Unknown(Ordering::Less),
        (None, Some(_)) => Unknown(Ordering::Greater),
        (None, None) => Unknown(Ordering::Equal),
    }
}

/// Names compared as a person reads them, ignoring case.
fn text(value: Option<&str>) -> Option<String> {
    value.map(str::to_lowercase)
}

/// "17.5.1" as numbers, so that 9.3 comes before 17.
fn version(value: &str) -> Vec<u32> {
    value
        .split('.')
        .map(|part| part.trim().parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::backup::BackupKind;
    use std::path::PathBuf;

    fn backup(name: &str, id: &str, date: Option<i64>, os: &str) -> BackupSummary {
        let mut b = BackupSummary::new(PathBuf::from(format!("/b/{name}")), BackupKind::Ios);
        b.device_name = Some(name.to_owned());
        b.device_id = Some(id.to_owned());
        b.date_unix = date;
        b.os_version = Some(os.to_owned());
        b
    }

    fn no_sizes(_: &BackupSummary) -> Option<u64> {
        None
    }

    fn names(rows: &[&BackupSummary]) -> Vec<String> {
        rows.iter()
            .map(|b| b.device_name.clone().unwrap())
            .collect()
    }

    fn sample() -> Vec<BackupSummary> {
        vec![
            backup("bravo", "id-b", Some(200), "9.3.5"),
            backup("Alpha", "id-a", Some(300), "17.5.1"),
            backup("charlie", "id-c", None, "18.1"),
        ]
    }

    #[test]
    fn newest_first_at_the_start_with_unknown_dates_last_both_ways() {
        let backups = sample();
        let mut view = TableView::default();
        assert_eq!(
            names(&view.rows(&backups, &[], no_sizes)),
            ["Alpha", "bravo", "charlie"]
        );
        view.clicked(Column::Date);
        assert!(!view.descending);
        assert_eq!(
            names(&view.rows(&backups, &[], no_sizes)),
            ["bravo", "Alpha", "charlie"]
        );
    }

    #[test]
    fn names_ignore_case_and_versions_compare_as_numbers() {
        let backups = sample();
        let mut view = TableView::default();
        view.clicked(Column::Device);
        assert_eq!(view.sorted_by(Column::Device), Some(false));
        assert_eq!(view.sorted_by(Column::Date), None);
        assert_eq!(
            names(&view.rows(&backups, &[], no_sizes)),
            ["Alpha", "bravo", "charlie"]
        );
        view.clicked(Column::Os);
        assert_eq!(
            names(&view.rows(&backups, &[], no_sizes)),
            ["bravo", "Alpha", "charlie"]
        );
    }

    #[test]
    fn sizes_sort_largest_first_once_counted_and_the_filter_keeps_plugged_in_phones() {
        let backups = sample();
        let sizes = |b: &BackupSummary| match b.device_name.as_deref() {
            Some("bravo") => Some(5_000),
            Some("Alpha") => Some(10),
            _ => None,
        };
        let mut view = TableView::default();
        view.clicked(Column::Size);
        assert!(view.descending);
        assert_eq!(
            names(&view.rows(&backups, &[], sizes)),
            ["bravo", "Alpha", "charlie"]
        );
        view.only_plugged_in = true;
        assert_eq!(
            names(&view.rows(&backups, &["id-c", "id-a"], sizes)),
            ["Alpha", "charlie"]
        );
        assert!(view.rows(&backups, &[], sizes).is_empty());
    }
}
