//! The simulated usbmuxd and phone driven at the byte level: events, refusals, malformed
//! input and faults. The real clients are checked in the `peers` tests.

use super::*;
use crate::iphone::usbmuxd::{HEADER_LEN, Header};
use plist::{Dictionary, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start() -> (tempfile::TempDir, SimUsbmuxd) {
    let dir = tempfile::tempdir().unwrap();
    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &dir.path().join("state"),
    )
    .unwrap();
    (dir, mux)
}

fn phone_config(dir: &tempfile::TempDir, name: &str) -> IphoneConfig {
    IphoneConfig::new(dir.path().join(name))
}

fn connect(mux: &SimUsbmuxd) -> TcpStream {
    let UsbmuxdAddr::Tcp(addr) = mux.address() else {
        panic!("TCP expected")
    };
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn frame(version: u32, message: u32, tag: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [(HEADER_LEN + body.len()) as u32, version, message, tag] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(body);
    out
}

fn request(kind: &str, extra: &[(&str, Value)]) -> Vec<u8> {
    let mut d = Dictionary::new();
    d.insert("MessageType".into(), kind.into());
    for (k, v) in extra {
        d.insert((*k).into(), v.clone());
    }
    let mut xml = Vec::new();
    Value::Dictionary(d).to_writer_xml(&mut xml).unwrap();
    xml
}

fn send(stream: &mut TcpStream, tag: u32, kind: &str, extra: &[(&str, Value)]) {
    stream
        .write_all(&frame(1, 8, tag, &request(kind, extra)))
        .unwrap();
}

fn receive(stream: &mut TcpStream) -> (Header, Dictionary) {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).unwrap();
    let header = Header::parse(&head).unwrap();
    let mut body = vec![0u8; header.body_len()];
    stream.read_exact(&mut body).unwrap();
    assert!(body.starts_with(b"<?xml"), "replies are XML");
    let dict = Value::from_reader(std::io::Cursor::new(body))
        .unwrap()
        .into_dictionary()
        .unwrap();
    (header, dict)
}

fn number(d: &Dictionary) -> Option<u64> {
    d.get("Number").and_then(Value::as_unsigned_integer)
}

/// Sends a request and returns the Number of its Result reply.
fn ask(stream: &mut TcpStream, tag: u32, kind: &str, extra: &[(&str, Value)]) -> Option<u64> {
    send(stream, tag, kind, extra);
    number(&receive(stream).1)
}

/// Asks usbmuxd to connect to `port` of device `device_id`; the Result's Number.
fn connect_to(stream: &mut TcpStream, tag: u32, device_id: u64, port: u16) -> Option<u64> {
    let port = Value::from(u64::from(port.swap_bytes()));
    ask(
        stream,
        tag,
        "Connect",
        &[("DeviceID", device_id.into()), ("PortNumber", port)],
    )
}

fn closed(stream: &mut impl Read) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn replies_carry_version_1_plist_and_the_tag() {
    let (dir, mux) = start();
    let phone = mux.add_iphone(phone_config(&dir, "p")).unwrap();
    let mut s = connect(&mux);
    send(&mut s, 41, "ListDevices", &[]);
    let (header, reply) = receive(&mut s);
    assert_eq!((header.version, header.message, header.tag), (1, 8, 41));
    let list = reply["DeviceList"].as_array().unwrap();
    let entry = list[0].as_dictionary().unwrap();
    assert_eq!(entry["DeviceID"], Value::from(1u64));
    let props = entry["Properties"].as_dictionary().unwrap();
    assert_eq!(props["DeviceID"], Value::from(1u64));
    assert_eq!(props["SerialNumber"], Value::from(phone.udid()));
    assert_eq!(props["ConnectionSpeed"], Value::from(480_000_000u64));
    assert_eq!(props["ProductID"], Value::from(0x12a8u64));

    send(&mut s, 42, "ReadBUID", &[]);
    let (_, reply) = receive(&mut s);
    assert_eq!(reply["BUID"], Value::from(mux.buid()));
}

#[test]
fn bad_versions_unknown_types_and_refusals_get_results() {
    let (dir, mux) = start();
    let phone = mux.add_iphone(phone_config(&dir, "p")).unwrap();
    let mut s = connect(&mux);
    s.write_all(&frame(2, 8, 5, &request("ListDevices", &[])))
        .unwrap();
    let (h, reply) = receive(&mut s);
    assert_eq!((h.tag, number(&reply)), (5, Some(6)));
    // The old binary CONNECT (message 2) is not spoken.
    s.write_all(&frame(0, 2, 6, &[0u8; 8])).unwrap();
    assert_eq!(number(&receive(&mut s).1), Some(1));
    assert_eq!(ask(&mut s, 7, "Dance", &[]), Some(1));
    assert_eq!(
        ask(
            &mut s,
            8,
            "ReadPairRecord",
            &[("PairRecordID", phone.udid().into())]
        ),
        Some(2)
    );
    assert_eq!(
        ask(
            &mut s,
            9,
            "ReadPairRecord",
            &[("PairRecordID", "../../etc/passwd".into())]
        ),
        Some(2)
    );
    // A port nobody listens on, then a device that does not exist.
    assert_eq!(connect_to(&mut s, 10, 1, 1234), Some(3));
    assert_eq!(connect_to(&mut s, 11, 9, 62078), Some(2));
    phone.control(ControlCommand::Unplug).unwrap();
    assert_eq!(connect_to(&mut s, 12, 1, 62078), Some(2));
    phone.control(ControlCommand::Plug).unwrap();
    assert_eq!(connect_to(&mut s, 13, 1, 62078), Some(0));
    // Now the socket is lockdownd's: u32be + plist.
    let mut query = Vec::new();
    let mut d = Dictionary::new();
    d.insert("Request".into(), "QueryType".into());
    Value::Dictionary(d).to_writer_xml(&mut query).unwrap();
    s.write_all(&(query.len() as u32).to_be_bytes()).unwrap();
    s.write_all(&query).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    let reply = Value::from_reader(std::io::Cursor::new(body)).unwrap();
    let reply = reply.as_dictionary().unwrap();
    assert_eq!(reply["Request"], Value::from("QueryType"));
    assert_eq!(reply["Type"], Value::from("com.apple.mobile.lockdown"));
}

#[test]
fn malformed_frames_close_only_their_connection() {
    let (dir, mux) = start();
    mux.add_iphone(phone_config(&dir, "p")).unwrap();
    let with_length = |length: u32| {
        let mut bytes = frame(1, 8, 0, b"");
        bytes[..4].copy_from_slice(&length.to_le_bytes());
        bytes
    };
    let garbage: Vec<Vec<u8>> = vec![
        // A length shorter than the header, then one far beyond any request.
        with_length(3),
        with_length(0x7f00_0000),
        frame(1, 8, 0, b"this is not a property list"),
        frame(1, 8, 0, &request_without_type()),
    ];
    for bytes in garbage {
        let mut s = connect(&mux);
        s.write_all(&bytes).unwrap();
        assert!(closed(&mut s), "{bytes:?}");
    }
    // Lockdown garbage: a frame that is not a plist, then one that is absurdly long.
    for bytes in [
        [&5u32.to_be_bytes()[..], b"hello"].concat(),
        u32::MAX.to_be_bytes().to_vec(),
    ] {
        let mut s = connect(&mux);
        assert_eq!(connect_to(&mut s, 1, 1, 62078), Some(0));
        s.write_all(&bytes).unwrap();
        assert!(closed(&mut s));
    }
    // The usbmuxd still serves.
    let mut s = connect(&mux);
    send(&mut s, 3, "ListDevices", &[]);
    assert_eq!(receive(&mut s).1["DeviceList"].as_array().unwrap().len(), 1);
}

fn request_without_type() -> Vec<u8> {
    let mut xml = Vec::new();
    Value::Dictionary(Dictionary::new())
        .to_writer_xml(&mut xml)
        .unwrap();
    xml
}

#[test]
fn listen_reports_attach_detach_and_paired() {
    let (dir, mux) = start();
    let phone = mux.add_iphone(phone_config(&dir, "p")).unwrap();
    let mut s = connect(&mux);
    assert_eq!(ask(&mut s, 1, "Listen", &[]), Some(0));
    let (_, attached) = receive(&mut s);
    assert_eq!(attached["MessageType"], Value::from("Attached"));
    assert_eq!(attached["DeviceID"], Value::from(1u64));

    phone.control(ControlCommand::Unplug).unwrap();
    let (_, event) = receive(&mut s);
    assert_eq!(event["MessageType"], Value::from("Detached"));
    assert_eq!(event["DeviceID"], Value::from(1u64));
    phone.control(ControlCommand::Plug).unwrap();
    assert_eq!(receive(&mut s).1["MessageType"], Value::from("Attached"));

    let mut record = Vec::new();
    Value::Dictionary(Dictionary::new())
        .to_writer_xml(&mut record)
        .unwrap();
    let mut other = connect(&mux);
    assert_eq!(
        ask(
            &mut other,
            2,
            "SavePairRecord",
            &[
                ("PairRecordID", phone.udid().into()),
                ("PairRecordData", Value::Data(record.clone())),
            ]
        ),
        Some(0)
    );
    let (_, paired) = receive(&mut s);
    assert_eq!(paired["MessageType"], Value::from("Paired"));
    send(
        &mut other,
        3,
        "ReadPairRecord",
        &[("PairRecordID", phone.udid().into())],
    );
    assert_eq!(receive(&mut other).1["PairRecordData"], Value::Data(record));
    assert_eq!(
        ask(
            &mut other,
            4,
            "DeletePairRecord",
            &[("PairRecordID", phone.udid().into())]
        ),
        Some(0)
    );
    assert_eq!(
        ask(
            &mut other,
            5,
            "ReadPairRecord",
            &[("PairRecordID", phone.udid().into())]
        ),
        Some(2)
    );

    // A second phone shows up on the same Listen.
    let mut config = phone_config(&dir, "q");
    config.udid = "00008101-000A2C3E0E90001E".into();
    mux.add_iphone(config).unwrap();
    let (_, second) = receive(&mut s);
    assert_eq!(second["MessageType"], Value::from("Attached"));
    assert_eq!(second["DeviceID"], Value::from(2u64));
}

#[test]
fn reboot_flap_and_percent_faults_unplug_and_come_back() {
    let (dir, mux) = start();
    let mut config = phone_config(&dir, "p");
    config.faults.push(
        "disconnect-at-percent=50,back-after-ms=100"
            .parse()
            .unwrap(),
    );
    let phone = mux.add_iphone(config).unwrap();
    let live = phone.phone();
    let mut s = connect(&mux);
    send(&mut s, 1, "Listen", &[]);
    receive(&mut s);
    receive(&mut s);

    live.report_restore_progress(49.0);
    assert!(live.is_plugged());
    live.report_restore_progress(50.5);
    assert!(!live.is_plugged());
    assert_eq!(receive(&mut s).1["MessageType"], Value::from("Detached"));
    assert_eq!(receive(&mut s).1["MessageType"], Value::from("Attached"));
    // Each fault fires once.
    live.report_restore_progress(80.0);
    assert!(live.is_plugged());

    live.reboot(Duration::from_millis(50));
    assert_eq!(receive(&mut s).1["MessageType"], Value::from("Detached"));
    assert_eq!(receive(&mut s).1["MessageType"], Value::from("Attached"));

    phone
        .control(ControlCommand::AddFault("flap=2".parse().unwrap()))
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let kinds: Vec<Value> = (0..4)
        .map(|_| receive(&mut s).1["MessageType"].clone())
        .collect();
    assert_eq!(
        kinds,
        ["Detached", "Attached", "Detached", "Attached"].map(Value::from)
    );
    assert!(
        phone
            .control(ControlCommand::Status)
            .unwrap()
            .contains("fired=2")
    );
}

#[cfg(unix)]
#[test]
fn a_service_stream_counts_bytes_stalls_and_unplugs() {
    use crate::iphone::link::Link;
    use crate::iphone::socket::MuxStream;
    let (dir, mux) = start();
    let mut config = phone_config(&dir, "p");
    config
        .faults
        .push("stall-after-bytes=10,ms=1".parse().unwrap());
    config.faults.push("slow-mbps=1".parse().unwrap());
    let phone = mux.add_iphone(config).unwrap();
    phone
        .control(ControlCommand::AddFault(
            "disconnect-after-bytes=100".parse().unwrap(),
        ))
        .unwrap();
    let (ours, mut theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut link = Link::new(MuxStream::Unix(ours), phone.phone()).unwrap();
    theirs
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let payload: Vec<u8> = (0..60u8).collect();
    link.write_all(&payload).unwrap();
    let mut got = vec![0u8; 60];
    theirs.read_exact(&mut got).unwrap();
    assert_eq!(
        got, payload,
        "a slow, stalled link still carries the bytes intact"
    );
    assert!(
        phone
            .control(ControlCommand::Status)
            .unwrap()
            .contains("fired=1")
    );
    theirs.write_all(&[7u8; 60]).unwrap();
    let mut back = [0u8; 60];
    // The link lets exactly the 40 bytes up to the threshold through, then the phone is
    // unplugged and the stream is dead.
    let mut read = 0;
    while let Ok(n) = link.read(&mut back[read..]) {
        if n == 0 {
            break;
        }
        read += n;
    }
    assert_eq!(read, 40);
    assert_eq!(link.carried(), 100);
    assert!(!phone.phone().is_plugged());
    wait_until("the peer to see the cut", || closed(&mut theirs));
}

#[test]
fn dropping_the_usbmuxd_stops_it() {
    let (dir, mux) = start();
    let phone = mux.add_iphone(phone_config(&dir, "p")).unwrap();
    let UsbmuxdAddr::Tcp(addr) = mux.address().clone() else {
        panic!()
    };
    let mut listening = connect(&mux);
    send(&mut listening, 1, "Listen", &[]);
    receive(&mut listening);
    receive(&mut listening);
    drop(mux);
    assert!(closed(&mut listening));
    assert!(TcpStream::connect(addr).is_err());
    // The handle stays usable, answering for a phone that is no longer anywhere.
    assert!(phone.control(ControlCommand::Status).is_ok());
}

#[test]
fn control_commands_that_are_not_for_an_iphone_are_refused() {
    let (dir, mux) = start();
    let phone = mux.add_iphone(phone_config(&dir, "p")).unwrap();
    for command in [
        ControlCommand::Auth(crate::control::Answer::Accept),
        ControlCommand::Offline,
        ControlCommand::ConfirmRestore {
            answer: crate::control::Answer::Deny,
            password: None,
        },
        ControlCommand::AddFault("revoke-auth-after-bytes=5".parse().unwrap()),
    ] {
        assert!(phone.control(command.clone()).is_err(), "{command:?}");
    }
    assert!(matches!(
        mux.add_iphone(phone_config(&dir, "again")),
        Err(SimError::DuplicateUdid(_))
    ));
    assert_eq!(
        phone.control(ControlCommand::Temperature { celsius: 40.5 }),
        Ok("temperature=40.5".into())
    );
    assert_eq!(phone.phone().config().temperature_c, 40.5);
}
