//! The engine's one stream of phone events, against the simulated iPhone: a usbmuxd that
//! starts late, a phone that is read after it arrives, and one unplugged and plugged back.

use plugback_core::device::android::AdbServer;
use plugback_core::device::ios::{MuxAddress, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::watcher::{WatchEvent, WatcherThread};
use plugback_core::device::{DeviceEvent, Platform};
use plugback_sim::control::ControlCommand;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, UsbmuxdAddr};
use plugback_sim::peers::free_port;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The first event `wanted` accepts, skipping the others; panics after 20 s.
fn until(watcher: &WatcherThread, what: &str, wanted: impl Fn(&WatchEvent) -> bool) -> WatchEvent {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = watcher
            .events()
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {what} within 20 s"));
        if wanted(&event) {
            return event;
        }
    }
}

#[test]
fn a_late_usbmuxd_is_picked_up_and_a_replugged_phone_is_new_again() {
    let dir = tempfile::tempdir().unwrap();
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let sources = Sources {
        usbmuxd: Ok(Usbmuxd::new(MuxAddress::Tcp(address))),
        adb: AdbServer::new(free_port()).with_search_path(dir.path().join("no-adb")),
    };
    let watcher = WatcherThread::start(sources).unwrap();

    // Nothing answers yet: said once, with the code that explains it.
    let down = until(&watcher, "usbmuxd's absence", |e| {
        matches!(
            e,
            WatchEvent::SourceDown {
                platform: Platform::Ios,
                ..
            }
        )
    });
    let WatchEvent::SourceDown { error, .. } = down else {
        unreachable!()
    };
    assert_eq!(error.code(), "usbmuxd-unavailable");

    // usbmuxd starts (on Linux, plugging an iPhone in starts it) with a phone.
    let mux = SimUsbmuxd::start(UsbmuxdAddr::Tcp(address), &dir.path().join("usbmuxd")).unwrap();
    let mut config = IphoneConfig::new(dir.path().join("phone"));
    config.name = "Bench iPhone".into();
    let phone = mux.add_iphone(config).unwrap();
    let udid = phone.udid().to_owned();
    until(&watcher, "usbmuxd's return", |e| {
        matches!(
            e,
            WatchEvent::SourceUp {
                platform: Platform::Ios
            }
        )
    });
    let attached = until(
        &watcher,
        "the phone",
        |e| matches!(e, WatchEvent::Device(DeviceEvent::Attached(d)) if d.id == udid),
    );
    let WatchEvent::Device(DeviceEvent::Attached(first)) = attached else {
        unreachable!()
    };
    assert_eq!(
        first.link.speed_mbps,
        Some(480),
        "usbmuxd gives the link speed"
    );
    let read = until(
        &watcher,
        "the phone's read",
        |e| matches!(e, WatchEvent::Device(DeviceEvent::Changed(d)) if d.id == udid),
    );
    let WatchEvent::Device(DeviceEvent::Changed(read)) = read else {
        unreachable!()
    };
    assert_eq!(read.name.as_deref(), Some("Bench iPhone"));
    assert_eq!(read.model.as_deref(), Some("iPhone 14 Pro"));

    phone.control(ControlCommand::Unplug).unwrap();
    until(
        &watcher,
        "the unplug",
        |e| matches!(e, WatchEvent::Device(DeviceEvent::Detached { id, .. }) if *id == udid),
    );
    phone.control(ControlCommand::Plug).unwrap();
    until(
        &watcher,
        "the replug",
        |e| matches!(e, WatchEvent::Device(DeviceEvent::Attached(d)) if d.id == udid),
    );
    let again = until(
        &watcher,
        "the read after the replug",
        |e| matches!(e, WatchEvent::Device(DeviceEvent::Changed(d)) if d.id == udid),
    );
    let WatchEvent::Device(DeviceEvent::Changed(again)) = again else {
        unreachable!()
    };
    assert_eq!(again.name.as_deref(), Some("Bench iPhone"));
}
