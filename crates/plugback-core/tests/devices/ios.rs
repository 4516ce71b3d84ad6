//! The iPhone transport against the simulated iPhone and usbmuxd (TCP on 127.0.0.1), and
//! against servers that misbehave: none, hung, garbage.

use plugback_core::cancel::CancelToken;
use plugback_core::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::device::{DeviceError, DeviceEvent, DeviceState, Platform};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::iphone::{IphoneConfig, SimIphone, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use tempfile::TempDir;

/// A simulated usbmuxd in a private folder.
pub(super) struct Rig {
    pub(super) dir: TempDir,
    pub(super) sim: SimUsbmuxd,
}

impl Rig {
    pub(super) fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimUsbmuxd::start(
            UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
            &dir.path().join("usbmuxd"),
        )
        .unwrap();
        Rig { dir, sim }
    }

    pub(super) fn config(&self, name: &str) -> IphoneConfig {
        IphoneConfig::new(self.dir.path().join(name))
    }

    pub(super) fn add(&self, config: IphoneConfig) -> SimIphone {
        self.sim.add_iphone(config).unwrap()
    }

    pub(super) fn mux(&self) -> Usbmuxd {
        match self.sim.address() {
            UsbmuxdAddr::Tcp(addr) => Usbmuxd::new(MuxAddress::Tcp(*addr)),
            #[allow(unreachable_patterns)]
            other => panic!("the rig listens on TCP, not {other}"),
        }
    }
}

/// Runs `work` with a deadline, so that a hang fails the test instead of blocking it.
fn run<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(90), work)
                .await
                .expect("the iPhone exchange did not finish in time")
        })
}

fn none() -> CancelToken {
    CancelToken::new()
}

#[test]
fn a_paired_phone_is_listed_then_read_with_its_full_identity() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.name = "Ada's iPhone".into();
    config.battery_percent = 57;
    config.charging = true;
    config.temperature_c = 35.5;
    let phone = rig.add(config);
    let mux = rig.mux();
    run(async {
        let listed = ios::list(&mux, &none()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, phone.udid());
        assert_eq!(listed[0].platform, Platform::Ios);
        assert_eq!(listed[0].state, DeviceState::NotPaired);
        assert_eq!(listed[0].link.speed_mbps, Some(480));

        let outcome = ios::pair_once(&mux, phone.udid(), &none()).await.unwrap();
        assert_eq!(outcome, PairOutcome::Paired);
        // Asking again once paired does not prompt: the saved record opens a session.
        let again = ios::pair_once(&mux, phone.udid(), &none()).await.unwrap();
        assert_eq!(again, PairOutcome::Paired);
        let listed = ios::list(&mux, &none()).await.unwrap();
        assert_eq!(listed[0].state, DeviceState::Ready);

        let device = ios::read(&mux, phone.udid(), &none()).await.unwrap();
        assert_eq!(device.state, DeviceState::Ready);
        assert_eq!(device.name.as_deref(), Some("Ada's iPhone"));
        assert_eq!(device.model.as_deref(), Some("iPhone 14 Pro"));
        assert_eq!(device.os_version.as_deref(), Some("18.1"));
        assert_eq!(device.serial.as_deref(), Some("F2LXJ0Q1HG7F"));
        assert_eq!(device.battery.level, Some(57));
        assert_eq!(device.battery.charging, Some(true));
        assert_eq!(device.battery.temperature_c, Some(35.5));
        assert_eq!(device.storage.free_bytes, Some(64_000_000_000));
        // The data partition: 128 GB less the simulated 12 GB system partition.
        assert_eq!(device.storage.total_bytes, Some(116_000_000_000));
        assert_eq!(device.will_encrypt, Some(false));
        assert_eq!(device.link.speed_mbps, Some(480));
    });
    // The record usbmuxd stores is complete: keys, certificates, escrow bag, UDID.
    let stored =
        std::fs::read(rig.sim.state_dir().join(format!("{}.plist", phone.udid()))).unwrap();
    let record = plist::Value::from_reader(std::io::Cursor::new(stored)).unwrap();
    let record = record.as_dictionary().unwrap();
    for key in [
        "DeviceCertificate",
        "HostCertificate",
        "HostPrivateKey",
        "RootCertificate",
        "RootPrivateKey",
        "HostID",
        "SystemBUID",
        "EscrowBag",
    ] {
        assert!(
            record.contains_key(key),
            "the stored pair record lacks {key}"
        );
    }
    assert_eq!(record["SystemBUID"].as_string(), Some(rig.sim.buid()));
    assert_eq!(record["UDID"].as_string(), Some(phone.udid()));
}

#[test]
fn an_unpaired_phone_shows_only_what_lockdown_gives_without_a_session() {
    let rig = Rig::new();
    let phone = rig.add(rig.config("phone"));
    let device = run(ios::read(&rig.mux(), phone.udid(), &none())).unwrap();
    assert_eq!(device.state, DeviceState::NotPaired);
    assert_eq!(device.model.as_deref(), Some("iPhone 14 Pro"));
    assert_eq!(device.os_version.as_deref(), Some("18.1"));
    assert_eq!(device.name.as_deref(), Some("iPhone 14 Pro"));
    // Battery, storage, serial and WillEncrypt need a session.
    assert_eq!(device.battery.level, None);
    assert_eq!(device.storage.total_bytes, None);
    assert_eq!(device.serial, None);
    assert_eq!(device.will_encrypt, None);
}

#[test]
fn a_phone_that_is_not_plugged_in_is_not_found() {
    let rig = Rig::new();
    rig.add(rig.config("phone"));
    let missing = "00008030-00000000DEADBEEF";
    let read = run(ios::read(&rig.mux(), missing, &none()));
    assert!(
        matches!(&read, Err(DeviceError::NotFound { id }) if id == missing),
        "{read:?}"
    );
    let paired = run(ios::pair_once(&rig.mux(), missing, &none()));
    assert!(
        matches!(paired, Err(DeviceError::NotFound { .. })),
        "{paired:?}"
    );
}

#[test]
fn unplug_plug_and_pairing_arrive_as_events() {
    let rig = Rig::new();
    let phone = rig.add(rig.config("phone"));
    let mux = rig.mux();
    let cancel = CancelToken::new();
    run(async {
        let mut events = ios::watch(&mux, &cancel).await.unwrap();
        let mut next = async || {
            tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("no event within 10 s")
                .expect("the event channel ended")
                .expect("an event, not an error")
        };
        match next().await {
            DeviceEvent::Attached(d) => {
                assert_eq!(d.id, phone.udid());
                assert_eq!(d.state, DeviceState::NotPaired);
            }
            other => panic!("expected the phone attached first, got {other:?}"),
        }
        phone.control(ControlCommand::Unplug).unwrap();
        assert_eq!(
            next().await,
            DeviceEvent::Detached {
                id: phone.udid().to_owned(),
                platform: Platform::Ios
            }
        );
        phone.control(ControlCommand::Plug).unwrap();
        match next().await {
            DeviceEvent::Attached(d) => assert_eq!(d.id, phone.udid()),
            other => panic!("expected Attached after plug, got {other:?}"),
        }
        assert_eq!(
            ios::pair_once(&mux, phone.udid(), &none()).await.unwrap(),
            PairOutcome::Paired
        );
        match next().await {
            DeviceEvent::Changed(d) => assert_eq!(d.state, DeviceState::Ready),
            other => panic!("expected Changed after pairing, got {other:?}"),
        }
        cancel.cancel();
        // Cancelled: the channel closes.
        let closed = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
        assert!(matches!(closed, Ok(None)), "{closed:?}");
    });
}

#[test]
fn the_trust_prompt_waits_for_the_person_then_pairs() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.trust = TrustMode::Prompt;
    let phone = rig.add(config);
    let mux = rig.mux();
    run(async {
        assert_eq!(
            ios::pair_once(&mux, phone.udid(), &none()).await.unwrap(),
            PairOutcome::TrustPending
        );
        let tapper = phone.clone();
        let mut seen = Vec::new();
        let outcome = ios::pair(
            &mux,
            phone.udid(),
            Duration::from_secs(30),
            &none(),
            |state| {
                seen.push(state);
                if state == PairOutcome::TrustPending {
                    tapper
                        .control(ControlCommand::Trust(Answer::Accept))
                        .unwrap();
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(outcome, PairOutcome::Paired);
        assert_eq!(seen, [PairOutcome::TrustPending, PairOutcome::Paired]);
        let device = ios::read(&mux, phone.udid(), &none()).await.unwrap();
        assert_eq!(device.state, DeviceState::Ready);
        assert_eq!(device.battery.level, Some(80));
    });
}

#[test]
fn denied_and_locked_phones_end_the_flow_with_their_state() {
    let rig = Rig::new();
    let mut config = rig.config("denies");
    config.trust = TrustMode::Deny;
    let denies = rig.add(config);
    let mut config = rig.config("locked");
    config.udid = "00008101-000A2C3E0E90001E".into();
    config.passcode_locked = true;
    let locked = rig.add(config);
    let mux = rig.mux();
    run(async {
        let mut seen = Vec::new();
        let denied = ios::pair(&mux, denies.udid(), Duration::from_secs(30), &none(), |s| {
            seen.push(s)
        })
        .await
        .unwrap();
        assert_eq!(denied, PairOutcome::TrustDenied);
        assert_eq!(seen, [PairOutcome::TrustDenied]);
        assert_eq!(denied.state(), DeviceState::TrustDenied);
        let locked = ios::pair(
            &mux,
            locked.udid(),
            Duration::from_secs(30),
            &none(),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(locked, PairOutcome::PasscodeLocked);
        assert!(locked.guidance().contains("Unlock"));
    });
    // Neither left a pair record behind.
    let records = std::fs::read_dir(rig.sim.state_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("0000"))
        .count();
    assert_eq!(records, 0);
}

#[test]
fn an_unanswered_prompt_times_out_and_a_cancel_stops_the_wait() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.trust = TrustMode::Prompt;
    let phone = rig.add(config);
    let mux = rig.mux();
    run(async {
        let mut seen = Vec::new();
        // Long enough for the first answer (TrustPending) to come even on a loaded machine.
        let timed_out = ios::pair(&mux, phone.udid(), Duration::from_secs(6), &none(), |s| {
            seen.push(s)
        })
        .await;
        assert!(
            matches!(timed_out, Err(DeviceError::Timeout { .. })),
            "{timed_out:?}"
        );
        assert_eq!(seen, [PairOutcome::TrustPending]);

        let cancel = CancelToken::new();
        let canceller = cancel.clone();
        let cancelled = ios::pair(&mux, phone.udid(), Duration::from_secs(60), &cancel, |_| {
            canceller.cancel()
        })
        .await;
        assert!(
            matches!(cancelled, Err(DeviceError::Cancelled)),
            "{cancelled:?}"
        );
    });
}

#[test]
fn a_missing_usbmuxd_is_unavailable_with_a_fix() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let closed = Usbmuxd::new(MuxAddress::Tcp(port));
    let err = run(ios::list(&closed, &none())).unwrap_err();
    assert_eq!(err.code(), "usbmuxd-unavailable");
    assert!(err.to_string().contains("USBMUXD_SOCKET_ADDRESS"), "{err}");
    let explained = plugback_core::explain::explain(err.code()).unwrap();
    assert!(explained.what_to_do.contains("usbmuxd") || explained.what_to_do.contains("Apple"));

    let dir = tempfile::tempdir().unwrap();
    let no_socket = Usbmuxd::new(MuxAddress::Unix(dir.path().join("usbmuxd")));
    let err = run(ios::list(&no_socket, &none())).unwrap_err();
    assert!(
        matches!(err, DeviceError::UsbmuxdUnavailable { .. }),
        "{err:?}"
    );

    // On Linux the fix depends on whether usbmuxd is installed at all.
    assert!(ios::linux_advice(false).contains("sudo apt install usbmuxd"));
    assert!(ios::linux_advice(true).contains("sudo systemctl start usbmuxd"));
}

#[test]
fn usbmuxd_addresses_are_read_in_every_form() {
    assert_eq!(
        MuxAddress::parse("127.0.0.1:27015").unwrap(),
        MuxAddress::Tcp("127.0.0.1:27015".parse().unwrap())
    );
    assert_eq!(
        MuxAddress::parse("[::1]:5000").unwrap(),
        MuxAddress::Tcp("[::1]:5000".parse().unwrap())
    );
    assert_eq!(
        MuxAddress::parse("UNIX:/run/other-usbmuxd").unwrap(),
        MuxAddress::Unix("/run/other-usbmuxd".into())
    );
    assert_eq!(
        MuxAddress::parse("/var/run/usbmuxd").unwrap(),
        MuxAddress::Unix("/var/run/usbmuxd".into())
    );
    assert!(MuxAddress::parse("not an address:x").is_err());
}

/// A usbmuxd stand-in: accepts one client, reads its request, then does `answer`.
fn fake_usbmuxd(answer: impl FnOnce(&mut std::net::TcpStream) + Send + 'static) -> Usbmuxd {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut header = [0u8; 16];
            if stream.read_exact(&mut header).is_ok() {
                let len = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
                let mut body = vec![0u8; len.saturating_sub(16)];
                let _ = stream.read_exact(&mut body);
            }
            answer(&mut stream);
        }
    });
    let mut mux = Usbmuxd::new(MuxAddress::Tcp(addr));
    mux.reply_timeout = Duration::from_millis(700);
    mux
}

fn packet(length: u32, version: u32, message: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [length, version, message, 1] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(body);
    out
}

#[test]
fn a_hung_usbmuxd_hits_the_timeout() {
    let mux = fake_usbmuxd(|_| std::thread::sleep(Duration::from_secs(5)));
    let err = run(ios::list(&mux, &none())).unwrap_err();
    assert!(matches!(err, DeviceError::Timeout { .. }), "{err:?}");
    assert_eq!(err.code(), "device-timeout");
}

#[test]
fn garbage_from_usbmuxd_is_a_protocol_error() {
    let body = b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>Other</key><true/></dict></plist>";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a length shorter than the header", packet(3, 1, 8, b"")),
        ("a length of 4 GB", packet(u32::MAX, 1, 8, b"")),
        ("the binary protocol", packet(16 + 4, 0, 1, b"\0\0\0\0")),
        (
            "a body that is not a plist",
            packet(16 + 9, 1, 8, b"not plist"),
        ),
        (
            "a dictionary without a device list",
            packet(16 + body.len() as u32, 1, 8, body),
        ),
        ("a reply cut short", packet(16 + 100, 1, 8, b"<?xml")),
    ];
    for (what, reply) in cases {
        let mux = fake_usbmuxd(move |stream| {
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
            // Close only after the client had time to read.
            std::thread::sleep(Duration::from_millis(300));
        });
        let err = run(ios::list(&mux, &none())).unwrap_err();
        assert!(
            matches!(
                err,
                DeviceError::Protocol { .. } | DeviceError::Timeout { .. }
            ),
            "{what}: {err:?}"
        );
        if what != "a reply cut short" {
            assert_eq!(err.code(), "device-protocol", "{what}: {err}");
        }
    }
}

#[test]
fn every_iphone_code_has_an_explanation() {
    let errors = [
        DeviceError::UsbmuxdUnavailable {
            address: String::new(),
            detail: String::new(),
        },
        DeviceError::Timeout {
            what: String::new(),
            after: Duration::ZERO,
        },
        DeviceError::Protocol {
            peer: String::new(),
            detail: String::new(),
        },
        DeviceError::NotFound { id: String::new() },
        DeviceError::Refused {
            detail: String::new(),
        },
        DeviceError::Key {
            path: "k".into(),
            source: std::io::Error::other("x"),
        },
        DeviceError::Io(std::io::Error::other("x")),
        DeviceError::Locked,
        DeviceError::Cancelled,
    ];
    let states = [
        PairOutcome::Paired,
        PairOutcome::TrustPending,
        PairOutcome::TrustDenied,
        PairOutcome::PasscodeLocked,
    ]
    .map(|o| o.code());
    for code in errors
        .iter()
        .map(DeviceError::code)
        .chain(states)
        .chain(["device-not-paired"])
    {
        let entry = plugback_core::explain::explain(code);
        assert!(
            entry.is_some_and(|e| !e.what_to_do.is_empty()),
            "no explanation for {code}"
        );
    }
}

#[test]
fn find_my_is_read_from_a_paired_phone_and_unknown_otherwise() {
    for on in [true, false] {
        let rig = Rig::new();
        let mut config = rig.config("phone");
        config.find_my = on;
        let phone = rig.add(config);
        let mux = rig.mux();
        run(async {
            assert_eq!(
                ios::find_my(&mux, phone.udid(), &none()).await.unwrap(),
                None
            );
            let paired = ios::pair(&mux, phone.udid(), Duration::from_secs(30), &none(), |_| {})
                .await
                .unwrap();
            assert_eq!(paired, PairOutcome::Paired);
            assert_eq!(
                ios::find_my(&mux, phone.udid(), &none()).await.unwrap(),
                Some(on)
            );
        });
    }
}
