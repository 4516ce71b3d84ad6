//! How fast: Plugback's Android file restore side by side with `adb push --sync`, on the
//! same simulated phone attached to the same private adb server, with the same folders.
//!
//! Two data sets: a few large files (default 4 × 128 MiB, like videos) and many small ones
//! (default 10,000 files of 1–8 KB in 20 folders, like a chat app's media). For each, each
//! run times, start to end:
//!
//! - Plugback: `FilePlan::from_folder` then `restore_files`, in this process, through
//!   Plugback's own sync client (the media rescan is switched off: `adb push` does none);
//! - adb: the real `adb push --sync <folder> <phone folder>` client, a process of its own.
//!
//! The phone folder is emptied before every run, so each run sends everything (`--sync`
//! and Plugback's resume would otherwise both skip what is there), and each run checks that
//! every file arrived. The two tools alternate (which goes first swaps each round) so a
//! busy moment of the machine hits both alike, after one uncounted warm-up run of each.
//! The simulated phone runs in this process and keeps its storage in /dev/shm where the
//! system has it (a phone writes to its own flash, not to the computer's disk); the source
//! folders are generated there too, and everything is removed at the end.
//!
//! Run: `cargo bench -p plugback-core --bench android_restore [-- --runs N]` (default 5;
//! also `--large-mib M` per large file, `--small-files N`, `--warmup 0`). Prints wall time
//! medians with their range, MB/s and files/s, and how many times faster Plugback is
//! (adb's median time over Plugback's). Needs `adb` on the PATH.

use plugback_core::cancel::CancelToken;
use plugback_core::device::android;
use plugback_core::restore::android::{FilePlan, restore_files};
use plugback_core::restore::{Phase, RestoreEvent, Sink};
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::peers::{AdbServer, text};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The speed-ups Plugback aims for over `adb push --sync`.
const LARGE_TARGET: f64 = 1.0;
const SMALL_TARGET: f64 = 1.5;
const SMALL_FOLDERS: usize = 20;

struct Options {
    runs: usize,
    warmup: usize,
    large_files: usize,
    large_mib: u64,
    small_files: usize,
}

fn options() -> Options {
    let mut o = Options {
        runs: 5,
        warmup: 1,
        large_files: 4,
        large_mib: 128,
        small_files: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse::<u64>().ok());
        match arg.as_str() {
            "--runs" => o.runs = number().map_or(o.runs, |n| n.max(1) as usize),
            "--warmup" => o.warmup = number().map_or(o.warmup, |n| n as usize),
            "--large-mib" => o.large_mib = number().unwrap_or(o.large_mib),
            "--small-files" => o.small_files = number().map_or(o.small_files, |n| n as usize),
            _ => {} // cargo bench passes --bench
        }
    }
    o
}

fn main() {
    let o = options();
    let Some(adb) = AdbServer::start() else {
        eprintln!("adb is not installed: nothing to compare with");
        return;
    };
    let work = work_root();
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("create the benchmark folder");

    eprintln!("generating the data in {} …", work.display());
    let large = work.join("source-large");
    let small = work.join("source-small");
    write_large(&large, o.large_files, o.large_mib << 20);
    write_small(&small, o.small_files);

    let phone_dir = work.join("phone");
    std::fs::create_dir_all(&phone_dir).unwrap();
    let mut config = AndroidConfig::new(phone_dir.clone());
    config.free_bytes = 1 << 40;
    config.total_bytes = 2 << 40;
    let sim = SimAndroid::start(config, "127.0.0.1:0".parse().unwrap())
        .expect("start the simulated phone");
    let serial = sim.address().to_string();
    adb.attach(&serial);
    let server = android::AdbServer::new(adb.port()).with_adb_path(adb.adb());
    let bench = Bench {
        adb: &adb,
        server,
        serial,
        phone_dir,
    };

    let sets = [
        (
            format!("{} × {} MiB", o.large_files, o.large_mib),
            large,
            LARGE_TARGET,
        ),
        (
            format!("{} files of 1–8 KB", o.small_files),
            small,
            SMALL_TARGET,
        ),
    ];
    let mut rows = Vec::new();
    for (label, source, target) in &sets {
        let (files, bytes) = count(source);
        let phone_folder = format!("/sdcard/Bench/{}", file_name(source));
        for _ in 0..o.warmup {
            bench.plugback(source, &phone_folder, files, bytes);
            bench.adb_push(source, &phone_folder, files, bytes);
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for round in 0..o.runs {
            if round % 2 == 0 {
                ours.push(bench.plugback(source, &phone_folder, files, bytes));
                theirs.push(bench.adb_push(source, &phone_folder, files, bytes));
            } else {
                theirs.push(bench.adb_push(source, &phone_folder, files, bytes));
                ours.push(bench.plugback(source, &phone_folder, files, bytes));
            }
            eprintln!(
                "{label}, run {round}: Plugback {:.2} s, adb push --sync {:.2} s",
                ours[round].as_secs_f64(),
                theirs[round].as_secs_f64()
            );
        }
        rows.push((label.clone(), files, bytes, ours, theirs, *target));
    }
    bench.clear();
    drop(sim);
    let _ = std::fs::remove_dir_all(&work);

    println!();
    println!(
        "Android file restore, {} runs each (median, range), one simulated phone, adb {}:",
        o.runs,
        adb_version(&adb)
    );
    println!();
    println!("| data | tool | wall time s | MB/s | files/s |");
    println!("|---|---|---|---|---|");
    for (label, files, bytes, ours, theirs, _) in &rows {
        for (tool, times) in [("Plugback", ours), ("adb push --sync", theirs)] {
            let (mid, lo, hi) = spread(times);
            println!(
                "| {label} | {tool} | {mid:.2} ({lo:.2}–{hi:.2}) | {:.0} | {:.0} |",
                *bytes as f64 / 1e6 / mid,
                *files as f64 / mid,
            );
        }
    }
    println!();
    for (label, _, _, ours, theirs, target) in &rows {
        let ratio = spread(theirs).0 / spread(ours).0;
        println!(
            "{label}: Plugback is {ratio:.2}× adb push --sync (target ≥ {target:.1}×){}",
            if ratio >= *target {
                ""
            } else {
                ": below target"
            }
        );
    }
}

/// The phone, its server, and the two ways of filling it.
struct Bench<'a> {
    adb: &'a AdbServer,
    server: android::AdbServer,
    serial: String,
    phone_dir: PathBuf,
}

impl Bench<'_> {
    /// Empties the benchmark's phone folder, so the next run sends everything.
    fn clear(&self) {
        let _ = std::fs::remove_dir_all(self.phone_dir.join("sdcard/Bench"));
    }

    /// Where the phone keeps `phone_folder` (under /sdcard/).
    fn stored(&self, phone_folder: &str) -> PathBuf {
        self.phone_dir
            .join("sdcard")
            .join(phone_folder.trim_start_matches("/sdcard/"))
    }

    fn plugback(&self, source: &Path, phone_folder: &str, files: u64, bytes: u64) -> Duration {
        self.clear();
        let start = Instant::now();
        let mut plan = FilePlan::from_folder(source, phone_folder).expect("plan the restore");
        plan.media_rescan = false;
        let transferring = Arc::new(Mutex::new(None));
        let marked = transferring.clone();
        let sink = Sink::new(move |event| {
            if let RestoreEvent::Phase {
                phase: Phase::Transferring,
            } = event
            {
                *marked.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            }
        });
        let outcome = restore_files(
            &self.server,
            &self.serial,
            &plan,
            &sink,
            &CancelToken::new(),
        )
        .unwrap_or_else(|e| panic!("Plugback's restore failed: {e}"));
        let took = start.elapsed();
        // Where the time went: the plan and the STAT of every file, then the sending.
        if let Some(at) = *transferring.lock().unwrap_or_else(|p| p.into_inner()) {
            eprintln!(
                "  Plugback: {:.2} s planning and checking the phone, {:.2} s sending",
                (at - start).as_secs_f64(),
                (took - (at - start)).as_secs_f64()
            );
        }
        assert_eq!(
            (outcome.sent, outcome.bytes_sent),
            (files, bytes),
            "Plugback did not send everything: {outcome:?}"
        );
        self.check(phone_folder, files, bytes, "Plugback");
        took
    }

    fn adb_push(&self, source: &Path, phone_folder: &str, files: u64, bytes: u64) -> Duration {
        self.clear();
        let local = source.to_str().expect("a UTF-8 benchmark path");
        let start = Instant::now();
        let out = self
            .adb
            .command(&["-s", &self.serial, "push", "--sync", local, phone_folder])
            .output()
            .expect("run adb push");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "adb push failed: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        self.check(phone_folder, files, bytes, "adb push");
        took
    }

    /// Every file arrived, whole, where it belongs.
    fn check(&self, phone_folder: &str, files: u64, bytes: u64, tool: &str) {
        assert_eq!(
            count(&self.stored(phone_folder)),
            (files, bytes),
            "{tool}: the phone folder does not hold the source's files"
        );
    }
}

/// In memory where the system has it.
fn work_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join("plugback-android-restore-bench")
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/android-restore")
    }
}

/// Bytes that do not compress or repeat (xorshift), different for each `seed`.
fn fill(buffer: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for chunk in buffer.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

fn write_large(dir: &Path, files: usize, size: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut block = vec![0u8; 1 << 20];
    for n in 0..files {
        let path = dir.join(format!("VID_{n:04}.mp4"));
        let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
        let mut left = size;
        let mut part = 0u64;
        while left > 0 {
            fill(&mut block, (n as u64) << 32 | part);
            let take = left.min(block.len() as u64) as usize;
            out.write_all(&block[..take]).unwrap();
            left -= take as u64;
            part += 1;
        }
        out.flush().unwrap();
    }
}

fn write_small(dir: &Path, files: usize) {
    let mut buffer = vec![0u8; 8000];
    for n in 0..files {
        let folder = dir.join(format!("chat-{:02}", n % SMALL_FOLDERS));
        if n < SMALL_FOLDERS {
            std::fs::create_dir_all(&folder).unwrap();
        }
        // 1,000 to 8,000 bytes, spread evenly by a fixed stride.
        let size = 1000 + (n * 7919) % 7001;
        fill(&mut buffer[..size], n as u64 + 1);
        std::fs::write(folder.join(format!("IMG-{n:05}.jpg")), &buffer[..size]).unwrap();
    }
}

/// Regular files under `dir` and their bytes; (0, 0) when it is missing.
fn count(dir: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    (files, bytes)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Median, smallest and largest, in seconds.
fn spread(times: &[Duration]) -> (f64, f64, f64) {
    let mut secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    match (secs.first(), secs.last()) {
        (Some(lo), Some(hi)) => (secs[secs.len() / 2], *lo, *hi),
        _ => (f64::NAN, f64::NAN, f64::NAN),
    }
}

fn adb_version(adb: &AdbServer) -> String {
    text(&adb.run(&["version"]).stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Version "))
        .unwrap_or("(unknown version)")
        .to_owned()
}
