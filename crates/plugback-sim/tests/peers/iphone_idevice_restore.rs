//! The simulated iPhone's mobilebackup2 against the pinned `idevice` crate's
//! MobileBackup2Client: restore_from_path of a plain backup, and of an encrypted one over a
//! service started with the escrow bag (as Plugback must, since `connect` sends none).

use crate::iphone_idevice::{mux, mux_addr, pair, run};
use crate::iphone_tools::Rig;
use idevice::IdeviceService;
use idevice::lockdown::LockdownClient;
use idevice::mobilebackup2::{FsBackupDelegate, MobileBackup2Client, RestoreOptions};
use idevice::provider::{IdeviceProvider, UsbmuxdProvider};
use plugback_sim::iphone::SimIphone;
use plugback_sim::iphone::restore_check::{expected_files, files_under};
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use plugback_sim::tree_hashes;
use std::path::{Path, PathBuf};

/// The name of the generated backup in the folder of backups.
const BACKUP: &str = "OLD-PHONE";

/// A phone on a newer iOS than the generated backup, and a folder of backups that holds
/// that backup as [`BACKUP`].
fn phone_and_backups(rig: &Rig, password: Option<&str>, files: usize) -> (SimIphone, PathBuf) {
    let mut config = rig.config("phone");
    config.ios_version = "18.1".into();
    let phone = rig.add(config);
    let backups = rig.dir.path().join("backups");
    let mut spec = Spec::new(Kind::Ios);
    spec.files = files;
    spec.password = password.map(str::to_string);
    make_backup(&spec, &backups.join(BACKUP)).unwrap();
    (phone, backups)
}

/// Pairs with lockdown and saves the record to usbmuxd; returns a provider for the phone.
async fn paired_provider(rig: &Rig, phone: &SimIphone) -> UsbmuxdProvider {
    let device = mux(rig).await.get_device(phone.udid()).await.unwrap();
    pair(rig, &device, "5B4E7B9C-0000-4000-8000-000000000001")
        .await
        .unwrap();
    device.to_provider(mux_addr(rig), "plugback-test")
}

/// Restores [`BACKUP`] without a reboot; the phone's final Response.
async fn restore(
    client: &mut MobileBackup2Client,
    backups: &Path,
    password: Option<&str>,
) -> Option<plist::Dictionary> {
    let mut options = RestoreOptions::new().with_reboot(false);
    if let Some(password) = password {
        options = options.with_password(password);
    }
    client
        .restore_from_path(backups, Some(BACKUP), Some(options), &FsBackupDelegate)
        .await
        .unwrap()
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
    let (phone, backups) = phone_and_backups(&rig, None, 12);
    let before = tree_hashes(&backups).unwrap();
    let response = run(async {
        let provider = paired_provider(&rig, &phone).await;
        let mut client = MobileBackup2Client::connect(&provider).await.unwrap();
        restore(&mut client, &backups, None).await
    });
    assert_eq!(code(&response), 0, "{response:?}");
    assert_eq!(
        files_under(&phone.phone().restored_dir()).unwrap(),
        expected_files(&backups.join(BACKUP), None).unwrap()
    );
    assert_eq!(tree_hashes(&backups).unwrap(), before);
}

#[test]
fn idevice_restores_an_encrypted_backup_only_with_the_escrow_bag() {
    let rig = Rig::new();
    let (phone, backups) = phone_and_backups(&rig, Some("hunter2"), 4);
    let udid = phone.udid().to_string();
    let (without, with) = run(async {
        let provider = paired_provider(&rig, &phone).await;
        // `connect` starts the service without the escrow bag: the phone refuses (208).
        let mut plain_client = MobileBackup2Client::connect(&provider).await.unwrap();
        let without = restore(&mut plain_client, &backups, Some("hunter2")).await;
        drop(plain_client);
        let mut client = client_with_escrow(&provider, &udid).await;
        let with = restore(&mut client, &backups, Some("hunter2")).await;
        (without, with)
    });
    assert_eq!(code(&without), 208, "{without:?}");
    assert_eq!(code(&with), 0, "{with:?}");
    assert_eq!(
        files_under(&phone.phone().restored_dir()).unwrap(),
        expected_files(&backups.join(BACKUP), Some("hunter2")).unwrap()
    );
}
