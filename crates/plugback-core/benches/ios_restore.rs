//! How fast, how frugal: Plugback's iPhone restore side by side with libimobiledevice's
//! `idevicebackup2 restore`, on the same simulated iPhone and the same generated plain
//! backup.
//!
//! For each tool and run: MB/s (the backup folder's bytes over the wall time of the
//! restoring process, start to exit), CPU seconds per GB (that process's user + system
//! time), and peak memory (VmHWM). Each restore runs in a process of its own, and so does
//! the simulated iPhone (its usbmuxd, lockdownd and mobilebackup2), so that each figure is
//! the restoring tool's alone. CPU times are the bench's reaped-children times
//! (`/proc/self/stat` cutime + cstime), read around the one restore process; Plugback's
//! restore process reports its own VmHWM, and `idevicebackup2`'s is sampled from
//! `/proc/<pid>/status` while it runs (close to, and never above, its true peak).
//!
//! Both tools get the same choices: Plugback's defaults (`IosRestoreOptions::default()`:
//! reboot, no system files, keep the phone's settings, reinstall apps), which are
//! `idevicebackup2 restore` without flags. Each run uses a fresh phone, paired by the tool
//! that restores to it (`ios::pair`, `idevicepair pair`). The simulated phone keeps its
//! storage in /dev/shm where the system has it: a phone writes to its own flash, not to
//! the computer's disk.
//!
//! The bench binary plays all three parts: with `--serve-iphone` it is the simulated
//! iPhone (the same library the `plugback-sim iphone` binary serves, without needing that
//! binary built), with `--restore-child` it is Plugback's restore and nothing else.
//!
//! Run: `cargo bench -p plugback-core --bench ios_restore [-- --runs N --mb M]`: medians
//! of N runs (default 5) of a backup of about M MB (default 512; `--mb 2048` for the 2 GB
//! run), after one uncounted warm-up run of each tool (`--warmup 0` to skip it). Without
//! `idevicebackup2` installed, Plugback's figures are printed alone. Linux only for CPU
//! and memory (they come from /proc); elsewhere those columns say n/a.

use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::restore::Sink;
use plugback_core::restore::ios::IosRestoreOptions;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, UsbmuxdAddr};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The backup's source identifier (its folder name): another phone's UDID.
const SOURCE: &str = "00008110-001A2B3C4D5E6F70";
/// Generated files are this big; the count follows from `--mb`.
const FILE_BYTES: u64 = 4_000_000;
/// The target for Plugback's peak memory during a restore.
const RSS_TARGET_MB: f64 = 100.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve-iphone") => serve_iphone(&args[1..]),
        Some("--restore-child") => restore_child(&args[1..]),
        _ => bench(&args),
    }
}

// ---------------------------------------------------------------- the comparison

struct Settings {
    runs: usize,
    mb: u64,
    warmup: usize,
}

fn settings(args: &[String]) -> Settings {
    let mut s = Settings {
        runs: 5,
        mb: 512,
        warmup: 1,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |default: u64| args.next().and_then(|v| v.parse().ok()).unwrap_or(default);
        match arg.as_str() {
            "--runs" => s.runs = number(s.runs as u64).max(1) as usize,
            "--mb" => s.mb = number(s.mb).max(FILE_BYTES / 1_000_000),
            "--warmup" => s.warmup = number(s.warmup as u64) as usize,
            _ => {} // cargo bench passes --bench
        }
    }
    s
}

/// One restore's figures.
#[derive(Clone, Copy, Debug)]
struct Measured {
    wall: Duration,
    /// User + system seconds of the restoring process; None without /proc.
    cpu_s: Option<f64>,
    /// Peak resident memory of the restoring process, in MB.
    peak_mb: Option<f64>,
}

fn bench(args: &[String]) {
    let s = settings(args);
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/ios-restore");
    std::fs::create_dir_all(&work).expect("create the benchmark folder");
    let work = work.canonicalize().expect("the benchmark folder");
    let ticks = clock_ticks();
    let backup = Backup::ready(&work, s.mb);
    println!(
        "backup: {} files, {:.0} MB ({} phone files, {:.0} MB of their content), {}",
        backup.files,
        backup.bytes as f64 / 1e6,
        backup.phone_files,
        backup.phone_bytes as f64 / 1e6,
        backup.dir.display()
    );
    let have_tools = tool("idevicebackup2") && tool("idevicepair");
    if !have_tools {
        eprintln!(
            "notice: idevicebackup2 or idevicepair is not installed (Debian: libimobiledevice-utils); Plugback's figures are printed alone"
        );
    }

    let mut plugback = Vec::new();
    let mut anchor = Vec::new();
    for run in 0..s.warmup + s.runs {
        let counted = run >= s.warmup;
        let ours = run_plugback(&work, &backup, ticks);
        let theirs = have_tools.then(|| run_idevicebackup2(&work, &backup, ticks));
        eprintln!(
            "run {run}{}: Plugback {:.0} MB/s{}",
            if counted {
                ""
            } else {
                " (warm-up, not counted)"
            },
            mb_per_s(backup.bytes, ours.wall),
            theirs.map_or(String::new(), |t| format!(
                ", idevicebackup2 {:.0} MB/s",
                mb_per_s(backup.bytes, t.wall)
            ))
        );
        if counted {
            plugback.push(ours);
            anchor.extend(theirs);
        }
    }
    let _ = std::fs::remove_dir_all(phone_root(&work));

    println!();
    println!(
        "iPhone restore of {:.0} MB, medians of {} runs (min–max):",
        backup.bytes as f64 / 1e6,
        s.runs
    );
    println!();
    println!("| tool | MB/s | CPU s/GB | peak RSS MB |");
    println!("|---|---|---|---|");
    let plugback_row = Row::of(&plugback, backup.bytes);
    plugback_row.print("Plugback (`restore::ios::restore`)");
    let anchor_row = (!anchor.is_empty()).then(|| Row::of(&anchor, backup.bytes));
    if let Some(row) = &anchor_row {
        row.print("`idevicebackup2 restore` (peak sampled)");
    }
    println!();
    if let Some(row) = &anchor_row {
        println!(
            "Plugback / idevicebackup2: speed {:.2}x, CPU per GB {}",
            plugback_row.speed.0 / row.speed.0,
            match (plugback_row.cpu, row.cpu) {
                (Some(ours), Some(theirs)) => format!("{:.2}x", ours.0 / theirs.0),
                _ => "n/a".into(),
            }
        );
    }
    if let Some((peak, _, _)) = plugback_row.peak {
        println!(
            "Plugback's peak RSS: {peak:.1} MB (target under {RSS_TARGET_MB:.0} MB: {})",
            if peak < RSS_TARGET_MB {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}

/// Median, min and max of each figure.
struct Row {
    speed: (f64, f64, f64),
    cpu: Option<(f64, f64, f64)>,
    peak: Option<(f64, f64, f64)>,
}

impl Row {
    fn of(runs: &[Measured], bytes: u64) -> Row {
        let gb = bytes as f64 / 1e9;
        let speeds: Vec<f64> = runs.iter().map(|m| mb_per_s(bytes, m.wall)).collect();
        let cpu: Option<Vec<f64>> = runs.iter().map(|m| m.cpu_s.map(|c| c / gb)).collect();
        let peak: Option<Vec<f64>> = runs.iter().map(|m| m.peak_mb).collect();
        Row {
            speed: spread(&speeds),
            cpu: cpu.map(|c| spread(&c)),
            peak: peak.map(|p| spread(&p)),
        }
    }

    fn print(&self, label: &str) {
        let show = |v: Option<(f64, f64, f64)>, digits: usize| match v {
            Some((median, lo, hi)) => {
                format!("{median:.digits$} ({lo:.digits$}–{hi:.digits$})")
            }
            None => "n/a".into(),
        };
        println!(
            "| {label} | {} | {} | {} |",
            show(Some(self.speed), 0),
            show(self.cpu, 2),
            show(self.peak, 1)
        );
    }
}

fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.as_slice() {
        [] => (f64::NAN, f64::NAN, f64::NAN),
        _ => (v[v.len() / 2], v[0], v[v.len() - 1]),
    }
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

// ---------------------------------------------------------------- the backup

struct Backup {
    /// `<root>/<SOURCE>`: the folder holding Manifest.db.
    dir: PathBuf,
    root: PathBuf,
    /// Every regular file of the folder (what a restore sends), and their bytes.
    files: u64,
    bytes: u64,
    /// The phone's files in it, and their content's bytes: what the phone ends up with.
    phone_files: u64,
    phone_bytes: u64,
}

impl Backup {
    /// The generated backup of about `mb` MB, made once and kept between bench runs.
    fn ready(work: &Path, mb: u64) -> Backup {
        let root = work.join(format!("backup-{mb}mb"));
        if !root.join(SOURCE).join("Manifest.db").exists() {
            let partial = work.join(format!("backup-{mb}mb.partial"));
            let _ = std::fs::remove_dir_all(&partial);
            let mut spec = Spec::new(Kind::Ios);
            spec.files = (mb * 1_000_000).div_ceil(FILE_BYTES) as usize;
            spec.file_size = FILE_BYTES;
            spec.seed = 11;
            eprintln!("generating a {mb} MB backup (once) in {}", root.display());
            make_backup(&spec, &partial.join(SOURCE)).expect("generate the backup");
            let _ = std::fs::remove_dir_all(&root);
            std::fs::rename(&partial, &root).expect("keep the generated backup");
        }
        let dir = root.join(SOURCE);
        let (files, bytes) = size_of_tree(&dir);
        let expected = plugback_sim::iphone::restore_check::expected_files(&dir, None)
            .expect("the generated backup reads back");
        Backup {
            phone_files: expected.len() as u64,
            phone_bytes: expected.values().map(|v| v.len() as u64).sum(),
            dir,
            root,
            files,
            bytes,
        }
    }
}

/// Regular files under `dir` and their bytes (links not followed).
fn size_of_tree(dir: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files += 1;
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    (files, bytes)
}

/// Checks that the phone holds every file of the backup, whole.
fn check_restored(phone_dir: &Path, backup: &Backup, tool: &str) {
    let (files, bytes) = size_of_tree(&phone_dir.join("restored"));
    assert_eq!(
        (files, bytes),
        (backup.phone_files, backup.phone_bytes),
        "{tool}: the phone does not hold the whole backup"
    );
}

// ---------------------------------------------------------------- the simulated iPhone

/// Where the simulated phones keep their storage: in memory where the system allows.
fn phone_root(work: &Path) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join("plugback-core-ios-restore-bench")
    } else {
        work.join("phones")
    }
}

/// A simulated iPhone in a process of its own, on a fresh data folder.
struct SimProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Kept open: the simulator must never write into a closed pipe.
    _stdout: BufReader<ChildStdout>,
    address: String,
    udid: String,
    data: PathBuf,
}

impl SimProcess {
    fn start(work: &Path, name: &str) -> SimProcess {
        let data = phone_root(work).join(name);
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("create the phone's folder");
        let udid = format!(
            "00008030-{:016X}",
            std::process::id() as u64 * 1000 + next()
        );
        let mut child = Command::new(std::env::current_exe().expect("the bench's own path"))
            .arg("--serve-iphone")
            .arg(&data)
            .arg(&udid)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the simulated iPhone");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("the simulator's stdout"));
        stdout
            .read_line(&mut line)
            .expect("the simulator says where it listens");
        let address = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the simulator said {line:?}, not ready <address>"))
            .to_owned();
        SimProcess {
            stdin: child.stdin.take(),
            _stdout: stdout,
            child,
            address,
            udid,
            data,
        }
    }

    fn mux(&self) -> Usbmuxd {
        Usbmuxd::new(MuxAddress::parse(&self.address).expect("a usbmuxd address"))
    }

    /// Stops the phone (closing its stdin) and removes its storage.
    fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn next() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// `--serve-iphone DATA UDID`: one simulated iPhone behind a usbmuxd of its own on a free
/// loopback port; prints `ready <address>`, serves until stdin closes.
fn serve_iphone(args: &[String]) {
    let [data, udid] = args else {
        panic!("--serve-iphone DATA UDID");
    };
    let data = PathBuf::from(data);
    let mut config = IphoneConfig::new(data.join("phone"));
    config.udid = udid.clone();
    config.free_bytes = 1 << 40;
    config.total_bytes = 2 << 40;
    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().expect("a loopback address")),
        &data.join("usbmuxd"),
    )
    .expect("start the simulated usbmuxd");
    let _phone = mux
        .add_iphone(config)
        .expect("plug the simulated iPhone in");
    println!("ready {}", mux.address());
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

// ---------------------------------------------------------------- Plugback

/// Pairs with Plugback, then restores in a process that does nothing else.
fn run_plugback(work: &Path, backup: &Backup, ticks: f64) -> Measured {
    let sim = SimProcess::start(work, "plugback");
    let paired = ios::block_on(ios::pair(
        &sim.mux(),
        &sim.udid,
        Duration::from_secs(60),
        &CancelToken::new(),
        |_| {},
    ));
    assert!(
        matches!(paired, Ok(PairOutcome::Paired)),
        "Plugback could not pair: {paired:?}"
    );
    let before = children_cpu(ticks);
    let start = Instant::now();
    let child = Command::new(std::env::current_exe().expect("the bench's own path"))
        .arg("--restore-child")
        .arg(&sim.address)
        .arg(&sim.udid)
        .arg(&backup.dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start Plugback's restore");
    let out = child.wait_with_output().expect("Plugback's restore ends");
    let wall = start.elapsed();
    let after = children_cpu(ticks);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "Plugback's restore failed: {report}");
    let report: serde_json::Value =
        serde_json::from_str(report.trim()).expect("the restore's report is JSON");
    assert_eq!(
        report["bytes"].as_u64(),
        Some(backup.bytes),
        "Plugback did not send the whole backup"
    );
    check_restored(&sim.data.join("phone"), backup, "Plugback");
    sim.stop();
    Measured {
        wall,
        cpu_s: before.zip(after).map(|(b, a)| a - b),
        peak_mb: report["peak_kb"].as_f64().map(|kb| kb / 1024.0),
    }
}

/// `--restore-child MUX UDID BACKUP`: Plugback's restore and nothing else; prints one
/// JSON line with what it sent and its own peak memory.
fn restore_child(args: &[String]) {
    let [mux, udid, backup] = args else {
        panic!("--restore-child MUX UDID BACKUP");
    };
    let mux = Usbmuxd::new(MuxAddress::parse(mux).expect("a usbmuxd address"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let outcome = runtime.block_on(plugback_core::restore::ios::restore(
        &mux,
        udid,
        Path::new(backup),
        &IosRestoreOptions::default(),
        &Sink::discard(),
        &CancelToken::new(),
    ));
    match outcome {
        Ok(outcome) => println!(
            "{}",
            serde_json::json!({
                "bytes": outcome.bytes_sent,
                "files": outcome.files_sent,
                "peak_kb": peak_kb(None),
            })
        ),
        Err(e) => {
            eprintln!("restore failed: {} ({e})", e.code());
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------- idevicebackup2

/// Pairs with `idevicepair`, then restores with `idevicebackup2` (same choices as
/// Plugback's defaults), sampling its peak memory while it runs.
fn run_idevicebackup2(work: &Path, backup: &Backup, ticks: f64) -> Measured {
    let sim = SimProcess::start(work, "idevicebackup2");
    let paired = Command::new("idevicepair")
        .args(["-u", &sim.udid, "pair"])
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .stdout(Stdio::null())
        .status()
        .expect("run idevicepair");
    assert!(paired.success(), "idevicepair pair failed");
    let before = children_cpu(ticks);
    let start = Instant::now();
    let mut child = Command::new("idevicebackup2")
        .args(["-u", &sim.udid, "-s", SOURCE, "restore"])
        .arg(&backup.root)
        .env("USBMUXD_SOCKET_ADDRESS", &sim.address)
        .stdout(Stdio::null())
        .spawn()
        .expect("run idevicebackup2");
    let sampler = PeakSampler::start(child.id());
    let status = child.wait().expect("idevicebackup2 ends");
    let wall = start.elapsed();
    let after = children_cpu(ticks);
    let peak_kb = sampler.stop();
    assert!(status.success(), "idevicebackup2 restore failed: {status}");
    check_restored(&sim.data.join("phone"), backup, "idevicebackup2");
    sim.stop();
    Measured {
        wall,
        cpu_s: before.zip(after).map(|(b, a)| a - b),
        peak_mb: peak_kb.map(|kb| kb as f64 / 1024.0),
    }
}

/// Reads a running process's VmHWM every few milliseconds; keeps the last value read.
struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Option<u64>>,
}

impl PeakSampler {
    fn start(pid: u32) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = None;
            while !stopping.load(Ordering::SeqCst) {
                if let Some(kb) = peak_kb(Some(pid)) {
                    peak = Some(peak.map_or(kb, |p: u64| p.max(kb)));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        PeakSampler { stop, thread }
    }

    fn stop(self) -> Option<u64> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().ok().flatten()
    }
}

// ---------------------------------------------------------------- /proc

/// VmHWM (peak resident set) of `pid`, or of this process, in kB.
fn peak_kb(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system seconds of this process's reaped children (cutime + cstime), the figure
/// getrusage(RUSAGE_CHILDREN) gives, read from /proc so the bench needs no libc binding.
fn children_cpu(ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: the
    // 3rd field of the line (state) is the first here, so field n is at n - 3.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cutime: f64 = rest.get(16 - 3)?.parse().ok()?;
    let cstime: f64 = rest.get(17 - 3)?.parse().ok()?;
    Some((cutime + cstime) / ticks)
}

/// Clock ticks a second (`getconf CLK_TCK`); 100, Linux's fixed USER_HZ, if it cannot say.
/// Asked once at the start, so this child is reaped before any measurement.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .filter(|t: &f64| *t > 0.0)
        .unwrap_or(100.0)
}
