//! One stream of phone events for the whole engine: usbmuxd's Listen (iPhones), the adb
//! server's device tracking (Android phones) and USB presence, joined on one channel.
//!
//! A phone is published as soon as its transport sees it (Attached, with what the list
//! knows), then again once fully read (Changed: identity, battery, storage), so a slow read
//! never delays the next event. Detached goes out the moment a transport reports it; a read
//! that finishes after its phone left is dropped. A source that is missing (no usbmuxd, no
//! adb) is reported once and retried, so plugging an iPhone in (which starts usbmuxd on
//! Linux) or starting adb later just works.

use crate::cancel::CancelToken;
use crate::device::android::{self, AdbServer, DeviceTracker};
use crate::device::ios::wait::{cancelled, pause};
use crate::device::ios::{self, Usbmuxd};
use crate::device::snapshot::Sources;
use crate::device::usb::{UsbEvent, UsbPhone, fill_link};
use crate::device::{Device, DeviceError, DeviceEvent, DeviceState, Platform};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a missing source waits before it is asked again.
const RETRY_SOURCE: Duration = Duration::from_secs(2);
/// How long one wait on the adb tracking connection lasts before the cancel flag is read.
const TRACK_SLICE: Duration = Duration::from_millis(200);

/// What the watcher publishes.
#[derive(Debug)]
pub enum WatchEvent {
    Device(DeviceEvent),
    /// A phone on the USB bus arrived or left. Phones whose transport cannot reach them
    /// (USB debugging off, usbmuxd not running) are known only this way.
    Usb(UsbEvent),
    /// A source stopped answering (or never did); it is retried. Sent once per outage.
    SourceDown {
        platform: Platform,
        error: DeviceError,
    },
    /// A source that was down answers again.
    SourceUp {
        platform: Platform,
    },
}

/// What the sources feed the hub.
enum Input {
    Transport(DeviceEvent),
    Read {
        id: String,
        generation: u64,
        device: Result<Device, DeviceError>,
    },
    Usb(UsbEvent),
    Down(Platform, DeviceError),
    Up(Platform),
}

/// Starts watching on the current tokio runtime. Phones already plugged in come first, as
/// Attached. The stream ends on cancel or when the receiver is dropped.
pub fn watch(sources: Sources, cancel: &CancelToken) -> mpsc::UnboundedReceiver<WatchEvent> {
    let (input_tx, input_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    // The sources stop on their own token: the caller's cancel stops them through the hub,
    // and so does dropping the receiver, without cancelling anything else of the caller's.
    let stop = CancelToken::new();
    let mux = sources.usbmuxd.as_ref().ok().cloned();
    match sources.usbmuxd {
        Ok(mux) => {
            tokio::spawn(follow_iphones(mux, input_tx.clone(), stop.clone()));
        }
        Err(e) => {
            let _ = input_tx.send(Input::Down(Platform::Ios, e));
        }
    }
    let (adb, tx, adb_stop) = (sources.adb.clone(), input_tx.clone(), stop.clone());
    if let Err(e) = std::thread::Builder::new()
        .name("adb-tracker".into())
        .spawn(move || follow_androids(&adb, &tx, &adb_stop))
    {
        let _ = input_tx.send(Input::Down(
            Platform::Android,
            DeviceError::Io(std::io::Error::other(e)),
        ));
    }
    follow_usb(&input_tx, &stop);
    let hub = Hub {
        mux,
        adb: sources.adb,
        stop,
        devices: HashMap::new(),
        usb: Vec::new(),
        next_generation: 0,
        down: Vec::new(),
        input: input_tx,
        out: out_tx,
    };
    tokio::spawn(hub.run(input_rx, cancel.clone()));
    out_rx
}

struct Hub {
    /// Where full reads go (the sources' own connections stay with the sources).
    mux: Option<Usbmuxd>,
    adb: AdbServer,
    stop: CancelToken,
    /// Each phone as last published, with the generation of its presence (a replug is a
    /// new generation, so a read of the old one is dropped).
    devices: HashMap<String, (Device, u64)>,
    usb: Vec<UsbPhone>,
    next_generation: u64,
    down: Vec<Platform>,
    input: mpsc::UnboundedSender<Input>,
    out: mpsc::UnboundedSender<WatchEvent>,
}

impl Hub {
    async fn run(mut self, mut input: mpsc::UnboundedReceiver<Input>, cancel: CancelToken) {
        loop {
            let next = tokio::select! {
                next = input.recv() => next,
                _ = cancelled(&cancel) => None,
                _ = self.out.closed() => None,
            };
            let Some(next) = next else {
                self.stop.cancel();
                return;
            };
            self.handle(next);
        }
    }

    fn publish(&self, event: WatchEvent) {
        let _ = self.out.send(event);
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Transport(DeviceEvent::Attached(mut device)) => {
                self.next_generation += 1;
                let generation = self.next_generation;
                fill_link(&mut device, &self.usb);
                self.devices
                    .insert(device.id.clone(), (device.clone(), generation));
                self.start_read(&device, generation);
                self.publish(WatchEvent::Device(DeviceEvent::Attached(device)));
            }
            Input::Transport(DeviceEvent::Changed(mut seen)) => {
                let Some((known, generation)) = self.devices.get(&seen.id).cloned() else {
                    return self.handle(Input::Transport(DeviceEvent::Attached(seen)));
                };
                // The list knows less than the last full read: keep what it does not say.
                let state_changed = seen.state != known.state;
                let mut device = known.clone();
                device.state = seen.state.clone();
                if seen.link.speed_mbps.is_some() {
                    device.link = std::mem::take(&mut seen.link);
                }
                fill_link(&mut device, &self.usb);
                if state_changed {
                    self.start_read(&device, generation);
                }
                if device != known {
                    self.devices
                        .insert(device.id.clone(), (device.clone(), generation));
                    self.publish(WatchEvent::Device(DeviceEvent::Changed(device)));
                }
            }
            Input::Transport(DeviceEvent::Detached { id, platform }) => {
                if self.devices.remove(&id).is_some() {
                    self.publish(WatchEvent::Device(DeviceEvent::Detached { id, platform }));
                }
            }
            Input::Read {
                id,
                generation,
                device,
            } => self.finish_read(id, generation, device),
            Input::Usb(event) => self.usb_event(event),
            Input::Down(platform, error) => {
                if !self.down.contains(&platform) {
                    self.down.push(platform);
                    self.publish(WatchEvent::SourceDown { platform, error });
                }
                // Phones of a source that went away cannot be vouched for any more.
                let gone: Vec<String> = self
                    .devices
                    .iter()
                    .filter(|(_, (d, _))| d.platform == platform)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    self.devices.remove(&id);
                    self.publish(WatchEvent::Device(DeviceEvent::Detached { id, platform }));
                }
            }
            Input::Up(platform) => {
                if let Some(at) = self.down.iter().position(|p| *p == platform) {
                    self.down.remove(at);
                    self.publish(WatchEvent::SourceUp { platform });
                }
            }
        }
    }

    fn finish_read(&mut self, id: String, generation: u64, read: Result<Device, DeviceError>) {
        let Some((known, current)) = self.devices.get(&id) else {
            return;
        };
        if *current != generation {
            return;
        }
        let mut device = match read {
            Ok(device) => device,
            Err(e) => {
                tracing::warn!(%id, code = e.code(), "could not read the phone: {e}");
                return;
            }
        };
        if device.link.speed_mbps.is_none() {
            device.link = known.link.clone();
        }
        if device.model.is_none() {
            device.model = known.model.clone();
        }
        fill_link(&mut device, &self.usb);
        if &device != known {
            self.devices.insert(id, (device.clone(), generation));
            self.publish(WatchEvent::Device(DeviceEvent::Changed(device)));
        }
    }

    fn usb_event(&mut self, event: UsbEvent) {
        match &event {
            UsbEvent::Attached(phone) => self.usb.push(phone.clone()),
            UsbEvent::Detached(phone) => self.usb.retain(|p| p != phone),
        }
        // A phone that arrived on USB after its transport saw it gets its link now.
        let mut changed = Vec::new();
        for (device, _) in self.devices.values_mut() {
            let before = device.link.clone();
            if fill_link(device, &self.usb) && device.link != before {
                changed.push(device.clone());
            }
        }
        self.publish(WatchEvent::Usb(event));
        for device in changed {
            self.publish(WatchEvent::Device(DeviceEvent::Changed(device)));
        }
    }

    /// Reads the phone fully in the background; the result comes back as an Input.
    fn start_read(&self, device: &Device, generation: u64) {
        let (id, tx, cancel) = (device.id.clone(), self.input.clone(), self.stop.clone());
        match device.platform {
            Platform::Ios => {
                let Some(mux) = self.mux.clone() else {
                    return;
                };
                tokio::spawn(async move {
                    let device = ios::read(&mux, &id, &cancel).await;
                    let _ = tx.send(Input::Read {
                        id,
                        generation,
                        device,
                    });
                });
            }
            Platform::Android => {
                // A phone that is not authorized yet gives nothing more than the list.
                if device.state != DeviceState::Ready {
                    return;
                }
                let server = self.adb.clone();
                tokio::task::spawn_blocking(move || {
                    let device = android::read(&server, &id, &cancel);
                    let _ = tx.send(Input::Read {
                        id,
                        generation,
                        device,
                    });
                });
            }
        }
    }
}

/// usbmuxd's Listen, reopened after usbmuxd goes away.
async fn follow_iphones(mux: Usbmuxd, tx: mpsc::UnboundedSender<Input>, cancel: CancelToken) {
    while !cancel.is_cancelled() && !tx.is_closed() {
        match ios::watch(&mux, &cancel).await {
            Ok(mut events) => {
                let _ = tx.send(Input::Up(Platform::Ios));
                while let Some(event) = events.recv().await {
                    match event {
                        Ok(event) => {
                            if tx.send(Input::Transport(event)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Input::Down(Platform::Ios, e));
                            break;
                        }
                    }
                }
            }
            Err(DeviceError::Cancelled) => return,
            Err(e) => {
                let _ = tx.send(Input::Down(Platform::Ios, e));
            }
        }
        if pause(RETRY_SOURCE, &cancel).await.is_err() {
            return;
        }
    }
}

/// The adb server's tracking connection, on its own thread (the smart socket is blocking),
/// reopened after the server goes away.
fn follow_androids(server: &AdbServer, tx: &mpsc::UnboundedSender<Input>, cancel: &CancelToken) {
    while !cancel.is_cancelled() && !tx.is_closed() {
        match DeviceTracker::start(server, cancel) {
            Ok(mut tracker) => {
                let _ = tx.send(Input::Up(Platform::Android));
                loop {
                    if cancel.is_cancelled() || tx.is_closed() {
                        return;
                    }
                    match tracker.next_events(TRACK_SLICE) {
                        Ok(events) => {
                            for event in events {
                                if tx.send(Input::Transport(event)).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(DeviceError::Cancelled) => return,
                        Err(e) => {
                            let _ = tx.send(Input::Down(Platform::Android, e));
                            break;
                        }
                    }
                }
            }
            Err(DeviceError::Cancelled) => return,
            Err(e) => {
                let _ = tx.send(Input::Down(Platform::Android, e));
            }
        }
        let until = std::time::Instant::now() + RETRY_SOURCE;
        while std::time::Instant::now() < until {
            if cancel.is_cancelled() {
                return;
            }
            std::thread::sleep(TRACK_SLICE);
        }
    }
}

/// USB presence, where this computer gives a USB view; silent where it does not (the
/// transports work without it).
fn follow_usb(tx: &mpsc::UnboundedSender<Input>, cancel: &CancelToken) {
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    match crate::device::usb::UsbPresence::watch(cancel) {
        Ok(mut events) => {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if tx.send(Input::Usb(event)).is_err() {
                        return;
                    }
                }
            });
        }
        Err(e) => tracing::info!("USB presence is not available here: {e}"),
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    let _ = (tx, cancel);
}

/// The watcher on a thread and runtime of its own, for callers without a runtime (the
/// window, the command line): events arrive on a standard channel, which a window polls
/// each frame. Dropping the handle stops everything.
pub struct WatcherThread {
    events: std::sync::mpsc::Receiver<WatchEvent>,
    stop: CancelToken,
}

impl WatcherThread {
    pub fn start(sources: Sources) -> std::io::Result<WatcherThread> {
        let (tx, events) = std::sync::mpsc::channel();
        let stop = CancelToken::new();
        let cancel = stop.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("device-watcher".into())
            .spawn(move || {
                runtime.block_on(async {
                    let mut watched = watch(sources, &cancel);
                    while let Some(event) = watched.recv().await {
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                });
            })?;
        Ok(WatcherThread { events, stop })
    }

    pub fn events(&self) -> &std::sync::mpsc::Receiver<WatchEvent> {
        &self.events
    }
}

impl Drop for WatcherThread {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
