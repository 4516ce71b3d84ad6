//! Demo mode (`plugback --demo`): a simulated iPhone and Android phone, and sample
//! backups of them, all inside the app, so a person can try Plugback without a phone and
//! without anything on this computer being read or changed.
//!
//! Everything lives in a temporary folder the [`Demo`] owns; dropping it stops the
//! simulators, tells the private adb server to quit and removes the folder.
//!
//! - [`samples`]: the sample backups.

pub mod samples;

use crate::test_restore::adb::{self, PrivateAdb};
use plugback_core::cancel::CancelToken;
use plugback_core::device::DeviceError;
use plugback_core::device::android::AdbServer;
use plugback_core::device::ios::{self, MuxAddress, PairOutcome, Usbmuxd};
use plugback_core::device::snapshot::Sources;
use plugback_core::explain::explain;
use plugback_sim::android::{AndroidConfig, SimAndroid};
use plugback_sim::control::ControlCommand;
use plugback_sim::iphone::{IphoneConfig, SimIphone, SimUsbmuxd, TrustMode, UsbmuxdAddr};
use samples::Samples;
use std::path::{Path, PathBuf};

/// What the demo can do to one of its phones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simulate {
    /// The cable is pulled: the phone leaves the computer.
    Unplug,
    /// The cable goes back in.
    Replug,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the demo's temporary folder could not be made: {0}")]
    Folder(#[from] std::io::Error),
    #[error(transparent)]
    Samples(#[from] samples::SampleError),
    #[error("the simulated iPhone could not start: {0}")]
    Iphone(String),
    #[error("the simulated iPhone could not be paired: {0}")]
    Pairing(String),
    #[error("the demo was cancelled while it started")]
    Cancelled,
}

/// The simulated Android phone on its private adb server.
struct DemoAndroid {
    // Dropped in this order: the server first (it lets go of the phone), then the phone.
    adb: PrivateAdb,
    sim: SimAndroid,
    /// How the adb server lists the phone (`127.0.0.1:PORT`): its id in the window.
    serial: String,
}

/// The running demo. Dropping it stops everything it started.
pub struct Demo {
    // Fields drop in order: the Android phone and its server, then the usbmuxd (which
    // stops the iPhone), then the folder that held them all.
    android: Option<DemoAndroid>,
    android_missing: Option<String>,
    iphone: SimIphone,
    mux: SimUsbmuxd,
    /// The window's client for the simulated usbmuxd.
    usbmuxd: Usbmuxd,
    /// The private adb server's port, or a free one nothing listens on without adb.
    adb_port: u16,
    samples: Samples,
    backups: PathBuf,
    /// A folder with no programs in it: the window's adb client searches it, so it can
    /// never start an adb server of its own (with the person's HOME) if the private one
    /// goes away.
    no_programs: PathBuf,
    root: tempfile::TempDir,
}

impl Demo {
    /// Writes the sample backups, starts the simulated phones and pairs the iPhone. Without
    /// adb the demo runs with the iPhone only, and [`Demo::android_missing`] says why.
    pub fn start(cancel: &CancelToken) -> Result<Demo, DemoError> {
        let root = tempfile::Builder::new()
            .prefix("plugback-demo-")
            .tempdir()?;
        let backups = root.path().join("backups");
        let no_programs = root.path().join("no-programs");
        for dir in [&backups, &no_programs] {
            std::fs::create_dir(dir)?;
        }
        let samples = samples::write(&backups, now_unix())?;
        if cancel.is_cancelled() {
            return Err(DemoError::Cancelled);
        }

        let mux = SimUsbmuxd::start(
            UsbmuxdAddr::Tcp(([127, 0, 0, 1], 0).into()),
            &root.path().join("usbmuxd"),
        )
        .map_err(|err| DemoError::Iphone(err.to_string()))?;
        let mut phone = IphoneConfig::new(root.path().join("phones/iphone"));
        phone.name = samples::IPHONE_NAME.to_owned();
        phone.product_type = samples::IPHONE_MODEL.to_owned();
        phone.udid = samples.iphone_udid.clone();
        phone.trust = TrustMode::Accept;
        let iphone = mux
            .add_iphone(phone)
            .map_err(|err| DemoError::Iphone(err.to_string()))?;
        let usbmuxd = usbmuxd_client(&mux)?;
        pair(&usbmuxd, iphone.udid(), cancel)?;

        let (android, android_missing) =
            match start_android(root.path(), &samples.pixel_serial, cancel) {
                Ok(android) => (Some(android), None),
                Err(_) if cancel.is_cancelled() => return Err(DemoError::Cancelled),
                Err(missing) => (None, Some(missing)),
            };
        let adb_port = match &android {
            Some(android) => android.adb.server().port(),
            // Nothing listens there: the window says plainly that Android phones cannot
            // be seen.
            None => adb::free_port()?,
        };
        Ok(Demo {
            android,
            android_missing,
            iphone,
            mux,
            usbmuxd,
            adb_port,
            samples,
            backups,
            no_programs,
            root,
        })
    }

    /// Where the window looks for the demo's phones.
    pub fn sources(&self) -> Sources {
        Sources {
            usbmuxd: Ok(self.usbmuxd.clone()),
            adb: AdbServer::new(self.adb_port).with_search_path(self.no_programs.as_os_str()),
        }
    }

    /// The folder that holds the sample backups (and nothing else).
    pub fn backups_dir(&self) -> &Path {
        &self.backups
    }

    /// The sample backups as written.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// What to tell a person about the encrypted sample's password.
    pub fn password_hint(&self) -> String {
        format!("The encrypted backup's password is {}.", samples::PASSWORD)
    }

    /// Why the demo has no Android phone, with how to fix it; None when it has one.
    pub fn android_missing(&self) -> Option<&str> {
        self.android_missing.as_deref()
    }

    /// The simulated iPhone's UDID, as the window shows it.
    pub fn iphone_id(&self) -> &str {
        self.iphone.udid()
    }

    /// The simulated Android phone's adb serial, as the window shows it.
    pub fn android_id(&self) -> Option<&str> {
        self.android.as_ref().map(|a| a.serial.as_str())
    }

    /// Where the usbmuxd and the private adb server listen (for checks that they stop).
    pub fn listening(&self) -> Vec<std::net::SocketAddr> {
        let mut addresses = Vec::new();
        if let UsbmuxdAddr::Tcp(address) = self.mux.address() {
            addresses.push(*address);
        }
        if let Some(android) = &self.android {
            addresses.push(android.adb.server().address());
        }
        addresses
    }

    /// Pulls out or plugs back in the phone the window knows as `id`. Blocks until the
    /// Android phone is listed again after a replug (bounded): run it off the UI thread.
    pub fn simulate(&self, id: &str, action: Simulate) -> Result<(), String> {
        let command = match action {
            Simulate::Unplug => ControlCommand::Unplug,
            Simulate::Replug => ControlCommand::Plug,
        };
        if id == self.iphone.udid() {
            return self.iphone.control(command).map(drop);
        }
        match &self.android {
            Some(android) if android.serial == id => android.simulate(command, action),
            _ => Err(format!("The demo has no phone called {id}.")),
        }
    }

    /// The demo's own folder (removed on drop).
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

impl DemoAndroid {
    /// A phone on TCP is listed by the server until told otherwise, where a real phone
    /// pulled from USB vanishes at once: the server is told to forget it on an unplug,
    /// and to connect again on a replug, so the window sees what a cable would do.
    fn simulate(&self, command: ControlCommand, action: Simulate) -> Result<(), String> {
        self.sim.control(command)?;
        let cancel = CancelToken::new();
        let server = self.adb.server();
        let result = match action {
            Simulate::Unplug => server
                .connect(&cancel)
                .and_then(|mut socket| socket.query(&format!("host:disconnect:{}", self.serial)))
                .map(drop),
            Simulate::Replug => self.adb.attach(&self.serial, &cancel),
        };
        result.map_err(|err| format!("The demo's adb server did not follow: {err}"))
    }
}

/// A client for the simulated usbmuxd.
fn usbmuxd_client(mux: &SimUsbmuxd) -> Result<Usbmuxd, DemoError> {
    MuxAddress::parse(&mux.address().to_string())
        .map(Usbmuxd::new)
        .map_err(|err| DemoError::Iphone(err.to_string()))
}

/// Pairs this app with the simulated iPhone, which trusts at once, so that its card shows
/// it ready as a trusted phone would be.
fn pair(mux: &Usbmuxd, udid: &str, cancel: &CancelToken) -> Result<(), DemoError> {
    match ios::block_on(ios::pair_once(mux, udid, cancel)) {
        Ok(PairOutcome::Paired) => Ok(()),
        Ok(other) => Err(DemoError::Pairing(format!("the phone answered {other:?}"))),
        Err(DeviceError::Cancelled) => Err(DemoError::Cancelled),
        Err(err) => Err(DemoError::Pairing(err.to_string())),
    }
}

/// Starts the simulated Android phone (identified as its folder backup says) on a private
/// adb server. Err is the sentence a person reads about why there is no Android phone.
fn start_android(root: &Path, serial: &str, cancel: &CancelToken) -> Result<DemoAndroid, String> {
    let program = adb::find_adb().map_err(|why| {
        let advice = explain("adb-unavailable").map_or("", |entry| entry.what_to_do);
        format!("The demo has no Android phone: Plugback reaches Android phones through adb, and {why}. {advice}")
    })?;
    let cannot = |err: &dyn std::fmt::Display| {
        format!(
            "The demo has no Android phone: its simulated phone could not start ({err}). The iPhone and the backups work as usual."
        )
    };
    // A Pixel 8 on Android 14 unless told otherwise, as the samples say.
    let mut config = AndroidConfig::new(root.join("phones/android"));
    config.serial = serial.to_owned();
    config.model = samples::PIXEL_MODEL.to_owned();
    std::fs::create_dir_all(&config.data_dir).map_err(|err| cannot(&err))?;
    let sim = SimAndroid::start(config, ([127, 0, 0, 1], 0).into()).map_err(|err| cannot(&err))?;
    let serial = sim.address().to_string();
    let adb = PrivateAdb::start(&program, cancel).map_err(|err| cannot(&err))?;
    adb.attach(&serial, cancel).map_err(|err| cannot(&err))?;
    Ok(DemoAndroid { adb, sim, serial })
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(0))
}

#[cfg(test)]
mod tests;
