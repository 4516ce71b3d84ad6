//! Connection checks started from phones' cards: one per phone at a time, each with its
//! way to stop, and what it found. Pure logic: the check itself runs on a worker thread.

use super::state::{AppState, Failure, Job};
use plugback_core::cancel::CancelToken;
use plugback_core::device::health::{CheckOptions, Grade, HealthReport, ProbePlan};
use plugback_core::device::snapshot::Sources;
use plugback_core::device::{Device, DeviceState};
use plugback_core::finding::Severity;
use std::collections::HashMap;
use std::time::Duration;

/// The longest a check may take before it is stopped and said to have timed out: the
/// probe and the watch for disconnections normally end within seconds.
pub const CHECK_TIME_LIMIT: Duration = Duration::from_secs(90);

/// What the window's check measures. A smaller test file than the command line's: enough
/// to tell a USB 1 or damaged link from a good one while the person waits at the window.
pub fn check_options() -> CheckOptions {
    CheckOptions {
        plan: ProbePlan {
            payload_bytes: 8_000_000,
            ..ProbePlan::default()
        },
        observe: Duration::from_secs(5),
        history: None,
    }
}

/// The phone services a check talks to, as a job carries them.
pub struct PhoneSources(pub Sources);

impl std::fmt::Debug for PhoneSources {
    // By hand: the device sources have no Debug of their own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneSources")
    }
}

/// One phone's check: under way, or how it ended.
#[derive(Debug)]
pub enum HealthStatus {
    Running {
        cancel: CancelToken,
    },
    Done(Box<HealthReport>),
    Failed(Failure),
    /// The person pressed "Cancel check".
    Cancelled,
}

#[derive(Debug)]
pub struct PhoneCheck {
    /// The phone's name as its card shows it, for the findings window's title.
    pub phone: String,
    pub status: HealthStatus,
    /// The phone was no longer plugged in when the check ended.
    pub phone_left: bool,
}

/// What the card's badge says, and how it looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Badge {
    pub text: String,
    pub tone: Tone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Fair,
    Poor,
}

/// Connection checks by phone id, and which phone's findings window is open.
#[derive(Debug, Default)]
pub struct HealthChecks {
    pub checks: HashMap<String, PhoneCheck>,
    /// The phone whose "Connection check — …" window is open.
    pub open: Option<String>,
}

/// The grade as the command line words it (`plugback health`), for a person.
pub fn grade_words(grade: Grade) -> &'static str {
    match grade {
        Grade::Good => "good",
        Grade::Fair => "fair",
        Grade::Poor => "poor",
    }
}

pub fn grade_tone(grade: Grade) -> Tone {
    match grade {
        Grade::Good => Tone::Good,
        Grade::Fair => Tone::Fair,
        Grade::Poor => Tone::Poor,
    }
}

pub fn severity_words(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "Note",
        Severity::Warning => "Warning",
        Severity::Problem => "Problem",
    }
}

impl HealthChecks {
    pub fn get(&self, id: &str) -> Option<&PhoneCheck> {
        self.checks.get(id)
    }

    pub fn is_running(&self, id: &str) -> bool {
        matches!(
            self.checks.get(id).map(|c| &c.status),
            Some(HealthStatus::Running { .. })
        )
    }

    /// What the card of phone `id` says about its connection.
    pub fn badge(&self, id: &str) -> Badge {
        let plain = |text: &str| Badge {
            text: text.to_owned(),
            tone: Tone::Plain,
        };
        let Some(check) = self.checks.get(id) else {
            return plain("Connection: not checked");
        };
        match &check.status {
            HealthStatus::Running { cancel } if cancel.is_cancelled() => {
                plain("Connection: stopping the check…")
            }
            HealthStatus::Running { .. } => {
                plain("Connection: checking… (about 10 seconds; keep the phone plugged in)")
            }
            HealthStatus::Done(report) => Badge {
                text: format!("Connection: {}", grade_words(report.grade)),
                tone: grade_tone(report.grade),
            },
            HealthStatus::Failed(_) => Badge {
                text: "Connection: could not be checked".to_owned(),
                tone: Tone::Fair,
            },
            HealthStatus::Cancelled => plain("Connection: not checked (the check was stopped)"),
        }
    }

    /// Starts a check of `device`; the token stops it. None while one runs for it.
    pub fn start(&mut self, device: &Device, phone: &str) -> Option<CancelToken> {
        if self.is_running(&device.id) {
            return None;
        }
        let cancel = CancelToken::new();
        self.checks.insert(
            device.id.clone(),
            PhoneCheck {
                phone: phone.to_owned(),
                status: HealthStatus::Running {
                    cancel: cancel.clone(),
                },
                phone_left: false,
            },
        );
        Some(cancel)
    }

    /// How the check of `id` ended. A report for a check no longer under way is dropped.
    /// A finished or failed check opens its window; a cancelled one does not.
    pub fn finished(
        &mut self,
        id: &str,
        result: Result<Box<HealthReport>, Failure>,
        still_plugged_in: bool,
    ) {
        let Some(check) = self.checks.get_mut(id) else {
            return;
        };
        if !matches!(check.status, HealthStatus::Running { .. }) {
            return;
        }
        check.phone_left = !still_plugged_in;
        check.status = match result {
            Ok(report) => HealthStatus::Done(report),
            Err(failure) if failure.code == Some("cancelled") => HealthStatus::Cancelled,
            Err(failure) => HealthStatus::Failed(failure),
        };
        if !matches!(check.status, HealthStatus::Cancelled) {
            self.open = Some(id.to_owned());
        }
    }

    /// Asks the check of `id` to stop; it reports back as cancelled.
    pub fn cancel(&self, id: &str) {
        if let Some(PhoneCheck {
            status: HealthStatus::Running { cancel },
            ..
        }) = self.checks.get(id)
        {
            cancel.cancel();
        }
    }

    /// Stops every check under way (the window is closing).
    pub fn cancel_all(&self) {
        for id in self.checks.keys() {
            self.cancel(id);
        }
    }
}

impl AppState {
    /// Checks the connection of the ready phone `id` ("Check connection" on its card).
    /// None when phones are not watched, the phone is not ready, or a check runs already.
    pub fn start_health_check(&mut self, id: &str) -> Option<Job> {
        let sources = self.health_sources.clone()?;
        let device = self
            .phones
            .devices
            .iter()
            .find(|d| d.id == id && d.state == DeviceState::Ready)?
            .clone();
        let phone = phone_name(&device);
        let cancel = self.health.start(&device, &phone)?;
        Some(Job::CheckHealth {
            sources: PhoneSources(sources),
            device: Box::new(device),
            cancel,
        })
    }

    pub(super) fn health_checked(&mut self, id: &str, result: Result<Box<HealthReport>, Failure>) {
        let still_plugged_in = self.phones.devices.iter().any(|d| d.id == id);
        self.health.finished(id, result, still_plugged_in);
    }
}

/// The name its owner gave the phone, else its model, else its identifier.
pub fn phone_name(device: &Device) -> String {
    device
        .name
        .as_deref()
        .or(device.model.as_deref())
        .unwrap_or(&device.id)
        .to_owned()
}

/// The measured figures behind the grade, a line each, in plain words.
pub fn figure_lines(report: &HealthReport) -> Vec<String> {
    let mut lines = Vec::new();
    let link = &report.device.link;
    let mut cable = vec![match link.speed_mbps {
        Some(speed) => format!("{speed} Mbit/s"),
        None => "speed not known".to_owned(),
    }];
    if let Some(best) = report.best_link_mbps {
        cable.push(format!("this phone can do {best} Mbit/s"));
    }
    cable.push(
        match link.via_hub {
            Some(true) => "through a hub",
            Some(false) => "straight into the computer",
            None if !report.usb_visible => "USB cannot be seen on this computer",
            None => "port not known",
        }
        .to_owned(),
    );
    lines.push(format!("Link: {}", cable.join(", ")));
    lines.push(format!(
        "Drops: {} in the last {} s",
        match report.flaps.detaches {
            0 => "none".to_owned(),
            1 => "1 disconnection".to_owned(),
            n => format!("{n} disconnections"),
        },
        report.flaps.window.as_secs()
    ));
    if let Some(probe) = &report.probe {
        if let (Some(p50), Some(p99)) = (probe.latency(0.5), probe.latency(0.99)) {
            lines.push(format!(
                "Replies: typically {:.1} ms, slowest {:.1} ms ({} requests)",
                p50.as_secs_f64() * 1000.0,
                p99.as_secs_f64() * 1000.0,
                probe.round_trips.len()
            ));
        }
        let rate = |r: Option<f64>| r.map_or("not measured".to_owned(), |r| format!("{r:.1} MB/s"));
        lines.push(format!(
            "Transfer: {} to the phone, {} back{}",
            rate(probe.write_mb_per_s()),
            rate(probe.read_mb_per_s()),
            match probe.intact {
                Some(true) => ", arrived intact",
                Some(false) => ", arrived DAMAGED",
                None => "",
            }
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugback_core::device::health::FlapCount;
    use plugback_core::device::{DeviceError, Platform};
    use plugback_core::finding::Finding;

    fn ready(id: &str) -> Device {
        Device {
            id: id.into(),
            platform: Platform::Ios,
            name: Some("Desk iPhone".into()),
            model: None,
            os_version: None,
            sdk: None,
            serial: None,
            state: DeviceState::Ready,
            battery: Default::default(),
            storage: Default::default(),
            link: Default::default(),
            will_encrypt: None,
        }
    }

    fn report(device: Device, findings: Vec<Finding>) -> Box<HealthReport> {
        Box::new(HealthReport {
            device,
            grade: Grade::of(&findings),
            findings,
            flaps: FlapCount {
                attaches: 0,
                detaches: 2,
                window: Duration::from_secs(5),
            },
            best_link_mbps: Some(480),
            usb: None,
            usb_visible: false,
            probe: None,
        })
    }

    #[test]
    fn a_check_runs_once_then_shows_its_grade_and_opens_its_window() {
        let mut checks = HealthChecks::default();
        let phone = ready("u1");
        assert_eq!(checks.badge("u1").text, "Connection: not checked");
        let cancel = checks.start(&phone, "Desk iPhone").expect("starts");
        assert!(
            checks.start(&phone, "Desk iPhone").is_none(),
            "one at a time"
        );
        assert!(checks.badge("u1").text.starts_with("Connection: checking"));
        let slow = Finding::new("health-usb2-link", Severity::Warning, "slow", "faster port");
        checks.finished("u1", Ok(report(phone.clone(), vec![slow])), true);
        let badge = checks.badge("u1");
        assert_eq!(badge.text, "Connection: fair");
        assert_eq!(badge.tone, Tone::Fair);
        assert_eq!(checks.open.as_deref(), Some("u1"));
        assert!(!cancel.is_cancelled());
        // A late second report changes nothing.
        checks.finished("u1", Err(Failure::new("late")), false);
        assert_eq!(checks.badge("u1").text, "Connection: fair");
        assert!(!checks.checks["u1"].phone_left);
    }

    #[test]
    fn cancel_stops_it_quietly_and_a_phone_gone_is_noted() {
        let mut checks = HealthChecks::default();
        let phone = ready("u1");
        let cancel = checks.start(&phone, "Desk iPhone").unwrap();
        checks.cancel("u1");
        assert!(cancel.is_cancelled());
        assert_eq!(checks.badge("u1").text, "Connection: stopping the check…");
        checks.finished("u1", Err(Failure::from(&DeviceError::Cancelled)), true);
        assert!(matches!(
            checks.checks["u1"].status,
            HealthStatus::Cancelled
        ));
        assert_eq!(checks.open, None, "no window for a stopped check");

        checks
            .start(&phone, "Desk iPhone")
            .expect("can check again");
        checks.finished("u1", Ok(report(phone, vec![])), false);
        assert!(checks.checks["u1"].phone_left);
        assert_eq!(checks.badge("u1").text, "Connection: good");
    }

    #[test]
    fn figures_read_plainly() {
        let mut phone = ready("u1");
        phone.link.speed_mbps = Some(12);
        phone.link.via_hub = Some(true);
        let lines = figure_lines(&report(phone, vec![]));
        assert_eq!(
            lines,
            [
                "Link: 12 Mbit/s, this phone can do 480 Mbit/s, through a hub",
                "Drops: 2 disconnections in the last 5 s"
            ]
        );
    }
}
