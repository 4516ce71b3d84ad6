//! The commands the phone's shell knows, with the output formats of Android 14's toybox,
//! `dumpsys` and `cmd package`. Every path goes through [`Storage`](crate::android::Storage).

use crate::android::install::InstallError;
use crate::android::sim::Device;
use crate::android::{AndroidConfig, AuthMode};
use std::fmt::Write as _;
use std::fs::Metadata;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a command produced: exit status, stdout, stderr.
pub(crate) type Outcome = (i32, Vec<u8>, Vec<u8>);

struct Out {
    out: String,
    err: String,
}

impl Out {
    fn new() -> Self {
        Out {
            out: String::new(),
            err: String::new(),
        }
    }

    fn done(self, code: i32) -> Outcome {
        (code, self.out.into_bytes(), self.err.into_bytes())
    }
}

fn fail(message: String, code: i32) -> Outcome {
    (code, Vec::new(), format!("{message}\n").into_bytes())
}

/// Runs one command with its arguments.
pub(crate) fn run(device: &Device, argv: &[String], stdin: &mut dyn Read) -> Outcome {
    let Some(name) = argv.first() else {
        return (0, Vec::new(), Vec::new());
    };
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    match name.as_str() {
        "true" | ":" => (0, Vec::new(), Vec::new()),
        "false" => (1, Vec::new(), Vec::new()),
        "exit" => (
            args.first().and_then(|a| a.parse().ok()).unwrap_or(0),
            Vec::new(),
            Vec::new(),
        ),
        "echo" => echo(&args),
        "sleep" => sleep(&args),
        "id" => (
            0,
            b"uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),\
1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),\
3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs) \
context=u:r:shell:s0\n"
                .to_vec(),
            Vec::new(),
        ),
        "whoami" => (0, b"shell\n".to_vec(), Vec::new()),
        "getprop" => getprop(&device.phone.config(), &args),
        "dumpsys" => dumpsys(&device.phone.config(), &args),
        "df" => df(&device.phone.config(), &args),
        "stat" => stat(device, &args),
        "ls" => ls(device, &args),
        "cat" => cat(device, &args, stdin),
        "mkdir" => mkdir(device, &args),
        "rm" => rm(device, &args),
        "grep" => grep(&args, stdin),
        "wc" => wc(&args, stdin),
        "head" => head(&args, stdin),
        "pm" => package(device, &args, stdin, "pm"),
        "cmd" => match args.split_first() {
            Some((&"package", rest)) => package(device, rest, stdin, "cmd"),
            Some((service, _)) => fail(format!("cmd: Can't find service: {service}"), 20),
            None => fail(
                "cmd: No service specified; use -l to list all services".into(),
                20,
            ),
        },
        other => fail(
            format!("/system/bin/sh: {other}: inaccessible or not found"),
            127,
        ),
    }
}

fn echo(args: &[&str]) -> Outcome {
    let (newline, words) = match args.first() {
        Some(&"-n") => (false, &args[1..]),
        _ => (true, args),
    };
    let mut out = words.join(" ");
    if newline {
        out.push('\n');
    }
    (0, out.into_bytes(), Vec::new())
}

fn sleep(args: &[&str]) -> Outcome {
    match args.first().and_then(|a| a.parse::<f64>().ok()) {
        Some(seconds) if (0.0..=3600.0).contains(&seconds) => {
            std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
            (0, Vec::new(), Vec::new())
        }
        _ => fail("sleep: needs 1 argument".into(), 1),
    }
}

/// The system properties of the configured phone.
fn properties(config: &AndroidConfig) -> Vec<(String, String)> {
    let brand = config.manufacturer.to_lowercase();
    let fingerprint = format!(
        "{brand}/{}/{}:{}/UP1A.231105.001/10817346:user/release-keys",
        config.product, config.device, config.android_version
    );
    let mut props: Vec<(String, String)> = [
        ("ro.product.model", config.model.clone()),
        ("ro.product.manufacturer", config.manufacturer.clone()),
        ("ro.product.brand", brand),
        ("ro.product.name", config.product.clone()),
        ("ro.product.device", config.device.clone()),
        ("ro.product.board", config.device.clone()),
        ("ro.product.cpu.abi", "arm64-v8a".into()),
        ("ro.product.cpu.abilist", "arm64-v8a".into()),
        ("ro.product.locale", "en-US".into()),
        ("ro.build.product", config.device.clone()),
        ("ro.build.version.release", config.android_version.clone()),
        ("ro.build.version.sdk", config.sdk.to_string()),
        ("ro.build.version.security_patch", "2023-11-05".into()),
        ("ro.build.id", "UP1A.231105.001".into()),
        ("ro.build.type", "user".into()),
        ("ro.build.tags", "release-keys".into()),
        ("ro.build.fingerprint", fingerprint),
        ("ro.serialno", config.serial.clone()),
        ("ro.boot.serialno", config.serial.clone()),
        ("ro.hardware", config.device.clone()),
        ("ro.secure", "1".into()),
        ("ro.debuggable", "0".into()),
        (
            "ro.adb.secure",
            if config.auth == AuthMode::None {
                "0"
            } else {
                "1"
            }
            .into(),
        ),
        ("sys.boot_completed", "1".into()),
        ("sys.usb.config", "adb".into()),
        ("sys.usb.state", "adb".into()),
        ("persist.sys.timezone", "UTC".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    props.sort();
    props
}

fn getprop(config: &AndroidConfig, args: &[&str]) -> Outcome {
    let props = properties(config);
    match args {
        [] => {
            let mut out = String::new();
            for (key, value) in &props {
                let _ = writeln!(out, "[{key}]: [{value}]");
            }
            (0, out.into_bytes(), Vec::new())
        }
        [key, rest @ ..] => {
            let value = props
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .or(rest.first().copied())
                .unwrap_or("");
            (0, format!("{value}\n").into_bytes(), Vec::new())
        }
    }
}

fn dumpsys(config: &AndroidConfig, args: &[&str]) -> Outcome {
    match args.first() {
        Some(&"battery") => (0, battery(config).into_bytes(), Vec::new()),
        Some(service) => (
            0,
            format!("Can't find service: {service}\n").into_bytes(),
            Vec::new(),
        ),
        None => fail(
            "dumpsys: give a service name (this phone dumps only battery)".into(),
            1,
        ),
    }
}

/// `dumpsys battery` as Android 14 prints it.
fn battery(config: &AndroidConfig) -> String {
    // BatteryManager: 2 charging, 3 discharging, 5 full.
    let status = match (config.charging, config.battery_percent) {
        (true, 100) => 5,
        (true, _) => 2,
        (false, _) => 3,
    };
    let tenths = (config.temperature_c * 10.0).round() as i32;
    let mut out = String::from("Current Battery Service state:\n");
    for (key, value) in [
        ("AC powered", "false".to_string()),
        ("USB powered", config.charging.to_string()),
        ("Wireless powered", "false".into()),
        ("Dock powered", "false".into()),
        (
            "Max charging current",
            if config.charging { "500000" } else { "0" }.into(),
        ),
        (
            "Max charging voltage",
            if config.charging { "5000000" } else { "0" }.into(),
        ),
        (
            "Charge counter",
            (u32::from(config.battery_percent) * 46_000).to_string(),
        ),
        ("status", status.to_string()),
        ("health", "2".into()),
        ("present", "true".into()),
        ("level", config.battery_percent.to_string()),
        ("scale", "100".into()),
        (
            "voltage",
            (3_600 + u32::from(config.battery_percent) * 6).to_string(),
        ),
        ("temperature", tenths.to_string()),
        ("technology", "Li-ion".into()),
        (
            "Charging state",
            if config.charging { "1" } else { "0" }.into(),
        ),
        ("Charging policy", "1".into()),
        ("Capacity level", "-1".into()),
    ] {
        let _ = writeln!(out, "  {key}: {value}");
    }
    out
}

/// One mounted file system, as `df` lists it.
struct Mount {
    device: &'static str,
    point: &'static str,
    total: u64,
    free: u64,
}

fn mounts(config: &AndroidConfig) -> Vec<Mount> {
    let total = config.total_bytes.max(1);
    let free = config.free_bytes.min(total);
    vec![
        Mount {
            device: "/dev/block/dm-7",
            point: "/",
            total: 1_010_000_000,
            free: 3_000_000,
        },
        Mount {
            device: "tmpfs",
            point: "/dev",
            total: 3_900_000_000,
            free: 3_898_000_000,
        },
        Mount {
            device: "/dev/block/dm-48",
            point: "/data",
            total,
            free,
        },
        Mount {
            device: "/dev/fuse",
            point: "/storage/emulated",
            total,
            free,
        },
    ]
}

/// Splits toybox-style arguments into the letters of every option (`-la -h` → "lah")
/// and the operands; a lone `-` is an operand, as toybox reads it.
fn split_options<'a>(args: &[&'a str]) -> (String, Vec<&'a str>) {
    let (options, operands): (Vec<&str>, Vec<&str>) =
        args.iter().partition(|a| a.starts_with('-') && a.len() > 1);
    let letters = options.iter().map(|a| &a[1..]).collect();
    (letters, operands)
}

fn df(config: &AndroidConfig, args: &[&str]) -> Outcome {
    let (flags, paths) = split_options(args);
    let human = flags.contains('h');
    let all = mounts(config);
    let mut chosen: Vec<&Mount> = Vec::new();
    let mut out = Out::new();
    if paths.is_empty() {
        chosen.extend(all.iter());
    }
    for path in &paths {
        let normal = path.replacen("/sdcard", "/storage/emulated/0", 1);
        if !normal.starts_with('/') {
            out.err
                .push_str(&format!("df: {path}: No such file or directory\n"));
            continue;
        }
        if let Some(mount) = all
            .iter()
            .filter(|m| {
                normal == m.point
                    || normal.starts_with(&format!("{}/", m.point.trim_end_matches('/')))
            })
            .max_by_key(|m| m.point.len())
        {
            chosen.push(mount);
        }
    }
    if human {
        out.out
            .push_str("Filesystem        Size Used Avail Use% Mounted on\n");
    } else {
        out.out
            .push_str("Filesystem        1K-blocks     Used Available Use% Mounted on\n");
    }
    for mount in chosen {
        let used = mount.total - mount.free;
        let percent = (used * 100).div_ceil(mount.total.max(1));
        if human {
            let _ = writeln!(
                out.out,
                "{:<16} {:>5} {:>4} {:>5} {:>3}% {}",
                mount.device,
                human_size(mount.total),
                human_size(used),
                human_size(mount.free),
                percent,
                mount.point
            );
        } else {
            let _ = writeln!(
                out.out,
                "{:<16} {:>10} {:>8} {:>9} {:>3}% {}",
                mount.device,
                mount.total / 1024,
                used / 1024,
                mount.free / 1024,
                percent,
                mount.point
            );
        }
    }
    let code = if out.err.is_empty() { 0 } else { 1 };
    out.done(code)
}

/// toybox's human-readable sizes: 1024-based, one decimal below 10.
fn human_size(bytes: u64) -> String {
    let units = ["", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}")
    } else if value < 10.0 {
        format!("{value:.1}{}", units[unit])
    } else {
        format!("{value:.0}{}", units[unit])
    }
}

/// Resolves a phone path or reports the failure as `cmd: 'path': reason`.
fn resolve(device: &Device, command: &str, path: &str) -> Result<PathBuf, String> {
    device
        .phone
        .storage()
        .resolve(path)
        .map_err(|_| format!("{command}: {path}: No such file or directory"))
}

/// The owner a file shows: the shell user in the places adb may write, root elsewhere.
fn owner(device: &Device, path: &str) -> (u32, &'static str) {
    if device.phone.storage().is_writable(path) {
        (2000, "shell")
    } else {
        (0, "root")
    }
}

#[cfg(unix)]
fn mode_of(meta: &Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    meta.mode()
}

#[cfg(not(unix))]
fn mode_of(meta: &Metadata) -> u32 {
    if meta.is_dir() { 0o040771 } else { 0o100660 }
}

fn permissions(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        _ => '-',
    };
    let mut text = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

fn unix_time(time: std::io::Result<std::time::SystemTime>) -> (i64, u32) {
    time.ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs() as i64, d.subsec_nanos()))
}

fn format_time((seconds, nanos): (i64, u32), with_nanos: bool) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    );
    if with_nanos {
        let _ = write!(text, ":{:02}.{nanos:09} +0000", at.second());
    }
    text
}

fn file_kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symbolic link"
    } else if meta.len() == 0 {
        "regular empty file"
    } else {
        "regular file"
    }
}

fn stat(device: &Device, args: &[&str]) -> Outcome {
    let mut format: Option<String> = None;
    let mut follow = false;
    let mut paths = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match *arg {
            "-c" => match iter.next() {
                Some(f) => format = Some(f.to_string()),
                None => return fail("stat: Needs 1 argument".into(), 1),
            },
            "-L" => follow = true,
            _ if arg.starts_with("-c") => format = Some(arg[2..].to_string()),
            _ => paths.push(*arg),
        }
    }
    if paths.is_empty() {
        return fail("stat: Needs 1 argument".into(), 1);
    }
    let mut out = Out::new();
    let mut code = 0;
    for path in paths {
        let meta = resolve(device, "stat", path).ok().and_then(|host| {
            if follow {
                std::fs::metadata(host).ok()
            } else {
                std::fs::symlink_metadata(host).ok()
            }
        });
        let Some(meta) = meta else {
            let _ = writeln!(out.err, "stat: '{path}': No such file or directory");
            code = 1;
            continue;
        };
        let line = match &format {
            Some(format) => stat_format(device, path, &meta, format),
            None => stat_default(device, path, &meta),
        };
        out.out.push_str(&line);
        out.out.push('\n');
    }
    out.done(code)
}

fn stat_fields(meta: &Metadata) -> (u64, u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.nlink(), meta.blocks())
    }
    #[cfg(not(unix))]
    {
        (0, 1, meta.len().div_ceil(512))
    }
}

fn stat_default(device: &Device, path: &str, meta: &Metadata) -> String {
    let mode = mode_of(meta);
    let (inode, links, blocks) = stat_fields(meta);
    let (uid, user) = owner(device, path);
    format!(
        "  File: {path}\n  Size: {}\t Blocks: {blocks}\t IO Blocks: 4096\t {}\n\
         Device: fe30h/65072d\t Inode: {inode}\t Links: {links}\t Device type: 0,0\n\
         Access: ({:04o}/{})\tUid: ({uid:5}/{user:>8})\tGid: ({uid:5}/{user:>8})\n\
         Access: {}\nModify: {}\nChange: {}",
        meta.len(),
        file_kind(meta),
        mode & 0o7777,
        permissions(mode),
        format_time(unix_time(meta.accessed()), true),
        format_time(unix_time(meta.modified()), true),
        format_time(unix_time(meta.modified()), true),
    )
}

/// `stat -c`: the toybox escapes Plugback and common scripts use.
fn stat_format(device: &Device, path: &str, meta: &Metadata, format: &str) -> String {
    let mode = mode_of(meta);
    let (inode, links, blocks) = stat_fields(meta);
    let (uid, user) = owner(device, path);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push('%');
            break;
        };
        let accessed = unix_time(meta.accessed());
        let modified = unix_time(meta.modified());
        match escape {
            '%' => out.push('%'),
            'n' | 'N' => out.push_str(path),
            's' => out.push_str(&meta.len().to_string()),
            'b' => out.push_str(&blocks.to_string()),
            'B' => out.push_str("512"),
            'o' => out.push_str("4096"),
            'a' => out.push_str(&format!("{:o}", mode & 0o7777)),
            'A' => out.push_str(&permissions(mode)),
            'f' => out.push_str(&format!("{mode:x}")),
            'F' => out.push_str(file_kind(meta)),
            'h' => out.push_str(&links.to_string()),
            'i' => out.push_str(&inode.to_string()),
            'u' | 'g' => out.push_str(&uid.to_string()),
            'U' | 'G' => out.push_str(user),
            'X' => out.push_str(&accessed.0.to_string()),
            'Y' | 'Z' => out.push_str(&modified.0.to_string()),
            'x' => out.push_str(&format_time(accessed, true)),
            'y' | 'z' => out.push_str(&format_time(modified, true)),
            other => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

fn ls(device: &Device, args: &[&str]) -> Outcome {
    let (flags, mut paths) = split_options(args);
    let long = flags.contains('l');
    let all = flags.contains('a');
    if paths.is_empty() {
        paths.push("/");
    }
    let mut out = Out::new();
    let mut code = 0;
    let several = paths.len() > 1;
    for (index, path) in paths.iter().enumerate() {
        let host = match resolve(device, "ls", path) {
            Ok(host) => host,
            Err(e) => {
                let _ = writeln!(out.err, "{e}");
                code = 1;
                continue;
            }
        };
        let Ok(meta) = std::fs::metadata(&host) else {
            let _ = writeln!(out.err, "ls: {path}: No such file or directory");
            code = 1;
            continue;
        };
        if !meta.is_dir() {
            out.out.push_str(&ls_line(device, path, path, &meta, long));
            continue;
        }
        let mut names: Vec<String> = match std::fs::read_dir(&host) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| all || !n.starts_with('.'))
                .collect(),
            Err(_) => {
                let _ = writeln!(out.err, "ls: {path}: Permission denied");
                code = 1;
                continue;
            }
        };
        names.sort();
        if several {
            if index > 0 {
                out.out.push('\n');
            }
            let _ = writeln!(out.out, "{path}:");
        }
        if long {
            let blocks: u64 = names
                .iter()
                .filter_map(|n| std::fs::symlink_metadata(host.join(n)).ok())
                .map(|m| stat_fields(&m).2 / 2)
                .sum();
            let _ = writeln!(out.out, "total {blocks}");
        }
        for name in names {
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            if let Ok(meta) = std::fs::symlink_metadata(host.join(&name)) {
                out.out
                    .push_str(&ls_line(device, &child, &name, &meta, long));
            }
        }
    }
    out.done(code)
}

fn ls_line(device: &Device, path: &str, shown: &str, meta: &Metadata, long: bool) -> String {
    if !long {
        return format!("{shown}\n");
    }
    let (_, user) = owner(device, path);
    let (_, links, _) = stat_fields(meta);
    format!(
        "{} {links} {user} {user} {} {} {shown}\n",
        permissions(mode_of(meta)),
        meta.len(),
        format_time(unix_time(meta.modified()), false)
    )
}

fn cat(device: &Device, args: &[&str], stdin: &mut dyn Read) -> Outcome {
    let mut out = Vec::new();
    let mut err = String::new();
    if args.is_empty() {
        let _ = stdin.read_to_end(&mut out);
        return (0, out, Vec::new());
    }
    let mut code = 0;
    for path in args {
        match resolve(device, "cat", path).and_then(|host| {
            std::fs::read(&host).map_err(|e| {
                let why = if host.is_dir() {
                    "Is a directory".to_string()
                } else if e.kind() == std::io::ErrorKind::NotFound {
                    "No such file or directory".to_string()
                } else {
                    e.to_string()
                };
                format!("cat: {path}: {why}")
            })
        }) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => {
                let _ = writeln!(err, "{e}");
                code = 1;
            }
        }
    }
    (code, out, err.into_bytes())
}

/// Why a write is refused where the phone is read-only for adb.
fn write_refusal(path: &str) -> &'static str {
    if ["/system", "/vendor", "/product", "/apex"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
        || path == "/"
    {
        "Read-only file system"
    } else {
        "Permission denied"
    }
}

fn mkdir(device: &Device, args: &[&str]) -> Outcome {
    let (flags, paths) = split_options(args);
    let parents = flags.contains('p');
    if paths.is_empty() {
        return fail("mkdir: Needs 1 argument".into(), 1);
    }
    let mut out = Out::new();
    let mut code = 0;
    for path in paths {
        let host = match device.phone.storage().resolve(path) {
            Ok(host) => host,
            Err(_) => {
                let _ = writeln!(out.err, "mkdir: '{path}': No such file or directory");
                code = 1;
                continue;
            }
        };
        if host.is_dir() && parents {
            continue;
        }
        if !device.phone.storage().is_writable(path) {
            let _ = writeln!(out.err, "mkdir: '{path}': {}", write_refusal(path));
            code = 1;
            continue;
        }
        let result = if parents {
            std::fs::create_dir_all(&host)
        } else {
            std::fs::create_dir(&host)
        };
        if let Err(e) = result {
            let why = match e.kind() {
                std::io::ErrorKind::AlreadyExists => "File exists".to_string(),
                std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
                _ => e.to_string(),
            };
            let _ = writeln!(out.err, "mkdir: '{path}': {why}");
            code = 1;
        }
    }
    out.done(code)
}

fn rm(device: &Device, args: &[&str]) -> Outcome {
    let (flags, paths) = split_options(args);
    let recursive = flags.contains('r') || flags.contains('R');
    let force = flags.contains('f');
    let mut out = Out::new();
    let mut code = 0;
    for path in paths {
        let host = match device.phone.storage().resolve(path) {
            Ok(host) => host,
            Err(_) => {
                if !force {
                    let _ = writeln!(out.err, "rm: {path}: No such file or directory");
                    code = 1;
                }
                continue;
            }
        };
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            if !force {
                let _ = writeln!(out.err, "rm: {path}: No such file or directory");
                code = 1;
            }
            continue;
        };
        if !device.phone.storage().is_writable(path) || host == device.phone.storage().root() {
            let _ = writeln!(out.err, "rm: {path}: {}", write_refusal(path));
            code = 1;
            continue;
        }
        let result = if meta.is_dir() {
            if !recursive {
                let _ = writeln!(out.err, "rm: {path}: Is a directory");
                code = 1;
                continue;
            }
            std::fs::remove_dir_all(&host)
        } else {
            std::fs::remove_file(&host)
        };
        if let Err(e) = result {
            let _ = writeln!(out.err, "rm: {path}: {e}");
            code = 1;
        }
    }
    out.done(code)
}

/// Reads stdin as text lines, for the filters.
fn input_lines(stdin: &mut dyn Read) -> Vec<String> {
    let mut bytes = Vec::new();
    let _ = stdin.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `grep [-v] [-i] [-c] [-F] PATTERN`: fixed-string matching on stdin.
fn grep(args: &[&str], stdin: &mut dyn Read) -> Outcome {
    let (flags, operands) = split_options(args);
    let Some(pattern) = operands.first() else {
        return fail("grep: no pattern".into(), 2);
    };
    let (invert, ignore_case, count) = (
        flags.contains('v'),
        flags.contains('i'),
        flags.contains('c'),
    );
    let needle = if ignore_case {
        pattern.to_lowercase()
    } else {
        pattern.to_string()
    };
    let matched: Vec<String> = input_lines(stdin)
        .into_iter()
        .filter(|line| {
            let hay = if ignore_case {
                line.to_lowercase()
            } else {
                line.clone()
            };
            hay.contains(&needle) != invert
        })
        .collect();
    let code = if matched.is_empty() { 1 } else { 0 };
    let out = if count {
        format!("{}\n", matched.len())
    } else {
        matched.iter().map(|l| format!("{l}\n")).collect()
    };
    (code, out.into_bytes(), Vec::new())
}

fn wc(args: &[&str], stdin: &mut dyn Read) -> Outcome {
    if args != ["-l"] {
        return fail("wc: this phone counts lines only (wc -l)".into(), 1);
    }
    (
        0,
        format!("{}\n", input_lines(stdin).len()).into_bytes(),
        Vec::new(),
    )
}

fn head(args: &[&str], stdin: &mut dyn Read) -> Outcome {
    let count = match args {
        [] => 10,
        ["-n", n] => n.parse().unwrap_or(10),
        [flag] if flag.starts_with("-n") => flag[2..].parse().unwrap_or(10),
        [flag] if flag.starts_with('-') => flag[1..].parse().unwrap_or(10),
        _ => return fail("head: this phone reads stdin only".into(), 1),
    };
    let lines: String = input_lines(stdin)
        .into_iter()
        .take(count)
        .map(|l| format!("{l}\n"))
        .collect();
    (0, lines.into_bytes(), Vec::new())
}

/// `pm …` and `cmd package …`.
fn package(device: &Device, args: &[&str], stdin: &mut dyn Read, tool: &str) -> Outcome {
    let Some((verb, rest)) = args.split_first() else {
        return fail(format!("{tool}: no command given"), 1);
    };
    let result = match *verb {
        "list" => return list_packages(device, rest),
        "path" => {
            return match rest.first().and_then(|p| device.installs.path_of(p)) {
                Some(path) => (0, format!("package:{path}\n").into_bytes(), Vec::new()),
                None => (1, Vec::new(), Vec::new()),
            };
        }
        "install-create" => device
            .installs
            .create_session()
            .map(|id| format!("Success: created install session [{id}]"))
            .map_err(InstallError::from),
        "install-write" => install_write(device, rest, stdin),
        "install-commit" => session_arg(rest).and_then(|id| {
            device
                .installs
                .commit(id, None)
                .map(|_| "Success".to_string())
        }),
        "install-abandon" => session_arg(rest)
            .and_then(|id| device.installs.abandon(id).map(|()| "Success".to_string())),
        "install" => install(device, rest, stdin),
        "uninstall" => match rest.iter().rev().find(|a| !a.starts_with('-')) {
            Some(name) => device
                .installs
                .uninstall(name)
                .map(|()| "Success".to_string()),
            None => Err(InstallError::Usage(
                "Error: package name not specified".into(),
            )),
        },
        other => Err(InstallError::Usage(format!("Unknown command: {other}"))),
    };
    match result {
        Ok(line) => (0, format!("{line}\n").into_bytes(), Vec::new()),
        Err(InstallError::Usage(message)) => fail(message, 255),
        Err(failure) => (1, format!("{failure}\n").into_bytes(), Vec::new()),
    }
}

fn list_packages(device: &Device, args: &[&str]) -> Outcome {
    if args.first() != Some(&"packages") {
        return fail("Error: unknown list type".into(), 255);
    }
    let options: Vec<&str> = args[1..]
        .iter()
        .copied()
        .filter(|a| a.starts_with('-'))
        .collect();
    let filter = args[1..].iter().find(|a| !a.starts_with('-'));
    let third_party_only = options.contains(&"-3");
    let with_paths = options.contains(&"-f");
    let installed: Vec<String> = device
        .installs
        .installed()
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut out = String::new();
    for name in device.installs.package_names() {
        if third_party_only && !installed.contains(&name) {
            continue;
        }
        if filter.is_some_and(|f| !name.contains(*f)) {
            continue;
        }
        if with_paths {
            let path = device.installs.path_of(&name).unwrap_or_default();
            let _ = writeln!(out, "package:{path}={name}");
        } else {
            let _ = writeln!(out, "package:{name}");
        }
    }
    (0, out.into_bytes(), Vec::new())
}

fn session_arg(args: &[&str]) -> Result<u32, InstallError> {
    args.iter()
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| InstallError::Usage("Error: invalid session id".into()))
}

/// The value of `-S SIZE` among the options, and the other words.
fn size_option<'a>(args: &[&'a str]) -> Result<(Option<u64>, Vec<&'a str>), InstallError> {
    let mut size = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match *arg {
            "-S" => {
                size = Some(
                    iter.next()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| InstallError::Usage("Error: invalid size".into()))?,
                )
            }
            // Options that take a value and do not matter here.
            "--user" | "-i" | "--install-location" | "-p" | "--originating-uri" | "--referrer"
            | "--abi" | "--pkg" => {
                iter.next();
            }
            _ => rest.push(*arg),
        }
    }
    Ok((size, rest))
}

/// `install-write [-S SIZE] SESSION NAME [PATH|-]`.
fn install_write(
    device: &Device,
    args: &[&str],
    stdin: &mut dyn Read,
) -> Result<String, InstallError> {
    let (size, words) = size_option(args)?;
    let words: Vec<&str> = words
        .into_iter()
        .filter(|w| !w.starts_with('-') || *w == "-")
        .collect();
    let (Some(session), Some(name)) = (words.first(), words.get(1)) else {
        return Err(InstallError::Usage(
            "Error: install-write needs SESSION NAME".into(),
        ));
    };
    let session: u32 = session
        .parse()
        .map_err(|_| InstallError::Usage("Error: invalid session id".into()))?;
    let free = device.phone.config().free_bytes;
    let written = match words.get(2) {
        None | Some(&"-") => {
            let size = size.ok_or_else(|| {
                InstallError::Usage("Error: must specify an APK size when streaming".into())
            })?;
            device
                .installs
                .write_split(session, name, size, free, stdin)?
        }
        Some(path) => {
            let host = device
                .phone
                .storage()
                .resolve(path)
                .map_err(|e| InstallError::Usage(format!("Error: Unable to open file: {e}")))?;
            let mut file = std::fs::File::open(&host)
                .map_err(|_| InstallError::Usage(format!("Error: Unable to open file: {path}")))?;
            let len = file.metadata()?.len();
            device
                .installs
                .write_split(session, name, size.unwrap_or(len), free, &mut file)?
        }
    };
    Ok(format!("Success: streamed {written} bytes"))
}

/// `install -S SIZE` (the APK on stdin) or `install PATH` (a file already on the phone).
fn install(device: &Device, args: &[&str], stdin: &mut dyn Read) -> Result<String, InstallError> {
    let (size, words) = size_option(args)?;
    let path = words.iter().find(|w| !w.starts_with('-'));
    let session = device.installs.create_session()?;
    let free = device.phone.config().free_bytes;
    let written = match (size, path) {
        (_, Some(path)) => {
            let host: PathBuf = device
                .phone
                .storage()
                .resolve(path)
                .map_err(|_| InstallError::Failure("INSTALL_FAILED_INVALID_URI".into()))?;
            match std::fs::File::open(Path::new(&host)) {
                Ok(mut file) => {
                    let len = file.metadata()?.len();
                    device
                        .installs
                        .write_split(session, "base.apk", len, free, &mut file)
                }
                Err(_) => Err(InstallError::Failure("INSTALL_FAILED_INVALID_URI".into())),
            }
        }
        (Some(size), None) => device
            .installs
            .write_split(session, "base.apk", size, free, stdin),
        (None, None) => Err(InstallError::Usage(
            "Error: must either specify a package size or an APK file".into(),
        )),
    };
    if let Err(e) = written {
        let _ = device.installs.abandon(session);
        return Err(e);
    }
    let hint = path.and_then(|p| p.rsplit('/').next());
    device
        .installs
        .commit(session, hint)
        .map(|_| "Success".to_string())
}
