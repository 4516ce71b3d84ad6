//! The simulated iPhone against libimobiledevice's own tools: idevice_id, ideviceinfo and
//! idevicepair, pointed at the simulator with USBMUXD_SOCKET_ADDRESS.

use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::iphone::{IphoneConfig, SimIphone, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use plugback_sim::peers::require_tool;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Every tool run must end within this.
const TOOL_DEADLINE: Duration = Duration::from_secs(60);

pub const SECOND_UDID: &str = "00008101-000A2C3E0E90001E";

/// A usbmuxd with phones, in a temporary folder that also serves as the tools' HOME.
pub struct Rig {
    pub dir: TempDir,
    pub mux: SimUsbmuxd,
}

impl Rig {
    pub fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let mux = SimUsbmuxd::start(
            UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            &dir.path().join("usbmuxd"),
        )
        .unwrap();
        Rig { dir, mux }
    }

    pub fn config(&self, name: &str) -> IphoneConfig {
        IphoneConfig::new(self.dir.path().join(name))
    }

    pub fn add(&self, config: IphoneConfig) -> SimIphone {
        self.mux.add_iphone(config).unwrap()
    }

    pub fn home(&self) -> PathBuf {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        home
    }

    /// Runs `tool args` against this usbmuxd, with the rig's HOME.
    pub fn run(&self, tool: &Path, args: &[&str]) -> Ran {
        run_tool(tool, args, &self.mux.address().to_string(), &self.home())
    }
}

/// What a tool printed (stdout and stderr together) and its exit code.
pub struct Ran {
    pub code: Option<i32>,
    pub output: String,
}

impl Ran {
    /// Asserts the exit code and a piece of what the tool printed.
    pub fn assert_exit(&self, code: i32, says: &str) {
        assert_eq!(self.code, Some(code), "{}", self.output);
        assert!(
            self.output.contains(says),
            "{says:?} missing from:\n{}",
            self.output
        );
    }

    /// Asserts that each of `lines` is a whole line of what the tool printed.
    pub fn assert_lines(&self, lines: &[&str]) {
        for line in lines {
            assert!(
                self.output.lines().any(|l| l == *line),
                "{line:?} missing from:\n{}",
                self.output
            );
        }
    }
}

/// Runs `tool args` against `address` with a private HOME; kills it past the deadline.
pub fn run_tool(tool: &Path, args: &[&str], address: &str, home: &Path) -> Ran {
    let mut child = Command::new(tool)
        .args(args)
        .env("USBMUXD_SOCKET_ADDRESS", address)
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + TOOL_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} {args:?} did not finish within {TOOL_DEADLINE:?}",
                tool.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = out_reader.join().unwrap() + &err_reader.join().unwrap();
    Ran {
        code: status.code(),
        output,
    }
}

fn listed_udids(tool: &Path, rig: &Rig) -> Vec<String> {
    let ran = rig.run(tool, &["-l"]);
    assert_eq!(ran.code, Some(0), "idevice_id -l: {}", ran.output);
    ran.output
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn idevice_id_lists_every_phone_of_one_usbmuxd() {
    let Some(idevice_id) = require_tool("idevice_id") else {
        return;
    };
    let rig = Rig::new();
    let first = rig.add(rig.config("one"));
    assert_eq!(
        listed_udids(&idevice_id, &rig),
        vec![first.udid().to_string()]
    );
    let mut config = rig.config("two");
    config.udid = SECOND_UDID.into();
    let second = rig.add(config);
    assert_eq!(second.device_id(), first.device_id() + 1);
    let mut listed = listed_udids(&idevice_id, &rig);
    listed.sort();
    let mut expected = vec![first.udid().to_string(), SECOND_UDID.to_string()];
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn ideviceinfo_reads_general_values_one_key_and_the_battery() {
    let Some(ideviceinfo) = require_tool("ideviceinfo") else {
        return;
    };
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.name = "Test Phone".into();
    config.battery_percent = 57;
    config.charging = true;
    let phone = rig.add(config);
    // The first run pairs (trust is Accept), then opens a TLS session.
    let all = rig.run(&ideviceinfo, &[]);
    assert_eq!(all.code, Some(0), "{}", all.output);
    all.assert_lines(&[
        "DeviceName: Test Phone",
        "ProductType: iPhone15,2",
        "ProductVersion: 18.1",
        "BuildVersion: 22B83",
        "DeviceClass: iPhone",
        &format!("UniqueDeviceID: {}", phone.udid()),
    ]);

    let one = rig.run(&ideviceinfo, &["-k", "ProductVersion"]);
    assert_eq!((one.code, one.output.trim()), (Some(0), "18.1"));

    let battery = rig.run(&ideviceinfo, &["-q", "com.apple.mobile.battery"]);
    assert_eq!(battery.code, Some(0), "{}", battery.output);
    battery.assert_lines(&[
        "BatteryCurrentCapacity: 57",
        "BatteryIsCharging: true",
        "Temperature: 3000",
    ]);

    // A change through the handle shows in the next query.
    phone
        .control(ControlCommand::Battery {
            percent: 12,
            charging: Some(false),
        })
        .unwrap();
    let battery = rig.run(
        &ideviceinfo,
        &[
            "-q",
            "com.apple.mobile.battery",
            "-k",
            "BatteryCurrentCapacity",
        ],
    );
    assert_eq!(battery.output.trim(), "12");

    let disk = rig.run(
        &ideviceinfo,
        &["-q", "com.apple.disk_usage", "-k", "TotalDataAvailable"],
    );
    assert_eq!(disk.output.trim(), "64000000000");
}

#[test]
fn ideviceinfo_without_a_session_sees_only_public_values() {
    let Some(ideviceinfo) = require_tool("ideviceinfo") else {
        return;
    };
    let rig = Rig::new();
    rig.add(rig.config("phone"));
    let simple = rig.run(&ideviceinfo, &["-s"]);
    simple.assert_exit(0, "ProductVersion: 18.1");
    assert!(!simple.output.contains("SerialNumber"), "{}", simple.output);
    // No pairing happened: the simple mode never asks for one.
    assert!(
        !rig.dir
            .path()
            .join("usbmuxd")
            .join(format!(
                "{}.plist",
                plugback_sim::iphone::phone::DEFAULT_UDID
            ))
            .exists()
    );
}

#[test]
fn idevicepair_waits_for_the_trust_prompt_then_pairs_and_validates() {
    let Some(idevicepair) = require_tool("idevicepair") else {
        return;
    };
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.trust = TrustMode::Prompt;
    let phone = rig.add(config);
    let pending = rig.run(&idevicepair, &["pair"]);
    pending.assert_exit(1, "Please accept the trust dialog");
    assert!(
        phone
            .control(ControlCommand::Status)
            .unwrap()
            .contains("prompt=showing")
    );
    let record = rig
        .dir
        .path()
        .join("usbmuxd")
        .join(format!("{}.plist", phone.udid()));
    assert!(!record.exists());

    assert_eq!(
        phone.control(ControlCommand::Trust(Answer::Accept)),
        Ok("trust accepted".into())
    );
    let paired = rig.run(&idevicepair, &["pair"]);
    assert_eq!(paired.code, Some(0), "{}", paired.output);
    assert!(
        paired
            .output
            .contains(&format!("SUCCESS: Paired with device {}", phone.udid())),
        "{}",
        paired.output
    );

    let validated = rig.run(&idevicepair, &["validate"]);
    validated.assert_exit(0, "SUCCESS: Validated pairing");

    // The host's record in usbmuxd and the phone's own record, both owner-only.
    for path in [
        record.clone(),
        only_file_in(&phone.phone().data_dir().join("pairings")),
    ] {
        let meta = std::fs::metadata(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                path.display()
            );
        }
        assert!(
            meta.len() > 1000,
            "{} is too small for a pair record",
            path.display()
        );
    }
    let host_record = plist::Value::from_file(&record).unwrap();
    let host_record = host_record.as_dictionary().unwrap();
    assert!(
        host_record
            .get("EscrowBag")
            .and_then(plist::Value::as_data)
            .is_some_and(|b| b.len() >= 32)
    );
    assert_eq!(
        host_record
            .get("SystemBUID")
            .and_then(plist::Value::as_string),
        Some(rig.mux.buid())
    );
}

fn only_file_in(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn idevicepair_reports_a_denial_and_a_locked_phone() {
    let Some(idevicepair) = require_tool("idevicepair") else {
        return;
    };
    let rig = Rig::new();
    let mut config = rig.config("denies");
    config.trust = TrustMode::Deny;
    rig.add(config);
    let mut config = rig.config("locked");
    config.udid = SECOND_UDID.into();
    config.passcode_locked = true;
    rig.add(config);
    let denied = rig.run(
        &idevicepair,
        &["pair", "-u", plugback_sim::iphone::phone::DEFAULT_UDID],
    );
    denied.assert_exit(1, "the user denied the trust dialog");

    let locked = rig.run(&idevicepair, &["pair", "-u", SECOND_UDID]);
    locked.assert_exit(1, "passcode is set");
    assert_eq!(
        std::fs::read_dir(rig.dir.path().join("usbmuxd"))
            .unwrap()
            .count(),
        1,
        "only the BUID file"
    );
}

#[test]
fn an_unplugged_phone_leaves_the_list_until_plugged_back() {
    let Some(idevice_id) = require_tool("idevice_id") else {
        return;
    };
    let Some(ideviceinfo) = require_tool("ideviceinfo") else {
        return;
    };
    let rig = Rig::new();
    let phone = rig.add(rig.config("phone"));
    assert_eq!(
        listed_udids(&idevice_id, &rig),
        vec![phone.udid().to_string()]
    );
    assert_eq!(
        phone.control(ControlCommand::Unplug),
        Ok("unplugged".into())
    );
    assert!(listed_udids(&idevice_id, &rig).is_empty());
    let info = rig.run(&ideviceinfo, &["-u", phone.udid()]);
    assert_ne!(info.code, Some(0));
    assert!(info.output.contains("not found"), "{}", info.output);
    assert_eq!(phone.control(ControlCommand::Plug), Ok("plugged".into()));
    assert_eq!(
        listed_udids(&idevice_id, &rig),
        vec![phone.udid().to_string()]
    );
}

#[cfg(unix)]
#[test]
fn the_usbmuxd_also_listens_on_a_unix_socket() {
    let Some(idevice_id) = require_tool("idevice_id") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("usbmuxd.sock");
    let mux =
        SimUsbmuxd::start(UsbmuxdAddr::Unix(socket.clone()), &dir.path().join("state")).unwrap();
    let phone = mux
        .add_iphone(IphoneConfig::new(dir.path().join("phone")))
        .unwrap();
    // libusbmuxd takes a Unix socket as UNIX:<path>.
    let ran = run_tool(
        &idevice_id,
        &["-l"],
        &format!("UNIX:{}", socket.display()),
        dir.path(),
    );
    assert_eq!((ran.code, ran.output.trim()), (Some(0), phone.udid()));
    drop(mux);
    assert!(!socket.exists(), "stopping removes the socket file");
}

/// The `plugback-sim iphone` binary, driven as a script would.
struct Binary {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugback-sim"))
            .arg("iphone")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Binary { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the simulator printed no line in time")
    }

    fn send(&mut self, command: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        self.line()
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the simulator did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_binary_prints_ready_serves_and_obeys_stdin() {
    let Some(idevice_id) = require_tool("idevice_id") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut sim = Binary::start(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
        "--udid",
        SECOND_UDID,
        "--battery",
        "33",
    ]);
    let ready = sim.line();
    let address = ready
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("not a ready line: {ready:?}"));
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "{address}"
    );

    let listed = run_tool(&idevice_id, &["-l"], address, dir.path());
    assert_eq!((listed.code, listed.output.trim()), (Some(0), SECOND_UDID));

    let status = sim.send("status");
    assert!(
        status.starts_with("ok ")
            && status.contains("battery=33")
            && status.contains("plugged=yes"),
        "{status}"
    );
    assert_eq!(sim.send("unplug"), "ok unplugged");
    let listed = run_tool(&idevice_id, &["-l"], address, dir.path());
    assert_eq!((listed.code, listed.output.trim()), (Some(0), ""));
    assert!(sim.send("dance").starts_with("error unknown command"));
    assert!(sim.send("auth accept").starts_with("error "));
    assert_eq!(sim.send("plug"), "ok plugged");
    assert_eq!(sim.send("quit"), "ok quitting");
    assert_eq!(sim.wait_exit(), Some(0));
}

#[test]
fn the_binary_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    for (args, why) in [
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--data",
                data,
                "--fault",
                "explode=1",
            ],
            "unknown fault",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--data", data, "--ios", "9.3"],
            "10 or later",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--data",
                data,
                "--fault",
                "revoke-auth-after-bytes=5",
            ],
            "Android",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--data",
                data,
                "--trust",
                "maybe",
            ],
            "maybe",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_plugback-sim"))
            .arg("iphone")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("ready"));
    }
}

#[test]
fn iproxy_forwards_a_local_port_to_lockdownd() {
    let Some(iproxy) = require_tool("iproxy") else {
        return;
    };
    let rig = Rig::new();
    let phone = rig.add(rig.config("phone"));
    let local = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(iproxy)
        .args(["-u", phone.udid(), &format!("{local}:62078")])
        .env("USBMUXD_SOCKET_ADDRESS", rig.mux.address().to_string())
        .env("HOME", rig.home())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", local)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("iproxy never listened: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut query = Vec::new();
    plist::Value::Dictionary(
        [("Request".to_string(), plist::Value::from("QueryType"))]
            .into_iter()
            .collect(),
    )
    .to_writer_xml(&mut query)
    .unwrap();
    stream
        .write_all(&(query.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(&query).unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let reply = plist::Value::from_reader(std::io::Cursor::new(body)).unwrap();
    assert_eq!(
        reply.as_dictionary().unwrap().get("Type"),
        Some(&plist::Value::from("com.apple.mobile.lockdown"))
    );
}
