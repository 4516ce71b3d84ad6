//! `plugback doctor`: what it reports with nothing installed, with a simulated usbmuxd and
//! a private adb server, and that it ends on this computer without a panic.

use plugback_sim::peers::{AdbServer, free_port};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// doctor bounds each probe by seconds; this only keeps a broken build from hanging CI.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `plugback args…` with a private HOME and the given environment, killed at the
/// deadline.
fn doctor(args: &[&str], home: &Path, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugback"));
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in vars {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("plugback starts");
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("plugback doctor did not end within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} check: {doc:#}"))
}

/// A PATH and system program folders with neither usbmuxd nor adb, usbmuxd named at a
/// closed port, and the adb server's port free.
struct Bare {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    vars: Vec<(&'static str, String)>,
}

impl Bare {
    fn new() -> Bare {
        let dir = tempfile::tempdir().unwrap();
        let (home, bin, sbin) = (
            dir.path().join("home"),
            dir.path().join("bin"),
            dir.path().join("sbin"),
        );
        for folder in [&home, &bin, &sbin] {
            std::fs::create_dir_all(folder).unwrap();
        }
        let vars = vec![
            ("PATH", bin.display().to_string()),
            ("PLUGBACK_DOCTOR_SBIN", sbin.display().to_string()),
            (
                "USBMUXD_SOCKET_ADDRESS",
                format!("127.0.0.1:{}", free_port()),
            ),
            ("ANDROID_ADB_SERVER_PORT", free_port().to_string()),
        ];
        Bare {
            _dir: dir,
            home,
            vars,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        doctor(args, &self.home, &vars)
    }
}

#[test]
fn doctor_reports_missing_usbmuxd_and_adb_with_fixes() {
    let bare = Bare::new();
    let out = bare.run(&["doctor", "--json"]);
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["worst"], "problem");
    let findings = doc["findings"].as_array().unwrap();
    let codes: Vec<&str> = findings
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"doctor-adb-missing"), "{codes:?}");
    assert!(codes.contains(&"doctor-usbmuxd-missing"), "{codes:?}");
    assert!(codes.contains(&"doctor-usbmuxd-not-running"), "{codes:?}");
    for finding in findings {
        let fix = finding["fix"].as_str().unwrap_or("");
        assert!(!fix.is_empty(), "{finding}");
        assert!(finding["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let adb = check(&doc, "adb-installed");
    assert_eq!(adb["status"], "problem", "{adb}");
    assert_eq!(adb["code"], "doctor-adb-missing");
    let running = check(&doc, "usbmuxd-running");
    assert_eq!(running["status"], "problem", "{running}");
    assert!(
        running["detail"]
            .as_str()
            .unwrap()
            .contains("USBMUXD_SOCKET_ADDRESS"),
        "{running}"
    );
    assert_eq!(check(&doc, "adb-server")["code"], "doctor-adb-server-down");
}

#[test]
fn doctor_in_words_puts_each_fix_under_its_check() {
    let bare = Bare::new();
    let out = bare.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let adb = lines
        .iter()
        .position(|l| l.starts_with("problem  adb installed:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(lines[adb + 1].trim_start().starts_with("fix: "), "{text}");
    if cfg!(target_os = "linux") {
        assert!(lines[adb + 1].contains("apt install adb"), "{text}");
    }
    // The summary counts the problems: at least adb and usbmuxd.
    let summary = lines.last().unwrap();
    let problems: usize = summary
        .split(" problem")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(problems >= 2, "{text}");
}

#[test]
fn doctor_sees_a_running_usbmuxd_and_adb_server() {
    let Some(adb_server) = AdbServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mux = super::sim_usbmuxd(dir.path());
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let bin = adb_server.adb().parent().unwrap().display().to_string();
    let port = adb_server.port().to_string();
    let mux_address = mux.address().to_string();
    let out = doctor(
        &["doctor", "--json"],
        &home,
        &[
            ("PATH", &bin),
            ("USBMUXD_SOCKET_ADDRESS", &mux_address),
            ("ANDROID_ADB_SERVER_PORT", &port),
        ],
    );
    let doc = json_of(&out);
    assert_ne!(out.status.code(), Some(2), "{doc:#}");
    for id in [
        "usbmuxd-running",
        "usbmuxd-reachable",
        "adb-installed",
        "adb-version",
    ] {
        assert_eq!(check(&doc, id)["status"], "ok", "{id}: {doc:#}");
    }
    let reachable = check(&doc, "usbmuxd-reachable")["detail"].as_str().unwrap();
    assert!(reachable.contains(&mux_address), "{reachable}");
    let server = check(&doc, "adb-server");
    assert_eq!(server["status"], "ok", "{server}");
    let detail = server["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("127.0.0.1:{port}")), "{detail}");
    // adb 29 and later speak protocol 41; the server and `adb version` agree.
    let version = check(&doc, "adb-version")["detail"].as_str().unwrap();
    let protocol = version
        .split(',')
        .next()
        .unwrap()
        .rsplit('.')
        .next()
        .unwrap();
    assert!(
        detail.ends_with(&format!("protocol version {protocol}")),
        "{detail} / {version}"
    );
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes
            .iter()
            .any(|c| c.starts_with("doctor-adb") || *c == "doctor-usbmuxd-not-running"),
        "{codes:?}"
    );
}

/// On this computer as it is (a container without USB or D-Bus in CI): a line per check,
/// a fix under each that is not ok, and no panic.
#[test]
fn doctor_runs_on_this_computer_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = doctor(&["doctor"], dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let statuses = ["ok ", "info ", "warning ", "problem "];
    let checks: Vec<usize> = (0..lines.len())
        .filter(|&i| statuses.iter().any(|s| lines[i].starts_with(s)))
        .collect();
    assert!(checks.len() >= 6, "{text}");
    for i in checks {
        if !lines[i].starts_with("ok ") {
            assert!(lines[i + 1].trim_start().starts_with("fix: "), "{text}");
        }
    }
    for name in [
        "usbmuxd running",
        "adb installed",
        "keeping the computer awake",
        "desktop notifications",
    ] {
        assert!(text.contains(name), "{name}: {text}");
    }
}

#[test]
fn diagnostics_are_one_redacted_zip_with_the_logs_and_the_doctors_report() {
    let bare = Bare::new();
    // A restore's log, as a job writes it, in Plugback's data folder.
    let logs = bare.home.join("data/plugback/logs");
    std::fs::create_dir_all(&logs).unwrap();
    let udid = "00008110-001A2B3C4D5E6F70";
    let home = bare.home.display().to_string();
    std::fs::write(
        logs.join(format!("restore-{udid}.jsonl")),
        format!(
            "{}\n",
            serde_json::json!({
                "at": "2026-11-25T10:00:00Z",
                "event": "lost",
                "device": udid,
                "device_name": "Noor's iPhone",
                "backup": format!("{home}/Backups/{udid}"),
                "what_happened": "Noor's iPhone was unplugged",
            })
        ),
    )
    .unwrap();
    let out_file = bare.home.join("diagnostics.zip");
    let out = bare.run(&["diagnostics", "--out", out_file.to_str().unwrap(), "--json"]);
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(
        (doc["ok"].as_bool(), doc["logs"].as_u64()),
        (Some(true), Some(1)),
        "{doc:#}"
    );

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out_file).unwrap()).unwrap();
    let mut everything = String::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        everything.push_str(&format!("== {}\n", entry.name().unwrap()));
        entry.read_to_string(&mut everything).unwrap();
    }
    for private in [udid, "Noor", home.as_str()] {
        assert!(
            !everything.contains(private),
            "{private} is in the export:\n{everything}"
        );
    }
    assert!(everything.contains("== logs/job-1.jsonl"), "{everything}");
    assert!(
        everything.contains("\"device\":\"phone-1\""),
        "{everything}"
    );
    assert!(everything.contains("~/Backups/phone-1"), "{everything}");
    // The doctor's findings come along: here adb and usbmuxd are missing.
    assert!(everything.contains("doctor-adb-missing"), "{everything}");

    // A place that cannot be written is said, with a fix.
    let nowhere = bare.home.join("no/such/folder/d.zip");
    let out = bare.run(&["diagnostics", "--out", nowhere.to_str().unwrap(), "--json"]);
    let doc = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{doc:#}");
    assert_eq!(doc["error"]["code"], "diagnostics-not-written");
    assert!(
        doc["error"]["fix"].as_str().is_some_and(|f| !f.is_empty()),
        "{doc:#}"
    );
}

/// The udev rules the package installs are the ones doctor looks for: with only that file
/// in a rule folder, both rule checks pass.
#[test]
fn doctor_recognises_the_udev_rules_plugback_installs() {
    use plugback_core::doctor::udev;
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/linux/70-plugback.rules");
    let text = std::fs::read_to_string(&shipped).expect("the packaged rules");
    assert!(udev::is_iphone_rule(&text), "an iPhone rule");
    assert!(
        udev::is_android_access_rule(&text),
        "an Android access rule"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&shipped, dir.path().join("70-plugback.rules")).unwrap();
    let checks = udev::check(&[dir.path().to_path_buf()]);
    assert_eq!(checks.len(), 2);
    for check in &checks {
        assert!(check.finding().is_none(), "{check:?}");
    }
}
