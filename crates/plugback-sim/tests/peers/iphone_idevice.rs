//! The simulated iPhone against the pinned `idevice` crate, the client Plugback itself uses:
//! device list, pairing through the trust prompt, a TLS session, battery values, services
//! and an injected disconnect.

use crate::iphone_tools::{Rig, SECOND_UDID};
use idevice::IdeviceError;
use idevice::IdeviceService;
use idevice::lockdown::LockdownClient;
use idevice::notification_proxy::NotificationProxyClient;
use idevice::provider::IdeviceProvider;
use idevice::usbmuxd::{Connection, UsbmuxdAddr, UsbmuxdConnection, UsbmuxdDevice};
use plugback_sim::control::{Answer, ControlCommand};
use plugback_sim::iphone::{TrustMode, UsbmuxdAddr as SimAddr};
use std::time::{Duration, Instant};

pub(crate) fn mux_addr(rig: &Rig) -> UsbmuxdAddr {
    match rig.mux.address() {
        SimAddr::Tcp(addr) => UsbmuxdAddr::TcpSocket(*addr),
        #[allow(unreachable_patterns)]
        other => panic!("the rig listens on TCP, not {other}"),
    }
}

pub(crate) async fn mux(rig: &Rig) -> UsbmuxdConnection {
    mux_addr(rig).connect(7).await.unwrap()
}

async fn devices(rig: &Rig) -> Vec<UsbmuxdDevice> {
    mux(rig).await.get_devices().await.unwrap()
}

/// Pairs through lockdown as Plugback does: pair_once, then save the record to usbmuxd.
pub(crate) async fn pair(
    rig: &Rig,
    device: &UsbmuxdDevice,
    host_id: &str,
) -> Result<(), IdeviceError> {
    let provider = device.to_provider(mux_addr(rig), "plugback-test");
    let buid = mux(rig).await.get_buid().await?;
    let mut lockdown = LockdownClient::connect(&provider).await?;
    let mut pairing = lockdown
        .pair_once(host_id, buid, Some("plugback-test"))
        .await?;
    pairing.udid = Some(device.udid.clone());
    mux(rig)
        .await
        .save_pair_record(&device.udid, pairing.serialize()?)
        .await
}

/// Runs `f` against a timeout, so that a hung simulator fails the test instead of hanging.
/// A whole restore fits in it.
pub(crate) fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(120), f)
                .await
                .expect("the idevice exchange did not finish in time")
        })
}

#[test]
fn idevice_lists_the_phones_with_their_ids() {
    let rig = Rig::new();
    let first = rig.add(rig.config("one"));
    let mut config = rig.config("two");
    config.udid = SECOND_UDID.into();
    let second = rig.add(config);
    run(async {
        let mut list = devices(&rig).await;
        list.sort_by_key(|d| d.device_id);
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].udid.as_str(), list[0].device_id),
            (first.udid(), first.device_id())
        );
        assert_eq!(
            (list[1].udid.as_str(), list[1].device_id),
            (second.udid(), second.device_id())
        );
        assert_eq!(list[0].connection_type, Connection::Usb);
        assert_eq!(mux(&rig).await.get_buid().await.unwrap(), rig.mux.buid());
        // A pair record that was never saved is missing, not empty.
        assert!(mux(&rig).await.get_pair_record(first.udid()).await.is_err());
    });
}

#[test]
fn idevice_pairs_through_the_prompt_then_reads_the_battery_in_a_session() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.trust = TrustMode::Prompt;
    config.battery_percent = 64;
    config.temperature_c = 35.5;
    let phone = rig.add(config);
    run(async {
        let device = devices(&rig).await.remove(0);
        let host_id = "6D1C0E44-2D3B-4B8A-9E5F-1A2B3C4D5E6F";

        let first = pair(&rig, &device, host_id).await;
        assert!(
            matches!(first, Err(IdeviceError::PairingDialogResponsePending)),
            "{first:?}"
        );
        phone
            .control(ControlCommand::Trust(Answer::Accept))
            .unwrap();
        pair(&rig, &device, host_id).await.unwrap();

        let provider = device.to_provider(mux_addr(&rig), "plugback-test");
        let pairing = provider.get_pairing_file().await.unwrap();
        assert_eq!(pairing.host_id, host_id);
        assert!(
            pairing
                .escrow_bag
                .as_ref()
                .is_some_and(|bag| bag.len() >= 32)
        );

        let mut lockdown = LockdownClient::connect(&provider).await.unwrap();
        // Before the session, the battery is out of reach.
        let early = lockdown
            .get_value(
                Some("BatteryCurrentCapacity"),
                Some("com.apple.mobile.battery"),
            )
            .await;
        assert!(
            matches!(early, Err(IdeviceError::GetProhibited)),
            "{early:?}"
        );
        assert!(matches!(
            lockdown.start_service("com.apple.afc").await,
            Err(IdeviceError::SessionInactive)
        ));

        lockdown.start_session(&pairing).await.unwrap();
        let battery = lockdown
            .get_value(None, Some("com.apple.mobile.battery"))
            .await
            .unwrap();
        let battery = battery.as_dictionary().unwrap();
        assert_eq!(
            battery
                .get("BatteryCurrentCapacity")
                .and_then(|v| v.as_unsigned_integer()),
            Some(64)
        );
        assert_eq!(
            battery
                .get("Temperature")
                .and_then(|v| v.as_signed_integer()),
            Some(3550)
        );
        let name = lockdown
            .get_value(Some("SerialNumber"), None)
            .await
            .unwrap();
        assert_eq!(name.as_string(), Some("F2LXJ0Q1HG7F"));
        let encrypt = lockdown
            .get_value(Some("WillEncrypt"), Some("com.apple.mobile.backup"))
            .await
            .unwrap();
        assert_eq!(encrypt.as_boolean(), Some(false));

        let (port, ssl) = lockdown
            .start_service("com.apple.mobile.notification_proxy")
            .await
            .unwrap();
        assert!(!ssl);
        assert_ne!(port, LockdownClient::LOCKDOWND_PORT);
        assert!(
            lockdown
                .start_service("com.apple.nonexistent")
                .await
                .is_err()
        );

        // The session ends cleanly, and the same socket carries on in plaintext.
        lockdown.stop_session().await.unwrap();
    });
}

#[test]
fn idevice_sees_a_denial_and_an_unknown_host() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.trust = TrustMode::Deny;
    rig.add(config);
    let mut config = rig.config("other");
    config.udid = SECOND_UDID.into();
    rig.add(config);
    run(async {
        let mut list = devices(&rig).await;
        list.sort_by_key(|d| d.device_id);
        let denied = pair(&rig, &list[0], "11111111-2222-3333-4444-555555555555").await;
        assert!(
            matches!(denied, Err(IdeviceError::UserDeniedPairing)),
            "{denied:?}"
        );

        // Pair with the second phone, then present that pairing to the first: it does
        // not know the host.
        pair(&rig, &list[1], "11111111-2222-3333-4444-555555555555")
            .await
            .unwrap();
        let pairing = list[1]
            .to_provider(mux_addr(&rig), "t")
            .get_pairing_file()
            .await
            .unwrap();
        let provider = list[0].to_provider(mux_addr(&rig), "t");
        let mut lockdown = LockdownClient::connect(&provider).await.unwrap();
        let refused = lockdown.start_session(&pairing).await;
        assert!(
            matches!(refused, Err(IdeviceError::InvalidHostID)),
            "{refused:?}"
        );
    });
}

#[test]
fn a_disconnect_fault_cuts_the_service_stream_and_the_phone_comes_back() {
    let rig = Rig::new();
    let phone = rig.add(rig.config("phone"));
    run(async {
        let device = devices(&rig).await.remove(0);
        pair(&rig, &device, "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE")
            .await
            .unwrap();
        let provider = device.to_provider(mux_addr(&rig), "plugback-test");
        let pairing = provider.get_pairing_file().await.unwrap();
        let mut lockdown = LockdownClient::connect(&provider).await.unwrap();
        lockdown.start_session(&pairing).await.unwrap();
        let (port, _) = lockdown
            .start_service("com.apple.mobile.notification_proxy")
            .await
            .unwrap();
        phone
            .control(ControlCommand::AddFault(
                "disconnect-after-bytes=2000,back-after-ms=1500"
                    .parse()
                    .unwrap(),
            ))
            .unwrap();
        let mut service = NotificationProxyClient::new(provider.connect(port).await.unwrap());
        let mut failed = false;
        for _ in 0..200 {
            let sent = service
                .observe_notification("com.apple.itunes-client.syncCancelRequest")
                .await;
            if sent.is_err() {
                failed = true;
                break;
            }
            if !phone.phone().is_plugged() {
                break;
            }
        }
        // Unplugged: the stream is dead (a read ends), the phone is off the list.
        let deadline = Instant::now() + Duration::from_secs(10);
        while phone.phone().is_plugged() {
            assert!(Instant::now() < deadline, "the fault never fired");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !failed {
            assert!(service.receive_notification().await.is_err());
        }
        assert!(
            lockdown
                .get_value(Some("ProductVersion"), None)
                .await
                .is_err()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while devices(&rig).await.is_empty() {
            assert!(Instant::now() < deadline, "the phone never came back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            phone
                .control(ControlCommand::Status)
                .unwrap()
                .contains("fired=1")
        );
    });
}

/// A lockdown exchange by hand, to reach what no client does by default: TLS 1.2, and the
/// plaintext that follows close_notify on the same socket.
mod by_hand {
    use super::*;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;

    #[derive(Debug)]
    struct AnyServer;

    impl ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![
                SignatureScheme::RSA_PSS_SHA256,
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::RSA_PSS_SHA384,
                SignatureScheme::RSA_PKCS1_SHA384,
            ]
        }
    }

    fn client(version: &'static rustls::SupportedProtocolVersion) -> ClientConnection {
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(&[version])
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer))
                .with_no_client_auth();
        ClientConnection::new(Arc::new(config), ServerName::try_from("Device").unwrap()).unwrap()
    }

    fn ask(io: &mut impl ReadWrite, request: &[(&str, plist::Value)]) -> plist::Dictionary {
        let dict: plist::Dictionary = request
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut xml = Vec::new();
        plist::Value::Dictionary(dict)
            .to_writer_xml(&mut xml)
            .unwrap();
        io.write_all(&(xml.len() as u32).to_be_bytes()).unwrap();
        io.write_all(&xml).unwrap();
        io.flush().unwrap();
        let mut len = [0u8; 4];
        io.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        io.read_exact(&mut body).unwrap();
        plist::Value::from_reader(std::io::Cursor::new(body))
            .unwrap()
            .into_dictionary()
            .unwrap()
    }

    trait ReadWrite: Read + Write {}
    impl<T: Read + Write> ReadWrite for T {}

    /// Opens a raw pipe to lockdownd through the usbmuxd.
    fn lockdown_pipe(rig: &Rig, device_id: u32) -> TcpStream {
        let SimAddr::Tcp(addr) = rig.mux.address() else {
            panic!()
        };
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut body = plist::Dictionary::new();
        body.insert("MessageType".into(), "Connect".into());
        body.insert("DeviceID".into(), u64::from(device_id).into());
        body.insert("PortNumber".into(), u64::from(62078u16.swap_bytes()).into());
        let mut xml = Vec::new();
        plist::Value::Dictionary(body)
            .to_writer_xml(&mut xml)
            .unwrap();
        for word in [16 + xml.len() as u32, 1, 8, 1] {
            s.write_all(&word.to_le_bytes()).unwrap();
        }
        s.write_all(&xml).unwrap();
        let mut header = [0u8; 16];
        s.read_exact(&mut header).unwrap();
        let mut reply =
            vec![0u8; u32::from_le_bytes(header[..4].try_into().unwrap()) as usize - 16];
        s.read_exact(&mut reply).unwrap();
        let reply = plist::Value::from_reader(std::io::Cursor::new(reply)).unwrap();
        assert_eq!(
            reply.as_dictionary().unwrap()["Number"],
            plist::Value::from(0u64)
        );
        s
    }

    #[test]
    fn lockdown_speaks_tls_1_2_and_1_3_and_plaintext_after_close_notify() {
        let rig = Rig::new();
        let phone = rig.add(rig.config("phone"));
        let host_id = "0A0B0C0D-1111-2222-3333-444455556666";
        run(async {
            let device = devices(&rig).await.remove(0);
            pair(&rig, &device, host_id).await.unwrap();
        });
        let mut raw = lockdown_pipe(&rig, phone.device_id());
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let started = ask(
                &mut raw,
                &[
                    ("Request", "StartSession".into()),
                    ("HostID", host_id.into()),
                    ("SystemBUID", rig.mux.buid().into()),
                ],
            );
            assert_eq!(
                started.get("EnableSessionSSL"),
                Some(&plist::Value::Boolean(true)),
                "{started:?}"
            );
            let session_id = started["SessionID"].as_string().unwrap().to_string();
            let mut tls = client(version);
            {
                let mut io = rustls::Stream::new(&mut tls, &mut raw);
                let value = ask(
                    &mut io,
                    &[
                        ("Request", "GetValue".into()),
                        ("Key", "SerialNumber".into()),
                    ],
                );
                assert_eq!(value["Value"], plist::Value::from("F2LXJ0Q1HG7F"));
                let stopped = ask(
                    &mut io,
                    &[
                        ("Request", "StopSession".into()),
                        ("SessionID", session_id.into()),
                    ],
                );
                assert_eq!(stopped.get("Error"), None, "{stopped:?}");
            }
            assert_eq!(tls.protocol_version(), Some(version.version));
            tls.send_close_notify();
            while tls.wants_write() {
                tls.write_tls(&mut raw).unwrap();
            }
            // Plaintext again, on the same socket; and without a session values are guarded.
            let typed = ask(&mut raw, &[("Request", "QueryType".into())]);
            assert_eq!(
                typed["Type"],
                plist::Value::from("com.apple.mobile.lockdown")
            );
            let guarded = ask(
                &mut raw,
                &[
                    ("Request", "GetValue".into()),
                    ("Key", "SerialNumber".into()),
                ],
            );
            assert_eq!(guarded["Error"], plist::Value::from("GetProhibited"));
        }
        let bye = ask(&mut raw, &[("Request", "Goodbye".into())]);
        assert_eq!(bye["Request"], plist::Value::from("Goodbye"));
    }
}

/// idevice's Listen stream, which Plugback's device list will follow: the phone already
/// plugged in arrives as Connected, an unplug as Disconnected with the same DeviceID, and
/// the plug back as Connected again.
#[test]
fn idevice_follows_attach_and_detach_through_listen() {
    use futures::StreamExt;
    use idevice::usbmuxd::UsbmuxdListenEvent;
    let rig = Rig::new();
    let phone = rig.add(rig.config("listened"));
    run(async {
        let mut conn = mux(&rig).await;
        let mut events = conn.listen().await.unwrap();
        let mut next = async || {
            tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .expect("no Listen event within 10 s")
                .expect("the Listen stream ended")
                .expect("a Listen event")
        };
        match next().await {
            UsbmuxdListenEvent::Connected(dev) => {
                assert_eq!(dev.udid, phone.udid());
                assert_eq!(dev.device_id, phone.device_id());
                assert_eq!(dev.connection_type, Connection::Usb);
            }
            other => panic!("expected the phone to be listed first, got {other:?}"),
        }
        phone.control(ControlCommand::Unplug).unwrap();
        match next().await {
            UsbmuxdListenEvent::Disconnected(id) => assert_eq!(id, phone.device_id()),
            other => panic!("expected Disconnected after unplug, got {other:?}"),
        }
        phone.control(ControlCommand::Plug).unwrap();
        match next().await {
            UsbmuxdListenEvent::Connected(dev) => assert_eq!(dev.udid, phone.udid()),
            other => panic!("expected Connected after plug, got {other:?}"),
        }
    });
}
