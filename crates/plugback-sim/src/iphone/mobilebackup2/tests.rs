//! The device side driven in-process by a small host written from the protocol (the
//! real-client checks live in tests/peers/).

use super::*;
use crate::iphone::IphoneConfig;
use crate::make_backup::{Kind, Spec, make_backup};
use plist::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

const SOURCE: &str = "SRCUDID";

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// A host like idevicebackup2, minus the lockdown part.
struct Host {
    stream: UnixStream,
    root: PathBuf,
    device: Option<JoinHandle<Result<(), Mobilebackup2Error>>>,
    sent_files: Vec<String>,
    progress: Vec<f64>,
}

impl Host {
    fn start(phone: &Arc<Phone>, ctx: ServiceContext, root: &Path) -> Host {
        let (host, mut device) = UnixStream::pair().unwrap();
        device
            .set_read_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        host.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let phone = phone.clone();
        let handle = std::thread::spawn(move || serve(&mut device, &phone, &ctx));
        let mut host = Host {
            stream: host,
            root: root.to_path_buf(),
            device: Some(handle),
            sent_files: Vec::new(),
            progress: Vec::new(),
        };
        let exchange = host.recv();
        assert_eq!(exchange[0].as_string(), Some("DLMessageVersionExchange"));
        assert_eq!(exchange[1].as_unsigned_integer(), Some(300));
        host.send(Value::Array(vec![
            s("DLMessageVersionExchange"),
            s("DLVersionsOk"),
            Value::from(400u64),
        ]));
        assert_eq!(host.recv()[0].as_string(), Some("DLMessageDeviceReady"));
        host
    }

    fn send(&mut self, value: Value) {
        crate::iphone::plist_frame::write_binary_plist(&mut self.stream, &value).unwrap();
    }

    fn recv(&mut self) -> Vec<Value> {
        crate::iphone::plist_frame::read_plist(&mut self.stream, u32::MAX)
            .unwrap()
            .into_array()
            .unwrap()
    }

    fn process(&mut self, dict: Vec<(&str, Value)>) {
        let dict: Dictionary = dict.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        self.send(Value::Array(vec![
            s("DLMessageProcessMessage"),
            Value::Dictionary(dict),
        ]));
    }

    fn hello(&mut self, versions: &[f64]) -> Dictionary {
        let versions = versions.iter().map(|v| Value::Real(*v)).collect();
        self.process(vec![
            ("MessageName", s("Hello")),
            ("SupportedProtocolVersions", Value::Array(versions)),
        ]);
        let reply = self.recv();
        assert_eq!(reply[0].as_string(), Some("DLMessageProcessMessage"));
        reply[1].as_dictionary().unwrap().clone()
    }

    fn request(&mut self, name: &str, options: Vec<(&str, Value)>) -> Dictionary {
        let options: Dictionary = options
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        self.process(vec![
            ("MessageName", s(name)),
            ("TargetIdentifier", s("00008120-001C2D3E4F5A6B7C")),
            ("SourceIdentifier", s(SOURCE)),
            ("Options", Value::Dictionary(options)),
        ]);
        self.dl_loop()
    }

    /// Serves the phone's DL messages until its final Response.
    fn dl_loop(&mut self) -> Dictionary {
        loop {
            let message = self.recv();
            let name = message[0].as_string().unwrap().to_string();
            match name.as_str() {
                "DLMessageDownloadFiles" => {
                    self.progress.push(message[3].as_real().unwrap());
                    self.send_files(&message[1]);
                }
                "DLMessageUploadFiles" => self.receive_files(),
                "DLMessageGetFreeDiskSpace" => self.status(0, Value::from(1u64 << 40)),
                "DLMessageCreateDirectory" => {
                    fs::create_dir_all(self.root.join(message[1].as_string().unwrap())).unwrap();
                    self.status(0, s(devicelink::EMPTY_PARAMETER));
                }
                "DLMessageMoveItems" => {
                    for (from, to) in message[1].as_dictionary().unwrap() {
                        let to = self.root.join(to.as_string().unwrap());
                        fs::rename(self.root.join(from), to).unwrap();
                    }
                    self.status(0, Value::Dictionary(Dictionary::new()));
                }
                "DLMessageRemoveItems" => {
                    for path in message[1].as_array().unwrap() {
                        let path = self.root.join(path.as_string().unwrap());
                        let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
                    }
                    self.status(0, Value::Dictionary(Dictionary::new()));
                }
                "DLMessageProcessMessage" => return message[1].as_dictionary().unwrap().clone(),
                other => panic!("unexpected {other}"),
            }
        }
    }

    fn status(&mut self, code: i64, detail: Value) {
        // As libimobiledevice does: the code as a 64-bit unsigned integer.
        self.send(Value::Array(vec![
            s("DLMessageStatusResponse"),
            Value::from(code as u64),
            s(if code == 0 {
                devicelink::EMPTY_PARAMETER
            } else {
                "Multi status"
            }),
            detail,
        ]));
    }

    fn send_files(&mut self, paths: &Value) {
        let mut failures = Dictionary::new();
        let mut wire = Vec::new();
        for path in paths.as_array().unwrap() {
            let path = path.as_string().unwrap();
            self.sent_files.push(path.to_string());
            wire.extend_from_slice(&(path.len() as u32).to_be_bytes());
            wire.extend_from_slice(path.as_bytes());
            match fs::read(self.root.join(path)) {
                Ok(bytes) => {
                    for chunk in bytes.chunks(32768) {
                        wire.extend_from_slice(&(chunk.len() as u32 + 1).to_be_bytes());
                        wire.push(transfer::CODE_FILE_DATA);
                        wire.extend_from_slice(chunk);
                    }
                    wire.extend_from_slice(&1u32.to_be_bytes());
                    wire.push(transfer::CODE_SUCCESS);
                }
                Err(e) => {
                    let text = e.to_string();
                    wire.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
                    wire.push(transfer::CODE_ERROR_LOCAL);
                    wire.extend_from_slice(text.as_bytes());
                    let mut entry = Dictionary::new();
                    entry.insert("DLFileErrorCode".into(), Value::from((-6i64) as u64));
                    entry.insert("DLFileErrorString".into(), s(&text));
                    failures.insert(path.to_string(), Value::Dictionary(entry));
                }
            }
        }
        wire.extend_from_slice(&0u32.to_be_bytes());
        self.stream.write_all(&wire).unwrap();
        if failures.is_empty() {
            self.status(0, Value::Dictionary(Dictionary::new()));
        } else {
            self.status(-13, Value::Dictionary(failures));
        }
    }

    fn read_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.stream.read_exact(&mut b).unwrap();
        u32::from_be_bytes(b)
    }

    fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.stream.read_exact(&mut b).unwrap();
        b
    }

    fn receive_files(&mut self) {
        loop {
            let dlen = self.read_u32();
            if dlen == 0 {
                break;
            }
            self.read_bytes(dlen as usize);
            let flen = self.read_u32() as usize;
            let name = String::from_utf8(self.read_bytes(flen)).unwrap();
            let mut content = Vec::new();
            loop {
                let len = self.read_u32() as usize;
                let code = self.read_bytes(1)[0];
                let body = self.read_bytes(len - 1);
                match code {
                    transfer::CODE_FILE_DATA => content.extend_from_slice(&body),
                    transfer::CODE_SUCCESS => break,
                    other => panic!("code {other}"),
                }
            }
            fs::write(self.root.join(name), content).unwrap();
        }
        self.status(0, Value::Dictionary(Dictionary::new()));
    }

    fn finish(mut self) -> Result<(), Mobilebackup2Error> {
        self.send(Value::Array(vec![
            s("DLMessageDisconnect"),
            s(devicelink::EMPTY_PARAMETER),
        ]));
        let device = self.device.take().unwrap();
        drop(self);
        device.join().unwrap()
    }
}

fn phone_with(dir: &Path, change: impl FnOnce(&mut IphoneConfig)) -> Arc<Phone> {
    let mut config = IphoneConfig::new(dir.join("phone"));
    config.ios_version = "18.1".into();
    change(&mut config);
    Arc::new(Phone::new(config))
}

fn unlocked() -> ServiceContext {
    ServiceContext {
        escrow_bag_given: true,
        host_id: "HOST".into(),
    }
}

fn backup(root: &Path, password: Option<&str>, files: usize) {
    let mut spec = Spec::new(Kind::Ios);
    spec.password = password.map(str::to_string);
    spec.files = files;
    spec.file_size = 40_000;
    make_backup(&spec, &root.join(SOURCE)).unwrap();
}

/// A folder holding a generated backup named SOURCE, a phone, and a host serving that
/// folder to it.
fn restore_rig(password: Option<&str>, files: usize) -> (tempfile::TempDir, Arc<Phone>, Host) {
    let dir = tempfile::tempdir().unwrap();
    backup(dir.path(), password, files);
    let phone = phone_with(dir.path(), |_| {});
    let host = Host::start(&phone, unlocked(), dir.path());
    (dir, phone, host)
}

fn assert_succeeded(response: &Dictionary) {
    assert_eq!(code(response), 0, "{}", description(response));
}

/// Asserts a refusal with `expected` code whose description says `text`.
fn assert_refused(response: &Dictionary, expected: u64, text: &str, case: &str) {
    let description = description(response);
    assert_eq!(code(response), expected, "{case}: {description}");
    assert!(description.contains(text), "{case}: {description}");
    assert!(
        description.ends_with(&format!("(MBErrorDomain/{expected})")),
        "{case}: {description}"
    );
}

/// What the restore of the backup in `backup` must produce.
fn expected_files(backup: &Path, password: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    restore_check::expected_files(backup, password).unwrap()
}

fn restored_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    restore_check::files_under(root).unwrap()
}

fn code(response: &Dictionary) -> u64 {
    response["ErrorCode"].as_unsigned_integer().unwrap()
}

fn description(response: &Dictionary) -> String {
    response
        .get("ErrorDescription")
        .and_then(Value::as_string)
        .unwrap_or("")
        .to_string()
}

#[test]
fn hello_picks_the_highest_common_version_or_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone_with(dir.path(), |_| {});
    let mut host = Host::start(&phone, unlocked(), dir.path());
    let reply = host.hello(&[2.0, 2.1]);
    assert_eq!(code(&reply), 0);
    assert_eq!(reply["ProtocolVersion"].as_real(), Some(2.1));
    let reply = host.hello(&[1.0, 3.5]);
    assert_eq!(code(&reply), 1);
    host.finish().unwrap();
}

#[test]
fn a_plain_restore_writes_every_file_while_reporting_rising_progress() {
    let (dir, phone, mut host) = restore_rig(None, 40);
    host.hello(&[2.0, 2.1]);
    let response = host.request(
        "Restore",
        vec![("RestoreShouldReboot", Value::Boolean(false))],
    );
    assert_succeeded(&response);
    let first: Vec<String> = host.sent_files[..4].to_vec();
    assert_eq!(
        first,
        [
            "Status.plist",
            "Manifest.plist",
            "Manifest.db",
            "Info.plist"
        ]
        .map(|f| format!("{SOURCE}/{f}"))
    );
    assert!(host.progress.len() > 5, "{:?}", host.progress);
    assert!(
        host.progress.windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        host.progress
    );
    host.finish().unwrap();

    let expected = expected_files(&dir.path().join(SOURCE), None);
    assert_eq!(restored_files(&phone.restored_dir()), expected);
    let link = phone
        .restored_dir()
        .join("AppDomain-com.example.notes/Documents/latest.jpg");
    assert_eq!(
        fs::read_link(link).unwrap().to_string_lossy(),
        "Fotos/Caf\u{e9} \u{2615}.jpg"
    );
}

#[test]
fn an_encrypted_restore_decrypts_to_the_plain_twin() {
    let (dir, phone, mut host) = restore_rig(Some("secret pw"), 8);
    let twin = tempfile::tempdir().unwrap();
    backup(twin.path(), None, 8);
    let response = host.request("Restore", vec![("Password", s("secret pw"))]);
    assert_succeeded(&response);
    drop(host);
    let plain = expected_files(&twin.path().join(SOURCE), None);
    assert_eq!(restored_files(&phone.restored_dir()), plain);
    // The check decrypts as the phone does, to the same files.
    assert_eq!(
        expected_files(&dir.path().join(SOURCE), Some("secret pw")),
        plain
    );
    assert!(matches!(
        restore_check::expected_files(&dir.path().join(SOURCE), Some("wrong")),
        Err(restore_check::RestoreCheckError::WrongPassword)
    ));
}

#[test]
fn each_check_refuses_with_its_code() {
    /// (name, password, phone change, escrow bag given, expected code, description text)
    type Case = (
        &'static str,
        Option<&'static str>,
        fn(&mut IphoneConfig),
        bool,
        u64,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "no password",
            None,
            |_| {},
            true,
            errors::BAD_PASSWORD,
            "password is required",
        ),
        (
            "wrong password",
            Some("nope"),
            |_| {},
            true,
            errors::BAD_PASSWORD,
            "Invalid password",
        ),
        (
            "locked",
            Some("pw"),
            |c| c.passcode_locked = true,
            true,
            errors::LOCKED,
            "device locked",
        ),
        (
            "no escrow bag",
            Some("pw"),
            |_| {},
            false,
            errors::LOCKED,
            "device locked",
        ),
        (
            "find my",
            Some("pw"),
            |c| c.find_my = true,
            true,
            errors::FIND_MY,
            "Find My",
        ),
        (
            "older phone",
            Some("pw"),
            |c| c.ios_version = "16.7".into(),
            true,
            errors::NEWER_IOS,
            "newer",
        ),
        (
            "full phone",
            Some("pw"),
            |c| c.free_bytes = 1000,
            true,
            errors::NO_SPACE,
            "free space",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("backups");
    backup(&root, Some("pw"), 0);
    for (name, password, change, escrow, expected, text) in cases {
        let phone_dir = tempfile::tempdir().unwrap();
        let phone = phone_with(phone_dir.path(), change);
        let ctx = ServiceContext {
            escrow_bag_given: escrow,
            host_id: String::new(),
        };
        let mut host = Host::start(&phone, ctx, &root);
        let options = password
            .map(|p| vec![("Password", s(p))])
            .unwrap_or_default();
        let response = host.request("Restore", options);
        assert_refused(&response, expected, text, name);
        host.finish().unwrap();
        assert!(!phone.restored_dir().exists(), "{name}: nothing is written");
    }
}

#[test]
fn damaged_backups_are_refused_with_205() {
    type Damage = fn(&Path);
    let damages: Vec<(&str, Damage, &str)> = vec![
        (
            "unfinished",
            |b| {
                let mut status = Value::from_file(b.join("Status.plist")).unwrap();
                status
                    .as_dictionary_mut()
                    .unwrap()
                    .insert("SnapshotState".into(), s("uploading"));
                status.to_file_binary(b.join("Status.plist")).unwrap();
            },
            "not complete",
        ),
        (
            "empty manifest",
            |b| fs::write(b.join("Manifest.plist"), b"").unwrap(),
            "zero-length",
        ),
        (
            "empty database",
            |b| fs::write(b.join("Manifest.db"), b"").unwrap(),
            "Error reading backup database",
        ),
        (
            "garbage database",
            |b| fs::write(b.join("Manifest.db"), b"SQLite format 3\0 and then nothing").unwrap(),
            "Error reading backup database",
        ),
        (
            "truncated blob",
            |b| {
                let id = "3d0d7e5fb2ce288813306e4d4636395e047a3d28"; // HomeDomain sms.db
                let path = b.join(&id[..2]).join(id);
                let bytes = fs::read(&path).unwrap();
                fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
            },
            "does not match the backup",
        ),
        (
            "missing blob",
            |b| {
                let id = "3d0d7e5fb2ce288813306e4d4636395e047a3d28";
                fs::remove_file(b.join(&id[..2]).join(id)).unwrap();
            },
            "Multiple errors downloading files",
        ),
    ];
    for (name, damage, text) in damages {
        let (dir, _phone, mut host) = restore_rig(None, 0);
        damage(&dir.path().join(SOURCE));
        let response = host.request("Restore", vec![]);
        assert_refused(&response, errors::BAD_BACKUP, text, name);
        host.finish().unwrap();
    }
}

#[test]
fn a_backup_uploads_every_file_and_restores_back() {
    let (_dir, phone, mut host) = restore_rig(None, 4);
    assert_eq!(code(&host.request("Restore", vec![])), 0);
    drop(host);

    // The phone backs its restored files up into a new folder named SOURCE.
    let out = tempfile::tempdir().unwrap();
    let mut host = Host::start(&phone, unlocked(), out.path());
    let response = host.request("Backup", vec![]);
    assert_succeeded(&response);
    host.finish().unwrap();
    let folder = out.path().join("00008120-001C2D3E4F5A6B7C");
    for name in ["Manifest.db", "Manifest.plist", "Status.plist"] {
        assert!(folder.join(name).is_file(), "{name}");
    }
    assert!(!folder.join("Snapshot").exists());
    let status = Value::from_file(folder.join("Status.plist")).unwrap();
    assert_eq!(
        status.as_dictionary().unwrap()["SnapshotState"].as_string(),
        Some("finished")
    );
    let before = restored_files(&phone.restored_dir());
    assert_eq!(expected_files(&folder, None), before);

    // And that backup restores onto a second phone, byte for byte.
    fs::rename(&folder, out.path().join(SOURCE)).unwrap();
    let second_dir = tempfile::tempdir().unwrap();
    let second = phone_with(second_dir.path(), |_| {});
    let mut host = Host::start(&second, unlocked(), out.path());
    let response = host.request("Restore", vec![]);
    assert_succeeded(&response);
    drop(host);
    assert_eq!(restored_files(&second.restored_dir()), before);
}

#[test]
fn info_and_list_answer_with_content() {
    let (_dir, _phone, mut host) = restore_rig(None, 0);
    let info = host.request("Info", vec![]);
    assert_eq!(code(&info), 0);
    let text = info["Content"].as_string().unwrap();
    assert!(text.contains("Product Version: 17.5.1"), "{text}");
    assert!(text.contains("Snapshot State: finished"), "{text}");
    let list = host.request("List", vec![]);
    let csv = list["Content"].as_string().unwrap();
    assert!(csv.starts_with("Domain,RelativePath,FileID,Flags,Size\n"));
    assert!(
        csv.contains(
            "HomeDomain,Library/SMS/sms.db,3d0d7e5fb2ce288813306e4d4636395e047a3d28,1,65537"
        ),
        "{csv}"
    );
    let unknown = host.request("Unback", vec![]);
    assert_eq!(code(&unknown), errors::UNSUPPORTED);
    host.finish().unwrap();
}

#[test]
fn hostile_paths_are_recorded_and_the_connection_closed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a").join("backups");
    backup(&root, None, 0);
    fs::write(dir.path().join("a").join(hostile::PARENT_NAME), b"leak me").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join(SOURCE).join(hostile::LINK_NAME))
        .unwrap();
    let phone = phone_with(dir.path(), |c| {
        c.faults.push(crate::fault::Fault::HostilePaths)
    });
    let mut host = Host::start(&phone, unlocked(), &root);
    host.process(vec![
        ("MessageName", s("Restore")),
        ("TargetIdentifier", s("x")),
        ("SourceIdentifier", s(SOURCE)),
    ]);
    let message = host.recv();
    host.send_files(&message[1]);
    // The oversized frame: this naive host reads its header and hangs up.
    let len = host.read_u32();
    assert!(len > 0xF000_0000);
    let device = host.device.take().unwrap();
    drop(host);
    device.join().unwrap().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(phone.data_dir().join(hostile::REPORT_NAME)).unwrap())
            .unwrap();
    let outcome = |kind: &str| {
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .map(|r| {
                (
                    r["outcome"].as_str().unwrap().to_string(),
                    r["bytes_sent"].as_u64().unwrap(),
                )
            })
            .unwrap()
    };
    // This host does not confine paths: it leaks the parent's file and follows the link.
    assert_eq!(outcome("parent-directory"), ("sent".to_string(), 7));
    assert_eq!(outcome("symlink-out").0, "sent");
    assert_eq!(outcome("overlong-name").0, "refused");
    assert_eq!(
        report["oversized_frame"]["outcome"],
        "host closed the connection"
    );
}

#[test]
fn malformed_input_closes_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let phone = phone_with(dir.path(), |_| {});
    for garbage in [
        b"\x00\x00\x00\x05hello".to_vec(),
        u32::MAX.to_be_bytes().to_vec(),
        b"\x00\x00".to_vec(),
    ] {
        let (mut host, mut device) = UnixStream::pair().unwrap();
        let phone = phone.clone();
        let device =
            std::thread::spawn(move || serve(&mut device, &phone, &ServiceContext::default()));
        crate::iphone::plist_frame::read_plist(&mut host, u32::MAX).unwrap();
        host.write_all(&garbage).unwrap();
        drop(host);
        assert!(device.join().unwrap().is_err());
    }
}
