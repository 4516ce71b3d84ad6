//! One simulated iPhone: its configuration, its live state (battery, trust, plugged in or
//! not) and the folders that hold its storage.

use crate::control::Answer;
use crate::fault::Fault;
use crate::iphone::pairing::{DeviceIdentity, PairingError, PairingStore};
use crate::iphone::socket::{MuxStream, SocketSet};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

/// The UDID of a simulated iPhone unless told otherwise: the modern 8-4 form, with the
/// dash that libusbmuxd would insert into a 24-character serial anyway.
pub const DEFAULT_UDID: &str = "00008030-001D35093EF2402E";

/// How the phone answers "Trust This Computer?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustMode {
    /// Trusts at once, as if the person tapped Trust straight away.
    Accept,
    /// Leaves the prompt pending until the control channel answers it.
    Prompt,
    /// The person taps Don't Trust.
    Deny,
}

/// What a simulated iPhone is, and how it behaves.
#[derive(Clone, Debug)]
pub struct IphoneConfig {
    /// The folder that holds the phone's storage, pairings and restored files.
    pub data_dir: PathBuf,
    pub udid: String,
    pub name: String,
    pub product_type: String,
    pub ios_version: String,
    pub build_version: String,
    pub serial: String,
    pub battery_percent: u8,
    pub charging: bool,
    pub temperature_c: f32,
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub find_my: bool,
    pub trust: TrustMode,
    pub passcode_locked: bool,
    /// What usbmuxd reports as the link speed, in Mbit/s (480 for USB 2).
    pub link_mbps: u32,
    pub faults: Vec<Fault>,
}

impl IphoneConfig {
    /// An iPhone 14 Pro on iOS 18.1 (22B83), so that it takes the generated backups (17.5.1);
    /// 80 % charged and not charging, 30 °C, 64 GB free of 128 GB, Find My off, trusting the
    /// first host at once, on USB 2.
    pub fn new(data_dir: impl Into<PathBuf>) -> IphoneConfig {
        IphoneConfig {
            data_dir: data_dir.into(),
            udid: DEFAULT_UDID.to_string(),
            name: "iPhone 14 Pro".to_string(),
            product_type: "iPhone15,2".to_string(),
            ios_version: "18.1".to_string(),
            build_version: "22B83".to_string(),
            serial: "F2LXJ0Q1HG7F".to_string(),
            battery_percent: 80,
            charging: false,
            temperature_c: 30.0,
            free_bytes: 64_000_000_000,
            total_bytes: 128_000_000_000,
            find_my: false,
            trust: TrustMode::Accept,
            passcode_locked: false,
            link_mbps: 480,
            faults: Vec::new(),
        }
    }
}

/// What lockdownd knew when it started a service: passed to the service on connect.
#[derive(Clone, Debug, Default)]
pub struct ServiceContext {
    /// The host sent its EscrowBag with StartService.
    pub escrow_bag_given: bool,
    /// The HostID of the paired host that started the service.
    pub host_id: String,
}

/// The services lockdownd starts on request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    NotificationProxy,
    Afc,
    MobileBackup2,
}

impl ServiceKind {
    pub fn from_name(name: &str) -> Option<ServiceKind> {
        match name {
            "com.apple.mobile.notification_proxy" => Some(ServiceKind::NotificationProxy),
            "com.apple.afc" => Some(ServiceKind::Afc),
            "com.apple.mobilebackup2" => Some(ServiceKind::MobileBackup2),
            _ => None,
        }
    }
}

/// A service lockdownd started, waiting for the host's usbmuxd `Connect` to its port.
#[derive(Clone, Debug)]
pub struct StartedService {
    pub kind: ServiceKind,
    pub context: ServiceContext,
}

/// What usbmuxd tells its `Listen` clients about a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhoneEvent {
    Attached,
    Detached,
}

/// Where a phone reports its events: set by the usbmuxd the phone is attached to.
pub type EventSink = Arc<dyn Fn(PhoneEvent) + Send + Sync>;

/// How the phone answers one `Pair` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairDecision {
    Trust,
    /// The prompt is on screen and nobody has answered yet.
    Pending,
    Deny,
    /// A locked phone refuses to pair a new host until it is unlocked.
    PasswordProtected,
}

/// The "Trust This Computer?" prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Hidden,
    Showing,
    Answered(Answer),
}

/// What a fault asks a service stream to do once it has carried enough bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamAction {
    /// The phone has been unplugged: the stream is dead.
    Disconnected,
    /// Stop for this long, then go on.
    Stall(Duration),
}

/// What the faults mean for a service stream right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamPlan {
    /// Bytes per second, for `slow-mbps`.
    pub rate_limit: Option<u64>,
    /// The fewest bytes at which a byte-counting fault that has not fired yet fires.
    pub next_trigger: Option<u64>,
}

/// The first port lockdownd hands out for a started service.
const FIRST_SERVICE_PORT: u16 = 49_200;

struct Live {
    plugged: bool,
    prompt: Prompt,
    /// Indexes into `IphoneConfig::faults` of the faults that have fired (each fires once).
    fired: HashSet<usize>,
    services: HashMap<u16, StartedService>,
    next_port: u16,
    events: Option<EventSink>,
}

/// The live phone, shared by every connection to it.
pub struct Phone {
    config: Mutex<IphoneConfig>,
    data_dir: PathBuf,
    /// Observers of notification_proxy, shared by every connection.
    pub(crate) notifications: crate::iphone::notification_proxy::Hub,
    /// AFC file locks, shared by every AFC connection.
    pub(crate) afc_locks: crate::iphone::afc::Locks,
    live: Mutex<Live>,
    /// Every open connection to the phone (lockdownd and services), cut on unplug.
    connections: SocketSet,
    identity: OnceLock<Arc<DeviceIdentity>>,
    /// Bumped whenever a fault is added or fires, so service streams re-read the plan.
    faults_version: AtomicU64,
    /// The phone itself, for timers that plug it back later; set when it joins a usbmuxd.
    me: OnceLock<Weak<Phone>>,
    /// Set when the usbmuxd stops: timers end instead of plugging the phone back.
    retired: AtomicBool,
    /// What lockdownd answers for `com.apple.mobile.backup` / `WillEncrypt`.
    will_encrypt: AtomicBool,
}

impl Phone {
    pub fn new(config: IphoneConfig) -> Self {
        Phone {
            data_dir: config.data_dir.clone(),
            config: Mutex::new(config),
            notifications: Default::default(),
            afc_locks: Default::default(),
            live: Mutex::new(Live {
                plugged: true,
                prompt: Prompt::Hidden,
                fired: HashSet::new(),
                services: HashMap::new(),
                next_port: FIRST_SERVICE_PORT,
                events: None,
            }),
            connections: SocketSet::default(),
            identity: OnceLock::new(),
            faults_version: AtomicU64::new(0),
            me: OnceLock::new(),
            retired: AtomicBool::new(false),
            will_encrypt: AtomicBool::new(false),
        }
    }

    /// A snapshot of the configuration as it is now (battery and trust change at run time).
    pub fn config(&self) -> IphoneConfig {
        self.config
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Changes the live configuration.
    pub fn update(&self, change: impl FnOnce(&mut IphoneConfig)) {
        change(&mut self.config.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The phone's own storage, as AFC sees it (`/` of the media partition).
    pub fn storage_dir(&self) -> PathBuf {
        self.data_dir.join("storage")
    }

    /// Where a restore writes each file, as `<domain>/<relativePath>`.
    pub fn restored_dir(&self) -> PathBuf {
        self.data_dir.join("restored")
    }

    /// True when `--fault hostile=paths` asks the phone to misbehave.
    pub fn hostile_paths(&self) -> bool {
        self.config().faults.contains(&Fault::HostilePaths)
    }

    /// Called by mobilebackup2 with each progress value it reports to the host, so that
    /// `disconnect-at-percent` can pull the plug at the right moment.
    pub fn report_restore_progress(&self, percent: f64) {
        let faults = self.config().faults;
        for (index, fault) in faults.iter().enumerate() {
            if let Fault::DisconnectAtPercent {
                percent: at,
                back_after,
            } = fault
                && percent >= f64::from(*at)
                && self.claim_fault(index)
            {
                eprintln!("plugback-sim: fault {fault}: unplugging at {percent:.1} %");
                self.unplug_for(*back_after);
            }
        }
    }

    /// The phone reboots after a restore: usbmuxd reports it Detached, then Attached again
    /// after `after`. Every connection drops, as on the real phone.
    pub fn reboot(&self, after: Duration) {
        self.unplug_for(Some(after));
    }

    /// Whether the phone's backups are encrypted (lockdownd's `WillEncrypt`); false unless set.
    pub fn will_encrypt(&self) -> bool {
        self.will_encrypt.load(Ordering::SeqCst)
    }

    pub fn set_will_encrypt(&self, encrypt: bool) {
        self.will_encrypt.store(encrypt, Ordering::SeqCst);
    }

    // ----- identity and pairings -----

    /// The phone's RSA key, loaded from (or first made in) the data folder.
    pub fn identity(&self) -> Result<Arc<DeviceIdentity>, PairingError> {
        if let Some(identity) = self.identity.get() {
            return Ok(identity.clone());
        }
        let loaded = Arc::new(DeviceIdentity::load_or_create(&self.data_dir)?);
        Ok(self.identity.get_or_init(|| loaded).clone())
    }

    /// The hosts this phone trusts.
    pub fn pairings(&self) -> PairingStore {
        PairingStore::new(&self.data_dir)
    }

    /// How the phone answers a `Pair` from a host (already paired or not).
    pub fn decide_pairing(&self, host_already_paired: bool) -> PairDecision {
        let config = self.config();
        if config.passcode_locked && !host_already_paired {
            return PairDecision::PasswordProtected;
        }
        if host_already_paired {
            return PairDecision::Trust;
        }
        let mut live = self.live();
        // An answer given through the control channel wins over the configured mode.
        if let Prompt::Answered(answer) = live.prompt {
            live.prompt = Prompt::Hidden;
            return match answer {
                Answer::Accept => PairDecision::Trust,
                Answer::Deny => PairDecision::Deny,
            };
        }
        match config.trust {
            TrustMode::Accept => PairDecision::Trust,
            TrustMode::Deny => PairDecision::Deny,
            TrustMode::Prompt => {
                live.prompt = Prompt::Showing;
                PairDecision::Pending
            }
        }
    }

    /// Answers the trust prompt (or answers it ahead, for the next host that asks).
    pub fn answer_trust(&self, answer: Answer) -> bool {
        let mut live = self.live();
        let was_showing = live.prompt == Prompt::Showing;
        live.prompt = Prompt::Answered(answer);
        was_showing
    }

    // ----- plugged in or not -----

    pub fn is_plugged(&self) -> bool {
        self.live().plugged
    }

    /// Joins a usbmuxd: events go to `sink` from now on, and `flap` faults start.
    pub(crate) fn attach(self: &Arc<Self>, sink: EventSink) {
        let _ = self.me.set(Arc::downgrade(self));
        self.live().events = Some(sink);
        let faults = self.config().faults;
        for (index, fault) in faults.iter().enumerate() {
            if let Fault::Flap { times } = fault
                && self.claim_fault(index)
            {
                self.start_flapping(*times);
            }
        }
    }

    /// Leaves the usbmuxd for good: no more events, and timers end.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.live().events = None;
        self.connections.shutdown_all();
    }

    /// The cable comes out: every connection drops and usbmuxd reports Detached. False
    /// when the phone was already unplugged.
    pub fn unplug(&self) -> bool {
        let sink = {
            let mut live = self.live();
            if !live.plugged {
                return false;
            }
            live.plugged = false;
            live.services.clear();
            live.events.clone()
        };
        self.connections.shutdown_all();
        if let Some(sink) = sink {
            sink(PhoneEvent::Detached);
        }
        true
    }

    /// The cable goes back in: usbmuxd reports Attached. False when already plugged in.
    pub fn plug(&self) -> bool {
        let sink = {
            let mut live = self.live();
            if live.plugged {
                return false;
            }
            live.plugged = true;
            live.events.clone()
        };
        if let Some(sink) = sink {
            sink(PhoneEvent::Attached);
        }
        true
    }

    /// Unplugs now and, when `back_after` is given, plugs back in after that long.
    pub fn unplug_for(&self, back_after: Option<Duration>) {
        self.unplug();
        if let Some(after) = back_after {
            self.later(after, |phone| {
                phone.plug();
            });
        }
    }

    /// Runs `action` on the phone after `delay`, unless the phone is gone or retired by then.
    fn later(&self, delay: Duration, action: impl FnOnce(&Phone) + Send + 'static) {
        let Some(me) = self.me.get().cloned() else {
            return;
        };
        spawn_named("iphone-timer", move || {
            if let Some(phone) = sleep_while_alive(&me, delay) {
                action(&phone);
            }
        });
    }

    fn start_flapping(&self, times: u32) {
        let Some(me) = self.me.get().cloned() else {
            return;
        };
        spawn_named("iphone-flap", move || {
            let gap = Duration::from_secs(1);
            for _ in 0..times {
                let Some(phone) = sleep_while_alive(&me, gap) else {
                    return;
                };
                phone.unplug();
                drop(phone);
                let Some(phone) = sleep_while_alive(&me, gap) else {
                    return;
                };
                phone.plug();
            }
        });
    }

    // ----- connections and services -----

    /// Tracks an open connection so that an unplug cuts it; dropping the guard forgets it.
    pub fn track_connection(self: &Arc<Self>, stream: &MuxStream) -> io::Result<ConnectionGuard> {
        let id = self.connections.insert(stream)?;
        Ok(ConnectionGuard {
            phone: Arc::downgrade(self),
            id,
        })
    }

    /// Registers a started service; the host's next `Connect` to the port runs it.
    pub fn start_service(&self, kind: ServiceKind, context: ServiceContext) -> u16 {
        let mut live = self.live();
        let mut port = live.next_port;
        while live.services.contains_key(&port) || port == crate::iphone::lockdown::LOCKDOWN_PORT {
            port = port.checked_add(1).unwrap_or(FIRST_SERVICE_PORT);
        }
        live.next_port = port.checked_add(1).unwrap_or(FIRST_SERVICE_PORT);
        live.services.insert(port, StartedService { kind, context });
        port
    }

    /// The service started on `port`, taken: each start serves one connection.
    pub fn take_service(&self, port: u16) -> Option<StartedService> {
        self.live().services.remove(&port)
    }

    // ----- faults -----

    /// Adds a fault at run time. A `flap` starts at once.
    pub fn add_fault(&self, fault: Fault) {
        let index = {
            let mut config = self.config.lock().unwrap_or_else(|p| p.into_inner());
            config.faults.push(fault.clone());
            config.faults.len() - 1
        };
        self.faults_version.fetch_add(1, Ordering::SeqCst);
        if let Fault::Flap { times } = fault
            && self.claim_fault(index)
        {
            self.start_flapping(times);
        }
    }

    /// Changes whenever the fault plan may have changed.
    pub fn faults_version(&self) -> u64 {
        self.faults_version.load(Ordering::SeqCst)
    }

    /// What the faults mean for a service stream now.
    pub fn stream_plan(&self) -> StreamPlan {
        let faults = self.config().faults;
        let live = self.live();
        let mut plan = StreamPlan::default();
        for (index, fault) in faults.iter().enumerate() {
            if let Some(rate) = fault.rate_limit_bytes_per_s() {
                plan.rate_limit = Some(plan.rate_limit.map_or(rate, |r| r.min(rate)));
            }
            let trigger = match fault {
                Fault::DisconnectAfterBytes { bytes, .. }
                | Fault::StallAfterBytes { bytes, .. } => *bytes,
                _ => continue,
            };
            if !live.fired.contains(&index) {
                plan.next_trigger = Some(plan.next_trigger.map_or(trigger, |t| t.min(trigger)));
            }
        }
        plan
    }

    /// A service stream has carried `carried` bytes: fires the byte-counting faults that
    /// are due, and says what the stream must do.
    pub fn on_stream_bytes(&self, carried: u64) -> Option<StreamAction> {
        let faults = self.config().faults;
        let mut action = None;
        for (index, fault) in faults.iter().enumerate() {
            match fault {
                Fault::DisconnectAfterBytes { bytes, back_after }
                    if carried >= *bytes && self.claim_fault(index) =>
                {
                    eprintln!("plugback-sim: fault {fault}: unplugging after {carried} bytes");
                    self.unplug_for(*back_after);
                    return Some(StreamAction::Disconnected);
                }
                Fault::StallAfterBytes { bytes, stall }
                    if carried >= *bytes && self.claim_fault(index) =>
                {
                    eprintln!("plugback-sim: fault {fault}: stalling after {carried} bytes");
                    action = Some(StreamAction::Stall(*stall));
                }
                _ => {}
            }
        }
        action
    }

    /// Marks fault `index` as fired; false when it already had.
    fn claim_fault(&self, index: usize) -> bool {
        let newly = self.live().fired.insert(index);
        if newly {
            self.faults_version.fetch_add(1, Ordering::SeqCst);
        }
        newly
    }

    /// One line of `key=value` pairs for the control channel's `status`.
    pub fn status_line(&self) -> String {
        let config = self.config();
        let live = self.live();
        let prompt = match live.prompt {
            Prompt::Hidden => "none",
            Prompt::Showing => "showing",
            Prompt::Answered(Answer::Accept) => "accepted",
            Prompt::Answered(Answer::Deny) => "denied",
        };
        let trust = match config.trust {
            TrustMode::Accept => "accept",
            TrustMode::Prompt => "prompt",
            TrustMode::Deny => "deny",
        };
        let faults: Vec<String> = config.faults.iter().map(Fault::to_string).collect();
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        format!(
            "udid={} plugged={} battery={} charging={} temperature={:.1} trust={} prompt={} \
             passcode_locked={} paired_hosts={} connections={} faults={} fired={}",
            config.udid,
            yes_no(live.plugged),
            config.battery_percent,
            yes_no(config.charging),
            config.temperature_c,
            trust,
            prompt,
            yes_no(config.passcode_locked),
            self.pairings().count(),
            self.connections.len(),
            if faults.is_empty() {
                "none".to_string()
            } else {
                faults.join(";")
            },
            live.fired.len(),
        )
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Keeps a connection on the phone's list of open connections while it lives.
pub struct ConnectionGuard {
    phone: Weak<Phone>,
    id: u64,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(phone) = self.phone.upgrade() {
            phone.connections.remove(self.id);
        }
    }
}

/// Sleeps `delay` in short steps; the phone afterwards, unless it is gone or retired.
fn sleep_while_alive(phone: &Weak<Phone>, delay: Duration) -> Option<Arc<Phone>> {
    let until = Instant::now() + delay;
    loop {
        let phone = phone.upgrade()?;
        if phone.retired.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        if now >= until {
            return Some(phone);
        }
        drop(phone);
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Spawns a helper thread; when the process is out of threads, says so and carries on.
pub(crate) fn spawn_named(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(work) {
        eprintln!("plugback-sim: could not start a {name} thread: {e}");
    }
}
