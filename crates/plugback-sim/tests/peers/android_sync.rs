//! The simulated Android phone's `sync:` and `restore:` services: in-process against a
//! protocol-level client, and end to end through Android's own adb.

mod driver;
mod in_process;
mod real_adb;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The files of a plain `.ab` archive: (tar name, content), in archive order.
pub fn ab_contents(ab: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut reader = BufReader::new(ab);
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    assert_eq!(lines[0], "ANDROID BACKUP");
    assert_eq!(lines[3], "none", "only plain archives are read here");
    let body: Box<dyn Read> = if lines[2] == "1" {
        Box::new(flate2::read::ZlibDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(body);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        out.push((name, content));
    }
    out
}

/// Where a restore puts each archive file, relative to the phone's DATA folder.
pub fn expected_restore(contents: &[(String, Vec<u8>)]) -> BTreeMap<String, Vec<u8>> {
    contents
        .iter()
        .map(|(name, content)| {
            let place = if let Some(rest) = name.strip_prefix("shared/0/") {
                format!("sdcard/{rest}")
            } else {
                format!("restored/{name}")
            };
            (place, content.clone())
        })
        .collect()
}

/// Every regular file under DATA/restored and DATA/sdcard, relative to DATA.
pub fn restored_tree(data: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for root in [data.join("restored"), data.join("sdcard")] {
        for (relative, path) in regular_files(&root, data) {
            out.insert(relative, std::fs::read(&path).unwrap());
        }
    }
    out
}

/// Every regular file under `root` (none when it is missing), by its path relative to
/// `base`.
pub fn regular_files(root: &Path, base: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, path);
            }
        }
    }
    out
}
