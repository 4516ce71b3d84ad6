//! How fast the simulated phones take data in, side by side with the real clients that
//! drive them and with `cat`.
//!
//! The simulators must never be what a Plugback benchmark measures: on loopback with no
//! rate limit, the simulated iPhone's restore path and the simulated Android phone's sync
//! receive path must each take at least 1 GB/s. This benchmark drives each path with a
//! minimal host written here (raw wire protocol, large writes, nothing else), so the figure
//! is the simulator's own, then times the real client on the same data:
//!
//! - iPhone: mobilebackup2 restore of a generated backup (in-process host) vs
//!   `idevicebackup2 restore` through the simulated usbmuxd and lockdownd, vs `cat` of the
//!   backup's blobs;
//! - Android: sync SEND of one large file (raw adb host over TCP) vs `adb push` through a
//!   private adb server, vs `cat` of the file.
//!
//! Run: `cargo bench -p plugback-sim --bench sim_throughput [-- --runs N --mib M]`.
//! It prints medians of N runs (default 7, of 512 MiB, after one uncounted warm-up run) with their range as a Markdown table, and how
//! many times faster the simulator's own path is than the real client's whole run.

use plist::Value;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::iphone::{IphoneConfig, Phone, ServiceContext, SimUsbmuxd, UsbmuxdAddr};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut runs = 7usize;
    let mut mib = 512u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--mib" => mib = args.next().and_then(|v| v.parse().ok()).unwrap_or(mib),
            _ => {} // cargo bench passes --bench
        }
    }
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/sim");
    std::fs::create_dir_all(&work).expect("create the benchmark folder");
    let work = work.canonicalize().expect("benchmark folder");

    let ios = ios_rows(&work, runs, mib);
    let android = android_rows(&work, runs, mib);

    println!();
    println!("| path | data | median MB/s (min–max) |");
    println!("|---|---|---|");
    for (label, bytes, rates, _) in ios.iter().chain(android.iter()) {
        let (lo, hi) = range(rates);
        println!(
            "| {label} | {} MB | {:.0} ({lo:.0}–{hi:.0}) |",
            bytes / 1_000_000,
            median(rates)
        );
    }
    for (platform, rows) in [("iPhone", &ios), ("Android", &android)] {
        let (_, _, _, cats) = &rows[0];
        let (lo, hi) = range(cats);
        println!(
            "| `cat` of the same {platform} data (warm cache) | {} MB | {:.0} ({lo:.0}–{hi:.0}) |",
            rows[0].1 / 1_000_000,
            median(cats)
        );
    }
    println!();
    for (platform, rows) in [("iPhone", &ios), ("Android", &android)] {
        if let [sim, client, ..] = rows.as_slice() {
            println!(
                "{platform}: the simulator's own path is {:.1}x the real client's whole run",
                median(&sim.2) / median(&client.2)
            );
        }
    }
    let _ = std::fs::remove_dir_all(phone_storage_root(&work));
}

fn range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

type Row = (String, u64, Vec<f64>, Vec<f64>);

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
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

/// `cat` of the files to /dev/null, warm cache: the disk-read anchor.
fn cat(files: &[PathBuf]) -> Duration {
    let start = Instant::now();
    let status = Command::new("cat")
        .args(files)
        .stdout(Stdio::null())
        .status()
        .expect("run cat");
    assert!(status.success());
    start.elapsed()
}

// ---------------------------------------------------------------- iPhone

fn ios_rows(work: &Path, runs: usize, mib: u64) -> Vec<Row> {
    const FILE_MIB: u64 = 4;
    let backup_root = work.join(format!("ios-{mib}mib"));
    let mut spec = Spec::new(Kind::Ios);
    spec.files = (mib / FILE_MIB) as usize;
    spec.file_size = FILE_MIB << 20;
    spec.seed = 7;
    if !backup_root.exists() {
        let partial = work.join("ios.partial");
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).unwrap();
        make_backup(&spec, &partial.join("source")).expect("generate the iPhone backup");
        std::fs::rename(&partial, &backup_root).unwrap();
    }
    let source = std::fs::read_dir(&backup_root)
        .unwrap()
        .flatten()
        .next()
        .expect("the backup folder")
        .file_name()
        .to_string_lossy()
        .into_owned();
    let backup = backup_root.join(&source);
    let blobs: Vec<PathBuf> = walk_files(&backup)
        .into_iter()
        .filter(|p| p.parent() != Some(backup.as_path()))
        .collect();
    let bytes: u64 = blobs.iter().map(|p| p.metadata().unwrap().len()).sum();

    let mut sim = Vec::new();
    let mut anchor = Vec::new();
    let mut cats = Vec::new();
    let have_tools = tool("idevicebackup2") && tool("idevicepair");
    // One run first that is not counted: it pays for first-touch memory and caches.
    restore_in_process(work, &backup_root, &source);
    for run in 0..runs {
        cats.push(mb_per_s(bytes, cat(&blobs)));
        sim.push(mb_per_s(
            bytes,
            restore_in_process(work, &backup_root, &source),
        ));
        if have_tools {
            anchor.push(mb_per_s(
                bytes,
                restore_with_idevicebackup2(work, &backup_root, &source),
            ));
        }
        eprintln!("iphone run {run}: sim {:.0} MB/s", sim[run]);
    }
    let mut rows = vec![(
        "iPhone restore, simulator path (raw host)".to_string(),
        bytes,
        sim,
        cats.clone(),
    )];
    if have_tools {
        rows.push((
            "iPhone restore, `idevicebackup2` through the simulator".to_string(),
            bytes,
            anchor,
            cats,
        ));
    } else {
        eprintln!("notice: idevicebackup2 is not installed; its row is left out");
    }
    rows
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn fresh_phone_dir(work: &Path, name: &str) -> PathBuf {
    let dir = phone_storage_root(work).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where the simulated phones keep their storage: in memory (/dev/shm) where the system
/// has it. A phone writes to its own flash, not to the computer's disk; on the disk the
/// figure would be the kernel's writeback of gigabytes, not the simulator.
fn phone_storage_root(work: &Path) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join("plugback-sim-bench")
    } else {
        work.to_path_buf()
    }
}

fn bench_iphone_config(data_dir: PathBuf) -> IphoneConfig {
    let mut config = IphoneConfig::new(data_dir);
    config.free_bytes = 1 << 40;
    config.total_bytes = 2 << 40;
    config
}

/// The simulated phone's mobilebackup2 service on one end of a loopback socket, and a
/// minimal host on the other that answers every DownloadFiles with 32 KiB frames.
fn restore_in_process(work: &Path, backup_root: &Path, source: &str) -> Duration {
    let phone_dir = fresh_phone_dir(work, "iphone-phone");
    let phone = std::sync::Arc::new(Phone::new(bench_iphone_config(phone_dir)));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let device = {
        let phone = phone.clone();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let ctx = ServiceContext {
                escrow_bag_given: true,
                host_id: "BENCH".into(),
            };
            plugback_sim::iphone::mobilebackup2::serve(&mut stream, &phone, &ctx)
                .map_err(|e| e.to_string())
        })
    };
    let udid = phone.config().udid;
    let start = Instant::now();
    let code = drive_restore(addr, backup_root, source, &udid).expect("restore host");
    let elapsed = start.elapsed();
    assert_eq!(code, 0, "the simulated restore failed");
    let _ = device.join();
    elapsed
}

fn dl(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn send_plist(w: &mut impl Write, value: &Value) -> io::Result<()> {
    let mut body = Vec::new();
    value
        .to_writer_binary(&mut body)
        .map_err(io::Error::other)?;
    w.write_all(&(body.len() as u32).to_be_bytes())?;
    w.write_all(&body)?;
    w.flush()
}

fn recv_plist(r: &mut impl Read) -> io::Result<Value> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut body)?;
    Value::from_reader(io::Cursor::new(body)).map_err(io::Error::other)
}

fn status_ok(w: &mut impl Write, value: Value) -> io::Result<()> {
    send_plist(
        w,
        &dl(vec![
            s("DLMessageStatusResponse"),
            Value::Integer(0.into()),
            s("___EmptyParameterString___"),
            value,
        ]),
    )
}

/// The host side of a mobilebackup2 restore, as small as the protocol allows. Returns
/// the phone's final ErrorCode.
fn drive_restore(addr: SocketAddr, root: &Path, source: &str, udid: &str) -> io::Result<i64> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut r = BufReader::with_capacity(1 << 16, stream.try_clone()?);
    let mut w = BufWriter::with_capacity(1 << 20, stream);
    let _version = recv_plist(&mut r)?;
    send_plist(
        &mut w,
        &dl(vec![
            s("DLMessageVersionExchange"),
            s("DLVersionsOk"),
            Value::Integer(400.into()),
        ]),
    )?;
    let _ready = recv_plist(&mut r)?;
    let mut hello = plist::Dictionary::new();
    hello.insert("MessageName".into(), s("Hello"));
    hello.insert(
        "SupportedProtocolVersions".into(),
        Value::Array(vec![Value::Real(2.0), Value::Real(2.1)]),
    );
    send_plist(
        &mut w,
        &dl(vec![s("DLMessageProcessMessage"), hello.into()]),
    )?;
    let _hello_reply = recv_plist(&mut r)?;
    let mut options = plist::Dictionary::new();
    options.insert("RestoreShouldReboot".into(), Value::Boolean(false));
    options.insert("RestoreSystemFiles".into(), Value::Boolean(true));
    options.insert("RestoreDontCopyBackup".into(), Value::Boolean(true));
    options.insert("RestorePreserveSettings".into(), Value::Boolean(true));
    let mut restore = plist::Dictionary::new();
    restore.insert("MessageName".into(), s("Restore"));
    restore.insert("TargetIdentifier".into(), s(udid));
    restore.insert("SourceIdentifier".into(), s(source));
    restore.insert("Options".into(), options.into());
    send_plist(
        &mut w,
        &dl(vec![s("DLMessageProcessMessage"), restore.into()]),
    )?;

    let mut chunk = vec![0u8; 32 * 1024];
    loop {
        let message = recv_plist(&mut r)?;
        let items = message.as_array().cloned().unwrap_or_default();
        let name = items.first().and_then(Value::as_string).unwrap_or("");
        match name {
            "DLMessageDownloadFiles" => {
                let paths = items
                    .get(1)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for path in paths.iter().filter_map(Value::as_string) {
                    w.write_all(&(path.len() as u32).to_be_bytes())?;
                    w.write_all(path.as_bytes())?;
                    match std::fs::File::open(root.join(path)) {
                        Ok(mut file) => loop {
                            let n = file.read(&mut chunk)?;
                            if n == 0 {
                                w.write_all(&1u32.to_be_bytes())?;
                                w.write_all(&[0x00])?;
                                break;
                            }
                            w.write_all(&(n as u32 + 1).to_be_bytes())?;
                            w.write_all(&[0x0C])?;
                            w.write_all(&chunk[..n])?;
                        },
                        Err(_) => {
                            let msg = b"No such file or directory";
                            w.write_all(&(msg.len() as u32 + 1).to_be_bytes())?;
                            w.write_all(&[0x06])?;
                            w.write_all(msg)?;
                        }
                    }
                }
                w.write_all(&0u32.to_be_bytes())?;
                status_ok(&mut w, Value::Dictionary(Default::default()))?;
            }
            "DLMessageGetFreeDiskSpace" => status_ok(&mut w, Value::Integer((1u64 << 40).into()))?,
            "DLMessageProcessMessage" => {
                let code = items
                    .get(1)
                    .and_then(Value::as_dictionary)
                    .and_then(|d| d.get("ErrorCode"))
                    .and_then(Value::as_signed_integer)
                    .unwrap_or(0);
                return Ok(code);
            }
            "DLMessageDisconnect" => return Ok(0),
            _ => status_ok(&mut w, Value::Dictionary(Default::default()))?,
        }
    }
}

/// The whole stack: `idevicepair pair`, then `idevicebackup2 restore` through the simulated
/// usbmuxd, lockdownd (TLS) and mobilebackup2.
fn restore_with_idevicebackup2(work: &Path, backup_root: &Path, source: &str) -> Duration {
    let phone_dir = fresh_phone_dir(work, "iphone-phone-tools");
    let state_dir = fresh_phone_dir(work, "iphone-usbmuxd");
    let usbmuxd = SimUsbmuxd::start(UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()), &state_dir)
        .expect("start the simulated usbmuxd");
    let iphone = usbmuxd
        .add_iphone(bench_iphone_config(phone_dir))
        .expect("add the simulated iPhone");
    let env = usbmuxd.address().to_string();
    let udid = iphone.udid().to_string();
    let ok = Command::new("idevicepair")
        .args(["-u", &udid, "pair"])
        .env("USBMUXD_SOCKET_ADDRESS", &env)
        .stdout(Stdio::null())
        .status()
        .expect("run idevicepair");
    assert!(ok.success(), "idevicepair pair failed");
    let start = Instant::now();
    let out = Command::new("idevicebackup2")
        .args([
            "-u",
            &udid,
            "-s",
            source,
            "restore",
            "--system",
            "--no-reboot",
        ])
        .arg(backup_root)
        .env("USBMUXD_SOCKET_ADDRESS", &env)
        .stdout(Stdio::null())
        .status()
        .expect("run idevicebackup2");
    let elapsed = start.elapsed();
    assert!(out.success(), "idevicebackup2 restore failed");
    elapsed
}

// ---------------------------------------------------------------- Android

fn android_rows(work: &Path, runs: usize, mib: u64) -> Vec<Row> {
    let file = work.join(format!("android-{mib}mib.bin"));
    if !file.exists() {
        let mut w = BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for b in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes());
            }
            w.write_all(&block).unwrap();
        }
        w.flush().unwrap();
    }
    let bytes = file.metadata().unwrap().len();
    let mut sim = Vec::new();
    let mut anchor = Vec::new();
    let mut cats = Vec::new();
    let have_adb = tool("adb");
    push_raw(work, &file); // not counted: first-touch memory and caches
    for run in 0..runs {
        cats.push(mb_per_s(bytes, cat(std::slice::from_ref(&file))));
        sim.push(mb_per_s(bytes, push_raw(work, &file)));
        if have_adb {
            anchor.push(mb_per_s(bytes, push_with_adb(work, &file)));
        }
        eprintln!("android run {run}: sim {:.0} MB/s", sim[run]);
    }
    let mut rows = vec![(
        "Android sync receive, simulator path (raw host)".to_string(),
        bytes,
        sim,
        cats.clone(),
    )];
    if have_adb {
        rows.push((
            "Android sync receive, `adb push` through the simulator".to_string(),
            bytes,
            anchor,
            cats,
        ));
    } else {
        eprintln!("notice: adb is not installed; its row is left out");
    }
    rows
}

fn bench_android(work: &Path, name: &str) -> SimAndroid {
    let mut config = AndroidConfig::new(fresh_phone_dir(work, name));
    config.free_bytes = 1 << 40;
    config.total_bytes = 2 << 40;
    SimAndroid::start(config, "127.0.0.1:0".parse().unwrap()).expect("start the simulated phone")
}

const A_CNXN: u32 = 0x4e58_4e43;
const A_OPEN: u32 = 0x4e45_504f;
const A_OKAY: u32 = 0x5941_4b4f;
const A_WRTE: u32 = 0x4554_5257;
const A_CLSE: u32 = 0x4553_4c43;

fn adb_send(w: &mut impl Write, cmd: u32, arg0: u32, arg1: u32, data: &[u8]) -> io::Result<()> {
    let mut header = [0u8; 24];
    for (i, v) in [cmd, arg0, arg1, data.len() as u32, 0, cmd ^ 0xffff_ffff]
        .into_iter()
        .enumerate()
    {
        header[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    w.write_all(&header)?;
    w.write_all(data)?;
    w.flush()
}

fn adb_recv(r: &mut impl Read) -> io::Result<(u32, u32, u32, Vec<u8>)> {
    let mut header = [0u8; 24];
    r.read_exact(&mut header)?;
    let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().unwrap());
    let mut data = vec![0u8; word(3) as usize];
    r.read_exact(&mut data)?;
    Ok((word(0), word(1), word(2), data))
}

/// One `sync:` SEND of the whole file over a raw adb connection: 64 KiB DATA chunks packed
/// into WRTE packets of the negotiated size, one in flight, as adb does.
fn push_raw(work: &Path, file: &Path) -> Duration {
    let sim = bench_android(work, "android-phone");
    let stream = TcpStream::connect(sim.address()).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut r = BufReader::with_capacity(1 << 16, stream.try_clone().unwrap());
    let mut w = BufWriter::with_capacity(2 << 20, stream);
    adb_send(
        &mut w,
        A_CNXN,
        0x0100_0001,
        1 << 20,
        b"host::features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,abb_exec",
    )
    .unwrap();
    let max_payload = loop {
        let (cmd, _, maxdata, _) = adb_recv(&mut r).unwrap();
        if cmd == A_CNXN {
            break maxdata.min(1 << 20) as usize;
        }
    };
    adb_send(&mut w, A_OPEN, 1, 0, b"sync:\0").unwrap();
    let (cmd, remote, _, _) = adb_recv(&mut r).unwrap();
    assert_eq!(cmd, A_OKAY, "sync: refused");

    let start = Instant::now();
    let mut pending = Vec::with_capacity(max_payload + 70_000);
    let send_packet =
        |payload: &[u8], w: &mut BufWriter<TcpStream>, r: &mut BufReader<TcpStream>| {
            adb_send(w, A_WRTE, 1, remote, payload).unwrap();
            loop {
                let (cmd, _, _, _) = adb_recv(r).unwrap();
                match cmd {
                    A_OKAY => break,
                    A_CLSE => panic!("the phone closed the sync stream"),
                    _ => {}
                }
            }
        };
    let target = b"/sdcard/bench.bin,33188";
    pending.extend_from_slice(b"SEND");
    pending.extend_from_slice(&(target.len() as u32).to_le_bytes());
    pending.extend_from_slice(target);
    let mut source = std::fs::File::open(file).unwrap();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = source.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        pending.extend_from_slice(b"DATA");
        pending.extend_from_slice(&(n as u32).to_le_bytes());
        pending.extend_from_slice(&chunk[..n]);
        while pending.len() >= max_payload {
            let rest = pending.split_off(max_payload);
            send_packet(&pending, &mut w, &mut r);
            pending = rest;
        }
    }
    pending.extend_from_slice(b"DONE");
    pending.extend_from_slice(&0u32.to_le_bytes());
    for piece in pending.chunks(max_payload) {
        send_packet(piece, &mut w, &mut r);
    }
    // The phone answers OKAY (or FAIL) once the file is in place.
    let reply = loop {
        let (cmd, local, _, data) = adb_recv(&mut r).unwrap();
        if cmd == A_WRTE {
            adb_send(&mut w, A_OKAY, 1, local, &[]).unwrap();
            break data;
        }
    };
    let elapsed = start.elapsed();
    assert_eq!(&reply[..4], b"OKAY", "the phone refused the push");
    elapsed
}

/// `adb push` through a private adb server (own HOME and port), to the simulated phone.
fn push_with_adb(work: &Path, file: &Path) -> Duration {
    let sim = bench_android(work, "android-phone-adb");
    let home = fresh_phone_dir(work, "adb-home");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let adb = |args: &[&str]| {
        Command::new("adb")
            .args(args)
            .env("HOME", &home)
            .env("ANDROID_ADB_SERVER_PORT", port.to_string())
            .env("ADB_MDNS", "0")
            .env("ADB_EMU", "0")
            .env("ADB_USB", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .output()
            .expect("run adb")
    };
    adb(&["start-server"]);
    let serial = sim.address().to_string();
    adb(&["connect", &serial]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = String::from_utf8_lossy(&adb(&["devices"]).stdout).into_owned();
        if out
            .lines()
            .any(|l| l.starts_with(&serial) && l.ends_with("\tdevice"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "adb never saw the phone: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let start = Instant::now();
    let out = adb(&[
        "-s",
        &serial,
        "push",
        &file.to_string_lossy(),
        "/sdcard/bench.bin",
    ]);
    let elapsed = start.elapsed();
    adb(&["kill-server"]);
    assert!(out.status.success(), "adb push failed");
    elapsed
}
