//! Demo mode in the window: what it tells the person (the sample password, why there is
//! no Android phone) and the simulated cable pulls it offers. Pure logic: the simulator
//! is driven by a worker job ([`Job::Simulate`]), never from the UI thread.

use super::state::{AppConfig, Job};
use crate::demo::{Demo, Simulate};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// Does one simulated cable action to the phone with an id; Err says why it could not.
type SimulateFn = dyn Fn(&str, Simulate) -> Result<(), String> + Send + Sync;

/// Drives the demo's simulator for the phone with an id (UDID or adb serial).
#[derive(Clone)]
pub struct DemoControl(Arc<SimulateFn>);

impl DemoControl {
    pub fn new(run: impl Fn(&str, Simulate) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(run))
    }

    /// Blocks until the simulator has done it: call it on a worker thread.
    pub fn run(&self, id: &str, action: Simulate) -> Result<(), String> {
        (self.0)(id, action)
    }

    /// Controls `demo` for as long as it runs; after that, says the demo has ended. Weak,
    /// so that a job still in flight never keeps the simulators alive past the window.
    pub fn of(demo: &Arc<Demo>) -> Self {
        let demo: Weak<Demo> = Arc::downgrade(demo);
        Self::new(move |id, action| match demo.upgrade() {
            Some(demo) => demo.simulate(id, action),
            None => Err("The demo has ended.".to_owned()),
        })
    }
}

impl std::fmt::Debug for DemoControl {
    // By hand: a closure has no Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoControl")
    }
}

/// What the window is told about the demo at start.
#[derive(Clone, Debug)]
pub struct DemoInfo {
    pub password_hint: String,
    /// Why there is no Android phone, with the fix; None when there is one.
    pub android_missing: Option<String>,
    pub control: DemoControl,
}

impl DemoInfo {
    pub fn of(demo: &Arc<Demo>) -> Self {
        Self {
            password_hint: demo.password_hint(),
            android_missing: demo.android_missing().map(str::to_owned),
            control: DemoControl::of(demo),
        }
    }
}

/// The window's configuration for `demo`: only its sample folder, its phones, no settings
/// file (nothing on this computer is read or written).
pub fn demo_config(demo: &Arc<Demo>) -> AppConfig {
    let mut config = AppConfig::only(vec![demo.backups_dir().to_path_buf()]);
    config.phones = Some(demo.sources());
    config.demo = Some(DemoInfo::of(demo));
    config
}

/// How the last simulated cable pull or replug of one phone went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimulateOutcome {
    Running(Simulate),
    Done(Simulate),
    Failed(String),
}

/// Demo mode's part of the window state.
#[derive(Debug)]
pub struct DemoState {
    pub password_hint: String,
    pub android_missing: Option<String>,
    control: DemoControl,
    /// The last result per phone id.
    pub last: HashMap<String, SimulateOutcome>,
    /// Phones the demo unplugged, by id, with the name they were shown under: they vanish
    /// from the phones list, so the banner offers their replug.
    pub unplugged: Vec<(String, String)>,
}

impl DemoState {
    pub fn new(info: &DemoInfo) -> Self {
        Self {
            password_hint: info.password_hint.clone(),
            android_missing: info.android_missing.clone(),
            control: info.control.clone(),
            last: HashMap::new(),
            unplugged: Vec::new(),
        }
    }

    /// Whether the demo pulled this phone's cable (and has not put it back).
    pub fn is_unplugged(&self, id: &str) -> bool {
        self.unplugged.iter().any(|(unplugged, _)| unplugged == id)
    }

    /// Whether a pull or replug of this phone is under way.
    pub fn is_running(&self, id: &str) -> bool {
        matches!(self.last.get(id), Some(SimulateOutcome::Running(_)))
    }

    /// The job that does `action` to the phone `id` (shown as `name`); None while one
    /// runs for it, or when it makes no sense (replug a phone that is plugged in).
    pub fn request(&mut self, id: &str, name: &str, action: Simulate) -> Option<Job> {
        let allowed = match action {
            Simulate::Unplug => !self.is_unplugged(id),
            Simulate::Replug => self.is_unplugged(id),
        };
        if !allowed || self.is_running(id) {
            return None;
        }
        self.last
            .insert(id.to_owned(), SimulateOutcome::Running(action));
        Some(Job::Simulate {
            id: id.to_owned(),
            name: name.to_owned(),
            action,
            control: self.control.clone(),
        })
    }

    /// What the simulator did.
    pub fn simulated(
        &mut self,
        id: String,
        name: String,
        action: Simulate,
        result: Result<(), String>,
    ) {
        let outcome = match result {
            Ok(()) => {
                self.unplugged.retain(|(unplugged, _)| *unplugged != id);
                if action == Simulate::Unplug {
                    self.unplugged.push((id.clone(), name));
                }
                SimulateOutcome::Done(action)
            }
            Err(why) => SimulateOutcome::Failed(why),
        };
        self.last.insert(id, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn state(calls: Arc<Mutex<Vec<(String, Simulate)>>>) -> DemoState {
        DemoState::new(&DemoInfo {
            password_hint: "The encrypted backup's password is demo.".to_owned(),
            android_missing: None,
            control: DemoControl::new(move |id, action| {
                calls
                    .lock()
                    .map_err(|e| e.to_string())?
                    .push((id.to_owned(), action));
                Ok(())
            }),
        })
    }

    fn run(job: Job, state: &mut DemoState) {
        let Job::Simulate {
            id,
            name,
            action,
            control,
        } = job
        else {
            panic!("not a simulate job: {job:?}");
        };
        let result = control.run(&id, action);
        state.simulated(id, name, action, result);
    }

    #[test]
    fn replug_is_offered_only_after_an_unplug_and_one_at_a_time() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mut demo = state(calls.clone());
        assert!(
            demo.request("udid-1", "Demo iPhone", Simulate::Replug)
                .is_none()
        );
        let job = demo
            .request("udid-1", "Demo iPhone", Simulate::Unplug)
            .unwrap();
        assert!(
            demo.request("udid-1", "Demo iPhone", Simulate::Unplug)
                .is_none(),
            "one at a time"
        );
        run(job, &mut demo);
        assert!(demo.is_unplugged("udid-1"));
        assert_eq!(
            demo.unplugged,
            [("udid-1".to_owned(), "Demo iPhone".to_owned())]
        );
        assert!(
            demo.request("udid-1", "Demo iPhone", Simulate::Unplug)
                .is_none()
        );
        let job = demo
            .request("udid-1", "Demo iPhone", Simulate::Replug)
            .unwrap();
        run(job, &mut demo);
        assert!(!demo.is_unplugged("udid-1"));
        assert_eq!(
            demo.last.get("udid-1"),
            Some(&SimulateOutcome::Done(Simulate::Replug))
        );
        assert_eq!(
            *calls.lock().unwrap(),
            [
                ("udid-1".to_owned(), Simulate::Unplug),
                ("udid-1".to_owned(), Simulate::Replug)
            ]
        );
    }

    #[test]
    fn a_failed_unplug_keeps_the_phone_plugged_and_says_why() {
        let mut demo = state(Arc::new(Mutex::new(Vec::new())));
        let job = demo.request("serial", "Pixel 8", Simulate::Unplug).unwrap();
        drop(job);
        demo.simulated(
            "serial".to_owned(),
            "Pixel 8".to_owned(),
            Simulate::Unplug,
            Err("no such phone".to_owned()),
        );
        assert!(!demo.is_unplugged("serial"));
        assert_eq!(
            demo.last.get("serial"),
            Some(&SimulateOutcome::Failed("no such phone".to_owned()))
        );
        assert!(
            demo.request("serial", "Pixel 8", Simulate::Unplug)
                .is_some()
        );
    }
}
