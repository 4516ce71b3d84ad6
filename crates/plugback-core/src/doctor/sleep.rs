//! Whether Plugback can keep this computer awake during a restore: a sleep inhibitor is
//! taken and released at once, through the keepawake crate the window uses (systemd-logind
//! over the system D-Bus on Linux, a power assertion on macOS, the thread execution state
//! on Windows).

use super::bounded::probe_check;
use super::{Check, DoctorEnv};
use crate::cancel::CancelToken;
use crate::finding::{Finding, Severity};

const ID: &str = "sleep-inhibit";
const NAME: &str = "keeping the computer awake";

/// Takes a sleep inhibitor and releases it; says who granted it.
pub fn inhibit_once() -> Result<String, String> {
    let awake = keepawake::Builder::default()
        .sleep(true)
        .app_name("Plugback")
        .reason("Plugback checks that it can keep this computer awake during a restore")
        .create()
        .map_err(|e| match e {
            // The system's own words, without keepawake's "system:" prefix.
            keepawake::Error::System(cause) => cause.to_string(),
            other => other.to_string(),
        })?;
    drop(awake);
    Ok(granted_by().to_owned())
}

fn granted_by() -> &'static str {
    if cfg!(windows) {
        "Windows lets Plugback keep the computer awake"
    } else if cfg!(target_os = "macos") {
        "macOS lets Plugback keep the computer awake"
    } else {
        "systemd-logind lets Plugback keep the computer awake"
    }
}

pub fn check(env: &DoctorEnv, cancel: &CancelToken) -> Vec<Check> {
    probe_check(
        (ID, NAME),
        env.probe_timeout,
        cancel,
        env.sleep_probe,
        |why| {
            Finding::new(
                "doctor-no-sleep-inhibit",
                Severity::Warning,
                format!("Plugback cannot keep this computer awake here: {why}"),
                fix(),
            )
        },
    )
}

fn fix() -> &'static str {
    if cfg!(target_os = "linux") {
        "Plugback asks systemd-logind, over the system D-Bus, to keep the computer from \
         sleeping, and it does not answer here (a container, or a system without systemd). \
         Set the computer's power settings to never sleep while a restore runs, or run \
         Plugback on a desktop with systemd."
    } else {
        "Set the computer's power settings to never sleep while a restore runs, and keep it \
         on mains power."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_or_silent_inhibitor_is_a_warning_with_a_fix() {
        let mut env = DoctorEnv::from_system();
        env.sleep_probe = || Err("no system bus".to_owned());
        let refused = check(&env, &CancelToken::new());
        assert_eq!(refused[0].code, Some("doctor-no-sleep-inhibit"));
        assert!(refused[0].detail.contains("no system bus"));
        assert!(!refused[0].fix.as_deref().unwrap_or("").is_empty());

        env.sleep_probe = || {
            std::thread::sleep(std::time::Duration::from_secs(3));
            Ok("late".to_owned())
        };
        env.probe_timeout = std::time::Duration::from_millis(50);
        let silent = check(&env, &CancelToken::new());
        assert_eq!(silent[0].code, Some("doctor-no-sleep-inhibit"));
        assert!(
            silent[0].detail.contains("no answer"),
            "{}",
            silent[0].detail
        );

        env.sleep_probe = || Ok("granted".to_owned());
        let granted = check(&env, &CancelToken::new());
        assert_eq!(granted[0].code, None);
        assert_eq!(granted[0].detail, "granted");
    }

    /// On this computer, with or without D-Bus: an answer within the timeout, never a hang
    /// or a panic.
    #[test]
    fn the_real_probe_answers_either_way() {
        let env = DoctorEnv::from_system();
        let checks = check(&env, &CancelToken::new());
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].id, ID);
    }
}
