//! How long from a phone being plugged in to Plugback knowing it fully (identity, battery,
//! storage): the first thing a person waits for after plugging the cable. Target: under
//! 300 ms.
//!
//! - iPhone: the simulated phone is unplugged and plugged back; the clock runs from the
//!   plug to the end of the full read that follows usbmuxd's Attached event.
//! - Android: a new simulated phone is attached to a private adb server with `adb
//!   connect`; the clock runs from the connect to the end of the full read that follows
//!   the tracker's Attached event.
//!
//! Run: `cargo bench -p plugback-core --bench attach_to_identified [-- --runs N]`.
//! Prints the median and the 90th percentile of N runs (default 20).

use plugback_core::cancel::CancelToken;
use plugback_core::device::android::{self, DeviceTracker};
use plugback_core::device::ios::{self, MuxAddress, Usbmuxd};
use plugback_core::device::{DeviceEvent, DeviceState};
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::ControlCommand;
use plugback_sim::iphone::{IphoneConfig, SimUsbmuxd, UsbmuxdAddr};
use plugback_sim::peers::AdbServer;
use std::time::{Duration, Instant};

fn main() {
    let mut runs = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs);
        }
    }
    // TCP is how usbmuxd listens on Windows (Apple Mobile Device Service), a Unix socket
    // how it listens on Linux and macOS.
    let dir = tempfile::tempdir().unwrap();
    let tcp = UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap());
    report(
        "iPhone over TCP: plug → identified",
        &iphone_runs(tcp, runs),
    );
    #[cfg(unix)]
    {
        let unix = UsbmuxdAddr::Unix(dir.path().join("usbmuxd.sock"));
        report(
            "iPhone over a Unix socket: plug → identified",
            &iphone_runs(unix, runs),
        );
    }
    match android_runs(runs) {
        Some(times) => report("Android: adb connect → identified", &times),
        None => eprintln!("notice: adb is not installed; the Android figure is left out"),
    }
}

fn report(label: &str, times: &[Duration]) {
    let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: median {:.0} ms, p90 {:.0} ms, min {:.0} ms, max {:.0} ms ({} runs)",
        at(0.5),
        at(0.9),
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    );
}

fn iphone_runs(listen: UsbmuxdAddr, runs: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let sim = SimUsbmuxd::start(listen, &dir.path().join("usbmuxd")).unwrap();
    let phone = sim
        .add_iphone(IphoneConfig::new(dir.path().join("phone")))
        .unwrap();
    let mux = Usbmuxd::new(MuxAddress::parse(&sim.address().to_string()).unwrap());
    let cancel = CancelToken::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let paired = ios::pair(&mux, phone.udid(), Duration::from_secs(30), &cancel, |_| {})
            .await
            .unwrap();
        assert_eq!(paired, ios::PairOutcome::Paired);
        let mut events = ios::watch(&mux, &cancel).await.unwrap();
        // The phone already plugged in comes first.
        wait_for(&mut events, |e| matches!(e, DeviceEvent::Attached(_))).await;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            phone.control(ControlCommand::Unplug).unwrap();
            wait_for(&mut events, |e| matches!(e, DeviceEvent::Detached { .. })).await;
            let start = Instant::now();
            phone.control(ControlCommand::Plug).unwrap();
            wait_for(&mut events, |e| matches!(e, DeviceEvent::Attached(_))).await;
            let device = ios::read(&mux, phone.udid(), &cancel).await.unwrap();
            times.push(start.elapsed());
            assert_eq!(device.state, DeviceState::Ready);
            assert!(device.battery.level.is_some() && device.storage.free_bytes.is_some());
        }
        times
    })
}

async fn wait_for(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<
        Result<DeviceEvent, plugback_core::device::DeviceError>,
    >,
    wanted: impl Fn(&DeviceEvent) -> bool,
) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("no usbmuxd event within 10 s")
            .expect("the watch ended")
            .expect("a usbmuxd event");
        if wanted(&event) {
            return;
        }
    }
}

fn android_runs(runs: usize) -> Option<Vec<Duration>> {
    let adb = AdbServer::start()?;
    let server = android::AdbServer::new(adb.port()).with_adb_path(adb.adb());
    let cancel = CancelToken::new();
    let mut tracker = DeviceTracker::start(&server, &cancel).unwrap();
    let mut times = Vec::with_capacity(runs);
    let mut phones = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimAndroid::start(
            AndroidConfig::new(dir.path().to_path_buf()),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap();
        let serial = sim.address().to_string();
        let start = Instant::now();
        adb.connect(&serial);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = tracker.next_events(Duration::from_millis(100)).unwrap();
            if events.iter().any(|e| {
                matches!(e, DeviceEvent::Attached(d) | DeviceEvent::Changed(d)
                    if d.id == serial && d.state == DeviceState::Ready)
            }) {
                break;
            }
            assert!(Instant::now() < deadline, "the tracker never saw {serial}");
        }
        let device = android::read(&server, &serial, &cancel).unwrap();
        times.push(start.elapsed());
        assert!(device.battery.level.is_some() && device.storage.free_bytes.is_some());
        phones.push((dir, sim));
    }
    Some(times)
}
