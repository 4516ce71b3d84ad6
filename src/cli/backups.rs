//! `plugback backups`: the backups on this computer, most recent first.

use super::output::{human_bytes, human_date, outln, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK};
use plugback_core::backup::{BackupSummary, catalog};
use plugback_core::settings::Settings;
use serde_json::json;
use std::path::PathBuf;

pub fn run(extra_dirs: &[PathBuf], json: bool, with_stats: bool) -> i32 {
    let saved = match Settings::load() {
        Ok(s) => s.backup_folders,
        Err(e) => {
            eprintln!("warning: {e}");
            Vec::new()
        }
    };
    let dirs = catalog::search_dirs(&saved, extra_dirs);
    let mut scan = catalog::scan(&dirs);
    if with_stats {
        fill_stats(&mut scan.backups);
    }
    if json {
        let unreadable: Vec<_> = scan
            .unreadable
            .iter()
            .map(
                |(path, err)| json!({"path": path, "code": err.code(), "message": err.to_string()}),
            )
            .collect();
        print_json(&json!({
            "searched": dirs,
            "backups": scan.backups,
            "unreadable": unreadable,
        }));
        return EXIT_OK;
    }
    if scan.backups.is_empty() && scan.unreadable.is_empty() {
        outln!("No phone backups found. Plugback looked in:");
        for dir in &dirs {
            outln!("  {}", dir.display());
        }
        outln!("Add a folder with --dir DIR or the PLUGBACK_BACKUP_DIRS environment variable.");
        return EXIT_OK;
    }
    for b in &scan.backups {
        print_line(b);
    }
    for (path, err) in &scan.unreadable {
        outln!("UNREADABLE  {}  ({}: {err})", path.display(), err.code());
    }
    if scan.backups.is_empty() {
        EXIT_CANNOT_RUN
    } else {
        EXIT_OK
    }
}

fn fill_stats(backups: &mut [BackupSummary]) {
    use rayon::prelude::*;
    backups.par_iter_mut().for_each(|b| {
        if let Ok(stats) = catalog::stats(&b.path, b.kind) {
            b.file_count = stats.file_count;
            b.app_count = stats.app_count;
            b.total_bytes = Some(stats.total_bytes);
        }
    });
}

fn print_line(b: &BackupSummary) {
    let device = b.device_name.as_deref().unwrap_or("Unnamed phone");
    let model = b.model.as_deref().unwrap_or("unknown model");
    let os = b.os_version.as_deref().unwrap_or("?");
    let mut flags = vec![b.kind.as_str().to_owned()];
    if b.encrypted {
        flags.push("encrypted".into());
    }
    if b.snapshot == plugback_core::backup::SnapshotState::Unfinished {
        flags.push("UNFINISHED".into());
    }
    if let Some(bytes) = b.total_bytes {
        flags.push(human_bytes(bytes));
    }
    if let Some(files) = b.file_count {
        flags.push(format!("{files} files"));
    }
    outln!(
        "{}  {device} ({model}, {os})  [{}]\n    {}",
        human_date(b.date_unix),
        flags.join(", "),
        b.path.display()
    );
}
