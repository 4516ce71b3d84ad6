//! The file browser of the selected backup: a search box, how many entries match, and a
//! table of domain, path and size that lays out only the rows in view.

use crate::gui::files::{self, FileBrowser, ListStatus, SortColumn};
use crate::gui::format;
use crate::gui::state::{AppState, Job};
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use plugback_core::backup::BackupSummary;
use plugback_core::backup::listing::{ListedFile, ListedKind};

/// Height of the table's scrolled part: about fifteen rows, so the page around it (and
/// the check below it) stays in reach.
const TABLE_HEIGHT: f32 = 320.0;

/// The "Files" section of the details page.
pub fn show(ui: &mut egui::Ui, state: &mut AppState, backup: &BackupSummary, jobs: &mut Vec<Job>) {
    let status = files::open_on(state, &backup.path).map(|b| b.status.clone());
    let offer_button = match &status {
        None => {
            if backup.encrypted && state.password.is_empty() {
                ui.add(egui::Label::new(needs_password_text()).wrap());
            }
            true
        }
        Some(ListStatus::Loading) => {
            ui.label("Reading the file list…");
            false
        }
        Some(ListStatus::Failed(failure)) => {
            let text = match failure.code {
                Some("password-required") => needs_password_text().to_owned(),
                Some("wrong-password") => format!(
                    "{} Type the password again below, then press \u{201c}Browse files\u{201d}.",
                    failure.message
                ),
                _ => format!("The file list could not be read: {}", failure.message),
            };
            ui.add(egui::Label::new(text).wrap());
            true
        }
        Some(ListStatus::Ready) => false,
    };
    if offer_button
        && ui
            .button("Browse files")
            .on_hover_text("List every file in this backup. Nothing is changed.")
            .clicked()
    {
        jobs.extend(files::open(state));
    }
    if let Some(browser) =
        files::open_on(state, &backup.path).filter(|b| b.status == ListStatus::Ready)
    {
        browser_ui(ui, browser);
    }
}

fn needs_password_text() -> &'static str {
    "The file list of an encrypted backup opens with its password: type it in \
     \u{201c}Backup password\u{201d} below, then press \u{201c}Browse files\u{201d}."
}

/// The search box, the count and the table of a loaded list.
pub fn browser_ui(ui: &mut egui::Ui, browser: &mut FileBrowser) {
    ui.horizontal(|ui| {
        let label = ui.label("Search files");
        let mut query = browser.query().to_owned();
        let field = egui::TextEdit::singleline(&mut query)
            .hint_text("Part of a domain or path")
            .desired_width(260.0);
        if ui.add(field).labelled_by(label.id).changed() {
            browser.set_query(&query);
        }
    });
    ui.label(format!(
        "{} of {} · {} in all",
        browser.shown_count(),
        format::count(browser.total_count(), "item", "items"),
        format::bytes(browser.total_size())
    ));
    table(ui, browser);
}

fn table(ui: &mut egui::Ui, browser: &mut FileBrowser) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let mut builder = TableBuilder::new(ui)
        .id_salt("backup-files")
        .striped(true)
        .resizable(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(240.0).at_least(80.0).clip(true))
        .column(Column::remainder().at_least(120.0).clip(true))
        .column(Column::exact(90.0))
        .min_scrolled_height(TABLE_HEIGHT)
        .max_scroll_height(TABLE_HEIGHT);
    if let Some(offset) = browser.take_scroll() {
        builder = builder.vertical_scroll_offset(offset);
    }
    let mut clicked = None;
    builder
        .header(row_height + 2.0, |mut header| {
            for (column, name) in [
                (SortColumn::Domain, "Domain"),
                (SortColumn::Path, "Path"),
                (SortColumn::Size, "Size"),
            ] {
                header.col(|ui| {
                    if sort_button(ui, browser.sort(), column, name).clicked() {
                        clicked = Some(column);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_height, browser.shown_count(), |mut row| {
                let Some(file) = browser.shown_row(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    ui.add(egui::Label::new(&file.domain).truncate());
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(&file.path).truncate());
                });
                row.col(|ui| {
                    ui.label(size_text(file));
                });
            });
        });
    if let Some(column) = clicked {
        browser.sort_by(column);
    }
}

/// A column header: its name, and the order when the rows are ordered by it (in words:
/// the built-in fonts have no arrows).
fn sort_button(
    ui: &mut egui::Ui,
    (sorted_by, descending): (SortColumn, bool),
    column: SortColumn,
    name: &str,
) -> egui::Response {
    let order = match (column, descending) {
        (SortColumn::Size, false) => "smallest first",
        (SortColumn::Size, true) => "largest first",
        (_, false) => "A\u{2013}Z",
        (_, true) => "Z\u{2013}A",
    };
    let text = if sorted_by == column {
        format!("{name} ({order})")
    } else {
        name.to_owned()
    };
    ui.add(egui::Button::new(egui::RichText::new(text).strong()).frame(false))
        .on_hover_text(format!("Sort by {}", name.to_lowercase()))
}

fn size_text(file: &ListedFile) -> String {
    match file.kind {
        ListedKind::File => format::bytes(file.size),
        other => other.label().to_owned(),
    }
}
