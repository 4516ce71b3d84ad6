//! The simulated Android phone as a library: [`SimAndroid::start`] listens for adb hosts
//! (Android's adb server attaches it with `adb connect`), and [`SimAndroid::control`]
//! drives it as the control channel does.
//!
//! Unplugging closes every connection and stops listening, so the host sees what a pulled
//! cable looks like over TCP; plugging listens again on the same address, where adb's
//! reconnect finds the phone.

use crate::android::auth::AdbKeys;
use crate::android::install::Installs;
use crate::android::transport::Connection;
use crate::android::{AndroidConfig, AndroidPhone, AuthMode};
use crate::control::{Answer, ControlCommand};
use crate::fault::Fault;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the phone is away during `adb reboot`.
const REBOOT_DURATION: Duration = Duration::from_secs(3);
/// How often the listener looks at the plug state while idle.
const ACCEPT_POLL: Duration = Duration::from_millis(20);
/// Emulator ports adb scans on its own; the phone keeps out of them.
const ADB_EMULATOR_PORTS: std::ops::RangeInclusive<u16> = 5554..=5585;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The state every connection to the phone shares.
pub(crate) struct Device {
    pub(crate) phone: Arc<AndroidPhone>,
    pub(crate) keys: AdbKeys,
    pub(crate) installs: Installs,
    connections: Mutex<Vec<Arc<Connection>>>,
    offline: AtomicBool,
    plugged: AtomicBool,
    /// Bumped by every unplug and plug, so a stale "plug back later" does nothing.
    plug_generation: AtomicU64,
    /// `hostile=paths` has already sent its garbage frame.
    hostile_spent: AtomicBool,
    stopping: AtomicBool,
}

impl Device {
    pub(crate) fn is_offline(&self) -> bool {
        self.offline.load(Ordering::SeqCst)
    }

    fn connections(&self) -> Vec<Arc<Connection>> {
        lock(&self.connections).clone()
    }

    /// Adds a new connection; refused (false) while unplugged.
    fn register(&self, connection: Arc<Connection>) -> bool {
        let mut connections = lock(&self.connections);
        if !self.plugged.load(Ordering::SeqCst) || self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        connections.push(connection);
        true
    }

    /// Called by a connection as it closes.
    pub(crate) fn forget(&self, connection: &Connection) {
        lock(&self.connections).retain(|c| !std::ptr::eq(Arc::as_ptr(c), connection));
    }

    fn close_all(&self) {
        for connection in self.connections() {
            connection.close();
        }
    }

    /// Pulls the cable: every connection drops and nobody can connect. With `back_after`,
    /// the phone is plugged back after that long.
    pub(crate) fn unplug(self: &Arc<Self>, back_after: Option<Duration>) {
        let generation = self.plug_generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.plugged.store(false, Ordering::SeqCst);
        self.close_all();
        if let Some(delay) = back_after {
            let device = self.clone();
            let spawned = std::thread::Builder::new()
                .name("adb-replug".into())
                .spawn(move || {
                    std::thread::sleep(delay);
                    if device.plug_generation.load(Ordering::SeqCst) == generation {
                        device.plug();
                    }
                });
            if let Err(e) = spawned {
                eprintln!("plugback-sim: cannot schedule the replug: {e}");
            }
        }
    }

    pub(crate) fn plug(&self) {
        self.plug_generation.fetch_add(1, Ordering::SeqCst);
        if !self.stopping.load(Ordering::SeqCst) {
            self.plugged.store(true, Ordering::SeqCst);
        }
    }

    /// `adb reboot`: the phone goes away and comes back a few seconds later.
    pub(crate) fn reboot(self: &Arc<Self>) {
        eprintln!("plugback-sim: rebooting");
        self.unplug(Some(REBOOT_DURATION));
    }

    /// "Revoke USB debugging authorisations": every key is forgotten and the hosts must
    /// ask again. A phone that asked for nothing starts asking.
    pub(crate) fn revoke_auth(&self) {
        if let Err(e) = self.keys.revoke_all() {
            eprintln!("plugback-sim: cannot rewrite adb_keys: {e}");
        }
        self.phone.update(|config| {
            if config.auth == AuthMode::None {
                config.auth = AuthMode::Prompt;
            }
        });
        self.close_all();
    }

    /// True once per `hostile=paths` fault: the caller may misbehave now.
    pub(crate) fn take_hostile_turn(&self) -> bool {
        !self.hostile_spent.swap(true, Ordering::SeqCst)
    }

    fn flap(self: &Arc<Self>, times: u32) {
        let device = self.clone();
        let spawned = std::thread::Builder::new()
            .name("adb-flap".into())
            .spawn(move || {
                for _ in 0..times {
                    if device.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    device.unplug(None);
                    std::thread::sleep(Duration::from_millis(500));
                    device.plug();
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        if let Err(e) = spawned {
            eprintln!("plugback-sim: cannot start flapping: {e}");
        }
    }

    fn answer_auth_prompt(&self, answer: Answer) -> Result<String, String> {
        let waiting: Vec<_> = self
            .connections()
            .into_iter()
            .filter(|c| c.has_pending_key())
            .collect();
        if waiting.is_empty() {
            return Err("no \"Allow USB debugging?\" prompt is on screen".into());
        }
        for connection in waiting {
            let Some(key) = connection.take_pending_key() else {
                continue;
            };
            if answer == Answer::Accept {
                self.keys
                    .allow(key)
                    .map_err(|e| format!("cannot save adb_keys: {e}"))?;
                if let Err(e) = connection.authorize() {
                    eprintln!("plugback-sim: the host left before it was allowed: {e}");
                }
            }
        }
        Ok(match answer {
            Answer::Accept => "allowed".into(),
            Answer::Deny => "denied".into(),
        })
    }

    fn status(&self) -> String {
        let config = self.phone.config();
        let connections = self.connections();
        let online = connections.iter().filter(|c| c.is_online()).count();
        let prompt = connections.iter().any(|c| c.has_pending_key());
        let faults: Vec<String> = config.faults.iter().map(Fault::to_string).collect();
        format!(
            "serial={} model={:?} plugged={} offline={} connections={} online={} \
             auth={:?} auth_prompt={} allowed_keys={} battery={} charging={} temperature={:.1} \
             restore_prompt={} faults={}",
            config.serial,
            config.model,
            self.plugged.load(Ordering::SeqCst),
            self.is_offline(),
            connections.len(),
            online,
            config.auth,
            prompt,
            self.keys.len(),
            config.battery_percent,
            config.charging,
            config.temperature_c,
            self.phone.restore_prompt_showing(),
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(";")
            },
        )
    }
}

/// A running simulated Android phone. Dropping it stops it.
pub struct SimAndroid {
    device: Arc<Device>,
    address: SocketAddr,
    listener_thread: Option<JoinHandle<()>>,
}

impl SimAndroid {
    /// Starts the phone, listening on `listen`. With port 0 the system picks a port,
    /// outside the range adb scans for emulators.
    pub fn start(config: AndroidConfig, listen: SocketAddr) -> io::Result<SimAndroid> {
        let listener = bind_outside_emulator_ports(listen)?;
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let flaps: Vec<u32> = config
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Flap { times } => Some(*times),
                _ => None,
            })
            .collect();
        let keys = AdbKeys::load(&config.data_dir);
        let phone = Arc::new(AndroidPhone::new(config)?);
        phone.update(|c| c.faults.retain(|f| !matches!(f, Fault::Flap { .. })));
        let installs = Installs::load(phone.data_dir(), phone.config().sdk);
        let device = Arc::new(Device {
            phone,
            keys,
            installs,
            connections: Mutex::new(Vec::new()),
            offline: AtomicBool::new(false),
            plugged: AtomicBool::new(true),
            plug_generation: AtomicU64::new(0),
            hostile_spent: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        });
        let accepting = device.clone();
        let listener_thread = std::thread::Builder::new()
            .name("adb-listener".into())
            .spawn(move || accept_loop(accepting, listener, address))?;
        for times in flaps {
            device.flap(times);
        }
        Ok(SimAndroid {
            device,
            address,
            listener_thread: Some(listener_thread),
        })
    }

    /// Where the phone listens: `adb connect` this.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The phone itself: configuration, storage, prompts.
    pub fn phone(&self) -> Arc<AndroidPhone> {
        self.device.phone.clone()
    }

    /// Applies one control command; the reply detail on success, the reason otherwise.
    pub fn control(&self, command: ControlCommand) -> Result<String, String> {
        let device = &self.device;
        match command {
            ControlCommand::Unplug => {
                device.unplug(None);
                Ok("unplugged".into())
            }
            ControlCommand::Plug => {
                device.plug();
                Ok("plugged".into())
            }
            ControlCommand::Trust(_) => {
                Err("trust is an iPhone prompt; Android uses auth accept|deny".into())
            }
            ControlCommand::Auth(answer) => device.answer_auth_prompt(answer),
            ControlCommand::Battery { percent, charging } => {
                device.phone.update(|c| {
                    c.battery_percent = percent;
                    if let Some(charging) = charging {
                        c.charging = charging;
                    }
                });
                Ok(format!("battery={percent}"))
            }
            ControlCommand::Temperature { celsius } => {
                device.phone.update(|c| c.temperature_c = celsius);
                Ok(format!("temperature={celsius:.1}"))
            }
            ControlCommand::Offline => {
                device.offline.store(true, Ordering::SeqCst);
                device.close_all();
                Ok("offline".into())
            }
            ControlCommand::Online => {
                device.offline.store(false, Ordering::SeqCst);
                for connection in device.connections() {
                    if let Err(e) = connection.send_cnxn_when_ready() {
                        eprintln!("plugback-sim: cannot bring a connection online: {e}");
                    }
                }
                Ok("online".into())
            }
            ControlCommand::ConfirmRestore { answer, password } => device
                .phone
                .answer_restore(answer, password)
                .map(|()| "answered".to_string()),
            ControlCommand::AddFault(fault) => {
                let spec = fault.to_string();
                match fault {
                    Fault::Flap { times } => device.flap(times),
                    Fault::DisconnectAtPercent { .. } => {
                        return Err("disconnect-at-percent applies to iPhone restores; use \
                                    disconnect-after-bytes"
                            .into());
                    }
                    other => {
                        if other == Fault::HostilePaths {
                            device.hostile_spent.store(false, Ordering::SeqCst);
                        }
                        device.phone.update(|c| c.faults.push(other));
                    }
                }
                Ok(format!("fault {spec}"))
            }
            ControlCommand::Status => Ok(device.status()),
            ControlCommand::Quit => Ok("quitting".into()),
        }
    }
}

impl Drop for SimAndroid {
    fn drop(&mut self) {
        self.device.stopping.store(true, Ordering::SeqCst);
        self.device.plugged.store(false, Ordering::SeqCst);
        self.device.close_all();
        if let Some(thread) = self.listener_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `listen`; with port 0, re-picks until the port is outside adb's emulator scan.
fn bind_outside_emulator_ports(listen: SocketAddr) -> io::Result<TcpListener> {
    let mut listener = TcpListener::bind(listen)?;
    if listen.port() == 0 {
        for _ in 0..20 {
            if !ADB_EMULATOR_PORTS.contains(&listener.local_addr()?.port()) {
                break;
            }
            listener = TcpListener::bind(listen)?;
        }
    }
    Ok(listener)
}

/// Accepts hosts while plugged in; drops the listening socket while unplugged, so hosts
/// get "connection refused" as with a pulled cable, and binds it again on plug.
fn accept_loop(device: Arc<Device>, listener: TcpListener, address: SocketAddr) {
    let mut listener = Some(listener);
    let mut bind_failures = 0u32;
    while !device.stopping.load(Ordering::SeqCst) {
        if !device.plugged.load(Ordering::SeqCst) {
            listener = None;
            std::thread::sleep(ACCEPT_POLL);
            continue;
        }
        let Some(active) = &listener else {
            match TcpListener::bind(address).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
                Ok(l) => {
                    listener = Some(l);
                    bind_failures = 0;
                }
                Err(e) => {
                    if bind_failures == 0 {
                        eprintln!("plugback-sim: cannot listen on {address} again yet: {e}");
                    }
                    bind_failures += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            continue;
        };
        match active.accept() {
            Ok((socket, _)) => {
                if let Err(e) = start_connection(&device, socket) {
                    eprintln!("plugback-sim: cannot serve a new adb connection: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) => {
                eprintln!("plugback-sim: accepting an adb connection failed: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

fn start_connection(device: &Arc<Device>, socket: std::net::TcpStream) -> io::Result<()> {
    socket.set_nonblocking(false)?;
    let connection = Connection::new(device.clone(), socket)?;
    if !device.register(connection.clone()) {
        connection.close();
        return Ok(());
    }
    let spawned = std::thread::Builder::new()
        .name("adb-connection".into())
        .spawn({
            let connection = connection.clone();
            move || connection.run()
        });
    if let Err(e) = spawned {
        connection.close();
        return Err(e);
    }
    Ok(())
}
