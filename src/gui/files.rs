//! The file browser of the selected backup: the list a background job read, a search over
//! it, and the order it is shown in. Pure logic: no I/O, no egui.
//!
//! Backups hold 100,000 files and more, so the work per frame is kept to nothing: the
//! lowercased search text of each row is made once, and the rows shown are recomputed only
//! when the search or the order changes.

use super::state::{AppState, Failure, Job};
use plugback_core::backup::listing::ListedFile;
use plugback_core::secret::Password;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The column the rows are ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Domain,
    Path,
    Size,
}

/// Where the list is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListStatus {
    Loading,
    Ready,
    Failed(Failure),
}

#[derive(Debug)]
pub struct FileBrowser {
    /// The backup this list belongs to.
    pub backup: PathBuf,
    pub status: ListStatus,
    files: Arc<[ListedFile]>,
    /// "domain/path" of each row, lowercased, for the search.
    search_keys: Vec<String>,
    total_size: u64,
    query: String,
    sort: SortColumn,
    descending: bool,
    /// Indices into `files` of the rows that match the query, in the order shown.
    shown: Vec<usize>,
    /// A scroll position for the table to take on its next frame (to the top after a
    /// new search, so the first matches are in view).
    pending_scroll: Option<f32>,
}

impl FileBrowser {
    /// A browser waiting for the list of `backup`.
    pub fn loading(backup: PathBuf) -> Self {
        Self {
            backup,
            status: ListStatus::Loading,
            files: Arc::from(Vec::new()),
            search_keys: Vec::new(),
            total_size: 0,
            query: String::new(),
            sort: SortColumn::Domain,
            descending: false,
            shown: Vec::new(),
            pending_scroll: None,
        }
    }

    /// A browser showing `files` (as the core lists them: by domain, then path).
    pub fn with_files(backup: PathBuf, files: Vec<ListedFile>) -> Self {
        let mut browser = Self::loading(backup);
        browser.set_files(files);
        browser
    }

    /// Takes what the listing job reported.
    pub fn listed(&mut self, result: Result<Vec<ListedFile>, Failure>) {
        match result {
            Ok(files) => self.set_files(files),
            Err(failure) => self.status = ListStatus::Failed(failure),
        }
    }

    fn set_files(&mut self, files: Vec<ListedFile>) {
        self.search_keys = files
            .iter()
            .map(|f| format!("{}/{}", f.domain, f.path).to_lowercase())
            .collect();
        self.total_size = files.iter().map(|f| f.size).sum();
        self.files = Arc::from(files);
        self.status = ListStatus::Ready;
        self.refilter();
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// Shows only the rows whose domain or path contains `query`, ignoring case.
    pub fn set_query(&mut self, query: &str) {
        if query == self.query {
            return;
        }
        self.query = query.to_owned();
        self.refilter();
        self.pending_scroll = Some(0.0);
    }

    pub fn sort(&self) -> (SortColumn, bool) {
        (self.sort, self.descending)
    }

    /// Orders by `column`; choosing the same column again reverses the order.
    pub fn sort_by(&mut self, column: SortColumn) {
        if column == self.sort {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            // Largest first is what a person looks for when sorting by size.
            self.descending = column == SortColumn::Size;
        }
        self.refilter();
    }

    fn refilter(&mut self) {
        let needle = self.query.trim().to_lowercase();
        self.shown = (0..self.files.len())
            .filter(|&i| needle.is_empty() || self.search_keys[i].contains(&needle))
            .collect();
        let files = &self.files;
        // Stable sorts on the core's domain-then-path order, so ties stay in that order.
        match self.sort {
            SortColumn::Domain => {}
            SortColumn::Path => self
                .shown
                .sort_by(|&a, &b| files[a].path.cmp(&files[b].path)),
            SortColumn::Size => self.shown.sort_by_key(|&i| files[i].size),
        }
        if self.descending {
            self.shown.reverse();
        }
    }

    /// Rows shown.
    pub fn shown_count(&self) -> usize {
        self.shown.len()
    }

    /// The `n`th row shown.
    pub fn shown_row(&self, n: usize) -> Option<&ListedFile> {
        self.shown.get(n).and_then(|&i| self.files.get(i))
    }

    /// Entries in the whole list.
    pub fn total_count(&self) -> usize {
        self.files.len()
    }

    /// Bytes of all the files in the list.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// Asks the table to scroll to `offset` points from its top on its next frame.
    pub fn scroll_to(&mut self, offset: f32) {
        self.pending_scroll = Some(offset);
    }

    /// The scroll position asked for, once.
    pub fn take_scroll(&mut self) -> Option<f32> {
        self.pending_scroll.take()
    }
}

/// Opens the browser on the selected backup and returns the job that reads its list
/// (only when asked: reading 100,000 entries takes a moment). An encrypted backup's list
/// opens with the password typed for it, if any.
pub fn open(state: &mut AppState) -> Option<Job> {
    let backup = state.selected_backup()?;
    let (path, kind) = (backup.path.clone(), backup.kind);
    let password = (!state.password.is_empty()).then(|| Password::new(state.password.as_str()));
    state.files = Some(FileBrowser::loading(path.clone()));
    Some(Job::ListFiles {
        path,
        kind,
        password,
    })
}

/// The browser, when it is open on `backup`.
pub fn open_on<'a>(state: &'a mut AppState, backup: &Path) -> Option<&'a mut FileBrowser> {
    state.files.as_mut().filter(|b| b.backup == backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::backup::listing::ListedKind;

    fn file(domain: &str, path: &str, size: u64) -> ListedFile {
        ListedFile {
            domain: domain.to_owned(),
            path: path.to_owned(),
            size,
            kind: ListedKind::File,
        }
    }

    fn browser() -> FileBrowser {
        FileBrowser::with_files(
            PathBuf::from("/backups/a"),
            vec![
                file("AppDomain-com.example", "Documents/Notes.txt", 10),
                file("CameraRollDomain", "Media/DCIM/IMG_0001.HEIC", 3000),
                file("HomeDomain", "Library/SMS/sms.db", 200),
                file("HomeDomain", "Library/notes/old.txt", 5),
            ],
        )
    }

    fn shown_paths(b: &FileBrowser) -> Vec<&str> {
        (0..b.shown_count())
            .map(|n| b.shown_row(n).unwrap().path.as_str())
            .collect()
    }

    #[test]
    fn totals_cover_the_whole_list() {
        let b = browser();
        assert_eq!(b.status, ListStatus::Ready);
        assert_eq!((b.total_count(), b.shown_count()), (4, 4));
        assert_eq!(b.total_size(), 3215);
    }

    #[test]
    fn search_ignores_case_over_domain_and_path() {
        let mut b = browser();
        b.set_query("NOTES");
        assert_eq!(
            shown_paths(&b),
            ["Documents/Notes.txt", "Library/notes/old.txt"]
        );
        assert_eq!(b.take_scroll(), Some(0.0), "a new search starts at the top");
        assert_eq!(b.take_scroll(), None);
        b.set_query("cameraroll");
        assert_eq!(shown_paths(&b), ["Media/DCIM/IMG_0001.HEIC"]);
        b.set_query("homedomain/library/sms");
        assert_eq!(shown_paths(&b), ["Library/SMS/sms.db"]);
        b.set_query("nothing like it");
        assert_eq!(b.shown_count(), 0);
        assert_eq!(b.total_count(), 4, "the list itself is kept");
        b.set_query("  ");
        assert_eq!(b.shown_count(), 4);
    }

    #[test]
    fn headers_sort_and_reverse() {
        let mut b = browser();
        b.sort_by(SortColumn::Size);
        assert_eq!(b.sort(), (SortColumn::Size, true));
        assert_eq!(
            shown_paths(&b),
            [
                "Media/DCIM/IMG_0001.HEIC",
                "Library/SMS/sms.db",
                "Documents/Notes.txt",
                "Library/notes/old.txt"
            ]
        );
        b.sort_by(SortColumn::Size);
        assert_eq!(b.shown_row(0).unwrap().size, 5);
        b.sort_by(SortColumn::Path);
        assert_eq!(b.sort(), (SortColumn::Path, false));
        assert_eq!(shown_paths(&b)[0], "Documents/Notes.txt");
        // The order holds while searching.
        b.set_query("library");
        assert_eq!(
            shown_paths(&b),
            ["Library/SMS/sms.db", "Library/notes/old.txt"]
        );
        b.sort_by(SortColumn::Path);
        assert_eq!(
            shown_paths(&b),
            ["Library/notes/old.txt", "Library/SMS/sms.db"]
        );
    }

    #[test]
    fn a_failed_listing_keeps_its_reason() {
        let mut b = FileBrowser::loading(PathBuf::from("/backups/a"));
        assert_eq!(b.status, ListStatus::Loading);
        let failure = Failure {
            code: Some("password-required"),
            message: "needs the password".into(),
        };
        b.listed(Err(failure.clone()));
        assert_eq!(b.status, ListStatus::Failed(failure));
        assert_eq!(b.total_count(), 0);
    }
}
