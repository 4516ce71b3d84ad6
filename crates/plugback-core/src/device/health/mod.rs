//! The connection health check: how good is this cable, port and link for a restore?
//! It measures the link against what the phone can do, the hub, flapping, round-trip
//! latency, a write-and-read throughput probe and transport errors, then grades them
//! (`good` | `fair` | `poor`) with findings that say what to do.

pub mod capability;
pub mod figures;
pub mod flaps;
pub mod rules;

pub use figures::{ProbeError, ProbeFigures, ProbePlan};
pub use flaps::{FLAP_WINDOW, FlapCount, FlapLog};
pub use rules::{Evidence, Grade, HostOs};

use crate::cancel::CancelToken;
use crate::device::ios::wait::cancelled;
use crate::device::snapshot::Sources;
use crate::device::usb::{UsbPhone, UsbPresence, join};
use crate::device::watcher::{self, WatchEvent};
use crate::device::{Device, DeviceError, DeviceState, Platform, android, ios};
use crate::finding::Finding;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How a check runs.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    pub plan: ProbePlan,
    /// How long to watch the phone for disconnections, at the least (the probe runs
    /// meanwhile). A flapping cable drops the phone every few seconds.
    pub observe: Duration,
    /// Arrivals and departures seen before the check (the app keeps them for the last
    /// minutes); added to what the check sees itself.
    pub history: Option<FlapCount>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            plan: ProbePlan::default(),
            observe: Duration::from_secs(5),
            history: None,
        }
    }
}

/// The result of a check: the grade, the findings, and the figures behind them.
#[derive(Clone, Debug)]
pub struct HealthReport {
    pub device: Device,
    pub grade: Grade,
    pub findings: Vec<Finding>,
    pub flaps: FlapCount,
    pub best_link_mbps: Option<u32>,
    pub usb: Option<UsbPhone>,
    /// Whether this computer gives a USB view at all.
    pub usb_visible: bool,
    pub probe: Option<ProbeFigures>,
}

impl HealthReport {
    /// The document `plugback health --json` prints.
    pub fn to_json(&self) -> Value {
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0);
        let rate = |r: Option<f64>| r.map(|r| (r * 10.0).round() / 10.0);
        json!({
            "id": self.device.id,
            "platform": self.device.platform,
            "name": self.device.name,
            "model": self.device.model,
            "state": self.device.state.name(),
            "grade": self.grade,
            "findings": self.findings,
            "figures": {
                "link": {
                    "speed_mbps": self.device.link.speed_mbps,
                    "best_mbps": self.best_link_mbps,
                    "via_hub": self.device.link.via_hub,
                    "usb_visible": self.usb_visible,
                    "autosuspend": self.usb.as_ref().and_then(|u| u.autosuspend),
                },
                "flapping": {
                    "attaches": self.flaps.attaches,
                    "detaches": self.flaps.detaches,
                    "window_s": self.flaps.window.as_secs(),
                },
                "latency_ms": self.probe.as_ref().map(|p| json!({
                    "p50": ms(p.latency(0.5)),
                    "p99": ms(p.latency(0.99)),
                    "samples": p.round_trips.len(),
                })),
                "throughput": self.probe.as_ref().map(|p| json!({
                    "payload_bytes": p.payload_bytes,
                    "write_mb_per_s": rate(p.write_mb_per_s()),
                    "read_mb_per_s": rate(p.read_mb_per_s()),
                    "intact": p.intact,
                    "cleaned_up": p.cleaned_up,
                })),
                "transport_errors": self.probe.as_ref().map(|p| p.errors.clone()).unwrap_or_default(),
            },
        })
    }
}

/// Checks `device` (as read just before, e.g. by `snapshot`): watches it for disconnections
/// while the probe runs, then grades. Blocks; run it on a worker thread, never on the GUI
/// thread. Fails only when the check cannot start (no runtime); a phone that fails during
/// the check is a finding.
pub fn check(
    sources: Sources,
    device: Device,
    options: &CheckOptions,
    cancel: &CancelToken,
) -> Result<HealthReport, DeviceError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(check_async(sources, device, options, cancel))
}

async fn check_async(
    sources: Sources,
    device: Device,
    options: &CheckOptions,
    cancel: &CancelToken,
) -> Result<HealthReport, DeviceError> {
    let started = Instant::now();
    let presence = UsbPresence::presence();
    let usb = join::find(presence.phones(), &device).cloned();
    let mut device = device;
    if let Some(usb) = &usb {
        join::fill_link(&mut device, std::slice::from_ref(usb));
    }

    let mux = sources.usbmuxd.as_ref().ok().cloned();
    let adb = sources.adb.clone();
    let mut events = watcher::watch(sources, cancel);
    let mut log = FlapLog::default();

    let probe = if device.state == DeviceState::Ready {
        let (plan, id) = (options.plan, device.id.clone());
        let probe_cancel = cancel.clone();
        let probing =
            match device.platform {
                Platform::Ios => match mux {
                    Some(mux) => tokio::spawn(async move {
                        Some(ios::probe(&mux, &id, &plan, &probe_cancel).await)
                    }),
                    None => tokio::spawn(async { None }),
                },
                Platform::Android => tokio::task::spawn_blocking(move || {
                    Some(android::probe::probe(&adb, &id, &plan, &probe_cancel))
                }),
            };
        tokio::pin!(probing);
        loop {
            tokio::select! {
                done = &mut probing => break done.ok().flatten(),
                Some(event) = events.recv() => record(&mut log, &event, &device.id),
                _ = cancelled(cancel) => return Err(DeviceError::Cancelled),
            }
        }
    } else {
        None
    };
    // Keep watching for the rest of the window: a flapping cable shows within seconds.
    let until = started + options.observe;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => record(&mut log, &event, &device.id),
                None => break,
            },
            _ = tokio::time::sleep(left) => break,
            _ = cancelled(cancel) => return Err(DeviceError::Cancelled),
        }
    }

    let mut flaps = log.count(
        &device.id,
        options.observe.max(started.elapsed()),
        Instant::now(),
    );
    if let Some(history) = options.history {
        flaps.attaches += history.attaches;
        flaps.detaches += history.detaches;
        flaps.window = flaps.window.max(history.window);
    }
    let evidence = Evidence {
        device: &device,
        usb: usb.as_ref(),
        flaps,
        probe: probe.as_ref(),
        host: HostOs::current(),
    };
    let findings = rules::findings(&evidence);
    Ok(HealthReport {
        grade: Grade::of(&findings),
        best_link_mbps: capability::best_link_mbps(&device, usb.as_ref()),
        findings,
        flaps,
        usb,
        usb_visible: presence.code().is_none(),
        probe,
        device,
    })
}

/// Logs the phone's own arrivals and departures. The first sight of a phone already
/// plugged in is the watcher saying hello, not the phone arriving: it is not counted.
fn record(log: &mut FlapLog, event: &WatchEvent, id: &str) {
    let WatchEvent::Device(event) = event else {
        return;
    };
    match event {
        crate::device::DeviceEvent::Detached { id: gone, .. } if gone == id => log.record(event),
        crate::device::DeviceEvent::Attached(d)
            if d.id == id && log.count(id, FLAP_WINDOW, Instant::now()).detaches > 0 =>
        {
            log.record(event)
        }
        _ => {}
    }
}
