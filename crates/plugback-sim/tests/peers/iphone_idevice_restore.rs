//! The simulated iPhone's mobilebackup2 against the pinned `idevice` crate's
//! MobileBackup2Client: restore_from_path of a plain backup, and of an encrypted one over a
//! service started with the escrow bag (as Plugback must, since `connect` sends none).

use crate::iphone_tools::Rig;
use idevice::IdeviceService;
use idevice::lockdown::LockdownClient;
use idevice::mobilebackup2::{FsBackupDelegate, MobileBackup2Client, RestoreOptions};
use idevice::provider::{IdeviceProvider, UsbmuxdProvider};
use idevice::usbmuxd::UsbmuxdAddr;
use plugback_sim::iphone::{SimIphone, UsbmuxdAddr as SimAddr};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::tree_hashes;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

fn mux_addr(rig: &Rig) -> UsbmuxdAddr {
    match rig.mux.address() {
        SimAddr::Tcp(addr) => UsbmuxdAddr::TcpSocket(*addr),
        #[allow(unreachable_patterns)]
        other => panic!("the rig listens on TCP, not {other}"),
    }
}

/// Pairs with lockdown and saves the record to usbmuxd; returns a provider for the phone.
async fn paired_provider(rig: &Rig, phone: &SimIphone) -> UsbmuxdProvider {
    let addr = mux_addr(rig);
    let device = addr
        .connect(1)
        .await
        .unwrap()
        .get_device(phone.udid())
        .await
        .unwrap();
    let provider = device.to_provider(addr.clone(), "plugback-test");
    let buid = addr.connect(2).await.unwrap().get_buid().await.unwrap();
    let mut lockdown = LockdownClient::connect(&provider).await.unwrap();
    let mut pairing = lockdown
        .pair_once(
            "5B4E7B9C-0000-4000-8000-000000000001",
            buid,
            Some("plugback-test"),
        )
        .await
        .unwrap();
    pairing.udid = Some(phone.udid().to_string());
    addr.connect(3)
        .await
        .unwrap()
        .save_pair_record(phone.udid(), pairing.serialize().unwrap())
        .await
        .unwrap();
    provider
}

/// mobilebackup2 started with the pair record's escrow bag.
async fn client_with_escrow(provider: &UsbmuxdProvider, udid: &str) -> MobileBackup2Client {
    let pairing = provider.get_pairing_file().await.unwrap();
    let mut lockdown = LockdownClient::connect(provider).await.unwrap();
    let legacy = lockdown.start_session(&pairing).await.unwrap();
    let (port, ssl) = lockdown
        .start_service_with_escrow("com.apple.mobilebackup2", pairing.escrow_bag.clone())
        .await
        .unwrap();
    let mut idevice = provider.connect(port).await.unwrap();
    if ssl {
        idevice.start_session(&pairing, legacy).await.unwrap();
    }
    idevice.set_udid(udid);
    MobileBackup2Client::from_stream(idevice).await.unwrap()
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(120), f)
                .await
                .expect("the idevice restore did not finish in time")
        })
}

fn expected_files(backup: &Path) -> BTreeMap<String, Vec<u8>> {
    let conn = rusqlite::Connection::open(backup.join("Manifest.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT fileID, domain, relativePath FROM Files WHERE flags = 1")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    rows.map(|r| {
        let (id, domain, path) = r.unwrap();
        (
            format!("{domain}/{path}"),
            fs::read(backup.join(&id[..2]).join(&id)).unwrap(),
        )
    })
    .collect()
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    tree_hashes(root)
        .unwrap()
        .into_keys()
        .map(|p| {
            (
                p.to_string_lossy().into_owned(),
                fs::read(root.join(&p)).unwrap(),
            )
        })
        .collect()
}

fn code(response: &Option<plist::Dictionary>) -> u64 {
    response
        .as_ref()
        .and_then(|d| d.get("ErrorCode"))
        .and_then(plist::Value::as_unsigned_integer)
        .unwrap_or(u64::MAX)
}

#[test]
fn idevice_restores_a_plain_backup() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.ios_version = "18.1".into();
    let phone = rig.add(config);
    let backups = rig.dir.path().join("backups");
    let mut spec = Spec::new(Kind::Ios);
    spec.files = 12;
    make_backup(&spec, &backups.join("OLD-PHONE")).unwrap();
    let before = tree_hashes(&backups).unwrap();
    let response = run(async {
        let provider = paired_provider(&rig, &phone).await;
        let mut client = MobileBackup2Client::connect(&provider).await.unwrap();
        let options = RestoreOptions::new().with_reboot(false);
        client
            .restore_from_path(
                &backups,
                Some("OLD-PHONE"),
                Some(options),
                &FsBackupDelegate,
            )
            .await
            .unwrap()
    });
    assert_eq!(code(&response), 0, "{response:?}");
    assert_eq!(
        tree(&phone.phone().restored_dir()),
        expected_files(&backups.join("OLD-PHONE"))
    );
    assert_eq!(tree_hashes(&backups).unwrap(), before);
}

#[test]
fn idevice_restores_an_encrypted_backup_only_with_the_escrow_bag() {
    let rig = Rig::new();
    let mut config = rig.config("phone");
    config.ios_version = "18.1".into();
    let phone = rig.add(config);
    let backups = rig.dir.path().join("backups");
    let mut spec = Spec::new(Kind::Ios);
    spec.files = 4;
    spec.password = Some("hunter2".into());
    make_backup(&spec, &backups.join("OLD-PHONE")).unwrap();
    spec.password = None;
    make_backup(&spec, &rig.dir.path().join("plain")).unwrap();
    let udid = phone.udid().to_string();
    let (without, with) = run(async {
        let provider = paired_provider(&rig, &phone).await;
        let options = || {
            RestoreOptions::new()
                .with_reboot(false)
                .with_password("hunter2")
        };
        // `connect` starts the service without the escrow bag: the phone refuses (208).
        let mut plain_client = MobileBackup2Client::connect(&provider).await.unwrap();
        let without = plain_client
            .restore_from_path(
                &backups,
                Some("OLD-PHONE"),
                Some(options()),
                &FsBackupDelegate,
            )
            .await
            .unwrap();
        drop(plain_client);
        let mut client = client_with_escrow(&provider, &udid).await;
        let with = client
            .restore_from_path(
                &backups,
                Some("OLD-PHONE"),
                Some(options()),
                &FsBackupDelegate,
            )
            .await
            .unwrap();
        (without, with)
    });
    assert_eq!(code(&without), 208, "{without:?}");
    assert_eq!(code(&with), 0, "{with:?}");
    assert_eq!(
        tree(&phone.phone().restored_dir()),
        expected_files(&rig.dir.path().join("plain"))
    );
}
